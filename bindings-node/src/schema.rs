//! The JSON Schema of the map document.

use napi_derive::napi;

/// The JSON Schema (draft 2020-12) of a map document, as pretty-printed JSON text.
#[napi(catch_unwind)]
pub fn map_schema() -> String {
    journey_core::schema::map_schema_json()
}
