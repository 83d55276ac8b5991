//! Stores: the durable store a tracker opens from its options ([`backend`]), releasing
//! the store on `close()`, what context shows of a store (armed waypoint deadlines), and
//! the results of privacy, retention and JSON Lines export and import (whose methods are
//! in `tracker::privacy`).
//!
//! A tracker keeps its data in memory unless its options give a `path` (a SQLite file,
//! journey-core's `SqliteStore`) or `postgres` (a schema of a PostgreSQL server,
//! journey-core's `PostgresStore`).

pub(crate) mod backend;

use std::sync::Arc;
use std::time::Duration;

use journey_core::store::sqlite::CheckReport;
use journey_core::store::{Deadline, ExportStats, Forgotten, OpenStore};
use journey_core::{Error, Tracker};
use napi_derive::napi;

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

/// What `Tracker.check` found in a SQLite file.
#[napi(object, js_name = "CheckReport", object_from_js = false)]
#[derive(Debug, Clone)]
pub struct JsCheckReport {
    /// Profiles.
    pub profiles: i64,
    /// Events.
    pub events: i64,
    /// Identity keys.
    pub keys: i64,
    /// Every problem found; empty when the store is sound.
    pub problems: Vec<String>,
}

impl From<CheckReport> for JsCheckReport {
    fn from(r: CheckReport) -> Self {
        JsCheckReport { profiles: r.profiles as i64, events: r.events as i64, keys: r.keys as i64, problems: r.problems }
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

/// Releases a closed tracker's store: waits for the operations still holding the tracker
/// to finish, drops it, then brings a SQLite file's state tables up to date and releases
/// the file (its lock included), so it can be opened again at once, or closes the
/// connections of a PostgreSQL store.
pub(crate) fn release(tracker: Option<Arc<Tracker>>, held: Option<OpenStore>) -> Result<(), Error> {
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
    held.map_or(Ok(()), OpenStore::release)
}
