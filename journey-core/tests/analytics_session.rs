//! The analysis session: its sources agree with each other and with the benchmark's
//! references, its profiles agree with the tracker's, breakdowns and per-persona results add
//! up, the hypothesis report reads the map right, every result converts to tables, and the
//! short report runs on the bundled example events.

#![allow(clippy::type_complexity)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use journey_core::analytics::bench::BenchParams;
use journey_core::analytics::sample::{self, Sample};
use journey_core::analytics::{
    self, Analysis, AnalysisOptions, AssumptionKind, Breakdown, ColumnType, EmotionOptions, FunnelOptions, GrayAreasOptions,
    HypothesisOptions, KeyMomentsOptions, NameLevel, Outcome, PathsOptions, ReportOptions, ToTables, Verdict, json,
};
use journey_core::{Event, IdentityKey, IdentityRules, MapDocument, Rating, Tracker, TrackerConfig};
use proptest::prelude::*;
use serde_json::json;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn shop() -> MapDocument {
    MapDocument::load(root().join("examples/maps/shop.json")).unwrap()
}

fn sample_data() -> Sample {
    Sample::load(root().join("examples/data")).unwrap()
}

fn key(s: &str) -> IdentityKey {
    IdentityKey::parse(s).unwrap()
}

/// A small valid document: three phases, four touchpoints, two personas with rules.
fn doc() -> MapDocument {
    MapDocument::from_json(
        &json!({
            "name": "Test shop",
            "personas": [
                {"id": "pro", "name": "Pro", "assign_when": {"property": {"name": "segment", "op": "=", "value": "pro"}}},
                {"id": "casual", "name": "Casual", "assign_when": {"property": {"name": "segment", "op": "=", "value": "casual"}}}
            ],
            "maps": [{"id": "m", "name": "Buying", "persona": "pro",
                "phases": [{"id": "discover", "name": "Discover"}, {"id": "buy", "name": "Buy"}, {"id": "use", "name": "Use"}],
                "touchpoints": [
                    {"id": "pdp", "name": "Product page", "phase": "discover", "channels": ["web"], "department": "sales", "events": ["view"], "emotion": "positive"},
                    {"id": "cart", "name": "Cart", "phase": "buy", "channels": ["web", "mobile_app"], "department": "sales", "events": ["add"], "emotion": "neutral", "key_moment": true},
                    {"id": "pay", "name": "Payment", "phase": "buy", "department": "billing", "events": ["pay"]},
                    {"id": "help", "name": "Help", "phase": "use", "channels": ["phone"], "department": "support", "events": ["call"], "emotion": "negative"}
                ]}]
        })
        .to_string(),
    )
    .unwrap()
}

fn ev(ts: i64, keys: &[&str], name: &str, channel: &str) -> Event {
    let mut e = Event::new(ts, key(keys[0]), name, channel);
    for k in &keys[1..] {
        e = e.with_key(key(k));
    }
    e
}

// ---------------------------------------------------------------- sources and references

