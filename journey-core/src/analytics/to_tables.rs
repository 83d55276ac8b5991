//! Conversions of every result to tables (the columns are listed in [`super::table`]).

use super::breakdown::FunnelBreakdown;
use super::conformance::Conformance;
use super::emotion::{EmotionReport, PhaseEmotion, TouchpointEmotion};
use super::funnel::{Funnel, FunnelStep, FunnelStop, TimeToConvert};
use super::gray_areas::GrayAreas;
use super::hypothesis::HypothesisReport;
use super::key_moments::KeyMoments;
use super::paths::Paths;
use super::persona::{EmotionByPersona, ReachByPersona};
use super::reach::{PhaseReach, Reach};
use super::stitch::StitchResult;
use super::table::{Table, ToTables};
use super::transitions::{TransitionLevel, Transitions};
use crate::time::Micros;

fn i(x: u64) -> i64 {
    x as i64
}

impl ToTables for StitchResult {
    fn to_tables(&self) -> Vec<Table> {
        vec![
            Table::new("stitch")
                .int("keys", [self.keys as i64])
                .int("profiles", [self.profiles as i64])
                .int("journeys", [self.journeys as i64])
                .int("profiles_without_events", [self.profiles_without_events as i64])
                .int("largest_profile_keys", [self.largest_profile_keys as i64])
                .int_opt("conflicts", [self.conflicts.map(|c| c as i64)])
                .with_options(&self.options),
        ]
    }
}

/// The reach columns, with `prefix` columns already added by the caller.
fn reach_columns(t: Table, rows: &[&PhaseReach]) -> Table {
    t.text("phase", rows.iter().map(|p| p.phase.clone()))
        .int("index", rows.iter().map(|p| p.index as i64))
        .int("journeys", rows.iter().map(|p| i(p.journeys)))
        .float_opt("share", rows.iter().map(|p| p.share))
        .text_opt("previous_phase", rows.iter().map(|p| p.previous_phase.clone()))
        .int_opt("reached_previous", rows.iter().map(|p| p.reached_previous.map(i)))
        .int_opt("reached_previous_and_this", rows.iter().map(|p| p.reached_previous_and_this.map(i)))
        .float_opt("share_of_previous", rows.iter().map(|p| p.share_of_previous))
}

impl ToTables for Reach {
    fn to_tables(&self) -> Vec<Table> {
        let rows: Vec<&PhaseReach> = self.phases.iter().collect();
        vec![reach_columns(Table::new("reach"), &rows).with_options(&self.options)]
    }
}

impl ToTables for ReachByPersona {
    fn to_tables(&self) -> Vec<Table> {
        let mut persona = Vec::new();
        let mut total = Vec::new();
        let mut rows = Vec::new();
        for g in &self.personas {
            for p in &g.reach.phases {
                persona.push(g.persona.clone());
                total.push(i(g.reach.journeys));
                rows.push(p);
            }
        }
        let t = Table::new("reach_by_persona").text_opt("persona", persona).int("persona_journeys", total);
        let opts = serde_json::json!({"personas": self.options, "reach": self.personas.first().map(|g| &g.reach.options)});
        vec![reach_columns(t, &rows).with_options(&opts)]
    }
}

/// The step columns of one funnel (or group), with its stops merged in.
fn step_columns(t: Table, rows: &[(&FunnelStep, Option<&FunnelStop>, u64)]) -> Table {
    t.int("index", rows.iter().map(|r| r.0.index as i64))
        .text("step", rows.iter().map(|r| r.0.step.clone()))
        .int("journeys", rows.iter().map(|r| i(r.0.journeys)))
        .float_opt("conversion_from_previous", rows.iter().map(|r| r.0.conversion_from_previous))
        .float_opt("conversion_from_first", rows.iter().map(|r| super::numbers::ratio(r.0.journeys as i128, r.2 as i128)))
        .int_opt("stopped", rows.iter().map(|r| r.1.map(|s| i(s.journeys))))
        .int_opt("in_progress", rows.iter().map(|r| r.1.map(|s| i(s.in_progress))))
        .int_opt("dropped", rows.iter().map(|r| r.1.map(|s| i(s.dropped))))
}

