//! Mergeable measures: a partial state per part of the data, merged, then finished into the
//! same result objects as the single-pass methods of [`Analysis`].
//!
//! This is the core half of running the analytics on a cluster (Apache Spark): the cluster
//! splits the events into partitions of **whole journeys** (every event of a profile in one
//! partition), journey-core computes a partial state per partition
//! ([`Analysis::partials`]), the states travel as bytes ([`Partials::to_bytes`],
//! [`Partials::from_bytes`]), are merged in any order and grouping ([`Partials::merge`]), and
//! the merged state is finished ([`Partials::finish`]) into [`Results`]: each measure's usual
//! result object, `==` to what [`Analysis::results`] (one pass over all the data) gives.
//!
//! ```
//! use journey_core::analytics::{Analysis, AnalysisOptions, FunnelOptions};
//! use journey_core::analytics::partial::{PartialOptions, Partials};
//! use journey_core::{Event, IdentityKey, MapBuilder, Preset};
//!
//! let doc = MapBuilder::new("Shop").persona("b", "Buyer").map("m", "Buying", "b").preset(Preset::Funnel)
//!     .touchpoint("pdp", "Product page", "interest", |t| t.events(["product_view"]))
//!     .touchpoint("cart", "Cart", "action", |t| t.events(["add_to_cart"]))
//!     .build_unchecked();
//! let k = |s: &str| IdentityKey::parse(s).unwrap();
//! let a = vec![Event::new(1_000, k("session:a"), "product_view", "web"), Event::new(2_000, k("session:a"), "add_to_cart", "web")];
//! let b = vec![Event::new(1_500, k("session:b"), "product_view", "web")];
//! let options = PartialOptions { reach: true, funnels: vec![FunnelOptions::events(&["product_view", "add_to_cart"])], ..Default::default() };
//!
//! // one partial state per partition (here: per process), shipped as bytes
//! let part = |events: &[Event]| Analysis::from_events(&doc, events, AnalysisOptions::default())?.partials(&options)?.to_bytes();
//! let (bytes_a, bytes_b) = (part(&a)?, part(&b)?);
//!
//! let mut merged = Partials::from_bytes(&bytes_a)?;
//! merged.merge(&Partials::from_bytes(&bytes_b)?)?;
//! let results = merged.finish()?;
//!
//! let all: Vec<Event> = a.iter().chain(&b).cloned().collect();
//! let single = Analysis::from_events(&doc, &all, AnalysisOptions::default())?.results(&options)?;
//! assert_eq!(results, single);
//! assert_eq!(results.funnels[0].steps[1].journeys, 1);
//! # Ok::<(), journey_core::Error>(())
//! ```
//!
//! # The measures and their states
//!
//! Every measure's state is exact by default: sums and counts add; the medians and
//! percentiles keep what they need (times to convert and handoff gaps as values, fitness as a
//! `(conforming, events) -> journeys` map, rating distributions as `value -> journeys`); top
//! paths keep every distinct path (the top of the whole data is chosen at the finish). States
//! that name things (event names, channels, departments, paths) carry their own dictionary
//! and are re-keyed on merge, so partitions need not share ids. The single-pass methods are
//! the same code: `finish(state over all journeys)`.
//!
//! | measure ([`PartialOptions`] field) | state |
//! |---|---|
//! | `reach`, `reach_by_persona` | [`ReachCounts`] (per persona group) |
//! | `funnels`, `funnel_breakdowns` | [`FunnelCounts`], [`BreakdownCounts`] |
//! | `transitions` | [`TransitionCounts`] |
//! | `paths` | [`PathCounts`] |
//! | `emotion`, `emotion_by_persona` | [`EmotionCounts`] (per persona group) |
//! | `gray_areas` | [`GrayAreaCounts`] |
//! | `conformance` | [`ConformanceCounts`] |
//! | `key_moments` | [`KeyMomentCounts`] |
//! | `hypotheses` | [`HypothesisCounts`] |
//! | `stitch` | [`StitchCounts`] |
//! | `quantiles` (how the two above keep times and gaps) | `ttcs` and `gaps`: [`Samples`] (every value, or a [`Sketch`]) |
//!
//! # Quantile sketches for very large data
//!
//! Times to convert and handoff gaps grow the states with the number of converted journeys
//! and handoffs. With [`PartialOptions::quantiles`] set to a sketch (JSON
//! `{"quantiles": {"sketch": {"relative_accuracy": 0.01}}}`, see [`super::quantiles`]), the
//! funnel states (breakdown groups included) and the gray-area states keep a mergeable
//! quantile sketch instead, of at most about `ln(max/min) / ln γ` buckets (`ln γ ≈ 2α`:
//! about 1,400 buckets at 1 % for any times from 1 µs to 11 days), whatever the number of
//! values. Then:
//!
//! * the time-to-convert medians and p90s and the gray areas' median gaps are estimates,
//!   each within the relative accuracy `α` of the exact value (p90, an integer, within
//!   `α·x + 0.5`); the results say so ([`Results::quantiles`],
//!   `time_to_convert.relative_accuracy`, `gray_areas.median_gap_relative_accuracy`);
//! * every count, the funnel's time-to-convert histogram (counted per bucket as it goes, its
//!   edges being in the options) and every other field stay exact;
//! * merging is still exact and order-free: any split merged in any order gives the same
//!   results, bit for bit ([`Analysis::results`] with a sketch finishes the state of one
//!   part, so it too gives those results);
//! * states kept exactly and states kept in sketches do not merge (the options differ).
//!
//! Use it when states must stay small (millions of converted journeys or handoffs per state)
//! and medians within 1 % do; keep the default `"exact"` otherwise.
//!
//! Not built: sketches for the other measures (fitness and rating distributions are already
//! bounded by their number of distinct values; top paths keep every distinct path); the
//! journey table ([`Analysis::journey_table`]) is one row per journey,
//! not an aggregate: concatenate the partitions' tables (row order then follows the
//! partitions).
//!
//! # What needs the whole data
//!
//! * **`now` of funnels** (in-progress journeys): the options' `now_us`, else the last `ts`
//!   of the *whole* data. Each state carries its data's last `ts` (merged by `max`); while
//!   `now` is unknown, a funnel state keeps the deadline (`t0 + W`) of every journey stopped
//!   below the last step and decides at the finish. Giving `now_us` in the options (on Spark:
//!   `max(ts)` over all events, one cheap aggregate) keeps the states small.
//! * **Personas**: explicit assignments and attributes are per key; give every partition the
//!   same (whole) assignments and attributes (on Spark: broadcast them). The states carry
//!   how personas were set up and merging parts set up differently is refused.
//! * **Stitching**: each partition must hold whole profiles. On Spark the profiles are
//!   computed by the cluster and handed over with the events ([`ProfiledEvent`],
//!   [`Analysis::from_profiled`]); the `stitch` state then only counts profiles (one key
//!   each). When a partition stitches its own events, it must hold whole connected
//!   components, links included.
//! * **`seq`**: the arrival order must be global (the position in the whole input), so that
//!   ties in time break the same way as in one pass.
//!
//! # The byte format (version 1)
//!
//! | bytes | content |
//! |---|---|
//! | 0..8 | magic `JCPARTS\n` |
//! | 8..10 | format version, little-endian `u16` (1) |
//! | 10..12 | flags, little-endian `u16`, must be 0 |
//! | 12..20 | payload length, little-endian `u64` |
//! | 20..28 | the first 8 bytes of the payload's SHA-256 |
//! | 28.. | payload: UTF-8 JSON `{"header": {map, analysis options, measure options}, "state": {...}}` |
//!
//! The JSON payload is documented by the state types' fields (serde); numbers are exact
//! (integers, and floats written to round-trip). Quantile sketches did not change the
//! format: with the default `"quantiles": "exact"` the payload is byte for byte what it was
//! (the option is left out of the header, times and gaps are plain arrays of integers), so
//! states written before still read. With a sketch, the header's options carry
//! `"quantiles": {"sketch": {"relative_accuracy": 0.01}}`, each `ttcs` and `gaps` is a sketch
//! object `{"relative_accuracy": 0.01, "zeros": 0, "buckets": {"812": 3}}` (bucket index ->
//! values, see [`super::quantiles`]), and each funnel state has a `ttc_histogram` (journeys
//! per histogram bucket). A reader refuses other magic bytes, another
//! version, unknown flags, a length or checksum that does not match, and a payload that does
//! not parse, each with an error naming what is wrong ([`crate::Error::Parse`] at path
//! `partial...`); merging states computed over another map, other analysis options or other
//! measure options is refused likewise.

