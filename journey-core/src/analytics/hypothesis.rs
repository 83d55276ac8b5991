//! The hypothesis report: every assumption of the map beside the evidence, with a verdict.
//!
//! Seed 002: the map is a hypothesis until it is checked against real customers. Each
//! assumption the map makes is one row ([`Assumption`]) with what was planned, what was
//! measured, the count behind it, the number compared, the threshold and a verdict:
//! [`Verdict::Confirmed`], [`Verdict::Contradicted`] or [`Verdict::NotEnoughData`].
//! ANALYTICS.md asks for the report but leaves the rules open; these are the decisions,
//! every threshold an option ([`HypothesisOptions`], defaults in brackets):
//!
//! * **Planned emotion** (every touchpoint with one): the measured mean of its normalised
//!   ratings ([`super::emotion()`]). Fewer than `emotion_min_ratings` (default 30) ratings: not
//!   enough data. Else confirmed when `|gap| <= emotion_tolerance` (default 0.25) (a quarter of a
//!   label step), contradicted otherwise. `value` = gap (measured - planned).
//! * **Key-moment flag** (every touchpoint, flagged or not: "not a key moment" is an
//!   assumption too): the difference in outcome rate between journeys rated non-negative and
//!   negative there ([`super::key_moments()`], with `key_moment_outcome`, default the map's
//!   last phase). Either group below `key_moment_min_count` (default 30) journeys: not enough data.
//!   Else the touchpoint *is measured* a key moment when `|difference| >=
//!   key_moment_min_difference` (default 0.20) (20 points of outcome rate); confirmed when that
//!   agrees with the flag. `value` = difference.
//! * **Planned channels** (every touchpoint that lists channels; an empty list plans every
//!   channel and assumes nothing): the share of its events (with a known channel) on a
//!   channel it does not plan. Fewer than `min_events` (default 30) events: not enough data; share
//!   above `channel_max_unplanned_share` (default 0.05): contradicted. `value` = share.
//! * **Owner** (every touchpoint with a department): the share of its events whose own
//!   department (given on the event) is another one. Fewer than `min_events` events with a
//!   department: not enough data; share above `owner_max_other_share` (default 0.05): contradicted.
//! * **Phase order**, from consecutive on-map events of each journey (off-map events stepped
//!   over, as [`super::conformance()`] does; same-phase steps included in the count):
//!   one row for regressions (`value` = regressions / steps, contradicted above
//!   `phase_max_regression_rate` (default 0.10)), one for skips (`phase_max_skip_rate` (default 0.10)), and
//!   one per phase after the first: "entered from the previous phase", `value` = the share
//!   of entries into it (steps from another phase) that come by a skip or a regression,
//!   contradicted above `phase_max_unplanned_entries` (default 0.25). Fewer than `phase_min_steps`
//!   (default 30) steps (or entries): not enough data.
//!
//! Rows are in this order: emotion, key moment, channels, owner (each in map order), phase
//! order. [`HypothesisReport::to_text`] renders it for people.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::emotion::{EmotionCounts, EmotionOptions, EmotionReport, emotion_counts};
use super::intern::{Interner, NONE};
use super::journeys::Journeys;
use super::key_moments::{KeyMomentCounts, KeyMoments, KeyMomentsOptions, Outcome, key_moment_counts};
use super::numbers::ratio;
use super::partial::merge::{bad, expect_len};
use crate::error::Result;
use crate::resolve::Resolver;
use crate::vocabulary::Channel;

