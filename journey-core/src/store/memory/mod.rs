//! The in-memory store: every profile's record in memory behind one lock, writes
//! applied in place with an undo journal ([`undo`]), the outbox in push order
//! ([`outbox`]), the transaction's operations in [`tx`].

use std::sync::{Arc, RwLock};

use rustc_hash::FxHashMap;

use super::by_id::ById;
use super::due::DueHeap;
use super::extra::Extra;
use super::names::Names;
use super::{Deadline, Store, Tx};
use crate::error::{Error, Result};
use crate::identity::IdentityKey;
use crate::profile::{Conflict, EventRef, LinkEntry, ProfileId, ProfileState};
use crate::time::Micros;

mod outbox;
mod tx;
mod undo;
#[cfg(test)]
mod tests;

use outbox::Outbox;
use undo::Undo;

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

/// Link edges in effect, by key.
type Edges = FxHashMap<IdentityKey, Vec<IdentityKey>>;

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

