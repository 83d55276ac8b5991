//! Key moments: the touchpoints whose experience most changes the chance of the outcome.
//!
//! For a touchpoint T and an outcome O: among journeys that contain T, the outcome rate of
//! those whose rating at T was negative (< 0) against those whose rating was non-negative,
//! the difference, and the rate of journeys that end at T; ranked by the absolute difference
//! and compared with the map's key-moment flags.
//!
//! Decisions (the benchmark's Decision 11, and where it is silent):
//! * The outcome is reaching a touchpoint or a phase anywhere in the journey (before or after
//!   T); by default the map's last phase.
//! * The rating at T is the lowest rating among the journey's events at T; journeys without a
//!   rating at T are in neither group.
//! * difference = rate(non-negative) - rate(negative); end_at = journeys whose last event is at T.
//! * Ranked by |difference| rounded to 9 decimals, then touchpoint id, only where both groups
//!   have at least `min_count` journeys (`enough_data`); other rows have `rank: null`.

use serde::{Deserialize, Serialize};

use crate::emotion::Scale;
use crate::error::{Error, Result};
use crate::map::JourneyMap;

use super::columns::{NO_RATING, scales_of_bits};
use super::intern::NONE;
use super::journeys::Journeys;
use super::numbers::{ratio, round9};
use super::partial::merge::{bad, expect_len};

/// The outcome whose chance key moments change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The journey contains an event at this touchpoint.
    Touchpoint(String),
    /// The journey contains an event in this phase.
    Phase(String),
}

/// How to compute key moments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeyMomentsOptions {
    /// The outcome; `None` = reaching the map's last phase.
    pub outcome: Option<Outcome>,
    /// Both groups need at least this many journeys for a touchpoint to be ranked.
    pub min_count: u64,
}

impl Default for KeyMomentsOptions {
    fn default() -> Self {
        KeyMomentsOptions { outcome: None, min_count: 30 }
    }
}

/// The options of key moments, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyMomentsOptionsEcho {
    /// The outcome used.
    pub outcome: Outcome,
    /// How the rating at a touchpoint is taken.
    pub rating_at_touchpoint: String,
    /// What a negative rating is.
    pub negative: String,
    /// How the difference is formed.
    pub difference: String,
    /// How touchpoints are ranked.
    pub rank: String,
    /// The minimum group size.
    pub min_count: u64,
}

/// One group of journeys at a touchpoint.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Journeys in the group.
    pub journeys: u64,
    /// Of them, with the outcome.
    pub outcome: u64,
    /// outcome / journeys.
    pub rate: Option<f64>,
}

/// One touchpoint's row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyMoment {
    /// The touchpoint id.
    pub touchpoint: String,
    /// Flagged as a key moment in the map.
    pub flagged: bool,
    /// Journeys that contain it.
    pub journeys: u64,
    /// Of them, with the outcome.
    pub outcome: u64,
    /// outcome / journeys.
    pub outcome_rate: Option<f64>,
    /// Journeys with a rating there.
    pub rated: u64,
    /// Journeys whose rating there was negative.
    pub negative: Group,
    /// Journeys whose rating there was non-negative.
    pub non_negative: Group,
    /// non_negative.rate - negative.rate.
    pub difference: Option<f64>,
    /// Journeys whose last event is there.
    pub end_at: u64,
    /// end_at / journeys.
    pub end_at_rate: Option<f64>,
    /// Both groups have at least min_count journeys.
    pub enough_data: bool,
    /// Rank by |difference| (1 = largest), `null` without enough data.
    pub rank: Option<u64>,
}

/// The key-moments measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyMoments {
    /// The options it was computed with.
    pub options: KeyMomentsOptionsEcho,
    /// All journeys.
    pub journeys: u64,
    /// Journeys with the outcome.
    pub outcome_journeys: u64,
    /// One row per touchpoint, in map order.
    pub touchpoints: Vec<KeyMoment>,
}