/// The thresholds of the hypothesis report (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HypothesisOptions {
    /// Fewer ratings at a touchpoint is not enough data.
    pub emotion_min_ratings: u64,
    /// The largest |measured - planned| emotion that confirms the plan.
    pub emotion_tolerance: f64,
    /// The outcome key moments change; `None` = reaching the map's last phase.
    pub key_moment_outcome: Option<Outcome>,
    /// Both rating groups at a touchpoint need at least this many journeys.
    pub key_moment_min_count: u64,
    /// The smallest |difference| in outcome rate that makes a key moment.
    pub key_moment_min_difference: f64,
    /// Fewer events at a touchpoint is not enough data (channels, owner).
    pub min_events: u64,
    /// The largest share of a touchpoint's events on unplanned channels that confirms the plan.
    pub channel_max_unplanned_share: f64,
    /// The largest share of a touchpoint's events handled by another department that confirms the plan.
    pub owner_max_other_share: f64,
    /// Fewer phase steps (or entries into a phase) is not enough data.
    pub phase_min_steps: u64,
    /// The largest share of steps that go back to an earlier phase that confirms the order.
    pub phase_max_regression_rate: f64,
    /// The largest share of steps that skip a phase that confirms the order.
    pub phase_max_skip_rate: f64,
    /// The largest share of entries into a phase not from the previous phase that confirms it.
    pub phase_max_unplanned_entries: f64,
}

impl Default for HypothesisOptions {
    fn default() -> Self {
        HypothesisOptions {
            emotion_min_ratings: 30,
            emotion_tolerance: 0.25,
            key_moment_outcome: None,
            key_moment_min_count: 30,
            key_moment_min_difference: 0.20,
            min_events: 30,
            channel_max_unplanned_share: 0.05,
            owner_max_other_share: 0.05,
            phase_min_steps: 30,
            phase_max_regression_rate: 0.10,
            phase_max_skip_rate: 0.10,
            phase_max_unplanned_entries: 0.25,
        }
    }
}

/// What the evidence says about an assumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The data agrees with the map.
    Confirmed,
    /// The data contradicts the map.
    Contradicted,
    /// Too little data to tell.
    NotEnoughData,
}

impl Verdict {
    /// The verdict as published (`confirmed`, `contradicted`, `not_enough_data`).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::Contradicted => "contradicted",
            Verdict::NotEnoughData => "not_enough_data",
        }
    }
}

/// The kind of an assumption.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssumptionKind {
    /// A touchpoint's planned emotion.
    Emotion,
    /// A touchpoint's key-moment flag (set or not).
    KeyMoment,
    /// A touchpoint's planned channels.
    Channels,
    /// A touchpoint's owning department.
    Owner,
    /// The order of the phases.
    PhaseOrder,
}

impl AssumptionKind {
    /// The kind as published.
    pub fn as_str(self) -> &'static str {
        match self {
            AssumptionKind::Emotion => "emotion",
            AssumptionKind::KeyMoment => "key_moment",
            AssumptionKind::Channels => "channels",
            AssumptionKind::Owner => "owner",
            AssumptionKind::PhaseOrder => "phase_order",
        }
    }
}

/// One assumption of the map beside its evidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumption {
    /// What kind of assumption.
    pub kind: AssumptionKind,
    /// The touchpoint id, the phase id, or `map` for the whole phase order.
    pub subject: String,
    /// What the map assumes, in words.
    pub planned: String,
    /// What was measured, in words (`null` with no data at all).
    pub measured: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// The count behind it (ratings, journeys in the smaller group, events, steps, entries).
    pub evidence: u64,
    /// The number compared with the threshold (gap, difference, share, rate).
    pub value: Option<f64>,
    /// The threshold.
    pub threshold: f64,
    /// One readable sentence.
    pub note: String,
}

/// The hypothesis report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HypothesisReport {
    /// The options it was computed with.
    pub options: HypothesisOptions,
    /// Assumptions confirmed.
    pub confirmed: u64,
    /// Assumptions contradicted.
    pub contradicted: u64,
    /// Assumptions without enough data.
    pub not_enough_data: u64,
    /// Every assumption (see the module docs for the order).
    pub assumptions: Vec<Assumption>,
}

