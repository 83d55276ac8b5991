//! The analysis session in Python: `Analysis`, built from Arrow data (pandas, polars,
//! pyarrow, anything with `__arrow_c_stream__`), a Parquet or CSV file, a tracker's store
//! or event dicts; one method per measure of the core's `Analysis`, options as keyword
//! arguments, results as `AnalysisResult`s.
//!
//! Data is read batch by batch through the Arrow C stream interface (pyo3-arrow), never
//! row by row; the interpreter is released while the core works, and signals (Ctrl-C) are
//! checked between batches and between stages.

use std::sync::{RwLock, RwLockReadGuard};

use arrow_array::RecordBatch;
use journey_core::analytics::{
    self, Analysis, AnalysisOptions, Breakdown, ColumnMapping, EmotionOptions, FunnelOptions, GrayAreasOptions, HypothesisOptions,
    KeyMomentsOptions, NameLevel, Outcome, PathsOptions, ReportOptions, StepLevel, ToTables,
};
use journey_core::MapDocument;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{IntoPyDict, PyDict, PyString};
use pyo3_arrow::input::AnyRecordBatch;
use serde_json::Value;

use crate::convert;
use crate::error::py_err;
use crate::map::PyMapDocument;
use crate::partial::{self, PyPartialResults, PyPartials};
use crate::table::{PyAnalysisResult, PyTable};
use crate::tracker::PyTracker;
use crate::{event, identity, time};

/// A progress bar (tqdm, if installed and asked for) over rows read.
struct Progress(Option<Py<PyAny>>);

impl Progress {
    fn new(py: Python<'_>, on: bool, total: Option<usize>, desc: &str) -> PyResult<Self> {
        if !on {
            return Ok(Progress(None));
        }
        let Ok(tqdm) = py.import("tqdm.auto") else { return Ok(Progress(None)) };
        let kwargs = PyDict::new(py);
        kwargs.set_item("total", total)?;
        kwargs.set_item("unit", "rows")?;
        kwargs.set_item("unit_scale", true)?;
        kwargs.set_item("desc", desc)?;
        Ok(Progress(Some(tqdm.getattr("tqdm")?.call((), Some(&kwargs))?.unbind())))
    }

    fn update(&self, py: Python<'_>, rows: usize) -> PyResult<()> {
        if let Some(bar) = &self.0 {
            bar.call_method1(py, "update", (rows,))?;
        }
        Ok(())
    }

    fn stage(&self, py: Python<'_>, what: &str) -> PyResult<()> {
        if let Some(bar) = &self.0 {
            bar.call_method1(py, "set_postfix_str", (what,))?;
        }
        Ok(())
    }

    fn close(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(bar) = &self.0 {
            bar.call_method0(py, "close")?;
        }
        Ok(())
    }
}

/// An Arrow source: anything with `__arrow_c_stream__` / `__arrow_c_array__`; a pandas
/// DataFrame without them goes through `pyarrow.Table.from_pandas`.
fn arrow_source<'py>(obj: &Bound<'py, PyAny>, arg: &str) -> PyResult<AnyRecordBatch> {
    let py = obj.py();
    let mut obj = obj.clone();
    if !obj.hasattr("__arrow_c_stream__")? && !obj.hasattr("__arrow_c_array__")? {
        let module = obj.get_type().module()?.to_string();
        if module.starts_with("pandas") {
            let pa = py.import("pyarrow").map_err(|e| PyTypeError::new_err(format!("{arg}: a pandas DataFrame is read through pyarrow, which is not installed: {e}")))?;
            let kwargs = PyDict::new(py);
            kwargs.set_item("preserve_index", false)?;
            obj = pa.getattr("Table")?.call_method("from_pandas", (obj,), Some(&kwargs))?;
        }
    }
    obj.extract::<AnyRecordBatch>().map_err(|e| {
        PyTypeError::new_err(format!(
            "{arg} must be Arrow data (a pyarrow Table or RecordBatch, a polars or pandas DataFrame, anything with __arrow_c_stream__), not {}: {e}",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        ))
    })
}

/// Reads every batch of an Arrow source, checking signals between batches.
fn read_batches(py: Python<'_>, obj: &Bound<'_, PyAny>, arg: &str, progress: &Progress) -> PyResult<(arrow_schema::SchemaRef, Vec<RecordBatch>)> {
    let mut reader = arrow_source(obj, arg)?.into_reader()?;
    let schema = reader.schema();
    let mut batches = Vec::new();
    loop {
        let next = py.detach(|| reader.next());
        let Some(batch) = next else { break };
        let batch = batch.map_err(|e| PyValueError::new_err(format!("{arg}: reading the Arrow stream failed: {e}")))?;
        progress.update(py, batch.num_rows())?;
        batches.push(batch);
        py.check_signals()?;
    }
    Ok((schema, batches))
}

