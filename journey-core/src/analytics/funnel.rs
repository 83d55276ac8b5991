//! Funnels over ordered steps with a conversion window.
//!
//! Definitions (ANALYTICS.md, "Funnel"): a *chain* starts at an event matching step 1 at
//! `t0`; step `i+1` is the first event strictly after step `i`'s event (in `(ts, seq)`
//! order) that matches step `i+1` and has `ts <= t0 + W` (the edge is inclusive). A journey's
//! *level* is the most steps any of its chains matches; `count[i]` = journeys with level
//! `>= i`. A journey of level `1..n-1` whose latest-starting chain reaching that level still
//! has `t0 + W > now` is *in progress*, not dropped. Time to convert uses the latest start
//! that reaches step `n` and the greedy chain from it.
//!
//! Implementation: per journey, "next event matching step k at or after position i" tables
//! make each chain cost O(steps), so a journey costs O(events × steps) whatever its number
//! of repeated starts; journeys without a step-1 event are skipped after one scan.
//!
//! Decisions where ANALYTICS.md is silent:
//! * A step is a *set* (any of its names matches). Steps match raw event names, touchpoint
//!   ids or phase ids ([`StepLevel`]); an unknown touchpoint or phase id is an error.
//! * `window_us: None` is an unbounded window: nothing is in progress then.
//! * Strict order: step `i+1` must be the very next *step event* (an event matching any step)
//!   after step `i`'s event; the chain stops at the first step event that does not match.
//! * Per-step windows: `per_step_windows[i]` bounds the time from step `i+1`'s event to step
//!   `i+2`'s (0-based `i`, `None` = no bound), on top of the global window; the chain stays
//!   greedy (the first matching event), so it stops when that event is too late.
//! * Exclusion steps: when the journey's deciding chain (the latest start reaching its level)
//!   has an event matching an exclusion step strictly between two of its matched steps, the
//!   journey is removed from every count and counted in `excluded`; `journeys` counts the rest.
//! * Step labels: a step's names joined by `|`.
//! * Time-to-convert histogram: buckets `[0, e1), [e1, e2), ..., [ek, W]` (the last one ends
//!   at the window, `null` when unbounded); median = mean of the two middle values, p90 =
//!   nearest rank (the ⌈0.9·m⌉-th smallest). Partial states may keep the times in a quantile
//!   sketch ([`super::quantiles`]): the median and p90 are then estimates (the result's
//!   `relative_accuracy` says how close), the histogram stays exact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::time::Micros;

use super::intern::NONE;
use super::journeys::{Journey, Journeys};
use super::numbers::ratio;
use super::partial::merge::{add_counts, add_map, bad, expect_len};
use super::quantiles::{QuantileMode, Samples};

/// What the names of a funnel step are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepLevel {
    /// Raw event names.
    #[default]
    Event,
    /// Touchpoint ids of the map.
    Touchpoint,
    /// Phase ids of the map.
    Phase,
}

impl StepLevel {
    /// The level as published in `options.steps_match`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepLevel::Event => "raw event name",
            StepLevel::Touchpoint => "touchpoint",
            StepLevel::Phase => "phase",
        }
    }
}

/// One week, in microseconds (the benchmark's window).
pub const WEEK_US: Micros = 7 * 24 * 3600 * 1_000_000;

/// The default time-to-convert bucket edges: 1 min, 10 min, 1 h, 6 h, 1 d, 3 d.
pub const TTC_EDGES_US: [Micros; 6] = [60_000_000, 600_000_000, 3_600_000_000, 21_600_000_000, 86_400_000_000, 259_200_000_000];

