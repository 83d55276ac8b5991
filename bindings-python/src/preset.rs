//! Phase presets.

use journey_core::{Error, Preset};
use pyo3::prelude::*;

use crate::error::py_err;
use crate::map::PyPhase;

guarded! {
/// The names of the ready-made phase presets: ``funnel`` (awareness, interest,
/// consideration, action, usage, advocacy) and ``relationship`` (connect, orient,
/// interact, expand, refer).
#[pyfunction]
pub fn presets() -> Vec<&'static str> {
    Preset::ALL.iter().map(|p| p.name()).collect()
}
}

guarded! {
/// The phases of a preset, in journey order.
///
/// Args:
///     name: The preset's name, one of :func:`presets`.
///
/// Returns:
///     The phases, with ids, names and descriptions.
///
/// Raises:
///     NotFoundError: No preset has this name.
#[pyfunction]
pub fn preset_phases(name: &str) -> PyResult<Vec<PyPhase>> {
    let preset = Preset::from_name(name).ok_or_else(|| py_err(Error::NotFound { what: "preset", id: name.to_owned() }))?;
    Ok(preset.phases().into_iter().map(PyPhase::from).collect())
}
}