fn signed(x: f64) -> String {
    format!("{x:+.2}")
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// Counts the report needs beyond the measures: events per touchpoint and channel, per
/// touchpoint and own department, and phase steps.
struct Evidence {
    tp_channel: Vec<u64>,
    tp_dept: Vec<u64>,
    steps: u64,
    regressions: u64,
    skips: u64,
    /// per phase: entries from the previous phase, by a skip, by a regression
    entries: Vec<[u64; 3]>,
}

/// The evidence of the channel, owner and phase-order assumptions over a subset of whole
/// journeys: events per (touchpoint, channel) and per (touchpoint, own department), by ids
/// into `channels` and `departments`, and phase steps. Merged by addition.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EvidenceCounts {
    /// Channel names.
    pub channels: Interner,
    /// `(touchpoint, channel, events)`.
    pub tp_channel: Vec<(u32, u32, u64)>,
    /// Department names.
    pub departments: Interner,
    /// `(touchpoint, department, events)`.
    pub tp_dept: Vec<(u32, u32, u64)>,
    /// Consecutive on-map steps.
    pub steps: u64,
    /// Of them, regressions.
    pub regressions: u64,
    /// Of them, skips.
    pub skips: u64,
    /// Entries into each phase: `[from the previous phase, by a skip, by a regression]`.
    pub entries: Vec<[u64; 3]>,
}

/// Adds `(touchpoint, name id, count)` triples of `b` (names remapped) into `a`.
fn add_triples(a: &mut Vec<(u32, u32, u64)>, b: &[(u32, u32, u64)], remap: &[u32]) {
    let mut m: BTreeMap<(u32, u32), u64> = a.iter().map(|&(t, x, c)| ((t, x), c)).collect();
    for &(t, x, c) in b {
        *m.entry((t, remap[x as usize])).or_default() += c;
    }
    *a = m.into_iter().map(|((t, x), c)| (t, x, c)).collect();
}

impl EvidenceCounts {
    fn check(&self, ntp: usize) -> Result<()> {
        let bad_ids = |v: &[(u32, u32, u64)], n: usize| v.iter().any(|&(t, x, _)| t as usize >= ntp || x as usize >= n);
        if bad_ids(&self.tp_channel, self.channels.len()) {
            return Err(bad("hypotheses.evidence.tp_channel", "a touchpoint or channel id out of range"));
        }
        if bad_ids(&self.tp_dept, self.departments.len()) {
            return Err(bad("hypotheses.evidence.tp_dept", "a touchpoint or department id out of range"));
        }
        Ok(())
    }

    fn merge(&mut self, o: &EvidenceCounts) -> Result<()> {
        expect_len(&o.entries, self.entries.len(), "hypotheses.evidence.entries")?;
        o.check(u32::MAX as usize)?;
        let remap = self.channels.absorb(&o.channels);
        add_triples(&mut self.tp_channel, &o.tp_channel, &remap);
        let remap = self.departments.absorb(&o.departments);
        add_triples(&mut self.tp_dept, &o.tp_dept, &remap);
        self.steps += o.steps;
        self.regressions += o.regressions;
        self.skips += o.skips;
        for (a, b) in self.entries.iter_mut().zip(&o.entries) {
            for k in 0..3 {
                a[k] += b[k];
            }
        }
        Ok(())
    }
}

/// The partial state of the hypothesis report over a subset of whole journeys: the emotion
/// and key-moment states it reads, and the evidence of the other assumptions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HypothesisCounts {
    /// Emotion sums.
    pub emotion: EmotionCounts,
    /// Key-moment counts (for `key_moment_outcome`).
    pub key_moments: KeyMomentCounts,
    /// Channel, owner and phase-order evidence.
    pub evidence: EvidenceCounts,
}

impl HypothesisCounts {
    /// Adds the counts of other journeys (same map and options).
    pub fn merge(&mut self, o: &HypothesisCounts) -> Result<()> {
        self.emotion.merge(&o.emotion)?;
        self.key_moments.merge(&o.key_moments)?;
        self.evidence.merge(&o.evidence)
    }

    /// The published report; `resolver` is the map's.
    pub fn finish(&self, resolver: &Resolver, o: &HypothesisOptions) -> Result<HypothesisReport> {
        let map = resolver.map();
        let em = self.emotion.finish(map, &EmotionOptions { min_count: o.emotion_min_ratings, ..EmotionOptions::default() })?;
        let km = self.key_moments.finish(map, &KeyMomentsOptions { outcome: o.key_moment_outcome.clone(), min_count: o.key_moment_min_count })?;
        self.evidence.check(map.touchpoints.len())?;
        expect_len(&self.evidence.entries, map.phases.len(), "hypotheses.evidence.entries")?;
        Ok(report(resolver, o, &em, &km, &self.evidence))
    }
}