/// How to compute a funnel.
///
/// In serde form only `steps` is required: the other fields default as in
/// [`FunnelOptions::events`] (match on events, a one-week window, `now` = the last `ts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelOptions {
    /// The steps, in order; each a set of names (at most 64 steps).
    pub steps: Vec<Vec<String>>,
    /// What the names are matched against.
    #[serde(default)]
    pub match_on: StepLevel,
    /// The conversion window `W` from the step-1 event, inclusive; `None` = unbounded.
    #[serde(default = "week")]
    pub window_us: Option<Micros>,
    /// The evaluation time; `None` = the last `ts` of the data.
    #[serde(default)]
    pub now_us: Option<Micros>,
    /// No other step event between matched steps.
    #[serde(default)]
    pub strict_order: bool,
    /// Events that remove a journey when they fall between two matched steps of its chain.
    #[serde(default)]
    pub exclusion_steps: Vec<Vec<String>>,
    /// Per-step windows between consecutive steps (length `steps - 1`); `None` = none.
    #[serde(default)]
    pub per_step_windows: Option<Vec<Option<Micros>>>,
    /// Time-to-convert histogram edges (ascending).
    #[serde(default = "ttc_edges")]
    pub histogram_edges_us: Vec<Micros>,
}

fn week() -> Option<Micros> {
    Some(WEEK_US)
}

fn ttc_edges() -> Vec<Micros> {
    TTC_EDGES_US.to_vec()
}

impl FunnelOptions {
    /// Steps of one raw event name each, a one-week window, everything else by default.
    pub fn events<S: AsRef<str>>(steps: &[S]) -> Self {
        FunnelOptions {
            steps: steps.iter().map(|s| vec![s.as_ref().to_string()]).collect(),
            match_on: StepLevel::Event,
            window_us: Some(WEEK_US),
            now_us: None,
            strict_order: false,
            exclusion_steps: Vec::new(),
            per_step_windows: None,
            histogram_edges_us: TTC_EDGES_US.to_vec(),
        }
    }
}

/// The options of a funnel, as published (with `now` resolved).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelOptionsEcho {
    /// The steps, each a set of names.
    pub steps: Vec<Vec<String>>,
    /// What the names were matched against.
    pub steps_match: &'static str,
    /// The window, `null` = unbounded.
    pub window_us: Option<Micros>,
    /// The evaluation time used.
    pub now_us: Option<Micros>,
    /// Strict order.
    pub strict_order: bool,
    /// Exclusion steps.
    pub exclusion_steps: Vec<Vec<String>>,
    /// Per-step windows, `null` = none.
    pub per_step_windows: Option<Vec<Option<Micros>>>,
}

/// One step's count.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStep {
    /// 1-based position.
    pub index: usize,
    /// The step's label.
    pub step: String,
    /// Journeys whose level is at least this step.
    pub journeys: u64,
    /// `journeys` / the previous step's (`null` for the first).
    pub conversion_from_previous: Option<f64>,
}

/// Journeys that stopped at a level below the last step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelStop {
    /// The level (1..n-1).
    pub level: usize,
    /// The label of the last step reached.
    pub step: String,
    /// Journeys of exactly this level.
    pub journeys: u64,
    /// Of them, still inside their window at `now`.
    pub in_progress: u64,
    /// The others.
    pub dropped: u64,
}

/// A histogram bucket of time to convert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TtcBucket {
    /// Lower edge, inclusive.
    pub from_us: Micros,
    /// Upper edge (exclusive, except the last bucket, which ends at the window).
    pub to_us: Option<Micros>,
    /// Journeys in the bucket.
    pub journeys: u64,
}

/// Time to convert of the converted journeys.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeToConvert {
    /// Converted journeys.
    pub journeys: u64,
    /// Median, microseconds.
    pub median_us: Option<f64>,
    /// 90th percentile (nearest rank), microseconds.
    pub p90_us: Option<Micros>,
    /// Histogram.
    pub histogram: Vec<TtcBucket>,
    /// Absent when the median and p90 are exact; else they are estimates from a quantile
    /// sketch, each within this relative error of the exact value (p90 then rounded to a
    /// whole microsecond). The counts and the histogram are exact either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_accuracy: Option<f64>,
}

/// The funnel measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Funnel {
    /// The options it was computed with.
    pub options: FunnelOptionsEcho,
    /// Journeys counted (all journeys, less the excluded ones).
    pub journeys: u64,
    /// Journeys that never matched step 1.
    pub not_entered: u64,
    /// Journeys that matched every step.
    pub converted: u64,
    /// One row per step.
    pub steps: Vec<FunnelStep>,
    /// One row per level 1..n-1.
    pub stopped_at: Vec<FunnelStop>,
    /// Time to convert.
    pub time_to_convert: TimeToConvert,
    /// Journeys removed by exclusion steps (only when exclusion steps are given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<u64>,
}

