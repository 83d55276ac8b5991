//! Export and import of a whole store as JSON Lines, written once over the store traits.
//!
//! One JSON object per line, tagged by `"type"`, in this order:
//!
//! ```text
//! {"type":"store","format":"journey-core","version":1,"next_seq":3,"next_profile":2}
//! {"type":"profile","id":1,"level":"identified","events":2,...,"persona":null,"attributes":{},"fired":[]}
//! {"type":"key","key":"email:ana@example.com","profile":1}
//! {"type":"event","seq":0,"profile":1,"ts":1736121600000000,"keys":["session:a"],"event":"product_view","channel":"web"}
//! {"type":"link","a":"session:a","b":"email:ana@example.com","ts":...,"event_seq":1,"outcome":"joined","absorbed":null,"profile":1}
//! {"type":"conflict",...}
//! {"type":"deadline","profile":1,"waypoint":"cart_abandoned","armed_at":...,"due":...,"trigger_seq":1,"trigger_event":"add_to_cart"}
//! {"type":"action","id":"1-cart_abandoned-missed-0",...}
//! ```
//!
//! Events come in journey order `(ts, seq)`, so the `event` lines alone are a clean event
//! log for other tools (drop `type`, `seq` and `profile` and they parse as [`Event`]s).
//! An import reproduces the exported store exactly (ids, arrival numbers, link log,
//! armed deadlines, pending actions) in one transaction, into an empty store.
//!
//! [`Event`]: crate::event::Event

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Deadline, Store, Tx};
use crate::error::{Error, Result};
use crate::identity::{IdentityKey, IdentityLevel};
use crate::outbox::ActionRecord;
use crate::profile::{Conflict, LinkEntry, Order, ProfileId, ProfileState, TrackedEvent};
use crate::time::Micros;

/// The version of the JSON Lines format written by [`export_jsonl`].
pub const FORMAT_VERSION: u32 = 1;

/// How many records of each kind an export wrote or an import read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExportStats {
    /// Profiles.
    pub profiles: u64,
    /// Identity keys.
    pub keys: u64,
    /// Events.
    pub events: u64,
    /// Link log entries.
    pub links: u64,
    /// Identity conflicts.
    pub conflicts: u64,
    /// Armed deadlines.
    pub deadlines: u64,
    /// Pending (unacknowledged) actions.
    pub actions: u64,
}

#[derive(Serialize, Deserialize)]
struct Header {
    format: String,
    version: u32,
    next_seq: u64,
    next_profile: u64,
}

/// A profile's summary with JSON-safe numbers (no infinities).
#[derive(Serialize, Deserialize)]
struct ProfileLine {
    id: ProfileId,
    level: IdentityLevel,
    events: u64,
    first_ts: Option<Micros>,
    latest: Order,
    current_phase: Option<u32>,
    current_order: Order,
    furthest_phase: Option<u32>,
    phases: u64,
    ratings: u32,
    rating_sum: f64,
    rating_min: Option<f64>,
    last_rating: Option<(Order, f64)>,
    persona: Option<String>,
    attributes: Map<String, Value>,
    fired: Vec<(String, Micros)>,
}

impl ProfileLine {
    fn state(&self) -> ProfileState {
        let mut s = ProfileState::new(self.id, self.level);
        s.events = self.events;
        s.first_ts = self.first_ts.unwrap_or(Micros::MAX);
        s.latest = self.latest;
        s.current_phase = self.current_phase;
        s.current_order = self.current_order;
        s.furthest_phase = self.furthest_phase;
        s.phases = self.phases;
        s.ratings = self.ratings;
        s.rating_sum = self.rating_sum;
        s.rating_min = self.rating_min.unwrap_or(f64::INFINITY);
        s.last_rating = self.last_rating;
        s
    }
}

#[derive(Serialize, Deserialize)]
struct KeyLine {
    key: IdentityKey,
    profile: ProfileId,
}

fn io(e: std::io::Error) -> Error {
    Error::Io { path: "JSON Lines stream".into(), source: e }
}

fn line(out: &mut dyn Write, kind: &str, value: &impl Serialize) -> Result<()> {
    let Value::Object(fields) = serde_json::to_value(value).map_err(|e| Error::storage("cannot serialise a record for export", e))? else {
        return Err(Error::Storage { message: "an exported record is not a JSON object".into(), source: None });
    };
    let mut tagged = Map::with_capacity(fields.len() + 1);
    tagged.insert("type".into(), Value::String(kind.into()));
    tagged.extend(fields);
    serde_json::to_writer(&mut *out, &tagged).map_err(|e| io(e.into()))?;
    out.write_all(b"\n").map_err(io)
}