pub(crate) mod merge;
mod profiled;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::map::JourneyMap;
use crate::resolve::Resolver;
use crate::time::Micros;

pub use super::breakdown::BreakdownCounts;
pub use super::conformance::ConformanceCounts;
pub use super::emotion::EmotionCounts;
pub use super::funnel::FunnelCounts;
pub use super::gray_areas::GrayAreaCounts;
pub use super::hypothesis::HypothesisCounts;
pub use super::key_moments::KeyMomentCounts;
pub use super::paths::PathCounts;
pub use super::persona::PersonaGroups;
pub use super::reach::ReachCounts;
pub use super::transitions::TransitionCounts;
pub use profiled::ProfiledEvent;
pub use super::quantiles::{QuantileMode, Samples, Sketch, SketchOptions};

use super::breakdown::{Breakdown, FunnelBreakdown};
use super::conformance::{Conformance, conformance_counts};
use super::emotion::{EmotionOptions, EmotionReport, emotion_counts};
use super::funnel::{Funnel, FunnelOptions, funnel_counts};
use super::gray_areas::{GrayAreas, GrayAreasOptions, gray_area_counts};
use super::hypothesis::{HypothesisOptions, HypothesisReport, hypothesis_counts};
use super::key_moments::{KeyMoments, KeyMomentsOptions, key_moment_counts};
use super::paths::{Paths, PathsOptions, path_counts};
use super::persona::{self, EmotionByPersona, PersonaOptions, ReachByPersona};
use super::reach::{Reach, reach_counts};
use super::session::Analysis;
use super::stitch::{StitchOptionsEcho, StitchResult};
use super::transitions::{NameLevel, Transitions, transition_counts};
use merge::bad;

