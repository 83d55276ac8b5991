//! Node bindings of journey-core: the `journey-core` npm package.
//!
//! Each module mirrors the core module of the same name and holds conversions and error
//! mapping only; the behaviour lives in `journey-core`. Rust types are prefixed (`JsMapDocument`)
//! and exported under their plain names (`MapDocument`). Errors are described in [`error`].
//!
//! The binding is tested from JavaScript (`bindings-node/test/`). Under `cargo test` napi
//! registers nothing, so the exports look unused there.
#![cfg_attr(test, allow(dead_code))]

mod analytics;
mod batch;
mod convert;
mod emotion;
mod error;
mod event;
mod identity;
mod json;
mod limits;
mod map;
mod order;
mod outbox;
mod preset;
mod profile;
mod schema;
mod store;
mod task;
mod tracker;

use napi::{Env, Result};
use napi_derive::napi;

/// The addon's allocator for everything Rust allocates: mimalloc. Batches are read on the
/// event loop and tracked on the thread pool, so memory is often freed by another thread
/// than the one that allocated it, where glibc's malloc is slow (see the workspace
/// `Cargo.toml`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

/// Panics inside a task on the thread pool, so the tests can check that the Promise
/// rejects with `E_INTERNAL` and the process lives on. Not part of the API.
#[napi(js_name = "__panicInTaskForTesting", skip_typescript, catch_unwind)]
pub fn panic_in_task_for_testing() -> napi::bindgen_prelude::AsyncTask<task::Job<()>> {
    task::Job::spawn(|| -> journey_core::Result<()> { panic!("deliberate panic on the thread pool") })
}

/// Converts events as `trackBatch` does and returns how many, without tracking them, so
/// a profile can tell the conversion's share of the time. Not part of the API.
#[napi(js_name = "__convertEventsForTesting", skip_typescript, catch_unwind)]
pub fn convert_events_for_testing(env: &Env, events: Vec<napi::bindgen_prelude::Unknown<'_>>) -> Result<u32> {
    error::guard(env, || {
        let mut n = 0;
        for (i, e) in events.into_iter().enumerate() {
            std::hint::black_box(event::from_js(e, Some(i))?);
            n += 1;
        }
        Ok(n)
    })
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

/// Drops a PostgreSQL schema with every table in it, on the thread pool, so that each
/// test leaves the server as it found it. Not part of the API.
#[napi(js_name = "__dropPostgresSchemaForTesting", skip_typescript, catch_unwind)]
pub fn drop_postgres_schema_for_testing(url: String, schema: String) -> napi::bindgen_prelude::AsyncTask<task::Job<()>> {
    task::Job::spawn(move || {
        use journey_core::store::{PostgresOptions, PostgresStore};
        let options = PostgresOptions { schema, pool_size: 1, ..PostgresOptions::default() };
        PostgresStore::open(&url, options)?.drop_schema()
    })
}

#[cfg(test)]
mod tests {
    /// Every exported function and method carries `catch_unwind`, so a panic anywhere in
    /// it, argument conversion included, becomes a JavaScript error instead of aborting
    /// the process; and every export that reaches the core does so through `guard`
    /// (`E_INTERNAL` for a panic, synchronously) or a `Job` (whose work runs under
    /// `caught`, rejecting with `E_INTERNAL`).
    #[test]
    fn every_export_catches_panics() {
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
                let path = entry.expect("an entry of src/").path();
                if path.is_dir() { dirs.push(path) } else { files.push(path) }
            }
        }
        let mut exports = 0;
        for path in files {
            let text = std::fs::read_to_string(&path).expect("a source file");
            let lines: Vec<&str> = text.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                let line = line.trim();
                if !line.starts_with("#[napi") {
                    continue;
                }
                // The item the attribute is on: skip further attributes and doc comments.
                let item = lines[i + 1..].iter().map(|l| l.trim()).find(|l| !l.starts_with("#[") && !l.starts_with("///")).unwrap_or("");
                if !item.starts_with("pub fn ") {
                    continue; // objects, enums, classes and `impl` blocks
                }
                exports += 1;
                assert!(line.contains("catch_unwind"), "{}:{}: `{item}` is exported without catch_unwind", path.display(), i + 1);
            }
        }
        assert!(exports >= 30, "found only {exports} exports");
    }
}
