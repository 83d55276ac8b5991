//! The map document as Python objects: `MapDocument` (with its drawing methods, Mermaid
//! and SVG), `Phase` and `Problem`.

use std::path::PathBuf;

use journey_core::map::{MapDocument, Phase};
use journey_core::render;
use journey_core::validate::Problem;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{self, repr_str};
use crate::error::{py_err, validation};

/// A saved design: personas and one journey map per persona.
///
/// Build one with :meth:`from_json`, :meth:`load` or :meth:`from_dict`. Loading checks the
/// shape only (an unknown field, a wrong type or a malformed value raises
/// :class:`ParseError` naming its path); :meth:`validate` checks the meaning. A document
/// is immutable; two documents are equal when their content is. In Jupyter a document
/// displays as the SVG drawing of its first map.
#[pyclass(name = "MapDocument", module = "journey_core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyMapDocument {
    pub inner: MapDocument,
}

impl From<MapDocument> for PyMapDocument {
    fn from(inner: MapDocument) -> Self {
        PyMapDocument { inner }
    }
}

guarded! {
#[pymethods]
impl PyMapDocument {
    /// Parses a document from JSON text.
    ///
    /// Args:
    ///     text: The document as JSON.
    ///
    /// Returns:
    ///     The document, not yet validated.
    ///
    /// Raises:
    ///     ParseError: The text is not a map document: bad JSON, an unknown field, a wrong
    ///         type, a format version newer than this library. ``path`` names the bad
    ///         element.
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<Self> {
        py.detach(|| MapDocument::from_json(text)).map(Self::from).map_err(py_err)
    }

    /// Builds a document from plain Python data, the form :meth:`to_dict` returns.
    ///
    /// Args:
    ///     data: A dict of JSON-like values: ``None``, ``bool``, ``int``, ``float``,
    ///         ``str``, lists, tuples and dicts with ``str`` keys.
    ///
    /// Returns:
    ///     The document, not yet validated.
    ///
    /// Raises:
    ///     ParseError: The data is not a map document (see :meth:`from_json`).
    ///     TypeError: ``data`` is not a dict, or holds a value with no JSON form.
    ///     ValueError: ``data`` holds a NaN or infinite float, or a too large integer.
    #[staticmethod]
    fn from_dict(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !data.is_instance_of::<PyDict>() {
            return Err(PyTypeError::new_err(format!("data must be a dict, not {}", data.get_type().name()?)));
        }
        let text = convert::from_py(data, "data")?.to_string();
        Self::from_json(py, &text)
    }

    /// Reads and parses a document from a JSON file.
    ///
    /// Args:
    ///     path: The file.
    ///
    /// Returns:
    ///     The document, not yet validated.
    ///
    /// Raises:
    ///     JourneyIOError: The file cannot be read.
    ///     ParseError: The file is not a map document; ``file`` names it.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| MapDocument::load(&path)).map(Self::from).map_err(py_err)
    }

    /// The document as pretty-printed JSON: two-space indent, fields in declaration order,
    /// a final newline. Parsing it back gives an equal document.
    fn to_json(&self, py: Python<'_>) -> String {
        py.detach(|| self.inner.to_json())
    }

    /// The document as plain Python data (dicts, lists, strings, numbers, booleans), the
    /// same structure as :meth:`to_json`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize_to_py(py, &self.inner)
    }

    /// Writes the document as JSON (as :meth:`to_json`), atomically: to a temporary file
    /// beside ``path``, then renamed over it.
    ///
    /// Args:
    ///     path: The file to write.
    ///
    /// Raises:
    ///     JourneyIOError: The file cannot be written.
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path)).map_err(py_err)
    }

    /// The document's name, e.g. the company or product.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// The ids of the journey maps, in document order.
    #[getter]
    fn map_ids(&self) -> Vec<String> {
        self.inner.map_ids().into_iter().map(str::to_owned).collect()
    }

    /// Checks the document's meaning: unique ids, known phases and personas, events
    /// claimed by one touchpoint, emotions in range, consistent waypoints.
    ///
    /// Raises:
    ///     ValidationError: The document has problems; its ``problems`` lists every one.
    fn validate(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.inner.validate()).map_err(|e| validation(py, e))
    }

    /// Every problem of the document, in document order. Never raises.
    ///
    /// Returns:
    ///     The problems; empty when the document is valid.
    fn problems(&self, py: Python<'_>) -> Vec<PyProblem> {
        py.detach(|| self.inner.problems()).into_iter().map(PyProblem::from).collect()
    }

    /// A journey map as a Mermaid ``journey`` diagram: one section per phase, one task per
    /// touchpoint scored 1-5 from its planned emotion (3 when unplanned), with its
    /// department (or channels) as the actor; key moments are starred.
    ///
    /// Args:
    ///     map_id: The map's id; ``None`` for the first map.
    ///
    /// Raises:
    ///     NotFoundError: No map has this id, or the document has no maps.
    #[pyo3(signature = (map_id=None))]
    fn to_mermaid(&self, py: Python<'_>, map_id: Option<&str>) -> PyResult<String> {
        py.detach(|| self.inner.select(map_id).map(render::mermaid)).map_err(py_err)
    }

    /// A journey map as a standalone SVG document.
    ///
    /// Args:
    ///     map_id: The map's id; ``None`` for the first map.
    ///
    /// Raises:
    ///     NotFoundError: No map has this id, or the document has no maps.
    #[pyo3(signature = (map_id=None))]
    fn to_svg(&self, py: Python<'_>, map_id: Option<&str>) -> PyResult<String> {
        py.detach(|| self.inner.select(map_id).map(render::svg)).map_err(py_err)
    }

    /// The SVG of the first map, for Jupyter and IPython rich display.
    ///
    /// Raises:
    ///     NotFoundError: The document has no maps.
    fn _repr_svg_(&self, py: Python<'_>) -> PyResult<String> {
        self.to_svg(py, None)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let ids: Vec<String> = self.inner.maps.iter().map(|m| repr_str(py, &m.id)).collect();
        format!("MapDocument(name={}, maps=[{}])", repr_str(py, &self.inner.name), ids.join(", "))
    }
}
}

