//! Rows of a PostgreSQL store and the Rust values they hold.

use std::sync::Arc;

use postgres::Row;

use crate::error::{Error, Result};
use crate::event::Event;
use crate::identity::IdentityKey;
use crate::profile::{Conflict, EventRef, LinkEntry, ProfileId, ProfileState, TrackedEvent};
use crate::store::Deadline;
use crate::time::Micros;

/// A query that reads a profile with its deadlines and caps in one round trip: the
/// columns of `$head`, then the summary (17 columns, see [`profile_row`]), then the
/// deadlines and the caps as JSON arrays in their order (see [`bundle_lists`]), then the
/// persona and the attributes (JSON text).
macro_rules! bundle_sql {
    ($head:literal, $from:literal) => {
        concat!(
            "SELECT ", $head, " p.id, p.level, p.events, p.first_ts, p.latest_ts, p.latest_seq, p.current_phase, p.current_ts, p.current_seq, ",
            "p.furthest_phase, p.phases, p.ratings, p.rating_sum, p.rating_min, p.last_rating_ts, p.last_rating_seq, p.last_rating, ",
            "(SELECT coalesce(json_agg(json_build_array(d.waypoint, d.armed_at, d.due, d.trigger_seq, d.trigger_event) ORDER BY d.pos), '[]') FROM deadlines d WHERE d.profile = p.id)::text, ",
            "(SELECT coalesce(json_agg(json_build_array(f.waypoint, f.ts) ORDER BY f.pos), '[]') FROM fired f WHERE f.profile = p.id)::text, ",
            "p.persona, p.attributes ",
            $from
        )
    };
}
pub(crate) use bundle_sql;

/// A profile's caps: when each waypoint last fired.
pub(crate) type Caps = Vec<(String, Micros)>;

/// The deadlines and caps of a profile in columns `at + 17` and `at + 18` of a bundle row.
pub(crate) fn bundle_lists(r: &Row, at: usize, pid: ProfileId) -> Result<(Vec<Deadline>, Caps)> {
    let deadlines: Vec<(String, i64, i64, i64, String)> =
        serde_json::from_str(r.get(at + 17)).map_err(|e| damaged(&format!("the deadlines of profile {pid} are not valid: {e}")))?;
    let fired: Caps = serde_json::from_str(r.get(at + 18)).map_err(|e| damaged(&format!("the caps of profile {pid} are not valid: {e}")))?;
    let deadlines = deadlines
        .into_iter()
        .map(|(waypoint, armed_at, due, trigger_seq, trigger_event)| Deadline {
            profile: pid,
            waypoint: Arc::from(waypoint),
            armed_at,
            due,
            trigger_seq: trigger_seq as u64,
            trigger_event: Arc::from(trigger_event),
        })
        .collect();
    Ok((deadlines, fired))
}

pub(crate) fn damaged(what: &str) -> Error {
    Error::Storage { message: format!("the store is damaged: {what}"), source: None }
}

pub(crate) fn key_of(text: &str) -> Result<IdentityKey> {
    IdentityKey::parse(text).map_err(|e| damaged(&e))
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("store values serialise")
}

/// The name of a unit enum value as serde writes it (`"joined"`, `"identified"`...).
pub(crate) fn name_of<T: serde::Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("a unit variant serialises as a string, not {other:?}"),
    }
}

/// The unit enum value named `text` (`what` names it in the error).
pub(crate) fn named<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(text.to_string())).map_err(|_| damaged(&format!("unknown {what} {text:?}")))
}

pub(crate) fn event_row(r: &Row) -> Result<EventRef> {
    let (seq, profile, body): (i64, i64, &str) = (r.get(0), r.get(1), r.get(2));
    let event: Event = serde_json::from_str(body).map_err(|e| damaged(&format!("event {seq} is not valid: {e}")))?;
    Ok(Arc::new(TrackedEvent { seq: seq as u64, profile: ProfileId(profile as u64), event }))
}