/// The partial state of the hypothesis report over these journeys (see [`HypothesisCounts`]).
pub fn hypothesis_counts(j: &Journeys<'_>, o: &HypothesisOptions) -> Result<HypothesisCounts> {
    let key_moments = key_moment_counts(j, &KeyMomentsOptions { outcome: o.key_moment_outcome.clone(), min_count: o.key_moment_min_count })?;
    let emotion = emotion_counts(j, 1, |_| 0).pop().expect("one group");
    let ev = gather(j);
    let ntp = j.resolver().map().touchpoints.len();
    let triples = |v: &[u64], n: usize| -> Vec<(u32, u32, u64)> {
        (0..ntp).flat_map(|t| (0..n).map(move |x| (t, x))).filter(|&(t, x)| v[t * n + x] > 0).map(|(t, x)| (t as u32, x as u32, v[t * n + x])).collect()
    };
    let evidence = EvidenceCounts {
        tp_channel: triples(&ev.tp_channel, j.table().channels().len()),
        channels: j.table().channels().clone(),
        tp_dept: triples(&ev.tp_dept, j.departments().len()),
        departments: j.departments().clone(),
        steps: ev.steps,
        regressions: ev.regressions,
        skips: ev.skips,
        entries: ev.entries,
    };
    Ok(HypothesisCounts { emotion, key_moments, evidence })
}

fn gather(j: &Journeys<'_>) -> Evidence {
    let map = j.resolver().map();
    let (ntp, np) = (map.touchpoints.len(), map.phases.len());
    let nch = j.table().channels().len();
    let nd = j.departments().len();
    let tp_of = j.touchpoint_of_names();
    let phase_of = j.phase_of_names();
    let own = j.table().department();
    let parts = j.par(|range| {
        let mut e = Evidence { tp_channel: vec![0; ntp * nch], tp_dept: vec![0; ntp * nd], steps: 0, regressions: 0, skips: 0, entries: vec![[0; 3]; np] };
        for jx in range {
            let jr = j.journey(jx);
            let mut prev = NONE;
            for (i, &nm) in jr.name.iter().enumerate() {
                let tp = tp_of[nm as usize];
                if tp == NONE {
                    continue;
                }
                let ch = jr.channel[i];
                if ch != NONE {
                    e.tp_channel[tp as usize * nch + ch as usize] += 1;
                }
                let d = own[jr.row[i] as usize];
                if d != NONE {
                    e.tp_dept[tp as usize * nd + d as usize] += 1;
                }
                let q = phase_of[nm as usize];
                if q == NONE {
                    continue;
                }
                if prev != NONE {
                    e.steps += 1;
                    if q != prev {
                        let kind = if q == prev + 1 {
                            0
                        } else if q > prev {
                            e.skips += 1;
                            1
                        } else {
                            e.regressions += 1;
                            2
                        };
                        e.entries[q as usize][kind] += 1;
                    }
                }
                prev = q;
            }
        }
        e
    });
    let mut it = parts.into_iter();
    let mut total = it.next().expect("one part at least");
    for p in it {
        for (a, b) in total.tp_channel.iter_mut().zip(&p.tp_channel) {
            *a += b;
        }
        for (a, b) in total.tp_dept.iter_mut().zip(&p.tp_dept) {
            *a += b;
        }
        total.steps += p.steps;
        total.regressions += p.regressions;
        total.skips += p.skips;
        for (a, b) in total.entries.iter_mut().zip(&p.entries) {
            for k in 0..3 {
                a[k] += b[k];
            }
        }
    }
    total
}

/// Computes the hypothesis report (see the module docs).
pub fn hypotheses(j: &Journeys<'_>, o: &HypothesisOptions) -> Result<HypothesisReport> {
    hypothesis_counts(j, o)?.finish(j.resolver(), o)
}