/// A funnel compiled against the data: per-name step masks and windows.
pub(crate) struct Compiled {
    pub m: usize,
    pub window: Option<Micros>,
    pub step_windows: Vec<Option<Micros>>,
    pub strict: bool,
    /// `None`: not known yet (a partial state over part of the data); in-progress is then
    /// decided at the finish, from each stopped journey's deadline.
    pub now: Option<Micros>,
    pub has_excl: bool,
}

/// What a journey's evaluation gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JourneyFunnel {
    /// The level (0 = not entered).
    pub level: usize,
    /// In progress at `now`.
    pub in_progress: bool,
    /// Time to convert, for converted journeys.
    pub ttc: Option<Micros>,
    /// Removed by an exclusion step.
    pub excluded: bool,
    /// The position in the journey of the deciding chain's step-1 event (the latest start
    /// reaching the journey's level); `None` at level 0.
    pub start: Option<usize>,
    /// For a journey stopped below the last step, with a window: the end of its deciding
    /// chain's window (`t0 + W`); it is in progress when this is later than `now`.
    pub deadline: Option<Micros>,
}

/// Scratch space for [`eval_journey`].
#[derive(Default)]
pub(crate) struct Scratch {
    next: Vec<u32>,
    excl_prefix: Vec<u32>,
    chain: Vec<u32>,
}

/// Evaluates one journey: `ts` in order, `mask[i]` = the steps event i matches (bit k =
/// step k+1), `excl[i]` = whether it matches an exclusion step.
pub(crate) fn eval_journey(ts: &[Micros], mask: &[u64], excl: &[bool], c: &Compiled, s: &mut Scratch) -> JourneyFunnel {
    let len = ts.len();
    if !mask.iter().any(|&x| x & 1 != 0) {
        return JourneyFunnel::default();
    }
    let m = c.m;
    // next tables: rows 1..m (step k), plus row 0 = any step (strict order)
    let stride = len + 1;
    s.next.clear();
    s.next.resize(m * stride, NONE);
    for i in (0..len).rev() {
        let mk = mask[i];
        for k in 0..m {
            let v = if k == 0 { mk != 0 } else { mk >> k & 1 != 0 };
            s.next[k * stride + i] = if v { i as u32 } else { s.next[k * stride + i + 1] };
        }
    }
    let greedy = |start: usize, chain: Option<&mut Vec<u32>>| -> (usize, usize) {
        let t0 = ts[start];
        let deadline = c.window.map_or(Micros::MAX, |w| t0.saturating_add(w));
        let (mut cur, mut level) = (start, 1);
        let mut chain = chain;
        if let Some(ch) = chain.as_deref_mut() {
            ch.clear();
            ch.push(start as u32);
        }
        for k in 1..m {
            let cand = if c.strict {
                let x = s.next[cur + 1];
                if x != NONE && mask[x as usize] >> k & 1 != 0 { x } else { NONE }
            } else {
                s.next[k * stride + cur + 1]
            };
            if cand == NONE {
                break;
            }
            let mut lim = deadline;
            if let Some(Some(w)) = c.step_windows.get(k - 1) {
                lim = lim.min(ts[cur].saturating_add(*w));
            }
            if ts[cand as usize] > lim {
                break;
            }
            cur = cand as usize;
            level += 1;
            if let Some(ch) = chain.as_deref_mut() {
                ch.push(cur as u32);
            }
        }
        (level, cur)
    };
    let (mut best_level, mut best_start, mut best_end) = (0, 0, 0);
    for (i, &mk) in mask.iter().enumerate() {
        if mk & 1 != 0 {
            let (level, end) = greedy(i, None);
            if level >= best_level {
                (best_level, best_start, best_end) = (level, i, end);
            }
        }
    }
    let t0 = ts[best_start];
    let deadline = if best_level < m { c.window.map(|w| t0.saturating_add(w)) } else { None };
    let mut out = JourneyFunnel {
        level: best_level,
        in_progress: deadline.zip(c.now).is_some_and(|(d, now)| d > now),
        ttc: (best_level == m).then(|| ts[best_end] - t0),
        excluded: false,
        start: Some(best_start),
        deadline,
    };
    if c.has_excl && best_level >= 2 {
        s.excl_prefix.clear();
        s.excl_prefix.push(0);
        let mut acc = 0;
        for &e in excl {
            acc += e as u32;
            s.excl_prefix.push(acc);
        }
        let mut chain = std::mem::take(&mut s.chain);
        greedy(best_start, Some(&mut chain));
        out.excluded = chain.windows(2).any(|w| s.excl_prefix[w[1] as usize] > s.excl_prefix[w[0] as usize + 1]);
        s.chain = chain;
    }
    out
}

