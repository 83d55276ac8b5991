//! The JSON Schema of the map document, generated from the same types that parse it.
//!
//! The committed copy lives in `journey-core/schema/map.schema.json`; a test fails when
//! the types and the committed file drift apart (regenerate with
//! `cargo run -p journey-core --example write_schema`).

use crate::map::MapDocument;

/// The JSON Schema (draft 2020-12) of [`MapDocument`], pretty-printed.
pub fn map_schema_json() -> String {
    let schema = schemars::schema_for!(MapDocument);
    serde_json::to_string_pretty(&schema).expect("a schema always serialises") + "\n"
}