/// The magic bytes that start a serialised partial state.
pub const MAGIC: [u8; 8] = *b"JCPARTS\n";
/// The format version written (and the only one read).
pub const FORMAT_VERSION: u16 = 1;
const HEADER_LEN: usize = 28;

/// A funnel broken down by a dimension, as a measure of [`PartialOptions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownSpec {
    /// The funnel.
    pub funnel: FunnelOptions,
    /// The dimension.
    pub by: Breakdown,
}

/// The measures a partial state holds, with their options (carried in the state: states of
/// different options do not merge). Everything is off by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartialOptions {
    /// Phase reach.
    pub reach: bool,
    /// Phase reach per persona.
    pub reach_by_persona: bool,
    /// Funnels, one result each, in order.
    pub funnels: Vec<FunnelOptions>,
    /// Funnel breakdowns, one result each, in order.
    pub funnel_breakdowns: Vec<BreakdownSpec>,
    /// Transitions at these levels.
    pub transitions: Option<Vec<NameLevel>>,
    /// Top paths.
    pub paths: Option<PathsOptions>,
    /// Emotion.
    pub emotion: Option<EmotionOptions>,
    /// Emotion per persona.
    pub emotion_by_persona: Option<EmotionOptions>,
    /// Gray areas.
    pub gray_areas: Option<GrayAreasOptions>,
    /// Conformance.
    pub conformance: bool,
    /// Key moments.
    pub key_moments: Option<KeyMomentsOptions>,
    /// The hypothesis report.
    pub hypotheses: Option<HypothesisOptions>,
    /// The stitch summary (meaningful when every part holds whole profiles).
    pub stitch: bool,
    /// How the funnels' times to convert and the gray areas' gaps are kept: `"exact"` (every
    /// value, the default) or a sketch (see the module docs). Left out of the JSON when exact.
    #[serde(skip_serializing_if = "QuantileMode::is_exact")]
    pub quantiles: QuantileMode,
}

