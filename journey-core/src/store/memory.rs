//! The in-memory store.

use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::{Arc, RwLock};

use hashbrown::HashTable;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde_json::{Map, Value};

use super::by_id::ById;
use super::due::DueHeap;
use super::extra::Extra;
use super::names::Names;
use super::{Deadline, Store, Tx};
use crate::error::{Error, Result};
use crate::identity::IdentityKey;
use crate::outbox::ActionRecord;
use crate::profile::{Conflict, EventRef, LinkEntry, LinkOutcome, ProfileId, ProfileState, TrackedEvent};
use crate::time::Micros;

/// Journeys in memory: fast, shared between threads, gone when dropped.
///
/// Writes are applied as they are made and recorded in an undo journal; a write whose
/// closure returns `Err` (or panics) is undone entirely before the lock is released, so
/// readers never see half a transaction.
#[derive(Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[derive(Default)]
struct State {
    seq: u64,
    next_profile: u64,
    keys: FxHashMap<IdentityKey, ProfileId>,
    profiles: ById<Record>,
    /// Armed deadlines by due time, earliest first, with lazy deletion: an entry whose
    /// deadline was re-armed or removed stays until it reaches the front, where every
    /// write prunes it ([`State::prune_due`]); so the front, if any, is always armed.
    due: DueHeap<(Micros, ProfileId, Arc<str>)>,
    /// Armed deadlines (the heap's live entries), to compact the heap when stale ones pile up.
    armed: usize,
    links: Vec<LinkEntry>,
    edges: Edges,
    conflicts: Vec<Conflict>,
    conflict_index: FxHashMap<IdentityKey, Vec<usize>>,
    outbox: Outbox,
    pushed: u64,
    /// How to undo the writes of the open transaction, in order.
    undo: Vec<Undo>,
    /// The counters when the open transaction began.
    saved: (u64, u64, u64),
    names: Names,
}

struct Record {
    state: ProfileState,
    keys: Vec<IdentityKey>,
    events: Vec<EventRef>,
    deadlines: Vec<Deadline>,
    /// When each waypoint last fired; the names are the store's shared copies ([`Names`]).
    fired: Vec<(Arc<str>, Micros)>,
    extra: Extra,
}

impl Record {
    fn new(state: ProfileState) -> Self {
        Record { state, keys: vec![], events: vec![], deadlines: vec![], fired: vec![], extra: Extra::default() }
    }

    /// Starts loading the cache lines tracking an event reads besides the record itself:
    /// its newest event, its deadlines and its caps.
    fn prefetch(&self) -> &Self {
        prefetch(self.events.as_ptr().wrapping_add(self.events.len().saturating_sub(1)));
        prefetch(self.deadlines.as_ptr());
        prefetch(self.fired.as_ptr());
        self
    }
}

/// The pending actions in push order: a slot per outbox number from `base` on (acked
/// ones leave a hole until the front is trimmed past it), found by id through an index
/// of `(hash of the id, number)`, so no second copy of each id is kept.
#[derive(Default)]
struct Outbox {
    /// Boxed, so that growing the queue moves pointers, not records.
    slots: VecDeque<Option<Box<ActionRecord>>>,
    /// The number of `slots[0]`.
    base: u64,
    ids: HashTable<(u64, u64)>,
}

fn id_hash(id: &str) -> u64 {
    FxBuildHasher.hash_one(id)
}

impl Outbox {
    fn get(&self, n: u64) -> Option<&ActionRecord> {
        self.slots.get(usize::try_from(n.checked_sub(self.base)?).ok()?)?.as_deref()
    }

    /// The pending actions with their numbers, oldest first.
    fn iter(&self) -> impl Iterator<Item = (u64, &ActionRecord)> {
        self.slots.iter().zip(self.base..).filter_map(|(a, n)| Some((n, a.as_deref()?)))
    }

    /// The number of the pending action with this id.
    fn find(&self, id: &str) -> Option<u64> {
        let hash = id_hash(id);
        self.ids.find(hash, |&(h, n)| h == hash && self.get(n).is_some_and(|a| a.id == id)).map(|&(_, n)| n)
    }

    fn insert(&mut self, n: u64, action: ActionRecord) {
        let hash = id_hash(&action.id);
        if self.slots.is_empty() {
            self.base = n;
        }
        while n < self.base {
            self.slots.push_front(None);
            self.base -= 1;
        }
        let at = (n - self.base) as usize;
        if at >= self.slots.len() {
            self.slots.resize_with(at + 1, || None);
        }
        self.slots[at] = Some(Box::new(action));
        self.ids.insert_unique(hash, (hash, n), |&(h, _)| h);
    }

    fn remove(&mut self, n: u64) -> Option<ActionRecord> {
        let at = usize::try_from(n.checked_sub(self.base)?).ok()?;
        let action = *self.slots.get_mut(at)?.take()?;
        if let Ok(entry) = self.ids.find_entry(id_hash(&action.id), |&(_, m)| m == n) {
            entry.remove();
        }
        while self.slots.back().is_some_and(Option::is_none) {
            self.slots.pop_back();
        }
        while self.slots.front().is_some_and(Option::is_none) {
            self.slots.pop_front();
            self.base += 1;
        }
        Some(action)
    }
}

/// Link edges in effect, by key.
type Edges = FxHashMap<IdentityKey, Vec<IdentityKey>>;

