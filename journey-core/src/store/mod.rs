//! Storage behind traits: everything the tracker keeps, reached through one transaction.
//!
//! The tracker never assumes memory: it reads and writes through [`Tx`] inside
//! [`Store::write`], and a durable store commits the whole closure atomically (all of a
//! batch or none of it). [`MemoryStore`] is the in-memory implementation.
//!
//! Deadlines and the outbox live in the store too, so a tracker reopened on a durable
//! store resumes exactly where it stopped.
//!
//! [`SqliteStore`] is the durable, embedded default: one file, WAL, one transaction per
//! batch (see its docs for the layout, durability and limits). Both stores pass one
//! conformance suite (`journey-core/tests/store_conformance.rs`), written once against
//! these traits.
//!
//! [`StoreOptions`] chooses and opens a store from the options a binding's user gives,
//! with the rules (which option goes with which store) written once.
//!
//! Store-independent operations are written once here, over the traits: [`forget`] (the
//! right to be forgotten), [`export_jsonl`] and [`import_jsonl`] (moving a whole store as
//! JSON Lines).

mod choice;
mod hash;
pub mod jsonl;
mod memory;
mod by_id;
mod due;
mod extra;
mod names;
pub mod sqlite;
#[cfg(feature = "postgres")]
pub mod postgres;

pub use choice::{MIN_SECRET_LEN, OpenStore, StoreChoice, StoreOptions};
pub use hash::KeyHasher;
pub use jsonl::{ExportStats, export_jsonl, import_jsonl};
pub use memory::MemoryStore;
pub use sqlite::{Durability, SqliteOptions, SqliteStore};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore};

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::identity::IdentityKey;
use crate::outbox::ActionRecord;
use crate::profile::{Conflict, EventRef, LinkEntry, ProfileId, ProfileState, TrackedEvent};
use crate::time::Micros;

/// An armed waypoint deadline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Deadline {
    /// The profile it watches.
    pub profile: ProfileId,
    /// The waypoint's id.
    pub waypoint: Arc<str>,
    /// Event time it was (re)armed.
    pub armed_at: Micros,
    /// Event time it falls due: missed once the clock is strictly past it.
    pub due: Micros,
    /// The event that armed it.
    pub trigger_seq: u64,
    /// That event's raw name.
    pub trigger_event: Arc<str>,
}

/// A store of journeys: events, identity, profiles, deadlines, caps and the outbox.
pub trait Store: Send + Sync {
    /// Runs `f` in one write transaction: committed if it returns `Ok`, rolled back
    /// entirely if it returns `Err` (or the store fails). A store may run `f` again after
    /// rolling back (the PostgreSQL store retries a transaction that failed on a
    /// serialization failure, a deadlock or a lost connection): `f` must start afresh each
    /// time, resetting whatever it collects.
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()>;

    /// Whether [`Store::write`] may run its closure more than once (a retried
    /// transaction). `true` unless the store knows better; a caller that moves data into
    /// the closure keeps a spare copy only when this is `true`. A store that never reruns
    /// must apply its writes in the order their closures start (one closure at a time, as
    /// under a lock): [`Tracker::track_batch_placed`](crate::Tracker::track_batch_placed)
    /// relies on it.
    fn reruns_writes(&self) -> bool {
        true
    }

    /// Runs `f` with a consistent read-only view.
    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()>;

    /// Streams the events with `from <= ts < to` in journey order `(ts, seq)` to `f`,
    /// which returns `false` to stop. Reads one consistent snapshot without loading all
    /// events at once; a durable store does it without holding up writers.
    fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        self.read(&mut |tx| tx.scan(from, to, &mut *f))
    }
}