fn name_masks(j: &Journeys<'_>, sets: &[Vec<String>], level: StepLevel) -> Result<Vec<u64>> {
    let table = j.table();
    let map = j.resolver().map();
    let mut masks = vec![0u64; table.names().len()];
    for (k, set) in sets.iter().enumerate() {
        for name in set {
            match level {
                StepLevel::Event => {
                    if let Some(id) = table.names().lookup(name) {
                        masks[id as usize] |= 1 << k;
                    }
                }
                StepLevel::Touchpoint => {
                    let tp = map.touchpoints.iter().position(|t| &t.id == name).ok_or_else(|| Error::NotFound { what: "touchpoint", id: name.clone() })?;
                    for (id, &t) in j.touchpoint_of_names().iter().enumerate() {
                        if t == tp as u32 {
                            masks[id] |= 1 << k;
                        }
                    }
                }
                StepLevel::Phase => {
                    let ph = map.phase_index(name).ok_or_else(|| Error::NotFound { what: "phase", id: name.clone() })?;
                    for (id, &p) in j.phase_of_names().iter().enumerate() {
                        if p == ph as u32 {
                            masks[id] |= 1 << k;
                        }
                    }
                }
            }
        }
    }
    Ok(masks)
}

/// A funnel compiled against the journeys: step masks per name id, and the chain rules.
pub(crate) struct Prepared {
    masks: Vec<u64>,
    excl_mask: Vec<u64>,
    c: Compiled,
    /// How times to convert are kept.
    quantiles: QuantileMode,
    /// Histogram edges (counted while sketching).
    edges: Vec<Micros>,
}

/// Checks the options and compiles them against the journeys, `now` resolved (the options',
/// else the last `ts` of the data).
pub(crate) fn prepare(j: &Journeys<'_>, o: &FunnelOptions) -> Result<Prepared> {
    prepare_with(j, o, Some(o.now_us.or(j.now()).unwrap_or(0)), QuantileMode::Exact)
}

/// Compiles a funnel for a partial state over part of the data: `now` is the options' (the
/// data's last `ts` is not known yet when they give none: in-progress is decided at the finish),
/// times to convert kept as `quantiles` says.
pub(crate) fn prepare_partial(j: &Journeys<'_>, o: &FunnelOptions, quantiles: &QuantileMode) -> Result<Prepared> {
    prepare_with(j, o, o.now_us, *quantiles)
}

fn prepare_with(j: &Journeys<'_>, o: &FunnelOptions, now: Option<Micros>, quantiles: QuantileMode) -> Result<Prepared> {
    let m = o.steps.len();
    if m == 0 || m > 64 {
        return Err(Error::parse("steps", format!("a funnel has 1 to 64 steps, not {m}")));
    }
    if let Some(w) = &o.per_step_windows
        && w.len() + 1 != m
    {
        return Err(Error::parse("per_step_windows", format!("expected {} windows (one between each two steps), found {}", m - 1, w.len())));
    }
    let masks = name_masks(j, &o.steps, o.match_on)?;
    let excl_mask = name_masks(j, &o.exclusion_steps, o.match_on)?;
    let c = Compiled {
        m,
        window: o.window_us,
        step_windows: o.per_step_windows.clone().unwrap_or_default(),
        strict: o.strict_order,
        now,
        has_excl: !o.exclusion_steps.is_empty(),
    };
    Ok(Prepared { masks, excl_mask, c, quantiles, edges: o.histogram_edges_us.clone() })
}

