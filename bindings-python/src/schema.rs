//! The JSON Schema of the map document.

use pyo3::prelude::*;

guarded! {
/// The JSON Schema (draft 2020-12) of the map document, as pretty-printed JSON text.
/// Editors use it to complete and check map files.
#[pyfunction]
pub fn map_schema() -> String {
    journey_core::schema::map_schema_json()
}
}