impl PartialOptions {
    /// Every measure with its default options, and these funnels (also broken down by
    /// persona and by channel).
    pub fn all(funnels: Vec<FunnelOptions>) -> Self {
        let funnel_breakdowns = funnels
            .iter()
            .flat_map(|f| [Breakdown::Persona, Breakdown::Channel, Breakdown::FirstTouchpoint].map(|by| BreakdownSpec { funnel: f.clone(), by }))
            .collect();
        PartialOptions {
            reach: true,
            reach_by_persona: true,
            funnels,
            funnel_breakdowns,
            transitions: Some(vec![NameLevel::Event, NameLevel::Touchpoint, NameLevel::Phase]),
            paths: Some(PathsOptions::default()),
            emotion: Some(EmotionOptions::default()),
            emotion_by_persona: Some(EmotionOptions::default()),
            gray_areas: Some(GrayAreasOptions::default()),
            conformance: true,
            key_moments: Some(KeyMomentsOptions::default()),
            hypotheses: Some(HypothesisOptions::default()),
            stitch: true,
            quantiles: QuantileMode::Exact,
        }
    }

    fn wants_personas(&self) -> bool {
        self.reach_by_persona || self.emotion_by_persona.is_some() || self.funnel_breakdowns.iter().any(|b| b.by == Breakdown::Persona)
    }
}

/// The partial state of the stitch summary: counts of keys and profiles of whole profiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StitchCounts {
    /// The identity limits applied (kind -> most keys per profile), `null` for none.
    pub identity_limits: Option<std::collections::BTreeMap<String, usize>>,
    /// Distinct keys.
    pub keys: usize,
    /// Profiles.
    pub profiles: usize,
    /// Profiles with events.
    pub journeys: usize,
    /// Profiles whose keys appear only in links.
    pub profiles_without_events: usize,
    /// Keys in the largest profile.
    pub largest_profile_keys: usize,
    /// Refused links (when limits apply).
    pub conflicts: Option<usize>,
}

impl StitchCounts {
    fn of(s: StitchResult) -> Self {
        StitchCounts {
            identity_limits: s.options.identity_limits,
            keys: s.keys,
            profiles: s.profiles,
            journeys: s.journeys,
            profiles_without_events: s.profiles_without_events,
            largest_profile_keys: s.largest_profile_keys,
            conflicts: s.conflicts,
        }
    }

    /// Adds the counts of other whole profiles.
    pub fn merge(&mut self, o: &StitchCounts) -> Result<()> {
        if self.identity_limits != o.identity_limits || self.conflicts.is_some() != o.conflicts.is_some() {
            return Err(bad("stitch.identity_limits", "cannot merge stitches made with different identity limits"));
        }
        self.keys += o.keys;
        self.profiles += o.profiles;
        self.journeys += o.journeys;
        self.profiles_without_events += o.profiles_without_events;
        self.largest_profile_keys = self.largest_profile_keys.max(o.largest_profile_keys);
        self.conflicts = self.conflicts.zip(o.conflicts).map(|(a, b)| a + b);
        Ok(())
    }

    /// The published summary.
    pub fn finish(&self) -> StitchResult {
        StitchResult {
            options: StitchOptionsEcho { identity_limits: self.identity_limits.clone(), ..StitchResult::default().options },
            keys: self.keys,
            profiles: self.profiles,
            journeys: self.journeys,
            profiles_without_events: self.profiles_without_events,
            largest_profile_keys: self.largest_profile_keys,
            conflicts: self.conflicts,
        }
    }
}

/// What must be equal for two states to merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Header {
    /// The map journeys were checked against.
    map: JourneyMap,
    /// The analysis options, as published ([`super::AnalysisOptions`]).
    analysis: serde_json::Value,
    /// The measures and their options.
    options: PartialOptions,
}

/// The states of the measures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct State {
    journeys: u64,
    events: u64,
    max_ts: Option<Micros>,
    personas: Option<PersonaOptions>,
    reach: Option<ReachCounts>,
    reach_by_persona: Option<PersonaGroups<ReachCounts>>,
    funnels: Vec<FunnelCounts>,
    funnel_breakdowns: Vec<BreakdownCounts>,
    transitions: Option<TransitionCounts>,
    paths: Option<PathCounts>,
    emotion: Option<EmotionCounts>,
    emotion_by_persona: Option<PersonaGroups<EmotionCounts>>,
    gray_areas: Option<GrayAreaCounts>,
    conformance: Option<ConformanceCounts>,
    key_moments: Option<KeyMomentCounts>,
    hypotheses: Option<HypothesisCounts>,
    stitch: Option<StitchCounts>,
}