/// The partial state of a funnel (or of one group of a breakdown) over a subset of whole
/// journeys. Counts merge by addition and times to convert by concatenation (the median and
/// p90 stay exact), or, with a quantile sketch ([`super::quantiles`]), by adding the sketches
/// (the median and p90 become estimates; the histogram is then counted as it goes, exactly).
/// In-progress needs `now`, the last `ts` of the *whole* data unless the
/// options give one: when it is not known yet, each stopped journey's deadline (`t0 + W`) is
/// kept in `pending` (deadline -> journeys, per level) and counted at the finish.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FunnelCounts {
    /// Journeys of each level `0..=m` (excluded ones left out).
    pub levels: Vec<u64>,
    /// Of them, in progress (known so far).
    pub in_progress: Vec<u64>,
    /// Per level, the deadlines of stopped journeys whose in-progress is not decided yet.
    pub pending: Vec<BTreeMap<Micros, u64>>,
    /// Journeys removed by exclusion steps.
    pub excluded: u64,
    /// Times to convert of the converted journeys: every value, or a sketch.
    pub ttcs: Samples,
    /// With a sketch only: converted journeys per time-to-convert histogram bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttc_histogram: Option<Vec<u64>>,
}

impl FunnelCounts {
    /// Empty counts for a funnel of `m` steps, times to convert kept as `quantiles` says (a
    /// sketch also counts the histogram's `edges + 1` buckets).
    pub fn new(m: usize, quantiles: &QuantileMode, edges: usize) -> Self {
        FunnelCounts {
            levels: vec![0; m + 1],
            in_progress: vec![0; m + 1],
            pending: vec![BTreeMap::new(); m + 1],
            excluded: 0,
            ttcs: quantiles.samples(),
            ttc_histogram: (!quantiles.is_exact()).then(|| vec![0; edges + 1]),
        }
    }

    /// Adds the counts of other journeys (same funnel).
    pub fn merge(&mut self, o: &FunnelCounts) -> Result<()> {
        add_counts(&mut self.levels, &o.levels, "funnel.levels")?;
        add_counts(&mut self.in_progress, &o.in_progress, "funnel.in_progress")?;
        expect_len(&o.pending, self.pending.len(), "funnel.pending")?;
        for (a, b) in self.pending.iter_mut().zip(&o.pending) {
            add_map(a, b);
        }
        self.excluded += o.excluded;
        self.ttcs.merge(&o.ttcs, "funnel.ttcs")?;
        match (&mut self.ttc_histogram, &o.ttc_histogram) {
            (Some(a), Some(b)) => add_counts(a, b, "funnel.ttc_histogram"),
            (None, None) => Ok(()),
            _ => Err(bad("funnel.ttc_histogram", "present in one state and not in the other")),
        }
    }

    /// Whether no journey was counted.
    pub fn is_empty(&self) -> bool {
        self.levels.iter().sum::<u64>() + self.excluded == 0
    }

    /// Decides the pending journeys against `now` and checks the shape against the options.
    fn resolved(&self, o: &FunnelOptions, now: Micros) -> Result<FunnelCounts> {
        let m = o.steps.len();
        expect_len(&self.levels, m + 1, "funnel.levels")?;
        expect_len(&self.in_progress, m + 1, "funnel.in_progress")?;
        expect_len(&self.pending, m + 1, "funnel.pending")?;
        let mut out = FunnelCounts { pending: vec![BTreeMap::new(); m + 1], ..self.clone() };
        for (l, p) in self.pending.iter().enumerate() {
            out.in_progress[l] += p.range(now.saturating_add(1)..).map(|(_, c)| c).sum::<u64>();
            if out.in_progress[l] > out.levels[l] {
                return Err(bad("funnel.in_progress", format!("more journeys in progress than journeys at level {l}")));
            }
        }
        if out.ttcs.len() != out.levels[m] {
            return Err(bad("funnel.ttcs", format!("{} times to convert for {} converted journeys", out.ttcs.len(), out.levels[m])));
        }
        match (&out.ttcs, &out.ttc_histogram) {
            (Samples::Exact(_), None) => {}
            (Samples::Sketch(s), Some(h)) => {
                out.ttcs.check(&QuantileMode::sketch(s.relative_accuracy), "funnel.ttcs")?;
                expect_len(h, o.histogram_edges_us.len() + 1, "funnel.ttc_histogram")?;
                if h.iter().sum::<u64>() != out.levels[m] {
                    return Err(bad("funnel.ttc_histogram", format!("{} journeys in the histogram for {} converted journeys", h.iter().sum::<u64>(), out.levels[m])));
                }
            }
            _ => return Err(bad("funnel.ttc_histogram", "a histogram is counted with a sketch of times to convert, and only then")),
        }
        Ok(out)
    }

