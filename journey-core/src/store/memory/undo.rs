//! The memory store's undo journal: each write records how to undo itself, and a
//! transaction that fails is undone step by step, newest first.

use std::sync::Arc;

use serde_json::{Map, Value};

use super::{Edges, Record, State};
use crate::error::Result;
use crate::identity::IdentityKey;
use crate::outbox::ActionRecord;
use crate::profile::{Conflict, EventRef, LinkEntry, ProfileId, ProfileState};
use crate::store::Deadline;
use crate::time::Micros;

/// One inverse step of the undo journal.
pub(super) enum Undo {
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

impl State {
    pub(super) fn begin(&mut self) {
        self.undo.clear();
        self.saved = (self.seq, self.next_profile, self.pushed);
    }

    /// Replaces a profile's events, journalling the old list.
    pub(super) fn replace_events(&mut self, id: ProfileId, events: Vec<EventRef>) -> Result<()> {
        let r = self.record_mut(id)?;
        let old = std::mem::replace(&mut r.events, events);
        self.undo.push(Undo::Events(id, old));
        Ok(())
    }

    /// Undoes the open transaction, newest step first.
    pub(super) fn rollback(&mut self) {
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
}
