//! The in-memory store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use super::{Deadline, Store, Tx};
use crate::error::{Error, Result};
use crate::identity::IdentityKey;
use crate::outbox::ActionRecord;
use crate::profile::{Conflict, EventRef, LinkEntry, LinkOutcome, ProfileId, ProfileState, TrackedEvent};
use crate::time::Micros;

/// Journeys in memory: fast, shared between threads, gone when dropped.
///
/// Writes are applied as they are made; the tracker checks everything that can fail
/// before its first write, and memory itself cannot fail, so a transaction is never
/// left half-applied.
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

struct State {
    seq: u64,
    next_profile: u64,
    keys: FxHashMap<IdentityKey, ProfileId>,
    profiles: FxHashMap<ProfileId, Record>,
    due: BTreeSet<(Micros, ProfileId, Arc<str>)>,
    /// The earliest due time in `due` (`Micros::MAX` when empty): spares a tree walk per event.
    earliest: Micros,
    links: Vec<LinkEntry>,
    edges: FxHashMap<IdentityKey, Vec<IdentityKey>>,
    conflicts: Vec<Conflict>,
    conflict_index: FxHashMap<IdentityKey, Vec<usize>>,
    outbox: BTreeMap<u64, ActionRecord>,
    outbox_ids: FxHashMap<String, u64>,
    pushed: u64,
}

impl Default for State {
    fn default() -> Self {
        State {
            seq: 0,
            next_profile: 0,
            keys: FxHashMap::default(),
            profiles: FxHashMap::default(),
            due: BTreeSet::new(),
            earliest: Micros::MAX,
            links: Vec::new(),
            edges: FxHashMap::default(),
            conflicts: Vec::new(),
            conflict_index: FxHashMap::default(),
            outbox: BTreeMap::new(),
            outbox_ids: FxHashMap::default(),
            pushed: 0,
        }
    }
}

struct Record {
    state: ProfileState,
    keys: Vec<IdentityKey>,
    events: Vec<EventRef>,
    deadlines: Vec<Deadline>,
    fired: Vec<(String, Micros)>,
    persona: Option<String>,
    attributes: Map<String, Value>,
}

impl Record {
    fn new(state: ProfileState) -> Self {
        Record { state, keys: vec![], events: vec![], deadlines: vec![], fired: vec![], persona: None, attributes: Map::new() }
    }
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
}

