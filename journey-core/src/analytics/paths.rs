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
use serde::{Deserialize, Serialize};

use crate::error::Result;

use super::intern::Interner;
use super::journeys::Journeys;
use super::partial::merge::bad;
use super::transitions::{NameLevel, level_names};

/// How to compute top paths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
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

/// Paths as sequences of label ids, each with its number of journeys.
#[derive(Default, Clone, Debug)]
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

/// The flat form of a [`PathTable`] in a partial state.
#[derive(Serialize, Deserialize)]
struct PathTableData {
    arena: Vec<u32>,
    spans: Vec<(u32, u32)>,
    counts: Vec<u64>,
}

impl Serialize for PathTable {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        PathTableData { arena: self.arena.clone(), spans: self.spans.clone(), counts: self.counts.clone() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PathTable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let data = PathTableData::deserialize(d)?;
        if data.spans.len() != data.counts.len() {
            return Err(serde::de::Error::custom("paths: spans and counts differ in length"));
        }
        let mut t = PathTable::default();
        for (&(s, l), &c) in data.spans.iter().zip(&data.counts) {
            let p = data.arena.get(s as usize..s as usize + l as usize).ok_or_else(|| serde::de::Error::custom("paths: a span beyond the arena"))?;
            t.add(p, c);
        }
        Ok(t)
    }
}

/// The partial state of top paths over a subset of whole journeys: every distinct path (the
/// top of the whole data can only be chosen at the finish) as label ids into `labels`, with
/// its number of journeys. Merged by adding the counts of equal paths.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PathCounts {
    /// Journeys.
    pub journeys: u64,
    /// The names of the level paths are taken at.
    labels: Interner,
    /// The paths.
    paths: PathTable,
}

impl PathCounts {
    fn check(&self) -> Result<()> {
        let n = self.labels.len();
        if self.paths.arena.iter().any(|&x| x as usize >= n) {
            return Err(bad("paths.paths", format!("a label id beyond the {n} labels")));
        }
        Ok(())
    }

    /// The number of distinct paths.
    pub fn distinct(&self) -> usize {
        self.paths.counts.len()
    }

    /// Adds the paths of other journeys (same options).
    pub fn merge(&mut self, o: &PathCounts) -> Result<()> {
        o.check()?;
        let remap = self.labels.absorb(&o.labels);
        let mut p: Vec<u32> = Vec::new();
        for id in 0..o.paths.spans.len() {
            p.clear();
            p.extend(o.paths.path(id).iter().map(|&x| remap[x as usize]));
            self.paths.add(&p, o.paths.counts[id]);
        }
        self.journeys += o.journeys;
        Ok(())
    }

    /// The published measure.
    pub fn finish(&self, o: &PathsOptions) -> Result<Paths> {
        self.check()?;
        let t = &self.paths;
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
        let text = |id: usize| t.path(id).iter().map(|&x| self.labels.get(x)).collect::<Vec<_>>().join(&o.separator);
        let mut top: Vec<PathCount> =
            (0..t.counts.len()).filter(|&id| t.counts[id] >= threshold).map(|id| PathCount { path: text(id), journeys: t.counts[id] }).collect();
        top.sort_unstable_by(|a, b| b.journeys.cmp(&a.journeys).then_with(|| a.path.cmp(&b.path)));
        top.truncate(o.top);
        Ok(Paths { options: o.clone(), journeys: self.journeys, distinct_paths: t.counts.len() as u64, top })
    }
}

/// Computes the top paths.
pub fn paths(j: &Journeys<'_>, o: &PathsOptions) -> Paths {
    path_counts(j, o).finish(o).expect("counts built for these labels")
}

/// The partial state of top paths over these journeys (see [`PathCounts`]).
pub fn path_counts(j: &Journeys<'_>, o: &PathsOptions) -> PathCounts {
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
    let mut labels = Interner::with_capacity(ln.labels.len(), 0);
    for l in &ln.labels {
        labels.intern(l);
    }
    PathCounts { journeys: j.len() as u64, labels, paths: t }
}