/// One inverse step of the undo journal.
enum Undo {
    /// `put_profile`: the previous summary, or `None` if the record was created.
    Profile(ProfileId, Option<ProfileState>),
    /// `delete_profile`: the record to put back.
    Record(Box<(ProfileId, Record)>),
    /// `put_key`: the key's previous profile and position there; the profile it was pushed to.
    Key(IdentityKey, Option<(ProfileId, usize)>, ProfileId),
    /// `delete_key`: the profile and position it had.
    KeyDeleted(IdentityKey, ProfileId, usize),
    /// `append_event`: the event's seq.
    Appended(ProfileId, u64),
    /// A profile's whole event list before a move, delete or rewrite.
    Events(ProfileId, Vec<EventRef>),
    /// `move_events(from, to)`: the seqs (ascending) of the events moved out of `from`,
    /// now in `to`'s list (journalled before `to`'s old list, so undone first).
    MovedOut(ProfileId, ProfileId, Vec<u64>),
    /// `append_link`: the neighbours of both keys before (`None`: no entry).
    Link(Box<[(IdentityKey, Option<Vec<IdentityKey>>); 2]>),
    /// `delete_links_of`: the whole log and edges before (rare).
    Links(Box<(Vec<LinkEntry>, Edges)>),
    /// `add_conflict`.
    Conflict,
    /// `delete_conflicts_of`: the whole list before.
    Conflicts(Vec<Conflict>),
    /// A deadline slot `(profile, waypoint)` before: absent, or at a position.
    Deadline(ProfileId, Arc<str>, Option<(usize, Deadline)>),
    /// `set_fired`: the entry's position and its previous time, or `None` if it was pushed.
    Fired(ProfileId, usize, Option<Micros>),
    /// `push_action`: its outbox number.
    Pushed(u64),
    /// `ack` / `delete_actions_of`: the actions removed.
    Removed(Vec<(u64, ActionRecord)>),
    /// `set_persona`.
    Persona(ProfileId, Option<String>),
    /// `set_attributes`.
    Attributes(ProfileId, Map<String, Value>),
}

fn missing(id: ProfileId) -> Error {
    Error::Storage { message: format!("profile {id} does not exist"), source: None }
}

impl State {
    fn record(&self, id: ProfileId) -> Result<&Record> {
        self.profiles.get(&id).ok_or_else(|| missing(id))
    }

    fn record_mut(&mut self, id: ProfileId) -> Result<&mut Record> {
        self.profiles.get_mut(&id).ok_or_else(|| missing(id))
    }

    fn insert_sorted(events: &mut Vec<EventRef>, event: EventRef) {
        let order = event.order();
        if events.last().is_none_or(|last| last.order() <= order) {
            events.push(event);
        } else {
            let at = events.partition_point(|e| e.order() <= order);
            events.insert(at, event);
        }
    }

    fn begin(&mut self) {
        self.undo.clear();
        self.saved = (self.seq, self.next_profile, self.pushed);
    }

    /// Replaces a profile's events, journalling the old list.
    fn replace_events(&mut self, id: ProfileId, events: Vec<EventRef>) -> Result<()> {
        let r = self.record_mut(id)?;
        let old = std::mem::replace(&mut r.events, events);
        self.undo.push(Undo::Events(id, old));
        Ok(())
    }

    /// Undoes the open transaction, newest step first.
    fn rollback(&mut self) {
        while let Some(step) = self.undo.pop() {
            match step {
                Undo::Profile(id, Some(old)) => {
                    if let Some(r) = self.profiles.get_mut(&id) {
                        r.state = old;
                    }
                }
                Undo::Profile(id, None) => {
                    self.profiles.remove(&id);
                }
                Undo::Record(boxed) => {
                    let (id, record) = *boxed;
                    for d in &record.deadlines {
                        self.due.push((d.due, id, d.waypoint.clone()));
                    }
                    self.armed += record.deadlines.len();
                    self.profiles.insert(id, record);
                }
                Undo::Key(key, old, new) => {
                    if let Some(r) = self.profiles.get_mut(&new) {
                        match r.keys.last() {
                            Some(last) if *last == key => {
                                r.keys.pop();
                            }
                            _ => r.keys.retain(|k| *k != key),
                        }
                    }
                    match old {
                        Some((p, at)) => {
                            if let Some(r) = self.profiles.get_mut(&p) {
                                r.keys.insert(at.min(r.keys.len()), key.clone());
                            }
                            self.keys.insert(key, p);
                        }
                        None => {
                            self.keys.remove(&key);
                        }
                    }
                }
                Undo::KeyDeleted(key, p, at) => {
                    if let Some(r) = self.profiles.get_mut(&p) {
                        r.keys.insert(at.min(r.keys.len()), key.clone());
                    }
                    self.keys.insert(key, p);
                }
                Undo::Appended(id, seq) => {
                    if let Some(r) = self.profiles.get_mut(&id)
                        && let Some(at) = r.events.iter().rposition(|e| e.seq == seq)
                    {
                        r.events.remove(at);
                    }
                }
                Undo::Events(id, old) => {
                    if let Some(r) = self.profiles.get_mut(&id) {
                        r.events = old;
                    }
                }
                Undo::MovedOut(from, to, seqs) => {
                    let mut back: Vec<EventRef> = self.profiles.get(&to).map_or_else(Vec::new, |r| {
                        r.events.iter().filter(|e| seqs.binary_search(&e.seq).is_ok()).cloned().collect()
                    });
                    for e in &mut back {
                        Arc::make_mut(e).profile = from;
                    }
                    if let Some(r) = self.profiles.get_mut(&from) {
                        r.events = back;
                    }
                }
                Undo::Link(pair) => {
                    self.links.pop();
                    for (key, old) in *pair {
                        match old {
                            Some(n) => {
                                self.edges.insert(key, n);
                            }
                            None => {
                                self.edges.remove(&key);
                            }
                        }
                    }
                }
                Undo::Links(boxed) => {
                    let (links, edges) = *boxed;
                    self.links = links;
                    self.edges = edges;
                }
                Undo::Conflict => {
                    if let Some(c) = self.conflicts.pop() {
                        for key in [&c.other, &c.key] {
                            if let Some(list) = self.conflict_index.get_mut(key) {
                                list.pop();
                                if list.is_empty() {
                                    self.conflict_index.remove(key);
                                }
                            }
                        }
                    }
                }
                Undo::Conflicts(old) => {
                    self.conflicts = old;
                    self.reindex_conflicts();
                }
                Undo::Deadline(id, waypoint, old) => {
                    if let Some(r) = self.profiles.get_mut(&id) {
                        if let Some(at) = r.deadlines.iter().position(|d| d.waypoint == waypoint) {
                            r.deadlines.remove(at);
                            self.armed -= 1;
                        }
                        if let Some((at, d)) = old {
                            // its entry may have been pruned meanwhile: a second one is harmless
                            self.due.push((d.due, id, d.waypoint.clone()));
                            r.deadlines.insert(at.min(r.deadlines.len()), d);
                            self.armed += 1;
                        }
                    }
                }
                // Undone newest first, so the entry is where `set_fired` left it.
                Undo::Fired(id, at, old) => {
                    if let Some(r) = self.profiles.get_mut(&id)
                        && at < r.fired.len()
                    {
                        match old {
                            Some(ts) => r.fired[at].1 = ts,
                            None => {
                                r.fired.remove(at);
                            }
                        }
                    }
                }
                Undo::Pushed(n) => {
                    self.outbox.remove(n);
                }
                Undo::Removed(actions) => {
                    for (n, a) in actions {
                        self.outbox.insert(n, a);
                    }
                }
                Undo::Persona(id, old) => {
                    if let Some(r) = self.profiles.get_mut(&id) {
                        r.extra.set_persona(old);
                    }
                }
                Undo::Attributes(id, old) => {
                    if let Some(r) = self.profiles.get_mut(&id) {
                        r.extra.set_attributes(old);
                    }
                }
            }
        }
        (self.seq, self.next_profile, self.pushed) = self.saved;
        self.prune_due();
    }

