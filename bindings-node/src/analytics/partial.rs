//! Mergeable measures in Node (journey-core's `analytics::partial`): `Partials`, a partial
//! state of chosen measures over part of the journeys, computed by `analysis.partials`,
//! shipped as bytes, merged in any order and finished into `PartialResults`, the same
//! results `analysis.results` gives in one pass.
//!
//! The options are the core's `PartialOptions` JSON (snake_case keys, as the core's serde
//! and the Python binding write them, not the camelCase of the single measures); the
//! results are the core's serde JSON with `relative_accuracy` in place of `quantiles`. The
//! structs declared here only give index.d.ts its types; the unit tests check them against
//! the core's serde form.
#![allow(dead_code)] // The declarations are only read by the napi CLI (index.d.ts).

use std::cell::RefCell;
use std::sync::Arc;

use journey_core::analytics::partial::{PartialOptions, Partials, Results};
use journey_core::Error;
use napi::bindgen_prelude::{AsyncTask, Buffer, Either, Uint8Array, Unknown};
use napi::{Env, Result};
use napi_derive::napi;
use serde::Deserialize;
use serde_json::Value;

use super::Json;
use crate::error::guard;
use crate::task::Job;
use crate::tracker::read_options;

/// The measures of a partial state and their options, in the core's form (snake_case keys;
/// every field optional, everything off by default). States of different options do not
/// merge. Unknown keys and wrong types are `E_PARSE` errors whose `path` names the field.
#[napi(object, js_name = "PartialOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsPartialOptions {
    /// Phase reach.
    pub reach: Option<bool>,
    /// Phase reach per persona.
    #[napi(js_name = "reach_by_persona")]
    pub reach_by_persona: Option<bool>,
    /// Funnels, one result each, in order.
    #[napi(ts_type = "Array<PartialFunnelOptions>")]
    pub funnels: Option<Vec<Value>>,
    /// Funnel breakdowns, one result each, in order.
    #[napi(js_name = "funnel_breakdowns", ts_type = "Array<PartialBreakdownOptions>")]
    pub funnel_breakdowns: Option<Vec<Value>>,
    /// Transitions at these levels.
    #[napi(ts_type = "Array<'event' | 'touchpoint' | 'phase'> | null")]
    pub transitions: Option<Value>,
    /// Top paths: the level names are taken at (default `'event'`), the number of names a
    /// path is cut to (`k`, default 8), how many paths to list (`top`, default 20), the
    /// separator of a path's text (default `>`).
    #[napi(ts_type = "{ level?: 'event' | 'touchpoint' | 'phase', k?: number, top?: number, separator?: string } | null")]
    pub paths: Option<Value>,
    /// Emotion (`min_count`: fewer ratings is "not enough data", default 30).
    #[napi(ts_type = "{ min_count?: number } | null")]
    pub emotion: Option<Value>,
    /// Emotion per persona.
    #[napi(js_name = "emotion_by_persona", ts_type = "{ min_count?: number } | null")]
    pub emotion_by_persona: Option<Value>,
    /// Gray areas (`emotion_window`: events before and after a change whose ratings are
    /// compared, default 3).
    #[napi(js_name = "gray_areas", ts_type = "{ emotion_window?: number } | null")]
    pub gray_areas: Option<Value>,
    /// Conformance.
    pub conformance: Option<bool>,
    /// Key moments: the outcome (default reaching the map's last phase) and the smallest
    /// group (default 30).
    #[napi(js_name = "key_moments", ts_type = "{ outcome?: { touchpoint: string } | { phase: string } | null, min_count?: number } | null")]
    pub key_moments: Option<Value>,
    /// The hypothesis report, with its thresholds.
    #[napi(ts_type = "PartialHypothesisOptions | null")]
    pub hypotheses: Option<Value>,
    /// The stitch summary (meaningful when every part holds whole profiles).
    pub stitch: Option<bool>,
    /// How the funnels' times to convert and the gray areas' gaps are kept: `'exact'`
    /// (every value, the default) or a mergeable quantile sketch whose medians are within
    /// `relative_accuracy` (0.0001 to 0.1, default 0.01) of the exact ones, for small states
    /// over very large data.
    #[napi(ts_type = "'exact' | { sketch: { relative_accuracy?: number } }")]
    pub quantiles: Option<Value>,
}

