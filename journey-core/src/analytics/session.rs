//! The analysis session: events in, stitched journeys checked against a map, every measure
//! out as a typed result (and as tables).
//!
//! An [`Analysis`] owns its events (as columns), their stitched profiles and the journeys
//! built from them, so each measure is a method call and the work of loading, stitching and
//! sorting is done once. It is `Send + Sync`: the bindings run measures on other threads.
//!
//! Sources, all stitched the same way ([`AnalysisOptions::identity`]):
//! * events ([`Analysis::from_events`], or [`Analysis::builder`] and
//!   [`AnalysisBuilder::push_event`] for a stream): an event's `seq` is its position in what
//!   was pushed;
//! * events as stored by the tracker ([`AnalysisBuilder::push_stored`]: the store's `seq`),
//!   or a whole store ([`Analysis::from_store`]): the events in `(ts, seq)` order through
//!   [`Store::scan`], the explicit identity links of its link log, and the personas and
//!   attributes of its profiles;
//! * an [`EventTable`] ([`Analysis::from_table`]);
//! * Arrow record batches (feature `arrow`: `Analysis::from_record_batches`,
//!   `AnalysisBuilder::push_record_batch`) and Parquet files (feature `parquet`:
//!   `Analysis::from_parquet`).
//!
//! Identity: by default the tracker's default [`IdentityRules`] (levels and limits), so the
//! live and the offline view of a customer agree; the tracker's own configuration with
//! [`AnalysisOptions::like_tracker`]; `identity: None` applies every link (the benchmark's
//! Decision 2). See [`super::stitch`](mod@super::stitch) for the anchor rule shared with the tracker.
//!
//! Decisions where ANALYTICS.md is silent:
//! * The map is the document's map given by [`AnalysisOptions::map`] (default the first).
//!   The document is not validated as a whole (an unfinished map can be checked against
//!   data); persona rules (`assign_when`) must compile against the map.
//! * From a store: links carried by events are re-derived from the events; the explicit
//!   links (those without an event: the link log's, and the refused ones, which only the
//!   conflicts record) are applied at their time, the link log's first among equal times,
//!   each in its own order. Neither log says in which order a refused and an accepted
//!   explicit link of the *same* time were made, so with such ties the profiles can differ
//!   from the tracker's. A link later removed by `unlink` is left out (but two keys carried
//!   by one event stay linked: the event still carries both). A self-link of a key never
//!   seen otherwise leaves no trace in a store. A profile's persona is an explicit
//!   assignment of its first key; its attributes are attributes of its first key.
//!
//! ```
//! use journey_core::analytics::{Analysis, AnalysisOptions, Breakdown, FunnelOptions};
//! use journey_core::{Event, IdentityKey, MapBuilder, Preset};
//!
//! let doc = MapBuilder::new("Shop").persona("b", "Buyer").map("m", "Buying", "b").preset(Preset::Funnel)
//!     .touchpoint("pdp", "Product page", "interest", |t| t.events(["product_view"]))
//!     .touchpoint("cart", "Cart", "action", |t| t.events(["add_to_cart"]))
//!     .build_unchecked();
//! let k = |s: &str| IdentityKey::parse(s).unwrap();
//! let events = vec![
//!     Event::new(1_000, k("session:a"), "product_view", "web"),
//!     Event::new(2_000, k("session:a"), "add_to_cart", "web"),
//!     Event::new(1_500, k("session:b"), "product_view", "mobile_app"),
//! ];
//! let analysis = Analysis::from_events(&doc, &events, AnalysisOptions::default()).unwrap();
//! let funnel = FunnelOptions::events(&["product_view", "add_to_cart"]);
//! let by_channel = analysis.funnel_breakdown(&funnel, &Breakdown::Channel).unwrap();
//! assert_eq!(by_channel.groups[0].value.as_deref(), Some("mobile_app"));
//! assert_eq!(by_channel.groups[1].converted, 1);
//! println!("{}", analysis.report(&Default::default()).unwrap());
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::condition::Compiled;
use crate::error::Result;
use crate::event::Event;
use crate::identity::{IdentityKey, IdentityRules};
use crate::map::{JourneyMap, MapDocument};
use crate::profile::{LinkOutcome, TrackedEvent};
use crate::resolve::Resolver;
use crate::store::Store;
use crate::time::Micros;
use crate::tracker::TrackerConfig;