/// The profile summary in columns `at..at + 17` of a row (see [`bundle_sql`]).
pub(crate) fn profile_row(r: &Row, at: usize) -> Result<ProfileState> {
    let id = ProfileId(r.get::<_, i64>(at) as u64);
    let mut s = ProfileState::new(id, named("identity level", r.get(at + 1))?);
    s.events = r.get::<_, i64>(at + 2) as u64;
    s.first_ts = r.get(at + 3);
    s.latest = (r.get(at + 4), r.get::<_, i64>(at + 5) as u64);
    s.current_phase = r.get::<_, Option<i32>>(at + 6).map(|p| p as u32);
    s.current_order = (r.get(at + 7), r.get::<_, i64>(at + 8) as u64);
    s.furthest_phase = r.get::<_, Option<i32>>(at + 9).map(|p| p as u32);
    s.phases = r.get::<_, i64>(at + 10) as u64;
    s.ratings = r.get::<_, i32>(at + 11) as u32;
    s.rating_sum = r.get(at + 12);
    s.rating_min = r.get(at + 13);
    s.last_rating = match (r.get::<_, Option<i64>>(at + 14), r.get::<_, Option<i64>>(at + 15), r.get::<_, Option<f64>>(at + 16)) {
        (Some(ts), Some(seq), Some(x)) => Some(((ts, seq as u64), x)),
        _ => None,
    };
    Ok(s)
}

pub(crate) fn link_row(r: &Row) -> Result<LinkEntry> {
    Ok(LinkEntry {
        a: key_of(r.get(0))?,
        b: key_of(r.get(1))?,
        ts: r.get(2),
        event_seq: r.get::<_, Option<i64>>(3).map(|s| s as u64),
        outcome: named("link outcome", r.get(4))?,
        absorbed: r.get::<_, Option<i64>>(5).map(|p| ProfileId(p as u64)),
        profile: ProfileId(r.get::<_, i64>(6) as u64),
    })
}

pub(crate) fn conflict_row(r: &Row) -> Result<Conflict> {
    Ok(Conflict {
        key: key_of(r.get(0))?,
        other: key_of(r.get(1))?,
        ts: r.get(2),
        event_seq: r.get::<_, Option<i64>>(3).map(|s| s as u64),
        kind: r.get(4),
        limit: r.get::<_, i64>(5) as usize,
        message: r.get(6),
    })
}

pub(crate) fn deadline_row(r: &Row) -> Deadline {
    Deadline {
        profile: ProfileId(r.get::<_, i64>(0) as u64),
        waypoint: Arc::from(r.get::<_, &str>(1)),
        armed_at: r.get(2),
        due: r.get(3),
        trigger_seq: r.get::<_, i64>(4) as u64,
        trigger_event: Arc::from(r.get::<_, &str>(5)),
    }
}

pub(crate) fn id(p: ProfileId) -> i64 {
    p.0 as i64
}

#[derive(Default)]
pub(crate) struct ProfileColumns {
    pub(crate) id: Vec<i64>,
    pub(crate) level: Vec<&'static str>,
    pub(crate) events: Vec<i64>,
    pub(crate) first_ts: Vec<i64>,
    pub(crate) latest_ts: Vec<i64>,
    pub(crate) latest_seq: Vec<i64>,
    pub(crate) current_phase: Vec<Option<i32>>,
    pub(crate) current_ts: Vec<i64>,
    pub(crate) current_seq: Vec<i64>,
    pub(crate) furthest_phase: Vec<Option<i32>>,
    pub(crate) phases: Vec<i64>,
    pub(crate) ratings: Vec<i32>,
    pub(crate) rating_sum: Vec<f64>,
    pub(crate) rating_min: Vec<f64>,
    pub(crate) last_rating_ts: Vec<Option<i64>>,
    pub(crate) last_rating_seq: Vec<Option<i64>>,
    pub(crate) last_rating: Vec<Option<f64>>,
}

impl ProfileColumns {
    pub(crate) fn push(&mut self, s: &ProfileState) {
        self.id.push(id(s.id));
        self.level.push(s.level.as_str());
        self.events.push(s.events as i64);
        self.first_ts.push(s.first_ts);
        self.latest_ts.push(s.latest.0);
        self.latest_seq.push(s.latest.1 as i64);
        self.current_phase.push(s.current_phase.map(|p| p as i32));
        self.current_ts.push(s.current_order.0);
        self.current_seq.push(s.current_order.1 as i64);
        self.furthest_phase.push(s.furthest_phase.map(|p| p as i32));
        self.phases.push(s.phases as i64);
        self.ratings.push(s.ratings as i32);
        self.rating_sum.push(s.rating_sum);
        self.rating_min.push(s.rating_min);
        self.last_rating_ts.push(s.last_rating.map(|((ts, _), _)| ts));
        self.last_rating_seq.push(s.last_rating.map(|((_, seq), _)| seq as i64));
        self.last_rating.push(s.last_rating.map(|(_, x)| x));
    }
}

