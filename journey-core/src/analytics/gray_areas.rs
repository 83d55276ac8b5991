//! Gray areas: department handoffs and channel switches, and what follows them.
//!
//! A *handoff* is a consecutive pair of events of a journey whose departments differ (the
//! event's own department, else its touchpoint's owner); a *channel switch*, whose channels
//! differ. For each `(from, to)`: occurrences; *ends after* = occurrences whose second event
//! is the journey's last; drop rate = ends after / occurrences; lift = drop rate / baseline
//! drop rate; emotion change; median time between the two events.
//!
//! Decisions (the benchmark's Decision 9, and where it is silent):
//! * A pair with an unknown side is neither a change nor baseline (`unknown_pairs`).
//! * The baseline is one per dimension: all pairs with both sides known and equal.
//! * Emotion change: *before* = the from-event and the `w - 1` events before it, *after* =
//!   the to-event and the `w - 1` after it (fewer at the journey's ends), `w` =
//!   `emotion_window` (default 3); per occurrence, mean rating after minus mean rating before
//!   when both windows have a rating; averaged over those occurrences (`emotion_change_n`).
//!   Computed exactly: window means times lcm(1..w) are integers.
//! * Median gap: the mean of the two middle gaps for an even count. Partial states may keep
//!   the gaps in a quantile sketch ([`super::quantiles`]): the median gaps are then estimates
//!   (`median_gap_relative_accuracy` says how close); every count stays exact.
//! * Rows are sorted by `(from, to)`; ranking is left to the reader (by lift, by count).

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::Result;

use super::columns::{NO_RATING, RATING_UNIT};
use super::intern::{Interner, NONE};
use super::journeys::Journeys;
use super::numbers::{lcm_upto, ratio};
use super::partial::merge::bad;
use super::quantiles::{QuantileMode, Samples};

/// How to compute gray areas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GrayAreasOptions {
    /// Events before and after a change whose ratings are compared (w).
    pub emotion_window: usize,
    /// What "before" means (descriptive).
    pub before: String,
    /// What "after" means (descriptive).
    pub after: String,
    /// How unknown sides are treated (descriptive).
    pub unknown: String,
}

impl Default for GrayAreasOptions {
    fn default() -> Self {
        Self::with_window(3)
    }
}

impl GrayAreasOptions {
    /// Options with an emotion window of `w` events (at least 1).
    pub fn with_window(w: usize) -> Self {
        let w = w.max(1);
        GrayAreasOptions {
            emotion_window: w,
            before: format!("the from-event and the {} events before it", w - 1),
            after: format!("the to-event and the {} events after it", w - 1),
            unknown: "pairs with an unknown side are neither changes nor baseline".into(),
        }
    }
}

/// The baseline of a dimension: pairs with no change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    /// Pairs with both sides known and equal.
    pub pairs: u64,
    /// Of them, pairs whose second event ends the journey.
    pub ends_after: u64,
    /// ends_after / pairs.
    pub drop_rate: Option<f64>,
}

/// One kind of change `(from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The first event's department or channel.
    pub from: String,
    /// The second event's.
    pub to: String,
    /// How often it occurs.
    pub occurrences: u64,
    /// Occurrences whose second event ends the journey.
    pub ends_after: u64,
    /// ends_after / occurrences.
    pub drop_rate: Option<f64>,
    /// drop_rate / baseline drop rate.
    pub lift: Option<f64>,
    /// Mean change of emotion across it.
    pub emotion_change: Option<f64>,
    /// Occurrences with a rating on both sides.
    pub emotion_change_n: u64,
    /// Median time between the two events, microseconds.
    pub median_gap_us: Option<f64>,
}

/// Gray areas of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrayDimension {
    /// Consecutive pairs.
    pub pairs: u64,
    /// Pairs with an unknown side.
    pub unknown_pairs: u64,
    /// The baseline.
    pub baseline: Baseline,
    /// The changes, by `(from, to)`.
    pub changes: Vec<Change>,
}

/// The gray-areas measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GrayAreas {
    /// The options it was computed with.
    pub options: GrayAreasOptions,
    /// Department handoffs.
    pub department: GrayDimension,
    /// Channel switches.
    pub channel: GrayDimension,
    /// Absent when the median gaps are exact; else they are estimates from a quantile sketch,
    /// each within this relative error of the exact median.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_gap_relative_accuracy: Option<f64>,
}

/// The sums of one kind of change `(from, to)`.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// Occurrences.
    pub occ: u64,
    /// Occurrences whose second event ends the journey.
    pub ends: u64,
    /// Sum of the emotion changes, in units of 1/(lcm(1..w) × RATING_UNIT).
    pub d_sum: i64,
    /// Occurrences with an emotion change.
    pub d_n: u64,
    /// The gaps between the two events (for the median): every gap, or a sketch.
    pub gaps: Samples,
}

impl Cell {
    fn new(quantiles: &QuantileMode) -> Self {
        Cell { gaps: quantiles.samples(), ..Cell::default() }
    }