use super::breakdown::{self, Breakdown, BreakdownCounts, FunnelBreakdown, Grouping};
use super::columns::{EventTable, NO_RATING, RATING_UNIT};
use super::conformance::{Conformance, conformance};
use super::emotion::{EmotionCounts, EmotionOptions, EmotionReport, emotion, emotion_counts};
use super::funnel::{Funnel, FunnelOptions, funnel};
use super::gray_areas::{GrayAreas, GrayAreasOptions, gray_areas};
use super::hypothesis::{HypothesisOptions, HypothesisReport, hypotheses};
use super::intern::{Interner, NONE};
use super::journeys::{JourneyData, Journeys};
use super::key_moments::{KeyMoments, KeyMomentsOptions, key_moments};
use super::numbers::ratio;
use super::paths::{Paths, PathsOptions, paths};
use super::persona::{self, EmotionByPersona, PersonaGroups, PersonaIndex, ReachByPersona};
use super::properties::{EventProperties, value_text};
use super::quantiles::QuantileMode;
use super::reach::{Reach, ReachCounts, reach, reach_counts};
use super::report::{Report, ReportOptions};
use super::stitch::{StitchOptions, StitchResult, Stitched, stitch};
use super::table::Table;
use super::transitions::{NameLevel, Transitions, transitions};

/// How an analysis is set up.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisOptions {
    /// The map to check journeys against (by id); `None` = the document's first map.
    pub map: Option<String>,
    /// Identity levels and limits, as the tracker's; `None` = no limits, every link applied.
    pub identity: Option<IdentityRules>,
    /// The event properties kept for breakdowns; `None` = every property met.
    pub properties: Option<Vec<String>>,
}

impl Default for AnalysisOptions {
    /// The first map, the tracker's default identity rules, every property.
    fn default() -> Self {
        AnalysisOptions { map: None, identity: Some(IdentityRules::default()), properties: None }
    }
}

impl AnalysisOptions {
    /// The map and identity rules of a tracker's configuration, so the analysis sees the
    /// profiles the tracker built.
    pub fn like_tracker(config: &TrackerConfig) -> Self {
        AnalysisOptions { map: config.map.clone(), identity: Some(config.identity.clone()), properties: None }
    }

    /// No identity limits: every link applied (the benchmark's stitching).
    pub fn without_limits() -> Self {
        AnalysisOptions { identity: None, ..Self::default() }
    }
}

/// An identity link given apart from events (a login, a CRM match).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct IdentityLink {
    /// One key.
    pub a: IdentityKey,
    /// The other key.
    pub b: IdentityKey,
    /// When the link was made (used in time order when identity limits apply).
    pub ts: Micros,
}

/// Collects events and links for an [`Analysis`]; [`AnalysisBuilder::finish`] stitches them
/// and builds the journeys.
pub struct AnalysisBuilder {
    setup: Setup,
    table: EventTable,
    props: EventProperties,
    next_seq: u64,
    explicit: BTreeMap<String, String>,
    attributes: BTreeMap<String, Map<String, Value>>,
}

/// What comes from the document and the options.
#[derive(Clone)]
struct Setup {
    options: AnalysisOptions,
    map: JourneyMap,
    personas: Vec<String>,
    rules: Vec<(String, Compiled)>,
}

impl Setup {
    fn new(doc: &MapDocument, options: AnalysisOptions) -> Result<Self> {
        let map = doc.select(options.map.as_deref())?.clone();
        let mut rules = Vec::new();
        for (i, p) in doc.personas.iter().enumerate() {
            if let Some(rule) = &p.assign_when {
                rules.push((p.id.clone(), Compiled::compile(rule, &map, &format!("personas[{i}].assign_when"))?));
            }
        }
        Ok(Setup { options, map, personas: doc.personas.iter().map(|p| p.id.clone()).collect(), rules })
    }
}

impl std::fmt::Debug for AnalysisBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisBuilder")
            .field("map", &self.setup.map.id)
            .field("options", &self.setup.options)
            .field("events", &self.table.len())
            .field("links", &self.table.links().len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Analysis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysis")
            .field("map", &self.setup.map.id)
            .field("options", &self.setup.options)
            .field("events", &self.table.len())
            .field("journeys", &self.len())
            .field("properties", &self.props.names())
            .finish_non_exhaustive()
    }
}

