//! Phase reach: how many journeys reach each phase, and the drop-off between phases.
//!
//! A journey reaches phase k when any of its events is in phase k (off-map events are in no
//! phase). Decisions where ANALYTICS.md is silent (the benchmark's Decision 4):
//! `share` = reached / journeys (all journeys, including those with no on-map event);
//! `share_of_previous` = journeys that reached both phase k-1 and k / journeys that reached
//! k-1, since a journey can enter at any phase; it is `null` for the first phase and when no
//! journey reached the previous one.

use serde::Serialize;

use super::intern::NONE;
use super::journeys::Journeys;
use super::numbers::ratio;

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

/// Computes phase reach.
pub fn reach(j: &Journeys<'_>) -> Reach {
    reach_groups(j, 1, |_| 0).pop().expect("one group")
}

/// Phase reach of groups of journeys: `group(journey index)` gives a group `< groups`, or
/// [`NONE`] to leave the journey out; each group's shares are over its own journeys.
pub(crate) fn reach_groups(j: &Journeys<'_>, groups: usize, group: impl Fn(usize) -> u32 + Sync) -> Vec<Reach> {
    let map = j.resolver().map();
    let np = map.phases.len();
    let phase_of = j.phase_of_names();
    let parts = j.par(|range| {
        let mut reached = vec![0u64; np * groups];
        let mut both = vec![0u64; np * groups];
        let mut any = vec![0u64; groups];
        let mut total = vec![0u64; groups];
        let mut stamp = vec![u32::MAX; np];
        let mut seen: Vec<u32> = Vec::with_capacity(np);
        for jx in range {
            let g = group(jx);
            if g == NONE {
                continue;
            }
            let g = g as usize;
            total[g] += 1;
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
                any[g] += 1;
            }
            let (reached, both) = (&mut reached[g * np..(g + 1) * np], &mut both[g * np..(g + 1) * np]);
            for &p in &seen {
                reached[p as usize] += 1;
                if p > 0 && stamp[p as usize - 1] == jx as u32 {
                    both[p as usize] += 1;
                }
            }
        }
        (reached, both, any, total)
    });
    let mut reached = vec![0u64; np * groups];
    let mut both = vec![0u64; np * groups];
    let mut any = vec![0u64; groups];
    let mut totals = vec![0u64; groups];
    for (r, b, a, t) in parts {
        for k in 0..np * groups {
            reached[k] += r[k];
            both[k] += b[k];
        }
        for g in 0..groups {
            any[g] += a[g];
            totals[g] += t[g];
        }
    }
    (0..groups)
        .map(|g| {
            let total = totals[g];
            let (reached, both) = (&reached[g * np..(g + 1) * np], &both[g * np..(g + 1) * np]);
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
            Reach {
                options: ReachOptions { phases: map.phases.iter().map(|p| p.id.clone()).collect() },
                journeys: total,
                journeys_without_phase: total - any[g],
                phases,
            }
        })
        .collect()
}
