//! The declared result types (`results.rs`, generated) against real results: every
//! measure of the example data, serialised as the binding hands it to JavaScript, must
//! deserialise into its declaration with no field missing and none unknown. When this
//! fails, the core's results changed: run `python3 bindings-node/scripts/gen-results.py`.

use std::path::Path;

use journey_core::analytics::sample::{Sample, report_options};
use journey_core::analytics::{Breakdown, FunnelOptions, HypothesisOptions, KeyMomentsOptions, NameLevel, Outcome};
use journey_core::MapDocument;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::results::*;

fn check<T: DeserializeOwned, R: Serialize>(name: &str, result: &R) {
    let value = serde_json::to_value(result).expect("a result serialises");
    if let Err(e) = serde_json::from_value::<T>(value) {
        panic!("{name}: the declared type differs from the result: {e} (run bindings-node/scripts/gen-results.py)");
    }
}

#[test]
fn every_declared_result_type_matches_the_core_result() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = MapDocument::load(root.join("examples/maps/shop.json")).expect("the shop map");
    let a = Sample::load(root.join("examples/data")).expect("the example data").analysis(&doc).expect("an analysis");
    let f = FunnelOptions::events(&["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]);
    let mut with_excluded = f.clone();
    with_excluded.exclusion_steps = vec![vec!["support_call".into()]];
    let km = KeyMomentsOptions { outcome: Some(Outcome::Touchpoint("order_confirmation".into())), min_count: 30 };
    check::<JsStitchResult, _>("stitch", &a.stitch_summary());
    check::<JsReachResult, _>("reach", &a.reach());
    check::<JsReachByPersona, _>("reach by persona", &a.reach_by_persona());
    check::<JsFunnelResult, _>("funnel", &a.funnel(&f).expect("a funnel"));
    check::<JsFunnelResult, _>("funnel with exclusions", &a.funnel(&with_excluded).expect("a funnel"));
    for by in [Breakdown::Persona, Breakdown::Channel, Breakdown::FirstTouchpoint, Breakdown::Property("campaign".into())] {
        check::<JsFunnelBreakdown, _>("funnel breakdown", &a.funnel_breakdown(&f, &by).expect("a breakdown"));
    }
    check::<JsTransitionsResult, _>("transitions", &a.transitions(&[NameLevel::Event, NameLevel::Touchpoint, NameLevel::Phase]));
    check::<JsPathsResult, _>("paths", &a.paths(&Default::default()));
    check::<JsEmotionReport, _>("emotion", &a.emotion(&Default::default()));
    check::<JsEmotionByPersona, _>("emotion by persona", &a.emotion_by_persona(&Default::default()));
    check::<JsGrayAreasResult, _>("gray areas", &a.gray_areas(&Default::default()));
    check::<JsConformanceResult, _>("conformance", &a.conformance());
    check::<JsKeyMomentsResult, _>("key moments", &a.key_moments(&km).expect("key moments"));
    check::<JsHypothesisReport, _>("hypotheses", &a.hypotheses(&HypothesisOptions::default()).expect("hypotheses"));
    check::<JsAnalyticsReport, _>("report", &a.report(&report_options()).expect("a report"));
}
