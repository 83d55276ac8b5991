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
//! | `E_BAD_EVENT` | `Error::BadEvent` | `index` (in the batch, or `null`), `field` |
//! | `E_LIMIT` | `Error::Limit` | `limit` (its name), `max`, `value`, `field`, `index` (in the batch, or `null`) |
//! | `E_STORAGE` | `Error::Storage` | |
//! | `E_CONFLICT` | `Error::Conflict` | |
//! | `E_CLOSED` | `Error::Closed` | `what` (`tracker` or `store`) |
//! | `E_INTERNAL` | a caught Rust panic, or a kind this binding does not know yet | |
//!
//! `dts-header.d.ts` declares these shapes for TypeScript (`JourneyError`, a union narrowed
//! on `code`); keep it in step with this table.
//!
//! The message is the core error's message: it names the path or field and keeps the
//! cause (e.g. the operating system's error for `E_IO`, the backend's error chain for
//! `E_STORAGE`).

use std::error::Error as _;
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
    /// An event is malformed (`index` in its batch or `null`, `field`); nothing of it, or
    /// of its batch, was applied.
    #[napi(value = "E_BAD_EVENT")]
    BadEvent,
    /// An input is larger than a limit allows (`limit`, `max`, `value`, `field`, `index`);
    /// nothing of it, or of its batch, was applied.
    #[napi(value = "E_LIMIT")]
    Limit,
    /// The store failed; nothing of the operation was applied.
    #[napi(value = "E_STORAGE")]
    Storage,
    /// Refused because it would break an identity rule (e.g. unlinking keys that are not
    /// linked).
    #[napi(value = "E_CONFLICT")]
    Conflict,
    /// The tracker (or its store) is closed (`what`).
    #[napi(value = "E_CLOSED")]
    Closed,
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
            JsErrorCode::BadEvent => "E_BAD_EVENT",
            JsErrorCode::Limit => "E_LIMIT",
            JsErrorCode::Storage => "E_STORAGE",
            JsErrorCode::Conflict => "E_CONFLICT",
            JsErrorCode::Closed => "E_CLOSED",
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
    caught(f).map_err(|failure| failure.to_js(env))
}

/// Why a core call failed: its error, or a panic (with the panic's message).
#[derive(Debug)]
pub enum Failure {
    /// The core returned an error.
    Core(Error),
    /// The call panicked.
    Panic(String),
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure::Core(err)
    }
}

impl Failure {
    /// The JavaScript error for the failure (`E_INTERNAL` for a panic).
    pub(crate) fn to_js(&self, env: &Env) -> napi::Error {
        match self {
            Failure::Core(err) => to_js_error(env, err),
            Failure::Panic(what) => {
                let message = format!("internal error in journey-core (please report it): {what}");
                build(env, JsErrorCode::Internal, &message, |_| Ok(()))
            }
        }
    }
}

/// Runs a core call on any thread, catching a panic: what runs on the thread pool uses
/// this and turns the failure into a JavaScript error back on the main thread.
pub(crate) fn caught<T>(f: impl FnOnce() -> journey_core::Result<T>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(Failure::Core(err)),
        Err(payload) => {
            let what = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(Failure::Panic(what.to_string()))
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
        Error::BadEvent { index, field, .. } => build(env, JsErrorCode::BadEvent, &message, |o| {
            o.set("index", index.map(|i| i as u32))?;
            o.set("field", field.as_str())
        }),
        Error::Limit { limit, max, value, field, index } => build(env, JsErrorCode::Limit, &message, |o| {
            o.set("limit", *limit)?;
            o.set("max", *max as f64)?;
            o.set("value", *value as f64)?;
            o.set("field", field.as_str())?;
            o.set("index", index.map(|i| i as u32))
        }),
        Error::Storage { .. } => {
            // The backend's error chain, which the core's message leaves out.
            let mut message = message;
            let mut source = err.source();
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            build(env, JsErrorCode::Storage, &message, |_| Ok(()))
        }
        Error::Conflict { .. } => build(env, JsErrorCode::Conflict, &message, |_| Ok(())),
        Error::Closed { what } => build(env, JsErrorCode::Closed, &message, |o| o.set("what", *what)),
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