    fn merge(&mut self, c: &Cell, path: &str) -> Result<()> {
        self.occ += c.occ;
        self.ends += c.ends;
        self.d_sum += c.d_sum;
        self.d_n += c.d_n;
        self.gaps.merge(&c.gaps, path)
    }
}

/// The partial state of one gray-area dimension (departments or channels) over a subset of
/// whole journeys: pair counts, the baseline, and each change's sums by `(from, to)` ids into
/// `names`. Merged by adding the sums of the same names.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct DimensionCounts {
    /// Department or channel names.
    pub names: Interner,
    /// `(from, to, sums)` by name id.
    pub cells: Vec<(u32, u32, Cell)>,
    /// Consecutive pairs.
    pub pairs: u64,
    /// Pairs with an unknown side.
    pub unknown: u64,
    /// Pairs with no change.
    pub base: u64,
    /// Of them, pairs whose second event ends the journey.
    pub base_ends: u64,
}

impl DimensionCounts {
    fn check(&self, path: &str) -> Result<()> {
        let n = self.names.len();
        if self.cells.iter().any(|&(a, b, _)| a as usize >= n || b as usize >= n) {
            return Err(bad(path, format!("a name id beyond the {n} names")));
        }
        Ok(())
    }

    fn merge(&mut self, o: &DimensionCounts, path: &str) -> Result<()> {
        o.check(path)?;
        let remap = self.names.absorb(&o.names);
        let mut at: FxHashMap<(u32, u32), usize> = self.cells.iter().enumerate().map(|(i, c)| ((c.0, c.1), i)).collect();
        for (a, b, c) in &o.cells {
            let key = (remap[*a as usize], remap[*b as usize]);
            match at.get(&key) {
                Some(&i) => self.cells[i].2.merge(c, path)?,
                None => {
                    at.insert(key, self.cells.len());
                    self.cells.push((key.0, key.1, c.clone()));
                }
            }
        }
        self.pairs += o.pairs;
        self.unknown += o.unknown;
        self.base += o.base;
        self.base_ends += o.base_ends;
        Ok(())
    }

    fn finish(&self, l: i64, quantiles: &QuantileMode, path: &str) -> Result<GrayDimension> {
        self.check(path)?;
        for (_, _, c) in &self.cells {
            c.gaps.check(quantiles, path)?;
            if c.gaps.len() != c.occ {
                return Err(bad(path, format!("{} gaps for {} occurrences", c.gaps.len(), c.occ)));
            }
        }
        let baseline = ratio(self.base_ends as i128, self.base as i128);
        let mut changes: Vec<Change> = self
            .cells
            .iter()
            .map(|(a, b, c)| {
                let drop = ratio(c.ends as i128, c.occ as i128);
                Change {
                    from: self.names.get(*a).to_string(),
                    to: self.names.get(*b).to_string(),
                    occurrences: c.occ,
                    ends_after: c.ends,
                    drop_rate: drop,
                    lift: match (drop, baseline) {
                        (Some(x), Some(b)) if b != 0.0 => Some(x / b),
                        _ => None,
                    },
                    emotion_change: ratio(c.d_sum as i128, l as i128 * RATING_UNIT as i128 * c.d_n as i128),
                    emotion_change_n: c.d_n,
                    median_gap_us: c.gaps.clone().median(),
                }
            })
            .collect();
        changes.sort_unstable_by(|x, y| (&x.from, &x.to).cmp(&(&y.from, &y.to)));
        Ok(GrayDimension {
            pairs: self.pairs,
            unknown_pairs: self.unknown,
            baseline: Baseline { pairs: self.base, ends_after: self.base_ends, drop_rate: baseline },
            changes,
        })
    }
}

/// The partial state of gray areas over a subset of whole journeys (see [`DimensionCounts`]).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GrayAreaCounts {
    /// Department handoffs.
    pub department: DimensionCounts,
    /// Channel switches.
    pub channel: DimensionCounts,
}

impl GrayAreaCounts {
    /// Adds the sums of other journeys (same options).
    pub fn merge(&mut self, o: &GrayAreaCounts) -> Result<()> {
        self.department.merge(&o.department, "gray_areas.department")?;
        self.channel.merge(&o.channel, "gray_areas.channel")
    }

    /// The published measure; `quantiles`: how the gaps were kept (the state must agree).
    pub fn finish(&self, o: &GrayAreasOptions, quantiles: &QuantileMode) -> Result<GrayAreas> {
        let l = lcm_upto(o.emotion_window.max(1) as u64) as i64;
        Ok(GrayAreas {
            options: o.clone(),
            department: self.department.finish(l, quantiles, "gray_areas.department")?,
            channel: self.channel.finish(l, quantiles, "gray_areas.channel")?,
            median_gap_relative_accuracy: quantiles.relative_accuracy(),
        })
    }
}

struct Dim {
    n: usize,
    /// An empty cell, in the form the gaps are kept in.
    empty: Cell,
    dense: Vec<Cell>,
    sparse: FxHashMap<(u32, u32), Cell>,
    total: u64,
    unknown: u64,
    base: u64,
    base_ends: u64,
}