/// The report from the emotion and key-moment measures, computed with the report's options,
/// and the evidence of the other assumptions.
fn report(resolver: &Resolver, o: &HypothesisOptions, em: &EmotionReport, km: &KeyMoments, ev: &EvidenceCounts) -> HypothesisReport {
    const EPS: f64 = 1e-9;
    let map = resolver.map();
    let mut rows = Vec::new();
    // planned emotion
    for (t, e) in map.touchpoints.iter().zip(&em.touchpoints) {
        let Some(planned) = e.planned else { continue };
        let (verdict, note) = match (e.ratings >= o.emotion_min_ratings, e.gap) {
            (true, Some(gap)) if gap.abs() <= o.emotion_tolerance + EPS => {
                (Verdict::Confirmed, format!("measured {} over {} ratings: within ±{:.2}", signed(e.mean.unwrap_or(0.0)), e.ratings, o.emotion_tolerance))
            }
            (true, Some(gap)) => (
                Verdict::Contradicted,
                format!(
                    "measured {} over {} ratings: {} by {:.2}, beyond ±{:.2}",
                    signed(e.mean.unwrap_or(0.0)),
                    e.ratings,
                    if gap < 0.0 { "worse" } else { "better" },
                    gap.abs(),
                    o.emotion_tolerance
                ),
            ),
            _ => (Verdict::NotEnoughData, format!("{} ratings, fewer than {}", e.ratings, o.emotion_min_ratings)),
        };
        rows.push(Assumption {
            kind: AssumptionKind::Emotion,
            subject: t.id.clone(),
            planned: signed(planned),
            measured: e.mean.map(signed),
            verdict,
            evidence: e.ratings,
            value: e.gap,
            threshold: o.emotion_tolerance,
            note,
        });
    }
    // key-moment flags
    for k in &km.touchpoints {
        let smaller = k.negative.journeys.min(k.non_negative.journeys);
        let planned = if k.flagged { "key moment" } else { "not a key moment" };
        let (verdict, measured, note) = match k.difference {
            Some(d) if k.enough_data => {
                let is_key = d.abs() + EPS >= o.key_moment_min_difference;
                let rates = format!(
                    "outcome rate {} after a non-negative rating ({} journeys) against {} after a negative one ({})",
                    pct(k.non_negative.rate.unwrap_or(0.0)),
                    k.non_negative.journeys,
                    pct(k.negative.rate.unwrap_or(0.0)),
                    k.negative.journeys
                );
                let verdict = if is_key == k.flagged { Verdict::Confirmed } else { Verdict::Contradicted };
                let what = if is_key { "a key moment" } else { "not a key moment" };
                let cmp = if is_key { ">=" } else { "<" };
                (
                    verdict,
                    Some(format!("difference {}{}", signed(d), k.rank.map(|r| format!(" (rank {r})")).unwrap_or_default())),
                    format!("{rates}: |difference| {:.2} {cmp} {:.2}, so {what}", d.abs(), o.key_moment_min_difference),
                )
            }
            d => (
                Verdict::NotEnoughData,
                d.map(|d| format!("difference {}", signed(d))),
                format!(
                    "{} journeys rated negative and {} non-negative there; both groups need {}",
                    k.negative.journeys, k.non_negative.journeys, o.key_moment_min_count
                ),
            ),
        };
        rows.push(Assumption {
            kind: AssumptionKind::KeyMoment,
            subject: k.touchpoint.clone(),
            planned: planned.into(),
            measured,
            verdict,
            evidence: smaller,
            value: k.difference,
            threshold: o.key_moment_min_difference,
            note,
        });
    }
    // planned channels
    for (tp, t) in map.touchpoints.iter().enumerate() {
        if t.channels.is_empty() {
            continue;
        }
        let counts: Vec<(u64, &str)> = ev.tp_channel.iter().filter(|x| x.0 as usize == tp).map(|&(_, c, k)| (k, ev.channels.get(c))).collect();
        let n: u64 = counts.iter().map(|x| x.0).sum();
        let mut off: Vec<(u64, &str)> = counts.into_iter().filter(|&(_, ch)| !resolver.plans_channel(tp as u32, &Channel::parse(ch))).collect();
        off.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let unplanned: u64 = off.iter().map(|x| x.0).sum();
        let share = ratio(unplanned as i128, n as i128);
        let list = off.iter().take(3).map(|(c, ch)| format!("{ch} {c}")).collect::<Vec<_>>().join(", ");
        let planned = t.channels.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ");
        let (verdict, note) = match share {
            Some(s) if n >= o.min_events => {
                let v = if s <= o.channel_max_unplanned_share + EPS { Verdict::Confirmed } else { Verdict::Contradicted };
                let detail = if off.is_empty() { "every event on a planned channel".to_string() } else { format!("{} of {n} events on unplanned channels ({list})", pct(s)) };
                (v, format!("{detail}; at most {} allowed", pct(o.channel_max_unplanned_share)))
            }
            _ => (Verdict::NotEnoughData, format!("{n} events, fewer than {}", o.min_events)),
        };
        rows.push(Assumption {
            kind: AssumptionKind::Channels,
            subject: t.id.clone(),
            planned,
            measured: share.map(|s| if off.is_empty() { "all on planned channels".into() } else { format!("{} unplanned ({list})", pct(s)) }),
            verdict,
            evidence: n,
            value: share,
            threshold: o.channel_max_unplanned_share,
            note,
        });
    }
    // owner
    for (tp, t) in map.touchpoints.iter().enumerate() {
        let Some(owner) = &t.department else { continue };
        let counts: Vec<(u64, &str)> = ev.tp_dept.iter().filter(|x| x.0 as usize == tp).map(|&(_, d, k)| (k, ev.departments.get(d))).collect();
        let n: u64 = counts.iter().map(|x| x.0).sum();
        let mut other: Vec<(u64, &str)> = counts.into_iter().filter(|&(_, d)| d != owner.as_str()).collect();
        other.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let others: u64 = other.iter().map(|x| x.0).sum();
        let share = ratio(others as i128, n as i128);
        let list = other.iter().take(3).map(|(c, d)| format!("{d} {c}")).collect::<Vec<_>>().join(", ");
        let (verdict, note) = match share {
            Some(s) if n >= o.min_events => {
                let v = if s <= o.owner_max_other_share + EPS { Verdict::Confirmed } else { Verdict::Contradicted };
                let detail = if other.is_empty() {
                    format!("all {n} events with a department were handled by {owner}")
                } else {
                    format!("{} of {n} events with a department were handled by another one ({list})", pct(s))
                };
                (v, format!("{detail}; at most {} allowed", pct(o.owner_max_other_share)))
            }
            _ => (Verdict::NotEnoughData, format!("{n} events with a department, fewer than {}", o.min_events)),
        };
        rows.push(Assumption {
            kind: AssumptionKind::Owner,
            subject: t.id.clone(),
            planned: format!("owned by {owner}"),
            measured: share.map(|s| if other.is_empty() { format!("all by {owner}") } else { format!("{} by others ({list})", pct(s)) }),
            verdict,
            evidence: n,
            value: share,
            threshold: o.owner_max_other_share,
            note,
        });
    }
    // phase order
    let phase_row = |subject: String, planned: String, count: u64, steps: u64, max: f64, what: &str| {
        let rate = ratio(count as i128, steps as i128);
        let (verdict, note) = match rate {
            Some(r) if steps >= o.phase_min_steps => (
                if r <= max + EPS { Verdict::Confirmed } else { Verdict::Contradicted },
                format!("{count} of {steps} {what} ({}); at most {} allowed", pct(r), pct(max)),
            ),
            _ => (Verdict::NotEnoughData, format!("{steps} {}, fewer than {}", what.split_whitespace().next().unwrap_or(what), o.phase_min_steps)),
        };
        Assumption { kind: AssumptionKind::PhaseOrder, subject, planned, measured: rate.map(pct), verdict, evidence: steps, value: rate, threshold: max, note }
    };
    rows.push(phase_row("map".into(), "no step back to an earlier phase".into(), ev.regressions, ev.steps, o.phase_max_regression_rate, "phase steps go back"));
    rows.push(phase_row("map".into(), "no phase skipped".into(), ev.skips, ev.steps, o.phase_max_skip_rate, "phase steps skip a phase"));
    for (k, ph) in map.phases.iter().enumerate().skip(1) {
        let [planned, skip, regression] = ev.entries[k];
        let entries = planned + skip + regression;
        let mut row = phase_row(
            ph.id.clone(),
            format!("entered from {}", map.phases[k - 1].id),
            skip + regression,
            entries,
            o.phase_max_unplanned_entries,
            "entries come from elsewhere",
        );
        if entries >= o.phase_min_steps {
            row.note = format!("{} (skips {skip}, regressions {regression})", row.note);
        }
        rows.push(row);
    }
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count() as u64;
    HypothesisReport {
        options: o.clone(),
        confirmed: count(Verdict::Confirmed),
        contradicted: count(Verdict::Contradicted),
        not_enough_data: count(Verdict::NotEnoughData),
        assumptions: rows,
    }
}