    /// Whether a heap entry is an armed deadline.
    fn is_armed(&self, (due, id, waypoint): &(Micros, ProfileId, Arc<str>)) -> bool {
        self.profiles.get(id).is_some_and(|r| r.deadlines.iter().any(|d| d.due == *due && same_waypoint(&d.waypoint, waypoint)))
    }

    /// Drops the stale entries at the front of the heap (so that the front, if any, is an
    /// armed deadline), and rebuilds the heap when stale entries outnumber armed ones.
    fn prune_due(&mut self) {
        while let Some(front) = self.due.peek() {
            if self.is_armed(front) {
                break;
            }
            self.due.pop();
        }
        self.compact_due();
    }

    /// After the armed deadline `(due, id, waypoint)` was removed or replaced: prunes the
    /// heap if that deadline's entry is the front, the only case in which the front can
    /// have gone stale (so most writes skip reading the front's profile).
    fn disarmed(&mut self, due: Micros, id: ProfileId, waypoint: &Arc<str>) {
        let front = self.due.peek().is_some_and(|(d, p, w)| *d == due && *p == id && same_waypoint(w, waypoint));
        if front {
            self.prune_due();
        } else {
            self.compact_due();
        }
    }

    /// Rebuilds the heap when stale entries outnumber armed ones.
    fn compact_due(&mut self) {
        if self.due.len() > 2 * self.armed + 1024 {
            let entries = self.profiles.iter().flat_map(|(id, r)| r.deadlines.iter().map(move |d| (d.due, id, d.waypoint.clone())));
            self.due = entries.collect();
        }
    }

    fn reindex_conflicts(&mut self) {
        self.conflict_index.clear();
        for (i, c) in self.conflicts.iter().enumerate() {
            for key in [&c.key, &c.other] {
                self.conflict_index.entry(key.clone()).or_default().push(i);
            }
        }
    }
}

/// Asks the CPU to start loading the cache line at `p` (a hint: it never faults, so a
/// dangling pointer of an empty `Vec` is fine; a no-op off x86-64).
#[inline(always)]
fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally and cannot fault.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Whether two waypoint ids are the same: by pointer first (the tracker shares its ids),
/// then by text.
fn same_waypoint(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// Two event lists in journey order merged into one, in journey order.
fn merge_ordered(mine: &[EventRef], theirs: Vec<EventRef>) -> Vec<EventRef> {
    let mut all = Vec::with_capacity(mine.len() + theirs.len());
    let mut mine = mine.iter().peekable();
    for e in theirs {
        while let Some(m) = mine.next_if(|m| m.order() < e.order()) {
            all.push(m.clone());
        }
        all.push(e);
    }
    all.extend(mine.cloned());
    all
}

/// Rolls the open transaction back when dropped uncommitted (an `Err` or a panic).
struct Open<'a> {
    state: &'a mut State,
    committed: bool,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.committed {
            self.state.rollback();
        }
        self.state.undo.clear();
    }
}

impl Store for MemoryStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut guard = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.begin();
        let mut open = Open { state: &mut guard, committed: false };
        let result = f(&mut *open.state);
        open.committed = result.is_ok();
        result
    }

    fn reruns_writes(&self) -> bool {
        false
    }

    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        let guard = self.state.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&*guard)
    }
}