fn mapping(obj: Option<&Bound<'_, PyAny>>) -> PyResult<ColumnMapping> {
    match obj {
        None => Ok(ColumnMapping::default()),
        Some(m) => convert::deserialize(Value::Object(convert::dict_from_py(m, "mapping")?), "mapping"),
    }
}

/// The analysis options from the shared keyword arguments.
fn options(map: Option<String>, identity: Option<&Bound<'_, PyAny>>, identity_limits: bool, properties: Option<Vec<String>>) -> PyResult<AnalysisOptions> {
    let mut o = AnalysisOptions { map, properties, ..AnalysisOptions::default() };
    if let Some(rules) = identity {
        o.identity = Some(identity::rules(rules)?);
    }
    if !identity_limits {
        o.identity = None;
    }
    Ok(o)
}

/// A duration argument: an ``int`` of microseconds or a ``timedelta``.
fn duration(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<i64> {
    let py = obj.py();
    let timedelta = py.import("datetime")?.getattr("timedelta")?;
    if obj.is_instance(&timedelta)? {
        let unit = timedelta.call((), Some(&[("microseconds", 1)].into_py_dict(py)?))?;
        return obj.floor_div(unit)?.extract();
    }
    if obj.is_instance_of::<pyo3::types::PyInt>() && !obj.is_instance_of::<pyo3::types::PyBool>() {
        return obj.extract();
    }
    Err(PyTypeError::new_err(format!("{arg} must be an int of microseconds or a timedelta, not {}", obj.get_type().name()?)))
}

/// A funnel window: the core's default (one week), unbounded (``None``) or a duration.
pub enum Window {
    /// One week.
    Week,
    /// No window.
    Unbounded,
    /// Microseconds.
    Us(i64),
}

impl<'a, 'py> FromPyObject<'a, 'py> for Window {
    type Error = PyErr;

    fn extract(ob: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if ob.is_none() {
            return Ok(Window::Unbounded);
        }
        Ok(Window::Us(duration(&ob.to_owned(), "window")?))
    }
}

fn name_level(s: &str, arg: &str) -> PyResult<NameLevel> {
    match s {
        "event" => Ok(NameLevel::Event),
        "touchpoint" => Ok(NameLevel::Touchpoint),
        "phase" => Ok(NameLevel::Phase),
        _ => Err(PyValueError::new_err(format!("{arg} must be 'event', 'touchpoint' or 'phase', not {s:?}"))),
    }
}

/// `touchpoint:<id>` or `phase:<id>`.
fn outcome(s: Option<&str>) -> PyResult<Option<Outcome>> {
    match s.map(|s| s.split_once(':')) {
        None => Ok(None),
        Some(Some(("touchpoint", id))) => Ok(Some(Outcome::Touchpoint(id.into()))),
        Some(Some(("phase", id))) => Ok(Some(Outcome::Phase(id.into()))),
        Some(_) => Err(PyValueError::new_err(format!("outcome must be 'touchpoint:<id>' or 'phase:<id>', not {:?}", s.unwrap_or_default()))),
    }
}

fn breakdown(by: &str) -> PyResult<Breakdown> {
    match by.split_once(':') {
        None if by == "persona" => Ok(Breakdown::Persona),
        None if by == "channel" => Ok(Breakdown::Channel),
        None if by == "first_touchpoint" => Ok(Breakdown::FirstTouchpoint),
        Some(("property", p)) if !p.is_empty() => Ok(Breakdown::Property(p.into())),
        Some(("attribute", a)) if !a.is_empty() => Ok(Breakdown::Attribute(a.into())),
        _ => Err(PyValueError::new_err(format!(
            "by must be 'persona', 'channel', 'first_touchpoint', 'property:<name>' or 'attribute:<name>', not {by:?}"
        ))),
    }
}

/// Funnel steps: each a name or a list of names.
fn steps(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Vec<Vec<String>>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!("{arg} must be a list of steps, not a str")));
    }
    let mut out = Vec::new();
    for (i, s) in obj.try_iter()?.enumerate() {
        let s = s?;
        if let Ok(name) = s.extract::<String>() {
            out.push(vec![name]);
        } else {
            out.push(s.extract::<Vec<String>>().map_err(|_| PyTypeError::new_err(format!("{arg}[{i}] must be a str or a list of str")))?);
        }
    }
    Ok(out)
}

