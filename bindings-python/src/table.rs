//! Analytics results in Python: `Table` (one named, typed table of the core, handed out
//! through the Arrow PyCapsule interface) and `AnalysisResult` (a measure's fields as
//! attributes, its tables).

use std::sync::{Arc, OnceLock};

use arrow_array::{ArrayRef, RecordBatch, StructArray};
use arrow_schema::Field;
use journey_core::analytics::{Table, ToTables, json};
use pyo3::exceptions::{PyAttributeError, PyImportError};
use pyo3::prelude::*;
use pyo3::types::{PyCapsule, PyDict};
use pyo3_arrow::ffi::{ArrayIterator, to_schema_pycapsule, to_stream_pycapsule};
use serde_json::Value;

use crate::convert;
use crate::error::py_err;

/// Imports an optional package, or raises ``ImportError`` saying which extra installs it.
fn optional<'py>(py: Python<'py>, module: &str, extra: &str) -> PyResult<Bound<'py, PyModule>> {
    py.import(module).map_err(|e| PyImportError::new_err(format!("{module} is needed for this (pip install journey-core[{extra}]): {e}")))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// One table of an analytics result: named, typed columns (integers, floats, text,
/// booleans, timestamps in UTC, durations) and metadata (``options``: the JSON of the
/// options the result was computed with).
///
/// It converts in one call, without copying row by row: :meth:`to_arrow` (a
/// ``pyarrow.Table``), :meth:`to_pandas`, :meth:`to_polars`; any library that reads the
/// Arrow PyCapsule interface takes it directly (``pyarrow.table(t)``,
/// ``polars.DataFrame(t)``, ``duckdb``...). In Jupyter it shows as an HTML table.
#[pyclass(name = "Table", module = "journey_core", frozen)]
pub struct PyTable {
    table: Table,
    batch: OnceLock<RecordBatch>,
}

impl PyTable {
    /// Wraps a core table.
    pub fn new(table: Table) -> Self {
        PyTable { table, batch: OnceLock::new() }
    }

    fn batch(&self) -> PyResult<&RecordBatch> {
        if let Some(b) = self.batch.get() {
            return Ok(b);
        }
        let b = self.table.to_record_batch().map_err(py_err)?;
        Ok(self.batch.get_or_init(|| b))
    }
}

guarded! {
#[pymethods]
impl PyTable {
    /// The table's name, e.g. ``funnel_steps``.
    #[getter]
    fn name(&self) -> String {
        self.table.name.clone()
    }

    /// The column names, in order.
    #[getter]
    fn column_names(&self) -> Vec<String> {
        self.table.column_names().into_iter().map(String::from).collect()
    }

    /// The number of rows.
    #[getter]
    fn num_rows(&self) -> usize {
        self.table.num_rows()
    }

    /// The metadata: ``options`` (JSON text) and any other entries.
    #[getter]
    fn metadata(&self) -> std::collections::BTreeMap<String, String> {
        self.table.metadata.clone()
    }

    /// The table as a ``pyarrow.Table`` (needs pyarrow): timestamps are
    /// ``timestamp[us, tz=UTC]``, durations ``duration[us]``.
    ///
    /// Raises:
    ///     ImportError: pyarrow is not installed.
    fn to_arrow<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        optional(slf.py(), "pyarrow", "arrow")?.call_method1("table", (slf,))
    }

    /// The table as a ``pandas.DataFrame`` (needs pandas and pyarrow): timestamps are
    /// ``datetime64[us, UTC]``, durations ``timedelta64[us]``.
    ///
    /// Raises:
    ///     ImportError: pandas or pyarrow is not installed.
    fn to_pandas<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        optional(slf.py(), "pandas", "pandas")?;
        Self::to_arrow(slf)?.call_method0("to_pandas")
    }

    /// The table as a ``polars.DataFrame`` (needs polars, not pyarrow): timestamps are
    /// ``Datetime("us", "UTC")``, durations ``Duration("us")``.
    ///
    /// Raises:
    ///     ImportError: polars is not installed.
    fn to_polars<'py>(slf: &Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        optional(slf.py(), "polars", "polars")?.call_method1("DataFrame", (slf,))
    }

    /// The Arrow schema, as a PyCapsule (the Arrow PyCapsule interface).
    fn __arrow_c_schema__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyCapsule>> {
        let batch = self.batch()?;
        Ok(to_schema_pycapsule(py, batch.schema_ref().as_ref())?)
    }

    /// The table as an Arrow C stream, in a PyCapsule (the Arrow PyCapsule interface).
    #[pyo3(signature = (requested_schema = None))]
    fn __arrow_c_stream__<'py>(&self, py: Python<'py>, requested_schema: Option<Bound<'py, PyCapsule>>) -> PyResult<Bound<'py, PyCapsule>> {
        let batch = self.batch()?.clone();
        let schema = batch.schema();
        let field = Field::new_struct("", schema.fields().clone(), false).with_metadata(schema.metadata().clone());
        let arrays = std::iter::once(Ok(Arc::new(StructArray::from(batch)) as ArrayRef));
        Ok(to_stream_pycapsule(py, Box::new(ArrayIterator::new(arrays, field.into())), requested_schema)?)
    }

    /// The number of rows.
    fn __len__(&self) -> usize {
        self.table.num_rows()
    }

    /// An HTML table of the first 50 rows, for Jupyter.
    fn _repr_html_(&self) -> String {
        let t = &self.table;
        let rows = t.num_rows().min(50);
        let mut html = format!("<table><caption>{} ({} rows)</caption><thead><tr>", html_escape(&t.name), t.num_rows());
        for c in &t.columns {
            html.push_str(&format!("<th>{}</th>", html_escape(&c.name)));
        }
        html.push_str("</tr></thead><tbody>");
        for r in 0..rows {
            html.push_str("<tr>");
            for c in &t.columns {
                html.push_str(&format!("<td>{}</td>", html_escape(&c.values.text(r))));
            }
            html.push_str("</tr>");
        }
        html.push_str("</tbody></table>");
        if rows < t.num_rows() {
            html.push_str(&format!("<p>... {} more rows</p>", t.num_rows() - rows));
        }
        html
    }

    /// The table as aligned text.
    ///
    /// Args:
    ///     max_rows: The most rows shown; all when ``None``.
    #[pyo3(signature = (max_rows = None))]
    fn to_text(&self, max_rows: Option<usize>) -> String {
        self.table.to_text(max_rows)
    }

    fn __repr__(&self) -> String {
        format!("Table {:?} ({} rows)\n{}", self.table.name, self.table.num_rows(), self.table.to_text(Some(10)))
    }
}
}