impl Tx for State {
    fn key_profile(&self, key: &IdentityKey) -> Result<Option<ProfileId>> {
        Ok(self.keys.get(key).copied())
    }

    fn profile(&self, id: ProfileId) -> Result<Option<ProfileState>> {
        // The tracker reads a profile's summary first, then its deadlines, caps and events:
        // asking for their (scattered) cache lines now lets those misses overlap instead of
        // coming one after the other.
        Ok(self.profiles.get(&id).map(|r| r.prefetch().state))
    }

    fn keys_of(&self, id: ProfileId) -> Result<Vec<IdentityKey>> {
        Ok(self.profiles.get(&id).map(|r| r.keys.clone()).unwrap_or_default())
    }

    fn events_of(&self, id: ProfileId, last: Option<usize>) -> Result<Vec<EventRef>> {
        let Some(r) = self.profiles.get(&id) else { return Ok(vec![]) };
        let from = last.map_or(0, |n| r.events.len().saturating_sub(n));
        let events = &r.events[from..];
        // A profile's events are scattered over the heap, and cloning an `Arc` is an atomic
        // increment, which x86 runs in order: touching each event (and its name and first
        // property name, which customer context reads next) with plain loads first lets
        // their cache misses overlap instead of queueing one behind the other.
        let first_byte = |s: &str| u64::from(s.as_bytes().first().copied().unwrap_or(0));
        std::hint::black_box(events.iter().fold(0u64, |acc, e| {
            acc ^ e.seq ^ first_byte(&e.event.name) ^ e.event.properties.keys().next().map_or(0, |k| first_byte(k))
        }));
        Ok(events.to_vec())
    }

    fn profile_ids(&self) -> Result<Vec<ProfileId>> {
        let mut ids: Vec<ProfileId> = self.profiles.keys().collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn deadlines_of(&self, id: ProfileId) -> Result<Vec<Deadline>> {
        Ok(self.profiles.get(&id).map(|r| r.deadlines.clone()).unwrap_or_default())
    }

    fn visit_deadlines(&self, id: ProfileId, f: &mut dyn FnMut(&Deadline)) -> Result<()> {
        self.profiles.get(&id).into_iter().flat_map(|r| &r.deadlines).for_each(f);
        Ok(())
    }

    fn next_due(&self, now: Micros) -> Result<Option<Deadline>> {
        // The front is always armed (see `prune_due`).
        let Some((due, id, waypoint)) = self.due.peek() else { return Ok(None) };
        if *due >= now {
            return Ok(None);
        }
        Ok(self.record(*id)?.deadlines.iter().find(|d| d.due == *due && d.waypoint == *waypoint).cloned())
    }

    fn fired(&self, id: ProfileId, waypoint: &str) -> Result<Option<Micros>> {
        Ok(self.profiles.get(&id).and_then(|r| r.fired.iter().find(|(w, _)| **w == *waypoint).map(|(_, ts)| *ts)))
    }

    fn fired_of(&self, id: ProfileId) -> Result<Vec<(String, Micros)>> {
        Ok(self.profiles.get(&id).map(|r| r.fired.iter().map(|(w, ts)| (w.to_string(), *ts)).collect()).unwrap_or_default())
    }

    fn links_of(&self, keys: &[IdentityKey]) -> Result<Vec<LinkEntry>> {
        Ok(self.links.iter().filter(|l| keys.contains(&l.a) || keys.contains(&l.b)).cloned().collect())
    }

    fn linked(&self, a: &IdentityKey, b: &IdentityKey) -> Result<bool> {
        Ok(self.edges.get(a).is_some_and(|n| n.contains(b)))
    }

    fn neighbours(&self, key: &IdentityKey) -> Result<Vec<IdentityKey>> {
        Ok(self.edges.get(key).cloned().unwrap_or_default())
    }

    fn conflicts(&self) -> Result<Vec<Conflict>> {
        Ok(self.conflicts.clone())
    }

    fn conflicts_of(&self, keys: &[IdentityKey]) -> Result<Vec<Conflict>> {
        let mut at: Vec<usize> = keys.iter().filter_map(|k| self.conflict_index.get(k)).flatten().copied().collect();
        at.sort_unstable();
        at.dedup();
        Ok(at.into_iter().map(|i| self.conflicts[i].clone()).collect())
    }

    fn pending_actions(&self, limit: usize) -> Result<Vec<ActionRecord>> {
        Ok(self.outbox.iter().take(limit).map(|(_, a)| a.clone()).collect())
    }

    fn persona(&self, id: ProfileId) -> Result<Option<String>> {
        Ok(self.profiles.get(&id).and_then(|r| r.extra.persona().cloned()))
    }

    fn attributes(&self, id: ProfileId) -> Result<Map<String, Value>> {
        Ok(self.profiles.get(&id).and_then(|r| r.extra.attributes().cloned()).unwrap_or_default())
    }

    fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        let mut all: Vec<&EventRef> =
            self.profiles.values().flat_map(|r| r.events.iter()).filter(|e| e.event.ts >= from && e.event.ts < to).collect();
        all.sort_unstable_by_key(|e| e.order());
        for e in all {
            if !f(e.clone())? {
                break;
            }
        }
        Ok(())
    }

    fn links(&self, f: &mut dyn FnMut(LinkEntry) -> Result<()>) -> Result<()> {
        self.links.iter().try_for_each(|l| f(l.clone()))
    }