impl Store for MemoryStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        let mut guard = self.state.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut *guard)
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
        Ok(self.profiles.get(&id).map(|r| r.state))
    }

    fn keys_of(&self, id: ProfileId) -> Result<Vec<IdentityKey>> {
        Ok(self.profiles.get(&id).map(|r| r.keys.clone()).unwrap_or_default())
    }

    fn events_of(&self, id: ProfileId, last: Option<usize>) -> Result<Vec<EventRef>> {
        let Some(r) = self.profiles.get(&id) else { return Ok(vec![]) };
        let from = last.map_or(0, |n| r.events.len().saturating_sub(n));
        Ok(r.events[from..].to_vec())
    }

    fn profile_ids(&self) -> Result<Vec<ProfileId>> {
        let mut ids: Vec<ProfileId> = self.profiles.keys().copied().collect();
        ids.sort_unstable();
        Ok(ids)
    }

    fn deadlines_of(&self, id: ProfileId) -> Result<Vec<Deadline>> {
        Ok(self.profiles.get(&id).map(|r| r.deadlines.clone()).unwrap_or_default())
    }

    fn next_due(&self, now: Micros) -> Result<Option<Deadline>> {
        if self.earliest >= now {
            return Ok(None);
        }
        let Some((due, id, waypoint)) = self.due.first() else { return Ok(None) };
        if *due >= now {
            return Ok(None);
        }
        Ok(self.record(*id)?.deadlines.iter().find(|d| d.waypoint == *waypoint).cloned())
    }

    fn fired(&self, id: ProfileId, waypoint: &str) -> Result<Option<Micros>> {
        Ok(self.profiles.get(&id).and_then(|r| r.fired.iter().find(|(w, _)| w == waypoint).map(|(_, ts)| *ts)))
    }

    fn fired_of(&self, id: ProfileId) -> Result<Vec<(String, Micros)>> {
        Ok(self.profiles.get(&id).map(|r| r.fired.clone()).unwrap_or_default())
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
        Ok(self.outbox.values().take(limit).cloned().collect())
    }

    fn persona(&self, id: ProfileId) -> Result<Option<String>> {
        Ok(self.profiles.get(&id).and_then(|r| r.persona.clone()))
    }

    fn attributes(&self, id: ProfileId) -> Result<Map<String, Value>> {
        Ok(self.profiles.get(&id).map(|r| r.attributes.clone()).unwrap_or_default())
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
        self.profiles.entry(state.id).and_modify(|r| r.state = *state).or_insert_with(|| Record::new(*state));
        Ok(())
    }

    fn delete_profile(&mut self, id: ProfileId) -> Result<()> {
        self.profiles.remove(&id);
        Ok(())
    }

    fn put_key(&mut self, key: &IdentityKey, id: ProfileId) -> Result<()> {
        if let Some(old) = self.keys.insert(key.clone(), id)
            && let Some(r) = self.profiles.get_mut(&old)
        {
            r.keys.retain(|k| k != key);
        }
        self.record_mut(id)?.keys.push(key.clone());
        Ok(())
    }

    fn delete_key(&mut self, key: &IdentityKey) -> Result<()> {
        if let Some(old) = self.keys.remove(key)
            && let Some(r) = self.profiles.get_mut(&old)
        {
            r.keys.retain(|k| k != key);
        }
        Ok(())
    }

    fn append_event(&mut self, event: TrackedEvent) -> Result<()> {
        let r = self.record_mut(event.profile)?;
        State::insert_sorted(&mut r.events, Arc::new(event));
        Ok(())
    }

    fn move_events(&mut self, from: ProfileId, to: ProfileId) -> Result<()> {
        let moved = std::mem::take(&mut self.record_mut(from)?.events);
        let target = self.record_mut(to)?;
        let mut all = std::mem::take(&mut target.events);
        all.extend(moved.into_iter().map(|e| Arc::new(TrackedEvent { profile: to, ..(*e).clone() })));
        all.sort_by_key(|e| e.order());
        target.events = all;
        Ok(())
    }

    fn move_event(&mut self, seq: u64, from: ProfileId, to: ProfileId) -> Result<()> {
        let source = self.record_mut(from)?;
        let Some(at) = source.events.iter().position(|e| e.seq == seq) else {
            return Err(Error::Storage { message: format!("event {seq} is not in profile {from}"), source: None });
        };
        let event = source.events.remove(at);
        let moved = Arc::new(TrackedEvent { profile: to, ..(*event).clone() });
        State::insert_sorted(&mut self.record_mut(to)?.events, moved);
        Ok(())
    }

    fn delete_events_of(&mut self, id: ProfileId) -> Result<()> {
        if let Some(r) = self.profiles.get_mut(&id) {
            r.events.clear();
        }
        Ok(())
    }

    fn append_link(&mut self, entry: &LinkEntry) -> Result<()> {
        let (a, b) = (&entry.a, &entry.b);
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
        Ok(())
    }

    fn delete_conflicts_of(&mut self, keys: &[IdentityKey]) -> Result<()> {
        self.conflicts.retain(|c| !keys.contains(&c.key) && !keys.contains(&c.other));
        self.conflict_index.clear();
        for (i, c) in self.conflicts.iter().enumerate() {
            for key in [&c.key, &c.other] {
                self.conflict_index.entry(key.clone()).or_default().push(i);
            }
        }
        Ok(())
    }

    fn put_deadline(&mut self, deadline: &Deadline) -> Result<()> {
        self.delete_deadline(deadline.profile, &deadline.waypoint)?;
        self.due.insert((deadline.due, deadline.profile, deadline.waypoint.clone()));
        self.earliest = self.earliest.min(deadline.due);
        self.record_mut(deadline.profile)?.deadlines.push(deadline.clone());
        Ok(())
    }

    fn delete_deadline(&mut self, id: ProfileId, waypoint: &str) -> Result<()> {
        let Some(r) = self.profiles.get_mut(&id) else { return Ok(()) };
        if let Some(at) = r.deadlines.iter().position(|d| &*d.waypoint == waypoint) {
            let d = r.deadlines.remove(at);
            self.due.remove(&(d.due, id, d.waypoint));
            if d.due <= self.earliest {
                self.earliest = self.due.first().map_or(Micros::MAX, |(due, _, _)| *due);
            }
        }
        Ok(())
    }

    fn set_fired(&mut self, id: ProfileId, waypoint: &str, ts: Micros) -> Result<()> {
        let r = self.record_mut(id)?;
        match r.fired.iter_mut().find(|(w, _)| w == waypoint) {
            Some(entry) => entry.1 = entry.1.max(ts),
            None => r.fired.push((waypoint.to_string(), ts)),
        }
        Ok(())
    }

    fn push_action(&mut self, action: &ActionRecord) -> Result<()> {
        if self.outbox_ids.contains_key(&action.id) {
            return Ok(());
        }
        self.pushed += 1;
        self.outbox_ids.insert(action.id.clone(), self.pushed);
        self.outbox.insert(self.pushed, action.clone());
        Ok(())
    }

    fn ack(&mut self, action_id: &str) -> Result<bool> {
        match self.outbox_ids.remove(action_id) {
            Some(n) => Ok(self.outbox.remove(&n).is_some()),
            None => Ok(false),
        }
    }

    fn delete_actions_of(&mut self, id: ProfileId) -> Result<()> {
        let gone: Vec<u64> = self.outbox.iter().filter(|(_, a)| a.profile == id).map(|(n, _)| *n).collect();
        for n in gone {
            if let Some(a) = self.outbox.remove(&n) {
                self.outbox_ids.remove(&a.id);
            }
        }
        Ok(())
    }

    fn set_persona(&mut self, id: ProfileId, persona: Option<&str>) -> Result<()> {
        self.record_mut(id)?.persona = persona.map(str::to_string);
        Ok(())
    }

    fn set_attributes(&mut self, id: ProfileId, attributes: &Map<String, Value>) -> Result<()> {
        self.record_mut(id)?.attributes = attributes.clone();
        Ok(())
    }
}
