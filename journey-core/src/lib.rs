//! # journey-core
//!
//! Design, track and validate customer journeys. A team writes down the journey it
//! *designs* (personas, ordered phases, touchpoints with their channel, owner, planned
//! emotion and key moments, and waypoints) as a [`MapDocument`]; journey-core validates
//! it, saves it and draws it ([`render`]).
//!
//! ```
//! use journey_core::{MapBuilder, Preset, Rating, EmotionLabel};
//! let doc = MapBuilder::new("Shop")
//!     .persona("buyer", "Online buyer")
//!     .map("buy", "Buying online", "buyer")
//!     .preset(Preset::Funnel)
//!     .touchpoint("ad", "Sees an ad", "awareness", |t| t.channel("social").department("marketing").events(["ad_click"]))
//!     .touchpoint("pdp", "Reads the product page", "interest", |t| t.channel("web").events(["product_view"]).emotion(EmotionLabel::Positive))
//!     .build_unchecked();
//! let problems = doc.problems();
//! assert!(problems.iter().any(|p| p.path == "maps[0].phases[2]")); // consideration has no touchpoints yet
//! println!("{}", journey_core::render::mermaid(&doc.maps[0]));
//! ```
#![deny(missing_docs)]

pub mod analytics;
pub mod builder;
pub mod condition;
pub mod emotion;
pub mod error;
pub mod event;
pub mod identity;
pub mod limits;
pub mod map;
pub mod outbox;
pub mod preset;
pub mod profile;
pub mod render;
pub mod resolve;
pub mod schema;
pub mod stitch;
pub mod store;
pub mod time;
pub mod tracker;
pub mod validate;
pub mod vocabulary;
pub mod waypoint;

pub use builder::{MapBuilder, TouchpointBuilder};
pub use emotion::{Emotion, EmotionError, EmotionLabel, Rating, Scale};
pub use error::{Error, Result};
pub use event::Event;
pub use identity::{IdentityKey, IdentityLevel, IdentityRules};
pub use limits::Limits;
pub use outbox::{ActionRecord, Explanation, Outcome};
pub use profile::{Conflict, LinkEntry, LinkOutcome, ProfileId, TrackedEvent};
pub use store::{MemoryStore, SqliteOptions, SqliteStore, Store};
pub use tracker::{Clock, Context, ManualClock, ProfileFilter, Route, SystemClock, Ticker, Tracked, Tracker, TrackerConfig, backtest};
pub use map::{JourneyMap, MapDocument, Persona, Phase, RoutingRule, Touchpoint};
pub use preset::Preset;
pub use validate::{Problem, ProblemKind, ValidationErrors};
pub use vocabulary::{ActionKind, Channel, Department};
pub use waypoint::{Action, Cap, Condition, Op, PropertyTest, Waypoint};

/// The library's version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