/// A funnel of a partial state, in the core's form: `steps` is required, each step a list of
/// names (any of which counts).
#[napi(object, js_name = "PartialFunnelOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsPartialFunnelOptions {
    /// The steps, in order (at least one, at most 64), each a list of names.
    pub steps: Vec<Vec<String>>,
    /// What the names are matched against (default raw event names).
    #[napi(js_name = "match_on", ts_type = "'event' | 'touchpoint' | 'phase'")]
    pub match_on: Option<String>,
    /// The conversion window from the step-1 event, inclusive, in microseconds (default one
    /// week); `null` for none.
    #[napi(js_name = "window_us", ts_type = "number | null")]
    pub window_us: Option<f64>,
    /// The evaluation time in microseconds (default the last `ts` of the whole data: give it
    /// to keep the states small).
    #[napi(js_name = "now_us", ts_type = "number | null")]
    pub now_us: Option<f64>,
    /// No other step event between matched steps (default false).
    #[napi(js_name = "strict_order")]
    pub strict_order: Option<bool>,
    /// Events that remove a journey when they fall between two matched steps of its chain.
    #[napi(js_name = "exclusion_steps")]
    pub exclusion_steps: Option<Vec<Vec<String>>>,
    /// Windows between consecutive steps, in microseconds (`steps.length - 1` of them;
    /// `null` for none).
    #[napi(js_name = "per_step_windows", ts_type = "Array<number | null> | null")]
    pub per_step_windows: Option<Vec<Option<f64>>>,
    /// Time-to-convert histogram edges, ascending, in microseconds.
    #[napi(js_name = "histogram_edges_us", ts_type = "Array<number>")]
    pub histogram_edges_us: Option<Vec<f64>>,
}

/// A funnel broken down by a dimension, as a measure of a partial state.
#[napi(object, js_name = "PartialBreakdownOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsPartialBreakdownOptions {
    /// The funnel.
    #[napi(ts_type = "PartialFunnelOptions")]
    pub funnel: JsPartialFunnelOptions,
    /// The dimension: persona, channel, first touchpoint, an event property or a profile
    /// attribute.
    #[napi(ts_type = "'persona' | 'channel' | 'first_touchpoint' | { property: string } | { attribute: string }")]
    pub by: Value,
}

/// The thresholds of the hypothesis report of a partial state (every field optional; the
/// defaults of `analysis.hypotheses()`).
#[napi(object, js_name = "PartialHypothesisOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsPartialHypothesisOptions {
    /// Fewer ratings at a touchpoint is not enough data.
    #[napi(js_name = "emotion_min_ratings")]
    pub emotion_min_ratings: Option<f64>,
    /// The largest |measured − planned| emotion that confirms the plan.
    #[napi(js_name = "emotion_tolerance")]
    pub emotion_tolerance: Option<f64>,
    /// The outcome key moments change (default reaching the map's last phase).
    #[napi(js_name = "key_moment_outcome", ts_type = "{ touchpoint: string } | { phase: string } | null")]
    pub key_moment_outcome: Option<Value>,
    /// Both rating groups at a touchpoint need at least this many journeys.
    #[napi(js_name = "key_moment_min_count")]
    pub key_moment_min_count: Option<f64>,
    /// The smallest |difference| in outcome rate that makes a key moment.
    #[napi(js_name = "key_moment_min_difference")]
    pub key_moment_min_difference: Option<f64>,
    /// Fewer events at a touchpoint is not enough data (channels, owner).
    #[napi(js_name = "min_events")]
    pub min_events: Option<f64>,
    /// The largest share of a touchpoint's events on unplanned channels that confirms the plan.
    #[napi(js_name = "channel_max_unplanned_share")]
    pub channel_max_unplanned_share: Option<f64>,
    /// The largest share of a touchpoint's events handled by another department that confirms the plan.
    #[napi(js_name = "owner_max_other_share")]
    pub owner_max_other_share: Option<f64>,
    /// Fewer phase steps (or entries into a phase) is not enough data.
    #[napi(js_name = "phase_min_steps")]
    pub phase_min_steps: Option<f64>,
    /// The largest share of steps that go back to an earlier phase that confirms the order.
    #[napi(js_name = "phase_max_regression_rate")]
    pub phase_max_regression_rate: Option<f64>,
    /// The largest share of steps that skip a phase that confirms the order.
    #[napi(js_name = "phase_max_skip_rate")]
    pub phase_max_skip_rate: Option<f64>,
    /// The largest share of entries into a phase not from the previous phase that confirms it.
    #[napi(js_name = "phase_max_unplanned_entries")]
    pub phase_max_unplanned_entries: Option<f64>,
}

