//! Funnel breakdowns: the same funnel computed for each value of a dimension, with
//! conversion between steps and time to convert per value.
//!
//! Decisions (ANALYTICS.md names the dimensions, not how a journey gets its value):
//! * **Journey-level** dimensions give every journey one value, and every journey is counted
//!   in its value's group (so a group has its own `not_entered`):
//!   - [`Breakdown::Persona`]: the journey's persona (see [`super::persona`]);
//!   - [`Breakdown::FirstTouchpoint`]: the touchpoint of the journey's first on-map event
//!     (`null` when it has none);
//!   - [`Breakdown::Attribute`]: a profile attribute (see [`super::persona`] for how a
//!     profile's attributes are merged), compared as text.
//! * **Step-level** dimensions take the value of the deciding chain's step-1 event (the
//!   latest-starting chain reaching the journey's level: the one in-progress and time to
//!   convert use). Journeys that never matched step 1 have no such event: they are in no
//!   group, only in the total's `not_entered` (a group's `not_entered` is 0):
//!   - [`Breakdown::Channel`]: that event's channel;
//!   - [`Breakdown::Property`]: that event's property (see [`super::properties`]), as text.
//! * `null` is the group of journeys without a value. Groups are ordered by value (byte-wise),
//!   `null` last; by persona: document order, then `null`, every persona listed even when
//!   empty. Other groups are listed only when they hold a journey.
//! * Each group is a whole funnel over its journeys: step counts, conversion from the
//!   previous step, stops (in progress / dropped), excluded journeys and time to convert
//!   (median, p90, histogram), computed exactly as [`super::funnel()`] does (in partial
//!   states with a quantile sketch, the medians and p90s are estimates: [`super::quantiles`]).

use serde::{Deserialize, Serialize};

use super::funnel::{self, Funnel, FunnelCounts, FunnelOptions, FunnelOptionsEcho, FunnelStep, FunnelStop, JourneyFunnel, TimeToConvert};
use super::intern::NONE;
use super::journeys::{Journey, Journeys};
use super::partial::merge::{bad, merge_groups};
use super::persona::PersonaOptions;
use super::quantiles::QuantileMode;
use crate::error::Result;
use crate::time::Micros;

/// What a funnel is broken down by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Breakdown {
    /// The journey's persona.
    Persona,
    /// The channel of the step-1 event of the deciding chain.
    Channel,
    /// The touchpoint of the journey's first on-map event.
    FirstTouchpoint,
    /// An event property of the step-1 event of the deciding chain.
    Property(String),
    /// A profile attribute.
    Attribute(String),
}

impl Breakdown {
    /// The dimension as published (`persona`, `channel`, `first_touchpoint`,
    /// `property:<name>`, `attribute:<name>`).
    pub fn label(&self) -> String {
        match self {
            Breakdown::Persona => "persona".into(),
            Breakdown::Channel => "channel".into(),
            Breakdown::FirstTouchpoint => "first_touchpoint".into(),
            Breakdown::Property(p) => format!("property:{p}"),
            Breakdown::Attribute(a) => format!("attribute:{a}"),
        }
    }

    /// Whether the value is taken from the step-1 event (else from the journey).
    pub fn is_step_level(&self) -> bool {
        matches!(self, Breakdown::Channel | Breakdown::Property(_))
    }

    fn describe(&self) -> &'static str {
        match self {
            Breakdown::Persona => "the journey's persona; every journey is in one group",
            Breakdown::FirstTouchpoint => "the touchpoint of the journey's first on-map event; every journey is in one group",
            Breakdown::Attribute(_) => "the profile attribute, as text; every journey is in one group",
            Breakdown::Channel => "the channel of the deciding chain's step-1 event; journeys that never entered are in no group",
            Breakdown::Property(_) => "the property of the deciding chain's step-1 event, as text; journeys that never entered are in no group",
        }
    }
}

/// The options of a breakdown, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelBreakdownOptions {
    /// The funnel's options.
    pub funnel: FunnelOptionsEcho,
    /// The dimension.
    pub by: String,
    /// How a journey's value is taken (descriptive).
    pub value: String,
    /// How personas were assigned (breakdowns by persona only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personas: Option<PersonaOptions>,
}

/// The funnel of one value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelGroup {
    /// The value (`null`: journeys without one).
    pub value: Option<String>,
    /// Journeys counted in the group (less the excluded ones).
    pub journeys: u64,
    /// Of them, journeys that never matched step 1 (0 for step-level dimensions).
    pub not_entered: u64,
    /// Journeys that matched every step.
    pub converted: u64,
    /// One row per step.
    pub steps: Vec<FunnelStep>,
    /// One row per level 1..n-1.
    pub stopped_at: Vec<FunnelStop>,
    /// Time to convert of the group's converted journeys.
    pub time_to_convert: TimeToConvert,
    /// Journeys removed by exclusion steps (only when exclusion steps are given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub excluded: Option<u64>,
}

