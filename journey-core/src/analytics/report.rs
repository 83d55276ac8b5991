//! A short text report for people: the journeys, phase reach, a funnel, the worst gray
//! areas and the hypothesis report, as the quickstart prints it.
//!
//! [`Analysis::report`] computes a [`Report`] (typed, serialisable, each part carrying its
//! options); `{}` (or [`Report::to_text`]) renders it. Decisions for the defaults
//! ([`ReportOptions::default`]):
//! * the funnel is over the map's phases, in order, with a 30-day window, unless
//!   [`ReportOptions::funnel`] gives one;
//! * gray areas: the changes (department handoffs and channel switches together) with at
//!   least `gray_areas_min_occurrences` (default 30) occurrences, ranked by lift (ties: more
//!   occurrences first, then dimension, from, to), the top `gray_areas_top` (default 5);
//! * the hypothesis report with [`HypothesisOptions::default`].

use std::fmt::Write as _;

use serde::Serialize;

use super::funnel::{Funnel, FunnelOptions, StepLevel, TTC_EDGES_US};
use super::gray_areas::{Change, GrayAreas, GrayAreasOptions};
use super::hypothesis::{HypothesisOptions, HypothesisReport};
use super::reach::Reach;
use super::session::Analysis;
use super::stitch::StitchResult;
use crate::error::Result;
use crate::time::Micros;

/// One day, in microseconds.
const DAY_US: Micros = 24 * 3600 * 1_000_000;

/// What the report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// The funnel; `None` = the map's phases in order, 30-day window.
    pub funnel: Option<FunnelOptions>,
    /// Gray-area options.
    pub gray_areas: GrayAreasOptions,
    /// How many gray areas to show.
    pub gray_areas_top: usize,
    /// Changes with fewer occurrences are not shown.
    pub gray_areas_min_occurrences: u64,
    /// The hypothesis report's thresholds.
    pub hypotheses: HypothesisOptions,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            funnel: None,
            gray_areas: GrayAreasOptions::default(),
            gray_areas_top: 5,
            gray_areas_min_occurrences: 30,
            hypotheses: HypothesisOptions::default(),
        }
    }
}

/// A gray area as the report ranks it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankedChange {
    /// `department` or `channel`.
    pub dimension: String,
    /// The change.
    #[serde(flatten)]
    pub change: Change,
    /// The dimension's baseline drop rate.
    pub baseline_drop_rate: Option<f64>,
}

/// The report (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Keys, profiles and journeys.
    pub stitch: StitchResult,
    /// Phase reach.
    pub reach: Reach,
    /// The funnel.
    pub funnel: Funnel,
    /// The gray areas shown, ranked.
    pub gray_areas: Vec<RankedChange>,
    /// The gray-area options used.
    pub gray_areas_options: GrayAreasOptions,
    /// Changes with fewer occurrences were not ranked.
    pub gray_areas_min_occurrences: u64,
    /// The hypothesis report.
    pub hypotheses: HypothesisReport,
}

/// The default funnel of the report: the map's phases, 30-day window.
pub fn phase_funnel(analysis: &Analysis) -> FunnelOptions {
    FunnelOptions {
        steps: analysis.map().phases.iter().map(|p| vec![p.id.clone()]).collect(),
        match_on: StepLevel::Phase,
        window_us: Some(30 * DAY_US),
        now_us: None,
        strict_order: false,
        exclusion_steps: Vec::new(),
        per_step_windows: None,
        histogram_edges_us: TTC_EDGES_US.to_vec(),
    }
}

/// Ranks the changes of both dimensions (see the module docs).
pub fn rank_gray_areas(g: &GrayAreas, min_occurrences: u64, top: usize) -> Vec<RankedChange> {
    let mut all: Vec<RankedChange> = [("department", &g.department), ("channel", &g.channel)]
        .into_iter()
        .flat_map(|(dim, d)| {
            d.changes.iter().filter(|c| c.occurrences >= min_occurrences && c.lift.is_some()).map(move |c| RankedChange {
                dimension: dim.to_string(),
                change: c.clone(),
                baseline_drop_rate: d.baseline.drop_rate,
            })
        })
        .collect();
    all.sort_by(|a, b| {
        let (x, y) = (a.change.lift.unwrap_or(0.0), b.change.lift.unwrap_or(0.0));
        y.total_cmp(&x)
            .then(b.change.occurrences.cmp(&a.change.occurrences))
            .then_with(|| (&a.dimension, &a.change.from, &a.change.to).cmp(&(&b.dimension, &b.change.from, &b.change.to)))
    });
    all.truncate(top);
    all
}

