//! Privacy, retention and moving a store's contents (`forget`, `deleteBefore`,
//! `exportJsonl`, `importJsonl`): methods of `Tracker`, over any store.
//!
//! A child of `tracker` so that napi-derive, which names the class of an `impl` block
//! after the struct it has already parsed, sees `JsTracker` first: an `impl` expanded
//! before its struct loses its methods from `index.d.ts` (`test/types.test.mjs` checks).

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};

use journey_core::Error;
use journey_core::store::{export_jsonl, import_jsonl};
use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi_derive::napi;

use super::{JsTracker, at};
use crate::identity;
use crate::store::{JsExportStats, JsForgotten};
use crate::task::Job;

/// Privacy, retention and moving a store's contents, over any store.
#[napi]
impl JsTracker {
    /// The right to be forgotten: removes the profile of `key` with its events, keys,
    /// links, conflicts, deadlines, persona, attributes and pending actions, and removes
    /// its keys from events of other profiles, in one transaction. Resolves to what was
    /// removed, or `null` for an unknown key.
    ///
    /// Rejects with `E_PARSE` (`path` `key`), `E_STORAGE`, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<Forgotten | null>")]
    pub fn forget(&self, key: String) -> AsyncTask<Job<Option<JsForgotten>>> {
        let prepared = self.core().and_then(|t| Ok((t, identity::key("key", &key)?)));
        Job::spawn(move || {
            let (tracker, key) = prepared?;
            Ok(tracker.forget(&key)?.map(JsForgotten::from))
        })
    }

    /// Retention: deletes every event older than `before` (event time: microseconds since
    /// the Unix epoch as a number or bigint, or a `Date`), in one transaction. Resolves to
    /// how many were deleted. Profile summaries, keys and links stay.
    ///
    /// Rejects with `E_PARSE` (`path` `before`), `E_STORAGE`, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn delete_before(&self, #[napi(ts_arg_type = "number | bigint | Date")] before: Unknown<'_>) -> AsyncTask<Job<i64>> {
        let prepared = self.core().and_then(|t| Ok((t, at("before", before)?)));
        Job::spawn(move || {
            let (tracker, before) = prepared?;
            Ok(tracker.delete_before(before)? as i64)
        })
    }

    /// Writes the whole store to a JSON Lines file (created or truncated) from one
    /// consistent read: profiles, keys, events in journey order, the link log, conflicts,
    /// armed deadlines and pending actions. Resolves to how many of each it wrote.
    ///
    /// Rejects with `E_IO` (`path`) when the file cannot be written, `E_STORAGE`,
    /// `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<ExportStats>")]
    pub fn export_jsonl(&self, path: String) -> AsyncTask<Job<JsExportStats>> {
        let prepared = self.core();
        Job::spawn(move || {
            let tracker = prepared?;
            let io = |e| Error::Io { path: path.clone(), source: e };
            let mut out = BufWriter::new(File::create(&path).map_err(io)?);
            let stats = export_jsonl(tracker.store().as_ref(), &mut out)?;
            out.flush().map_err(io)?;
            Ok(stats.into())
        })
    }

    /// Reads a JSON Lines export into this tracker's store, which must be empty, in one
    /// transaction: all of it or, on any bad line, nothing. Ids, arrival numbers, the link
    /// log, armed deadlines and pending actions come back exactly. Resolves to how many
    /// records of each kind it read.
    ///
    /// Rejects with `E_IO` (`path`) when the file cannot be read, `E_PARSE` naming the bad
    /// line, `E_CONFLICT` or `E_STORAGE` when the store is not empty, `E_CLOSED`.
    #[napi(catch_unwind, ts_return_type = "Promise<ExportStats>")]
    pub fn import_jsonl(&self, path: String) -> AsyncTask<Job<JsExportStats>> {
        let prepared = self.core();
        Job::spawn(move || {
            let tracker = prepared?;
            let file = File::open(&path).map_err(|e| Error::Io { path: path.clone(), source: e })?;
            Ok(import_jsonl(tracker.store().as_ref(), &mut BufReader::new(file))?.into())
        })
    }
}