/// A funnel broken down by a dimension.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelBreakdown {
    /// The options it was computed with.
    pub options: FunnelBreakdownOptions,
    /// The funnel over all journeys.
    pub total: Funnel,
    /// One funnel per value (see the module docs for the order).
    pub groups: Vec<FunnelGroup>,
}

/// How journeys are grouped: `group(journey index, journey, evaluation)` returns a group
/// `< labels.len()` or [`NONE`]; `keep_empty` lists groups with no journey too.
pub(crate) struct Grouping<G> {
    pub labels: Vec<Option<String>>,
    pub keep_empty: bool,
    pub group: G,
}

/// The partial state of a funnel breakdown over a subset of whole journeys: the total's
/// counts and each value's, by value (see [`FunnelCounts`]). Groups of the same value merge.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BreakdownCounts {
    /// The funnel over all journeys.
    pub total: FunnelCounts,
    /// Each value's counts (`null`: journeys without a value).
    pub groups: Vec<(Option<String>, FunnelCounts)>,
    /// Whether empty groups are listed (personas), in the order given; else groups are
    /// listed only when they hold a journey, ordered by value.
    pub keep_empty: bool,
}

impl BreakdownCounts {
    /// Adds the counts of other journeys (same funnel and dimension).
    pub fn merge(&mut self, o: &BreakdownCounts) -> Result<()> {
        if self.keep_empty != o.keep_empty {
            return Err(bad("funnel_breakdown.keep_empty", "cannot merge breakdowns of different dimensions"));
        }
        self.total.merge(&o.total)?;
        merge_groups(&mut self.groups, &o.groups, |a, b| a.merge(b))
    }

    /// The published breakdown; `now` as for [`FunnelCounts::finish`], `personas` how
    /// personas were assigned (breakdowns by persona).
    pub fn finish(&self, o: &FunnelOptions, by: &Breakdown, now: Micros, personas: Option<PersonaOptions>) -> Result<FunnelBreakdown> {
        let total = self.total.finish(o, now)?;
        let mut groups = Vec::with_capacity(self.groups.len());
        for (value, c) in &self.groups {
            if !self.keep_empty && c.is_empty() {
                continue;
            }
            let a = c.assembled(o, now)?;
            groups.push(FunnelGroup {
                value: value.clone(),
                journeys: a.journeys,
                not_entered: a.not_entered,
                converted: a.converted,
                steps: a.steps,
                stopped_at: a.stopped_at,
                time_to_convert: a.time_to_convert,
                excluded: a.excluded,
            });
        }
        if !self.keep_empty {
            groups.sort_by(|a, b| match (&a.value, &b.value) {
                (Some(x), Some(y)) => x.as_bytes().cmp(y.as_bytes()),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            });
        }
        Ok(FunnelBreakdown {
            options: FunnelBreakdownOptions { funnel: o.echo(now), by: by.label(), value: by.describe().into(), personas },
            total,
            groups,
        })
    }
}

/// The counts of a breakdown with a grouping built by the caller; `partial`: over part of
/// the data (`now` decided at the finish unless the options give it), times to convert kept
/// as it says; `None`: over all the data, exact.
pub(crate) fn counts_by<G>(j: &Journeys<'_>, o: &FunnelOptions, grouping: Grouping<G>, partial: Option<&QuantileMode>) -> Result<BreakdownCounts>
where
    G: Fn(usize, &Journey<'_>, Option<&JourneyFunnel>) -> u32 + Sync,
{
    let p = match partial {
        Some(q) => funnel::prepare_partial(j, o, q)?,
        None => funnel::prepare(j, o)?,
    };
    let total = funnel::accumulate(j, &p, 1, |_, _, _| 0).pop().expect("one group");
    let counts = funnel::accumulate(j, &p, grouping.labels.len(), grouping.group);
    let keep_empty = grouping.keep_empty;
    let groups = counts.into_iter().zip(grouping.labels).filter(|(c, _)| keep_empty || !c.is_empty()).map(|(c, l)| (l, c)).collect();
    Ok(BreakdownCounts { total, groups, keep_empty })
}

/// Gives a grouping closure the signature [`counts_by`] needs (for any journey lifetime).
pub(crate) fn group_fn<G>(g: G) -> G
where
    G: Fn(usize, &Journey<'_>, Option<&JourneyFunnel>) -> u32 + Sync,
{
    g
}

/// Group ids for the values of a per-row column: value id `v` is group `v`, no value is
/// group `nvalues` (the `null` group).
#[inline]
pub(crate) fn value_group(v: u32, nvalues: usize) -> u32 {
    if v == NONE { nvalues as u32 } else { v }
}