/// Computes the report.
pub fn report(analysis: &Analysis, o: &ReportOptions) -> Result<Report> {
    let funnel_options = o.funnel.clone().unwrap_or_else(|| phase_funnel(analysis));
    let g = analysis.gray_areas(&o.gray_areas);
    Ok(Report {
        stitch: analysis.stitch_summary(),
        reach: analysis.reach(),
        funnel: analysis.funnel(&funnel_options)?,
        gray_areas: rank_gray_areas(&g, o.gray_areas_min_occurrences, o.gray_areas_top),
        gray_areas_options: g.options,
        gray_areas_min_occurrences: o.gray_areas_min_occurrences,
        hypotheses: analysis.hypotheses(&o.hypotheses)?,
    })
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |x| format!("{:.1}%", x * 100.0))
}

/// A duration in microseconds as a short human text (`45 s`, `12 min`, `3.5 h`, `2.1 d`).
pub fn human_duration(us: f64) -> String {
    let s = us / 1e6;
    if s < 60.0 {
        format!("{s:.0} s")
    } else if s < 3600.0 {
        format!("{:.0} min", s / 60.0)
    } else if s < 86_400.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

impl Report {
    /// The report as text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let s = &self.stitch;
        let _ = writeln!(
            out,
            "Journeys: {} journeys from {} identity keys ({} profiles{})",
            thousands(s.journeys as u64),
            thousands(s.keys as u64),
            thousands(s.profiles as u64),
            match s.conflicts {
                Some(0) => ", identity limits applied, no link refused".to_string(),
                Some(c) => format!(", {} links refused by identity limits", thousands(c as u64)),
                None => ", no identity limits".to_string(),
            }
        );
        // reach
        let _ = writeln!(out, "\nPhase reach ({} journeys, {} without an on-map event):", thousands(self.reach.journeys), thousands(self.reach.journeys_without_phase));
        let w = self.reach.phases.iter().map(|p| p.phase.len()).max().unwrap_or(5);
        for p in &self.reach.phases {
            let prev = match (&p.previous_phase, p.share_of_previous) {
                (Some(prev), Some(x)) => format!("  {} of those that reached {prev}", pct(Some(x))),
                _ => String::new(),
            };
            let _ = writeln!(out, "  {:<w$} {:>9} {:>6}{prev}", p.phase, thousands(p.journeys), pct(p.share));
        }
        // funnel
        let f = &self.funnel;
        let window = f.options.window_us.map_or_else(|| "no window".into(), |w| format!("window {}", human_duration(w as f64)));
        let _ = writeln!(out, "\nFunnel ({} steps, {window}; {} journeys, {} never entered):", f.options.steps_match, thousands(f.journeys), thousands(f.not_entered));
        let w = f.steps.iter().map(|s| s.step.len()).max().unwrap_or(4);
        for (i, st) in f.steps.iter().enumerate() {
            let stop = f.stopped_at.get(i).map(|x| format!("  then stopped: {} dropped, {} in progress", thousands(x.dropped), thousands(x.in_progress))).unwrap_or_default();
            let conv = st.conversion_from_previous.map(|c| format!("{:>6} of previous", pct(Some(c)))).unwrap_or_else(|| " ".repeat(17));
            let _ = writeln!(out, "  {}. {:<w$} {:>9} {conv}{stop}", st.index, st.step, thousands(st.journeys));
        }
        let t = &f.time_to_convert;
        match (t.median_us, t.p90_us) {
            (Some(m), Some(p90)) => {
                let _ = writeln!(out, "  converted: {}, time to convert: median {}, p90 {}", thousands(f.converted), human_duration(m), human_duration(p90 as f64));
            }
            _ => {
                let _ = writeln!(out, "  converted: {}", thousands(f.converted));
            }
        }
        // gray areas
        let _ = writeln!(out, "\nGray areas (handoffs and channel switches after which journeys end most, at least {} occurrences):", self.gray_areas_min_occurrences);
        if self.gray_areas.is_empty() {
            let _ = writeln!(out, "  none with enough occurrences");
        }
        for g in &self.gray_areas {
            let c = &g.change;
            let emotion = c.emotion_change.map(|e| format!(", emotion {e:+.2} (over {} rated)", thousands(c.emotion_change_n))).unwrap_or_default();
            let _ = writeln!(
                out,
                "  {:<10} {} -> {}: {} times, journey ends after {} (baseline {}), lift {:.1}{emotion}",
                g.dimension,
                c.from,
                c.to,
                thousands(c.occurrences),
                pct(c.drop_rate),
                pct(g.baseline_drop_rate),
                c.lift.unwrap_or(0.0)
            );
        }
        out.push('\n');
        out.push_str(&self.hypotheses.to_text());
        out
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_text())
    }
}