    fn counters(&self) -> Result<(u64, u64)> {
        Ok((self.seq, self.next_profile + 1))
    }

    /// Looks the batch's keys up and starts loading their profiles' cache lines: the
    /// lookups do not depend on each other, so their cache misses overlap here, where
    /// tracking event by event would wait for each in turn.
    fn prefetch(&self, keys: &mut dyn Iterator<Item = &IdentityKey>) -> Result<()> {
        for key in keys {
            if let Some(r) = self.keys.get(key).and_then(|id| self.profiles.get(id)) {
                prefetch(r);
                r.prefetch();
            }
        }
        Ok(())
    }

    /// Measured with `ONLY_MEMORY=1 cargo bench -p journey-core --bench sqlite` (batches of
    /// 1,000): 64 and 128 events at a time ran 9–36 % faster than the whole batch; 32 to 256 alike.
    fn prefetch_window(&self) -> usize {
        64
    }

    fn next_seq(&mut self) -> Result<u64> {
        let seq = self.seq;
        self.seq += 1;
        Ok(seq)
    }

    fn new_profile_id(&mut self) -> Result<ProfileId> {
        self.next_profile += 1;
        Ok(ProfileId(self.next_profile))
    }

    fn put_profile(&mut self, state: &ProfileState) -> Result<()> {
        let old = match self.profiles.get_mut(&state.id) {
            Some(r) => Some(std::mem::replace(&mut r.state, *state)),
            None => {
                self.profiles.insert(state.id, Record::new(*state));
                None
            }
        };
        self.undo.push(Undo::Profile(state.id, old));
        Ok(())
    }

    fn delete_profile(&mut self, id: ProfileId) -> Result<()> {
        if let Some(record) = self.profiles.remove(&id) {
            self.armed -= record.deadlines.len();
            self.undo.push(Undo::Record(Box::new((id, record))));
            self.prune_due();
        }
        Ok(())
    }

    fn put_key(&mut self, key: &IdentityKey, id: ProfileId) -> Result<()> {
        if !self.profiles.contains_key(&id) {
            return Err(missing(id));
        }
        let old = match self.keys.insert(key.clone(), id) {
            Some(old) => {
                let at = self.profiles.get_mut(&old).and_then(|r| {
                    let at = r.keys.iter().position(|k| k == key)?;
                    r.keys.remove(at);
                    Some(at)
                });
                Some((old, at.unwrap_or(usize::MAX)))
            }
            None => None,
        };
        self.record_mut(id)?.keys.push(key.clone());
        self.undo.push(Undo::Key(key.clone(), old, id));
        Ok(())
    }

    fn delete_key(&mut self, key: &IdentityKey) -> Result<()> {
        if let Some(old) = self.keys.remove(key) {
            let at = self.profiles.get_mut(&old).and_then(|r| {
                let at = r.keys.iter().position(|k| k == key)?;
                r.keys.remove(at);
                Some(at)
            });
            self.undo.push(Undo::KeyDeleted(key.clone(), old, at.unwrap_or(usize::MAX)));
        }
        Ok(())
    }

    fn append_event(&mut self, event: TrackedEvent) -> Result<()> {
        let (id, seq) = (event.profile, event.seq);
        let r = self.record_mut(id)?;
        let event = Arc::new(event);
        if r.state.latest == event.order() {
            // The tracker has put the summary first: this is the profile's newest event, so it
            // goes last without reading the previous last event (a cache miss per event).
            debug_assert!(r.events.last().is_none_or(|last| last.order() < event.order()), "a summary's latest event is its newest");
            r.events.push(event);
        } else {
            State::insert_sorted(&mut r.events, event);
        }
        self.undo.push(Undo::Appended(id, seq));
        Ok(())
    }

    fn move_events(&mut self, from: ProfileId, to: ProfileId) -> Result<()> {
        self.record(to)?;
        let mut moved = std::mem::take(&mut self.record_mut(from)?.events);
        let mut seqs: Vec<u64> = moved.iter().map(|e| e.seq).collect();
        seqs.sort_unstable();
        // Relabelled in place: an event no one else holds is not copied (one a reader or
        // the journal still holds is, so they keep seeing it as it was).
        for e in &mut moved {
            Arc::make_mut(e).profile = to;
        }
        let r = self.record_mut(to)?;
        let merged = merge_ordered(&r.events, moved);
        let old = std::mem::replace(&mut r.events, merged);
        self.undo.push(Undo::Events(to, old));
        self.undo.push(Undo::MovedOut(from, to, seqs));
        Ok(())
    }

    fn move_event(&mut self, seq: u64, from: ProfileId, to: ProfileId) -> Result<()> {
        self.record(to)?;
        let mut source = self.record(from)?.events.clone();
        let Some(at) = source.iter().position(|e| e.seq == seq) else {
            return Err(Error::Storage { message: format!("event {seq} is not in profile {from}"), source: None });
        };
        let event = source.remove(at);
        let mut target = self.record(to)?.events.clone();
        State::insert_sorted(&mut target, Arc::new(TrackedEvent { profile: to, ..(*event).clone() }));
        self.replace_events(from, source)?;
        self.replace_events(to, target)
    }

    fn delete_events_of(&mut self, id: ProfileId) -> Result<()> {
        if self.profiles.contains_key(&id) {
            self.replace_events(id, Vec::new())?;
        }
        Ok(())
    }

