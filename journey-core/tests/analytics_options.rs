//! Options the benchmark does not cover: funnel steps as touchpoints, phases and sets,
//! strict order, exclusion steps, per-step windows, an unbounded window; key moments with
//! the default outcome; stitching under identity limits.

use journey_core::analytics::{self, EventTable, FunnelOptions, Journeys, KeyMomentsOptions, StepLevel, StitchOptions};
use journey_core::resolve::Resolver;
use journey_core::{IdentityRules, MapDocument, Rating};

fn doc() -> MapDocument {
    analytics::from_bench_design(
        r#"{"format": "journey-bench-design", "version": 1, "name": "t", "persona": {"id": "p"},
        "phases": [{"id": "look", "name": "Look"}, {"id": "buy", "name": "Buy"}, {"id": "use", "name": "Use"}],
        "touchpoints": [
          {"id": "pdp", "name": "Product", "phase": "look", "events": ["view", "zoom"], "department": "sales", "emotion": 0.5},
          {"id": "cart", "name": "Cart", "phase": "buy", "events": ["add", "pay"], "department": "sales", "emotion": 0.5, "key_moment": true},
          {"id": "help", "name": "Help", "phase": "use", "events": ["call"], "department": "support", "emotion": 0.0}
        ]}"#,
    )
    .unwrap()
}

fn table(rows: &[(i64, &str, &str)]) -> EventTable {
    let mut t = EventTable::new();
    for (i, (ts, key, name)) in rows.iter().enumerate() {
        t.push(*ts, i as u64, &[key], name, "web", None, None).unwrap();
    }
    t
}

fn levels(rows: &[(i64, &str, &str)], o: &FunnelOptions) -> (Vec<u64>, Option<u64>, Vec<u64>) {
    let d = doc();
    let r = Resolver::new(&d.maps[0]);
    let t = table(rows);
    let s = analytics::stitch(&t, &StitchOptions::default());
    let j = Journeys::build(&t, &s, &r);
    let f = analytics::funnel(&j, o).unwrap();
    (f.steps.iter().map(|s| s.journeys).collect(), f.excluded, f.stopped_at.iter().map(|s| s.in_progress).collect())
}

const ROWS: &[(i64, &str, &str)] = &[
    (0, "s:1", "view"),
    (5, "s:1", "zoom"),
    (10, "s:1", "add"),
    (20, "s:1", "call"),
    (0, "s:2", "zoom"),
    (3, "s:2", "call"),
    (4, "s:2", "pay"),
    (100, "s:3", "view"),
];

#[test]
fn steps_as_touchpoints_phases_and_sets() {
    let mut o = FunnelOptions::events(&["pdp", "cart"]);
    o.match_on = StepLevel::Touchpoint;
    o.window_us = Some(50);
    assert_eq!(levels(ROWS, &o).0, vec![3, 2]);
    o.match_on = StepLevel::Phase;
    o.steps = vec![vec!["look".into()], vec!["buy".into()], vec!["use".into()]];
    assert_eq!(levels(ROWS, &o).0, vec![3, 2, 1]);
    // a set: {add, pay} as one step
    let mut o = FunnelOptions::events(&["view"]);
    o.steps = vec![vec!["view".into(), "zoom".into()], vec!["add".into(), "pay".into()]];
    o.window_us = Some(50);
    assert_eq!(levels(ROWS, &o).0, vec![3, 2]);
    // unknown ids are errors, not silent zeros
    let d = doc();
    let r = Resolver::new(&d.maps[0]);
    let t = table(ROWS);
    let s = analytics::stitch(&t, &StitchOptions::default());
    let j = Journeys::build(&t, &s, &r);
    let mut bad = FunnelOptions::events(&["nope"]);
    bad.match_on = StepLevel::Touchpoint;
    assert!(analytics::funnel(&j, &bad).is_err());
}