/// The funnel options from keyword arguments.
#[allow(clippy::too_many_arguments)]
fn funnel_options(
    steps_arg: &Bound<'_, PyAny>,
    match_on: &str,
    window: Window,
    now: Option<&Bound<'_, PyAny>>,
    strict_order: bool,
    exclusions: Option<&Bound<'_, PyAny>>,
    per_step_windows: Option<Vec<Option<Bound<'_, PyAny>>>>,
    histogram_edges: Option<Vec<Bound<'_, PyAny>>>,
) -> PyResult<FunnelOptions> {
    let mut o = FunnelOptions::events::<&str>(&[]);
    o.steps = steps(steps_arg, "steps")?;
    o.match_on = match match_on {
        "event" => StepLevel::Event,
        "touchpoint" => StepLevel::Touchpoint,
        "phase" => StepLevel::Phase,
        other => return Err(PyValueError::new_err(format!("match must be 'event', 'touchpoint' or 'phase', not {other:?}"))),
    };
    o.window_us = match window {
        Window::Week => Some(analytics::funnel::WEEK_US),
        Window::Unbounded => None,
        Window::Us(w) => Some(w),
    };
    o.now_us = now.map(|n| time::micros_from_py(n, "now")).transpose()?;
    o.strict_order = strict_order;
    if let Some(e) = exclusions {
        o.exclusion_steps = steps(e, "exclusions")?;
    }
    if let Some(w) = per_step_windows {
        o.per_step_windows = Some(w.iter().enumerate().map(|(i, w)| w.as_ref().map(|w| duration(w, &format!("per_step_windows[{i}]"))).transpose()).collect::<PyResult<_>>()?);
    }
    if let Some(edges) = histogram_edges {
        o.histogram_edges_us = edges.iter().enumerate().map(|(i, e)| duration(e, &format!("histogram_edges[{i}]"))).collect::<PyResult<_>>()?;
    }
    Ok(o)
}

/// Journeys checked against a map: events stitched into one journey per customer, every
/// measure of journey analytics a method (see ``ANALYTICS.md``). Build one with
/// :meth:`from_arrow` (pandas, polars, pyarrow...), :meth:`from_parquet`,
/// :meth:`from_csv`, :meth:`from_tracker` or :meth:`from_events`.
///
/// Every measure returns an :class:`AnalysisResult`: its fields as attributes, its tables
/// as :class:`Table` s (``to_pandas()``, ``to_polars()``, ``to_arrow()``). The interpreter
/// is released while a measure runs; an ``Analysis`` can be used from several threads.
///
/// The options shared by the constructors:
///
/// Args:
///     map: The id of the map to check journeys against; the document's first when ``None``.
///     identity: Identity rules as for :class:`Tracker` (levels and limits); the
///         tracker's defaults when ``None``.
///     identity_limits: ``False`` applies every identity link, ignoring limits (the
///         benchmark's stitching).
///     properties: The event properties kept for breakdowns; every other column when ``None``.
#[pyclass(name = "Analysis", module = "journey_core", frozen)]
pub struct PyAnalysis {
    inner: RwLock<Analysis>,
}

impl PyAnalysis {
    fn get(&self) -> RwLockReadGuard<'_, Analysis> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn new(a: Analysis) -> Self {
        PyAnalysis { inner: RwLock::new(a) }
    }

    /// Runs a measure with the interpreter released.
    fn run<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&Analysis) -> journey_core::Result<T> + Send) -> PyResult<T> {
        py.detach(|| f(&self.get())).map_err(py_err)
    }
}

fn result<T: serde::Serialize + ToTables>(kind: &'static str, r: &T) -> PyResult<PyAnalysisResult> {
    PyAnalysisResult::new(kind, r)
}