impl Dim {
    fn new(n: usize, quantiles: &QuantileMode) -> Self {
        let empty = Cell::new(quantiles);
        let dense = if n <= 128 { vec![empty.clone(); n * n] } else { Vec::new() };
        Dim { n, empty, dense, sparse: FxHashMap::default(), total: 0, unknown: 0, base: 0, base_ends: 0 }
    }
    #[inline]
    fn cell(&mut self, a: u32, b: u32) -> &mut Cell {
        if self.n <= 128 { &mut self.dense[a as usize * self.n + b as usize] } else { self.sparse.entry((a, b)).or_insert_with(|| self.empty.clone()) }
    }
    fn into_counts(mut self, names: &Interner) -> DimensionCounts {
        let n = self.n;
        let mut cells: Vec<(u32, u32, Cell)> = if n <= 128 {
            std::mem::take(&mut self.dense).into_iter().enumerate().filter(|(_, c)| c.occ > 0).map(|(i, c)| ((i / n) as u32, (i % n) as u32, c)).collect()
        } else {
            std::mem::take(&mut self.sparse).into_iter().map(|((a, b), c)| (a, b, c)).collect()
        };
        cells.sort_unstable_by_key(|c| (c.0, c.1));
        DimensionCounts { names: names.clone(), cells, pairs: self.total, unknown: self.unknown, base: self.base, base_ends: self.base_ends }
    }

    fn merge(&mut self, o: Dim) {
        self.total += o.total;
        self.unknown += o.unknown;
        self.base += o.base;
        self.base_ends += o.base_ends;
        let n = self.n;
        let cells: Vec<((u32, u32), Cell)> = if n <= 128 {
            o.dense.into_iter().enumerate().filter(|(_, c)| c.occ > 0).map(|(i, c)| (((i / n) as u32, (i % n) as u32), c)).collect()
        } else {
            o.sparse.into_iter().collect()
        };
        for ((a, b), c) in cells {
            self.cell(a, b).merge(&c, "gray_areas").expect("parts of one computation keep gaps alike");
        }
    }
}

/// Computes gray areas for departments and channels.
pub fn gray_areas(j: &Journeys<'_>, o: &GrayAreasOptions) -> GrayAreas {
    let exact = QuantileMode::Exact;
    gray_area_counts(j, o, &exact).finish(o, &exact).expect("counts built for these names")
}

/// The partial state of gray areas over these journeys, gaps kept as `quantiles` says (see
/// [`GrayAreaCounts`]).
pub fn gray_area_counts(j: &Journeys<'_>, o: &GrayAreasOptions, quantiles: &QuantileMode) -> GrayAreaCounts {
    let w = o.emotion_window.max(1);
    let l = lcm_upto(w as u64) as i64;
    let (nd, nc) = (j.departments().len(), j.table().channels().len());
    let parts = j.par(|range| {
        let mut dd = Dim::new(nd, quantiles);
        let mut dc = Dim::new(nc, quantiles);
        let mut ps: Vec<i64> = Vec::new();
        let mut pn: Vec<i64> = Vec::new();
        for jx in range {
            let jr = j.journey(jx);
            let len = jr.len();
            if len < 2 {
                continue;
            }
            let rated = jr.rating.iter().any(|&q| q != NO_RATING);
            if rated {
                ps.clear();
                pn.clear();
                ps.push(0);
                pn.push(0);
                let (mut s, mut c) = (0i64, 0i64);
                for &q in jr.rating {
                    if q != NO_RATING {
                        s += q as i64;
                        c += 1;
                    }
                    ps.push(s);
                    pn.push(c);
                }
            }
            let delta = |i: usize| -> Option<i64> {
                if !rated {
                    return None;
                }
                let (b0, b1) = (i.saturating_sub(w - 1), i + 1);
                let (a0, a1) = (i + 1, (i + 1 + w).min(len));
                let (nb, na) = (pn[b1] - pn[b0], pn[a1] - pn[a0]);
                if nb == 0 || na == 0 {
                    return None;
                }
                Some((l / na) * (ps[a1] - ps[a0]) - (l / nb) * (ps[b1] - ps[b0]))
            };
            for (dim, col) in [(&mut dd, jr.dept), (&mut dc, jr.channel)] {
                for i in 0..len - 1 {
                    let (a, b) = (col[i], col[i + 1]);
                    dim.total += 1;
                    let ends = i + 2 == len;
                    if a == NONE || b == NONE {
                        dim.unknown += 1;
                    } else if a == b {
                        dim.base += 1;
                        dim.base_ends += ends as u64;
                    } else {
                        let d = delta(i);
                        let cell = dim.cell(a, b);
                        cell.occ += 1;
                        cell.ends += ends as u64;
                        cell.gaps.push(jr.ts[i + 1] - jr.ts[i]);
                        if let Some(d) = d {
                            cell.d_sum += d;
                            cell.d_n += 1;
                        }
                    }
                }
            }
        }
        (dd, dc)
    });
    let mut it = parts.into_iter();
    let (mut dd, mut dc) = it.next().expect("one part at least");
    for (a, b) in it {
        dd.merge(a);
        dc.merge(b);
    }
    GrayAreaCounts { department: dd.into_counts(j.departments()), channel: dc.into_counts(j.table().channels()) }
}