/// The partial states of a chosen set of measures over a subset of whole journeys (see the
/// module docs): [`Partials::merge`], [`Partials::finish`], [`Partials::to_bytes`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partials {
    header: Header,
    state: State,
}

/// Each measure's result, as the single-pass methods of [`Analysis`] give them; a measure not
/// asked for is `None` (or empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Results {
    /// Phase reach.
    pub reach: Option<Reach>,
    /// Phase reach per persona.
    pub reach_by_persona: Option<ReachByPersona>,
    /// The funnels, in the order of the options.
    pub funnels: Vec<Funnel>,
    /// The funnel breakdowns, in the order of the options.
    pub funnel_breakdowns: Vec<FunnelBreakdown>,
    /// Transitions.
    pub transitions: Option<Transitions>,
    /// Top paths.
    pub paths: Option<Paths>,
    /// Emotion.
    pub emotion: Option<EmotionReport>,
    /// Emotion per persona.
    pub emotion_by_persona: Option<EmotionByPersona>,
    /// Gray areas.
    pub gray_areas: Option<GrayAreas>,
    /// Conformance.
    pub conformance: Option<Conformance>,
    /// Key moments.
    pub key_moments: Option<KeyMoments>,
    /// The hypothesis report.
    pub hypotheses: Option<HypothesisReport>,
    /// The stitch summary.
    pub stitch: Option<StitchResult>,
    /// How the medians and percentiles were computed: exact, or estimated from quantile
    /// sketches (within their relative accuracy; see the module docs).
    #[serde(skip_serializing_if = "QuantileMode::is_exact")]
    pub quantiles: QuantileMode,
}

/// Merges two optional states: both present (merged) or both absent.
fn merge_opt<T: Clone>(a: &mut Option<T>, b: &Option<T>, what: &str, merge: impl FnOnce(&mut T, &T) -> Result<()>) -> Result<()> {
    match (a.as_mut(), b) {
        (Some(x), Some(y)) => merge(x, y),
        (None, None) => Ok(()),
        _ => Err(bad(what, "present in one state and not in the other")),
    }
}

/// Merges two lists of states, pairwise.
fn merge_all<T>(a: &mut [T], b: &[T], what: &str, merge: impl Fn(&mut T, &T) -> Result<()>) -> Result<()> {
    merge::expect_len(b, a.len(), what)?;
    a.iter_mut().zip(b).try_for_each(|(x, y)| merge(x, y))
}

impl Analysis {
    /// The partial states of the chosen measures over this analysis' journeys (see the
    /// module docs of [`super::partial`](mod@self)). Bad options (an unknown touchpoint in a
    /// funnel, a funnel of no step) are errors here, as in the single-pass methods.
    pub fn partials(&self, options: &PartialOptions) -> Result<Partials> {
        options.quantiles.check()?;
        let q = &options.quantiles;
        let j = self.journeys();
        let map = self.map();
        let personas = options.wants_personas().then(|| self.personas().options.clone());
        let state = State {
            journeys: j.len() as u64,
            events: j.events() as u64,
            max_ts: j.now(),
            personas,
            reach: options.reach.then(|| reach_counts(&j, 1, |_| 0).pop().expect("one group")),
            reach_by_persona: options.reach_by_persona.then(|| self.persona_reach_counts()),
            funnels: options.funnels.iter().map(|f| funnel_counts(&j, f, q)).collect::<Result<_>>()?,
            funnel_breakdowns: options.funnel_breakdowns.iter().map(|b| self.breakdown_counts(&b.funnel, &b.by, Some(q))).collect::<Result<_>>()?,
            transitions: options.transitions.as_ref().map(|_| transition_counts(&j)),
            paths: options.paths.as_ref().map(|o| path_counts(&j, o)),
            emotion: options.emotion.as_ref().map(|_| emotion_counts(&j, 1, |_| 0).pop().expect("one group")),
            emotion_by_persona: options.emotion_by_persona.as_ref().map(|_| self.persona_emotion_counts()),
            gray_areas: options.gray_areas.as_ref().map(|o| gray_area_counts(&j, o, q)),
            conformance: options.conformance.then(|| conformance_counts(&j)),
            key_moments: options.key_moments.as_ref().map(|o| key_moment_counts(&j, o)).transpose()?,
            hypotheses: options.hypotheses.as_ref().map(|o| hypothesis_counts(&j, o)).transpose()?,
            stitch: options.stitch.then(|| StitchCounts::of(self.stitch_summary())),
        };
        let analysis = serde_json::to_value(self.options()).map_err(|e| Error::parse("partial.header.analysis", e.to_string()))?;
        Ok(Partials { header: Header { map: map.clone(), analysis, options: options.clone() }, state })
    }