/// Writes the whole store as JSON Lines (see the [module docs](self)) from one consistent
/// read. Returns what it wrote.
pub fn export_jsonl(store: &dyn Store, out: &mut dyn Write) -> Result<ExportStats> {
    let mut stats = ExportStats::default();
    store.read(&mut |tx| {
        stats = ExportStats::default();
        let (next_seq, next_profile) = tx.counters()?;
        line(out, "store", &Header { format: "journey-core".into(), version: FORMAT_VERSION, next_seq, next_profile })?;
        let ids = tx.profile_ids()?;
        for &id in &ids {
            let Some(s) = tx.profile(id)? else { continue };
            let profile = ProfileLine {
                id,
                level: s.level,
                events: s.events,
                first_ts: (s.first_ts != Micros::MAX).then_some(s.first_ts),
                latest: s.latest,
                current_phase: s.current_phase,
                current_order: s.current_order,
                furthest_phase: s.furthest_phase,
                phases: s.phases,
                ratings: s.ratings,
                rating_sum: s.rating_sum,
                rating_min: s.rating_min.is_finite().then_some(s.rating_min),
                last_rating: s.last_rating,
                persona: tx.persona(id)?,
                attributes: tx.attributes(id)?,
                fired: tx.fired_of(id)?,
            };
            line(out, "profile", &profile)?;
            stats.profiles += 1;
        }
        for &id in &ids {
            for key in tx.keys_of(id)? {
                line(out, "key", &KeyLine { key, profile: id })?;
                stats.keys += 1;
            }
        }
        tx.scan(Micros::MIN, Micros::MAX, &mut |e| {
            line(out, "event", &*e)?;
            stats.events += 1;
            Ok(true)
        })?;
        tx.links(&mut |l| {
            stats.links += 1;
            line(out, "link", &l)
        })?;
        for c in tx.conflicts()? {
            line(out, "conflict", &c)?;
            stats.conflicts += 1;
        }
        for &id in &ids {
            for d in tx.deadlines_of(id)? {
                line(out, "deadline", &d)?;
                stats.deadlines += 1;
            }
        }
        for a in tx.pending_actions(usize::MAX)? {
            line(out, "action", &a)?;
            stats.actions += 1;
        }
        Ok(())
    })?;
    out.flush().map_err(io)?;
    Ok(stats)
}

fn parse<T: for<'de> Deserialize<'de>>(n: usize, value: Value) -> Result<T> {
    serde_path_to_error::deserialize(value).map_err(|e| Error::Parse {
        file: None,
        path: format!("line {n}{}", crate::error::json_path(e.path()).map(|p| format!(": {p}")).unwrap_or_default()),
        message: e.inner().to_string(),
    })
}

/// Reads a JSON Lines export into an empty store, in one transaction: all of it or, on any
/// bad line (the error names it), nothing. Returns what it read.
pub fn import_jsonl(store: &dyn Store, input: &mut dyn BufRead) -> Result<ExportStats> {
    let mut stats = ExportStats::default();
    let mut input = Some(input);
    store.write(&mut |tx| {
        let input = input.take().ok_or_else(|| Error::Storage { message: "the store ran an import twice".into(), source: None })?;
        stats = import_into(tx, input)?;
        Ok(())
    })?;
    Ok(stats)
}

fn import_into(tx: &mut dyn Tx, input: &mut dyn BufRead) -> Result<ExportStats> {
    if !tx.profile_ids()?.is_empty() || tx.counters()?.0 > 0 {
        return Err(Error::Conflict { message: "an import needs an empty store: this one already holds journeys".into() });
    }
    let mut stats = ExportStats::default();
    let (mut next_seq, mut next_profile) = (0, 1);
    let mut text = String::new();
    let mut n = 0;
    loop {
        text.clear();
        n += 1;
        if input.read_line(&mut text).map_err(io)? == 0 {
            break;
        }
        if text.trim().is_empty() {
            continue;
        }
        let mut value: Value =
            serde_json::from_str(&text).map_err(|e| Error::Parse { file: None, path: format!("line {n}"), message: e.to_string() })?;
        let kind = match value.as_object_mut().and_then(|o| o.remove("type")) {
            Some(Value::String(kind)) => kind,
            _ => return Err(Error::Parse { file: None, path: format!("line {n}"), message: "a record needs a string field \"type\"".into() }),
        };
        match kind.as_str() {
            "store" => {
                let h: Header = parse(n, value)?;
                if h.format != "journey-core" || h.version > FORMAT_VERSION {
                    return Err(Error::Parse {
                        file: None,
                        path: format!("line {n}"),
                        message: format!(
                            "format {:?} version {} is not one this journey-core reads (journey-core, up to {FORMAT_VERSION})",
                            h.format, h.version
                        ),
                    });
                }
                next_seq = next_seq.max(h.next_seq);
                next_profile = next_profile.max(h.next_profile);
            }
            "profile" => {
                let p: ProfileLine = parse(n, value)?;
                tx.put_profile(&p.state())?;
                if p.persona.is_some() {
                    tx.set_persona(p.id, p.persona.as_deref())?;
                }
                if !p.attributes.is_empty() {
                    tx.set_attributes(p.id, &p.attributes)?;
                }
                for (waypoint, ts) in &p.fired {
                    tx.set_fired(p.id, waypoint, *ts)?;
                }
                next_profile = next_profile.max(p.id.0 + 1);
                stats.profiles += 1;
            }
            "key" => {
                let k: KeyLine = parse(n, value)?;
                tx.put_key(&k.key, k.profile)?;
                stats.keys += 1;
            }
            "event" => {
                let e: TrackedEvent = parse(n, value)?;
                e.event.check().map_err(|err| Error::Parse { file: None, path: format!("line {n}"), message: err.to_string() })?;
                next_seq = next_seq.max(e.seq + 1);
                tx.append_event(e)?;
                stats.events += 1;
            }
            "link" => {
                tx.append_link(&parse::<LinkEntry>(n, value)?)?;
                stats.links += 1;
            }
            "conflict" => {
                tx.add_conflict(&parse::<Conflict>(n, value)?)?;
                stats.conflicts += 1;
            }
            "deadline" => {
                let d: Deadline = parse(n, value)?;
                next_seq = next_seq.max(d.trigger_seq + 1);
                tx.put_deadline(&d)?;
                stats.deadlines += 1;
            }
            "action" => {
                let a: ActionRecord = parse(n, value)?;
                tx.push_action(&a)?;
                stats.actions += 1;
            }
            other => {
                return Err(Error::Parse { file: None, path: format!("line {n}"), message: format!("unknown record type {other:?}") });
            }
        }
    }
    tx.raise_counters(next_seq, next_profile)?;
    Ok(stats)
}