impl HypothesisReport {
    /// The report as text: the counts; every contradicted assumption, one line each; the
    /// confirmed ones (emotion, flagged key moments and phase order one line each; channels,
    /// owners and touchpoints rightly not flagged as key moments listed by name); the ones
    /// without enough data listed by kind with their counts.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let total = self.assumptions.len();
        let _ = writeln!(
            out,
            "Hypothesis report: {total} assumptions of the map, {} confirmed, {} contradicted, {} without enough data",
            self.confirmed, self.contradicted, self.not_enough_data
        );
        let width = self.assumptions.iter().map(|a| a.subject.len()).max().unwrap_or(0);
        let line = |out: &mut String, a: &Assumption| {
            let _ = writeln!(out, "  {:<11} {:<width$}  planned {}; {}", a.kind.as_str(), a.subject, a.planned, a.note);
        };
        let list = |out: &mut String, kind: &str, what: &str, items: &[String]| {
            if !items.is_empty() {
                let _ = writeln!(out, "  {kind:<11} {what}: {}", items.join(", "));
            }
        };
        let contradicted: Vec<&Assumption> = self.assumptions.iter().filter(|a| a.verdict == Verdict::Contradicted).collect();
        if !contradicted.is_empty() {
            let _ = writeln!(out, "Contradicted:");
            for a in contradicted {
                line(&mut out, a);
            }
        }
        let confirmed: Vec<&Assumption> = self.assumptions.iter().filter(|a| a.verdict == Verdict::Confirmed).collect();
        if !confirmed.is_empty() {
            let _ = writeln!(out, "Confirmed:");
            let names = |f: &dyn Fn(&Assumption) -> bool| confirmed.iter().filter(|a| f(a)).map(|a| a.subject.clone()).collect::<Vec<_>>();
            for a in &confirmed {
                let listed = matches!(a.kind, AssumptionKind::Channels | AssumptionKind::Owner)
                    || (a.kind == AssumptionKind::KeyMoment && a.planned == "not a key moment");
                if !listed {
                    line(&mut out, a);
                }
            }
            list(&mut out, "key_moment", "not flagged, no measured effect", &names(&|a| a.kind == AssumptionKind::KeyMoment && a.planned == "not a key moment"));
            list(&mut out, "channels", "as planned", &names(&|a| a.kind == AssumptionKind::Channels));
            list(&mut out, "owner", "as planned", &names(&|a| a.kind == AssumptionKind::Owner));
        }
        let thin: Vec<&Assumption> = self.assumptions.iter().filter(|a| a.verdict == Verdict::NotEnoughData).collect();
        if !thin.is_empty() {
            let _ = writeln!(out, "Not enough data (the count found):");
            for kind in [AssumptionKind::Emotion, AssumptionKind::KeyMoment, AssumptionKind::Channels, AssumptionKind::Owner, AssumptionKind::PhaseOrder] {
                let items: Vec<String> = thin.iter().filter(|a| a.kind == kind).map(|a| format!("{} ({})", a.subject, a.evidence)).collect();
                if !items.is_empty() {
                    let _ = writeln!(out, "  {:<11} {}", kind.as_str(), items.join(", "));
                }
            }
        }
        out
    }
}

impl std::fmt::Display for HypothesisReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}