/// The finished measures of a partial state (or of `analysis.results`, in one pass): each
/// the same object the single measure of `Analysis` returns, `null` (or an empty list) when
/// not asked for.
#[napi(object, js_name = "PartialResults", object_from_js = false, object_to_js = false)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsPartialResults {
    /// Phase reach.
    #[napi(ts_type = "ReachResult | null")]
    pub reach: Value,
    /// Phase reach per persona.
    #[napi(js_name = "reach_by_persona", ts_type = "ReachByPersona | null")]
    pub reach_by_persona: Value,
    /// The funnels, in the order of the options.
    #[napi(ts_type = "Array<FunnelResult>")]
    pub funnels: Value,
    /// The funnel breakdowns, in the order of the options.
    #[napi(js_name = "funnel_breakdowns", ts_type = "Array<FunnelBreakdown>")]
    pub funnel_breakdowns: Value,
    /// Transitions.
    #[napi(ts_type = "TransitionsResult | null")]
    pub transitions: Value,
    /// Top paths.
    #[napi(ts_type = "PathsResult | null")]
    pub paths: Value,
    /// Emotion.
    #[napi(ts_type = "EmotionReport | null")]
    pub emotion: Value,
    /// Emotion per persona.
    #[napi(js_name = "emotion_by_persona", ts_type = "EmotionByPersona | null")]
    pub emotion_by_persona: Value,
    /// Gray areas.
    #[napi(js_name = "gray_areas", ts_type = "GrayAreasResult | null")]
    pub gray_areas: Value,
    /// Conformance.
    #[napi(ts_type = "ConformanceResult | null")]
    pub conformance: Value,
    /// Key moments.
    #[napi(js_name = "key_moments", ts_type = "KeyMomentsResult | null")]
    pub key_moments: Value,
    /// The hypothesis report.
    #[napi(ts_type = "HypothesisReport | null")]
    pub hypotheses: Value,
    /// The stitch summary.
    #[napi(ts_type = "StitchResult | null")]
    pub stitch: Value,
    /// `null` when the medians and percentiles are exact; with a quantile sketch, the
    /// relative error of their estimates (every count stays exact).
    #[napi(js_name = "relative_accuracy", ts_type = "number | null")]
    pub relative_accuracy: Value,
}

/// The measures from a plain object (`E_PARSE` naming the field).
pub(crate) fn options(value: Option<Unknown<'_>>) -> std::result::Result<PartialOptions, Error> {
    read_options::<PartialOptions>("options", value)
}

/// The results as JavaScript gets them: the core's JSON, `quantiles` replaced by
/// `relative_accuracy` (`null` when exact).
pub(crate) fn results(r: &Results) -> Json {
    let mut value = serde_json::to_value(r).unwrap_or(Value::Null);
    if let Value::Object(fields) = &mut value {
        fields.remove("quantiles");
        fields.insert("relative_accuracy".into(), r.quantiles.relative_accuracy().into());
    }
    Json(value)
}

/// A partial state of some measures over part of the journeys (whole journeys: every event
/// of a profile in the same part). Compute one per part with `analysis.partials(options)`,
/// ship it as bytes (`toBytes`, `Partials.fromBytes`), `merge` them in any order and
/// grouping, then `finish`: the results equal `analysis.results(options)` over all the data.
///
/// Errors are `E_PARSE` with `path`: `partial...` for bytes or states that do not fit
/// (e.g. `partial.header.options` when merging states of other measures).
#[napi(js_name = "Partials")]
pub struct JsPartials {
    /// Shared with finishing tasks on the thread pool; `merge` copies it only while one
    /// runs.
    inner: RefCell<Arc<Partials>>,
}

impl JsPartials {
    /// Wraps a core state.
    pub(crate) fn new(p: Partials) -> Self {
        JsPartials { inner: RefCell::new(Arc::new(p)) }
    }
}

#[napi]
impl JsPartials {
    /// A state read from the bytes `toBytes` wrote (a versioned format: magic, version,
    /// length, checksum, JSON payload). Runs on the calling thread.
    ///
    /// @throws {Error} `E_PARSE` (`path` `partial...`) for bytes that are not a partial
    /// state, of another format version, truncated or corrupt, the message saying which;
    /// `E_PARSE` (`path` `bytes`) for a value that is not a Buffer or Uint8Array.
    #[napi(factory, catch_unwind)]
    pub fn from_bytes(env: &Env, #[napi(ts_arg_type = "Buffer | Uint8Array")] bytes: Either<Uint8Array, Unknown<'_>>) -> Result<Self> {
        guard(env, || match bytes {
            Either::A(bytes) => Partials::from_bytes(&bytes),
            Either::B(other) => {
                let got = other.get_type().map(|t| format!("{t:?}").to_lowercase()).unwrap_or_else(|_| "another value".into());
                Err(Error::parse("bytes", format!("expected a Buffer or Uint8Array, got {got}")))
            }
        })
        .map(Self::new)
    }