impl AnalysisBuilder {
    /// Appends one event; its `seq` is the number of events pushed before it (or after the
    /// largest stored `seq` pushed, see [`Self::push_stored`]).
    pub fn push_event(&mut self, event: &Event) -> Result<()> {
        let seq = self.next_seq;
        self.push_with_seq(event, seq)
    }

    /// Appends events ([`Self::push_event`] each); a bad event's error names its index.
    pub fn push_events<'e>(&mut self, events: impl IntoIterator<Item = &'e Event>) -> Result<()> {
        for (i, e) in events.into_iter().enumerate() {
            self.push_event(e).map_err(|err| err.at_index(i))?;
        }
        Ok(())
    }

    /// Appends an event as the tracker stored it, keeping its `seq`.
    pub fn push_stored(&mut self, event: &TrackedEvent) -> Result<()> {
        self.push_with_seq(&event.event, event.seq)
    }

    /// Appends an event with an explicit arrival sequence number.
    pub fn push_with_seq(&mut self, e: &Event, seq: u64) -> Result<()> {
        let keys: Vec<&str> = e.keys.iter().map(|k| k.as_str()).collect();
        self.table.push(e.ts, seq, &keys, &e.name, e.channel.as_str(), e.department.as_ref().map(|d| d.as_str()), e.rating)?;
        self.props.push_row(&e.properties);
        self.next_seq = self.next_seq.max(seq.saturating_add(1));
        Ok(())
    }

    /// Adds an identity link between two keys, made at `ts`.
    pub fn push_link(&mut self, a: &IdentityKey, b: &IdentityKey, ts: Micros) {
        self.table.push_link(a.as_str(), b.as_str(), ts);
    }

    /// Adds identity links.
    pub fn push_links<'l>(&mut self, links: impl IntoIterator<Item = &'l IdentityLink>) {
        for l in links {
            self.push_link(&l.a, &l.b, l.ts);
        }
    }

    /// Assigns personas to keys (see [`Analysis::assign_personas`]).
    pub fn assign_personas(&mut self, assignments: impl IntoIterator<Item = (String, String)>) {
        self.explicit.extend(assignments);
    }

    /// Gives keys attributes (see [`Analysis::set_attributes`]).
    pub fn set_attributes(&mut self, attributes: impl IntoIterator<Item = (String, Map<String, Value>)>) {
        for (k, a) in attributes {
            self.attributes.entry(k).or_default().extend(a);
        }
    }

    /// Appends a record batch of events (feature `arrow`). Columns by name: `ts` (int64 µs or
    /// timestamp), `seq` (optional; default: continuing the count of pushed events),
    /// `customer_key` or `key`, `event`, `channel`, `department` (optional), a rating as
    /// `csat`, `nps` or `rating` (a raw score in [-1, 1]) (optional); every other column is
    /// an event property (strings, integers, floats, booleans; see [`super::properties`]).
    #[cfg(feature = "arrow")]
    pub fn push_record_batch(&mut self, batch: &arrow_array::RecordBatch) -> Result<()> {
        let n = batch.num_rows();
        let cols = super::arrow::event_columns(batch)?;
        let first = self.next_seq;
        self.table.append_arrow(&cols, first)?;
        let props: Vec<(&str, &dyn arrow_array::Array)> = batch
            .schema_ref()
            .fields()
            .iter()
            .zip(batch.columns())
            .filter(|(f, _)| !super::arrow::EVENT_COLUMN_NAMES.contains(&f.name().as_str()))
            .map(|(f, a)| (f.name().as_str(), a.as_ref()))
            .collect();
        self.props.push_arrow(&props, n)?;
        let last = self.table.seq()[self.table.len() - n..].iter().copied().max();
        self.next_seq = self.next_seq.max(last.map_or(first, |s| s + 1));
        Ok(())
    }

    /// Appends a record batch of identity links (feature `arrow`): columns `key_a`, `key_b`,
    /// `ts` (optional, default 0).
    #[cfg(feature = "arrow")]
    pub fn push_link_batch(&mut self, batch: &arrow_array::RecordBatch) -> Result<()> {
        let col = |n: &str| batch.column_by_name(n).map(|a| a.as_ref());
        let missing = |c: &str| crate::error::Error::BadEvent { index: None, field: c.into(), message: "missing column".into() };
        self.table.append_arrow_links(col("key_a").ok_or_else(|| missing("key_a"))?, col("key_b").ok_or_else(|| missing("key_b"))?, col("ts"))
    }

    /// Stitches the keys and builds the journeys.
    pub fn finish(self) -> Analysis {
        Analysis::build(self.setup, self.table, self.props, self.explicit, self.attributes)
    }
}