guarded! {
#[pymethods]
impl PyAnalysis {
    /// An analysis of Arrow data: a pyarrow ``Table`` / ``RecordBatch`` /
    /// ``RecordBatchReader``, a polars or pandas ``DataFrame``, or anything with
    /// ``__arrow_c_stream__``. Read batch by batch through the Arrow C interface.
    ///
    /// Args:
    ///     doc: The map document.
    ///     events: The events (default columns: ``ts``, ``seq``, ``customer_key`` or
    ///         ``key``, ``event``, ``channel``, ``department``, ``csat`` / ``nps`` /
    ///         ``rating``; every other column is an event property).
    ///     links: Identity links given apart from events (columns ``key_a``, ``key_b``,
    ///         ``ts``), as Arrow data.
    ///     mapping: Which column holds what, e.g. ``{"ts": "time", "keys": ["session",
    ///         {"column": "user_id", "kind": "customer"}], "event": "name", "rating":
    ///         {"column": "stars", "scale": "csat"}}`` (fields ``ts``, ``seq``, ``keys``,
    ///         ``event``, ``channel``, ``department``, ``rating``, ``profile``; one left
    ///         out keeps its default). With several key columns, a row's first non-null
    ///         key is its key and the others are linked to it.
    ///     progress: Show a progress bar (tqdm, if installed).
    ///
    /// Raises:
    ///     BadEventError: A column is missing or of the wrong type, or a value is bad;
    ///         ``field`` names the column.
    ///     ParseError: ``mapping`` is malformed (``path`` names the field).
    ///     TypeError: ``events`` is not Arrow data.
    ///     NotFoundError: No map has the id ``map``.
    ///     KeyboardInterrupt: Interrupted (Ctrl-C) while reading.
    #[staticmethod]
    #[pyo3(signature = (doc, events, *, links = None, mapping = None, map = None, identity = None, identity_limits = true, properties = None, progress = false))]
    #[allow(clippy::too_many_arguments)]
    fn from_arrow(
        py: Python<'_>,
        doc: &Bound<'_, PyMapDocument>,
        events: &Bound<'_, PyAny>,
        links: Option<&Bound<'_, PyAny>>,
        mapping: Option<&Bound<'_, PyAny>>,
        map: Option<String>,
        identity: Option<&Bound<'_, PyAny>>,
        identity_limits: bool,
        properties: Option<Vec<String>>,
        progress: bool,
    ) -> PyResult<Self> {
        let options = options(map, identity, identity_limits, properties)?;
        let mapping = self::mapping(mapping)?;
        let total = events.len().ok();
        let bar = Progress::new(py, progress, total, "journey_core: reading")?;
        let (schema, batches) = read_batches(py, events, "events", &bar)?;
        let resolved = mapping.resolve(&schema).map_err(py_err)?;
        let mut link_batches = match links {
            Some(l) => read_batches(py, l, "links", &Progress(None))?.1,
            None => Vec::new(),
        };
        bar.stage(py, "mapping")?;
        let (event_batches, mapped_links) = py.detach(|| resolved.apply_all(&batches)).map_err(py_err)?;
        py.check_signals()?;
        link_batches.extend(mapped_links);
        drop(batches);
        bar.stage(py, "stitching")?;
        let doc: &MapDocument = &doc.get().inner;
        let analysis = py
            .detach(|| Analysis::from_record_batches(doc, &event_batches, &link_batches, options))
            .map_err(|e| py_err(resolved.explain(e)))?;
        bar.close(py)?;
        py.check_signals()?;
        Ok(PyAnalysis::new(analysis))
    }

    /// An analysis of a Parquet file of events (the mapped columns are read, row groups in
    /// parallel), and optionally one of links (``key_a``, ``key_b``, ``ts``).
    ///
    /// Args:
    ///     doc: The map document.
    ///     events: The events file.
    ///     links: The links file.
    ///     mapping: As for :meth:`from_arrow`.
    ///
    /// Raises:
    ///     JourneyIOError: A file cannot be opened.
    ///     StorageError: A file is not valid Parquet.
    ///     BadEventError: A column is missing or of the wrong type, or a value is bad.
    #[staticmethod]
    #[pyo3(signature = (doc, events, *, links = None, mapping = None, map = None, identity = None, identity_limits = true, properties = None))]
    #[allow(clippy::too_many_arguments)]
    fn from_parquet(
        py: Python<'_>,
        doc: &Bound<'_, PyMapDocument>,
        events: std::path::PathBuf,
        links: Option<std::path::PathBuf>,
        mapping: Option<&Bound<'_, PyAny>>,
        map: Option<String>,
        identity: Option<&Bound<'_, PyAny>>,
        identity_limits: bool,
        properties: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let options = options(map, identity, identity_limits, properties)?;
        let mapping = self::mapping(mapping)?;
        let doc: &MapDocument = &doc.get().inner;
        let analysis = py
            .detach(|| -> journey_core::Result<Analysis> {
                let (events, mut extra, resolved) = analytics::mapping::read_parquet(&events, &mapping)?;
                if let Some(l) = &links {
                    extra.extend(analytics::parquet::read_links(l)?);
                }
                Analysis::from_record_batches(doc, &events, &extra, options).map_err(|e| resolved.explain(e))
            })
            .map_err(py_err)?;
        Ok(PyAnalysis::new(analysis))
    }

    /// An analysis of a CSV file of events (the default column names; several keys in one
    /// field separated by ``|``; every other column an event property, as text), and
    /// optionally one of links (``key_a``, ``key_b``, ``ts``). For other names, read the
    /// file with pandas or polars and use :meth:`from_arrow` with a ``mapping``.
    ///
    /// Raises:
    ///     JourneyIOError: A file cannot be read.
    ///     ParseError: A line is malformed (``path`` is ``line N``).
    #[staticmethod]
    #[pyo3(signature = (doc, events, *, links = None, map = None, identity = None, identity_limits = true, properties = None))]
    #[allow(clippy::too_many_arguments)]
    fn from_csv(
        py: Python<'_>,
        doc: &Bound<'_, PyMapDocument>,
        events: std::path::PathBuf,
        links: Option<std::path::PathBuf>,
        map: Option<String>,
        identity: Option<&Bound<'_, PyAny>>,
        identity_limits: bool,
        properties: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let options = options(map, identity, identity_limits, properties)?;
        let doc: &MapDocument = &doc.get().inner;
        let analysis = py
            .detach(|| -> journey_core::Result<Analysis> {
                let events = analytics::csv::read_events(&events)?;
                let links = match &links {
                    Some(l) => analytics::csv::read_links(l)?,
                    None => Vec::new(),
                };
                Analysis::from_events_and_links(doc, &events, &links, options)
            })
            .map_err(py_err)?;
        Ok(PyAnalysis::new(analysis))
    }

    /// An analysis of everything a tracker's store holds (events in ``(ts, seq)`` order,
    /// explicit links, personas and attributes), with the tracker's map and identity rules.
    ///
    /// Raises:
    ///     ClosedError: The tracker is closed.
    ///     StorageError: Reading the store failed.
    #[staticmethod]
    #[pyo3(signature = (tracker, *, properties = None))]
    fn from_tracker(py: Python<'_>, tracker: &Bound<'_, PyTracker>, properties: Option<Vec<String>>) -> PyResult<Self> {
        let (core, doc) = tracker.get().core()?;
        let mut options = AnalysisOptions::like_tracker(core.config());
        options.properties = properties;
        let analysis = py.detach(|| Analysis::from_store(&doc, core.store().as_ref(), options)).map_err(py_err)?;
        Ok(PyAnalysis::new(analysis))
    }

    /// An analysis of event dicts (as :meth:`Tracker.track` takes them), for small data;
    /// an event's ``seq`` is its position.
    ///
    /// Args:
    ///     links: Identity links, dicts ``{"a": key, "b": key, "ts": micros}``.
    ///
    /// Raises:
    ///     BadEventError: An event is malformed; ``index`` is its position.
    ///     ParseError: A link is malformed.
    #[staticmethod]
    #[pyo3(signature = (doc, events, *, links = None, map = None, identity = None, identity_limits = true, properties = None))]
    #[allow(clippy::too_many_arguments)]
    fn from_events(
        py: Python<'_>,
        doc: &Bound<'_, PyMapDocument>,
        events: &Bound<'_, PyAny>,
        links: Option<&Bound<'_, PyAny>>,
        map: Option<String>,
        identity: Option<&Bound<'_, PyAny>>,
        identity_limits: bool,
        properties: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let options = options(map, identity, identity_limits, properties)?;
        let events = event::events_from_py(events)?;
        let links: Vec<analytics::IdentityLink> = match links {
            Some(l) => convert::deserialize(convert::from_py(l, "links")?, "links")?,
            None => Vec::new(),
        };
        let doc: &MapDocument = &doc.get().inner;
        let analysis = py.detach(|| Analysis::from_events_and_links(doc, &events, &links, options)).map_err(py_err)?;
        Ok(PyAnalysis::new(analysis))
    }

    /// The number of journeys (profiles with events).
    fn __len__(&self) -> usize {
        self.get().len()
    }

    /// The number of events.
    #[getter]
    fn num_events(&self) -> usize {
        self.get().table().len()
    }

    /// The id of the map journeys are checked against.
    #[getter]
    fn map_id(&self) -> String {
        self.get().map().id.clone()
    }

    /// The event properties kept (for ``funnel(steps, by="property:<name>")``).
    #[getter]
    fn properties(&self) -> Vec<String> {
        self.get().properties().names().iter().map(|s| s.to_string()).collect()
    }

    /// The canonical key (the smallest) of a key's profile, or ``None`` for a key never seen.
    fn profile_of(&self, key: &str) -> Option<String> {
        self.get().profile_of(key).map(String::from)
    }

    /// Assigns personas to keys explicitly: a dict ``{key: persona_id}``.
    fn assign_personas(&self, py: Python<'_>, assignments: std::collections::BTreeMap<String, String>) {
        py.detach(|| self.inner.write().unwrap_or_else(|p| p.into_inner()).assign_personas(assignments));
    }

    /// Gives keys attributes (merged), tested by the personas' ``assign_when`` rules and
    /// used by ``funnel(steps, by="attribute:<name>")``: a dict ``{key: {name: value}}``.
    ///
    /// Raises:
    ///     TypeError: ``attributes`` is not a dict of dicts of JSON-like values.
    fn set_attributes(&self, py: Python<'_>, attributes: &Bound<'_, PyAny>) {
        let mut all = Vec::new();
        for (k, v) in convert::dict_from_py(attributes, "attributes")? {
            match v {
                Value::Object(m) => all.push((k, m)),
                _ => return Err(PyTypeError::new_err(format!("attributes[{k:?}] must be a dict"))),
            }
        }
        py.detach(|| self.inner.write().unwrap_or_else(|p| p.into_inner()).set_attributes(all));
    }

    /// The stitch summary: keys, profiles, journeys, profiles without events, the largest
    /// profile, conflicts.
    fn stitch_summary(&self, py: Python<'_>) -> PyResult<PyAnalysisResult> {
        let r = self.run(py, |a| Ok(a.stitch_summary()))?;
        result("stitch", &r)
    }

    /// Phase reach: how many journeys reach each phase, and of the previous phase.
    fn reach(&self, py: Python<'_>) -> PyResult<PyAnalysisResult> {
        let r = self.run(py, |a| Ok(a.reach()))?;
        result("reach", &r)
    }

    /// Phase reach per persona, each over its own journeys.
    fn reach_by_persona(&self, py: Python<'_>) -> PyResult<PyAnalysisResult> {
        let r = self.run(py, |a| Ok(a.reach_by_persona()))?;
        result("reach_by_persona", &r)
    }

    /// A funnel: how many journeys pass each step in order, within a window.
    ///
    /// Args:
    ///     steps: The steps, each a name or a list of names (any of them matches).
    ///     match: What names are: ``event`` (raw event names), ``touchpoint`` or ``phase``.
    ///     window: The conversion window from step 1 (``timedelta`` or µs), inclusive;
    ///         ``None`` = unbounded. Default one week.
    ///     now: The evaluation time (aware ``datetime`` or µs); the last event's when ``None``.
    ///     strict_order: No other step event between matched steps.
    ///     exclusions: Steps that remove a journey when they fall between its matched steps.
    ///     per_step_windows: Windows between consecutive steps (``len(steps) - 1``).
    ///     histogram_edges: Time-to-convert histogram edges (ascending).
    ///     by: Break the funnel down: one funnel per group of ``persona``, ``channel``
    ///         (of the step-1 event), ``first_touchpoint``, ``property:<name>`` (an event
    ///         property of the step-1 event) or ``attribute:<name>`` (a profile
    ///         attribute); the result's kind is then ``funnel_breakdown``.
    ///
    /// Raises:
    ///     ParseError: The options are inconsistent (no step, more than 64, ...);
    ///         ``path`` names the option.
    ///     NotFoundError: A step names no touchpoint or phase (``match``).
    ///     ValueError: ``match`` is not a level, or ``by`` not a dimension.
    #[pyo3(signature = (steps, *, r#match = "event", window = Window::Week, now = None, strict_order = false, exclusions = None, per_step_windows = None, histogram_edges = None, by = None))]
    #[allow(clippy::too_many_arguments)]
    fn funnel(
        &self,
        py: Python<'_>,
        steps: &Bound<'_, PyAny>,
        r#match: &str,
        window: Window,
        now: Option<&Bound<'_, PyAny>>,
        strict_order: bool,
        exclusions: Option<&Bound<'_, PyAny>>,
        per_step_windows: Option<Vec<Option<Bound<'_, PyAny>>>>,
        histogram_edges: Option<Vec<Bound<'_, PyAny>>>,
        by: Option<&str>,
    ) -> PyResult<PyAnalysisResult> {
        let o = funnel_options(steps, r#match, window, now, strict_order, exclusions, per_step_windows, histogram_edges)?;
        match by.map(breakdown).transpose()? {
            None => result("funnel", &self.run(py, |a| a.funnel(&o))?),
            Some(by) => result("funnel_breakdown", &self.run(py, |a| a.funnel_breakdown(&o, &by))?),
        }
    }

    /// Transitions between consecutive names of journeys, at each level asked.
    ///
    /// Args:
    ///     levels: Any of ``event``, ``touchpoint``, ``phase``.
    #[pyo3(signature = (levels = vec!["event".to_string(), "touchpoint".to_string(), "phase".to_string()]))]
    fn transitions(&self, py: Python<'_>, levels: Vec<String>) -> PyResult<PyAnalysisResult> {
        let levels = levels.iter().map(|l| name_level(l, "levels")).collect::<PyResult<Vec<_>>>()?;
        let r = self.run(py, |a| Ok(a.transitions(&levels)))?;
        result("transitions", &r)
    }

    /// The most frequent paths: each journey's names, consecutive duplicates collapsed,
    /// cut to ``k``.
    ///
    /// Args:
    ///     level: ``event``, ``touchpoint`` or ``phase``.
    ///     k: The number of names a path is cut to.
    ///     top: How many paths to list.
    ///     separator: The separator of a path's text.
    #[pyo3(signature = (*, level = "event", k = 8, top = 20, separator = ">"))]
    fn paths(&self, py: Python<'_>, level: &str, k: usize, top: usize, separator: &str) -> PyResult<PyAnalysisResult> {
        let o = PathsOptions { level: name_level(level, "level")?, k, top, separator: separator.into(), ..PathsOptions::default() };
        let r = self.run(py, |a| Ok(a.paths(&o)))?;
        result("paths", &r)
    }

    /// Measured emotion against the planned emotion, per touchpoint, phase and journey.
    ///
    /// Args:
    ///     min_count: Fewer ratings than this is "not enough data".
    #[pyo3(signature = (*, min_count = 30))]
    fn emotion(&self, py: Python<'_>, min_count: u64) -> PyResult<PyAnalysisResult> {
        let o = EmotionOptions { min_count, ..EmotionOptions::default() };
        let r = self.run(py, |a| Ok(a.emotion(&o)))?;
        result("emotion", &r)
    }

    /// :meth:`emotion` per persona, each over its own journeys.
    #[pyo3(signature = (*, min_count = 30))]
    fn emotion_by_persona(&self, py: Python<'_>, min_count: u64) -> PyResult<PyAnalysisResult> {
        let o = EmotionOptions { min_count, ..EmotionOptions::default() };
        let r = self.run(py, |a| Ok(a.emotion_by_persona(&o)))?;
        result("emotion_by_persona", &r)
    }

    /// Gray areas: department handoffs and channel switches, with the journeys that end
    /// after them and the change of emotion around them.
    ///
    /// Args:
    ///     emotion_window: Events before and after a change whose ratings are compared.
    #[pyo3(signature = (*, emotion_window = 3))]
    fn gray_areas(&self, py: Python<'_>, emotion_window: usize) -> PyResult<PyAnalysisResult> {
        let o = GrayAreasOptions::with_window(emotion_window);
        let r = self.run(py, |a| Ok(a.gray_areas(&o)))?;
        result("gray_areas", &r)
    }

    /// Conformance to the map: phase order kept, skips, regressions, off-map events.
    fn conformance(&self, py: Python<'_>) -> PyResult<PyAnalysisResult> {
        let r = self.run(py, |a| Ok(a.conformance()))?;
        result("conformance", &r)
    }

    /// Key moments: touchpoints where a negative rating changes the chance of the outcome.
    ///
    /// Args:
    ///     outcome: ``touchpoint:<id>`` or ``phase:<id>``; reaching the map's last phase
    ///         when ``None``.
    ///     min_count: Both groups need at least this many journeys.
    ///
    /// Raises:
    ///     NotFoundError: The outcome names no touchpoint or phase of the map.
    #[pyo3(signature = (*, outcome = None, min_count = 30))]
    fn key_moments(&self, py: Python<'_>, outcome: Option<&str>, min_count: u64) -> PyResult<PyAnalysisResult> {
        let o = KeyMomentsOptions { outcome: self::outcome(outcome)?, min_count };
        let r = self.run(py, |a| a.key_moments(&o))?;
        result("key_moments", &r)
    }

    /// The hypothesis report: every assumption of the map (planned emotions, channels,
    /// owners, phase order, key moments) with a verdict from the evidence. ``str()`` of the
    /// result is the report as text.
    ///
    /// Args:
    ///     **thresholds: Any threshold of the report, by name: ``emotion_min_ratings``,
    ///         ``emotion_tolerance``, ``key_moment_outcome`` (``touchpoint:<id>`` or
    ///         ``phase:<id>``), ``key_moment_min_count``, ``key_moment_min_difference``,
    ///         ``min_events``, ``channel_max_unplanned_share``, ``owner_max_other_share``,
    ///         ``phase_min_steps``, ``phase_max_regression_rate``,
    ///         ``phase_max_skip_rate``, ``phase_max_unplanned_entries``.
    ///
    /// Raises:
    ///     TypeError: An unknown threshold, or a value of the wrong type.
    #[pyo3(signature = (**thresholds))]
    fn hypotheses(&self, py: Python<'_>, thresholds: Option<&Bound<'_, PyDict>>) -> PyResult<PyAnalysisResult> {
        let o = hypothesis_options(thresholds)?;
        let r = self.run(py, |a| a.hypotheses(&o))?;
        let text = r.to_text();
        PyAnalysisResult::with_text("hypotheses", &r, r.to_tables(), text)
    }

    /// The short report: stitching, reach, a funnel, the top gray areas and the
    /// hypothesis report. ``str()`` of the result is the report as text.
    ///
    /// Args:
    ///     funnel: The funnel's steps (event names); the map's phases in order (30-day
    ///         window) when ``None``.
    ///     gray_areas_top: How many gray areas to show.
    ///     gray_areas_min_occurrences: Changes with fewer occurrences are not shown.
    ///     **thresholds: The hypothesis report's thresholds (see :meth:`hypotheses`).
    #[pyo3(signature = (*, funnel = None, gray_areas_top = 5, gray_areas_min_occurrences = 30, **thresholds))]
    fn report(
        &self,
        py: Python<'_>,
        funnel: Option<&Bound<'_, PyAny>>,
        gray_areas_top: usize,
        gray_areas_min_occurrences: u64,
        thresholds: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyAnalysisResult> {
        let mut o = ReportOptions { gray_areas_top, gray_areas_min_occurrences, hypotheses: hypothesis_options(thresholds)?, ..ReportOptions::default() };
        if let Some(f) = funnel {
            let mut fo = FunnelOptions::events::<&str>(&[]);
            fo.steps = steps(f, "funnel")?;
            o.funnel = Some(fo);
        }
        let r = self.run(py, |a| a.report(&o))?;
        let mut tables = r.stitch.to_tables();
        tables.extend(r.reach.to_tables());
        tables.extend(r.funnel.to_tables());
        tables.extend(r.hypotheses.to_tables());
        let text = r.to_text();
        PyAnalysisResult::with_text("report", &r, tables, text)
    }

    /// The partial state of ``measures`` over this analysis' journeys, to merge with
    /// the states of other parts of the data (:class:`Partials`). This data must hold
    /// whole journeys: every event of a profile (on Spark: the profile as the key column,
    /// see ``journey_core.spark``).
    ///
    /// Args:
    ///     measures: The measures and their options, as a dict (or its JSON text):
    ///         ``reach``, ``reach_by_persona``, ``conformance``, ``stitch`` (booleans);
    ///         ``funnels`` (a list of ``{"steps": [["view"], ["buy"]], "window_us": ...,
    ///         "now_us": ..., "match_on": "event"}``), ``funnel_breakdowns`` (a list of
    ///         ``{"funnel": {...}, "by": "channel"}``), ``transitions`` (a list of levels),
    ///         ``paths``, ``emotion``, ``emotion_by_persona``, ``gray_areas``,
    ///         ``key_moments``, ``hypotheses`` (dicts of options, ``{}`` for the
    ///         defaults); a field left out is not computed.
    ///
    /// Raises:
    ///     ParseError: ``measures`` is malformed (``path`` names the field).
    fn partials(&self, py: Python<'_>, measures: &Bound<'_, PyAny>) -> PyResult<PyPartials> {
        let o = partial::measures(measures)?;
        Ok(PyPartials::new(self.run(py, |a| a.partials(&o))?))
    }

    /// The measures of ``measures`` (as for :meth:`partials`) in one pass over this
    /// analysis: what merging and finishing the partial states of any split gives.
    ///
    /// Raises:
    ///     ParseError: ``measures`` is malformed (``path`` names the field).
    fn results(&self, py: Python<'_>, measures: &Bound<'_, PyAny>) -> PyResult<PyPartialResults> {
        let o = partial::measures(measures)?;
        let r = self.run(py, |a| a.results(&o))?;
        PyPartialResults::new(py, &r)
    }

    /// One row per journey: profile, persona, events, first and last time, duration,
    /// phases, off-map events and per-journey emotion (lowest, last and mean rating).
    fn journey_table(&self, py: Python<'_>) -> PyResult<PyTable> {
        let t = self.run(py, |a| Ok(a.journey_table()))?;
        Ok(PyTable::new(t))
    }

    fn __repr__(&self) -> String {
        let a = self.get();
        format!("Analysis(map={:?}, events={}, journeys={})", a.map().id, a.table().len(), a.len())
    }
}
}

/// The hypothesis thresholds from keyword arguments, by the core's field names.
fn hypothesis_options(thresholds: Option<&Bound<'_, PyDict>>) -> PyResult<HypothesisOptions> {
    let mut o = HypothesisOptions::default();
    let Some(t) = thresholds else { return Ok(o) };
    for (name, value) in t.iter() {
        let name: String = name.extract()?;
        let f = || value.extract::<f64>().map_err(|_| PyTypeError::new_err(format!("{name} must be a number")));
        let n = || value.extract::<u64>().map_err(|_| PyTypeError::new_err(format!("{name} must be a non-negative int")));
        match name.as_str() {
            "emotion_min_ratings" => o.emotion_min_ratings = n()?,
            "emotion_tolerance" => o.emotion_tolerance = f()?,
            "key_moment_outcome" => o.key_moment_outcome = outcome(value.extract::<Option<String>>()?.as_deref())?,
            "key_moment_min_count" => o.key_moment_min_count = n()?,
            "key_moment_min_difference" => o.key_moment_min_difference = f()?,
            "min_events" => o.min_events = n()?,
            "channel_max_unplanned_share" => o.channel_max_unplanned_share = f()?,
            "owner_max_other_share" => o.owner_max_other_share = f()?,
            "phase_min_steps" => o.phase_min_steps = n()?,
            "phase_max_regression_rate" => o.phase_max_regression_rate = f()?,
            "phase_max_skip_rate" => o.phase_max_skip_rate = f()?,
            "phase_max_unplanned_entries" => o.phase_max_unplanned_entries = f()?,
            other => return Err(PyTypeError::new_err(format!("unknown threshold {other:?}"))),
        }
    }
    Ok(o)
}

guarded! {
/// Reads a design in the benchmark kit's format (``design.json``) as a map document.
///
/// Raises:
///     ParseError: The text is not a valid design.
#[pyfunction]
pub fn from_bench_design(text: &str) -> PyResult<PyMapDocument> {
    Ok(PyMapDocument::from(analytics::from_bench_design(text).map_err(py_err)?))
}
}

#[cfg(test)]
mod tests {
    /// The defaults written in the Python signatures are the core's.
    #[test]
    fn signature_defaults_are_the_cores() {
        use journey_core::analytics::{EmotionOptions, GrayAreasOptions, KeyMomentsOptions, PathsOptions, ReportOptions};
        let p = PathsOptions::default();
        assert_eq!((p.k, p.top, p.separator.as_str()), (8, 20, ">"));
        assert_eq!(EmotionOptions::default().min_count, 30);
        assert_eq!(GrayAreasOptions::default().emotion_window, 3);
        assert_eq!(KeyMomentsOptions::default().min_count, 30);
        let r = ReportOptions::default();
        assert_eq!((r.gray_areas_top, r.gray_areas_min_occurrences), (5, 30));
    }
}