    /// The state as bytes, for another process or machine (`Partials.fromBytes` reads
    /// them). Runs on the calling thread.
    #[napi(catch_unwind)]
    pub fn to_bytes(&self, env: &Env) -> Result<Buffer> {
        guard(env, || Ok(self.inner.borrow().to_bytes()?.into()))
    }

    /// Adds the state of other journeys (disjoint from these) to this one. Runs on the
    /// calling thread.
    ///
    /// @throws {Error} `E_PARSE` when the states were computed over another map
    /// (`path` `partial.header.map`), with other analysis options (`partial.header.analysis`),
    /// other measures or options (`partial.header.options`, `...options.quantiles`); this
    /// state is then unchanged. `E_PARSE` (`path` `other`) for merging a state with itself.
    #[napi(catch_unwind)]
    pub fn merge(&self, env: &Env, other: &JsPartials) -> Result<()> {
        guard(env, || {
            if std::ptr::eq(self, other) {
                return Err(Error::parse("other", "a state cannot be merged with itself (it would count every journey twice)"));
            }
            let theirs = other.inner.borrow().clone();
            let mut mine = self.inner.borrow_mut();
            Arc::make_mut(&mut mine).merge(&theirs)
        })
    }

    /// The finished measures, on the thread pool (medians of many journeys take a while).
    ///
    /// Rejects with `E_PARSE` (`path` naming the field) for a state that does not fit its
    /// map or options (hand-made bytes).
    #[napi(catch_unwind, ts_return_type = "Promise<PartialResults>")]
    pub fn finish(&self) -> AsyncTask<Job<Json>> {
        let p = self.inner.borrow().clone();
        Job::spawn(move || Ok(results(&p.finish()?)))
    }

    /// The journeys counted so far.
    #[napi(getter, catch_unwind)]
    pub fn journeys(&self) -> f64 {
        self.inner.borrow().journeys() as f64
    }

    /// The events counted so far.
    #[napi(getter, catch_unwind)]
    pub fn events(&self) -> f64 {
        self.inner.borrow().events() as f64
    }
}

#[cfg(test)]
mod tests {
    //! The declarations against the core's serde form: every field of the options and of
    //! the results is declared, none is unknown.

    use std::path::Path;

    use journey_core::analytics::partial::PartialOptions;
    use journey_core::analytics::sample::Sample;
    use journey_core::analytics::{Breakdown, FunnelOptions, QuantileMode};
    use journey_core::MapDocument;

    use super::*;

    fn all() -> PartialOptions {
        let mut o = PartialOptions::all(vec![FunnelOptions::events(&["product_view", "add_to_cart", "order_confirmed"])]);
        o.funnel_breakdowns[0].by = Breakdown::Property("campaign".into());
        o.quantiles = QuantileMode::sketch(0.01);
        o
    }

    #[test]
    fn the_options_declaration_has_every_field_of_the_core() {
        let value = serde_json::to_value(all()).expect("options serialise");
        let declared: JsPartialOptions = serde_json::from_value(value.clone()).expect("every field declared");
        for f in declared.funnel_breakdowns.expect("breakdowns") {
            serde_json::from_value::<JsPartialBreakdownOptions>(f).expect("the breakdown declared");
        }
        serde_json::from_value::<JsPartialHypothesisOptions>(value["hypotheses"].clone()).expect("the thresholds declared");
    }

    #[test]
    fn the_results_declaration_has_every_field_of_the_core() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let doc = MapDocument::load(root.join("examples/maps/shop.json")).expect("the shop map");
        let a = Sample::load(root.join("examples/data")).expect("the example data").analysis(&doc).expect("an analysis");
        for o in [all(), PartialOptions { reach: true, ..Default::default() }] {
            let r = a.results(&o).expect("results");
            let Json(value) = results(&r);
            let declared: JsPartialResults = serde_json::from_value(value).expect("every field declared");
            assert_eq!(declared.relative_accuracy, serde_json::json!(o.quantiles.relative_accuracy()));
        }
    }
}
