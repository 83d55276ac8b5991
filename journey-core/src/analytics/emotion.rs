//! Measured emotion per touchpoint and phase beside the planned emotion, and per journey.
//!
//! Ratings are normalised to `[-1, 1]` (CSAT `(x - 3) / 2`, NPS `(x - 5) / 5`, labels -1/0/1,
//! raw scores as given). Decisions (the benchmark's Decision 8, and where it is silent):
//! * Ratings of off-map events are counted apart (`off_map_ratings`) and belong to no
//!   touchpoint or phase.
//! * `std` is the sample standard deviation (n - 1), `null` below 2 ratings; `mean` and `std`
//!   are computed from exact integer sums with one correctly rounded division.
//! * A phase's planned emotion is the unweighted mean of its touchpoints' planned emotions
//!   (touchpoints without one are left out; `null` when none has one). `gap` = mean - planned.
//! * Fewer than `min_count` ratings (default 30) is "not enough data" (`enough_data: false`);
//!   the numbers are still given.
//! * Per journey: how many journeys have each lowest and each last rating (rated journeys only).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::emotion::Scale;
use crate::error::Result;
use crate::map::JourneyMap;

use super::columns::{NO_RATING, RATING_UNIT, scales_of_bits};
use super::intern::NONE;
use super::partial::merge::{add_map, expect_len};
use super::journeys::Journeys;
use super::numbers::ratio;

/// Describes how the table's ratings were normalised.
pub(crate) fn scale_text(scales: &[Scale]) -> String {
    if scales == [Scale::Csat] || scales.is_empty() {
        return "csat 1..5 -> (x - 3) / 2".into();
    }
    let parts: Vec<&str> = scales
        .iter()
        .map(|s| match s {
            Scale::Csat => "csat 1..5 -> (x - 3) / 2",
            Scale::Nps => "nps 0..10 -> (x - 5) / 5",
            Scale::Label => "labels negative -1, neutral 0, positive +1",
            Scale::Score => "raw scores in [-1, 1], to 4 decimals",
        })
        .collect();
    parts.join("; ")
}

/// The options of the emotion measure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmotionOptions {
    /// How ratings were normalised (set from the data).
    pub scale: String,
    /// Fewer ratings than this is "not enough data".
    pub min_count: u64,
    /// The standard deviation used.
    pub std: String,
    /// How a phase's planned emotion is formed.
    pub phase_planned: String,
}

impl Default for EmotionOptions {
    fn default() -> Self {
        EmotionOptions {
            scale: String::new(),
            min_count: 30,
            std: "sample (n - 1)".into(),
            phase_planned: "mean of its touchpoints' planned emotions".into(),
        }
    }
}

/// Measured against planned emotion at one touchpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TouchpointEmotion {
    /// The touchpoint id.
    pub touchpoint: String,
    /// Its phase id.
    pub phase: String,
    /// Ratings given there.
    pub ratings: u64,
    /// Their mean.
    pub mean: Option<f64>,
    /// Their sample standard deviation.
    pub std: Option<f64>,
    /// The planned emotion.
    pub planned: Option<f64>,
    /// mean - planned.
    pub gap: Option<f64>,
    /// At least `min_count` ratings.
    pub enough_data: bool,
}

/// Measured against planned emotion in one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseEmotion {
    /// The phase id.
    pub phase: String,
    /// Ratings given in it.
    pub ratings: u64,
    /// Their mean.
    pub mean: Option<f64>,
    /// Their sample standard deviation.
    pub std: Option<f64>,
    /// The planned emotion (mean of its touchpoints').
    pub planned: Option<f64>,
    /// mean - planned.
    pub gap: Option<f64>,
    /// At least `min_count` ratings.
    pub enough_data: bool,
}

/// Per-journey emotion: distributions of the lowest and of the last rating.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JourneyEmotion {
    /// Journeys with at least one rating.
    pub rated: u64,
    /// `[rating, journeys whose lowest rating it is]`, by rating.
    pub lowest: Vec<(f64, u64)>,
    /// `[rating, journeys whose last rating it is]`, by rating.
    pub last: Vec<(f64, u64)>,
}

/// The emotion measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmotionReport {
    /// The options it was computed with.
    pub options: EmotionOptions,
    /// All ratings.
    pub ratings: u64,
    /// Ratings of off-map events.
    pub off_map_ratings: u64,
    /// One row per touchpoint, in map order.
    pub touchpoints: Vec<TouchpointEmotion>,
    /// One row per phase, in map order.
    pub phases: Vec<PhaseEmotion>,
    /// Per journey.
    pub journeys: JourneyEmotion,
}

