//! Time at the boundary: inside, microseconds since the Unix epoch, UTC (the core's
//! `Micros`); in Python, an ``int`` of microseconds or an aware ``datetime``.
//!
//! A naive ``datetime`` (no ``tzinfo``, or one whose ``utcoffset()`` is ``None``) is
//! refused: Python itself reads naive datetimes as local time (``datetime.timestamp()``),
//! so neither "local" nor "UTC" would be a safe guess for event times.

use journey_core::time::Micros;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{IntoPyDict, PyBool, PyInt, PyType};

static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static EPOCH_AND_UNIT: PyOnceLock<(Py<PyAny>, Py<PyAny>)> = PyOnceLock::new();

/// Why a naive datetime is refused, for error messages.
pub const NAIVE: &str = "a naive datetime (without tzinfo) is ambiguous: give an aware datetime (e.g. with tzinfo=timezone.utc) or an int of microseconds since the epoch, UTC";

/// For a `datetime`: `Some(Ok(micros))` if it is aware, `Some(Err(()))` if it is naive.
/// `None` for anything that is not a `datetime`.
pub fn datetime_micros(obj: &Bound<'_, PyAny>) -> PyResult<Option<Result<Micros, ()>>> {
    let py = obj.py();
    if !obj.is_instance(DATETIME.import(py, "datetime", "datetime")?)? {
        return Ok(None);
    }
    if obj.call_method0("utcoffset")?.is_none() {
        return Ok(Some(Err(())));
    }
    let (epoch, unit) = EPOCH_AND_UNIT.get_or_try_init(py, || -> PyResult<_> {
        let datetime = py.import("datetime")?;
        let utc = datetime.getattr("timezone")?.getattr("utc")?;
        let kwargs = [("tzinfo", utc)].into_py_dict(py)?;
        let epoch = datetime.getattr("datetime")?.call((1970, 1, 1), Some(&kwargs))?;
        let unit = datetime.getattr("timedelta")?.call((), Some(&[("microseconds", 1)].into_py_dict(py)?))?;
        Ok((epoch.unbind(), unit.unbind()))
    })?;
    // Exact integer arithmetic: (dt - epoch) // 1µs.
    let micros: Micros = obj.sub(epoch.bind(py))?.floor_div(unit.bind(py))?.extract()?;
    Ok(Some(Ok(micros)))
}

/// A time argument (`now`, `ts`, `until`): an `int` of microseconds since the epoch, UTC,
/// or an aware `datetime`.
///
/// Raises `ValueError` for a naive datetime, `TypeError` for anything else.
pub fn micros_from_py(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Micros> {
    match datetime_micros(obj)? {
        Some(Ok(micros)) => return Ok(micros),
        Some(Err(())) => return Err(PyValueError::new_err(format!("{arg}: {NAIVE}"))),
        None => {}
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        return obj.extract();
    }
    Err(PyTypeError::new_err(format!(
        "{arg} must be an int (microseconds since the epoch, UTC) or an aware datetime, not {}",
        obj.get_type().name()?
    )))
}