/// One transaction of a [`Store`]. Reads take `&self`; writes `&mut self`.
pub trait Tx {
    // ---- reads ----
    /// The profile a key belongs to.
    fn key_profile(&self, key: &IdentityKey) -> Result<Option<ProfileId>>;
    /// A profile's summary.
    fn profile(&self, id: ProfileId) -> Result<Option<ProfileState>>;
    /// A profile's keys, in the order they joined.
    fn keys_of(&self, id: ProfileId) -> Result<Vec<IdentityKey>>;
    /// A profile's events in journey order `(ts, seq)`; with `last`, only the last n.
    fn events_of(&self, id: ProfileId, last: Option<usize>) -> Result<Vec<EventRef>>;
    /// Every profile id, ascending.
    fn profile_ids(&self) -> Result<Vec<ProfileId>>;
    /// A profile's armed deadlines.
    fn deadlines_of(&self, id: ProfileId) -> Result<Vec<Deadline>>;
    /// Calls `f` with each of a profile's armed deadlines, without copying them where the
    /// store holds them in memory (the tracker looks at them on every event).
    fn visit_deadlines(&self, id: ProfileId, f: &mut dyn FnMut(&Deadline)) -> Result<()> {
        self.deadlines_of(id)?.iter().for_each(f);
        Ok(())
    }
    /// The earliest armed deadline due strictly before `now`, if any.
    fn next_due(&self, now: Micros) -> Result<Option<Deadline>>;
    /// When a waypoint last fired for a profile.
    fn fired(&self, id: ProfileId, waypoint: &str) -> Result<Option<Micros>>;
    /// Every waypoint that fired for a profile, with when it last did.
    fn fired_of(&self, id: ProfileId) -> Result<Vec<(String, Micros)>>;
    /// The link log entries that involve any of these keys, in log order.
    fn links_of(&self, keys: &[IdentityKey]) -> Result<Vec<LinkEntry>>;
    /// Whether an accepted link between the two keys is in effect.
    fn linked(&self, a: &IdentityKey, b: &IdentityKey) -> Result<bool>;
    /// The keys linked to `key` by links in effect.
    fn neighbours(&self, key: &IdentityKey) -> Result<Vec<IdentityKey>>;
    /// Every recorded identity conflict, in order.
    fn conflicts(&self) -> Result<Vec<Conflict>>;
    /// The conflicts involving any of these keys, in order.
    fn conflicts_of(&self, keys: &[IdentityKey]) -> Result<Vec<Conflict>>;
    /// Unacknowledged actions, oldest first, at most `limit`.
    fn pending_actions(&self, limit: usize) -> Result<Vec<ActionRecord>>;
    /// The persona assigned to a profile.
    fn persona(&self, id: ProfileId) -> Result<Option<String>>;
    /// A profile's attributes (used by persona rules).
    fn attributes(&self, id: ProfileId) -> Result<Map<String, Value>>;
    /// Calls `f` with every event with `from <= ts < to`, in journey order `(ts, seq)`,
    /// until it returns `false`.
    fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()>;
    /// Calls `f` with every entry of the link log, in log order.
    fn links(&self, f: &mut dyn FnMut(LinkEntry) -> Result<()>) -> Result<()>;
    /// The next arrival number and the next profile id the store would hand out.
    fn counters(&self) -> Result<(u64, u64)>;
    /// A hint that these keys (a batch's) are about to be read: a store may load them,
    /// with their profiles, deadlines and caps, in one go (one round trip to a server, or
    /// cache misses that overlap instead of queueing, in memory). Reads return the same
    /// with or without it. The default does nothing.
    fn prefetch(&self, keys: &mut dyn Iterator<Item = &IdentityKey>) -> Result<()> {
        let _ = keys;
        Ok(())
    }
    /// How many events of a batch [`Tx::prefetch`] should be given at a time: the whole
    /// batch (the default) for a store whose prefetch is a round trip; a few dozen events
    /// for one whose prefetch loads cache lines, which more would evict before they are read.
    fn prefetch_window(&self) -> usize {
        usize::MAX
    }

