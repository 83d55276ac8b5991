//! Events from Python: a dict in the core's JSON form (see the core's `event` module),
//! with ``ts`` as an ``int`` of microseconds since the epoch, UTC, or an aware
//! ``datetime``. Validation and its messages are the core's (`Event::from_value`).
//!
//! A well-formed event is read field by field straight into an [`Event`]
//! ([`well_formed`]); anything unusual goes the checked way ([`checked`]), through JSON
//! and the core's serde types, which builds the same event or says what is wrong.

use journey_core::{Channel, Department, Error, Event, IdentityKey, Limits};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Value};

use crate::convert::{self, Path};
use crate::error::py_err;
use crate::time;

#[cfg(test)]
mod tests;

/// Places a bad-event error at its index in a batch.
fn at_index(err: Error, index: Option<usize>) -> Error {
    match (err, index) {
        (Error::BadEvent { field, message, .. }, Some(i)) => Error::BadEvent { index: Some(i), field, message },
        (other, _) => other,
    }
}

/// One event from a dict; `index` is its position in a batch, if it came in one.
pub fn event_from_py(obj: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<Event> {
    match well_formed(obj) {
        Some(event) => Ok(event),
        None => checked(obj, index),
    }
}

/// One event through JSON and the core's serde types, so that the validation and its
/// messages are the core's; `index` is its position in a batch, if it came in one.
fn checked(obj: &Bound<'_, PyAny>, index: Option<usize>) -> PyResult<Event> {
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

/// The fields of an event, each a bit of the set of those seen.
const FIELDS: [&str; 7] = ["ts", "keys", "event", "channel", "department", "rating", "properties"];

/// A well-formed event read field by field, without building JSON first (the hot path of
/// `track_batch`); `None` as soon as anything is unusual (a missing, unknown or repeated
/// field, a value of another type, a bad key or rating...), so that [`checked`] reports
/// it. It accepts only what [`checked`] accepts, and builds the same `Event`, running
/// the same Python code (`datetime` tests and conversions) in the same order.
fn well_formed(obj: &Bound<'_, PyAny>) -> Option<Event> {
    let dict = obj.cast::<PyDict>().ok()?;
    if dict.len() > FIELDS.len() {
        return None;
    }
    let (mut seen, mut ts, mut keys, mut name, mut channel) = (0u8, None, None, None, None);
    let (mut department, mut rating, mut properties) = (None, None, Map::new());
    for (key, value) in dict.iter() {
        let field = key.cast::<PyString>().ok()?.to_str().ok()?;
        let bit = 1 << FIELDS.iter().position(|f| *f == field)?;
        if seen & bit != 0 {
            return None; // two keys equal as text (str subclasses): the checked way keeps the last
        }
        seen |= bit;
        // The checked way asks every value whether it is a datetime; only a `datetime` or
        // another type than the built-in ones can answer yes (or run code to answer).
        if field != "ts" && !builtin(&value) && !matches!(time::datetime_micros(&value), Ok(None)) {
            return None;
        }
        match field {
            "ts" => ts = Some(micros(&value)?),
            "keys" => keys = Some(identity_keys(&value)?),
            "event" => name = Some(text(&value)?.to_owned()),
            "channel" => channel = Some(Channel::parse(text(&value)?)),
            "department" if value.is_none() => {}
            "department" => department = Some(Department::parse(text(&value)?)),
            "rating" if value.is_none() => {}
            "rating" => rating = Some(serde_json::from_value(convert::from_py_in(&value, &Path::Root("rating")).ok()?).ok()?),
            _ => match convert::from_py_in(&value, &Path::Root("properties")).ok()? {
                Value::Object(map) => properties = map,
                _ => return None,
            },
        }
    }
    let event = Event { ts: ts?, keys: keys?, name: name?, channel: channel?, department, rating, properties };
    event.check_with(&Limits::unlimited()).ok()?;
    Some(event)
}

/// Whether `value` is exactly of a built-in type that is not a `datetime` (`None`,
/// `bool`, `int`, `float`, `str`, `list`, `tuple`, `dict`): `isinstance(value,
/// datetime)` is false for it without running any code.
fn builtin(value: &Bound<'_, PyAny>) -> bool {
    value.is_exact_instance_of::<PyString>()
        || value.is_exact_instance_of::<PyList>()
        || value.is_exact_instance_of::<PyDict>()
        || value.is_none()
        || value.is_exact_instance_of::<PyInt>()
        || value.is_exact_instance_of::<PyFloat>()
        || value.is_exact_instance_of::<PyTuple>()
        || value.is_exact_instance_of::<PyBool>()
}

/// `ts` as the checked way reads it: an aware `datetime`, or an `int` (not a `bool`)
/// that fits an `i64`.
fn micros(value: &Bound<'_, PyAny>) -> Option<i64> {
    if value.is_exact_instance_of::<PyInt>() {
        return value.extract().ok();
    }
    match time::datetime_micros(value).ok()? {
        Some(aware) => aware.ok(),
        None if value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() => value.extract().ok(),
        None => None,
    }
}

/// The identity keys of an exact `list` or `tuple` of `str` (a subclass may iterate in
/// its own way: the checked way reads it).
fn identity_keys(value: &Bound<'_, PyAny>) -> Option<Vec<IdentityKey>> {
    let key = |item: Bound<'_, PyAny>| IdentityKey::parse(text(&item)?).ok();
    if let Ok(list) = value.cast_exact::<PyList>() {
        list.iter().map(key).collect()
    } else {
        value.cast_exact::<PyTuple>().ok()?.iter().map(key).collect()
    }
}

/// The text of a `str` (or of a subclass: its own text, as the checked way reads it).
fn text<'a>(value: &'a Bound<'_, PyAny>) -> Option<&'a str> {
    value.cast::<PyString>().ok()?.to_str().ok()
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
