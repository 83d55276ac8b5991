//! Journey analytics: real journeys checked against the map.
//!
//! The definitions are `../shared/ANALYTICS.md`; where it is silent, each measure's docs
//! say what was decided (the benchmark kit's "Decisions" first). The pipeline:
//!
//! 1. an [`EventTable`]: events as integer columns (interned keys, names, channels,
//!    departments; normalised ratings), built from [`crate::Event`]s
//!    ([`EventTable::from_events`]), row by row ([`EventTable::push`]), from Arrow arrays
//!    (feature `arrow`, module `arrow`) or from Parquet files (feature `parquet`, module `parquet`);
//! 2. [`stitch()`]: identity keys into profiles, with or without the tracker's identity
//!    limits ([`StitchOptions`]);
//! 3. [`Journeys::build`]: each profile's events in `(ts, seq)` order, resolved against the
//!    map with the tracker's [`Resolver`](crate::resolve::Resolver);
//! 4. the measures, each a function returning a typed, serialisable result that carries the
//!    options it was computed with: [`reach()`], [`funnel()`], [`transitions()`], [`paths()`],
//!    [`emotion()`], [`gray_areas()`], [`conformance()`], [`key_moments()`], and the stitch
//!    summary ([`Stitched::summary`]).
//!
//! Most users start from an [`Analysis`] (module [`session`]): a session built once from
//! events, a store, an [`EventTable`], Arrow batches or Parquet files, stitched with the
//! tracker's identity rules, with one method per measure and, beyond the functions above:
//! funnel breakdowns by persona, channel, first touchpoint, event property or profile
//! attribute ([`breakdown`]); phase reach and emotion per persona ([`persona`]); the
//! hypothesis report, every assumption of the map with a verdict ([`hypothesis`]); a table
//! per journey ([`Analysis::journey_table`]). Every result converts to named, typed tables
//! ([`table`], [`ToTables`]; Arrow record batches with the feature `arrow`), and
//! [`Analysis::report`] prints a short report ([`report`]). The bundled example events and
//! their loader are in [`sample`] (CSV reading in [`csv`]).
//!
//! Every measure scans contiguous per-journey slices, in parallel over journeys
//! ([`set_threads`]); every published ratio is one correctly rounded division of exact
//! integer sums ([`numbers`]), so results do not depend on the number of threads.
//!
//! ```
//! use journey_core::analytics::{self, EventTable, StitchOptions, Journeys, FunnelOptions};
//! use journey_core::resolve::Resolver;
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
//!     Event::new(1_500, k("session:b"), "product_view", "web"),
//! ];
//! let table = EventTable::from_events(&events).unwrap();
//! let stitched = analytics::stitch(&table, &StitchOptions::default());
//! let resolver = Resolver::new(&doc.maps[0]);
//! let journeys = Journeys::build(&table, &stitched, &resolver);
//! let f = analytics::funnel(&journeys, &FunnelOptions::events(&["product_view", "add_to_cart"])).unwrap();
//! assert_eq!((f.steps[0].journeys, f.steps[1].journeys), (2, 1));
//! ```

pub mod bench;
pub mod breakdown;
pub mod columns;
pub mod conformance;
pub mod csv;
pub mod design;
pub mod emotion;
pub mod funnel;
pub mod gray_areas;
pub mod hypothesis;
pub mod intern;
pub mod journeys;
pub mod json;
pub mod key_moments;
pub mod mapping;
pub mod numbers;
pub mod par;
pub mod partial;
pub mod paths;
pub mod persona;
pub mod properties;
pub mod quantiles;
pub mod reach;
pub mod report;
pub mod sample;
pub mod session;
pub mod stitch;
pub mod table;
pub mod transitions;
mod to_tables;

#[cfg(feature = "arrow")]
pub mod arrow;
#[cfg(feature = "parquet")]
pub mod parquet;

pub use breakdown::{Breakdown, FunnelBreakdown, FunnelGroup};
pub use columns::{EventTable, Links, NO_RATING, RATING_UNIT};
pub use conformance::{Conformance, conformance};
pub use design::from_bench_design;
pub use emotion::{EmotionOptions, EmotionReport, emotion};
pub use funnel::{Funnel, FunnelOptions, StepLevel, funnel};
pub use gray_areas::{GrayAreas, GrayAreasOptions, gray_areas};
pub use hypothesis::{Assumption, AssumptionKind, HypothesisOptions, HypothesisReport, Verdict, hypotheses};
pub use intern::{Interner, NONE};
pub use journeys::{Journey, JourneyData, Journeys};
pub use key_moments::{KeyMoments, KeyMomentsOptions, Outcome, key_moments};
pub use mapping::{ColumnMapping, KeyColumn, RatingColumn};
pub use par::set_threads;
pub use partial::{PartialOptions, Partials, ProfiledEvent};
pub use paths::{Paths, PathsOptions, paths};
pub use persona::{EmotionByPersona, PersonaIndex, PersonaOptions, ReachByPersona};
pub use properties::EventProperties;
pub use quantiles::QuantileMode;
pub use reach::{Reach, reach};
pub use report::{Report, ReportOptions};
pub use session::{Analysis, AnalysisBuilder, AnalysisOptions, IdentityLink};
pub use stitch::{StitchConflict, StitchOptions, StitchResult, Stitched, stitch};
pub use table::{Column, ColumnType, ColumnValues, Table, ToTables};
pub use transitions::{NameLevel, Transitions, transitions};
