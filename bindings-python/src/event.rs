//! Events from Python: a dict in the core's JSON form (see the core's `event` module),
//! with ``ts`` as an ``int`` of microseconds since the epoch, UTC, or an aware
//! ``datetime``. Validation and its messages are the core's (`Event::from_value`).

use journey_core::{Error, Event};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use serde_json::{Map, Value};

use crate::convert::{self, Path};
use crate::error::py_err;
use crate::time;

/// Places a bad-event error at its index in a batch.
fn at_index(err: Error, index: Option<usize>) -> Error {
    match (err, index) {
        (Error::BadEvent { field, message, .. }, Some(i)) => Error::BadEvent { index: Some(i), field, message },
        (other, _) => other,
    }
}

/// One event from a dict; `index` is its position in a batch, if it came in one.
pub fn event_from_py(obj: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<Event> {
    let events = Path::Root("events");
    let what = match index {
        Some(i) => Path::Index(&events, i),
        None => Path::Root("event"),
    };
    let Ok(dict) = obj.cast::<PyDict>() else {
        return Err(PyTypeError::new_err(format!("{what} must be a dict, not {}", obj.get_type().name()?)));
    };
    let mut map = Map::new();
    for (key, value) in dict.iter() {
        let Ok(key) = key.cast::<PyString>() else {
            return Err(PyTypeError::new_err(format!("{what}: keys must be str, not {}", key.get_type().name()?)));
        };
        let key = key.to_str()?;
        let json = match (key, time::datetime_micros(&value)?) {
            ("ts", Some(Ok(micros))) => Value::from(micros),
            ("ts", Some(Err(()))) => {
                return Err(py_err(Error::BadEvent { index, field: "ts".into(), message: time::NAIVE.into() }));
            }
            _ => convert::from_py_in(&value, &Path::Key(&what, key))?,
        };
        map.insert(key.to_owned(), json);
    }
    Event::from_value(Value::Object(map)).map_err(|e| py_err(at_index(e, index)))
}

/// A batch of events from any iterable of dicts; the first bad one is reported with its
/// index.
pub fn events_from_py(events: &Bound<'_, PyAny>) -> PyResult<Vec<Event>> {
    let mut out = Vec::new();
    for (i, item) in events.try_iter()?.enumerate() {
        out.push(event_from_py(&item?, Some(i))?);
    }
    Ok(out)
}