#[test]
fn events_from_the_example_csv_match_the_references() {
    // examples/data is the benchmark's small data set: through Event values, the builder and
    // the session, every measure still matches the reference files byte for byte
    let s = sample_data();
    assert_eq!((s.events.len(), s.links.len()), (20_000, 2_934));
    let design = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench-small/design.json")).unwrap();
    let doc = analytics::from_bench_design(&design).unwrap();
    let a = Analysis::from_events_and_links(&doc, &s.events, &s.links, AnalysisOptions::without_limits()).unwrap();
    let p = BenchParams::default();
    let expected = |name: &str| std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/bench-small/expected/{name}.json"))).unwrap();
    let same = |name: &str, got: String| assert!(got == expected(name), "{name} differs from the reference");
    same("reach", json::to_canonical_string(&a.reach()));
    same("funnel", json::to_canonical_string(&a.funnel(&p.funnel).unwrap()));
    same("transitions", json::to_canonical_string(&a.transitions(&[NameLevel::Event, NameLevel::Touchpoint, NameLevel::Phase])));
    same("paths", json::to_canonical_string(&a.paths(&p.paths)));
    same("emotion", json::to_canonical_string(&a.emotion(&p.emotion)));
    same("gray_areas", json::to_canonical_string(&a.gray_areas(&p.gray_areas)));
    same("conformance", json::to_canonical_string(&a.conformance()));
    same("key_moments", json::to_canonical_string(&a.key_moments(&p.key_moments).unwrap()));
    let stitch: serde_json::Value = serde_json::from_str(&expected("stitch")).unwrap();
    let summary = serde_json::to_value(a.stitch_summary()).unwrap();
    for k in ["keys", "profiles", "journeys", "profiles_without_events", "largest_profile_keys"] {
        assert_eq!(summary[k], stitch[k], "{k}");
    }
    for (k, canonical) in stitch["profile_of"].as_object().unwrap().iter().take(500) {
        assert_eq!(a.profile_of(k), canonical.as_str(), "{k}");
    }
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_record_batches_and_tables_agree_with_events() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench-small");
    let doc = shop();
    let s = sample_data();
    let o = AnalysisOptions::default();
    let from_events = Analysis::from_events_and_links(&doc, &s.events, &s.links, o.clone()).unwrap();
    let from_parquet = Analysis::from_parquet(&doc, &data.join("events.parquet"), Some(&data.join("links.parquet")), o.clone()).unwrap();
    let ev = analytics::parquet::read_events(&data.join("events.parquet")).unwrap();
    let li = analytics::parquet::read_links(&data.join("links.parquet")).unwrap();
    let from_batches = Analysis::from_record_batches(&doc, &ev, &li, o.clone()).unwrap();
    let mut b = Analysis::builder(&doc, o).unwrap();
    for batch in &ev {
        b.push_record_batch(batch).unwrap();
    }
    for batch in &li {
        b.push_link_batch(batch).unwrap();
    }
    let pushed = b.finish();
    let f = FunnelOptions::events(&["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]);
    let h = HypothesisOptions::default();
    let want = (from_events.stitch_summary(), from_events.funnel(&f).unwrap(), from_events.conformance(), from_events.hypotheses(&h).unwrap());
    for a in [&from_parquet, &from_batches, &pushed] {
        assert_eq!((a.stitch_summary(), a.funnel(&f).unwrap(), a.conformance(), a.hypotheses(&h).unwrap()), want);
    }
}

#[cfg(feature = "arrow")]
#[test]
fn record_batch_columns_beyond_the_event_ones_are_properties() {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
    let batch = RecordBatch::try_from_iter([
        ("ts", Arc::new(Int64Array::from(vec![1, 2, 3])) as arrow_array::ArrayRef),
        ("key", Arc::new(StringArray::from(vec!["session:a", "session:a", "session:b"]))),
        ("event", Arc::new(StringArray::from(vec!["view", "add", "view"]))),
        ("channel", Arc::new(StringArray::from(vec!["web", "web", "web"]))),
        ("campaign", Arc::new(StringArray::from(vec![Some("spring"), None, Some("winter")]))),
        ("cart_value", Arc::new(Float64Array::from(vec![None, Some(129.9), None]))),
    ])
    .unwrap();
    let a = Analysis::from_record_batches(&doc(), &[batch], &[], AnalysisOptions::default()).unwrap();
    assert_eq!(a.properties().names(), &["campaign", "cart_value"]);
    assert_eq!(a.properties().value("cart_value", 1), Some("129.9"));
    let f = a.funnel_breakdown(&FunnelOptions::events(&["view", "add"]), &Breakdown::Property("campaign".into())).unwrap();
    let got: Vec<(Option<&str>, u64)> = f.groups.iter().map(|g| (g.value.as_deref(), g.converted)).collect();
    assert_eq!(got, vec![(Some("spring"), 1), (Some("winter"), 0)]);
}

// ---------------------------------------------------------------- the tracker's profiles

const KEYS: [&str; 8] = ["customer:1", "customer:2", "email:a", "email:b", "phone:1", "session:1", "session:2", "device:1"];

#[derive(Debug, Clone)]
enum Op {
    Event(Vec<usize>, usize),
    Link(usize, usize),
}

/// Random logs in time order; with `link_ties`, explicit links may share a time.
fn ops(link_ties: bool) -> impl Strategy<Value = Vec<(i64, Op)>> {
    let first: i64 = if link_ties { 0 } else { 1 };
    let op = prop_oneof![
        3 => (0i64..3, prop::collection::vec(0usize..KEYS.len(), 1..4), 0usize..4).prop_map(|(dt, k, n)| (dt, Op::Event(k, n))),
        1 => (first..3, 0usize..KEYS.len(), 0usize..KEYS.len()).prop_filter("no self-link", |(_, a, b)| a != b).prop_map(|(dt, a, b)| (dt, Op::Link(a, b))),
    ];
    prop::collection::vec(op, 1..40).prop_map(|v| {
        // time order, ties by arrival, links after the events of their time (as the analysis orders them)
        let mut t = 0;
        let mut out: Vec<(i64, Op)> = v.into_iter().map(|(dt, op)| {
            t += dt;
            (t, op)
        }).collect();
        out.sort_by_key(|(t, op)| (*t, matches!(op, Op::Link(..))));
        out
    })
}

fn rules() -> IdentityRules {
    let mut r = IdentityRules::default();
    r.limits.insert("email".into(), 1);
    r
}

/// Every event's profile as the set of its keys, and every known key's profile, from the tracker.
fn tracker_view(t: &Tracker) -> (Vec<BTreeSet<String>>, BTreeMap<String, BTreeSet<String>>) {
    let mut events: Vec<(u64, BTreeSet<String>)> = Vec::new();
    let mut keys = BTreeMap::new();
    t.store()
        .read(&mut |tx| {
            for id in tx.profile_ids()? {
                let ks: BTreeSet<String> = tx.keys_of(id)?.iter().map(|k| k.to_string()).collect();
                for e in tx.events_of(id, None)? {
                    events.push((e.seq, ks.clone()));
                }
                for k in &ks {
                    keys.insert(k.clone(), ks.clone());
                }
            }
            Ok(())
        })
        .unwrap();
    events.sort();
    (events.into_iter().map(|e| e.1).collect(), keys)
}

fn analysis_view(a: &Analysis) -> (Vec<BTreeSet<String>>, BTreeMap<String, BTreeSet<String>>) {
    let keys = a.table().keys();
    let mut members: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for k in keys.iter() {
        members.entry(a.profile_of(k).unwrap().to_string()).or_default().insert(k.to_string());
    }
    // rows are in push order, which is the tracker's arrival order
    let events = (0..a.table().len()).map(|row| members[a.event_profile(row)].clone()).collect();
    let by_key = keys.iter().map(|k| (k.to_string(), members[a.profile_of(k).unwrap()].clone())).collect();
    (events, by_key)
}

fn check_agreement(log: &[(i64, Op)], through_store: bool) -> Result<(), TestCaseError> {
    let d = doc();
    let config = TrackerConfig { identity: rules(), ..TrackerConfig::default() };
    let tracker = Tracker::new(&d, config.clone()).unwrap();
    let mut b = Analysis::builder(&d, AnalysisOptions::like_tracker(&config)).unwrap();
    let names = ["view", "add", "pay", "call"];
    for (ts, op) in log {
        match op {
            Op::Event(ks, n) => {
                let e = ev(*ts, &ks.iter().map(|&k| KEYS[k]).collect::<Vec<_>>(), names[*n], "web");
                tracker.track(e.clone()).unwrap();
                b.push_event(&e).unwrap();
            }
            Op::Link(x, y) => {
                tracker.link(&key(KEYS[*x]), &key(KEYS[*y]), *ts).unwrap();
                b.push_link(&key(KEYS[*x]), &key(KEYS[*y]), *ts);
            }
        }
    }
    let a = b.finish();
    let (t_events, t_keys) = tracker_view(&tracker);
    for (i, (te, ae)) in t_events.iter().zip(analysis_view(&a).0.iter()).enumerate() {
        prop_assert_eq!(te, ae, "event {} of {:?}", i, log);
    }
    let (_, a_keys) = analysis_view(&a);
    for (k, members) in &a_keys {
        match t_keys.get(k) {
            Some(t) => prop_assert_eq!(t, members, "key {} of {:?}", k, log),
            // a key the tracker never gave a profile was only ever refused: alone here too
            None => prop_assert_eq!(members.len(), 1, "key {} of {:?}", k, log),
        }
    }
    prop_assert_eq!(a.stitched().conflicts().len(), tracker.conflicts().unwrap().len());
    if !through_store {
        return Ok(());
    }
    // the same through the store the tracker wrote
    let from_store = Analysis::from_store(&d, tracker.store().as_ref(), AnalysisOptions::like_tracker(&config)).unwrap();
    let (s_events, s_keys) = analysis_view(&from_store);
    // the store's scan is in (ts, seq) order, the same as arrival order for these logs
    prop_assert_eq!(&s_events, &t_events);
    for (k, members) in &s_keys {
        if let Some(t) = t_keys.get(k) {
            prop_assert_eq!(t, members);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn tracker_and_analysis_stitch_random_logs_alike(log in ops(true)) {
        check_agreement(&log, false)?;
    }

    #[test]
    fn an_analysis_of_the_tracker_store_stitches_alike(log in ops(false)) {
        check_agreement(&log, true)?;
    }
}

#[test]
fn the_anchor_prefers_a_key_already_known() {
    // customer:1 is known when an event carries customer:2 first, then customer:1: both are
    // authenticated, so the known one anchors the event and customer:2 is refused
    let log = vec![(0, Op::Event(vec![0], 0)), (1, Op::Event(vec![1, 0], 1)), (2, Op::Event(vec![5, 2], 2)), (3, Op::Event(vec![3, 2], 3))];
    check_agreement(&log, true).unwrap();
    let d = doc();
    let events = [ev(0, &["customer:1"], "view", "web"), ev(1, &["customer:2", "customer:1"], "add", "web")];
    let a = Analysis::from_events(&d, &events, AnalysisOptions::default()).unwrap();
    assert_eq!(a.event_profile(1), "customer:1");
    assert_eq!(a.stitched().conflicts()[0].other, "customer:2");
    assert_eq!(a.len(), 1);
}

// ---------------------------------------------------------------- breakdowns and personas

fn shop_analysis() -> Analysis {
    let s = sample_data();
    Analysis::from_events_and_links(&shop(), &s.events, &s.links, AnalysisOptions::default()).unwrap()
}

fn bench_funnel() -> FunnelOptions {
    FunnelOptions::events(&["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"])
}

#[test]
fn breakdown_groups_add_up_to_the_total() {
    let a = shop_analysis();
    let f = bench_funnel();
    for by in [Breakdown::Channel, Breakdown::FirstTouchpoint, Breakdown::Persona] {
        let b = a.funnel_breakdown(&f, &by).unwrap();
        assert_eq!(b.total, a.funnel(&f).unwrap());
        let sum = |g: &dyn Fn(&analytics::FunnelGroup) -> u64| b.groups.iter().map(g).sum::<u64>();
        for k in 0..5 {
            assert_eq!(sum(&|g| g.steps[k].journeys), b.total.steps[k].journeys, "{by:?} step {k}");
        }
        for k in 0..4 {
            assert_eq!(sum(&|g| g.stopped_at[k].in_progress), b.total.stopped_at[k].in_progress, "{by:?} stop {k}");
        }
        assert_eq!(sum(&|g| g.converted), b.total.converted);
        assert_eq!(sum(&|g| g.time_to_convert.journeys), b.total.time_to_convert.journeys);
        if by.is_step_level() {
            assert!(b.groups.iter().all(|g| g.not_entered == 0));
            assert_eq!(sum(&|g| g.journeys), b.total.journeys - b.total.not_entered);
        } else {
            assert_eq!(sum(&|g| g.journeys), b.total.journeys);
        }
        let values: Vec<&Option<String>> = b.groups.iter().map(|g| &g.value).collect();
        if by != Breakdown::Persona {
            let mut sorted = values.clone();
            sorted.sort_by_key(|v| (v.is_none(), v.as_deref().map(str::as_bytes)));
            assert_eq!(values, sorted, "{by:?} groups are ordered by value, null last");
        }
        assert_eq!(b.options.by, by.label());
    }
    let web = a.funnel_breakdown(&f, &Breakdown::Channel).unwrap();
    let channels: Vec<&str> = web.groups.iter().filter_map(|g| g.value.as_deref()).collect();
    assert!(channels.contains(&"web") && channels.contains(&"mobile_app"), "{channels:?}");
}

#[test]
fn breakdown_values_come_from_the_step_one_event_or_the_journey() {
    let d = doc();
    let events = [
        ev(0, &["session:a"], "view", "web").with_property("campaign", "spring"),
        ev(10, &["session:a"], "add", "web"),
        ev(20, &["session:a"], "view", "mobile_app").with_property("campaign", "summer"),
        ev(0, &["session:b"], "call", "phone"),
        ev(5, &["session:b"], "view", "web").with_property("campaign", "spring"),
        ev(0, &["session:c"], "view", "mobile_app"),
        ev(0, &["session:d"], "pay", "web"),
    ];
    let a = Analysis::from_events(&d, &events, AnalysisOptions::default()).unwrap();
    let f = FunnelOptions { window_us: Some(100), ..FunnelOptions::events(&["view", "add"]) };
    let groups = |by: Breakdown| -> Vec<(Option<String>, u64, u64, u64)> {
        a.funnel_breakdown(&f, &by).unwrap().groups.into_iter().map(|g| (g.value, g.journeys, g.steps[0].journeys, g.converted)).collect()
    };
    let s = |x: &str| Some(x.to_string());
    // session:a's deciding chain is the latest start reaching level 2: its first view (web, spring)
    assert_eq!(groups(Breakdown::Channel), vec![(s("mobile_app"), 1, 1, 0), (s("web"), 2, 2, 1)]);
    assert_eq!(groups(Breakdown::Property("campaign".into())), vec![(s("spring"), 2, 2, 1), (None, 1, 1, 0)]);
    assert_eq!(
        groups(Breakdown::FirstTouchpoint),
        vec![(s("help"), 1, 1, 0), (s("pay"), 1, 0, 0), (s("pdp"), 2, 2, 1)]
    );
    let mut a = a;
    a.set_attributes([("session:a".to_string(), json!({"segment": "pro", "tier": 2}).as_object().unwrap().clone())]);
    assert_eq!(groups_of(&a, &f, Breakdown::Attribute("tier".into())), vec![(s("2"), 1), (None, 3)]);
    let by_persona = a.funnel_breakdown(&f, &Breakdown::Persona).unwrap();
    let got: Vec<(Option<&str>, u64, u64)> = by_persona.groups.iter().map(|g| (g.value.as_deref(), g.journeys, g.converted)).collect();
    assert_eq!(got, vec![(Some("pro"), 1, 1), (Some("casual"), 0, 0), (None, 3, 0)]);
    assert_eq!(by_persona.options.personas.as_ref().unwrap().journeys_by_rule, 1);
}

fn groups_of(a: &Analysis, f: &FunnelOptions, by: Breakdown) -> Vec<(Option<String>, u64)> {
    a.funnel_breakdown(f, &by).unwrap().groups.into_iter().map(|g| (g.value, g.journeys)).collect()
}

#[test]
fn personas_explicit_first_then_rules_then_none() {
    let d = doc();
    let events = [
        ev(0, &["session:a", "email:a"], "view", "web").with_rating(Rating::Csat(5)),
        ev(0, &["session:b"], "view", "web").with_rating(Rating::Csat(1)),
        ev(1, &["session:b"], "add", "web"),
        ev(0, &["session:c"], "call", "phone").with_rating(Rating::Csat(2)),
        ev(0, &["session:d"], "view", "web"),
    ];
    let mut a = Analysis::from_events(&d, &events, AnalysisOptions::default()).unwrap();
    let attrs = |seg: &str| json!({"segment": seg}).as_object().unwrap().clone();
    // session:a's profile: email:a says casual, session:a says pro: the smallest key wins
    a.set_attributes([("session:a".into(), attrs("pro")), ("email:a".into(), attrs("casual")), ("session:b".into(), attrs("pro"))]);
    // an explicit assignment beats the rule; an unknown persona id is its own group
    a.assign_personas([("session:b".to_string(), "casual".to_string()), ("session:c".to_string(), "vip".to_string())]);
    let p = a.personas();
    assert_eq!(p.labels, vec!["pro", "casual", "vip"]);
    let of = |k: &str| {
        let jx = a.journeys().profiles().iter().position(|&c| a.table().keys().get(c) == a.profile_of(k).unwrap()).unwrap();
        p.label(p.of_journey[jx] as usize)
    };
    assert_eq!(of("session:a").as_deref(), Some("casual"));
    assert_eq!(of("session:b").as_deref(), Some("casual"));
    assert_eq!(of("session:c").as_deref(), Some("vip"));
    assert_eq!(of("session:d"), None);
    assert_eq!((p.options.journeys_explicit, p.options.journeys_by_rule, p.options.journeys_without_persona), (2, 1, 1));

    let reach = a.reach_by_persona();
    assert_eq!(reach.personas.len(), 4);
    assert_eq!(reach.personas.iter().map(|g| g.reach.journeys).sum::<u64>(), a.reach().journeys);
    for k in 0..3 {
        assert_eq!(reach.personas.iter().map(|g| g.reach.phases[k].journeys).sum::<u64>(), a.reach().phases[k].journeys);
    }
    assert_eq!(reach.personas[1].reach.journeys, 2);
    assert_eq!(reach.personas[1].reach.phases[1].share, Some(0.5));
    let em = a.emotion_by_persona(&EmotionOptions { min_count: 1, ..EmotionOptions::default() });
    assert_eq!(em.personas.iter().map(|g| g.emotion.ratings).sum::<u64>(), a.emotion(&EmotionOptions::default()).ratings);
    let casual = &em.personas[1].emotion.touchpoints[0];
    assert_eq!((casual.ratings, casual.mean), (2, Some(0.0)));
    assert_eq!(em.personas[2].emotion.touchpoints[3].mean, Some(-0.5));
}

#[test]
fn from_store_reads_events_links_and_personas() {
    let d = doc();
    let tracker = Tracker::new(&d, TrackerConfig::default()).unwrap();
    tracker.track(ev(0, &["session:a"], "view", "web")).unwrap();
    tracker.track(ev(5, &["session:b"], "add", "web")).unwrap();
    tracker.track(ev(7, &["session:c"], "call", "phone")).unwrap();
    tracker.link(&key("session:a"), &key("email:x"), 6).unwrap();
    tracker.link(&key("session:b"), &key("email:x"), 6).unwrap();
    tracker.assign_persona(&key("session:a"), Some("casual")).unwrap();
    tracker.set_attributes(&key("session:c"), json!({"segment": "pro"}).as_object().unwrap().clone()).unwrap();
    let a = Analysis::from_store(&d, tracker.store().as_ref(), AnalysisOptions::like_tracker(tracker.config())).unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a.profile_of("session:b"), Some("email:x"));
    let f = a.funnel(&FunnelOptions::events(&["view", "add"])).unwrap();
    assert_eq!(f.converted, 1);
    let p = a.personas();
    let mut labels: Vec<Option<String>> = p.of_journey.iter().map(|&g| p.label(g as usize)).collect();
    labels.sort();
    assert_eq!(labels, vec![Some("casual".to_string()), Some("pro".to_string())]);
}

// ---------------------------------------------------------------- the hypothesis report

#[test]
fn the_hypothesis_report_finds_what_the_sample_contradicts() {
    let a = shop_analysis();
    let o = HypothesisOptions { key_moment_outcome: Some(Outcome::Touchpoint("order_confirmation".into())), ..HypothesisOptions::default() };
    let h = a.hypotheses(&o).unwrap();
    let verdict = |kind: AssumptionKind, subject: &str| h.assumptions.iter().find(|x| x.kind == kind && x.subject == subject).map(|x| x.verdict);
    assert_eq!(verdict(AssumptionKind::Emotion, "shipping_options"), Some(Verdict::Contradicted));
    assert_eq!(verdict(AssumptionKind::Emotion, "store_visit"), Some(Verdict::Contradicted));
    assert_eq!(verdict(AssumptionKind::Emotion, "product_page"), Some(Verdict::Confirmed));
    assert_eq!(verdict(AssumptionKind::Emotion, "tracking"), Some(Verdict::NotEnoughData));
    assert_eq!(verdict(AssumptionKind::KeyMoment, "checkout"), Some(Verdict::Confirmed));
    assert_eq!(verdict(AssumptionKind::KeyMoment, "store_visit"), Some(Verdict::NotEnoughData));
    assert_eq!(verdict(AssumptionKind::Channels, "support"), Some(Verdict::Contradicted));
    assert_eq!(verdict(AssumptionKind::Owner, "returns"), Some(Verdict::Contradicted));
    assert_eq!(verdict(AssumptionKind::Owner, "shipping_options"), Some(Verdict::Confirmed));
    assert_eq!(verdict(AssumptionKind::Emotion, "app_install"), Some(Verdict::NotEnoughData));
    // every touchpoint's flag is an assumption; channels only where the map lists some
    let map = a.map();
    assert_eq!(h.assumptions.iter().filter(|x| x.kind == AssumptionKind::KeyMoment).count(), map.touchpoints.len());
    assert_eq!(h.assumptions.iter().filter(|x| x.kind == AssumptionKind::Channels).count(), map.touchpoints.iter().filter(|t| !t.channels.is_empty()).count());
    // the phase-order rows count the steps conformance counts
    let c = a.conformance();
    let phase: Vec<_> = h.assumptions.iter().filter(|x| x.kind == AssumptionKind::PhaseOrder).collect();
    assert_eq!(phase.len(), 2 + map.phases.len() - 1);
    assert_eq!((phase[0].value.unwrap() * phase[0].evidence as f64).round() as u64, c.deviations.regression);
    assert_eq!((phase[1].value.unwrap() * phase[1].evidence as f64).round() as u64, c.deviations.skip);
    assert_eq!(h.confirmed + h.contradicted + h.not_enough_data, h.assumptions.len() as u64);
    let text = h.to_text();
    assert!(text.contains("shipping_options") && text.contains("whatsapp 11"), "{text}");
}

#[test]
fn hypothesis_thresholds_are_inclusive_and_tunable() {
    let d = doc();
    // pdp planned +1 (positive), rated 4 and 5 twice: mean +0.75, gap -0.25 exactly
    let mut events = Vec::new();
    for (i, csat) in [4, 5, 4, 5].into_iter().enumerate() {
        events.push(ev(i as i64, &[&format!("session:{i}")], "view", "web").with_rating(Rating::Csat(csat)));
    }
    events.push(ev(9, &["session:0"], "add", "store"));
    let a = Analysis::from_events(&d, &events, AnalysisOptions::default()).unwrap();
    let row = |h: &analytics::HypothesisReport, kind, subject: &str| h.assumptions.iter().find(|x| x.kind == kind && x.subject == subject).unwrap().clone();
    let h = a.hypotheses(&HypothesisOptions::default()).unwrap();
    assert_eq!(row(&h, AssumptionKind::Emotion, "pdp").verdict, Verdict::NotEnoughData);
    let o = HypothesisOptions { emotion_min_ratings: 4, min_events: 1, ..HypothesisOptions::default() };
    let h = a.hypotheses(&o).unwrap();
    let pdp = row(&h, AssumptionKind::Emotion, "pdp");
    assert_eq!((pdp.verdict, pdp.value, pdp.evidence), (Verdict::Confirmed, Some(-0.25), 4));
    let h = a.hypotheses(&HypothesisOptions { emotion_tolerance: 0.2, ..o.clone() }).unwrap();
    assert_eq!(row(&h, AssumptionKind::Emotion, "pdp").verdict, Verdict::Contradicted);
    // the cart event on an unplanned channel: 1 of 1
    let cart = row(&h, AssumptionKind::Channels, "cart");
    assert_eq!((cart.verdict, cart.value), (Verdict::Contradicted, Some(1.0)));
    // pay lists no channel: no channel assumption
    assert!(h.assumptions.iter().all(|x| !(x.kind == AssumptionKind::Channels && x.subject == "pay")));
}

// ---------------------------------------------------------------- tables

fn check_table(t: &analytics::Table) {
    let n = t.num_rows();
    assert!(!t.name.is_empty() && !t.columns.is_empty());
    for c in &t.columns {
        assert_eq!(c.values.len(), n, "{}.{}", t.name, c.name);
    }
    let names: BTreeSet<&str> = t.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names.len(), t.columns.len(), "{}: duplicate column", t.name);
    let options: serde_json::Value = serde_json::from_str(&t.metadata["options"]).unwrap();
    assert!(!options.is_null(), "{}", t.name);
    #[cfg(feature = "arrow")]
    {
        let b = t.to_record_batch().unwrap();
        assert_eq!((b.num_rows(), b.num_columns()), (n, t.columns.len()));
        assert_eq!(b.schema().metadata()["table"], t.name);
        assert_eq!(t.clone().into_record_batch().unwrap(), b);
    }
}

#[test]
fn every_result_converts_to_tables() {
    let mut a = shop_analysis();
    a.assign_personas([("customer:0000001".to_string(), "busy_professional".to_string())]);
    let f = bench_funnel();
    let all: Vec<Vec<analytics::Table>> = vec![
        a.stitch_summary().to_tables(),
        a.reach().to_tables(),
        a.reach_by_persona().to_tables(),
        a.funnel(&f).unwrap().to_tables(),
        a.funnel_breakdown(&f, &Breakdown::Channel).unwrap().to_tables(),
        a.transitions(&[NameLevel::Event, NameLevel::Phase]).to_tables(),
        a.paths(&PathsOptions::default()).to_tables(),
        a.emotion(&EmotionOptions::default()).to_tables(),
        a.emotion_by_persona(&EmotionOptions::default()).to_tables(),
        a.gray_areas(&GrayAreasOptions::default()).to_tables(),
        a.conformance().to_tables(),
        a.key_moments(&KeyMomentsOptions::default()).unwrap().to_tables(),
        a.hypotheses(&HypothesisOptions::default()).unwrap().to_tables(),
        vec![a.journey_table()],
    ];
    let mut names = BTreeSet::new();
    for tables in &all {
        for t in tables {
            check_table(t);
            assert!(names.insert(t.name.clone()), "table name {} used twice", t.name);
        }
    }
    let steps = a.funnel(&f).unwrap().to_table();
    assert_eq!(steps.name, "funnel_steps");
    assert_eq!(steps.num_rows(), 5);
    assert_eq!(steps.column("conversion_from_first").unwrap().values.text(4), format!("{}", ((257.0f64 / 1577.0) * 1e6).round() / 1e6));
    let j = a.journey_table();
    assert_eq!(j.num_rows(), a.len());
    assert_eq!(j.column("first_ts").unwrap().column_type(), ColumnType::TimestampUs);
    assert_eq!(j.column("duration").unwrap().column_type(), ColumnType::DurationUs);
    let persona = j.column("persona").unwrap();
    assert!(persona.nullable);
    let h = a.hypotheses(&HypothesisOptions::default()).unwrap().to_table();
    assert_eq!(h.num_rows(), a.hypotheses(&HypothesisOptions::default()).unwrap().assumptions.len());
}

#[test]
fn a_session_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Analysis>();
    shared::<analytics::AnalysisBuilder>();
    let a = shop_analysis();
    let debug = format!("{a:?}");
    assert!(debug.starts_with("Analysis { map: \"shop\"") && debug.len() < 1_000, "{debug}");
    let f = bench_funnel();
    let (x, y) = std::thread::scope(|s| {
        let h = s.spawn(|| a.funnel(&f).unwrap());
        (a.funnel(&f).unwrap(), h.join().unwrap())
    });
    assert_eq!(x, y);
}

// ---------------------------------------------------------------- the short report

#[test]
fn the_example_report_runs_on_the_bundled_events() {
    let text = sample::report(&shop(), root().join("examples/data")).unwrap();
    for part in ["Journeys: 2,934 journeys", "Phase reach", "Funnel", "order_confirmed", "Gray areas", "Hypothesis report", "Contradicted:", "shipping_options"] {
        assert!(text.contains(part), "{part} missing from:\n{text}");
    }
    // the default report (phase funnel) on a small analysis
    let d = doc();
    let a = Analysis::from_events(&d, &[ev(0, &["session:a"], "view", "web"), ev(1, &["session:a"], "add", "web")], AnalysisOptions::default()).unwrap();
    let r = a.report(&ReportOptions::default()).unwrap();
    assert_eq!(r.funnel.steps.len(), 3);
    assert!(r.to_text().contains("1. discover"));
}
