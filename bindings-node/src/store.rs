//! Stores: the durable SQLite store a tracker opens from its options, privacy and
//! retention (`forget`, `deleteBefore`), JSON Lines export and import, releasing the file
//! on `close()`, and what context shows of a store (armed waypoint deadlines).
//!
//! A tracker keeps its data in memory unless its options give a `path`: then it opens (or
//! creates) that SQLite file with journey-core's `SqliteStore`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::sync::Arc;
use std::time::Duration;

use journey_core::store::{Deadline, Durability, ExportStats, Forgotten, KeyHasher, export_jsonl, import_jsonl};
use journey_core::{Error, SqliteOptions, SqliteStore, Tracker};
use napi::bindgen_prelude::{AsyncTask, Unknown};
use napi_derive::napi;

use crate::identity;
use crate::task::Job;
use crate::tracker::{JsTracker, JsTrackerOptions, at};

/// An armed waypoint deadline: the waypoint is missed if its condition has not matched
/// by `due`.
#[napi(object, js_name = "OpenWaypoint", object_from_js = false)]
#[derive(Debug, Clone)]
pub struct JsOpenWaypoint {
    /// The profile it watches.
    pub profile: i64,
    /// The waypoint's id.
    pub waypoint: String,
    /// When it was (re)armed, in microseconds since the Unix epoch (UTC).
    pub armed_at: i64,
    /// When it falls due (missed once the clock is strictly past it).
    pub due: i64,
    /// The event that armed it (its `seq`).
    pub trigger_seq: i64,
    /// That event's raw name.
    pub trigger_event: String,
}

impl From<&Deadline> for JsOpenWaypoint {
    fn from(d: &Deadline) -> Self {
        JsOpenWaypoint {
            profile: d.profile.0 as i64,
            waypoint: d.waypoint.to_string(),
            armed_at: d.armed_at,
            due: d.due,
            trigger_seq: d.trigger_seq as i64,
            trigger_event: d.trigger_event.to_string(),
        }
    }
}

/// What `forget` removed.
#[napi(object, js_name = "Forgotten", object_from_js = false, use_nullable = true)]
#[derive(Debug, Clone)]
pub struct JsForgotten {
    /// The profile that was removed.
    pub profile: Option<i64>,
    /// Its keys, as stored (hashed if the store hashes keys).
    pub keys: Vec<String>,
    /// How many of its events were deleted.
    pub events: i64,
    /// How many events of other profiles had a forgotten key removed.
    pub scrubbed: i64,
}

impl From<Forgotten> for JsForgotten {
    fn from(f: Forgotten) -> Self {
        JsForgotten {
            profile: f.profile.map(|p| p.0 as i64),
            keys: f.keys.iter().map(|k| k.as_str().to_string()).collect(),
            events: f.events as i64,
            scrubbed: f.scrubbed as i64,
        }
    }
}

/// How many records of each kind an export wrote or an import read.
#[napi(object, js_name = "ExportStats", object_from_js = false)]
#[derive(Debug, Clone)]
pub struct JsExportStats {
    /// Profiles.
    pub profiles: i64,
    /// Identity keys.
    pub keys: i64,
    /// Events.
    pub events: i64,
    /// Link log entries.
    pub links: i64,
    /// Identity conflicts.
    pub conflicts: i64,
    /// Armed deadlines.
    pub deadlines: i64,
    /// Pending (unacknowledged) actions.
    pub actions: i64,
}

impl From<ExportStats> for JsExportStats {
    fn from(s: ExportStats) -> Self {
        let n = |x: u64| x as i64;
        JsExportStats {
            profiles: n(s.profiles),
            keys: n(s.keys),
            events: n(s.events),
            links: n(s.links),
            conflicts: n(s.conflicts),
            deadlines: n(s.deadlines),
            actions: n(s.actions),
        }
    }
}