    fn append_link(&mut self, entry: &LinkEntry) -> Result<()> {
        let (a, b) = (&entry.a, &entry.b);
        self.undo.push(Undo::Link(Box::new([(a.clone(), self.edges.get(a).cloned()), (b.clone(), self.edges.get(b).cloned())])));
        match entry.outcome {
            LinkOutcome::Joined | LinkOutcome::Merged | LinkOutcome::Already if a != b => {
                for (x, y) in [(a, b), (b, a)] {
                    let n = self.edges.entry(x.clone()).or_default();
                    if !n.contains(y) {
                        n.push(y.clone());
                    }
                }
            }
            LinkOutcome::Removed => {
                for (x, y) in [(a, b), (b, a)] {
                    if let Some(n) = self.edges.get_mut(x) {
                        n.retain(|k| k != y);
                    }
                }
            }
            _ => {}
        }
        self.links.push(entry.clone());
        Ok(())
    }

    fn delete_links_of(&mut self, keys: &[IdentityKey]) -> Result<()> {
        self.undo.push(Undo::Links(Box::new((self.links.clone(), self.edges.clone()))));
        self.links.retain(|l| !keys.contains(&l.a) && !keys.contains(&l.b));
        for key in keys {
            for other in self.edges.remove(key).unwrap_or_default() {
                if let Some(n) = self.edges.get_mut(&other) {
                    n.retain(|k| k != key);
                }
            }
        }
        Ok(())
    }

    fn add_conflict(&mut self, conflict: &Conflict) -> Result<()> {
        for key in [&conflict.key, &conflict.other] {
            self.conflict_index.entry(key.clone()).or_default().push(self.conflicts.len());
        }
        self.conflicts.push(conflict.clone());
        self.undo.push(Undo::Conflict);
        Ok(())
    }

    fn delete_conflicts_of(&mut self, keys: &[IdentityKey]) -> Result<()> {
        let old = self.conflicts.clone();
        self.conflicts.retain(|c| !keys.contains(&c.key) && !keys.contains(&c.other));
        self.reindex_conflicts();
        self.undo.push(Undo::Conflicts(old));
        Ok(())
    }

    fn put_deadline(&mut self, deadline: &Deadline) -> Result<()> {
        let id = deadline.profile;
        let r = self.profiles.get_mut(&id).ok_or_else(|| missing(id))?;
        let old = r.deadlines.iter().position(|d| same_waypoint(&d.waypoint, &deadline.waypoint)).map(|at| (at, r.deadlines.remove(at)));
        r.deadlines.push(deadline.clone());
        self.due.push((deadline.due, id, deadline.waypoint.clone()));
        match &old {
            Some((_, replaced)) => self.disarmed(replaced.due, id, &deadline.waypoint),
            None => {
                self.armed += 1;
                self.compact_due();
            }
        }
        self.undo.push(Undo::Deadline(id, deadline.waypoint.clone(), old));
        Ok(())
    }

    fn delete_deadline(&mut self, id: ProfileId, waypoint: &str) -> Result<()> {
        let Some(r) = self.profiles.get_mut(&id) else { return Ok(()) };
        if let Some(at) = r.deadlines.iter().position(|d| &*d.waypoint == waypoint) {
            let d = r.deadlines.remove(at);
            self.armed -= 1;
            self.disarmed(d.due, id, &d.waypoint);
            self.undo.push(Undo::Deadline(id, d.waypoint.clone(), Some((at, d))));
        }
        Ok(())
    }

    fn set_fired(&mut self, id: ProfileId, waypoint: &str, ts: Micros) -> Result<()> {
        let r = self.profiles.get_mut(&id).ok_or_else(|| missing(id))?;
        let (at, old) = match r.fired.iter().position(|(w, _)| **w == *waypoint) {
            Some(at) => {
                let entry = &mut r.fired[at];
                let old = entry.1;
                entry.1 = entry.1.max(ts);
                (at, Some(old))
            }
            None => {
                r.fired.push((self.names.get(waypoint), ts));
                (r.fired.len() - 1, None)
            }
        };
        self.undo.push(Undo::Fired(id, at, old));
        Ok(())
    }

    fn push_action(&mut self, action: &ActionRecord) -> Result<()> {
        if self.outbox.find(&action.id).is_some() {
            return Ok(());
        }
        self.pushed += 1;
        self.outbox.insert(self.pushed, action.clone());
        self.undo.push(Undo::Pushed(self.pushed));
        Ok(())
    }

