//! Every limit of `Limits`, at its bound (accepted) and just past it (refused with an error
//! naming the limit, the value and the field), through the event checks, the tracker,
//! stitching and map validation.

use std::path::Path;

use journey_core::event::check_batch_with;
use journey_core::{
    Condition, Error, Event, IdentityKey, Limits, LinkOutcome, MapBuilder, MapDocument, ProblemKind, Tracker, TrackerConfig, Waypoint,
};
use serde_json::{Value, json};

const T0: i64 = 1_736_121_600_000_000;

fn shop() -> MapDocument {
    MapDocument::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maps/shop.json")).unwrap()
}

fn key(text: &str) -> IdentityKey {
    IdentityKey::parse(text).unwrap()
}

fn event() -> Event {
    Event::new(T0, key("session:a"), "product_view", "web")
}

/// The limit error of a result: `(limit, max, value, field, index)`.
fn limit_of<T: std::fmt::Debug>(result: Result<T, Error>) -> (&'static str, usize, usize, String, Option<usize>) {
    match result {
        Err(Error::Limit { limit, max, value, field, index }) => (limit, max, value, field, index),
        other => panic!("expected a limit error, got {other:?}"),
    }
}

/// Asserts that `at` passes the default checks and `past` breaks `limit` at `field`.
fn bound(at: Event, past: Event, limit: &str, max: usize, value: usize, field: &str) {
    let limits = Limits::default();
    at.check_with(&limits).unwrap_or_else(|e| panic!("{limit} at its bound: {e}"));
    let (l, m, v, f, i) = limit_of(past.check_with(&limits));
    assert_eq!((l, m, v, f.as_str(), i), (limit, max, value, field, None));
    // The tracker applies the same check, and stores nothing of the refused event.
    let tracker = Tracker::new(&shop(), TrackerConfig::default()).unwrap();
    tracker.track(at).unwrap();
    let keys = past.keys.clone();
    let err = tracker.track(past).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(limit) && text.contains(&max.to_string()) && text.contains(&value.to_string()) && text.contains(field), "{text}");
    assert_eq!(err.kind(), "limit");
    let stored: usize = keys.iter().map(|k| tracker.journey(k).unwrap().len()).sum();
    assert!(stored <= keys.len(), "the refused event was stored");
}

#[test]
fn the_defaults_are_documented_values() {
    let l = Limits::default();
    assert_eq!(
        (l.key_len, l.event_name_len, l.keys_per_event, l.properties_per_event, l.property_name_len, l.property_value_len, l.property_depth),
        (256, 256, 32, 256, 256, 65_536, 32)
    );
    assert_eq!(
        (l.batch_size, l.keys_per_profile, l.map_phases, l.map_touchpoints, l.map_waypoints, l.condition_depth, l.condition_nodes),
        (10_000, 1_000, 100, 2_000, 500, 32, 1_000)
    );
    assert_eq!(TrackerConfig::default().limits, l);
}

#[test]
fn key_len() {
    let long = |n: usize| key(&format!("session:{}", "k".repeat(n - "session:".len())));
    let at = Event::new(T0, long(256), "view", "web");
    let past = Event::new(T0, key("device:d"), "view", "web").with_key(long(257));
    bound(at, past, "key_len", 256, 257, "keys[1]");
    // Past the absolute bound, the key does not even parse.
    assert!(IdentityKey::parse(&"k:".repeat(513)).is_err());
}

#[test]
fn event_name_len_covers_name_channel_and_department() {
    let mut at = event();
    at.name = "n".repeat(256);
    let mut past = event();
    past.name = "n".repeat(257);
    bound(at, past, "event_name_len", 256, 257, "event");
    bound(
        Event::new(T0, key("session:a"), "v", "c".repeat(256).as_str()),
        Event::new(T0, key("session:a"), "v", "c".repeat(257).as_str()),
        "event_name_len",
        256,
        257,
        "channel",
    );
    bound(
        event().with_department("d".repeat(256).as_str()),
        event().with_department("d".repeat(257).as_str()),
        "event_name_len",
        256,
        257,
        "department",
    );
}

#[test]
fn keys_per_event() {
    let with = |n: usize| (1..n).fold(Event::new(T0, key("session:s0"), "view", "web"), |e, i| e.with_key(key(&format!("session:s{i}"))));
    bound(with(32), with(33), "keys_per_event", 32, 33, "keys");
}