#[test]
fn strict_order_exclusions_step_windows_and_unbounded_window() {
    let mut o = FunnelOptions::events(&["zoom", "pay"]);
    o.window_us = Some(50);
    assert_eq!(levels(ROWS, &o).0, vec![2, 1]);
    // s:2 has a call between zoom and pay: with strict order on steps zoom, pay, call it stops at zoom
    let mut strict = FunnelOptions::events(&["zoom", "pay", "call"]);
    strict.window_us = Some(50);
    assert_eq!(levels(ROWS, &strict).0, vec![2, 1, 0]);
    strict.strict_order = true;
    // s:2: zoom, then the next step event is call (not pay): stops at 1
    assert_eq!(levels(ROWS, &strict).0, vec![2, 0, 0]);
    let mut o2 = FunnelOptions::events(&["zoom", "call"]);
    o2.window_us = Some(50);
    o2.strict_order = true;
    // s:1: zoom, add (not a step), call -> 2; s:2: zoom, call -> 2
    assert_eq!(levels(ROWS, &o2).0, vec![2, 2]);
    // exclusion: a call between zoom and pay removes s:2
    let mut ex = FunnelOptions::events(&["zoom", "pay"]);
    ex.window_us = Some(50);
    ex.exclusion_steps = vec![vec!["call".into()]];
    let (steps, excluded, _) = levels(ROWS, &ex);
    assert_eq!((steps, excluded), (vec![1, 0], Some(1)));
    // per-step window: view -> add within 5 fails for s:1 (10 apart)
    let mut pw = FunnelOptions::events(&["view", "add"]);
    pw.window_us = Some(50);
    pw.per_step_windows = Some(vec![Some(5)]);
    assert_eq!(levels(ROWS, &pw).0, vec![2, 0]);
    pw.per_step_windows = Some(vec![Some(10)]);
    assert_eq!(levels(ROWS, &pw).0, vec![2, 1]);
    // in progress: s:3 entered at 100 (now = 100) with a window of 50; unbounded: never
    let (_, _, ip) = levels(ROWS, &pw);
    assert_eq!(ip, vec![1]);
    pw.window_us = None;
    let (_, _, ip) = levels(ROWS, &pw);
    assert_eq!(ip, vec![0]);
}

#[test]
fn key_moments_default_outcome_is_the_last_phase() {
    let d = doc();
    let r = Resolver::new(&d.maps[0]);
    let mut t = EventTable::new();
    t.push(0, 0, &["s:1"], "add", "web", None, Some(Rating::Csat(1))).unwrap();
    t.push(1, 1, &["s:1"], "call", "web", None, None).unwrap();
    t.push(0, 2, &["s:2"], "add", "web", None, Some(Rating::Csat(5))).unwrap();
    let s = analytics::stitch(&t, &StitchOptions::default());
    let j = Journeys::build(&t, &s, &r);
    let k = analytics::key_moments(&j, &KeyMomentsOptions { outcome: None, min_count: 1 }).unwrap();
    assert_eq!(k.options.outcome, analytics::Outcome::Phase("use".into()));
    let cart = &k.touchpoints[1];
    assert_eq!((cart.negative.rate, cart.non_negative.rate, cart.difference), (Some(1.0), Some(0.0), Some(-1.0)));
    assert_eq!((cart.end_at, cart.rank), (1, Some(1)));
}

#[test]
fn identity_limits_keep_two_customers_apart() {
    let d = doc();
    let r = Resolver::new(&d.maps[0]);
    let mut t = EventTable::new();
    t.push(0, 0, &["session:x", "customer:1"], "view", "web", None, None).unwrap();
    t.push(5, 1, &["session:x", "customer:2"], "add", "web", None, None).unwrap();
    t.push(9, 2, &["session:x"], "pay", "web", None, None).unwrap();
    let free = analytics::stitch(&t, &StitchOptions::default());
    assert_eq!(Journeys::build(&t, &free, &r).len(), 1);
    let limited = analytics::stitch(&t, &StitchOptions { rules: Some(IdentityRules::default()) });
    let j = Journeys::build(&t, &limited, &r);
    // the second event lands on customer:2 (its authenticated anchor); the link is refused
    assert_eq!(j.len(), 2);
    assert_eq!(limited.conflicts().len(), 1);
    let summary = limited.summary(&t, j.len());
    assert_eq!(summary.conflicts, Some(1));
    assert!(analytics::json::to_canonical_string(&summary).contains("\"customer\": 1"));
}
