//! Identity keys and rules from Python.

use journey_core::{Error, IdentityKey, IdentityRules};
use pyo3::prelude::*;

use crate::convert;
use crate::error::py_err;

/// An identity key argument, `kind:value`; a malformed key is a `ParseError` whose path is
/// the argument's name.
pub fn key(text: &str, arg: &str) -> PyResult<IdentityKey> {
    IdentityKey::parse(text).map_err(|message| py_err(Error::parse(arg, message)))
}

/// Identity rules from a dict in the core's form: ``{"levels": {kind: level},
/// "default_level": level, "limits": {kind: n}}``, every field optional (the core's
/// defaults apply).
pub fn rules(obj: &Bound<'_, PyAny>) -> PyResult<IdentityRules> {
    let map = convert::dict_from_py(obj, "identity")?;
    convert::deserialize(serde_json::Value::Object(map), "identity")
}
