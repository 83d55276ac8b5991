//! The memory store's outbox: pending actions in push order, found by id.

use std::collections::VecDeque;
use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

use crate::outbox::ActionRecord;

/// The pending actions in push order: a slot per outbox number from `base` on (acked
/// ones leave a hole until the front is trimmed past it), found by id through an index
/// of `(hash of the id, number)`, so no second copy of each id is kept.
#[derive(Default)]
pub(super) struct Outbox {
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
    pub(super) fn get(&self, n: u64) -> Option<&ActionRecord> {
        self.slots.get(usize::try_from(n.checked_sub(self.base)?).ok()?)?.as_deref()
    }

    /// The pending actions with their numbers, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = (u64, &ActionRecord)> {
        self.slots.iter().zip(self.base..).filter_map(|(a, n)| Some((n, a.as_deref()?)))
    }

    /// The number of the pending action with this id.
    pub(super) fn find(&self, id: &str) -> Option<u64> {
        let hash = id_hash(id);
        self.ids.find(hash, |&(h, n)| h == hash && self.get(n).is_some_and(|a| a.id == id)).map(|&(_, n)| n)
    }

    pub(super) fn insert(&mut self, n: u64, action: ActionRecord) {
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

    pub(super) fn remove(&mut self, n: u64) -> Option<ActionRecord> {
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