#[test]
fn properties_per_event_and_name_len() {
    let with = |n: usize| (0..n).fold(event(), |e, i| e.with_property(format!("p{i}"), i));
    bound(with(256), with(257), "properties_per_event", 256, 257, "properties");
    bound(event().with_property("n".repeat(256), 1), event().with_property("n".repeat(257), 1), "property_name_len", 256, 257, "properties");
}

#[test]
fn property_value_len_is_the_compact_json() {
    // A string of n characters is n + 2 bytes of JSON.
    bound(
        event().with_property("note", "x".repeat(65_534)),
        event().with_property("note", "x".repeat(65_535)),
        "property_value_len",
        65_536,
        65_537,
        "properties.note",
    );
    let items = |n: usize| Value::Array(vec![json!(1); n]);
    // `[1,1,...]`: 2n + 1 bytes.
    let limits = Limits { property_value_len: 21, ..Limits::default() };
    event().with_property("list", items(10)).check_with(&limits).unwrap();
    assert_eq!(limit_of(event().with_property("list", items(11)).check_with(&limits)).2, 23);
}

#[test]
fn property_depth() {
    // `properties` is the first level: {"a": 1} is 1 deep.
    let nested = |depth: usize| (1..depth).fold(json!(1), |v, _| json!({ "x": v }));
    bound(event().with_property("a", nested(32)), event().with_property("a", nested(33)), "property_depth", 32, 33, "properties.a");
    let limits = Limits { property_depth: 1, ..Limits::default() };
    event().with_property("a", 1).check_with(&limits).unwrap();
    assert_eq!(limit_of(event().with_property("a", json!([])).check_with(&limits)).2, 2);
}

#[test]
fn batch_size() {
    let events = |n: usize| (0..n).map(|i| Event::new(T0 + i as i64, key("session:a"), "view", "web")).collect::<Vec<_>>();
    check_batch_with(&events(10_000), &Limits::default()).unwrap();
    assert_eq!(limit_of(check_batch_with(&events(10_001), &Limits::default())), ("batch_size", 10_000, 10_001, "events".into(), None));
    let config = TrackerConfig { limits: Limits { batch_size: 3, ..Limits::default() }, ..TrackerConfig::default() };
    let tracker = Tracker::new(&shop(), config).unwrap();
    assert_eq!(tracker.track_batch(events(3)).unwrap().len(), 3);
    let err = tracker.track_batch(events(4)).unwrap_err();
    assert_eq!(err.to_string(), "limit exceeded: events: 4 events, over the limit `batch_size` of 3");
    assert_eq!(tracker.journey(&key("session:a")).unwrap().len(), 3, "nothing of the refused batch was applied");
}

#[test]
fn a_limit_in_a_batch_names_the_index_and_nothing_is_applied() {
    let tracker = Tracker::new(&shop(), TrackerConfig::default()).unwrap();
    let batch = vec![event(), event(), Event::new(T0, key("session:b"), "n".repeat(300).as_str(), "web")];
    let (limit, _, _, field, index) = limit_of(tracker.track_batch(batch));
    assert_eq!((limit, field.as_str(), index), ("event_name_len", "event", Some(2)));
    assert!(tracker.journey(&key("session:a")).unwrap().is_empty());
    let text = tracker.track_batch(vec![event(), Event::new(T0, key("session:b"), "n".repeat(300).as_str(), "web")]).unwrap_err().to_string();
    assert_eq!(text, "limit exceeded at index 1: event: 300 bytes, over the limit `event_name_len` of 256");
}

