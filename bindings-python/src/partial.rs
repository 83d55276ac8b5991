//! Mergeable measures in Python: `Partials` (a partial state of chosen measures over part
//! of the journeys, as bytes that travel between processes) and `PartialResults` (the
//! finished measures). The Spark pipeline (`journey_core.spark`) is built on them; the
//! logic is the core's `analytics::partial`.

use std::sync::Mutex;

use journey_core::analytics::ToTables;
use journey_core::analytics::partial::{PartialOptions, Partials, Results};
use journey_core::analytics::QuantileMode;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use serde_json::Value;

use crate::convert;
use crate::error::py_err;
use crate::table::PyAnalysisResult;

/// The measures and their options from a dict (or its JSON text), in the core's
/// `PartialOptions` form: e.g. ``{"reach": True, "funnels": [{"steps": [["view"],
/// ["buy"]]}], "paths": {"k": 8}}``; a field left out keeps its default.
pub(crate) fn measures(obj: &Bound<'_, PyAny>) -> PyResult<PartialOptions> {
    let value = if let Ok(text) = obj.cast::<PyString>() {
        serde_json::from_str(text.to_str()?).map_err(|e| py_err(journey_core::Error::parse("measures", e.to_string())))?
    } else {
        Value::Object(convert::dict_from_py(obj, "measures")?)
    };
    convert::deserialize(value, "measures")
}

/// A partial state of some measures over part of the journeys (whole journeys: every event
/// of a profile in the same part).
///
/// Compute one per part with :meth:`Analysis.partials`, ship it as bytes
/// (:meth:`to_bytes`, :meth:`from_bytes`), :meth:`merge` them in any order, then
/// :meth:`finish`: the results equal :meth:`Analysis.results` over all the data.
#[pyclass(name = "Partials", module = "journey_core", frozen)]
pub struct PyPartials {
    inner: Mutex<Partials>,
}