    fn ack(&mut self, action_id: &str) -> Result<bool> {
        let Some(n) = self.outbox.find(action_id) else { return Ok(false) };
        match self.outbox.remove(n) {
            Some(a) => {
                self.undo.push(Undo::Removed(vec![(n, a)]));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn delete_actions_of(&mut self, id: ProfileId) -> Result<()> {
        let gone: Vec<u64> = self.outbox.iter().filter(|(_, a)| a.profile == id).map(|(n, _)| n).collect();
        let mut removed = Vec::with_capacity(gone.len());
        for n in gone {
            if let Some(a) = self.outbox.remove(n) {
                removed.push((n, a));
            }
        }
        self.undo.push(Undo::Removed(removed));
        Ok(())
    }

    fn set_persona(&mut self, id: ProfileId, persona: Option<&str>) -> Result<()> {
        let r = self.record_mut(id)?;
        let old = r.extra.set_persona(persona.map(str::to_string));
        self.undo.push(Undo::Persona(id, old));
        Ok(())
    }

    fn set_attributes(&mut self, id: ProfileId, attributes: &Map<String, Value>) -> Result<()> {
        let r = self.record_mut(id)?;
        let old = r.extra.set_attributes(attributes.clone());
        self.undo.push(Undo::Attributes(id, old));
        Ok(())
    }

    fn delete_events_before(&mut self, before: Micros) -> Result<u64> {
        let affected: Vec<ProfileId> =
            self.profiles.iter().filter(|(_, r)| r.events.first().is_some_and(|e| e.event.ts < before)).map(|(id, _)| id).collect();
        let mut deleted = 0;
        for id in affected {
            let events = self.record(id)?.events.clone();
            let cut = events.partition_point(|e| e.event.ts < before);
            deleted += cut as u64;
            self.replace_events(id, events[cut..].to_vec())?;
        }
        Ok(deleted)
    }

    fn strip_keys(&mut self, keys: &[IdentityKey]) -> Result<u64> {
        let affected: Vec<ProfileId> =
            self.profiles.iter().filter(|(_, r)| r.events.iter().any(|e| e.event.keys.iter().any(|k| keys.contains(k)))).map(|(id, _)| id).collect();
        let mut changed = 0;
        for id in affected {
            let mut events = Vec::new();
            for e in &self.record(id)?.events {
                if !e.event.keys.iter().any(|k| keys.contains(k)) {
                    events.push(e.clone());
                    continue;
                }
                changed += 1;
                let mut stripped = (**e).clone();
                stripped.event.keys.retain(|k| !keys.contains(k));
                if !stripped.event.keys.is_empty() {
                    events.push(Arc::new(stripped));
                }
            }
            self.replace_events(id, events)?;
        }
        Ok(changed)
    }

    fn raise_counters(&mut self, next_seq: u64, next_profile: u64) -> Result<()> {
        self.seq = self.seq.max(next_seq);
        self.next_profile = self.next_profile.max(next_profile.saturating_sub(1));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline(profile: ProfileId, waypoint: &Arc<str>, due: Micros) -> Deadline {
        Deadline { profile, waypoint: waypoint.clone(), armed_at: 0, due, trigger_seq: 0, trigger_event: "e".into() }
    }

    fn profile(store: &MemoryStore) -> ProfileId {
        let mut id = None;
        store
            .write(&mut |tx| {
                let p = tx.new_profile_id()?;
                tx.put_profile(&ProfileState::new(p, crate::identity::IdentityLevel::Anonymous))?;
                id = Some(p);
                Ok(())
            })
            .unwrap();
        id.unwrap()
    }

    fn next_due(store: &MemoryStore, now: Micros) -> Option<(ProfileId, Micros)> {
        let mut due = None;
        store
            .read(&mut |tx| {
                due = tx.next_due(now)?.map(|d| (d.profile, d.due));
                Ok(())
            })
            .unwrap();
        due
    }

    /// Re-arming leaves stale entries behind in the due heap: they never come out of
    /// `next_due`, and the heap is compacted before they pile up.
    #[test]
    fn rearmed_deadlines_leave_no_trace() {
        let store = MemoryStore::new();
        let (a, b) = (profile(&store), profile(&store));
        let w: Arc<str> = "cart".into();
        for due in (1..=10_000).rev() {
            store.write(&mut |tx| tx.put_deadline(&deadline(a, &w, 100 + due))).unwrap();
        }
        store.write(&mut |tx| tx.put_deadline(&deadline(b, &w, 50_000))).unwrap();
        assert!(store.state.read().unwrap().due.len() <= 2 * 2 + 1024, "compacted");
        assert_eq!(next_due(&store, 101), None);
        assert_eq!(next_due(&store, 102), Some((a, 101)), "only the last arming counts");
        store.write(&mut |tx| tx.delete_deadline(a, "cart")).unwrap();
        assert_eq!(next_due(&store, i64::MAX), Some((b, 50_000)));
    }

    /// A deadline removed in a transaction that fails is armed again, and still falls due.
    #[test]
    fn a_rolled_back_removal_rearms_the_deadline() {
        let store = MemoryStore::new();
        let a = profile(&store);
        let w: Arc<str> = "cart".into();
        store.write(&mut |tx| tx.put_deadline(&deadline(a, &w, 10))).unwrap();
        let failed = store.write(&mut |tx| {
            tx.delete_deadline(a, "cart")?;
            tx.put_deadline(&deadline(a, &w, 20))?;
            tx.delete_deadline(a, "cart")?;
            Err(Error::Storage { message: "injected".into(), source: None })
        });
        assert!(failed.is_err());
        assert_eq!(next_due(&store, 11), Some((a, 10)));
        let failed_delete = store.write(&mut |tx| {
            tx.delete_profile(a)?;
            Err(Error::Storage { message: "injected".into(), source: None })
        });
        assert!(failed_delete.is_err());
        assert_eq!(next_due(&store, 11), Some((a, 10)), "a rolled-back profile deletion keeps its deadlines");
    }

    /// Removing or re-arming a deadline behind the front leaves a stale entry there; the
    /// front stays right, and the stale entry is skipped once it comes to the front.
    #[test]
    fn deadlines_removed_behind_the_front_are_skipped_later() {
        let store = MemoryStore::new();
        let (a, b, c) = (profile(&store), profile(&store), profile(&store));
        let w: Arc<str> = "cart".into();
        for (p, due) in [(a, 10), (b, 20), (c, 30)] {
            store.write(&mut |tx| tx.put_deadline(&deadline(p, &w, due))).unwrap();
        }
        store.write(&mut |tx| tx.delete_deadline(b, "cart")).unwrap();
        store.write(&mut |tx| tx.put_deadline(&deadline(c, &w, 40))).unwrap();
        assert_eq!(next_due(&store, i64::MAX), Some((a, 10)));
        store.write(&mut |tx| tx.delete_deadline(a, "cart")).unwrap();
        assert_eq!(next_due(&store, 40), None, "b's removed and c's re-armed entries are gone");
        assert_eq!(next_due(&store, 41), Some((c, 40)));
    }

    /// Arming, re-arming, removing and deleting profiles, in transactions that commit or
    /// fail (and so roll back), keep the due heap right: after every write its front is
    /// the earliest armed deadline, every armed deadline has an entry, and it stays compact.
    #[test]
    fn the_due_heap_follows_every_write_and_rollback() {
        let store = MemoryStore::new();
        let profiles: Vec<ProfileId> = (0..4).map(|_| profile(&store)).collect();
        let names: [Arc<str>; 2] = ["cart".into(), "wait".into()];
        let mut seed = 11u64;
        let mut next = move |n: u64| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for _ in 0..3000 {
            let ops: Vec<(u64, usize, usize, Micros)> = (0..1 + next(4)).map(|_| (next(10), next(4) as usize, next(2) as usize, 1 + next(50) as Micros)).collect();
            let fail = next(4) == 0;
            let result = store.write(&mut |tx| {
                for &(op, p, w, due) in &ops {
                    match op {
                        // (a profile deleted earlier in the transaction has nothing to arm)
                        0..=5 if tx.profile(profiles[p])?.is_some() => tx.put_deadline(&deadline(profiles[p], &names[w], due))?,
                        0..=5 => {}
                        6..=8 => tx.delete_deadline(profiles[p], &names[w])?,
                        _ => tx.delete_profile(profiles[p])?,
                    }
                }
                if fail { Err(Error::Storage { message: "injected".into(), source: None }) } else { Ok(()) }
            });
            assert_eq!(result.is_err(), fail);
            let state = store.state.read().unwrap();
            let armed: Vec<(Micros, ProfileId, Arc<str>)> = state.profiles.iter().flat_map(|(id, r)| r.deadlines.iter().map(move |d| (d.due, id, d.waypoint.clone()))).collect();
            assert_eq!(armed.len(), state.armed);
            assert!(armed.iter().all(|a| state.due.iter().any(|e| e == a)), "every armed deadline has an entry");
            assert_eq!(state.due.peek().cloned(), armed.iter().min().cloned(), "the front is the earliest armed deadline");
            assert!(state.due.len() <= 2 * state.armed + 1024 + 1, "compacted");
            drop(state);
            // Deleted profiles come back, empty, for the next rounds.
            store
                .write(&mut |tx| {
                    for &p in &profiles {
                        if tx.profile(p)?.is_none() {
                            tx.put_profile(&ProfileState::new(p, crate::identity::IdentityLevel::Anonymous))?;
                        }
                    }
                    Ok(())
                })
                .unwrap();
        }
    }

    fn action(id: &str, profile: ProfileId) -> ActionRecord {
        ActionRecord {
            id: id.into(),
            profile,
            waypoint: "w".into(),
            outcome: crate::outbox::Outcome::Reached,
            kind: crate::vocabulary::ActionKind::Sms,
            payload: Default::default(),
            ts: 0,
            why: crate::outbox::Explanation { event_seq: 0, event: "e".into(), condition: Arc::new(crate::waypoint::Condition::Event("e".into())), deadline: None },
        }
    }

    fn pending(store: &MemoryStore) -> Vec<String> {
        let mut ids = vec![];
        store
            .read(&mut |tx| {
                ids = tx.pending_actions(usize::MAX)?.into_iter().map(|a| a.id).collect();
                Ok(())
            })
            .unwrap();
        ids
    }

    /// The outbox keeps push order through acks in any order and rolled-back acks, and
    /// finds every pending action by id.
    #[test]
    fn the_outbox_keeps_push_order_through_acks_and_rollbacks() {
        let store = MemoryStore::new();
        let p = profile(&store);
        store.write(&mut |tx| ["a", "b", "c", "a"].iter().try_for_each(|id| tx.push_action(&action(id, p)))).unwrap();
        assert_eq!(pending(&store), ["a", "b", "c"], "a repeated id is delivered once");
        let mut acked = vec![];
        store
            .write(&mut |tx| {
                acked = vec![tx.ack("b")?, tx.ack("x")?];
                Ok(())
            })
            .unwrap();
        assert_eq!(acked, [true, false]);
        store.write(&mut |tx| tx.ack("a").map(drop)).unwrap();
        assert_eq!(pending(&store), ["c"]);
        let failed = store.write(&mut |tx| {
            tx.push_action(&action("d", p))?;
            tx.ack("c")?;
            Err(Error::Storage { message: "injected".into(), source: None })
        });
        assert!(failed.is_err());
        assert_eq!(pending(&store), ["c"], "the failed write left nothing behind");
        store.write(&mut |tx| tx.push_action(&action("d", p))).unwrap();
        let failed = store.write(&mut |tx| {
            tx.ack("c")?;
            tx.ack("d")?;
            Err(Error::Storage { message: "injected".into(), source: None })
        });
        assert!(failed.is_err());
        assert_eq!(pending(&store), ["c", "d"]);
        store.write(&mut |tx| tx.ack("d").map(drop)).unwrap();
        store.write(&mut |tx| tx.ack("c").map(drop)).unwrap();
        assert!(pending(&store).is_empty());
        store.write(&mut |tx| tx.push_action(&action("e", p))).unwrap();
        assert_eq!(pending(&store), ["e"]);
    }
}