#[test]
fn the_trackers_own_limits_apply_and_come_from_json() {
    let config: TrackerConfig = serde_json::from_value(json!({"limits": {"event_name_len": 4, "keys_per_profile": 2}})).unwrap();
    assert_eq!(config.limits, Limits { event_name_len: 4, keys_per_profile: 2, ..Limits::default() });
    let tracker = Tracker::new(&shop(), config).unwrap();
    tracker.track(Event::new(T0, key("session:a"), "view", "web")).unwrap();
    assert_eq!(limit_of(tracker.track(Event::new(T0, key("session:a"), "views", "web"))).2, 5);
    assert!(serde_json::from_value::<TrackerConfig>(json!({"limits": {"nope": 1}})).is_err(), "unknown limits are refused");
    // Parsing an event leaves the size limits to its consumer.
    let big = format!(r#"{{"ts": 1, "keys": ["session:a"], "event": "{}", "channel": "web"}}"#, "n".repeat(300));
    assert!(Event::from_json(&big).is_ok());
    let unlimited = TrackerConfig { limits: Limits::unlimited(), ..TrackerConfig::default() };
    Tracker::new(&shop(), unlimited).unwrap().track(Event::from_json(&big).unwrap()).unwrap();
}

#[test]
fn explicit_links_check_the_key_length() {
    let tracker = Tracker::new(&shop(), TrackerConfig::default()).unwrap();
    let long = key(&format!("email:{}", "e".repeat(300)));
    assert_eq!(limit_of(tracker.link(&key("session:a"), &long, T0)), ("key_len", 256, 306, "b".into(), None));
}

#[test]
fn keys_per_profile_refuses_the_link_and_records_a_conflict() {
    let tracker = Tracker::new(&shop(), TrackerConfig::default()).unwrap();
    let anchor = key("customer:1");
    tracker.track(Event::new(T0, anchor.clone(), "account_login", "web")).unwrap();
    // The profile reaches exactly 1 000 keys: accepted.
    for i in 1..1_000 {
        assert_eq!(tracker.link(&anchor, &key(&format!("device:d{i}")), T0 + i).unwrap(), LinkOutcome::Joined, "key {i}");
    }
    assert_eq!(tracker.context(&anchor).unwrap().unwrap().keys.len(), 1_000);
    assert!(tracker.conflicts().unwrap().is_empty());
    // One more: refused, recorded, and the event still lands on the anchor's profile.
    let event = Event::new(T0 + 5_000, anchor.clone(), "product_view", "web").with_key(key("device:extra"));
    let tracked = tracker.track(event).unwrap();
    assert_eq!(tracked.profile, tracker.context(&anchor).unwrap().unwrap().profile);
    assert_eq!(tracker.context(&anchor).unwrap().unwrap().keys.len(), 1_000);
    assert!(tracker.context(&key("device:extra")).unwrap().is_none());
    let conflicts = tracker.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    let c = &conflicts[0];
    assert_eq!((c.kind.as_str(), c.limit, c.key.as_str(), c.other.as_str()), ("*", 1_000, "customer:1", "device:extra"));
    assert!(c.message.contains("1001 keys") && c.message.contains("keys_per_profile"), "{}", c.message);
}

#[test]
fn keys_per_profile_also_refuses_merges() {
    let config = TrackerConfig { limits: Limits { keys_per_profile: 4, ..Limits::default() }, ..TrackerConfig::default() };
    let tracker = Tracker::new(&shop(), config).unwrap();
    let track = |keys: &[&str]| {
        let e = keys[1..].iter().fold(Event::new(T0, key(keys[0]), "product_view", "web"), |e, k| e.with_key(key(k)));
        tracker.track(e).unwrap()
    };
    track(&["session:a", "device:a"]);
    track(&["session:b", "device:b"]);
    // 2 + 2 = 4 keys: the merge is allowed, at the bound.
    assert_eq!(tracker.link(&key("session:a"), &key("session:b"), T0).unwrap(), LinkOutcome::Merged);
    track(&["session:c", "device:c"]);
    // 4 + 2: refused.
    assert_eq!(tracker.link(&key("session:a"), &key("session:c"), T0).unwrap(), LinkOutcome::Refused);
    assert_eq!(tracker.conflicts().unwrap()[0].limit, 4);
    assert_eq!(tracker.context(&key("session:c")).unwrap().unwrap().keys.len(), 2);
}

/// A document with one map of `phases` phases, `touchpoints` touchpoints and `waypoints`
/// waypoints (each waypoint reached on its own touchpoint).
fn sized(phases: usize, touchpoints: usize, waypoints: usize) -> MapDocument {
    let mut b = MapBuilder::new("Big").persona("p", "P").map("m", "M", "p");
    for i in 0..phases {
        b = b.phase(format!("ph{i}"), format!("Phase {i}"));
    }
    for i in 0..touchpoints {
        b = b.touchpoint(format!("t{i}"), format!("T{i}"), format!("ph{}", i % phases.max(1)), |t| t.events([format!("e{i}")]));
    }
    for i in 0..waypoints {
        b = b.waypoint(waypoint(&format!("w{i}"), json!({"event": format!("e{i}")})));
    }
    b.build_unchecked()
}

fn waypoint(id: &str, condition: Value) -> Waypoint {
    serde_json::from_value(json!({"id": id, "condition": condition, "on_reached": [{"kind": "popup"}]})).unwrap()
}

fn limit_problems(doc: &MapDocument) -> Vec<(String, String)> {
    doc.problems().into_iter().filter(|p| p.kind == ProblemKind::LimitExceeded).map(|p| (p.path, p.message)).collect()
}

#[test]
fn map_size_limits() {
    let at = sized(100, 2_000, 500);
    assert_eq!(limit_problems(&at), vec![]);
    at.validate().unwrap();
    Tracker::new(&at, TrackerConfig::default()).unwrap();
    assert_eq!(
        limit_problems(&sized(101, 2_001, 501)),
        vec![
            ("maps[0].phases".into(), "the map has 101 phases, over the limit `map_phases` of 100".into()),
            ("maps[0].touchpoints".into(), "the map has 2001 touchpoints, over the limit `map_touchpoints` of 2000".into()),
            ("maps[0].waypoints".into(), "the map has 501 waypoints, over the limit `map_waypoints` of 500".into()),
        ]
    );
    // Only the size is reported for a map over a limit, and a tracker refuses it.
    let over = sized(101, 101, 0);
    assert_eq!(over.problems().len(), 1);
    match Tracker::new(&over, TrackerConfig::default()) {
        Err(Error::Validation(e)) => assert_eq!(e.problems[0].kind, ProblemKind::LimitExceeded),
        other => panic!("{other:?}"),
    }
    // The tracker's limits are the ones validation uses.
    let config = TrackerConfig { limits: Limits { map_phases: 101, map_touchpoints: 101, ..Limits::default() }, ..TrackerConfig::default() };
    Tracker::new(&over, config).unwrap();
    assert!(sized(3, 3, 0).problems_with(&Limits { map_phases: 2, ..Limits::default() })[0].message.contains("3 phases"));
}

/// `{"not": {"not": ... {"event": "e0"}}}`, `depth` levels deep.
fn deep(depth: usize) -> Value {
    (1..depth).fold(json!({"event": "e0"}), |c, _| json!({ "not": c }))
}

#[test]
fn condition_depth_and_nodes() {
    let with = |condition: Value| {
        let mut doc = sized(1, 1, 0);
        doc.maps[0].waypoints.push(waypoint("w", condition));
        doc
    };
    assert_eq!(limit_problems(&with(deep(32))), vec![]);
    assert_eq!(
        limit_problems(&with(deep(33))),
        vec![("maps[0].waypoints[0].condition".into(), "the condition is 33 levels deep, over the limit `condition_depth` of 32".into())]
    );
    let any = |n: usize| json!({"any": (0..n).map(|_| json!({"event": "e0"})).collect::<Vec<_>>()});
    assert_eq!(limit_problems(&with(any(999))), vec![], "999 items and the `any`: 1 000 nodes");
    assert_eq!(
        limit_problems(&with(any(1_000))),
        vec![("maps[0].waypoints[0].condition".into(), "the condition is 1001 nodes, over the limit `condition_nodes` of 1000".into())]
    );
    // Routing rules and persona rules are conditions too.
    let mut doc = with(json!({"event": "e0"}));
    doc.maps[0].routing.push(serde_json::from_value(json!({"id": "r", "when": deep(40), "queue": "q"})).unwrap());
    doc.personas[0].assign_when = Some(serde_json::from_value::<Condition>(deep(34)).unwrap());
    let paths: Vec<String> = limit_problems(&doc).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["personas[0].assign_when", "maps[0].routing[0].when"]);
}

#[test]
fn deeply_nested_json_is_a_parse_error_not_a_crash() {
    // serde_json refuses JSON nested more than 128 levels: no stack overflow anywhere.
    let deep_condition = format!("{}{{\"event\": \"x\"}}{}", "{\"not\": ".repeat(10_000), "}".repeat(10_000));
    assert!(serde_json::from_str::<Condition>(&deep_condition).is_err());
    let deep_event = format!(
        r#"{{"ts": 1, "keys": ["session:a"], "event": "v", "channel": "web", "properties": {{"a": {}1{}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(Event::from_json(&deep_event).unwrap_err().kind(), "bad_event");
    let deep_map = format!(r#"{{"name": "x", "maps": {}{}}}"#, "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(MapDocument::from_json(&deep_map).unwrap_err().kind(), "parse");
}