/// Exact sums of ratings (in units of 1/[`RATING_UNIT`]): count, sum, sum of squares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acc {
    /// Ratings.
    pub n: i64,
    /// Their sum.
    pub s: i64,
    /// The sum of their squares.
    pub ss: i64,
}

impl Acc {
    fn add(&mut self, q: i64) {
        self.n += 1;
        self.s += q;
        self.ss += q * q;
    }
    fn merge(&mut self, o: &Acc) {
        self.n += o.n;
        self.s += o.s;
        self.ss += o.ss;
    }
    fn mean(&self) -> Option<f64> {
        ratio(self.s as i128, self.n as i128 * RATING_UNIT as i128)
    }
    fn std(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let (n, s, ss) = (self.n as i128, self.s as i128, self.ss as i128);
        let u = RATING_UNIT as i128;
        ratio(n * ss - s * s, n * (n - 1) * u * u).map(f64::sqrt)
    }
}

/// The rating value `q` (units of 1/RATING_UNIT) as a normalised float.
pub(crate) fn rating_value(q: i16) -> f64 {
    q as f64 / RATING_UNIT as f64
}

/// The partial state of the emotion measure over a subset of whole journeys: exact sums
/// per touchpoint and phase (map order), the distributions of each journey's lowest and last
/// rating (value in units of 1/[`RATING_UNIT`] -> journeys), and the rating scales seen (a
/// bit set, merged by `|`). Merged by addition ([`EmotionCounts::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EmotionCounts {
    /// Sums per touchpoint.
    pub touchpoints: Vec<Acc>,
    /// Sums per phase.
    pub phases: Vec<Acc>,
    /// Ratings of off-map events.
    pub off_map: u64,
    /// Journeys with a rating.
    pub rated: u64,
    /// Journeys by lowest rating.
    pub lowest: BTreeMap<i16, u64>,
    /// Journeys by last rating.
    pub last: BTreeMap<i16, u64>,
    /// The rating scales seen (bit set).
    pub scales: u8,
}

impl EmotionCounts {
    /// Empty sums for a map of `touchpoints` touchpoints and `phases` phases.
    pub fn new(touchpoints: usize, phases: usize) -> Self {
        EmotionCounts { touchpoints: vec![Acc::default(); touchpoints], phases: vec![Acc::default(); phases], ..Default::default() }
    }

    /// Adds the sums of other journeys (same map).
    pub fn merge(&mut self, o: &EmotionCounts) -> Result<()> {
        expect_len(&o.touchpoints, self.touchpoints.len(), "emotion.touchpoints")?;
        expect_len(&o.phases, self.phases.len(), "emotion.phases")?;
        for (a, b) in self.touchpoints.iter_mut().zip(&o.touchpoints) {
            a.merge(b);
        }
        for (a, b) in self.phases.iter_mut().zip(&o.phases) {
            a.merge(b);
        }
        self.off_map += o.off_map;
        self.rated += o.rated;
        add_map(&mut self.lowest, &o.lowest);
        add_map(&mut self.last, &o.last);
        self.scales |= o.scales;
        Ok(())
    }