/// The counts of one touchpoint.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    /// Journeys that contain it.
    pub journeys: u64,
    /// Of them, journeys that reach the outcome.
    pub outcome: u64,
    /// Journeys rated negative there.
    pub neg: u64,
    /// Of them, journeys that reach the outcome.
    pub neg_outcome: u64,
    /// Journeys rated non-negative there.
    pub nonneg: u64,
    /// Of them, journeys that reach the outcome.
    pub nonneg_outcome: u64,
    /// Journeys that end there.
    pub end_at: u64,
}

impl Row {
    fn add(&mut self, b: &Row) {
        self.journeys += b.journeys;
        self.outcome += b.outcome;
        self.neg += b.neg;
        self.neg_outcome += b.neg_outcome;
        self.nonneg += b.nonneg;
        self.nonneg_outcome += b.nonneg_outcome;
        self.end_at += b.end_at;
    }
}

/// The partial state of key moments over a subset of whole journeys: counts per touchpoint
/// (map order) for the resolved outcome, and the rating scales seen (a bit set). Merged by
/// addition ([`KeyMomentCounts::merge`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyMomentCounts {
    /// The outcome (resolved: the map's last phase by default).
    pub outcome: Outcome,
    /// Journeys.
    pub journeys: u64,
    /// Journeys that reach the outcome.
    pub outcome_journeys: u64,
    /// Counts per touchpoint.
    pub touchpoints: Vec<Row>,
    /// The rating scales seen (bit set).
    pub scales: u8,
}

impl KeyMomentCounts {
    /// Adds the counts of other journeys (same map and outcome).
    pub fn merge(&mut self, o: &KeyMomentCounts) -> Result<()> {
        if self.outcome != o.outcome {
            return Err(bad("key_moments.outcome", "cannot merge key moments of different outcomes"));
        }
        expect_len(&o.touchpoints, self.touchpoints.len(), "key_moments.touchpoints")?;
        for (a, b) in self.touchpoints.iter_mut().zip(&o.touchpoints) {
            a.add(b);
        }
        self.journeys += o.journeys;
        self.outcome_journeys += o.outcome_journeys;
        self.scales |= o.scales;
        Ok(())
    }

    /// The published measure (`min_count` of the options; the outcome is the state's).
    pub fn finish(&self, map: &JourneyMap, o: &KeyMomentsOptions) -> Result<KeyMoments> {
        expect_len(&self.touchpoints, map.touchpoints.len(), "key_moments.touchpoints")?;
        let r = |a: u64, b: u64| ratio(a as i128, b as i128);
        let mut out: Vec<KeyMoment> = map
            .touchpoints
            .iter()
            .zip(&self.touchpoints)
            .map(|(t, x)| {
                let (neg_rate, nn_rate) = (r(x.neg_outcome, x.neg), r(x.nonneg_outcome, x.nonneg));
                KeyMoment {
                    touchpoint: t.id.clone(),
                    flagged: t.key_moment,
                    journeys: x.journeys,
                    outcome: x.outcome,
                    outcome_rate: r(x.outcome, x.journeys),
                    rated: x.neg + x.nonneg,
                    negative: Group { journeys: x.neg, outcome: x.neg_outcome, rate: neg_rate },
                    non_negative: Group { journeys: x.nonneg, outcome: x.nonneg_outcome, rate: nn_rate },
                    difference: neg_rate.zip(nn_rate).map(|(n, p)| p - n),
                    end_at: x.end_at,
                    end_at_rate: r(x.end_at, x.journeys),
                    enough_data: x.neg.min(x.nonneg) >= o.min_count,
                    rank: None,
                }
            })
            .collect();
        let mut ranked: Vec<usize> = (0..out.len()).filter(|&i| out[i].enough_data && out[i].difference.is_some()).collect();
        let key = |i: usize| round9(out[i].difference.unwrap_or(0.0).abs()).unwrap_or(0.0);
        ranked.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then_with(|| out[a].touchpoint.cmp(&out[b].touchpoint)));
        for (rank, &i) in ranked.iter().enumerate() {
            out[i].rank = Some(rank as u64 + 1);
        }
        let csat_only = matches!(scales_of_bits(self.scales).as_slice(), [] | [Scale::Csat]);
        Ok(KeyMoments {
            options: KeyMomentsOptionsEcho {
                outcome: self.outcome.clone(),
                rating_at_touchpoint: if csat_only { "lowest csat there" } else { "lowest normalised rating there" }.into(),
                negative: if csat_only { "normalised rating < 0 (csat 1-2)" } else { "normalised rating < 0" }.into(),
                difference: "non_negative.rate - negative.rate".into(),
                rank: "by |difference| rounded to 9 decimals, then touchpoint id; only touchpoints with at least min_count journeys in both groups (enough_data)".into(),
                min_count: o.min_count,
            },
            journeys: self.journeys,
            outcome_journeys: self.outcome_journeys,
            touchpoints: out,
        })
    }
}

