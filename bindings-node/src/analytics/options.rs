//! The option objects of the analytics, as JavaScript passes them (camelCase, every field
//! optional unless said), converted into the core's options. Unknown fields and wrong
//! types are `E_PARSE` errors whose `path` names the field (e.g. `funnel.windowUs`).

use journey_core::analytics::{
    AnalysisOptions, Breakdown, EmotionOptions, FunnelOptions, GrayAreasOptions, HypothesisOptions, KeyMomentsOptions, NameLevel, Outcome, PathsOptions,
    ReportOptions, StepLevel,
};
use journey_core::analytics::funnel::{TTC_EDGES_US, WEEK_US};
use journey_core::analytics::mapping::ColumnMapping;
use napi_derive::napi;
use serde::Deserialize;

use crate::identity::JsIdentityRules;

/// How an analysis is set up. Every field is optional.
#[napi(object, js_name = "AnalysisOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsAnalysisOptions {
    /// The map journeys are checked against, by id (default the document's first map; a
    /// tracker's own map for `fromTracker`).
    pub map: Option<String>,
    /// Identity levels and limits used to stitch keys into profiles (default the
    /// tracker's default rules, so the live and the offline view of a customer agree).
    #[napi(ts_type = "IdentityRules")]
    pub identity: Option<JsIdentityRules>,
    /// Apply every identity link, without limits (the benchmark's stitching).
    pub without_limits: Option<bool>,
    /// The event properties kept for breakdowns (default every property met).
    pub properties: Option<Vec<String>>,
    /// Which column holds what, for Arrow and Parquet input whose columns do not have the
    /// default names (`ts`, `seq`, `customer_key` or `key`, `event`, `channel`,
    /// `department`, `csat` / `nps` / `rating`).
    #[napi(ts_type = "ColumnMapping")]
    pub columns: Option<ColumnMapping>,
}

impl JsAnalysisOptions {
    /// The core's options, over `base` (the defaults, or a tracker's).
    pub(crate) fn to_core(&self, base: AnalysisOptions) -> AnalysisOptions {
        let mut o = base;
        if self.map.is_some() {
            o.map = self.map.clone();
        }
        if let Some(rules) = &self.identity {
            o.identity = Some(rules.clone().into_core());
        }
        if self.without_limits == Some(true) {
            o.identity = None;
        }
        if self.properties.is_some() {
            o.properties = self.properties.clone();
        }
        o
    }
}

/// Which column holds what (Arrow and Parquet input). A field left out keeps its default
/// name; a column named here must exist.
#[napi(object, js_name = "ColumnMapping", object_from_js = false, object_to_js = false)]
#[allow(dead_code)] // Only its TypeScript declaration is used: the core's `ColumnMapping` reads it.
pub struct JsColumnMapping {
    /// Event times: integers (µs since the Unix epoch, UTC) or timestamps. Default `ts`.
    pub ts: Option<String>,
    /// Arrival order (integers). Default `seq` if present, else the row position.
    pub seq: Option<String>,
    /// Identity-key columns, in order of preference: a column of `kind:value` strings, or
    /// `{column, kind}` for plain values (`{column: 'email', kind: 'email'}`). Several
    /// columns: each other non-null key of a row links to its first. Default
    /// `customer_key` or `key`.
    #[napi(ts_type = "Array<string | { column: string, kind?: string }>")]
    pub keys: Option<Vec<String>>,
    /// Raw event names. Default `event`.
    pub event: Option<String>,
    /// Channels. Default `channel`.
    pub channel: Option<String>,
    /// Departments. Default `department` if present.
    pub department: Option<String>,
    /// A rating column and its scale. Default `csat`, `nps` or `rating`, the first present.
    #[napi(ts_type = "{ column: string, scale: 'csat' | 'nps' | 'score' | 'label' }")]
    pub rating: Option<String>,
    /// A profile id per row, from a pipeline that stitched already. No default.
    pub profile: Option<String>,
}

/// Names a step: one name, or several (any of them).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Names {
    One(String),
    Any(Vec<String>),
}

impl Names {
    fn into_vec(self) -> Vec<String> {
        match self {
            Names::One(n) => vec![n],
            Names::Any(v) => v,
        }
    }
}