    /// The published funnel; `now` is the evaluation time (the options', else the last `ts`
    /// of the whole data).
    pub fn finish(&self, o: &FunnelOptions, now: Micros) -> Result<Funnel> {
        let g = self.resolved(o, now)?;
        let has_excl = !o.exclusion_steps.is_empty();
        let a = assemble(g, o, has_excl);
        Ok(Funnel {
            options: o.echo(now),
            journeys: a.journeys,
            not_entered: a.not_entered,
            converted: a.converted,
            steps: a.steps,
            stopped_at: a.stopped_at,
            time_to_convert: a.time_to_convert,
            excluded: a.excluded,
        })
    }

    /// The counts as published (without the options).
    pub(crate) fn assembled(&self, o: &FunnelOptions, now: Micros) -> Result<Assembled> {
        let g = self.resolved(o, now)?;
        Ok(assemble(g, o, !o.exclusion_steps.is_empty()))
    }
}

/// Evaluates every journey and counts it in its group: `group(journey index, journey,
/// evaluation)` gives a group `< groups`, or [`NONE`] to leave the journey out. The
/// evaluation is `None` for journeys with no step-1 event (level 0).
pub(crate) fn accumulate<G>(j: &Journeys<'_>, p: &Prepared, groups: usize, group: G) -> Vec<FunnelCounts>
where
    G: Fn(usize, &Journey<'_>, Option<&JourneyFunnel>) -> u32 + Sync,
{
    let (masks, excl_mask, c) = (&p.masks, &p.excl_mask, &p.c);
    let m = c.m;
    let empty = FunnelCounts::new(m, &p.quantiles, p.edges.len());
    let parts = j.par(|range| {
        let mut acc = vec![empty.clone(); groups];
        let mut scratch = Scratch::default();
        let mut mk: Vec<u64> = Vec::new();
        let mut ex: Vec<bool> = Vec::new();
        for jx in range {
            let jr = j.journey(jx);
            if !jr.name.iter().any(|&n| masks[n as usize] & 1 != 0) {
                let g = group(jx, &jr, None);
                if g != NONE {
                    acc[g as usize].levels[0] += 1;
                }
                continue;
            }
            mk.clear();
            mk.extend(jr.name.iter().map(|&n| masks[n as usize]));
            ex.clear();
            if c.has_excl {
                ex.extend(jr.name.iter().map(|&n| excl_mask[n as usize] != 0));
            }
            let r = eval_journey(jr.ts, &mk, &ex, c, &mut scratch);
            let g = group(jx, &jr, Some(&r));
            if g == NONE {
                continue;
            }
            let a = &mut acc[g as usize];
            if r.excluded {
                a.excluded += 1;
                continue;
            }
            a.levels[r.level] += 1;
            a.in_progress[r.level] += r.in_progress as u64;
            if let Some(d) = r.deadline.filter(|_| c.now.is_none()) {
                *a.pending[r.level].entry(d).or_default() += 1;
            }
            if let Some(t) = r.ttc {
                a.ttcs.push(t);
                if let Some(h) = a.ttc_histogram.as_mut() {
                    h[bucket(t, &p.edges)] += 1;
                }
            }
        }
        acc
    });
    let mut it = parts.into_iter();
    let mut total = it.next().unwrap_or_else(|| vec![empty.clone(); groups]);
    for part in it {
        for (a, b) in total.iter_mut().zip(&part) {
            a.merge(b).expect("same shape");
        }
    }
    total
}

/// The counts of a funnel, as published (without the options).
pub(crate) struct Assembled {
    pub journeys: u64,
    pub not_entered: u64,
    pub converted: u64,
    pub steps: Vec<FunnelStep>,
    pub stopped_at: Vec<FunnelStop>,
    pub time_to_convert: TimeToConvert,
    pub excluded: Option<u64>,
}

/// Turns a group's counts into published rows.
fn assemble(mut g: FunnelCounts, o: &FunnelOptions, has_excl: bool) -> Assembled {
    let m = o.steps.len();
    let levels = &g.levels;
    let in_progress = &g.in_progress;
    let label = |k: usize| o.steps[k].join("|");
    let at_least: Vec<u64> = (1..=m).map(|i| levels[i..].iter().sum()).collect();
    let steps = (0..m)
        .map(|i| FunnelStep {
            index: i + 1,
            step: label(i),
            journeys: at_least[i],
            conversion_from_previous: if i == 0 { None } else { ratio(at_least[i] as i128, at_least[i - 1] as i128) },
        })
        .collect();
    let stopped_at = (1..m)
        .map(|l| FunnelStop { level: l, step: label(l - 1), journeys: levels[l], in_progress: in_progress[l], dropped: levels[l] - in_progress[l] })
        .collect();
    let counted: u64 = levels.iter().sum();
    Assembled {
        journeys: counted,
        not_entered: counted - at_least[0],
        converted: at_least[m - 1],
        steps,
        stopped_at,
        time_to_convert: time_to_convert(&mut g.ttcs, g.ttc_histogram.as_deref(), &o.histogram_edges_us, o.window_us),
        excluded: has_excl.then_some(g.excluded),
    }
}

impl FunnelOptions {
    /// The options as published, with `now` resolved.
    pub(crate) fn echo(&self, now: Micros) -> FunnelOptionsEcho {
        FunnelOptionsEcho {
            steps: self.steps.clone(),
            steps_match: self.match_on.as_str(),
            window_us: self.window_us,
            now_us: Some(now),
            strict_order: self.strict_order,
            exclusion_steps: self.exclusion_steps.clone(),
            per_step_windows: self.per_step_windows.clone(),
        }
    }
}

impl Prepared {
    /// The evaluation time used (`None`: decided at the finish).
    pub(crate) fn now(&self) -> Option<Micros> {
        self.c.now
    }
}

/// Computes a funnel (see the module docs for the definitions and decisions).
pub fn funnel(j: &Journeys<'_>, o: &FunnelOptions) -> Result<Funnel> {
    let p = prepare(j, o)?;
    let g = accumulate(j, &p, 1, |_, _, _| 0).pop().expect("one group");
    g.finish(o, p.now().expect("resolved"))
}

/// The partial state of a funnel over these journeys, times to convert kept as `quantiles`
/// says (see [`FunnelCounts`]).
pub fn funnel_counts(j: &Journeys<'_>, o: &FunnelOptions, quantiles: &QuantileMode) -> Result<FunnelCounts> {
    let p = prepare_partial(j, o, quantiles)?;
    Ok(accumulate(j, &p, 1, |_, _, _| 0).pop().expect("one group"))
}

/// The histogram bucket of a time to convert.
fn bucket(x: Micros, edges: &[Micros]) -> usize {
    edges.iter().filter(|&&e| x >= e).count()
}

/// Median, p90 and histogram of times to convert; `counted`: the histogram counted while
/// sketching (else it is counted from the exact values).
pub(crate) fn time_to_convert(ttcs: &mut Samples, counted: Option<&[u64]>, edges: &[Micros], window: Option<Micros>) -> TimeToConvert {
    let n = ttcs.len();
    let hist = counted.map(<[u64]>::to_vec).unwrap_or_else(|| {
        let mut hist = vec![0u64; edges.len() + 1];
        for &x in ttcs.values().unwrap_or_default() {
            hist[bucket(x, edges)] += 1;
        }
        hist
    });
    let p90 = ttcs.p90();
    let median = ttcs.median();
    let histogram = (0..=edges.len())
        .map(|i| TtcBucket {
            from_us: if i == 0 { 0 } else { edges[i - 1] },
            to_us: if i < edges.len() { Some(edges[i]) } else { window },
            journeys: hist[i],
        })
        .collect();
    TimeToConvert { journeys: n, median_us: median, p90_us: p90, histogram, relative_accuracy: ttcs.relative_accuracy() }
}