/// Computes key moments.
pub fn key_moments(j: &Journeys<'_>, o: &KeyMomentsOptions) -> Result<KeyMoments> {
    key_moment_counts(j, o)?.finish(j.resolver().map(), o)
}

/// The partial state of key moments over these journeys (see [`KeyMomentCounts`]); an
/// unknown outcome is an error.
pub fn key_moment_counts(j: &Journeys<'_>, o: &KeyMomentsOptions) -> Result<KeyMomentCounts> {
    let map = j.resolver().map();
    let ntp = map.touchpoints.len();
    let outcome = match &o.outcome {
        Some(x) => x.clone(),
        None => Outcome::Phase(map.phases.last().ok_or_else(|| Error::NotFound { what: "phase", id: "(the map has none)".into() })?.id.clone()),
    };
    // outcome per event name
    let is_outcome: Vec<bool> = match &outcome {
        Outcome::Touchpoint(t) => {
            let tp = map.touchpoints.iter().position(|x| &x.id == t).ok_or_else(|| Error::NotFound { what: "touchpoint", id: t.clone() })?;
            j.touchpoint_of_names().iter().map(|&x| x == tp as u32).collect()
        }
        Outcome::Phase(p) => {
            let ph = map.phase_index(p).ok_or_else(|| Error::NotFound { what: "phase", id: p.clone() })?;
            j.phase_of_names().iter().map(|&x| x == ph as u32).collect()
        }
    };
    let tp_of = j.touchpoint_of_names();
    let parts = j.par(|range| {
        let mut rows = vec![Row::default(); ntp];
        let mut outcome_journeys = 0u64;
        let mut stamp = vec![u32::MAX; ntp];
        let mut low = vec![NO_RATING; ntp];
        let mut seen: Vec<u32> = Vec::new();
        for jx in range {
            let jr = j.journey(jx);
            let mut out = false;
            seen.clear();
            for (i, &nm) in jr.name.iter().enumerate() {
                out |= is_outcome[nm as usize];
                let tp = tp_of[nm as usize];
                if tp == NONE {
                    continue;
                }
                let t = tp as usize;
                if stamp[t] != jx as u32 {
                    stamp[t] = jx as u32;
                    low[t] = NO_RATING;
                    seen.push(tp);
                }
                let q = jr.rating[i];
                if q != NO_RATING && (low[t] == NO_RATING || q < low[t]) {
                    low[t] = q;
                }
            }
            outcome_journeys += out as u64;
            let last_tp = tp_of[jr.name[jr.len() - 1] as usize];
            for &tp in &seen {
                let r = &mut rows[tp as usize];
                r.journeys += 1;
                r.outcome += out as u64;
                r.end_at += (last_tp == tp) as u64;
                let q = low[tp as usize];
                if q != NO_RATING {
                    if q < 0 {
                        r.neg += 1;
                        r.neg_outcome += out as u64;
                    } else {
                        r.nonneg += 1;
                        r.nonneg_outcome += out as u64;
                    }
                }
            }
        }
        (rows, outcome_journeys)
    });
    let mut rows = vec![Row::default(); ntp];
    let mut outcome_journeys = 0;
    for (r, oj) in parts {
        for (a, b) in rows.iter_mut().zip(&r) {
            a.add(b);
        }
        outcome_journeys += oj;
    }
    Ok(KeyMomentCounts { outcome, journeys: j.len() as u64, outcome_journeys, touchpoints: rows, scales: j.table().rating_scale_bits() })
}