    // ---- writes ----
    /// The next arrival number (strictly increasing, never reused).
    fn next_seq(&mut self) -> Result<u64>;
    /// Allocates a new, empty profile id.
    fn new_profile_id(&mut self) -> Result<ProfileId>;
    /// Creates or replaces a profile's summary.
    fn put_profile(&mut self, state: &ProfileState) -> Result<()>;
    /// Deletes a profile's summary, persona, attributes and caps (its keys, events and
    /// deadlines must have been moved or deleted).
    fn delete_profile(&mut self, id: ProfileId) -> Result<()>;
    /// Points a key at a profile (adding it to the profile's keys, removing it from its previous one).
    fn put_key(&mut self, key: &IdentityKey, id: ProfileId) -> Result<()>;
    /// Removes a key from the store.
    fn delete_key(&mut self, key: &IdentityKey) -> Result<()>;
    /// Appends an event to its profile.
    fn append_event(&mut self, event: TrackedEvent) -> Result<()>;
    /// Moves every event of `from` to `to` (a merge).
    fn move_events(&mut self, from: ProfileId, to: ProfileId) -> Result<()>;
    /// Moves one event to another profile (a split).
    fn move_event(&mut self, seq: u64, from: ProfileId, to: ProfileId) -> Result<()>;
    /// Deletes every event of a profile.
    fn delete_events_of(&mut self, id: ProfileId) -> Result<()>;
    /// Appends to the link log. An entry with outcome `joined`, `merged` or `already` puts a
    /// link in effect between its keys; `removed` takes it out of effect.
    fn append_link(&mut self, entry: &LinkEntry) -> Result<()>;
    /// Deletes the link log entries of these keys.
    fn delete_links_of(&mut self, keys: &[IdentityKey]) -> Result<()>;
    /// Records a conflict.
    fn add_conflict(&mut self, conflict: &Conflict) -> Result<()>;
    /// Deletes the conflicts involving these keys.
    fn delete_conflicts_of(&mut self, keys: &[IdentityKey]) -> Result<()>;
    /// Arms or re-arms a deadline (one per profile and waypoint).
    fn put_deadline(&mut self, deadline: &Deadline) -> Result<()>;
    /// Disarms a deadline.
    fn delete_deadline(&mut self, id: ProfileId, waypoint: &str) -> Result<()>;
    /// Records that a waypoint fired for a profile at `ts`.
    fn set_fired(&mut self, id: ProfileId, waypoint: &str, ts: Micros) -> Result<()>;
    /// Puts an action in the outbox.
    fn push_action(&mut self, action: &ActionRecord) -> Result<()>;
    /// Acknowledges an action; false if it was not pending.
    fn ack(&mut self, action_id: &str) -> Result<bool>;
    /// Deletes a profile's pending actions.
    fn delete_actions_of(&mut self, id: ProfileId) -> Result<()>;
    /// Assigns (or clears) a profile's persona.
    fn set_persona(&mut self, id: ProfileId, persona: Option<&str>) -> Result<()>;
    /// Replaces a profile's attributes.
    fn set_attributes(&mut self, id: ProfileId, attributes: &Map<String, Value>) -> Result<()>;
    /// Deletes every event with `ts < before` (retention); returns how many. Profile
    /// summaries, keys and links stay: they are aggregates, not the events themselves.
    fn delete_events_before(&mut self, before: Micros) -> Result<u64>;
    /// Removes these keys from every stored event that still carries them (events of
    /// other profiles that carried a forgotten key too); an event left without keys is
    /// deleted. Returns how many events changed.
    fn strip_keys(&mut self, keys: &[IdentityKey]) -> Result<u64>;
    /// Raises the counters so that [`Tx::next_seq`] and [`Tx::new_profile_id`] hand out
    /// at least these values next (used by imports); never lowers them.
    fn raise_counters(&mut self, next_seq: u64, next_profile: u64) -> Result<()>;
}

/// What [`forget`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Forgotten {
    /// The profile that was removed.
    pub profile: Option<ProfileId>,
    /// Its keys, as stored (hashed if the store hashes keys).
    pub keys: Vec<IdentityKey>,
    /// How many of its events were deleted.
    pub events: u64,
    /// How many events of other profiles had a forgotten key removed.
    pub scrubbed: u64,
}

/// The right to be forgotten: removes the profile of `key` with its events, keys, links,
/// conflicts, deadlines, caps, persona, attributes and pending actions, and removes its
/// keys from events of other profiles, all in the caller's transaction. `None` when the
/// key is unknown.
pub fn forget(tx: &mut dyn Tx, key: &IdentityKey) -> Result<Option<Forgotten>> {
    let Some(id) = tx.key_profile(key)? else { return Ok(None) };
    let keys = tx.keys_of(id)?;
    let events = tx.events_of(id, None)?.len() as u64;
    tx.delete_events_of(id)?;
    for d in tx.deadlines_of(id)? {
        tx.delete_deadline(id, &d.waypoint)?;
    }
    tx.delete_actions_of(id)?;
    tx.delete_links_of(&keys)?;
    tx.delete_conflicts_of(&keys)?;
    for k in &keys {
        tx.delete_key(k)?;
    }
    let scrubbed = tx.strip_keys(&keys)?;
    tx.delete_profile(id)?;
    Ok(Some(Forgotten { profile: Some(id), keys, events, scrubbed }))
}
