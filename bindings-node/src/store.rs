//! What the store keeps that context shows: armed waypoint deadlines.
//!
//! Trackers use journey-core's in-memory store for now; the durable (SQLite) store will
//! be chosen by a `TrackerOptions` field when it lands (see `tracker.rs`).

use journey_core::store::Deadline;
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
