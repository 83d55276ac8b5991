//! Conformance: how well real journeys follow the map.
//!
//! Steps are events (Decision 10). An event deviates when it is *off-map*, on a channel its
//! touchpoint does not plan (*unplanned channel*; a touchpoint with no channels plans every
//! channel, an unknown channel is never a deviation), or its phase index `q` against the
//! previous **on-map** event's `p` is a *regression* (`q < p`) or a *skip* (`q > p + 1`).
//! Off-map events are stepped over for the phase check; a journey's first on-map event has
//! no phase check. An event with two deviations counts once as non-conforming and once in
//! each kind. Fitness of a journey = conforming events / events (a one-event on-map journey
//! on a planned channel has fitness 1). The mean and median of fitness are exact (the
//! rational mean, correctly rounded); the histogram has ten buckets `[0, 0.1) .. [0.9, 1)`
//! and one for exactly 1. `by_touchpoint` is keyed by touchpoint id, or by raw name for
//! off-map events.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::map::JourneyMap;

use super::intern::NONE;
use super::partial::merge::bad;
use super::journeys::Journeys;
use super::numbers::{Big, ratio, ratio_big};

/// The options of the conformance measure, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConformanceOptions {
    /// The map's phases, in order.
    pub phase_order: Vec<String>,
    /// What a step is and when it conforms (descriptive).
    pub steps: String,
}

/// A histogram bucket of fitness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitnessBucket {
    /// Lower edge, inclusive.
    pub from: f64,
    /// Upper edge, exclusive (the last bucket is exactly 1).
    pub to: f64,
    /// Journeys in it.
    pub journeys: u64,
}

/// The distribution of fitness.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fitness {
    /// Mean fitness.
    pub mean: Option<f64>,
    /// Median fitness.
    pub median: Option<f64>,
    /// Histogram.
    pub histogram: Vec<FitnessBucket>,
}

/// Deviations by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Deviations {
    /// Off-map events.
    pub off_map: u64,
    /// Phase regressions.
    pub regression: u64,
    /// Skipped phases.
    pub skip: u64,
    /// Channels the map did not plan.
    pub unplanned_channel: u64,
}

impl Deviations {
    fn add(&mut self, o: &Deviations) {
        self.off_map += o.off_map;
        self.regression += o.regression;
        self.skip += o.skip;
        self.unplanned_channel += o.unplanned_channel;
    }
}

/// The conformance measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conformance {
    /// The options it was computed with.
    pub options: ConformanceOptions,
    /// All journeys.
    pub journeys: u64,
    /// All events.
    pub events: u64,
    /// Events with no deviation.
    pub conforming_events: u64,
    /// Fitness distribution.
    pub fitness: Fitness,
    /// Journeys with fitness 1.
    pub fully_conforming: u64,
    /// fully_conforming / journeys.
    pub share_fully_conforming: Option<f64>,
    /// Deviations by kind.
    pub deviations: Deviations,
    /// Deviations by touchpoint id (raw name for off-map events).
    pub by_touchpoint: BTreeMap<String, Deviations>,
}

/// The partial state of conformance over a subset of whole journeys: journeys by
/// (conforming events, events), deviations by kind and by touchpoint id (raw name for
/// off-map events). Merged by addition ([`ConformanceCounts::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConformanceCounts {
    /// `(conforming events, events, journeys)`.
    pub fitness: Vec<(u32, u32, u64)>,
    /// Deviations by kind.
    pub deviations: Deviations,
    /// Deviations by touchpoint id, or raw name for off-map events.
    pub by_touchpoint: BTreeMap<String, Deviations>,
}

impl ConformanceCounts {
    /// Adds the counts of other journeys.
    pub fn merge(&mut self, o: &ConformanceCounts) -> Result<()> {
        let mut fit: BTreeMap<(u32, u32), u64> = self.fitness.iter().map(|&(c, n, k)| ((c, n), k)).collect();
        for &(c, n, k) in &o.fitness {
            *fit.entry((c, n)).or_default() += k;
        }
        self.fitness = fit.into_iter().map(|((c, n), k)| (c, n, k)).collect();
        self.deviations.add(&o.deviations);
        for (k, d) in &o.by_touchpoint {
            self.by_touchpoint.entry(k.clone()).or_default().add(d);
        }
        Ok(())
    }

    /// The published measure.
    pub fn finish(&self, map: &JourneyMap) -> Result<Conformance> {
        if self.fitness.iter().any(|&(c, n, _)| c > n || n == 0) {
            return Err(bad("conformance.fitness", "a journey with more conforming events than events, or none"));
        }
        let mut groups = self.fitness.clone();
        groups.sort_unstable_by(|a, b| (a.0 as u64 * b.1 as u64).cmp(&(b.0 as u64 * a.1 as u64)).then(a.1.cmp(&b.1)));
        let journeys: u64 = groups.iter().map(|g| g.2).sum();
        let events: u64 = groups.iter().map(|g| g.1 as u64 * g.2).sum();
        let conforming: u64 = groups.iter().map(|g| g.0 as u64 * g.2).sum();
        let mean = exact_mean(&groups, journeys);
        let median = if journeys == 0 {
            None
        } else {
            let kth = |k: u64| {
                let mut acc = 0;
                for &(c, n, cnt) in &groups {
                    acc += cnt;
                    if k < acc {
                        return (c, n);
                    }
                }
                unreachable!("k < journeys")
            };
            let (c1, n1) = kth((journeys - 1) / 2);
            let (c2, n2) = kth(journeys / 2);
            ratio(c1 as i128 * n2 as i128 + c2 as i128 * n1 as i128, 2 * n1 as i128 * n2 as i128)
        };
        let mut hist = [0u64; 10];
        let mut full = 0;
        for &(c, n, cnt) in &groups {
            if c == n {
                full += cnt;
            } else {
                hist[(10 * c as u64 / n as u64) as usize] += cnt;
            }
        }
        let mut histogram: Vec<FitnessBucket> =
            (0..10).map(|b| FitnessBucket { from: b as f64 / 10.0, to: (b + 1) as f64 / 10.0, journeys: hist[b] }).collect();
        histogram.push(FitnessBucket { from: 1.0, to: 1.0, journeys: full });
        Ok(Conformance {
            options: ConformanceOptions {
                phase_order: map.phases.iter().map(|p| p.id.clone()).collect(),
                steps: "events; an event conforms unless it is off-map, on an unplanned channel, or a regression / skip against the previous on-map event".into(),
            },
            journeys,
            events,
            conforming_events: conforming,
            fitness: Fitness { mean, median, histogram },
            fully_conforming: full,
            share_fully_conforming: ratio(full as i128, journeys as i128),
            deviations: self.deviations,
            by_touchpoint: self.by_touchpoint.clone(),
        })
    }
}