    /// The chosen measures in one pass over this analysis (the methods of [`Analysis`]), the
    /// results [`Partials::finish`] reproduces from any split of the journeys. With quantile
    /// sketches, the finished state of all these journeys (the same estimates as any split).
    pub fn results(&self, options: &PartialOptions) -> Result<Results> {
        if !options.quantiles.is_exact() {
            return self.partials(options)?.finish();
        }
        Ok(Results {
            reach: options.reach.then(|| self.reach()),
            reach_by_persona: options.reach_by_persona.then(|| self.reach_by_persona()),
            funnels: options.funnels.iter().map(|f| self.funnel(f)).collect::<Result<_>>()?,
            funnel_breakdowns: options.funnel_breakdowns.iter().map(|b| self.funnel_breakdown(&b.funnel, &b.by)).collect::<Result<_>>()?,
            transitions: options.transitions.as_ref().map(|l| self.transitions(l)),
            paths: options.paths.as_ref().map(|o| self.paths(o)),
            emotion: options.emotion.as_ref().map(|o| self.emotion(o)),
            emotion_by_persona: options.emotion_by_persona.as_ref().map(|o| self.emotion_by_persona(o)),
            gray_areas: options.gray_areas.as_ref().map(|o| self.gray_areas(o)),
            conformance: options.conformance.then(|| self.conformance()),
            key_moments: options.key_moments.as_ref().map(|o| self.key_moments(o)).transpose()?,
            hypotheses: options.hypotheses.as_ref().map(|o| self.hypotheses(o)).transpose()?,
            stitch: options.stitch.then(|| self.stitch_summary()),
            quantiles: QuantileMode::Exact,
        })
    }
}

impl Partials {
    /// The measures and options the state was computed with.
    pub fn options(&self) -> &PartialOptions {
        &self.header.options
    }

    /// The map the journeys were checked against.
    pub fn map(&self) -> &JourneyMap {
        &self.header.map
    }

    /// The journeys counted so far.
    pub fn journeys(&self) -> u64 {
        self.state.journeys
    }

    /// The events counted so far.
    pub fn events(&self) -> u64 {
        self.state.events
    }

    /// The last event time seen so far (`now` of funnels without one, at the finish).
    pub fn max_ts(&self) -> Option<Micros> {
        self.state.max_ts
    }

