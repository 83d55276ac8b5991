//! A builder for Rust users who construct maps in code.
//!
//! Calls add to the last map started with [`MapBuilder::map`]. [`MapBuilder::build`]
//! validates the whole document and returns every problem at once.
//!
//! ```
//! use journey_core::{MapBuilder, Preset};
//! let doc = MapBuilder::new("Bank")
//!     .persona("saver", "Retirement saver")
//!     .map("pension", "Opening a pension plan", "saver")
//!     .phase("research", "Research")
//!     .touchpoint("web", "Reads about plans", "research", |t| t.channel("web").events(["plan_view"]))
//!     .build()
//!     .unwrap();
//! assert_eq!(doc.maps[0].touchpoints[0].channels[0].as_str(), "web");
//! ```

use crate::emotion::Rating;
use crate::map::{FORMAT_VERSION, JourneyMap, MapDocument, Persona, Phase, Touchpoint};
use crate::preset::Preset;
use crate::validate::ValidationErrors;
use crate::vocabulary::{Channel, Department};
use crate::waypoint::Waypoint;

/// Builds a [`MapDocument`] step by step.
#[derive(Debug, Clone)]
pub struct MapBuilder {
    doc: MapDocument,
}

impl MapBuilder {
    /// Starts an empty document with a name.
    pub fn new(name: impl Into<String>) -> Self {
        MapBuilder {
            doc: MapDocument { schema: None, version: FORMAT_VERSION, name: name.into(), description: String::new(), personas: vec![], maps: vec![] },
        }
    }

    /// Sets the document's description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.doc.description = text.into();
        self
    }

    /// Adds a persona with an id and a name.
    pub fn persona(self, id: impl Into<String>, name: impl Into<String>) -> Self {
        self.persona_with(id, name, |p| p)
    }

    /// Adds a persona and fills in its details with `f`.
    pub fn persona_with(mut self, id: impl Into<String>, name: impl Into<String>, f: impl FnOnce(Persona) -> Persona) -> Self {
        let persona = Persona {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            goals: vec![],
            motivations: vec![],
            doubts: vec![],
            preferred_channels: vec![],
            preferred_times: vec![],
            attributes: Default::default(),
            assign_when: None,
        };
        self.doc.personas.push(f(persona));
        self
    }

    /// Starts a new journey map for a persona; later calls add to it.
    pub fn map(mut self, id: impl Into<String>, name: impl Into<String>, persona: impl Into<String>) -> Self {
        self.doc.maps.push(JourneyMap {
            id: id.into(),
            name: name.into(),
            persona: persona.into(),
            description: String::new(),
            phases: vec![],
            touchpoints: vec![],
            waypoints: vec![],
            routing: vec![],
        });
        self
    }

    fn current(&mut self) -> &mut JourneyMap {
        if self.doc.maps.is_empty() {
            let persona = self.doc.personas.first().map(|p| p.id.clone()).unwrap_or_default();
            *self = std::mem::replace(self, MapBuilder::new("")).map("journey", "Journey", persona);
        }
        self.doc.maps.last_mut().expect("a map was just ensured")
    }

    /// Appends a phase to the current map.
    pub fn phase(mut self, id: impl Into<String>, name: impl Into<String>) -> Self {
        self.current().phases.push(Phase { id: id.into(), name: name.into(), description: String::new() });
        self
    }

    /// Appends the phases of a preset to the current map.
    pub fn preset(mut self, preset: Preset) -> Self {
        self.current().phases.extend(preset.phases());
        self
    }

    /// Appends a touchpoint to the current map, filled in by `f`.
    pub fn touchpoint(
        mut self,
        id: impl Into<String>,
        name: impl Into<String>,
        phase: impl Into<String>,
        f: impl FnOnce(TouchpointBuilder) -> TouchpointBuilder,
    ) -> Self {
        let tp = Touchpoint {
            id: id.into(),
            name: name.into(),
            phase: phase.into(),
            description: String::new(),
            channels: vec![],
            department: None,
            events: vec![],
            emotion: None,
            key_moment: false,
            pains: vec![],
            opportunities: vec![],
            kpis: vec![],
        };
        let built = f(TouchpointBuilder(tp)).0;
        self.current().touchpoints.push(built);
        self
    }

    /// Appends a waypoint to the current map.
    pub fn waypoint(mut self, waypoint: Waypoint) -> Self {
        self.current().waypoints.push(waypoint);
        self
    }

    /// Validates and returns the document, or every problem found.
    pub fn build(self) -> Result<MapDocument, ValidationErrors> {
        self.doc.validate()?;
        Ok(self.doc)
    }

    /// Returns the document without validating it.
    pub fn build_unchecked(self) -> MapDocument {
        self.doc
    }
}

/// Fills in one touchpoint; see [`MapBuilder::touchpoint`].
#[derive(Debug, Clone)]
pub struct TouchpointBuilder(Touchpoint);

impl TouchpointBuilder {
    /// Adds a planned channel.
    pub fn channel(mut self, channel: impl Into<Channel>) -> Self {
        self.0.channels.push(channel.into());
        self
    }

    /// Sets the owning department.
    pub fn department(mut self, department: impl Into<Department>) -> Self {
        self.0.department = Some(department.into());
        self
    }

    /// Adds raw event names that identify the touchpoint.
    pub fn events<S: Into<String>>(mut self, events: impl IntoIterator<Item = S>) -> Self {
        self.0.events.extend(events.into_iter().map(Into::into));
        self
    }

    /// Sets the planned emotion.
    pub fn emotion(mut self, rating: impl Into<Rating>) -> Self {
        self.0.emotion = Some(rating.into());
        self
    }

    /// Flags the touchpoint as a key moment.
    pub fn key_moment(mut self) -> Self {
        self.0.key_moment = true;
        self
    }

    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.0.description = text.into();
        self
    }

    /// Adds a pain.
    pub fn pain(mut self, text: impl Into<String>) -> Self {
        self.0.pains.push(text.into());
        self
    }

    /// Adds an opportunity.
    pub fn opportunity(mut self, text: impl Into<String>) -> Self {
        self.0.opportunities.push(text.into());
        self
    }

    /// Adds a KPI.
    pub fn kpi(mut self, text: impl Into<String>) -> Self {
        self.0.kpis.push(text.into());
        self
    }
}