/// An ordered step of the relationship (awareness, consideration, purchase...).
#[pyclass(name = "Phase", module = "journey_core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyPhase {
    pub inner: Phase,
}

impl From<Phase> for PyPhase {
    fn from(inner: Phase) -> Self {
        PyPhase { inner }
    }
}

guarded! {
#[pymethods]
impl PyPhase {
    /// Unique id in the map, e.g. ``awareness``.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// A readable name.
    #[getter]
    fn name(&self) -> &str {
        &self.inner.name
    }

    /// What the customer is doing in this phase (empty if not given).
    #[getter]
    fn description(&self) -> &str {
        &self.inner.description
    }

    /// The phase as a dict, in the map document's JSON form (``id``, ``name`` and, when
    /// not empty, ``description``), ready to put in a map's ``phases``.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize_to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!("Phase(id={}, name={})", repr_str(py, &self.inner.id), repr_str(py, &self.inner.name))
    }
}
}

/// One problem found by validation.
///
/// ``str()`` gives ``path: message``. Two problems are equal when their kind, path and
/// message are.
#[pyclass(name = "Problem", module = "journey_core", frozen, eq, str)]
#[derive(Clone, PartialEq)]
pub struct PyProblem {
    pub inner: Problem,
}

impl From<Problem> for PyProblem {
    fn from(inner: Problem) -> Self {
        PyProblem { inner }
    }
}

impl std::fmt::Display for PyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

guarded! {
#[pymethods]
impl PyProblem {
    /// The kind of problem, a stable name: ``duplicate_id``, ``empty_field``,
    /// ``unknown_phase``, ``unknown_persona``, ``event_claimed_twice``,
    /// ``unknown_reference``, ``empty_phase``, ``emotion_out_of_range``,
    /// ``invalid_waypoint`` or ``limit_exceeded``.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }

    /// Where, as a path into the document, e.g. ``maps[0].phases[2]``.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }

    /// What is wrong, in words, naming the offending value.
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }

    /// The problem as a dict with the keys ``kind``, ``path`` and ``message``.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize_to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let r = |s: &str| repr_str(py, s);
        format!("Problem(kind={}, path={}, message={})", r(self.inner.kind.as_str()), r(&self.inner.path), r(&self.inner.message))
    }
}
}
