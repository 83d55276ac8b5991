//! Property test: a journey's analytics, and the whole store's export, are the same whether
//! its events were tracked into the memory store or into SQLite (`Analysis::from_store` over
//! each), with merges, splits and forgotten keys in any order; and a reopened SQLite file
//! holds the same and passes its checks.

mod store_suite;

use std::sync::Arc;

use journey_core::analytics::{Analysis, AnalysisOptions, FunnelOptions};
use journey_core::store::{MemoryStore, SqliteStore, Store};
use journey_core::{Event, IdentityKey, MapDocument, Tracker, TrackerConfig};
use proptest::prelude::*;
use serde_json::{Value, json};
use store_suite::{shop, snapshot};

const T0: i64 = 1_736_121_600_000_000;

const KEYS: [&str; 8] = ["session:a", "session:b", "device:d", "email:e@x.test", "phone:+1", "customer:1", "customer:2", "session:c"];
const NAMES: [&str; 8] = ["ad_click", "product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed", "survey", "off_map"];

#[derive(Debug, Clone)]
enum Op {
    Track { keys: Vec<usize>, name: usize, dt: i64, csat: Option<i64> },
    Link(usize, usize, i64),
    Unlink(usize, usize, i64),
    Forget(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (prop::collection::vec(0..KEYS.len(), 1..3), 0..NAMES.len(), 0i64..3_600_000_000, prop::option::of(1i64..=5))
            .prop_map(|(keys, name, dt, csat)| Op::Track { keys, name, dt, csat }),
        1 => (0..KEYS.len(), 0..KEYS.len(), 0i64..3_600_000_000).prop_map(|(a, b, dt)| Op::Link(a, b, dt)),
        1 => (0..KEYS.len(), 0..KEYS.len(), 0i64..3_600_000_000).prop_map(|(a, b, dt)| Op::Unlink(a, b, dt)),
        1 => (0..KEYS.len()).prop_map(Op::Forget),
    ]
}

fn key(i: usize) -> IdentityKey {
    IdentityKey::parse(KEYS[i]).unwrap()
}

/// Tracks the operations into `store` and returns the analytics of the store, as JSON.
fn analytics_of(doc: &MapDocument, ops: &[Op], store: Arc<dyn Store>) -> Value {
    let config = TrackerConfig::default();
    let tracker = Tracker::with_store(doc, config.clone(), store.clone()).unwrap();
    for op in ops {
        match op {
            Op::Track { keys, name, dt, csat } => {
                let mut e = Event::new(T0 + dt, key(keys[0]), NAMES[*name], "web");
                for &k in &keys[1..] {
                    e = e.with_key(key(k));
                }
                if let Some(c) = csat {
                    e = e.with_rating(journey_core::Rating::Csat(*c));
                }
                tracker.track(e).unwrap();
            }
            Op::Link(a, b, dt) => {
                tracker.link(&key(*a), &key(*b), T0 + dt).unwrap();
            }
            // Refused when the keys are unknown or not linked directly: the same in both stores.
            Op::Unlink(a, b, dt) => match tracker.unlink(&key(*a), &key(*b), T0 + dt) {
                Ok(_) | Err(journey_core::Error::NotFound { .. } | journey_core::Error::Conflict { .. }) => {}
                Err(e) => panic!("unlink: {e}"),
            },
            Op::Forget(k) => {
                tracker.forget(&key(*k)).unwrap();
            }
        }
    }
    let analysis = Analysis::from_store(doc, &*store, AnalysisOptions::like_tracker(&config)).unwrap();
    let funnel = FunnelOptions::events(&["product_view", "add_to_cart", "checkout_start", "order_confirmed"]);
    json!({
        "events": analysis.len(),
        "stitch": serde_json::to_value(analysis.stitch_summary()).unwrap(),
        "reach": serde_json::to_value(analysis.reach()).unwrap(),
        "funnel": serde_json::to_value(analysis.funnel(&funnel).unwrap()).unwrap(),
        "conformance": serde_json::to_value(analysis.conformance()).unwrap(),
        "export": snapshot(&*store),
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn analytics_are_the_same_from_memory_and_sqlite(ops in prop::collection::vec(op(), 1..30)) {
        let doc = shop();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journeys.db");
        let sqlite: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
        let from_memory = analytics_of(&doc, &ops, Arc::new(MemoryStore::new()));
        let from_sqlite = analytics_of(&doc, &ops, sqlite);
        prop_assert_eq!(&from_memory, &from_sqlite);
        let reopened = SqliteStore::open(&path).unwrap();
        let report = reopened.check().unwrap();
        prop_assert!(report.problems.is_empty(), "{:?}", report.problems);
        prop_assert_eq!(snapshot(&reopened), from_sqlite["export"].as_str().unwrap());
        // Other tools see the same: the view `journey_events` gives each event the profile
        // the store gives it (after merges, splits of merged profiles, forgets).
        let mut stored = Vec::new();
        journey_core::Store::scan(&reopened, i64::MIN, i64::MAX, &mut |e| {
            stored.push((e.seq as i64, e.profile.0 as i64));
            Ok(true)
        })
        .unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        let mut stmt = conn.prepare("SELECT seq, profile FROM journey_events ORDER BY ts, seq").unwrap();
        let viewed: Vec<(i64, i64)> = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(viewed, stored);
    }
}
