//! The most frequent paths.
//!
//! A journey's path is its names (at event, touchpoint or phase level) with consecutive
//! duplicates collapsed, then cut to its first `k` names (Decision 7: collapse first, then
//! cut); its text joins the names with the separator (`>`). Top paths are ranked by number
//! of journeys, descending, ties by text ascending, byte-wise.
//!
//! Implementation: paths are counted as sequences of name ids in an arena-backed hash table
//! (no allocation per journey); text is built only for the paths that can make the top.

use std::hash::Hasher;

use hashbrown::HashTable;
use rustc_hash::FxHasher;
use serde::Serialize;

use super::journeys::Journeys;
use super::transitions::{NameLevel, level_names};

/// How to compute top paths.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PathsOptions {
    /// The level names are taken at.
    pub level: NameLevel,
    /// The number of names a path is cut to.
    pub k: usize,
    /// How many paths to list.
    pub top: usize,
    /// The separator of a path's text.
    pub separator: String,
    /// How a path is formed (descriptive).
    pub collapse: String,
}

impl Default for PathsOptions {
    /// Event level, k = 8, top 20, `>`.
    fn default() -> Self {
        PathsOptions { level: NameLevel::Event, k: 8, top: 20, separator: ">".into(), collapse: "consecutive duplicates, then cut to k".into() }
    }
}

/// One top path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathCount {
    /// The path's text.
    pub path: String,
    /// Journeys that follow it.
    pub journeys: u64,
}

/// The paths measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Paths {
    /// The options it was computed with.
    pub options: PathsOptions,
    /// All journeys.
    pub journeys: u64,
    /// Distinct paths.
    pub distinct_paths: u64,
    /// The top paths, ranked.
    pub top: Vec<PathCount>,
}

#[derive(Default)]
struct PathTable {
    arena: Vec<u32>,
    spans: Vec<(u32, u32)>,
    hashes: Vec<u64>,
    counts: Vec<u64>,
    table: HashTable<u32>,
}

fn hash_path(p: &[u32]) -> u64 {
    let mut h = FxHasher::default();
    for &x in p {
        h.write_u32(x);
    }
    h.write_usize(p.len());
    h.finish()
}

impl PathTable {
    fn add(&mut self, p: &[u32], n: u64) {
        let h = hash_path(p);
        let (arena, spans) = (&self.arena, &self.spans);
        let found = self.table.find(h, |&id| {
            let (s, l) = spans[id as usize];
            &arena[s as usize..(s + l) as usize] == p
        });
        if let Some(&id) = found {
            self.counts[id as usize] += n;
            return;
        }
        let id = self.spans.len() as u32;
        self.spans.push((self.arena.len() as u32, p.len() as u32));
        self.arena.extend_from_slice(p);
        self.hashes.push(h);
        self.counts.push(n);
        let hashes = &self.hashes;
        self.table.insert_unique(h, id, |&i| hashes[i as usize]);
    }

    fn path(&self, id: usize) -> &[u32] {
        let (s, l) = self.spans[id];
        &self.arena[s as usize..(s + l) as usize]
    }
}

/// Computes the top paths.
pub fn paths(j: &Journeys<'_>, o: &PathsOptions) -> Paths {
    let ln = level_names(j, o.level);
    let k = o.k.max(1);
    let id_of = &ln.id_of;
    let parts = j.par(|range| {
        let mut t = PathTable::default();
        let mut p: Vec<u32> = Vec::with_capacity(k);
        for jx in range {
            p.clear();
            for &nm in j.journey(jx).name {
                let x = id_of[nm as usize];
                if p.last() != Some(&x) {
                    if p.len() == k {
                        break;
                    }
                    p.push(x);
                }
            }
            t.add(&p, 1);
        }
        t
    });
    let mut it = parts.into_iter();
    let mut t = it.next().expect("one part at least");
    for other in it {
        for id in 0..other.spans.len() {
            t.add(other.path(id), other.counts[id]);
        }
    }
    // the paths that can make the top: count at least the top-th largest count
    let mut counts: Vec<u64> = t.counts.clone();
    let threshold = if o.top == 0 || counts.is_empty() {
        u64::MAX
    } else if counts.len() <= o.top {
        0
    } else {
        let idx = counts.len() - o.top;
        *counts.select_nth_unstable(idx).1
    };
    let text = |id: usize| t.path(id).iter().map(|&x| ln.labels[x as usize].as_str()).collect::<Vec<_>>().join(&o.separator);
    let mut top: Vec<PathCount> =
        (0..t.counts.len()).filter(|&id| t.counts[id] >= threshold).map(|id| PathCount { path: text(id), journeys: t.counts[id] }).collect();
    top.sort_unstable_by(|a, b| b.journeys.cmp(&a.journeys).then_with(|| a.path.cmp(&b.path)));
    top.truncate(o.top);
    Paths { options: o.clone(), journeys: j.len() as u64, distinct_paths: t.counts.len() as u64, top }
}
