//! Maps journey-core's errors onto JavaScript `Error`s with a stable `code`.
//!
//! Every error thrown by the binding is a plain `Error` whose `code` is one of
//! [`JsErrorCode`], with the data of the failure as properties:
//!
//! | code | core error | extra properties |
//! |---|---|---|
//! | `E_PARSE` | `Error::Parse` | `path` (into the document), `file` (or `null`) |
//! | `E_VALIDATION` | `Error::Validation` | `problems`: `[{kind, path, message}]` |
//! | `E_EMOTION` | `Error::Emotion` | `scale`, `value` (as text) |
//! | `E_NOT_FOUND` | `Error::NotFound` | `what`, `id` |
//! | `E_IO` | `Error::Io` | `path` (the file) |
//! | `E_INTERNAL` | a caught Rust panic, or a kind this binding does not know yet | |
//!
//! The message is the core error's message: it names the path or field and keeps the
//! cause (e.g. the operating system's error for `E_IO`).

use std::panic::{AssertUnwindSafe, catch_unwind};

use journey_core::Error;
use napi::bindgen_prelude::{JsValue, Object};
use napi::{Env, Status};
use napi_derive::napi;

use crate::map::JsProblem;

/// The `code` of every error journey-core throws.
#[napi(string_enum, js_name = "ErrorCode")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsErrorCode {
    /// The document or a value is malformed (`path` and `file` say where).
    #[napi(value = "E_PARSE")]
    Parse,
    /// The map breaks one or more rules (`problems` lists them all).
    #[napi(value = "E_VALIDATION")]
    Validation,
    /// An emotion rating is outside its scale (`scale`, `value`).
    #[napi(value = "E_EMOTION")]
    Emotion,
    /// Something asked for by id does not exist (`what`, `id`).
    #[napi(value = "E_NOT_FOUND")]
    NotFound,
    /// Reading or writing a file failed (`path`).
    #[napi(value = "E_IO")]
    Io,
    /// A bug: journey-core panicked. Please report it.
    #[napi(value = "E_INTERNAL")]
    Internal,
}

impl JsErrorCode {
    /// The code as JavaScript sees it.
    pub fn as_str(self) -> &'static str {
        match self {
            JsErrorCode::Parse => "E_PARSE",
            JsErrorCode::Validation => "E_VALIDATION",
            JsErrorCode::Emotion => "E_EMOTION",
            JsErrorCode::NotFound => "E_NOT_FOUND",
            JsErrorCode::Io => "E_IO",
            JsErrorCode::Internal => "E_INTERNAL",
        }
    }
}

/// Runs a core call, turning its error into a JavaScript error and a panic into an
/// `E_INTERNAL` error (`#[napi(catch_unwind)]` on the exports is the outer safety net for
/// panics in argument conversion, which napi reports with its own code).
pub(crate) fn guard<T>(env: &Env, f: impl FnOnce() -> journey_core::Result<T>) -> napi::Result<T> {
    // The closures only read their captures (documents are immutable behind `&self`), so
    // nothing can be observed half-updated after a panic.
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(to_js_error(env, &err)),
        Err(payload) => {
            let what = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            let message = format!("internal error in journey-core (please report it): {what}");
            Err(build(env, JsErrorCode::Internal, &message, |_| Ok(())))
        }
    }
}

/// The JavaScript error for a core error (exhaustive; unknown future kinds become `E_INTERNAL`).
pub(crate) fn to_js_error(env: &Env, err: &Error) -> napi::Error {
    let message = err.to_string();
    match err {
        Error::Parse { file, path, .. } => build(env, JsErrorCode::Parse, &message, |o| {
            o.set("path", path.as_str())?;
            o.set("file", file.as_deref())
        }),
        Error::Validation(errors) => build(env, JsErrorCode::Validation, &message, |o| {
            o.set("problems", errors.problems.iter().map(JsProblem::from).collect::<Vec<_>>())
        }),
        Error::Emotion(e) => build(env, JsErrorCode::Emotion, &message, |o| {
            o.set("scale", e.scale.as_str())?;
            o.set("value", e.value.as_str())
        }),
        Error::NotFound { what, id } => build(env, JsErrorCode::NotFound, &message, |o| {
            o.set("what", *what)?;
            o.set("id", id.as_str())
        }),
        Error::Io { path, .. } => build(env, JsErrorCode::Io, &message, |o| o.set("path", path.as_str())),
        _ => build(env, JsErrorCode::Internal, &format!("unexpected {} error: {message}", err.kind()), |_| Ok(())),
    }
}

/// Creates an `Error` object with `code` and the extra properties, wrapped so napi throws
/// that very object.
fn build(env: &Env, code: JsErrorCode, message: &str, props: impl FnOnce(&mut Object) -> napi::Result<()>) -> napi::Error {
    let made = (|| {
        let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, message))?;
        obj.set("code", code.as_str())?;
        props(&mut obj)?;
        Ok::<_, napi::Error>(napi::Error::from(obj.to_unknown()))
    })();
    // Creating the object only fails while the environment shuts down; a plain error with
    // the code as its status is the best that can be thrown then.
    made.unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, format!("{}: {message}", code.as_str())))
}
