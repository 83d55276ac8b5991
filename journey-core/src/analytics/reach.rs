//! Phase reach: how many journeys reach each phase, and the drop-off between phases.
//!
//! A journey reaches phase k when any of its events is in phase k (off-map events are in no
//! phase). Decisions where ANALYTICS.md is silent (the benchmark's Decision 4):
//! `share` = reached / journeys (all journeys, including those with no on-map event);
//! `share_of_previous` = journeys that reached both phase k-1 and k / journeys that reached
//! k-1, since a journey can enter at any phase; it is `null` for the first phase and when no
//! journey reached the previous one.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::map::JourneyMap;

use super::intern::NONE;
use super::journeys::Journeys;
use super::numbers::ratio;
use super::partial::merge::{add_counts, bad, expect_len};

/// The options of the reach measure, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReachOptions {
    /// The map's phases, in order.
    pub phases: Vec<String>,
}

/// Reach of one phase.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseReach {
    /// The phase id.
    pub phase: String,
    /// Its position in the map.
    pub index: usize,
    /// Journeys that reached it.
    pub journeys: u64,
    /// `journeys` / all journeys.
    pub share: Option<f64>,
    /// The phase before it (`null` for the first).
    pub previous_phase: Option<String>,
    /// Journeys that reached the previous phase.
    pub reached_previous: Option<u64>,
    /// Journeys that reached both the previous phase and this one.
    pub reached_previous_and_this: Option<u64>,
    /// `reached_previous_and_this` / `reached_previous`.
    pub share_of_previous: Option<f64>,
}

/// The reach measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reach {
    /// The options it was computed with.
    pub options: ReachOptions,
    /// All journeys.
    pub journeys: u64,
    /// Journeys with no on-map event.
    pub journeys_without_phase: u64,
    /// One row per phase, in map order.
    pub phases: Vec<PhaseReach>,
}

/// The partial state of phase reach over a subset of whole journeys: exact counts, merged
/// by addition ([`ReachCounts::merge`]), finished against the map ([`ReachCounts::finish`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReachCounts {
    /// Journeys.
    pub journeys: u64,
    /// Journeys with at least one on-map event.
    pub with_phase: u64,
    /// Journeys that reached each phase, in map order.
    pub reached: Vec<u64>,
    /// Journeys that reached each phase and the one before it.
    pub both: Vec<u64>,
}

impl ReachCounts {
    /// Empty counts for a map of `phases` phases.
    pub fn new(phases: usize) -> Self {
        ReachCounts { journeys: 0, with_phase: 0, reached: vec![0; phases], both: vec![0; phases] }
    }

    /// Adds the counts of other journeys (same map).
    pub fn merge(&mut self, o: &ReachCounts) -> Result<()> {
        self.journeys += o.journeys;
        self.with_phase += o.with_phase;
        add_counts(&mut self.reached, &o.reached, "reach.reached")?;
        add_counts(&mut self.both, &o.both, "reach.both")
    }

    /// The published measure.
    pub fn finish(&self, map: &JourneyMap) -> Result<Reach> {
        let np = map.phases.len();
        expect_len(&self.reached, np, "reach.reached")?;
        expect_len(&self.both, np, "reach.both")?;
        if self.with_phase > self.journeys {
            return Err(bad("reach.with_phase", "more journeys with a phase than journeys"));
        }
        let (total, reached, both) = (self.journeys, &self.reached, &self.both);
        let phases = (0..np)
            .map(|k| {
                let prev = (k > 0).then(|| k - 1);
                PhaseReach {
                    phase: map.phases[k].id.clone(),
                    index: k,
                    journeys: reached[k],
                    share: ratio(reached[k] as i128, total as i128),
                    previous_phase: prev.map(|p| map.phases[p].id.clone()),
                    reached_previous: prev.map(|p| reached[p]),
                    reached_previous_and_this: prev.map(|_| both[k]),
                    share_of_previous: prev.and_then(|p| ratio(both[k] as i128, reached[p] as i128)),
                }
            })
            .collect();
        Ok(Reach {
            options: ReachOptions { phases: map.phases.iter().map(|p| p.id.clone()).collect() },
            journeys: total,
            journeys_without_phase: total - self.with_phase,
            phases,
        })
    }
}

/// Computes phase reach.
pub fn reach(j: &Journeys<'_>) -> Reach {
    let counts = reach_counts(j, 1, |_| 0).pop().expect("one group");
    counts.finish(j.resolver().map()).expect("counts built for this map")
}

/// The reach counts of groups of journeys: `group(journey index)` gives a group `< groups`,
/// or [`NONE`] to leave the journey out; each group's shares are over its own journeys.
pub(crate) fn reach_counts(j: &Journeys<'_>, groups: usize, group: impl Fn(usize) -> u32 + Sync) -> Vec<ReachCounts> {
    let np = j.resolver().map().phases.len();
    let phase_of = j.phase_of_names();
    let parts = j.par(|range| {
        let mut acc = vec![ReachCounts::new(np); groups];
        let mut stamp = vec![u32::MAX; np];
        let mut seen: Vec<u32> = Vec::with_capacity(np);
        for jx in range {
            let g = group(jx);
            if g == NONE {
                continue;
            }
            let a = &mut acc[g as usize];
            a.journeys += 1;
            let jr = j.journey(jx);
            seen.clear();
            for &nm in jr.name {
                let p = phase_of[nm as usize];
                if p != NONE && stamp[p as usize] != jx as u32 {
                    stamp[p as usize] = jx as u32;
                    seen.push(p);
                }
            }
            if !seen.is_empty() {
                a.with_phase += 1;
            }
            for &p in &seen {
                a.reached[p as usize] += 1;
                if p > 0 && stamp[p as usize - 1] == jx as u32 {
                    a.both[p as usize] += 1;
                }
            }
        }
        acc
    });
    let mut total = vec![ReachCounts::new(np); groups];
    for part in parts {
        for (a, b) in total.iter_mut().zip(&part) {
            a.merge(b).expect("same shape");
        }
    }
    total
}
