//! String interning: every distinct string (identity key, event name, channel, department)
//! becomes a dense `u32` id, so the analytics work on integers only.
//!
//! The strings live in one byte arena (no allocation per string); the hash table holds ids.

use std::hash::Hasher;

use hashbrown::HashTable;
use rustc_hash::FxHasher;

/// The id meaning "none" (a null department, an off-map event...).
pub const NONE: u32 = u32::MAX;

/// A set of distinct strings numbered `0..len()` in order of first appearance.
#[derive(Clone, Default)]
pub struct Interner {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    hashes: Vec<u64>,
    table: HashTable<u32>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner").field("len", &self.len()).finish()
    }
}

#[inline]
fn hash_bytes(s: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(s);
    h.write_usize(s.len());
    h.finish()
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty interner with room for `strings` strings of `bytes` bytes in all.
    pub fn with_capacity(strings: usize, bytes: usize) -> Self {
        Interner {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(strings),
            hashes: Vec::with_capacity(strings),
            table: HashTable::with_capacity(strings),
        }
    }

    /// The number of distinct strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether it holds no string.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    #[inline]
    fn bytes_of(&self, id: u32) -> &[u8] {
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// The string with this id. Panics if the id is out of range.
    #[inline]
    pub fn get(&self, id: u32) -> &str {
        // SAFETY: only whole `&str`s are ever appended to the arena, so every span is valid UTF-8.
        unsafe { std::str::from_utf8_unchecked(self.bytes_of(id)) }
    }

    /// The id of a string, if it is interned.
    pub fn lookup(&self, s: &str) -> Option<u32> {
        let h = hash_bytes(s.as_bytes());
        self.table.find(h, |&id| self.bytes_of(id) == s.as_bytes()).copied()
    }

    /// The id of a string, interning it if new.
    #[inline]
    pub fn intern(&mut self, s: &str) -> u32 {
        let h = hash_bytes(s.as_bytes());
        let (bytes, ends, hashes) = (&mut self.bytes, &mut self.ends, &mut self.hashes);
        let span = |id: u32| {
            let i = id as usize;
            let start = if i == 0 { 0 } else { ends[i - 1] };
            start..ends[i]
        };
        if let Some(&id) = self.table.find(h, |&id| &bytes[span(id)] == s.as_bytes()) {
            return id;
        }
        let id = u32::try_from(ends.len()).ok().filter(|&i| i != NONE).expect("more than 2^32 - 1 distinct strings");
        bytes.extend_from_slice(s.as_bytes());
        ends.push(bytes.len());
        hashes.push(h);
        let hashes = &self.hashes;
        self.table.insert_unique(h, id, |&i| hashes[i as usize]);
        id
    }

    /// Interns every string of `other` and returns, for each id of `other`, its id here.
    pub fn absorb(&mut self, other: &Interner) -> Vec<u32> {
        (0..other.len() as u32).map(|i| self.intern(other.get(i))).collect()
    }

    /// Every string, in id order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len() as u32).map(move |i| self.get(i))
    }

    /// The ids sorted by their strings, byte-wise.
    pub fn sorted_ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = (0..self.len() as u32).collect();
        par_sort_by_key_bytes(&mut ids, |&i| self.bytes_of(i));
        ids
    }
}

/// Serialised as the list of its strings, in id order (so ids survive a round trip).
impl serde::Serialize for Interner {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

/// Read back from the list of its strings; a repeated string is refused (ids would shift).
impl<'de> serde::Deserialize<'de> for Interner {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let strings: Vec<String> = serde::Deserialize::deserialize(d)?;
        let mut out = Interner::with_capacity(strings.len(), strings.iter().map(String::len).sum());
        for (i, s) in strings.iter().enumerate() {
            if out.intern(s) as usize != i {
                return Err(serde::de::Error::custom(format!("repeated label {s:?} at index {i}")));
            }
        }
        Ok(out)
    }
}

/// Sorts ids by a byte-string key, using two threads for large inputs.
fn par_sort_by_key_bytes<'a, F: Fn(&u32) -> &'a [u8] + Sync>(ids: &mut [u32], key: F) {
    if super::par::parts_for(ids.len(), 200_000) < 2 || ids.len() < 2 {
        ids.sort_unstable_by(|a, b| key(a).cmp(key(b)));
        return;
    }
    let mid = ids.len() / 2;
    {
        let (l, r) = ids.split_at_mut(mid);
        std::thread::scope(|s| {
            s.spawn(|| l.sort_unstable_by(|a, b| key(a).cmp(key(b))));
            r.sort_unstable_by(|a, b| key(a).cmp(key(b)));
        });
    }
    let mut out = Vec::with_capacity(ids.len());
    let (mut i, mut j) = (0, mid);
    while i < mid && j < ids.len() {
        if key(&ids[j]) < key(&ids[i]) {
            out.push(ids[j]);
            j += 1;
        } else {
            out.push(ids[i]);
            i += 1;
        }
    }
    out.extend_from_slice(&ids[i..mid]);
    out.extend_from_slice(&ids[j..]);
    ids.copy_from_slice(&out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_and_merges() {
        let mut a = Interner::new();
        assert_eq!(a.intern("x"), 0);
        assert_eq!(a.intern("yy"), 1);
        assert_eq!(a.intern("x"), 0);
        assert_eq!(a.intern(""), 2);
        assert_eq!(a.get(1), "yy");
        assert_eq!(a.lookup("zz"), None);
        let mut b = Interner::new();
        b.intern("zz");
        b.intern("x");
        assert_eq!(a.absorb(&b), vec![3, 0]);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec!["x", "yy", "", "zz"]);
        assert_eq!(a.sorted_ids(), vec![2, 0, 1, 3]);
        for i in 0..10_000 {
            a.intern(&format!("k{i}"));
        }
        assert_eq!(a.lookup("k9999"), Some(10_003));
    }
}
