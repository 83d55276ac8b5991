//! Store maintenance (`checkpoint`, `check`): methods of `Tracker` for a SQLite file.
//!
//! A child of `tracker`, declared after the struct, for the reason `privacy` gives.

use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use super::JsTracker;
use crate::store::JsCheckReport;
use crate::task::Job;

#[napi]
impl JsTracker {
    /// Brings a SQLite file's state tables (profiles, keys, armed deadlines, pending
    /// actions) up to date on the thread pool, so that other tools reading the file (the
    /// `sqlite3` shell, DuckDB) see the current state; events, through the view
    /// `journey_events`, are always current. Done automatically every `checkpointBytes`
    /// of journal and on `close()`. Does nothing in memory or on PostgreSQL.
    ///
    /// Rejects with `E_STORAGE` when the file cannot be written (the journal still holds
    /// everything), `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<void>")]
    pub fn checkpoint(&self) -> AsyncTask<Job<()>> {
        let prepared = self.held();
        Job::spawn(move || prepared?.map_or(Ok(()), |held| held.checkpoint()))
    }

    /// Checks a SQLite file and the store's invariants on the thread pool: SQLite's
    /// `integrity_check`, every event on an existing profile, every key on exactly one
    /// profile, and the state in memory equal to the state rebuilt from the file. Resolves
    /// to the report (no `problems`: sound), or `null` in memory or on PostgreSQL.
    ///
    /// Rejects with `E_STORAGE` when the file cannot be read, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<CheckReport | null>")]
    pub fn check(&self) -> AsyncTask<Job<Option<JsCheckReport>>> {
        let prepared = self.held();
        Job::spawn(move || Ok(prepared?.map(|held| held.check()).transpose()?.flatten().map(JsCheckReport::from)))
    }
}