/// How to compute a funnel.
#[napi(object, js_name = "FunnelOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsFunnelOptions {
    /// The steps, in order (at least one, at most 64): each a name, or several names any
    /// of which counts.
    #[napi(ts_type = "Array<string | Array<string>>")]
    #[serde(default)]
    pub steps: Vec<Names>,
    /// What the names are matched against: raw event names (default), touchpoint ids or
    /// phase ids.
    #[napi(ts_type = "'event' | 'touchpoint' | 'phase'")]
    #[serde(rename = "match")]
    pub match_on: Option<String>,
    /// The conversion window from the step-1 event, inclusive, in microseconds (default one
    /// week); `null` for none.
    #[napi(ts_type = "number | null")]
    #[serde(default, deserialize_with = "some")]
    pub window_us: Option<Option<i64>>,
    /// The evaluation time in microseconds (default the data's last `ts`).
    #[napi(ts_type = "number")]
    pub now_us: Option<i64>,
    /// No other step event between matched steps (default false).
    pub strict_order: Option<bool>,
    /// Events that remove a journey when they fall between two matched steps of its chain.
    #[napi(ts_type = "Array<string | Array<string>>")]
    pub exclusion_steps: Option<Vec<Names>>,
    /// Windows between consecutive steps, in microseconds (`steps.length - 1` of them;
    /// `null` for none).
    #[napi(ts_type = "Array<number | null>")]
    pub per_step_windows_us: Option<Vec<Option<i64>>>,
    /// Time-to-convert histogram edges, ascending, in microseconds (default 1 min, 10 min,
    /// 1 h, 6 h, 1 d, 3 d).
    #[napi(ts_type = "Array<number>")]
    pub histogram_edges_us: Option<Vec<i64>>,
}

/// Keeps `null` apart from a missing field: `Some(None)` is an explicit `null`.
fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl JsFunnelOptions {
    pub(crate) fn to_core(&self) -> Result<FunnelOptions, journey_core::Error> {
        if self.steps.is_empty() {
            return Err(journey_core::Error::parse("steps", "a funnel needs its steps (at least one)"));
        }
        let mut o = FunnelOptions::events::<&str>(&[]);
        o.steps = self.steps.iter().cloned().map(Names::into_vec).collect();
        o.match_on = match self.match_on.as_deref() {
            None | Some("event") => StepLevel::Event,
            Some("touchpoint") => StepLevel::Touchpoint,
            Some("phase") => StepLevel::Phase,
            Some(other) => return Err(journey_core::Error::parse("match", format!("unknown level {other:?}: expected 'event', 'touchpoint' or 'phase'"))),
        };
        o.window_us = self.window_us.unwrap_or(Some(WEEK_US));
        o.now_us = self.now_us;
        o.strict_order = self.strict_order.unwrap_or(false);
        o.exclusion_steps = self.exclusion_steps.clone().unwrap_or_default().into_iter().map(Names::into_vec).collect();
        o.per_step_windows = self.per_step_windows_us.clone();
        o.histogram_edges_us = self.histogram_edges_us.clone().unwrap_or_else(|| TTC_EDGES_US.to_vec());
        Ok(o)
    }
}

/// A funnel broken down by a dimension.
#[napi(object, js_name = "FunnelBreakdownOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsFunnelBreakdownOptions {
    /// The funnel. Required.
    #[napi(ts_type = "FunnelOptions")]
    pub funnel: Option<JsFunnelOptions>,
    /// What to break it down by: the journey's persona, the channel of the step-1 event,
    /// the touchpoint of the journey's first on-map event, an event property of the step-1
    /// event, or a profile attribute. Required.
    #[napi(ts_type = "'persona' | 'channel' | 'first_touchpoint' | { property: string } | { attribute: string }")]
    pub by: Option<By>,
}

/// The breakdown dimension as JavaScript writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum By {
    Persona,
    Channel,
    FirstTouchpoint,
    Property(String),
    Attribute(String),
}

impl JsFunnelBreakdownOptions {
    pub(crate) fn to_core(&self) -> Result<(FunnelOptions, Breakdown), journey_core::Error> {
        let funnel = self.funnel.as_ref().ok_or_else(|| journey_core::Error::parse("funnel", "a breakdown needs its funnel"))?;
        let funnel = funnel.to_core().map_err(|e| within("funnel", e))?;
        let by = match self.by.clone().ok_or_else(|| journey_core::Error::parse("by", "a breakdown needs `by`"))? {
            By::Persona => Breakdown::Persona,
            By::Channel => Breakdown::Channel,
            By::FirstTouchpoint => Breakdown::FirstTouchpoint,
            By::Property(p) => Breakdown::Property(p),
            By::Attribute(a) => Breakdown::Attribute(a),
        };
        Ok((funnel, by))
    }
}

/// A parse error's path inside `parent`.
pub(crate) fn within(parent: &str, e: journey_core::Error) -> journey_core::Error {
    match e {
        journey_core::Error::Parse { path, message, file } => {
            journey_core::Error::Parse { path: crate::convert::join(parent, &path), message, file }
        }
        other => other,
    }
}

/// The levels transitions are counted at.
#[napi(object, js_name = "TransitionsOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsTransitionsOptions {
    /// Raw event names, touchpoint ids, phase ids (default all three).
    #[napi(ts_type = "Array<'event' | 'touchpoint' | 'phase'>")]
    pub levels: Option<Vec<Level>>,
}

