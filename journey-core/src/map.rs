//! The journey map: personas, ordered phases, touchpoints and waypoints, as data.
//!
//! A [`MapDocument`] is what a team designs and saves: its personas and one
//! [`JourneyMap`] per persona. It loads from and saves to JSON losslessly; unknown fields
//! are errors that name them, so a typo is never silently ignored. Loading checks only
//! the shape; [`MapDocument::validate`] checks the meaning (see [`crate::validate`]).
//!
//! ```
//! use journey_core::map::MapDocument;
//! let doc = MapDocument::from_json(r#"{
//!   "name": "Shop",
//!   "personas": [{"id": "buyer", "name": "Buyer"}],
//!   "maps": [{"id": "buy", "name": "Buying", "persona": "buyer",
//!     "phases": [{"id": "consideration", "name": "Consideration"}],
//!     "touchpoints": [{"id": "pdp", "name": "Product page", "phase": "consideration",
//!                      "channels": ["web"], "events": ["product_view"], "emotion": "positive"}]}]
//! }"#).unwrap();
//! assert!(doc.validate().is_ok());
//! assert_eq!(doc.maps[0].touchpoint_of_event("product_view").unwrap().id, "pdp");
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::emotion::Rating;
use crate::error::{Error, Result};
use crate::vocabulary::{Channel, Department};
use crate::waypoint::{Condition, Waypoint};

/// The version of the map document format this library writes.
pub const FORMAT_VERSION: u32 = 1;

/// A saved design: personas and their journey maps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "journey-core map document")]
pub struct MapDocument {
    /// The JSON Schema this document follows, for editors (`journey-core/schema/map.schema.json`).
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The format version (currently 1). Optional when reading; always written.
    #[serde(default = "format_version")]
    pub version: u32,
    /// The document's name, e.g. the company or product.
    pub name: String,
    /// A longer description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The personas the maps are designed for.
    #[serde(default)]
    pub personas: Vec<Persona>,
    /// One journey map per persona.
    pub maps: Vec<JourneyMap>,
}

fn format_version() -> u32 {
    FORMAT_VERSION
}

/// A concrete type of customer (seed 000: not "men over 40" but a recognisable person).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    /// Unique id in the document.
    pub id: String,
    /// A readable name.
    pub name: String,
    /// Who they are.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What they want to achieve.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goals: Vec<String>,
    /// Why they act.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub motivations: Vec<String>,
    /// What holds them back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub doubts: Vec<String>,
    /// The channels they prefer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_channels: Vec<Channel>,
    /// When they prefer to be contacted (free text, e.g. "weekday evenings").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_times: Vec<String>,
    /// Descriptive attributes (age band, segment...), free-form.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, Value>,
    /// The rule that assigns a real profile to this persona, tested on the profile's attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_when: Option<Condition>,
}

/// The designed journey of one persona.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JourneyMap {
    /// Unique id in the document.
    pub id: String,
    /// A readable name.
    pub name: String,
    /// The id of the persona this map is designed for.
    pub persona: String,
    /// A longer description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The phases, in journey order.
    pub phases: Vec<Phase>,
    /// The touchpoints; each names its phase. Order within a phase is journey order.
    pub touchpoints: Vec<Touchpoint>,
    /// Moments that trigger actions when reached, or when not reached in time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waypoints: Vec<Waypoint>,
    /// Where to send a customer's interactions (seed 000): rules tried in order, the first
    /// that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routing: Vec<RoutingRule>,
}

/// A routing rule: the queue (and department) for a profile matching `when`.
///
/// `when` is tested on the profile's latest event, with `phase` meaning the profile's
/// current phase and the profile's facts available as properties under `profile.`:
/// `profile.emotion_last`, `profile.emotion_mean`, `profile.emotion_lowest`,
/// `profile.events`, `profile.furthest_phase` (an index). For example
/// `{"property": {"name": "profile.emotion_last", "op": "<", "value": 0}}` routes unhappy
/// customers, `{"property": {"name": "cart_value", "op": ">=", "value": 1000}}` big carts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingRule {
    /// Unique id in the map.
    pub id: String,
    /// The condition; absent means always (a default rule, last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<Condition>,
    /// The queue to route to.
    pub queue: String,
    /// The department that owns the queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Department>,
    /// The priority of the interaction in the queue (lower is served first).
    #[serde(default)]
    pub priority: i64,
}

