//! Ready-made phase sets (`funnel`, `relationship`).

use journey_core::{Error, Phase, Preset};
use napi::{Env, Result};
use napi_derive::napi;

use crate::error::guard;

/// An ordered step of the journey.
#[napi(object, js_name = "Phase")]
#[derive(Debug, Clone)]
pub struct JsPhase {
    /// Unique id in the map, e.g. `awareness`.
    pub id: String,
    /// A readable name.
    pub name: String,
    /// What the customer is doing in this phase.
    pub description: String,
}

impl From<Phase> for JsPhase {
    fn from(p: Phase) -> Self {
        JsPhase { id: p.id, name: p.name, description: p.description }
    }
}

impl From<JsPhase> for Phase {
    fn from(p: JsPhase) -> Self {
        Phase { id: p.id, name: p.name, description: p.description }
    }
}

/// The names of the phase presets (`funnel`, `relationship`).
#[napi(catch_unwind)]
pub fn presets() -> Vec<String> {
    Preset::ALL.iter().map(|p| p.name().to_string()).collect()
}

/// The phases of a preset, in journey order.
///
/// @throws {Error} `E_NOT_FOUND` when no preset has this name.
#[napi(catch_unwind)]
pub fn preset_phases(env: &Env, name: String) -> Result<Vec<JsPhase>> {
    guard(env, || {
        let preset = Preset::from_name(&name).ok_or(Error::NotFound { what: "preset", id: name.clone() })?;
        Ok(preset.phases().into_iter().map(JsPhase::from).collect())
    })
}