    /// Adds the state of other journeys (disjoint from these: whole journeys, each counted
    /// once). Refused, leaving `self` unchanged, when the two were computed over another map,
    /// with other analysis options or other measures and options.
    pub fn merge(&mut self, other: &Partials) -> Result<()> {
        let h = (&self.header, &other.header);
        if h.0.map != h.1.map {
            return Err(bad(
                "header.map",
                format!("cannot merge states of different maps ({:?} and {:?}, or two versions of it)", h.0.map.id, h.1.map.id),
            ));
        }
        if h.0.analysis != h.1.analysis {
            return Err(bad("header.analysis", format!("cannot merge states of different analysis options ({} and {})", h.0.analysis, h.1.analysis)));
        }
        if h.0.options.quantiles != h.1.options.quantiles {
            let show = |q: &QuantileMode| serde_json::to_string(q).unwrap_or_default();
            return Err(bad(
                "header.options.quantiles",
                format!("cannot merge states keeping quantiles differently ({} and {})", show(&h.0.options.quantiles), show(&h.1.options.quantiles)),
            ));
        }
        if h.0.options != h.1.options {
            return Err(bad("header.options", "cannot merge states of different measures or measure options"));
        }
        let mut s = self.state.clone();
        let o = &other.state;
        s.journeys += o.journeys;
        s.events += o.events;
        s.max_ts = s.max_ts.max(o.max_ts);
        merge_opt(&mut s.personas, &o.personas, "personas", |a, b| a.merge(b))?;
        merge_opt(&mut s.reach, &o.reach, "reach", |a, b| a.merge(b))?;
        merge_opt(&mut s.reach_by_persona, &o.reach_by_persona, "reach_by_persona", |a, b| merge::merge_groups(a, b, |x, y| x.merge(y)))?;
        merge_all(&mut s.funnels, &o.funnels, "funnels", |a, b| a.merge(b))?;
        merge_all(&mut s.funnel_breakdowns, &o.funnel_breakdowns, "funnel_breakdowns", |a, b| a.merge(b))?;
        merge_opt(&mut s.transitions, &o.transitions, "transitions", |a, b| a.merge(b))?;
        merge_opt(&mut s.paths, &o.paths, "paths", |a, b| a.merge(b))?;
        merge_opt(&mut s.emotion, &o.emotion, "emotion", |a, b| a.merge(b))?;
        merge_opt(&mut s.emotion_by_persona, &o.emotion_by_persona, "emotion_by_persona", |a, b| merge::merge_groups(a, b, |x, y| x.merge(y)))?;
        merge_opt(&mut s.gray_areas, &o.gray_areas, "gray_areas", |a, b| a.merge(b))?;
        merge_opt(&mut s.conformance, &o.conformance, "conformance", |a, b| a.merge(b))?;
        merge_opt(&mut s.key_moments, &o.key_moments, "key_moments", |a, b| a.merge(b))?;
        merge_opt(&mut s.hypotheses, &o.hypotheses, "hypotheses", |a, b| a.merge(b))?;
        merge_opt(&mut s.stitch, &o.stitch, "stitch", |a, b| a.merge(b))?;
        self.state = s;
        Ok(())
    }