/// An ordered step of the relationship (awareness, consideration, purchase...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Unique id in the map.
    pub id: String,
    /// A readable name.
    pub name: String,
    /// What the customer is doing in this phase.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// A point of contact inside a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Touchpoint {
    /// Unique id in the map.
    pub id: String,
    /// What happens, in a few words.
    pub name: String,
    /// The id of the phase it belongs to.
    pub phase: String,
    /// A longer description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The channels it is planned on; empty means any channel.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub channels: Vec<Channel>,
    /// The department that owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<Department>,
    /// The raw event names that identify it in tracked data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// How the customer is expected to feel here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotion: Option<Rating>,
    /// A moment of truth: a bad experience here loses the customer.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub key_moment: bool,
    /// What hurts here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pains: Vec<String>,
    /// What could be improved here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opportunities: Vec<String>,
    /// The indicators that measure it (e.g. "conversion rate", "time to answer").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kpis: Vec<String>,
}

impl MapDocument {
    /// Parses a document from JSON text. Checks the shape only: unknown fields, wrong
    /// types and malformed values are errors naming their path; call [`Self::validate`]
    /// for the meaning.
    pub fn from_json(text: &str) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let doc: MapDocument =
            serde_path_to_error::deserialize(de).map_err(|e| Error::parse(crate::error::json_path(e.path()).unwrap_or_default(), e.inner().to_string()))?;
        if doc.version > FORMAT_VERSION {
            return Err(Error::parse(
                "version",
                format!("map format version {} is newer than this library supports ({FORMAT_VERSION}); upgrade journey-core", doc.version),
            ));
        }
        Ok(doc)
    }

    /// Reads and parses a document from a file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io { path: path.display().to_string(), source })?;
        Self::from_json(&text).map_err(|e| e.in_file(path))
    }

    /// The document as pretty-printed JSON (two-space indent, fields in declaration order).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a map document always serialises") + "\n"
    }

    /// Writes the document as JSON, atomically: to a temporary file beside `path`, then renamed.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |source| Error::Io { path: path.display().to_string(), source };
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, self.to_json()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// The map with this id.
    pub fn map(&self, id: &str) -> Option<&JourneyMap> {
        self.maps.iter().find(|m| m.id == id)
    }

    /// The map with this id, or the first map when `id` is `None`; [`Error::NotFound`] otherwise.
    pub fn select(&self, id: Option<&str>) -> Result<&JourneyMap> {
        match id {
            Some(id) => self.map(id).ok_or_else(|| Error::NotFound { what: "map", id: id.to_string() }),
            None => self.maps.first().ok_or_else(|| Error::NotFound { what: "map", id: "(first map: the document has none)".into() }),
        }
    }

    /// The ids of the maps, in document order.
    pub fn map_ids(&self) -> Vec<&str> {
        self.maps.iter().map(|m| m.id.as_str()).collect()
    }

    /// The persona with this id.
    pub fn persona(&self, id: &str) -> Option<&Persona> {
        self.personas.iter().find(|p| p.id == id)
    }
}

impl JourneyMap {
    /// The phase with this id.
    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    /// The position of a phase in journey order.
    pub fn phase_index(&self, id: &str) -> Option<usize> {
        self.phases.iter().position(|p| p.id == id)
    }

    /// The touchpoint with this id.
    pub fn touchpoint(&self, id: &str) -> Option<&Touchpoint> {
        self.touchpoints.iter().find(|t| t.id == id)
    }

    /// The touchpoints of one phase, in map order.
    pub fn touchpoints_in<'a>(&'a self, phase: &'a str) -> impl Iterator<Item = &'a Touchpoint> + 'a {
        self.touchpoints.iter().filter(move |t| t.phase == phase)
    }

    /// The touchpoint that lists this raw event name, if any (linear scan; the tracker
    /// and analytics build an index once).
    pub fn touchpoint_of_event(&self, event: &str) -> Option<&Touchpoint> {
        self.touchpoints.iter().find(|t| t.events.iter().any(|e| e == event))
    }

    /// The waypoint with this id.
    pub fn waypoint(&self, id: &str) -> Option<&Waypoint> {
        self.waypoints.iter().find(|w| w.id == id)
    }
}