/// A level as JavaScript writes it.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Event,
    Touchpoint,
    Phase,
}

impl From<Level> for NameLevel {
    fn from(l: Level) -> Self {
        match l {
            Level::Event => NameLevel::Event,
            Level::Touchpoint => NameLevel::Touchpoint,
            Level::Phase => NameLevel::Phase,
        }
    }
}

impl JsTransitionsOptions {
    pub(crate) fn to_core(&self) -> Vec<NameLevel> {
        match &self.levels {
            Some(levels) => levels.iter().map(|&l| l.into()).collect(),
            None => vec![NameLevel::Event, NameLevel::Touchpoint, NameLevel::Phase],
        }
    }
}

/// How to compute top paths.
#[napi(object, js_name = "PathsOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsPathsOptions {
    /// The level names are taken at (default `event`).
    #[napi(ts_type = "'event' | 'touchpoint' | 'phase'")]
    pub level: Option<Level>,
    /// The number of names a path is cut to (default 8).
    #[napi(ts_type = "number")]
    pub k: Option<usize>,
    /// How many paths to list (default 20).
    #[napi(ts_type = "number")]
    pub top: Option<usize>,
    /// The separator of a path's text (default `>`).
    pub separator: Option<String>,
}

impl JsPathsOptions {
    pub(crate) fn to_core(&self) -> PathsOptions {
        let mut o = PathsOptions::default();
        if let Some(l) = self.level {
            o.level = l.into();
        }
        o.k = self.k.unwrap_or(o.k);
        o.top = self.top.unwrap_or(o.top);
        if let Some(s) = &self.separator {
            o.separator = s.clone();
        }
        o
    }
}

/// How to compute emotion.
#[napi(object, js_name = "EmotionOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsEmotionOptions {
    /// Fewer ratings than this is "not enough data" (default 30).
    #[napi(ts_type = "number")]
    pub min_count: Option<u64>,
}

impl JsEmotionOptions {
    pub(crate) fn to_core(&self) -> EmotionOptions {
        let mut o = EmotionOptions::default();
        o.min_count = self.min_count.unwrap_or(o.min_count);
        o
    }
}

/// How to compute gray areas.
#[napi(object, js_name = "GrayAreasOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsGrayAreasOptions {
    /// Events before and after a change whose ratings are compared (default 3, at least 1).
    #[napi(ts_type = "number")]
    pub emotion_window: Option<usize>,
}

impl JsGrayAreasOptions {
    pub(crate) fn to_core(&self) -> Result<GrayAreasOptions, journey_core::Error> {
        match self.emotion_window {
            Some(0) => Err(journey_core::Error::parse("emotionWindow", "the emotion window is at least 1 event")),
            Some(w) => Ok(GrayAreasOptions::with_window(w)),
            None => Ok(GrayAreasOptions::default()),
        }
    }
}

/// The outcome key moments are measured against: a touchpoint or a phase reached.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum OutcomeJs {
    Touchpoint(String),
    Phase(String),
}

impl From<OutcomeJs> for Outcome {
    fn from(o: OutcomeJs) -> Self {
        match o {
            OutcomeJs::Touchpoint(t) => Outcome::Touchpoint(t),
            OutcomeJs::Phase(p) => Outcome::Phase(p),
        }
    }
}

/// How to compute key moments.
#[napi(object, js_name = "KeyMomentsOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsKeyMomentsOptions {
    /// The outcome (default reaching the map's last phase).
    #[napi(ts_type = "{ touchpoint: string } | { phase: string }")]
    pub outcome: Option<OutcomeJs>,
    /// Both rating groups need at least this many journeys for a touchpoint to be ranked
    /// (default 30).
    #[napi(ts_type = "number")]
    pub min_count: Option<u64>,
}

impl JsKeyMomentsOptions {
    pub(crate) fn to_core(&self) -> KeyMomentsOptions {
        let mut o = KeyMomentsOptions::default();
        o.outcome = self.outcome.clone().map(Into::into);
        o.min_count = self.min_count.unwrap_or(o.min_count);
        o
    }
}