impl PyPartials {
    /// Wraps a core state.
    pub fn new(p: Partials) -> Self {
        PyPartials { inner: Mutex::new(p) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Partials> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

guarded! {
#[pymethods]
impl PyPartials {
    /// A state read from bytes written by :meth:`to_bytes` (a versioned format).
    ///
    /// Raises:
    ///     ParseError: The bytes are not a partial state of this format version, or are
    ///         corrupt (``path`` names what is wrong).
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        let p = py.detach(|| Partials::from_bytes(data)).map_err(py_err)?;
        Ok(PyPartials::new(p))
    }

    /// The state as bytes (magic, format version, checksum, payload).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let p = self.lock().clone();
        let bytes = py.detach(|| p.to_bytes()).map_err(py_err)?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Merges ``other`` into this state.
    ///
    /// Raises:
    ///     ParseError: The states were computed over another map, with other analysis
    ///         options or other measures (``path`` says which); this state is unchanged.
    fn merge(&self, py: Python<'_>, other: &Bound<'_, PyPartials>) -> PyResult<()> {
        if std::ptr::eq(self, other.get()) {
            return Err(pyo3::exceptions::PyValueError::new_err("merge: a state cannot be merged with itself (it would count every journey twice)"));
        }
        let theirs = other.get().lock().clone();
        let mut mine = self.lock().clone();
        py.detach(|| mine.merge(&theirs)).map_err(py_err)?;
        *self.lock() = mine;
        Ok(())
    }

    /// The finished measures.
    ///
    /// Raises:
    ///     ParseError: The state does not fit its map (a corrupt payload).
    fn finish(&self, py: Python<'_>) -> PyResult<PyPartialResults> {
        let p = self.lock().clone();
        let r = py.detach(|| p.finish()).map_err(py_err)?;
        PyPartialResults::new(py, &r)
    }

    /// The journeys counted so far (merged states add up).
    #[getter]
    fn journeys(&self) -> u64 {
        self.lock().journeys()
    }

    /// The events counted so far (merged states add up).
    #[getter]
    fn events(&self) -> u64 {
        self.lock().events()
    }

    fn __repr__(&self) -> String {
        let p = self.lock();
        format!("Partials(journeys={}, events={})", p.journeys(), p.events())
    }
}
}

/// Converts an optional result.
fn opt<T: serde::Serialize + ToTables>(py: Python<'_>, kind: &'static str, r: Option<&T>) -> PyResult<Option<Py<PyAnalysisResult>>> {
    r.map(|r| Py::new(py, PyAnalysisResult::new(kind, r)?)).transpose()
}

/// Converts a list of results.
fn all<T: serde::Serialize + ToTables>(py: Python<'_>, kind: &'static str, r: &[T]) -> PyResult<Vec<Py<PyAnalysisResult>>> {
    r.iter().map(|r| Py::new(py, PyAnalysisResult::new(kind, r)?)).collect()
}

/// The finished measures of a :class:`Partials`: each an :class:`AnalysisResult` (``None``
/// when the measure was not asked for), the same as the :class:`Analysis` methods give.
#[pyclass(name = "PartialResults", module = "journey_core", frozen, get_all)]
pub struct PyPartialResults {
    /// Phase reach.
    reach: Option<Py<PyAnalysisResult>>,
    /// Phase reach per persona.
    reach_by_persona: Option<Py<PyAnalysisResult>>,
    /// The funnels, in the order asked.
    funnels: Vec<Py<PyAnalysisResult>>,
    /// The funnel breakdowns, in the order asked.
    funnel_breakdowns: Vec<Py<PyAnalysisResult>>,
    /// Transitions.
    transitions: Option<Py<PyAnalysisResult>>,
    /// Top paths.
    paths: Option<Py<PyAnalysisResult>>,
    /// Emotion.
    emotion: Option<Py<PyAnalysisResult>>,
    /// Emotion per persona.
    emotion_by_persona: Option<Py<PyAnalysisResult>>,
    /// Gray areas.
    gray_areas: Option<Py<PyAnalysisResult>>,
    /// Conformance.
    conformance: Option<Py<PyAnalysisResult>>,
    /// Key moments.
    key_moments: Option<Py<PyAnalysisResult>>,
    /// The hypothesis report.
    hypotheses: Option<Py<PyAnalysisResult>>,
    /// The stitch summary.
    stitch: Option<Py<PyAnalysisResult>>,
    /// ``None`` when the medians and percentiles are exact; with a quantile sketch
    /// (``{"quantiles": {"sketch": {...}}}``), the relative error of their estimates.
    relative_accuracy: Option<f64>,
}

impl PyPartialResults {
    /// Converts the core's results.
    pub fn new(py: Python<'_>, r: &Results) -> PyResult<Self> {
        Ok(PyPartialResults {
            reach: opt(py, "reach", r.reach.as_ref())?,
            reach_by_persona: opt(py, "reach_by_persona", r.reach_by_persona.as_ref())?,
            funnels: all(py, "funnel", &r.funnels)?,
            funnel_breakdowns: all(py, "funnel_breakdown", &r.funnel_breakdowns)?,
            transitions: opt(py, "transitions", r.transitions.as_ref())?,
            paths: opt(py, "paths", r.paths.as_ref())?,
            emotion: opt(py, "emotion", r.emotion.as_ref())?,
            emotion_by_persona: opt(py, "emotion_by_persona", r.emotion_by_persona.as_ref())?,
            gray_areas: opt(py, "gray_areas", r.gray_areas.as_ref())?,
            conformance: opt(py, "conformance", r.conformance.as_ref())?,
            key_moments: opt(py, "key_moments", r.key_moments.as_ref())?,
            hypotheses: opt(py, "hypotheses", r.hypotheses.as_ref())?,
            stitch: opt(py, "stitch", r.stitch.as_ref())?,
            relative_accuracy: match r.quantiles {
                QuantileMode::Exact => None,
                QuantileMode::Sketch(s) => Some(s.relative_accuracy),
            },
        })
    }
}

guarded! {
#[pymethods]
impl PyPartialResults {
    /// Every measure that was computed, as ``{name: result}`` (funnels as ``funnel_0``,
    /// ``funnel_1``..., breakdowns as ``funnel_breakdown_0``...).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        let singles = [
            ("reach", &self.reach),
            ("reach_by_persona", &self.reach_by_persona),
            ("transitions", &self.transitions),
            ("paths", &self.paths),
            ("emotion", &self.emotion),
            ("emotion_by_persona", &self.emotion_by_persona),
            ("gray_areas", &self.gray_areas),
            ("conformance", &self.conformance),
            ("key_moments", &self.key_moments),
            ("hypotheses", &self.hypotheses),
            ("stitch", &self.stitch),
        ];
        for (name, r) in singles {
            if let Some(r) = r {
                d.set_item(name, r.clone_ref(py))?;
            }
        }
        for (i, f) in self.funnels.iter().enumerate() {
            d.set_item(format!("funnel_{i}"), f.clone_ref(py))?;
        }
        for (i, f) in self.funnel_breakdowns.iter().enumerate() {
            d.set_item(format!("funnel_breakdown_{i}"), f.clone_ref(py))?;
        }
        Ok(d)
    }
}
}
