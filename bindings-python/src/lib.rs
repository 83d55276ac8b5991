//! Python bindings of journey-core: the private extension module `journey_core._native`,
//! re-exported by the pure-Python package `journey_core`.
//!
//! The files mirror the core's modules (and the Node binding's) and hold conversions,
//! argument parsing and error mapping only.

mod convert;
mod emotion;
mod error;
mod event;
mod identity;
mod map;
mod preset;
mod schema;
mod time;
mod tracker;

/// Design, track and validate customer journeys.
///
/// The compiled core of the ``journey_core`` package: import from ``journey_core``.
#[pyo3::pymodule]
mod _native {
    #[pymodule_export]
    use super::emotion::normalize_emotion;
    #[pymodule_export]
    use super::map::{PyMapDocument, PyPhase, PyProblem};
    #[pymodule_export]
    use super::preset::{preset_phases, presets};
    #[pymodule_export]
    use super::schema::map_schema;
    #[pymodule_export]
    use super::tracker::{PyTracker, backtest};

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", journey_core::VERSION)?;
        for (name, class) in super::error::types(m.py())?.named() {
            m.add(name, class.bind(m.py()))?;
        }
        super::tracker::register_atexit(m)?;
        Ok(())
    }
}