/// The thresholds of the hypothesis report: when the data confirms or contradicts each
/// assumption of the map. Every field is optional.
#[napi(object, js_name = "HypothesisOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsHypothesisOptions {
    /// Fewer ratings at a touchpoint is not enough data (default 30).
    #[napi(ts_type = "number")]
    pub emotion_min_ratings: Option<u64>,
    /// The largest |measured - planned| emotion that confirms the plan (default 0.25).
    pub emotion_tolerance: Option<f64>,
    /// The outcome key moments change (default reaching the map's last phase).
    #[napi(ts_type = "{ touchpoint: string } | { phase: string }")]
    pub key_moment_outcome: Option<OutcomeJs>,
    /// Both rating groups at a touchpoint need at least this many journeys (default 30).
    #[napi(ts_type = "number")]
    pub key_moment_min_count: Option<u64>,
    /// The smallest |difference| in outcome rate that makes a key moment (default 0.2).
    pub key_moment_min_difference: Option<f64>,
    /// Fewer events at a touchpoint is not enough data (default 30).
    #[napi(ts_type = "number")]
    pub min_events: Option<u64>,
    /// The largest share of a touchpoint's events on unplanned channels that confirms the
    /// plan (default 0.05).
    pub channel_max_unplanned_share: Option<f64>,
    /// The largest share of a touchpoint's events handled by another department that
    /// confirms the plan (default 0.05).
    pub owner_max_other_share: Option<f64>,
    /// Fewer phase steps is not enough data (default 30).
    #[napi(ts_type = "number")]
    pub phase_min_steps: Option<u64>,
    /// The largest share of steps back to an earlier phase that confirms the order
    /// (default 0.1).
    pub phase_max_regression_rate: Option<f64>,
    /// The largest share of steps that skip a phase that confirms the order (default 0.1).
    pub phase_max_skip_rate: Option<f64>,
    /// The largest share of entries into a phase not from the previous one that confirms
    /// it (default 0.25).
    pub phase_max_unplanned_entries: Option<f64>,
}

impl JsHypothesisOptions {
    pub(crate) fn to_core(&self) -> HypothesisOptions {
        let d = HypothesisOptions::default();
        HypothesisOptions {
            emotion_min_ratings: self.emotion_min_ratings.unwrap_or(d.emotion_min_ratings),
            emotion_tolerance: self.emotion_tolerance.unwrap_or(d.emotion_tolerance),
            key_moment_outcome: self.key_moment_outcome.clone().map(Into::into).or(d.key_moment_outcome),
            key_moment_min_count: self.key_moment_min_count.unwrap_or(d.key_moment_min_count),
            key_moment_min_difference: self.key_moment_min_difference.unwrap_or(d.key_moment_min_difference),
            min_events: self.min_events.unwrap_or(d.min_events),
            channel_max_unplanned_share: self.channel_max_unplanned_share.unwrap_or(d.channel_max_unplanned_share),
            owner_max_other_share: self.owner_max_other_share.unwrap_or(d.owner_max_other_share),
            phase_min_steps: self.phase_min_steps.unwrap_or(d.phase_min_steps),
            phase_max_regression_rate: self.phase_max_regression_rate.unwrap_or(d.phase_max_regression_rate),
            phase_max_skip_rate: self.phase_max_skip_rate.unwrap_or(d.phase_max_skip_rate),
            phase_max_unplanned_entries: self.phase_max_unplanned_entries.unwrap_or(d.phase_max_unplanned_entries),
        }
    }
}

/// What the short report shows.
#[napi(object, js_name = "ReportOptions", object_from_js = false, object_to_js = false)]
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JsReportOptions {
    /// The funnel (default the map's phases in order, 30-day window).
    #[napi(ts_type = "FunnelOptions")]
    pub funnel: Option<JsFunnelOptions>,
    /// Gray-area options.
    #[napi(ts_type = "GrayAreasOptions")]
    pub gray_areas: Option<JsGrayAreasOptions>,
    /// How many gray areas to show (default 5).
    #[napi(ts_type = "number")]
    pub gray_areas_top: Option<usize>,
    /// Changes with fewer occurrences are not shown (default 30).
    #[napi(ts_type = "number")]
    pub gray_areas_min_occurrences: Option<u64>,
    /// The hypothesis report's thresholds.
    #[napi(ts_type = "HypothesisOptions")]
    pub hypotheses: Option<JsHypothesisOptions>,
}

impl JsReportOptions {
    pub(crate) fn to_core(&self) -> Result<ReportOptions, journey_core::Error> {
        let d = ReportOptions::default();
        Ok(ReportOptions {
            funnel: self.funnel.as_ref().map(|f| f.to_core().map_err(|e| within("funnel", e))).transpose()?,
            gray_areas: self.gray_areas.as_ref().map(|g| g.to_core().map_err(|e| within("grayAreas", e))).transpose()?.unwrap_or(d.gray_areas),
            gray_areas_top: self.gray_areas_top.unwrap_or(d.gray_areas_top),
            gray_areas_min_occurrences: self.gray_areas_min_occurrences.unwrap_or(d.gray_areas_min_occurrences),
            hypotheses: self.hypotheses.as_ref().map(|h| h.to_core()).unwrap_or(d.hypotheses),
        })
    }
}