/// Computes conformance to the map.
pub fn conformance(j: &Journeys<'_>) -> Conformance {
    conformance_counts(j).finish(j.resolver().map()).expect("counts built for this map")
}

/// The partial state of conformance over these journeys (see [`ConformanceCounts`]).
pub fn conformance_counts(j: &Journeys<'_>) -> ConformanceCounts {
    let map = j.resolver().map();
    let tp_of = j.touchpoint_of_names();
    let phase_of = j.phase_of_names();
    let nnames = j.table().names().len();
    let parts = j.par(|range| {
        let mut fit: FxHashMap<(u32, u32), u64> = FxHashMap::default();
        let mut dev = Deviations::default();
        let mut by_name = vec![Deviations::default(); nnames];
        for jx in range {
            let jr = j.journey(jx);
            let mut prev = NONE;
            let mut conf = 0u32;
            for (i, &nm) in jr.name.iter().enumerate() {
                let tp = tp_of[nm as usize];
                let bn = &mut by_name[nm as usize];
                if tp == NONE {
                    dev.off_map += 1;
                    bn.off_map += 1;
                    continue;
                }
                let mut ok = true;
                if j.unplanned(tp, jr.channel[i]) {
                    dev.unplanned_channel += 1;
                    bn.unplanned_channel += 1;
                    ok = false;
                }
                let q = phase_of[nm as usize];
                if q != NONE {
                    if prev != NONE && q < prev {
                        dev.regression += 1;
                        bn.regression += 1;
                        ok = false;
                    }
                    if prev != NONE && q > prev + 1 {
                        dev.skip += 1;
                        bn.skip += 1;
                        ok = false;
                    }
                    prev = q;
                }
                conf += ok as u32;
            }
            *fit.entry((conf, jr.len() as u32)).or_default() += 1;
        }
        (fit, dev, by_name)
    });
    let mut fit: FxHashMap<(u32, u32), u64> = FxHashMap::default();
    let mut dev = Deviations::default();
    let mut by_name = vec![Deviations::default(); nnames];
    for (f, d, b) in parts {
        for (k, v) in f {
            *fit.entry(k).or_default() += v;
        }
        dev.add(&d);
        for (a, x) in by_name.iter_mut().zip(&b) {
            a.add(x);
        }
    }
    // by touchpoint id (on-map) or raw name (off-map)
    let mut by_touchpoint: BTreeMap<String, Deviations> = BTreeMap::new();
    for (nm, d) in by_name.iter().enumerate() {
        if *d == Deviations::default() {
            continue;
        }
        let tp = tp_of[nm];
        let key = if tp == NONE { j.table().names().get(nm as u32).to_string() } else { map.touchpoints[tp as usize].id.clone() };
        by_touchpoint.entry(key).or_default().add(d);
    }
    let mut fitness: Vec<(u32, u32, u64)> = fit.into_iter().map(|((c, n), k)| (c, n, k)).collect();
    fitness.sort_unstable();
    ConformanceCounts { fitness, deviations: dev, by_touchpoint }
}

/// The exact mean of fitness: (Σ over groups of cnt · c / n) / journeys, correctly rounded.
fn exact_mean(groups: &[(u32, u32, u64)], journeys: u64) -> Option<f64> {
    if journeys == 0 {
        return None;
    }
    // Σ_n C_n / n with C_n = Σ cnt · c over groups of length n
    let mut by_len: BTreeMap<u32, u128> = BTreeMap::new();
    for &(c, n, cnt) in groups {
        *by_len.entry(n).or_default() += c as u128 * cnt as u128;
    }
    // common denominator L = lcm of the lengths (a big integer in general)
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let mut l = Big::from_u128(1);
    for &n in by_len.keys() {
        let (_, r) = l.div_small(n as u64);
        if r != 0 {
            // l = l * n / gcd(l mod n, n)... computed as l * (n / gcd(l, n))
            let g = gcd(n as u64, r);
            l = l.mul_small(n as u64 / g);
        }
    }
    let mut num = Big::default();
    for (&n, &c) in &by_len {
        let (share, _) = l.div_small(n as u64);
        // c can exceed 64 bits only for absurd inputs; split it in two 64-bit halves
        let lo = share.mul_small(c as u64);
        let hi = share.mul_small((c >> 64) as u64);
        num = num.add(&lo);
        if c >> 64 != 0 {
            let mut shifted = hi;
            for _ in 0..2 {
                shifted = shifted.mul_small(1 << 32);
            }
            num = num.add(&shifted);
        }
    }
    let den = l.mul_small(journeys);
    Some(ratio_big(&num, &den))
}