/// An analysis session (see the module docs).
pub struct Analysis {
    setup: Setup,
    table: EventTable,
    props: EventProperties,
    resolver: Resolver,
    stitched: Stitched,
    data: Arc<JourneyData>,
    explicit: BTreeMap<String, String>,
    attributes: BTreeMap<String, Map<String, Value>>,
    personas: OnceLock<PersonaIndex>,
}

impl Analysis {
    /// A builder over a document's map (see [`AnalysisOptions`]).
    pub fn builder(doc: &MapDocument, options: AnalysisOptions) -> Result<AnalysisBuilder> {
        let props = EventProperties::new(options.properties.clone());
        Ok(AnalysisBuilder {
            setup: Setup::new(doc, options)?,
            table: EventTable::new(),
            props,
            next_seq: 0,
            explicit: BTreeMap::new(),
            attributes: BTreeMap::new(),
        })
    }

    /// An analysis of events; an event's `seq` is its position.
    pub fn from_events<'e>(doc: &MapDocument, events: impl IntoIterator<Item = &'e Event>, options: AnalysisOptions) -> Result<Self> {
        let mut b = Self::builder(doc, options)?;
        b.push_events(events)?;
        Ok(b.finish())
    }

    /// An analysis of events and identity links.
    pub fn from_events_and_links<'e, 'l>(
        doc: &MapDocument,
        events: impl IntoIterator<Item = &'e Event>,
        links: impl IntoIterator<Item = &'l IdentityLink>,
        options: AnalysisOptions,
    ) -> Result<Self> {
        let mut b = Self::builder(doc, options)?;
        b.push_events(events)?;
        b.push_links(links);
        Ok(b.finish())
    }

    /// An analysis of an event table (without event properties).
    pub fn from_table(doc: &MapDocument, table: EventTable, options: AnalysisOptions) -> Result<Self> {
        let setup = Setup::new(doc, options)?;
        let mut props = EventProperties::new(Some(Vec::new()));
        props.push_empty_rows(table.len());
        Ok(Self::build(setup, table, props, BTreeMap::new(), BTreeMap::new()))
    }

    /// An analysis of everything a store holds (see the module docs): its events streamed in
    /// `(ts, seq)` order with [`Store::scan`], the explicit links of its link log, and the
    /// personas and attributes of its profiles.
    pub fn from_store(doc: &MapDocument, store: &dyn Store, options: AnalysisOptions) -> Result<Self> {
        let mut b = Self::builder(doc, options)?;
        store.scan(Micros::MIN, Micros::MAX, &mut |e| {
            b.push_stored(&e)?;
            Ok(true)
        })?;
        let mut links: Vec<IdentityLink> = Vec::new();
        let mut explicit = Vec::new();
        let mut attributes = Vec::new();
        store.read(&mut |tx| {
            links.clear();
            explicit.clear();
            attributes.clear();
            tx.links(&mut |entry| {
                if entry.event_seq.is_some() {
                    return Ok(());
                }
                if entry.outcome == LinkOutcome::Removed {
                    links.retain(|l| !((l.a == entry.a && l.b == entry.b) || (l.a == entry.b && l.b == entry.a)));
                } else {
                    links.push(IdentityLink { a: entry.a, b: entry.b, ts: entry.ts });
                }
                Ok(())
            })?;
            // refused explicit links are not in the link log, only among the conflicts
            let refused: Vec<IdentityLink> =
                tx.conflicts()?.into_iter().filter(|c| c.event_seq.is_none()).map(|c| IdentityLink { a: c.key, b: c.other, ts: c.ts }).collect();
            links.extend(refused);
            links.sort_by_key(|l| l.ts);
            for id in tx.profile_ids()? {
                let persona = tx.persona(id)?;
                let attrs = tx.attributes(id)?;
                if persona.is_none() && attrs.is_empty() {
                    continue;
                }
                let Some(first) = tx.keys_of(id)?.into_iter().next() else { continue };
                if let Some(p) = persona {
                    explicit.push((first.as_str().to_string(), p));
                }
                if !attrs.is_empty() {
                    attributes.push((first.as_str().to_string(), attrs));
                }
            }
            Ok(())
        })?;
        b.push_links(&links);
        b.assign_personas(explicit);
        b.set_attributes(attributes);
        Ok(b.finish())
    }

    /// An analysis of Arrow record batches (feature `arrow`; see
    /// [`AnalysisBuilder::push_record_batch`] and [`AnalysisBuilder::push_link_batch`] for the
    /// columns). Batches are converted in parallel.
    #[cfg(feature = "arrow")]
    pub fn from_record_batches(
        doc: &MapDocument,
        events: &[arrow_array::RecordBatch],
        links: &[arrow_array::RecordBatch],
        options: AnalysisOptions,
    ) -> Result<Self> {
        let mut b = Self::builder(doc, options)?;
        let events = super::arrow::slice_for_threads(events);
        let cols = events.iter().map(super::arrow::event_columns).collect::<Result<Vec<_>>>()?;
        b.table = EventTable::from_arrow_batches(&cols)?;
        for batch in &events {
            let props: Vec<(&str, &dyn arrow_array::Array)> = batch
                .schema_ref()
                .fields()
                .iter()
                .zip(batch.columns())
                .filter(|(f, _)| !super::arrow::EVENT_COLUMN_NAMES.contains(&f.name().as_str()))
                .map(|(f, a)| (f.name().as_str(), a.as_ref()))
                .collect();
            b.props.push_arrow(&props, batch.num_rows())?;
        }
        b.next_seq = b.table.seq().iter().copied().max().map_or(0, |s| s + 1);
        for l in links {
            b.push_link_batch(l)?;
        }
        Ok(b.finish())
    }

    /// An analysis of Parquet files (feature `parquet`; the columns of
    /// [`super::parquet`]; event properties are not read).
    #[cfg(feature = "parquet")]
    pub fn from_parquet(doc: &MapDocument, events: &std::path::Path, links: Option<&std::path::Path>, options: AnalysisOptions) -> Result<Self> {
        let table = super::parquet::read_table(events, links)?;
        Self::from_table(doc, table, options)
    }

    fn build(
        setup: Setup,
        table: EventTable,
        props: EventProperties,
        explicit: BTreeMap<String, String>,
        attributes: BTreeMap<String, Map<String, Value>>,
    ) -> Self {
        let resolver = Resolver::new(&setup.map);
        let stitched = stitch(&table, &StitchOptions { rules: setup.options.identity.clone() });
        let data = Journeys::build(&table, &stitched, &resolver).detach();
        Analysis { setup, table, props, resolver, stitched, data, explicit, attributes, personas: OnceLock::new() }
    }

    /// The options it was set up with.
    pub fn options(&self) -> &AnalysisOptions {
        &self.setup.options
    }

    /// The map journeys are checked against.
    pub fn map(&self) -> &JourneyMap {
        &self.setup.map
    }

    /// The events, as columns.
    pub fn table(&self) -> &EventTable {
        &self.table
    }

    /// The event properties kept.
    pub fn properties(&self) -> &EventProperties {
        &self.props
    }

    /// The stitched keys.
    pub fn stitched(&self) -> &Stitched {
        &self.stitched
    }

    /// The journeys, for the measure functions of [`super`].
    pub fn journeys(&self) -> Journeys<'_> {
        Journeys::attach(&self.table, &self.resolver, self.data.clone())
    }

    /// The number of journeys (profiles with events).
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there is no journey.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The canonical key (the smallest key, byte-wise) of a key's profile; `None` for a key
    /// never seen.
    pub fn profile_of(&self, key: &str) -> Option<&str> {
        let keys = self.table.keys();
        keys.lookup(key).map(|k| keys.get(self.stitched.canonical()[k as usize]))
    }

    /// The canonical key of the profile event row `row` (of [`Self::table`]) landed on.
    pub fn event_profile(&self, row: usize) -> &str {
        self.table.keys().get(self.stitched.event_profile(&self.table, row))
    }

    /// Assigns personas to keys explicitly: `(key, persona id)`. A journey takes the persona
    /// of a key of its profile (see [`super::persona`] for the precedence).
    pub fn assign_personas(&mut self, assignments: impl IntoIterator<Item = (String, String)>) {
        self.explicit.extend(assignments);
        self.personas = OnceLock::new();
    }

    /// Gives keys attributes (merged into those they have), tested by the personas'
    /// `assign_when` rules (see [`super::persona`]).
    pub fn set_attributes(&mut self, attributes: impl IntoIterator<Item = (String, Map<String, Value>)>) {
        for (k, a) in attributes {
            self.attributes.entry(k).or_default().extend(a);
        }
        self.personas = OnceLock::new();
    }

    /// The persona of every journey (computed once, until assignments change).
    pub fn personas(&self) -> &PersonaIndex {
        self.personas.get_or_init(|| {
            let rules = self.setup.options.identity.clone().unwrap_or_default();
            persona::assign(&self.journeys(), self.stitched.canonical(), &self.setup.personas, &self.setup.rules, &self.explicit, &self.attributes, &rules)
        })
    }

    /// The stitch measure: keys, profiles, journeys, conflicts.
    pub fn stitch_summary(&self) -> StitchResult {
        self.stitched.summary(&self.table, self.len())
    }

    /// Phase reach ([`super::reach()`]).
    pub fn reach(&self) -> Reach {
        reach(&self.journeys())
    }

    /// Phase reach per persona, each over its own journeys.
    pub fn reach_by_persona(&self) -> ReachByPersona {
        persona::finish_reach(&self.personas().options, &self.persona_reach_counts(), &self.setup.map).expect("counts built for this map")
    }

    /// The reach counts of each persona group (labels as in [`PersonaIndex::label`]).
    pub(crate) fn persona_reach_counts(&self) -> PersonaGroups<ReachCounts> {
        let p = self.personas();
        let groups = reach_counts(&self.journeys(), p.groups(), |jx| p.of_journey[jx]);
        groups.into_iter().enumerate().map(|(g, c)| (p.label(g), c)).collect()
    }

    /// A funnel ([`super::funnel()`]).
    pub fn funnel(&self, options: &FunnelOptions) -> Result<Funnel> {
        funnel(&self.journeys(), options)
    }

    /// A funnel broken down by a dimension ([`super::breakdown`]).
    pub fn funnel_breakdown(&self, options: &FunnelOptions, by: &Breakdown) -> Result<FunnelBreakdown> {
        let counts = self.breakdown_counts(options, by, None)?;
        let personas = (*by == Breakdown::Persona).then(|| self.personas().options.clone());
        counts.finish(options, by, options.now_us.or(self.journeys().now()).unwrap_or(0), personas)
    }

    /// The counts of a funnel breakdown; `partial`: for a partial state (`now` decided at the
    /// finish unless the options give it; times to convert kept as it says).
    pub(crate) fn breakdown_counts(&self, options: &FunnelOptions, by: &Breakdown, partial: Option<&QuantileMode>) -> Result<BreakdownCounts> {
        let j = self.journeys();
        match by {
            Breakdown::Persona => {
                let p = self.personas();
                let labels = (0..p.groups()).map(|g| p.label(g)).collect();
                let grouping = Grouping { labels, keep_empty: true, group: breakdown::group_fn(|jx, _, _| p.of_journey[jx]) };
                breakdown::counts_by(&j, options, grouping, partial)
            }
            Breakdown::FirstTouchpoint => {
                let ntp = self.setup.map.touchpoints.len();
                let tp_of = j.touchpoint_of_names();
                let mut labels: Vec<Option<String>> = self.setup.map.touchpoints.iter().map(|t| Some(t.id.clone())).collect();
                labels.push(None);
                let group = breakdown::group_fn(|_, jr, _| jr.name.iter().map(|&n| tp_of[n as usize]).find(|&t| t != NONE).unwrap_or(ntp as u32));
                breakdown::counts_by(&j, options, Grouping { labels, keep_empty: false, group }, partial)
            }
            Breakdown::Channel => {
                let channels = self.table.channels();
                let nch = channels.len();
                let mut labels: Vec<Option<String>> = channels.iter().map(|c| Some(c.to_string())).collect();
                labels.push(None);
                let group = breakdown::group_fn(|_, jr, r| match r.and_then(|r| r.start) {
                    Some(s) => breakdown::value_group(jr.channel[s], nch),
                    None => NONE,
                });
                breakdown::counts_by(&j, options, Grouping { labels, keep_empty: false, group }, partial)
            }
            Breakdown::Property(name) => {
                let empty = Interner::new();
                let (col, values): (Option<&[u32]>, &Interner) = match self.props.column(name) {
                    Some((c, v)) => (Some(c), v),
                    None => (None, &empty),
                };
                let nv = values.len();
                let mut labels: Vec<Option<String>> = values.iter().map(|v| Some(v.to_string())).collect();
                labels.push(None);
                let group = breakdown::group_fn(|_, jr, r| match r.and_then(|r| r.start) {
                    Some(s) => breakdown::value_group(col.map_or(NONE, |c| c[jr.row[s] as usize]), nv),
                    None => NONE,
                });
                breakdown::counts_by(&j, options, Grouping { labels, keep_empty: false, group }, partial)
            }
            Breakdown::Attribute(name) => {
                let (of_journey, labels) = self.attribute_groups(&j, name);
                let group = breakdown::group_fn(|jx, _, _| of_journey[jx]);
                breakdown::counts_by(&j, options, Grouping { labels, keep_empty: false, group }, partial)
            }
        }
    }

    /// The group of each journey by a profile attribute (value text), and the labels.
    fn attribute_groups(&self, j: &Journeys<'_>, name: &str) -> (Vec<u32>, Vec<Option<String>>) {
        let mut values = Interner::new();
        let mut of_journey = vec![NONE; j.len()];
        let keys = self.table.keys();
        // keys ascending: the smallest key of a profile giving the attribute wins
        for (key, attrs) in &self.attributes {
            let Some(v) = attrs.get(name).and_then(value_text) else { continue };
            let Some(jx) = keys.lookup(key).and_then(|k| persona::journey_of_key(j, self.stitched.canonical(), k)) else { continue };
            if of_journey[jx] == NONE {
                of_journey[jx] = values.intern(&v);
            }
        }
        let nv = values.len();
        for g in &mut of_journey {
            *g = breakdown::value_group(*g, nv);
        }
        let mut labels: Vec<Option<String>> = values.iter().map(|v| Some(v.to_string())).collect();
        labels.push(None);
        (of_journey, labels)
    }

    /// Transitions at the given levels ([`super::transitions()`]).
    pub fn transitions(&self, levels: &[NameLevel]) -> Transitions {
        transitions(&self.journeys(), levels)
    }

    /// Top paths ([`super::paths()`]).
    pub fn paths(&self, options: &PathsOptions) -> Paths {
        paths(&self.journeys(), options)
    }

    /// Emotion per touchpoint, phase and journey ([`super::emotion()`]).
    pub fn emotion(&self, options: &EmotionOptions) -> EmotionReport {
        emotion(&self.journeys(), options)
    }

    /// Emotion per persona, each over its own journeys.
    pub fn emotion_by_persona(&self, options: &EmotionOptions) -> EmotionByPersona {
        persona::finish_emotion(&self.personas().options, &self.persona_emotion_counts(), &self.setup.map, options).expect("counts built for this map")
    }

    /// The emotion sums of each persona group (labels as in [`PersonaIndex::label`]).
    pub(crate) fn persona_emotion_counts(&self) -> PersonaGroups<EmotionCounts> {
        let p = self.personas();
        let groups = emotion_counts(&self.journeys(), p.groups(), |jx| p.of_journey[jx]);
        groups.into_iter().enumerate().map(|(g, c)| (p.label(g), c)).collect()
    }

    /// Department handoffs and channel switches ([`super::gray_areas()`]).
    pub fn gray_areas(&self, options: &GrayAreasOptions) -> GrayAreas {
        gray_areas(&self.journeys(), options)
    }

    /// Conformance to the map ([`super::conformance()`]).
    pub fn conformance(&self) -> Conformance {
        conformance(&self.journeys())
    }

    /// Key moments ([`super::key_moments()`]).
    pub fn key_moments(&self, options: &KeyMomentsOptions) -> Result<KeyMoments> {
        key_moments(&self.journeys(), options)
    }

    /// The hypothesis report ([`super::hypothesis`]).
    pub fn hypotheses(&self, options: &HypothesisOptions) -> Result<HypothesisReport> {
        hypotheses(&self.journeys(), options)
    }

    /// The short report: reach, funnel, gray areas, hypothesis report
    /// ([`super::report`]); print it with `{}`.
    pub fn report(&self, options: &ReportOptions) -> Result<Report> {
        super::report::report(self, options)
    }

    /// One row per journey (see [`super::table`] for the columns): its profile, persona,
    /// size and time span, phases, off-map events and per-journey emotion (lowest, last and
    /// mean rating), so one broken late touchpoint shows.
    pub fn journey_table(&self) -> Table {
        let j = self.journeys();
        let p = self.personas();
        let map = &self.setup.map;
        let phase_of = j.phase_of_names();
        let keys = self.table.keys();
        type Row = (i64, i64, i64, u32, u32, u32, i64, i64, i64, Option<i16>, Option<i16>, i64);
        let parts = j.par(|range| {
            let mut rows: Vec<Row> = Vec::with_capacity(range.len());
            for jx in range {
                let jr = j.journey(jx);
                let (mut first, mut furthest, mut last) = (NONE, NONE, NONE);
                let mut reached = 0u64;
                let mut off = 0i64;
                let (mut n, mut sum, mut lo, mut la) = (0i64, 0i64, None::<i16>, None::<i16>);
                for (i, &nm) in jr.name.iter().enumerate() {
                    let ph = phase_of[nm as usize];
                    if ph == NONE {
                        if j.touchpoint_of(nm) == NONE {
                            off += 1;
                        }
                    } else {
                        if first == NONE {
                            first = ph;
                        }
                        furthest = if furthest == NONE { ph } else { furthest.max(ph) };
                        last = ph;
                        if ph < 64 {
                            reached |= 1 << ph;
                        }
                    }
                    let q = jr.rating[i];
                    if q != NO_RATING {
                        n += 1;
                        sum += q as i64;
                        lo = Some(lo.map_or(q, |l| l.min(q)));
                        la = Some(q);
                    }
                }
                let t0 = jr.ts[0];
                let t1 = jr.ts[jr.len() - 1];
                rows.push((jr.len() as i64, t0, t1, first, furthest, last, reached.count_ones() as i64, off, n, lo, la, sum));
            }
            rows
        });
        let rows: Vec<Row> = parts.into_iter().flatten().collect();
        let phase = |p: u32| (p != NONE).then(|| map.phases[p as usize].id.clone());
        let rating = |q: Option<i16>| q.map(|q| q as f64 / RATING_UNIT as f64);
        Table::new("journeys")
            .text("profile", (0..rows.len()).map(|jx| keys.get(j.profile(jx)).to_string()))
            .text_opt("persona", p.of_journey.iter().map(|&g| p.label(g as usize)))
            .int("events", rows.iter().map(|r| r.0))
            .timestamp("first_ts", rows.iter().map(|r| r.1))
            .timestamp("last_ts", rows.iter().map(|r| r.2))
            .duration("duration", rows.iter().map(|r| r.2 - r.1))
            .text_opt("first_phase", rows.iter().map(|r| phase(r.3)))
            .text_opt("furthest_phase", rows.iter().map(|r| phase(r.4)))
            .text_opt("last_phase", rows.iter().map(|r| phase(r.5)))
            .int("phases_reached", rows.iter().map(|r| r.6))
            .int("off_map_events", rows.iter().map(|r| r.7))
            .int("ratings", rows.iter().map(|r| r.8))
            .float_opt("lowest_rating", rows.iter().map(|r| rating(r.9)))
            .float_opt("last_rating", rows.iter().map(|r| rating(r.10)))
            .float_opt("mean_rating", rows.iter().map(|r| ratio(r.11 as i128, r.8 as i128 * RATING_UNIT as i128)))
            .with_options(&serde_json::json!({"analysis": self.setup.options, "personas": p.options}))
    }
}