/// The result of a measure: its fields as attributes (``funnel.converted``,
/// ``funnel.steps``...; nested values are plain dicts and lists, times ``int``
/// microseconds), its tables, and conversions of its main table.
///
/// Every result carries the options it was computed with (``result.options``).
#[pyclass(name = "AnalysisResult", module = "journey_core", frozen)]
pub struct PyAnalysisResult {
    kind: &'static str,
    value: Value,
    tables: Vec<Table>,
    text: Option<String>,
}

impl PyAnalysisResult {
    /// A result of a measure with tables.
    pub fn new<T: serde::Serialize + ToTables>(kind: &'static str, result: &T) -> PyResult<Self> {
        Ok(PyAnalysisResult { kind, value: to_value(result)?, tables: result.to_tables(), text: None })
    }

    /// A result with a text form and the given tables.
    pub fn with_text<T: serde::Serialize>(kind: &'static str, result: &T, tables: Vec<Table>, text: String) -> PyResult<Self> {
        Ok(PyAnalysisResult { kind, value: to_value(result)?, tables, text: Some(text) })
    }
}

fn to_value<T: serde::Serialize>(result: &T) -> PyResult<Value> {
    serde_json::to_value(result).map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot serialise: {e}")))
}

guarded! {
#[pymethods]
impl PyAnalysisResult {
    /// What measure this is: ``funnel``, ``reach``, ``emotion``...
    #[getter]
    fn kind(&self) -> &'static str {
        self.kind
    }

    /// The result's fields, as a dict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::serialize_to_py(py, &self.value)
    }

    /// The result as canonical JSON text (sorted keys, the benchmark kit's format).
    fn to_json(&self) -> String {
        json::to_canonical_string(&self.value)
    }

    /// Every table of the result, by name, in order; the first is the main one.
    #[getter]
    fn tables<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for t in &self.tables {
            d.set_item(&t.name, Py::new(py, PyTable::new(t.clone()))?)?;
        }
        Ok(d)
    }

    /// The main table.
    ///
    /// Raises:
    ///     AttributeError: The result has no table (the report: see its ``tables``' parts).
    #[getter]
    fn table(&self) -> PyResult<PyTable> {
        match self.tables.first() {
            Some(t) => Ok(PyTable::new(t.clone())),
            None => Err(PyAttributeError::new_err(format!("the {} result has no table", self.kind))),
        }
    }

    /// The main table as a ``pyarrow.Table`` (see :meth:`Table.to_arrow`).
    fn to_arrow<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyTable::to_arrow(&Bound::new(py, self.table()?)?)
    }

    /// The main table as a ``pandas.DataFrame`` (see :meth:`Table.to_pandas`).
    fn to_pandas<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyTable::to_pandas(&Bound::new(py, self.table()?)?)
    }

    /// The main table as a ``polars.DataFrame`` (see :meth:`Table.to_polars`).
    fn to_polars<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyTable::to_polars(&Bound::new(py, self.table()?)?)
    }

    /// A field of the result (``result.steps``, ``result.options``...).
    fn __getattr__<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        match self.value.get(name) {
            Some(v) => convert::serialize_to_py(py, v),
            None => Err(PyAttributeError::new_err(format!("the {} result has no field {name:?}", self.kind))),
        }
    }

    /// The field names, with the methods.
    fn __dir__(&self) -> Vec<String> {
        let mut names: Vec<String> = self.value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default();
        names.extend(["kind", "to_dict", "to_json", "tables", "table", "to_arrow", "to_pandas", "to_polars"].map(String::from));
        names
    }

    /// The tables as HTML, for Jupyter.
    fn _repr_html_(&self) -> String {
        let mut html = format!("<div><strong>{}</strong>", html_escape(self.kind));
        if let Some(t) = &self.text {
            html.push_str(&format!("<pre>{}</pre>", html_escape(t)));
        }
        for t in &self.tables {
            html.push_str(&PyTable::new(t.clone())._repr_html_()?);
        }
        html.push_str("</div>");
        html
    }

    /// The text form (the report and the hypothesis report), else the tables as text.
    fn __str__(&self) -> String {
        match &self.text {
            Some(t) => t.clone(),
            None => self.tables.iter().map(|t| format!("{}\n{}", t.name, t.to_text(Some(20)))).collect::<Vec<_>>().join("\n"),
        }
    }

    fn __repr__(&self) -> String {
        let names: Vec<&str> = self.tables.iter().map(|t| t.name.as_str()).collect();
        format!("AnalysisResult(kind={:?}, tables={names:?})", self.kind)
    }
}
}
