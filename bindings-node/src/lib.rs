//! Node bindings of journey-core: the `journey-core` npm package.
//!
//! Each module mirrors the core module of the same name and holds conversions and error
//! mapping only; the behaviour lives in `journey-core`. Rust types are prefixed (`JsMapDocument`)
//! and exported under their plain names (`MapDocument`). Errors are described in [`error`].
//!
//! The binding is tested from JavaScript (`bindings-node/test/`). Under `cargo test` napi
//! registers nothing, so the exports look unused there.
#![cfg_attr(test, allow(dead_code))]

mod convert;
mod emotion;
mod error;
mod event;
mod identity;
mod map;
mod outbox;
mod preset;
mod profile;
mod schema;
mod store;
mod task;
mod tracker;

use napi::{Env, Result};
use napi_derive::napi;

/// The version of journey-core, e.g. `0.1.0`.
#[napi(catch_unwind)]
pub fn version() -> String {
    journey_core::VERSION.to_string()
}

/// Panics inside the panic guard, so the tests can check that a Rust panic becomes an
/// `E_INTERNAL` error instead of a crash. Not part of the API.
#[napi(js_name = "__panicForTesting", skip_typescript, catch_unwind)]
pub fn panic_for_testing(env: &Env) -> Result<()> {
    error::guard(env, || -> journey_core::Result<()> { panic!("deliberate panic for testing") })
}

/// Throws the error a failing store gives (`E_STORAGE`, with the backend's error in the
/// message), so the tests can check its mapping: the in-memory store never fails. Not
/// part of the API.
#[napi(js_name = "__storageErrorForTesting", skip_typescript, catch_unwind)]
pub fn storage_error_for_testing(env: &Env) -> Result<()> {
    error::guard(env, || -> journey_core::Result<()> {
        Err(journey_core::Error::storage("cannot write the journal", std::io::Error::other("disk full")))
    })
}