/// The store options of a tracker, checked: `None` for the in-memory store (no `path`).
///
/// Errors are `E_PARSE` naming the option (`durability`, `hashSecret`, `maxSize`...); a
/// store option without `path` is refused too, since it would be silently ignored.
pub(crate) fn sqlite_options(o: &JsTrackerOptions) -> Result<Option<(String, SqliteOptions)>, Error> {
    let Some(path) = &o.path else {
        let given = [
            ("durability", o.durability.is_some()),
            ("hashSecret", o.hash_secret.is_some()),
            ("hashKinds", o.hash_kinds.is_some()),
            ("maxSize", o.max_size.is_some()),
            ("readOnly", o.read_only.is_some()),
            ("busyTimeoutMs", o.busy_timeout_ms.is_some()),
            ("checkpointBytes", o.checkpoint_bytes.is_some()),
            ("cacheMib", o.cache_mib.is_some()),
        ];
        if let Some((name, _)) = given.iter().find(|(_, set)| *set) {
            return Err(Error::parse(*name, "a store option needs `path` (the SQLite file); without it the tracker keeps its data in memory"));
        }
        return Ok(None);
    };
    if path.is_empty() {
        return Err(Error::parse("path", "the path of the SQLite file is empty"));
    }
    let mut options = SqliteOptions::default();
    if let Some(d) = &o.durability {
        options.durability = match d.as_str() {
            "process" => Durability::Process,
            "os" => Durability::Os,
            other => return Err(Error::parse("durability", format!("unknown durability {other:?}: expected 'process' or 'os'"))),
        };
    }
    if let Some(secret) = &o.hash_secret {
        if secret.len() < 16 {
            return Err(Error::parse("hashSecret", format!("the secret is {} bytes long; use at least 16", secret.len())));
        }
        let mut hasher = KeyHasher::new(secret.as_bytes());
        if let Some(kinds) = &o.hash_kinds {
            hasher = hasher.only(kinds.iter().cloned());
        }
        options.key_hasher = Some(hasher);
    } else if o.hash_kinds.is_some() {
        return Err(Error::parse("hashKinds", "hashKinds needs hashSecret"));
    }
    if let Some(bytes) = o.max_size {
        options.max_size = Some(whole("maxSize", bytes, 4096.0)?);
    }
    if let Some(read_only) = o.read_only {
        options.read_only = read_only;
    }
    if let Some(ms) = o.busy_timeout_ms {
        options.busy_timeout = Duration::from_millis(whole("busyTimeoutMs", ms, 0.0)?);
    }
    if let Some(bytes) = o.checkpoint_bytes {
        options.checkpoint_bytes = whole("checkpointBytes", bytes, 1.0)?;
    }
    if let Some(mib) = o.cache_mib {
        options.cache_mib = u32::try_from(whole("cacheMib", mib, 1.0)?).map_err(|_| Error::parse("cacheMib", format!("{mib} MiB is too large")))?;
    }
    Ok(Some((path.clone(), options)))
}

/// A whole number of at least `min`, or `E_PARSE` naming the option.
fn whole(option: &str, x: f64, min: f64) -> Result<u64, Error> {
    if x.is_finite() && x.fract() == 0.0 && x >= min && x <= 9_007_199_254_740_991.0 {
        Ok(x as u64)
    } else {
        Err(Error::parse(option, format!("{x} is not a whole number of at least {min}")))
    }
}

/// Opens the store the options ask for: `None` for memory.
pub(crate) fn open(options: &JsTrackerOptions) -> Result<Option<Arc<SqliteStore>>, Error> {
    match sqlite_options(options)? {
        Some((path, o)) => Ok(Some(Arc::new(SqliteStore::open_with(path, o)?))),
        None => Ok(None),
    }
}

/// Releases a closed tracker's store: waits for the operations still holding the tracker
/// to finish, drops it, then brings a SQLite file's state tables up to date and releases
/// the file (its lock included), so it can be opened again at once.
pub(crate) fn release(tracker: Option<Arc<Tracker>>, sqlite: Option<Arc<SqliteStore>>) -> Result<(), Error> {
    if let Some(mut tracker) = tracker {
        // Operations already queued hold clones; they end soon (new ones fail E_CLOSED).
        loop {
            match Arc::try_unwrap(tracker) {
                Ok(t) => {
                    drop(t);
                    break;
                }
                Err(shared) => {
                    tracker = shared;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
    if let Some(store) = sqlite {
        store.checkpoint()?;
        drop(store); // the last handle: the file and its lock are released here
    }
    Ok(())
}

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
