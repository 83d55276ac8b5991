//! Stitching invariants: merges in every order, limits and conflicts, caps, the ticker.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use journey_core::{Event, IdentityKey, ManualClock, MapDocument, Ticker, Tracker, TrackerConfig};

const T0: i64 = 1_736_121_600_000_000;

fn shop() -> MapDocument {
    MapDocument::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maps/shop.json")).unwrap()
}

fn key(text: &str) -> IdentityKey {
    IdentityKey::parse(text).unwrap()
}

fn event(ts: i64, keys: &[&str]) -> Event {
    let mut e = Event::new(ts, key(keys[0]), "product_view", "web");
    for k in &keys[1..] {
        e = e.with_key(key(k));
    }
    e
}

/// The partition of keys into profiles, independent of profile ids.
fn partition(t: &Tracker, keys: &[&str]) -> BTreeSet<BTreeSet<String>> {
    keys.iter()
        .map(|k| t.context(&key(k)).unwrap().unwrap().keys.iter().map(|k| k.to_string()).collect())
        .collect()
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![vec![]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for at in 0..=p.len() {
            let mut q = p.clone();
            q.insert(at, n - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn merges_in_every_order_give_the_same_profiles() {
    let links: [&[&str]; 6] = [
        &["session:a", "email:x@y.z"],
        &["session:b", "device:d"],
        &["device:d", "email:x@y.z"],
        &["session:c"],
        &["phone:+341", "session:c", "cookie:k"],
        &["customer:0000001", "session:b"],
    ];
    let keys = ["session:a", "session:b", "session:c", "email:x@y.z", "device:d", "phone:+341", "cookie:k", "customer:0000001"];
    let mut seen = BTreeSet::new();
    for order in permutations(links.len()) {
        let t = Tracker::new(&shop(), TrackerConfig::default()).unwrap();
        for (n, &i) in order.iter().enumerate() {
            t.track(event(T0 + n as i64, links[i])).unwrap();
        }
        assert!(t.conflicts().unwrap().is_empty());
        let total: u64 = partition(&t, &keys).iter().map(|p| t.context(&key(p.iter().next().unwrap())).unwrap().unwrap().events).sum();
        assert_eq!(total, 6, "no event lost in order {order:?}");
        seen.insert(partition(&t, &keys));
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    let only = seen.into_iter().next().unwrap();
    assert_eq!(only.len(), 2);
}

#[test]
fn limits_are_configurable_per_kind() {
    let mut config = TrackerConfig::default();
    config.identity.limits.insert("email".into(), 1);
    let t = Tracker::new(&shop(), config).unwrap();
    t.track(event(T0, &["session:s", "email:a@x.com"])).unwrap();
    let r = t.track(event(T0 + 1, &["session:s", "email:b@x.com"])).unwrap();
    assert_eq!(t.conflicts().unwrap().len(), 1);
    let b = t.context(&key("email:b@x.com")).unwrap().unwrap();
    assert_eq!(r.profile, b.profile, "the highest-level key anchors the event");
    assert_eq!(b.keys, [key("email:b@x.com")], "the refused link was not made");
    assert_eq!(t.context(&key("session:s")).unwrap().unwrap().keys.len(), 2);
    // Without limits the same events merge.
    let mut free = TrackerConfig::default();
    free.identity.limits.clear();
    let t = Tracker::new(&shop(), free).unwrap();
    t.track(event(T0, &["device:d", "customer:0000001"])).unwrap();
    t.track(event(T0 + 1, &["device:d", "customer:0000002"])).unwrap();
    assert_eq!(t.context(&key("customer:0000001")).unwrap().unwrap().keys.len(), 3);
}

#[test]
fn cooldown_caps_repeat_firings() {
    let t = Tracker::new(&shop(), TrackerConfig::default()).unwrap();
    let callbacks = |ts: i64| {
        let tracked = t.track(Event::new(ts, key("session:cool"), "remove_from_cart", "web")).unwrap();
        tracked.actions.iter().filter(|a| &*a.waypoint == "anonymous_cart_callback").count()
    };
    let day = 86_400_000_000;
    assert_eq!(callbacks(T0), 1);
    assert_eq!(callbacks(T0 + day - 1), 0, "inside the 1d cooldown");
    assert_eq!(callbacks(T0 + day), 1, "the cooldown ends exactly 1d after the last firing");
}

#[test]
fn the_ticker_advances_from_a_clock() {
    let t = Arc::new(Tracker::new(&shop(), TrackerConfig::default()).unwrap());
    t.track(Event::new(T0, key("session:tick"), "product_view", "web")).unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let ticker = Ticker::with_clock(t.clone(), clock.clone(), std::time::Duration::from_millis(5), |e| panic!("{e}"));
    clock.set(T0 + 3 * 60_000_000);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while t.pending_actions(10).unwrap().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the ticker never fired the missed deadline");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    ticker.stop();
    assert_eq!(&*t.pending_actions(10).unwrap()[0].waypoint, "waiting_on_product");
}

#[test]
fn a_document_without_maps_is_refused() {
    let doc = MapDocument::from_json(r#"{"name": "empty", "maps": []}"#).unwrap();
    assert!(matches!(Tracker::new(&doc, TrackerConfig::default()), Err(journey_core::Error::NotFound { .. })));
    let config = TrackerConfig { map: Some("nope".into()), ..TrackerConfig::default() };
    assert!(matches!(Tracker::new(&shop(), config), Err(journey_core::Error::NotFound { .. })));
}
