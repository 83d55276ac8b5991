//! Records by profile id, for the stores that keep profiles in memory.

use rustc_hash::FxHashMap;

use crate::profile::ProfileId;

/// Ids more than this far past the dense range go to the map instead of growing it.
const DENSE_GAP: u64 = 1 << 20;

/// Slots per page of the dense range.
const PAGE: usize = 256;

/// Records by profile id. Stores hand ids out in sequence, so an id indexes pages of slots
/// directly: a lookup hashes nothing and touches one cache line fewer than a hash map's,
/// and growing adds a page, never rehashing nor copying the records already there (a
/// `realloc` of one large vector copies it with some allocators). Ids far past the ones in
/// use (imported from elsewhere) are kept in a map, so a stray large id costs no memory.
pub(crate) struct ById<R> {
    /// Slot `i % PAGE` of page `i / PAGE` holds the record of `ProfileId(i)`, if any.
    dense: Vec<Box<[Option<R>]>>,
    /// Records whose ids are past the dense range.
    sparse: FxHashMap<ProfileId, R>,
    len: usize,
}

impl<R> Default for ById<R> {
    fn default() -> Self {
        ById { dense: Vec::new(), sparse: FxHashMap::default(), len: 0 }
    }
}

impl<R> ById<R> {
    /// The number of ids in the dense range.
    fn dense_len(&self) -> usize {
        self.dense.len() * PAGE
    }

    /// The page and slot of `id`, if it is in the dense range.
    fn slot(&self, id: ProfileId) -> Option<(usize, usize)> {
        usize::try_from(id.0).ok().filter(|&i| i < self.dense_len()).map(|i| (i / PAGE, i % PAGE))
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get(&self, id: &ProfileId) -> Option<&R> {
        match self.slot(*id) {
            Some((p, i)) => self.dense[p][i].as_ref(),
            None => self.sparse.get(id),
        }
    }

    pub fn get_mut(&mut self, id: &ProfileId) -> Option<&mut R> {
        match self.slot(*id) {
            Some((p, i)) => self.dense[p][i].as_mut(),
            None => self.sparse.get_mut(id),
        }
    }

    pub fn contains_key(&self, id: &ProfileId) -> bool {
        self.get(id).is_some()
    }

    /// Puts a record, returning the one it replaced.
    pub fn insert(&mut self, id: ProfileId, record: R) -> Option<R> {
        let limit = (self.dense_len() as u64).saturating_add(DENSE_GAP);
        if self.slot(id).is_none() && id.0 < limit {
            self.grow_to(id.0 as usize + 1);
        }
        let old = match self.slot(id) {
            Some((p, i)) => self.dense[p][i].replace(record),
            None => self.sparse.insert(id, record),
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// The record of `id`, put there by `make` if there was none.
    pub fn get_or_insert_with(&mut self, id: ProfileId, make: impl FnOnce() -> R) -> &mut R {
        if !self.contains_key(&id) {
            self.insert(id, make());
        }
        self.get_mut(&id).expect("just inserted")
    }

    pub fn remove(&mut self, id: &ProfileId) -> Option<R> {
        let old = match self.slot(*id) {
            Some((p, i)) => self.dense[p][i].take(),
            None => self.sparse.remove(id),
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Every record with its id: ids in the dense range ascending, then the others.
    pub fn iter(&self) -> impl Iterator<Item = (ProfileId, &R)> {
        let dense = self.dense.iter().flat_map(|page| page.iter()).enumerate().filter_map(|(i, r)| Some((ProfileId(i as u64), r.as_ref()?)));
        dense.chain(self.sparse.iter().map(|(&id, r)| (id, r)))
    }

    pub fn keys(&self) -> impl Iterator<Item = ProfileId> + '_ {
        self.iter().map(|(id, _)| id)
    }

    pub fn values(&self) -> impl Iterator<Item = &R> {
        self.iter().map(|(_, r)| r)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut R> {
        self.dense.iter_mut().flat_map(|page| page.iter_mut()).flatten().chain(self.sparse.values_mut())
    }

    /// Grows the dense range by whole pages to at least `len` slots, moving in the map's
    /// records that now fall inside it.
    fn grow_to(&mut self, len: usize) {
        while self.dense_len() < len {
            self.dense.push((0..PAGE).map(|_| None).collect());
        }
        if !self.sparse.is_empty() {
            let inside: Vec<ProfileId> = self.sparse.keys().copied().filter(|id| id.0 < self.dense_len() as u64).collect();
            for id in inside {
                let record = self.sparse.remove(&id);
                let (p, i) = self.slot(id).expect("inside the dense range");
                self.dense[p][i] = record;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_ids_behave_like_a_map() {
        let mut by_id = ById::default();
        let mut model = std::collections::BTreeMap::new();
        // Ids past the dense range go to the map; growing the range over them moves them in.
        let ids = [1u64, 2, 70, 5_000_000_000, 3, 1 << 40, 2, 0, 2_500_000, 3_000_000, 1_000_000, 1_500_000, 2_900_000, 2_540_000];
        for (n, &id) in ids.iter().enumerate() {
            assert_eq!(by_id.insert(ProfileId(id), n), model.insert(id, n), "insert {id}");
            assert_eq!(by_id.len(), model.len());
        }
        assert!(by_id.sparse.keys().all(|id| id.0 >= by_id.dense_len() as u64), "the map holds only ids past the pages");
        assert!(by_id.dense_len() > 2_540_000 && !by_id.sparse.contains_key(&ProfileId(2_500_000)), "2,500,000 moved in");
        assert!(by_id.dense_len() < 8 << 20, "a stray large id does not allocate up to it");
        assert_eq!(by_id.remove(&ProfileId(70)), model.remove(&70));
        assert_eq!(by_id.remove(&ProfileId(70)), None);
        assert_eq!(by_id.remove(&ProfileId(1 << 40)), model.remove(&(1 << 40)));
        *by_id.get_or_insert_with(ProfileId(9), || 99) += 1;
        model.insert(9, 100);
        for (&id, &n) in &model {
            assert_eq!(by_id.get(&ProfileId(id)), Some(&n), "get {id}");
        }
        assert_eq!(by_id.get(&ProfileId(4)), None);
        assert!(!by_id.contains_key(&ProfileId(u64::MAX)));
        let mut all: Vec<(u64, usize)> = by_id.iter().map(|(id, &n)| (id.0, n)).collect();
        all.sort_unstable();
        assert_eq!(all, model.iter().map(|(&id, &n)| (id, n)).collect::<Vec<_>>());
        assert_eq!(by_id.len(), model.len());
    }
}