    /// The published measure.
    pub fn finish(&self, map: &JourneyMap, options: &EmotionOptions) -> Result<EmotionReport> {
        let (ntp, nph) = (map.touchpoints.len(), map.phases.len());
        expect_len(&self.touchpoints, ntp, "emotion.touchpoints")?;
        expect_len(&self.phases, nph, "emotion.phases")?;
        let min = options.min_count as i64;
        let planned_tp: Vec<Option<f64>> =
            map.touchpoints.iter().map(|t| t.emotion.and_then(|r| r.normalize().ok()).map(|e| e.value())).collect();
        let planned_ph: Vec<Option<f64>> = map
            .phases
            .iter()
            .map(|ph| {
                let vals: Vec<f64> = map.touchpoints.iter().zip(&planned_tp).filter(|(t, _)| t.phase == ph.id).filter_map(|(_, p)| *p).collect();
                // summed left to right, then divided, as Python's sum(v) / len(v)
                (!vals.is_empty()).then(|| vals.iter().fold(0.0, |acc, x| acc + x) / vals.len() as f64)
            })
            .collect();
        let dist = |d: &BTreeMap<i16, u64>| -> Vec<(f64, u64)> { d.iter().filter(|(_, c)| **c > 0).map(|(&q, &c)| (rating_value(q), c)).collect() };
        let mut opts = options.clone();
        if opts.scale.is_empty() {
            opts.scale = scale_text(&scales_of_bits(self.scales));
        }
        let touchpoints: Vec<TouchpointEmotion> = map
            .touchpoints
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let a = self.touchpoints[i];
                let mean = a.mean();
                TouchpointEmotion {
                    touchpoint: t.id.clone(),
                    phase: t.phase.clone(),
                    ratings: a.n as u64,
                    mean,
                    std: a.std(),
                    planned: planned_tp[i],
                    gap: mean.zip(planned_tp[i]).map(|(m, p)| m - p),
                    enough_data: a.n >= min,
                }
            })
            .collect();
        let phases = map
            .phases
            .iter()
            .enumerate()
            .map(|(k, ph)| {
                let a = self.phases[k];
                let mean = a.mean();
                let planned = planned_ph[k];
                PhaseEmotion { phase: ph.id.clone(), ratings: a.n as u64, mean, std: a.std(), planned, gap: mean.zip(planned).map(|(m, p)| m - p), enough_data: a.n >= min }
            })
            .collect();
        Ok(EmotionReport {
            options: opts,
            ratings: touchpoints.iter().map(|t| t.ratings).sum::<u64>() + self.off_map,
            off_map_ratings: self.off_map,
            touchpoints,
            phases,
            journeys: JourneyEmotion { rated: self.rated, lowest: dist(&self.lowest), last: dist(&self.last) },
        })
    }
}

/// Computes the emotion measure.
pub fn emotion(j: &Journeys<'_>, options: &EmotionOptions) -> EmotionReport {
    let counts = emotion_counts(j, 1, |_| 0).pop().expect("one group");
    counts.finish(j.resolver().map(), options).expect("counts built for this map")
}

/// The emotion sums of groups of journeys: `group(journey index)` gives a group `< groups`,
/// or [`NONE`] to leave the journey out.
pub(crate) fn emotion_counts(j: &Journeys<'_>, groups: usize, group: impl Fn(usize) -> u32 + Sync) -> Vec<EmotionCounts> {
    let map = j.resolver().map();
    let (ntp, nph) = (map.touchpoints.len(), map.phases.len());
    let tp_of = j.touchpoint_of_names();
    let phase_of = j.phase_of_names();
    const SPAN: usize = 2 * RATING_UNIT as usize + 1;
    let parts = j.par(|range| {
        let mut acc = vec![EmotionCounts::new(ntp, nph); groups];
        // distributions keyed by rating value + RATING_UNIT, allocated lazily
        let mut lowest: Vec<Vec<u64>> = vec![Vec::new(); groups];
        let mut last: Vec<Vec<u64>> = vec![Vec::new(); groups];
        for jx in range {
            let g = group(jx);
            if g == NONE {
                continue;
            }
            let g = g as usize;
            let a = &mut acc[g];
            let jr = j.journey(jx);
            let mut lo = i16::MAX;
            let mut la = NO_RATING;
            for (i, &q) in jr.rating.iter().enumerate() {
                if q == NO_RATING {
                    continue;
                }
                lo = lo.min(q);
                la = q;
                let nm = jr.name[i] as usize;
                let tp = tp_of[nm];
                if tp == NONE {
                    a.off_map += 1;
                    continue;
                }
                a.touchpoints[tp as usize].add(q as i64);
                let ph = phase_of[nm];
                if ph != NONE {
                    a.phases[ph as usize].add(q as i64);
                }
            }
            if la != NO_RATING {
                if lowest[g].is_empty() {
                    lowest[g] = vec![0; SPAN];
                    last[g] = vec![0; SPAN];
                }
                a.rated += 1;
                lowest[g][(lo as i64 + RATING_UNIT) as usize] += 1;
                last[g][(la as i64 + RATING_UNIT) as usize] += 1;
            }
        }
        let sparse = |d: &[u64]| -> BTreeMap<i16, u64> {
            d.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, &c)| ((i as i64 - RATING_UNIT) as i16, c)).collect()
        };
        for (g, a) in acc.iter_mut().enumerate() {
            a.lowest = sparse(&lowest[g]);
            a.last = sparse(&last[g]);
        }
        acc
    });
    let mut total = vec![EmotionCounts::new(ntp, nph); groups];
    for part in parts {
        for (a, b) in total.iter_mut().zip(&part) {
            a.merge(b).expect("same shape");
        }
    }
    let scales = j.table().rating_scale_bits();
    for a in &mut total {
        a.scales = scales;
    }
    total
}
