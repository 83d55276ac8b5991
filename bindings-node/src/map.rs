//! `MapDocument`: load, validate, save and draw journey maps.

use journey_core::{MapDocument, Problem};
use napi::Env;
use napi::Result;
use napi_derive::napi;

use crate::error::guard;

/// One problem found by validation.
#[napi(object, js_name = "Problem")]
#[derive(Debug, Clone)]
pub struct JsProblem {
    /// What kind of problem: `duplicate_id`, `empty_field`, `unknown_phase`,
    /// `unknown_persona`, `event_claimed_twice`, `unknown_reference`, `empty_phase`,
    /// `emotion_out_of_range`, `invalid_waypoint` or `limit_exceeded`.
    pub kind: String,
    /// Where, as a path into the document, e.g. `maps[0].phases[2]`.
    pub path: String,
    /// What is wrong, in words, naming the offending value.
    pub message: String,
}

impl From<&Problem> for JsProblem {
    fn from(p: &Problem) -> Self {
        JsProblem { kind: p.kind.as_str().to_string(), path: p.path.clone(), message: p.message.clone() }
    }
}

/// A saved design: personas and one journey map per persona.
///
/// Load one with `MapDocument.fromJson(text)` or `MapDocument.load(path)`. Loading checks
/// the shape only (unknown fields and wrong types throw `E_PARSE` naming their path);
/// `validate()` checks the meaning.
#[napi(js_name = "MapDocument")]
pub struct JsMapDocument {
    inner: MapDocument,
}

impl From<MapDocument> for JsMapDocument {
    fn from(inner: MapDocument) -> Self {
        JsMapDocument { inner }
    }
}

impl JsMapDocument {
    /// The core document.
    pub(crate) fn inner(&self) -> &MapDocument {
        &self.inner
    }
}

impl From<JsMapDocument> for MapDocument {
    fn from(doc: JsMapDocument) -> Self {
        doc.inner
    }
}

#[napi]
impl JsMapDocument {
    /// Parses a document from JSON text.
    ///
    /// @throws {Error} `E_PARSE` with `path` when the text is malformed, has an unknown
    /// field or a wrong type.
    #[napi(factory, catch_unwind)]
    pub fn from_json(env: &Env, text: String) -> Result<Self> {
        guard(env, || MapDocument::from_json(&text)).map(Self::from)
    }

    /// Reads and parses a document from a JSON file.
    ///
    /// @throws {Error} `E_IO` with `path` when the file cannot be read, `E_PARSE` with
    /// `path` and `file` when it is malformed.
    #[napi(factory, catch_unwind)]
    pub fn load(env: &Env, path: String) -> Result<Self> {
        guard(env, || MapDocument::load(&path)).map(Self::from)
    }

    /// The document as pretty-printed JSON (two-space indent, ending with a newline).
    #[napi(catch_unwind)]
    pub fn to_json(&self, env: &Env) -> Result<String> {
        guard(env, || Ok(self.inner.to_json()))
    }

    /// Writes the document as JSON, atomically (to a temporary file, then renamed).
    ///
    /// @throws {Error} `E_IO` with `path` when the file cannot be written.
    #[napi(catch_unwind)]
    pub fn save(&self, env: &Env, path: String) -> Result<()> {
        guard(env, || self.inner.save(&path))
    }

    /// The document's name.
    #[napi(getter, catch_unwind)]
    pub fn name(&self) -> String {
        self.inner.name.clone()
    }

    /// The ids of the maps, in document order.
    #[napi(getter, catch_unwind)]
    pub fn map_ids(&self) -> Vec<String> {
        self.inner.map_ids().into_iter().map(str::to_string).collect()
    }

    /// Checks the document's meaning.
    ///
    /// @throws {Error} `E_VALIDATION` whose `problems` lists every problem (`kind`,
    /// `path`, `message`) in document order.
    #[napi(catch_unwind)]
    pub fn validate(&self, env: &Env) -> Result<()> {
        guard(env, || Ok(self.inner.validate()?))
    }

    /// Every problem of the document, in document order; empty when valid. Never throws.
    #[napi(catch_unwind)]
    pub fn problems(&self, env: &Env) -> Result<Vec<JsProblem>> {
        guard(env, || Ok(self.inner.problems().iter().map(JsProblem::from).collect()))
    }

    /// The map as a Mermaid `journey` diagram; the first map when `mapId` is omitted.
    ///
    /// @throws {Error} `E_NOT_FOUND` when no map has this id.
    #[napi(catch_unwind)]
    pub fn to_mermaid(&self, env: &Env, map_id: Option<String>) -> Result<String> {
        guard(env, || Ok(journey_core::render::mermaid(self.inner.select(map_id.as_deref())?)))
    }

    /// The map as a standalone SVG document; the first map when `mapId` is omitted.
    ///
    /// @throws {Error} `E_NOT_FOUND` when no map has this id.
    #[napi(catch_unwind)]
    pub fn to_svg(&self, env: &Env, map_id: Option<String>) -> Result<String> {
        guard(env, || Ok(journey_core::render::svg(self.inner.select(map_id.as_deref())?)))
    }
}