fn step_rows<'f>(steps: &'f [FunnelStep], stops: &'f [FunnelStop]) -> Vec<(&'f FunnelStep, Option<&'f FunnelStop>, u64)> {
    let first = steps.first().map_or(0, |s| s.journeys);
    steps.iter().enumerate().map(|(k, s)| (s, stops.get(k), first)).collect()
}

struct Summary<'a> {
    journeys: u64,
    not_entered: u64,
    converted: u64,
    excluded: Option<u64>,
    ttc: &'a TimeToConvert,
}

fn summary_columns(t: Table, rows: &[Summary<'_>], now: Option<Micros>, window: Option<Micros>) -> Table {
    t.int("journeys", rows.iter().map(|r| i(r.journeys)))
        .int("not_entered", rows.iter().map(|r| i(r.not_entered)))
        .int("converted", rows.iter().map(|r| i(r.converted)))
        .int_opt("excluded", rows.iter().map(|r| r.excluded.map(i)))
        .timestamp_opt("now", rows.iter().map(|_| now))
        .duration_opt("window", rows.iter().map(|_| window))
        .int("ttc_journeys", rows.iter().map(|r| i(r.ttc.journeys)))
        .float_opt("ttc_median_us", rows.iter().map(|r| r.ttc.median_us))
        .duration_opt("ttc_p90", rows.iter().map(|r| r.ttc.p90_us))
}

fn histogram_columns(t: Table, ttcs: &[&TimeToConvert]) -> Table {
    let buckets: Vec<_> = ttcs.iter().flat_map(|t| &t.histogram).collect();
    t.duration("from", buckets.iter().map(|b| b.from_us)).duration_opt("to", buckets.iter().map(|b| b.to_us)).int("journeys", buckets.iter().map(|b| i(b.journeys)))
}

impl ToTables for Funnel {
    fn to_tables(&self) -> Vec<Table> {
        let o = &self.options;
        vec![
            step_columns(Table::new("funnel_steps"), &step_rows(&self.steps, &self.stopped_at)).with_options(o),
            summary_columns(
                Table::new("funnel_summary"),
                &[Summary { journeys: self.journeys, not_entered: self.not_entered, converted: self.converted, excluded: self.excluded, ttc: &self.time_to_convert }],
                o.now_us,
                o.window_us,
            )
            .with_options(o),
            histogram_columns(Table::new("funnel_time_to_convert"), &[&self.time_to_convert]).with_options(o),
        ]
    }
}

impl ToTables for FunnelBreakdown {
    fn to_tables(&self) -> Vec<Table> {
        let o = &self.options;
        let mut value = Vec::new();
        let mut rows = Vec::new();
        for g in &self.groups {
            for r in step_rows(&g.steps, &g.stopped_at) {
                value.push(g.value.clone());
                rows.push(r);
            }
        }
        let steps = step_columns(Table::new("funnel_breakdown").text_opt("value", value), &rows).with_options(o);
        let summaries: Vec<Summary<'_>> = self
            .groups
            .iter()
            .map(|g| Summary { journeys: g.journeys, not_entered: g.not_entered, converted: g.converted, excluded: g.excluded, ttc: &g.time_to_convert })
            .collect();
        let summary = summary_columns(
            Table::new("funnel_breakdown_summary").text_opt("value", self.groups.iter().map(|g| g.value.clone())),
            &summaries,
            o.funnel.now_us,
            o.funnel.window_us,
        )
        .with_options(o);
        let hist_values = self.groups.iter().flat_map(|g| g.time_to_convert.histogram.iter().map(|_| g.value.clone()));
        let ttcs: Vec<&TimeToConvert> = self.groups.iter().map(|g| &g.time_to_convert).collect();
        let hist = histogram_columns(Table::new("funnel_breakdown_time_to_convert").text_opt("value", hist_values), &ttcs).with_options(o);
        vec![steps, summary, hist]
    }
}

impl ToTables for Transitions {
    fn to_tables(&self) -> Vec<Table> {
        let levels: Vec<(&str, &TransitionLevel)> =
            [("event", &self.event), ("touchpoint", &self.touchpoint), ("phase", &self.phase)].into_iter().filter_map(|(n, l)| l.as_ref().map(|l| (n, l))).collect();
        let pairs: Vec<(&str, &(String, String, u64))> = levels.iter().flat_map(|(n, l)| l.counts.iter().map(move |c| (*n, c))).collect();
        let named = |name: &str, f: fn(&TransitionLevel) -> &Vec<(String, u64)>| {
            let rows: Vec<(&str, &(String, u64))> = levels.iter().flat_map(|(n, l)| f(l).iter().map(move |c| (*n, c))).collect();
            Table::new(name)
                .text("level", rows.iter().map(|r| r.0))
                .text("name", rows.iter().map(|r| r.1.0.clone()))
                .int("journeys", rows.iter().map(|r| i(r.1.1)))
                .with_options(&self.options)
        };
        vec![
            Table::new("transitions")
                .text("level", pairs.iter().map(|r| r.0))
                .text("from", pairs.iter().map(|r| r.1.0.clone()))
                .text("to", pairs.iter().map(|r| r.1.1.clone()))
                .int("count", pairs.iter().map(|r| i(r.1.2)))
                .with_options(&self.options),
            named("transition_starts", |l| &l.starts),
            named("transition_ends", |l| &l.ends),
        ]
    }
}

impl ToTables for Paths {
    fn to_tables(&self) -> Vec<Table> {
        let sep = self.options.separator.as_str();
        vec![
            Table::new("paths")
                .int("rank", (1..=self.top.len()).map(|r| r as i64))
                .text("path", self.top.iter().map(|p| p.path.clone()))
                .int("names", self.top.iter().map(|p| if sep.is_empty() { 1 } else { p.path.split(sep).count() as i64 }))
                .int("journeys", self.top.iter().map(|p| i(p.journeys)))
                .float_opt("share", self.top.iter().map(|p| super::numbers::ratio(p.journeys as i128, self.journeys as i128)))
                .with_options(&self.options),
        ]
    }
}

fn touchpoint_columns(t: Table, rows: &[&TouchpointEmotion]) -> Table {
    t.text("touchpoint", rows.iter().map(|r| r.touchpoint.clone()))
        .text("phase", rows.iter().map(|r| r.phase.clone()))
        .int("ratings", rows.iter().map(|r| i(r.ratings)))
        .float_opt("mean", rows.iter().map(|r| r.mean))
        .float_opt("std", rows.iter().map(|r| r.std))
        .float_opt("planned", rows.iter().map(|r| r.planned))
        .float_opt("gap", rows.iter().map(|r| r.gap))
        .boolean("enough_data", rows.iter().map(|r| r.enough_data))
}

fn phase_columns(t: Table, rows: &[&PhaseEmotion]) -> Table {
    t.text("phase", rows.iter().map(|r| r.phase.clone()))
        .int("ratings", rows.iter().map(|r| i(r.ratings)))
        .float_opt("mean", rows.iter().map(|r| r.mean))
        .float_opt("std", rows.iter().map(|r| r.std))
        .float_opt("planned", rows.iter().map(|r| r.planned))
        .float_opt("gap", rows.iter().map(|r| r.gap))
        .boolean("enough_data", rows.iter().map(|r| r.enough_data))
}

impl ToTables for EmotionReport {
    fn to_tables(&self) -> Vec<Table> {
        let tps: Vec<&TouchpointEmotion> = self.touchpoints.iter().collect();
        let phs: Vec<&PhaseEmotion> = self.phases.iter().collect();
        let dist: Vec<(&str, &(f64, u64))> =
            self.journeys.lowest.iter().map(|x| ("lowest", x)).chain(self.journeys.last.iter().map(|x| ("last", x))).collect();
        vec![
            touchpoint_columns(Table::new("emotion_touchpoints"), &tps).with_options(&self.options),
            phase_columns(Table::new("emotion_phases"), &phs).with_options(&self.options),
            Table::new("emotion_journeys")
                .text("kind", dist.iter().map(|d| d.0))
                .float("rating", dist.iter().map(|d| d.1.0))
                .int("journeys", dist.iter().map(|d| i(d.1.1)))
                .with_options(&self.options),
        ]
    }
}

impl ToTables for EmotionByPersona {
    fn to_tables(&self) -> Vec<Table> {
        let opts = serde_json::json!({"personas": self.options, "emotion": self.personas.first().map(|g| &g.emotion.options)});
        let tps: Vec<(Option<String>, &TouchpointEmotion)> = self.personas.iter().flat_map(|g| g.emotion.touchpoints.iter().map(|t| (g.persona.clone(), t))).collect();
        let phs: Vec<(Option<String>, &PhaseEmotion)> = self.personas.iter().flat_map(|g| g.emotion.phases.iter().map(|t| (g.persona.clone(), t))).collect();
        vec![
            touchpoint_columns(Table::new("emotion_by_persona").text_opt("persona", tps.iter().map(|r| r.0.clone())), &tps.iter().map(|r| r.1).collect::<Vec<_>>())
                .with_options(&opts),
            phase_columns(Table::new("emotion_phases_by_persona").text_opt("persona", phs.iter().map(|r| r.0.clone())), &phs.iter().map(|r| r.1).collect::<Vec<_>>())
                .with_options(&opts),
        ]
    }
}

impl ToTables for GrayAreas {
    fn to_tables(&self) -> Vec<Table> {
        let dims = [("department", &self.department), ("channel", &self.channel)];
        let rows: Vec<(&str, Option<f64>, &super::gray_areas::Change)> =
            dims.iter().flat_map(|(n, d)| d.changes.iter().map(move |c| (*n, d.baseline.drop_rate, c))).collect();
        vec![
            Table::new("gray_areas")
                .text("dimension", rows.iter().map(|r| r.0))
                .text("from", rows.iter().map(|r| r.2.from.clone()))
                .text("to", rows.iter().map(|r| r.2.to.clone()))
                .int("occurrences", rows.iter().map(|r| i(r.2.occurrences)))
                .int("ends_after", rows.iter().map(|r| i(r.2.ends_after)))
                .float_opt("drop_rate", rows.iter().map(|r| r.2.drop_rate))
                .float_opt("baseline_drop_rate", rows.iter().map(|r| r.1))
                .float_opt("lift", rows.iter().map(|r| r.2.lift))
                .float_opt("emotion_change", rows.iter().map(|r| r.2.emotion_change))
                .int("emotion_change_n", rows.iter().map(|r| i(r.2.emotion_change_n)))
                .float_opt("median_gap_us", rows.iter().map(|r| r.2.median_gap_us))
                .with_options(&self.options),
            Table::new("gray_area_baselines")
                .text("dimension", dims.iter().map(|d| d.0))
                .int("pairs", dims.iter().map(|d| i(d.1.pairs)))
                .int("unknown_pairs", dims.iter().map(|d| i(d.1.unknown_pairs)))
                .int("baseline_pairs", dims.iter().map(|d| i(d.1.baseline.pairs)))
                .int("baseline_ends_after", dims.iter().map(|d| i(d.1.baseline.ends_after)))
                .float_opt("baseline_drop_rate", dims.iter().map(|d| d.1.baseline.drop_rate))
                .with_options(&self.options),
        ]
    }
}

impl ToTables for Conformance {
    fn to_tables(&self) -> Vec<Table> {
        let by: Vec<(&String, &super::conformance::Deviations)> = self.by_touchpoint.iter().collect();
        let d = &self.deviations;
        vec![
            Table::new("conformance_touchpoints")
                .text("touchpoint", by.iter().map(|r| r.0.clone()))
                .int("off_map", by.iter().map(|r| i(r.1.off_map)))
                .int("regression", by.iter().map(|r| i(r.1.regression)))
                .int("skip", by.iter().map(|r| i(r.1.skip)))
                .int("unplanned_channel", by.iter().map(|r| i(r.1.unplanned_channel)))
                .with_options(&self.options),
            Table::new("conformance_summary")
                .int("journeys", [i(self.journeys)])
                .int("events", [i(self.events)])
                .int("conforming_events", [i(self.conforming_events)])
                .int("fully_conforming", [i(self.fully_conforming)])
                .float_opt("share_fully_conforming", [self.share_fully_conforming])
                .float_opt("fitness_mean", [self.fitness.mean])
                .float_opt("fitness_median", [self.fitness.median])
                .int("off_map", [i(d.off_map)])
                .int("regression", [i(d.regression)])
                .int("skip", [i(d.skip)])
                .int("unplanned_channel", [i(d.unplanned_channel)])
                .with_options(&self.options),
            Table::new("conformance_fitness")
                .float("from", self.fitness.histogram.iter().map(|b| b.from))
                .float("to", self.fitness.histogram.iter().map(|b| b.to))
                .int("journeys", self.fitness.histogram.iter().map(|b| i(b.journeys)))
                .with_options(&self.options),
        ]
    }
}

impl ToTables for KeyMoments {
    fn to_tables(&self) -> Vec<Table> {
        let r = &self.touchpoints;
        vec![
            Table::new("key_moments")
                .text("touchpoint", r.iter().map(|k| k.touchpoint.clone()))
                .boolean("flagged", r.iter().map(|k| k.flagged))
                .int("journeys", r.iter().map(|k| i(k.journeys)))
                .int("outcome", r.iter().map(|k| i(k.outcome)))
                .float_opt("outcome_rate", r.iter().map(|k| k.outcome_rate))
                .int("rated", r.iter().map(|k| i(k.rated)))
                .int("negative_journeys", r.iter().map(|k| i(k.negative.journeys)))
                .int("negative_outcome", r.iter().map(|k| i(k.negative.outcome)))
                .float_opt("negative_rate", r.iter().map(|k| k.negative.rate))
                .int("non_negative_journeys", r.iter().map(|k| i(k.non_negative.journeys)))
                .int("non_negative_outcome", r.iter().map(|k| i(k.non_negative.outcome)))
                .float_opt("non_negative_rate", r.iter().map(|k| k.non_negative.rate))
                .float_opt("difference", r.iter().map(|k| k.difference))
                .int("end_at", r.iter().map(|k| i(k.end_at)))
                .float_opt("end_at_rate", r.iter().map(|k| k.end_at_rate))
                .boolean("enough_data", r.iter().map(|k| k.enough_data))
                .int_opt("rank", r.iter().map(|k| k.rank.map(i)))
                .with_options(&self.options),
        ]
    }
}

impl ToTables for HypothesisReport {
    fn to_tables(&self) -> Vec<Table> {
        let a = &self.assumptions;
        vec![
            Table::new("hypotheses")
                .text("kind", a.iter().map(|x| x.kind.as_str()))
                .text("subject", a.iter().map(|x| x.subject.clone()))
                .text("planned", a.iter().map(|x| x.planned.clone()))
                .text_opt("measured", a.iter().map(|x| x.measured.clone()))
                .text("verdict", a.iter().map(|x| x.verdict.as_str()))
                .int("evidence", a.iter().map(|x| i(x.evidence)))
                .float_opt("value", a.iter().map(|x| x.value))
                .float("threshold", a.iter().map(|x| x.threshold))
                .text("note", a.iter().map(|x| x.note.clone()))
                .with_options(&self.options),
        ]
    }
}
