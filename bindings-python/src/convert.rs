//! Conversions between JSON values (what the core serialises its types to) and plain
//! Python objects: `None`, `bool`, `int`, `float`, `str`, `list` and `dict`.

use std::fmt;

use journey_core::Error;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

use crate::error::py_err;
use crate::pyser;

/// Any serialisable core value (a map, a touchpoint, a JSON value...) as plain Python
/// data (`None`, `bool`, `int`, `float`, `str`, `list`, `dict`; objects keep their key
/// order), built directly by [`pyser`].
pub fn serialize_to_py<'py, T: Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    pyser::to_py(py, value)
}

/// The deepest nesting of lists and dicts accepted from Python (as in the Node binding):
/// deeper values, and self-containing ones, are refused instead of overflowing the stack.
const MAX_DEPTH: usize = 64;

/// Where a value is, for error messages (`events[0]["properties"]`): written out only
/// when an error names it.
pub enum Path<'a> {
    /// The argument's own name (`data`, `event`).
    Root(&'a str),
    /// An item of a list or tuple: `parent[i]`.
    Index(&'a Path<'a>, usize),
    /// A value of a dict: `parent["key"]`, the key quoted as Rust's `{:?}` does.
    Key(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(name) => f.write_str(name),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Key(parent, key) => write!(f, "{parent}[{key:?}]"),
        }
    }
}

/// A plain Python object as a JSON value. `path` names the object in error messages
/// (`data["maps"][0]`); anything that has no JSON form is a `TypeError` or `ValueError`
/// naming where it is, and so is a value nested more than 64 levels deep (or containing
/// itself).
pub fn from_py(obj: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    from_py_at(obj, &Path::Root(path), 0)
}

/// [`from_py`] of a value found at `path`.
pub fn from_py_in(obj: &Bound<'_, PyAny>, path: &Path<'_>) -> PyResult<Value> {
    from_py_at(obj, path, 0)
}

fn from_py_at(obj: &Bound<'_, PyAny>, path: &Path<'_>, depth: usize) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(PyValueError::new_err(format!("{path}: integer {obj} is too large for JSON")));
    }
    if obj.is_instance_of::<PyFloat>() {
        let x: f64 = obj.extract()?;
        return Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{path}: {x} has no JSON form (NaN and infinities are not allowed)")));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    let container = obj.is_instance_of::<PyDict>() || obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>();
    if container && depth >= MAX_DEPTH {
        return Err(PyValueError::new_err(format!("{path}: nested more than {MAX_DEPTH} levels deep (a list or dict containing itself?)")));
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, item) in dict.iter() {
            let Ok(key) = key.cast::<PyString>() else {
                return Err(PyTypeError::new_err(format!("{path}: keys must be str, not {}", type_name(&key))));
            };
            let key = key.to_str()?;
            let value = from_py_at(&item, &Path::Key(path, key), depth + 1)?;
            map.insert(key.to_owned(), value);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for (i, item) in obj.try_iter()?.enumerate() {
            items.push(from_py_at(&item?, &Path::Index(path, i), depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    Err(PyTypeError::new_err(format!(
        "{path}: {} has no JSON form (expected None, bool, int, float, str, list, tuple or dict)",
        type_name(obj)
    )))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}

/// Python's `repr()` of a string (quotes and escapes as Python writes them).
pub fn repr_str(py: Python<'_>, text: &str) -> String {
    PyString::new(py, text).repr().map(|r| r.to_string()).unwrap_or_else(|_| format!("{text:?}"))
}

/// Deserialises a core type (`IdentityRules`, `ProfileFilter`...) from a JSON value with
/// the core's serde rules; a mismatch is a `ParseError` whose path starts at `root` (the
/// argument's name), e.g. `identity.levels.email`.
pub fn deserialize<T: DeserializeOwned>(value: Value, root: &str) -> PyResult<T> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let path = if inner == "." { root.to_owned() } else { format!("{root}.{inner}") };
        py_err(Error::parse(path, e.into_inner().to_string()))
    })
}

/// A `dict` argument as a JSON object; anything else is a `TypeError` naming `arg`.
pub fn dict_from_py(obj: &Bound<'_, PyAny>, arg: &str) -> PyResult<Map<String, Value>> {
    if !obj.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!("{arg} must be a dict, not {}", type_name(obj))));
    }
    match from_py(obj, arg)? {
        Value::Object(map) => Ok(map),
        // A dict always converts to an object.
        _ => Err(PyTypeError::new_err(format!("{arg} must be a dict"))),
    }
}
