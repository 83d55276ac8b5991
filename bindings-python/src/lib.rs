//! Python bindings of journey-core: the private extension module `journey_core._native`,
//! re-exported by the pure-Python package `journey_core`.
//!
//! The files mirror the core's modules (and the Node binding's) and hold conversions,
//! argument parsing and error mapping only.

// First: its `guarded!` macro wraps the entry points of the other modules.
#[macro_use]
mod error;
mod analytics;
mod convert;
mod emotion;
mod event;
mod identity;
mod map;
mod partial;
mod preset;
mod pyser;
mod schema;
mod store;
mod table;
mod time;
mod tracker;

/// The extension's allocator for everything Rust allocates: mimalloc. A SQLite tracker's
/// rows are made on the caller's thread and written and freed on the store's writer
/// thread, where glibc's malloc is slow (see the workspace `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Design, track and validate customer journeys.
///
/// The compiled core of the ``journey_core`` package: import from ``journey_core``.
#[pyo3::pymodule]
mod _native {
    #[pymodule_export]
    use super::analytics::{PyAnalysis, from_bench_design};
    #[pymodule_export]
    use super::emotion::normalize_emotion;
    #[pymodule_export]
    use super::table::{PyAnalysisResult, PyTable};
    #[pymodule_export]
    use super::map::{PyMapDocument, PyPhase, PyProblem};
    #[pymodule_export]
    use super::partial::{PyPartialResults, PyPartials};
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
        #[cfg(any(debug_assertions, feature = "testing"))]
        {
            // Hidden: out of `__all__`, so neither `import *` nor the stubs see it.
            m.add_function(wrap_pyfunction!(super::testing::_panic_for_testing, m)?)?;
            m.index()?.call_method1("remove", ("_panic_for_testing",))?;
            m.add_function(wrap_pyfunction!(super::testing::_drop_postgres_schema, m)?)?;
            m.index()?.call_method1("remove", ("_drop_postgres_schema",))?;
        }
        Ok(())
    }
}

/// Hooks for the binding's own tests; only in debug builds and builds with the `testing`
/// feature (`scripts/test.sh` builds its wheel with it), never in a release wheel.
#[cfg(any(debug_assertions, feature = "testing"))]
mod testing {
    use pyo3::prelude::*;

    guarded! {
    /// Panics inside the panic guard, so the tests can check that a Rust panic reaches
    /// Python as ``InternalError`` (a ``JourneyError``), not as pyo3's ``PanicException``.
    /// Not part of the API.
    #[pyfunction]
    pub fn _panic_for_testing() -> PyResult<()> {
        panic!("deliberate panic for testing")
    }
    }

    guarded! {
    /// Drops a PostgreSQL schema with every table in it, so that each test leaves the
    /// server as it found it. Not part of the API.
    #[pyfunction]
    pub fn _drop_postgres_schema(py: Python<'_>, url: &str, schema: &str) -> PyResult<()> {
        use journey_core::store::{PostgresOptions, PostgresStore};
        let options = PostgresOptions { schema: schema.to_string(), pool_size: 1, ..PostgresOptions::default() };
        py.detach(|| PostgresStore::open(url, options)?.drop_schema()).map_err(crate::error::py_err)
    }
    }
}

#[cfg(test)]
mod tests {
    /// Every entry point is written inside `guarded!`: each `#[pymethods]` block and
    /// each `#[pyfunction]`, with its doc comments and attributes, follows a
    /// `guarded! {` line.
    #[test]
    fn every_entry_point_is_guarded() {
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a readable folder of src/") {
                let path = entry.expect("an entry of src/").path();
                if path.is_dir() { dirs.push(path) } else { files.push(path) }
            }
        }
        let mut checked = 0;
        for path in files {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if !matches!(line.trim(), "#[pymethods]" | "#[pyfunction]") {
                    continue;
                }
                let mut j = i;
                while j > 0 && (lines[j - 1].trim().starts_with("///") || lines[j - 1].trim().starts_with("#[")) {
                    j -= 1;
                }
                assert!(j > 0 && lines[j - 1].trim() == "guarded! {", "{}:{}: an entry point outside `guarded!`", path.display(), i + 1);
                checked += 1;
            }
        }
        assert!(checked >= 10, "found only {checked} entry points");
    }
}