    /// Merges many states (in the order given); `None` for none.
    pub fn merge_all<'p>(parts: impl IntoIterator<Item = &'p Partials>) -> Result<Option<Partials>> {
        let mut it = parts.into_iter();
        let Some(first) = it.next() else { return Ok(None) };
        let mut acc = first.clone();
        for p in it {
            acc.merge(p)?;
        }
        Ok(Some(acc))
    }

    /// Each measure's result (see [`Results`]); a state that does not fit its map or options
    /// (hand-made bytes) is an error naming the field.
    pub fn finish(&self) -> Result<Results> {
        let (map, o, s) = (&self.header.map, &self.header.options, &self.state);
        let missing = |what: &str| bad(what, "asked for in the options but missing from the state");
        let now = |f: &FunnelOptions| f.now_us.or(s.max_ts).unwrap_or(0);
        let personas = || s.personas.as_ref().ok_or_else(|| missing("personas"));
        let resolver = Resolver::new(map);
        o.quantiles.check().map_err(|e| bad("header.options.quantiles", e.to_string()))?;
        let breakdowns = s.funnel_breakdowns.iter().flat_map(|b| std::iter::once(&b.total).chain(b.groups.iter().map(|g| &g.1)));
        for c in s.funnels.iter().chain(breakdowns) {
            c.ttcs.check(&o.quantiles, "funnel.ttcs")?;
        }
        merge::expect_len(&s.funnels, o.funnels.len(), "funnels")?;
        merge::expect_len(&s.funnel_breakdowns, o.funnel_breakdowns.len(), "funnel_breakdowns")?;
        let need = |on: bool, present: bool, what: &str| if on && !present { Err(missing(what)) } else { Ok(()) };
        need(o.reach, s.reach.is_some(), "reach")?;
        need(o.reach_by_persona, s.reach_by_persona.is_some(), "reach_by_persona")?;
        need(o.transitions.is_some(), s.transitions.is_some(), "transitions")?;
        need(o.paths.is_some(), s.paths.is_some(), "paths")?;
        need(o.emotion.is_some(), s.emotion.is_some(), "emotion")?;
        need(o.emotion_by_persona.is_some(), s.emotion_by_persona.is_some(), "emotion_by_persona")?;
        need(o.gray_areas.is_some(), s.gray_areas.is_some(), "gray_areas")?;
        need(o.conformance, s.conformance.is_some(), "conformance")?;
        need(o.key_moments.is_some(), s.key_moments.is_some(), "key_moments")?;
        need(o.hypotheses.is_some(), s.hypotheses.is_some(), "hypotheses")?;
        need(o.stitch, s.stitch.is_some(), "stitch")?;
        Ok(Results {
            reach: s.reach.as_ref().filter(|_| o.reach).map(|c| c.finish(map)).transpose()?,
            reach_by_persona: s
                .reach_by_persona
                .as_ref()
                .filter(|_| o.reach_by_persona)
                .map(|g| persona::finish_reach(personas()?, g, map))
                .transpose()?,
            funnels: o.funnels.iter().zip(&s.funnels).map(|(f, c)| c.finish(f, now(f))).collect::<Result<_>>()?,
            funnel_breakdowns: o
                .funnel_breakdowns
                .iter()
                .zip(&s.funnel_breakdowns)
                .map(|(b, c)| {
                    let p = if b.by == Breakdown::Persona { Some(personas()?.clone()) } else { None };
                    c.finish(&b.funnel, &b.by, now(&b.funnel), p)
                })
                .collect::<Result<_>>()?,
            transitions: o.transitions.as_ref().zip(s.transitions.as_ref()).map(|(l, c)| c.finish(&resolver, l)).transpose()?,
            paths: o.paths.as_ref().zip(s.paths.as_ref()).map(|(p, c)| c.finish(p)).transpose()?,
            emotion: o.emotion.as_ref().zip(s.emotion.as_ref()).map(|(e, c)| c.finish(map, e)).transpose()?,
            emotion_by_persona: o
                .emotion_by_persona
                .as_ref()
                .zip(s.emotion_by_persona.as_ref())
                .map(|(e, g)| persona::finish_emotion(personas()?, g, map, e))
                .transpose()?,
            gray_areas: o.gray_areas.as_ref().zip(s.gray_areas.as_ref()).map(|(g, c)| c.finish(g, &o.quantiles)).transpose()?,
            conformance: s.conformance.as_ref().filter(|_| o.conformance).map(|c| c.finish(map)).transpose()?,
            key_moments: o.key_moments.as_ref().zip(s.key_moments.as_ref()).map(|(k, c)| c.finish(map, k)).transpose()?,
            hypotheses: o.hypotheses.as_ref().zip(s.hypotheses.as_ref()).map(|(h, c)| c.finish(&resolver, h)).transpose()?,
            stitch: s.stitch.as_ref().filter(|_| o.stitch).map(StitchCounts::finish),
            quantiles: o.quantiles,
        })
    }

    /// The state as bytes (see the module docs for the format).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload = serde_json::to_vec(self).map_err(|e| Error::parse("partial", format!("cannot serialise: {e}")))?;
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&Sha256::digest(&payload)[..8]);
        out.extend_from_slice(&payload);
        Ok(out)
    }

    /// A state read back from [`Partials::to_bytes`]; other bytes are refused with an error
    /// saying why (not a partial state, another format version, truncated, corrupt).
    pub fn from_bytes(bytes: &[u8]) -> Result<Partials> {
        let err = |m: String| Error::parse("partial", m);
        if bytes.len() < HEADER_LEN {
            return Err(err(format!("truncated: {} bytes, shorter than the {HEADER_LEN}-byte header of a partial state", bytes.len())));
        }
        if bytes[..8] != MAGIC {
            return Err(err("not a journey-core partial state (the magic bytes differ)".into()));
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION {
            let why = if version > FORMAT_VERSION { "written by a newer journey-core" } else { "an older, unsupported format" };
            return Err(err(format!("format version {version} is not supported ({why}); this library reads version {FORMAT_VERSION}")));
        }
        let flags = u16::from_le_bytes([bytes[10], bytes[11]]);
        if flags != 0 {
            return Err(err(format!("unknown flags {flags:#06x} in the header")));
        }
        let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
        let payload = &bytes[HEADER_LEN..];
        if len != payload.len() as u64 {
            return Err(err(format!("truncated or padded: the header announces {len} payload bytes, {} follow", payload.len())));
        }
        if Sha256::digest(payload)[..8] != bytes[20..28] {
            return Err(err("corrupt: the payload's checksum does not match".into()));
        }
        let de = &mut serde_json::Deserializer::from_slice(payload);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = crate::error::json_path(e.path()).map_or_else(|| "partial".to_string(), |p| format!("partial.{p}"));
            Error::parse(path, e.inner().to_string())
        })
    }
}
