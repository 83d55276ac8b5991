//! Stitching for analysis: identity keys into profiles.
//!
//! A profile is a connected component of the graph whose nodes are identity keys and whose
//! edges are the keys carried together by one event and the identity links. Its canonical
//! id is its smallest key, byte-wise. Two modes (see [`StitchOptions`]):
//!
//! * **No limits** (the default, and the benchmark's Decision 2): every link is applied,
//!   its time ignored; links are undirected, duplicates and self-links change nothing.
//! * **Identity limits** ([`IdentityRules`], the tracker's rules): links are applied in
//!   `(ts, seq)` order and a link that would give a profile more keys of a kind than its
//!   limit is refused and recorded as a [`StitchConflict`], as the tracker does
//!   ([`crate::stitch`]). An event carrying several keys lands on its *anchor* and links
//!   the others to it. The anchor is chosen as the tracker chooses it: the key of the
//!   highest identity level; among equals, a key already *known* (one that an earlier event
//!   or link gave a profile: an event carrying it alone, an event it anchored, an applied
//!   link); then the first given. Decision: at equal times, links carried by events come
//!   before identity links, events in `seq` order, identity links in input order; an event
//!   carrying one key makes that key known at its `(ts, seq)`.
//!
//!   The tracker stitches in arrival order, the analysis in `(ts, seq)` order (ANALYTICS.md):
//!   on a log that arrives in time order (ties by arrival, links after the events of their
//!   time) both give the same profiles, each event on the same profile
//!   (`tests/analytics_session.rs` checks it on random logs). When events arrive out of
//!   time order *and* a limit refuses a link, the two can differ: the analysis is the
//!   reproducible one.

use serde::Serialize;

use crate::identity::{IdentityLevel, IdentityRules};
use crate::time::Micros;

use super::columns::EventTable;

/// How to stitch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StitchOptions {
    /// `None`: no identity limits (every link applied). `Some`: the tracker's rules, with
    /// links applied in time order and refused when they break a limit.
    pub rules: Option<IdentityRules>,
}

/// A link refused because it would break an identity limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StitchConflict {
    /// The key the link started from (an event's anchor, or a link's first key).
    pub key: String,
    /// The key it would have linked.
    pub other: String,
    /// When the link was made.
    pub ts: Micros,
    /// The seq of the event that carried it, if it came from an event.
    pub event_seq: Option<u64>,
    /// The kind whose limit it would break.
    pub kind: String,
    /// The limit.
    pub limit: usize,
    /// How many keys of that kind the merged profile would have had.
    pub count: usize,
}

/// Keys stitched into profiles.
#[derive(Debug, Clone)]
pub struct Stitched {
    canonical: Vec<u32>,
    anchors: Vec<(u32, u32)>,
    conflicts: Vec<StitchConflict>,
    profiles: usize,
    largest: usize,
    options: StitchOptions,
}

struct Dsu<'a> {
    parent: Vec<u32>,
    table: &'a EventTable,
}

impl Dsu<'_> {
    #[inline]
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            let gp = self.parent[p as usize];
            self.parent[x as usize] = gp;
            x = gp;
        }
        x
    }

    /// Joins two roots; the one with the smaller key stays the root. Returns (root, absorbed).
    #[inline]
    fn join(&mut self, ra: u32, rb: u32) -> (u32, u32) {
        let keys = self.table.keys();
        let (root, other) = if keys.get(ra).as_bytes() <= keys.get(rb).as_bytes() { (ra, rb) } else { (rb, ra) };
        self.parent[other as usize] = root;
        (root, other)
    }
}

fn kind_of(key: &str) -> &str {
    key.split_once(':').map_or("", |(k, _)| k)
}

fn level_of(rules: &IdentityRules, key: &str) -> IdentityLevel {
    rules.levels.get(kind_of(key)).copied().unwrap_or(rules.default_level)
}

/// Stitches the keys of a table (see the module docs).
pub fn stitch(table: &EventTable, options: &StitchOptions) -> Stitched {
    let n = table.keys().len();
    let mut dsu = Dsu { parent: (0..n as u32).collect(), table };
    let mut conflicts = Vec::new();
    let mut anchors = Vec::new();
    match &options.rules {
        None => {
            let key = table.key();
            for &(row, k) in table.extra_keys() {
                let (ra, rb) = (dsu.find(key[row as usize]), dsu.find(k));
                if ra != rb {
                    dsu.join(ra, rb);
                }
            }
            let l = table.links();
            for i in 0..l.len() {
                let (ra, rb) = (dsu.find(l.a[i]), dsu.find(l.b[i]));
                if ra != rb {
                    dsu.join(ra, rb);
                }
            }
        }
        Some(rules) => stitch_with_limits(table, rules, &mut dsu, &mut conflicts, &mut anchors),
    }
    let mut canonical = vec![0u32; n];
    let mut size = vec![0u32; n];
    for k in 0..n as u32 {
        let r = dsu.find(k);
        canonical[k as usize] = r;
        size[r as usize] += 1;
    }
    let profiles = size.iter().filter(|&&s| s > 0).count();
    let largest = size.iter().copied().max().unwrap_or(0) as usize;
    Stitched { canonical, anchors, conflicts, profiles, largest, options: options.clone() }
}

fn stitch_with_limits(
    table: &EventTable,
    rules: &IdentityRules,
    dsu: &mut Dsu<'_>,
    conflicts: &mut Vec<StitchConflict>,
    anchors: &mut Vec<(u32, u32)>,
) {
    let keys = table.keys();
    let nkeys = keys.len();
    let limited: Vec<(&str, usize)> = rules.limits.iter().map(|(k, &l)| (k.as_str(), l)).collect();
    let nk = limited.len();
    // counts[key * nk + i] = keys of limited kind i in the profile rooted at key
    let mut counts = vec![0u32; nkeys * nk.max(1)];
    let mut level = Vec::with_capacity(nkeys);
    for k in 0..nkeys {
        let key = keys.get(k as u32);
        let kind = kind_of(key);
        if let Some(i) = limited.iter().position(|(l, _)| *l == kind) {
            counts[k * nk + i] = 1;
        }
        level.push(level_of(rules, key));
    }
    // A key is *known* (it has a profile, in the tracker's words) from the first event that
    // carries it alone, or once an event or a link made it an anchor or linked it.
    let (ts, seq, key) = (table.ts(), table.seq(), table.key());
    let extra = table.extra_keys();
    let mut first_alone: Vec<(Micros, u64)> = vec![(Micros::MAX, u64::MAX); nkeys];
    {
        let mut e = 0;
        for row in 0..table.len() {
            if e < extra.len() && extra[e].0 as usize == row {
                while e < extra.len() && extra[e].0 as usize == row {
                    e += 1;
                }
                continue;
            }
            let k = key[row] as usize;
            first_alone[k] = first_alone[k].min((ts[row], seq[row]));
        }
    }
    let mut known = vec![false; nkeys];
    // (ts, class, order, index): class 0 = an event carrying several keys (index = its first
    // entry in `extra`), 1 = an identity link (index = its position)
    let mut todo: Vec<(Micros, u8, u64, u32)> = Vec::new();
    let mut i = 0;
    while i < extra.len() {
        let row = extra[i].0 as usize;
        todo.push((ts[row], 0, seq[row], i as u32));
        while i < extra.len() && extra[i].0 as usize == row {
            i += 1;
        }
    }
    let l = table.links();
    for x in 0..l.len() {
        todo.push((l.ts[x], 1, x as u64, x as u32));
    }
    todo.sort_unstable_by_key(|t| (t.0, t.1, t.2));
    let mut ks: Vec<u32> = Vec::new();
    // links one key to the anchor's profile; returns whether it was applied
    let mut apply = |dsu: &mut Dsu<'_>, a: u32, b: u32, t: Micros, event_seq: Option<u64>, conflicts: &mut Vec<StitchConflict>| -> bool {
        let (ra, rb) = (dsu.find(a), dsu.find(b));
        if ra == rb {
            return true;
        }
        let violation = limited.iter().enumerate().find_map(|(i, &(kind, limit))| {
            let c = (counts[ra as usize * nk + i] + counts[rb as usize * nk + i]) as usize;
            (c > limit).then_some((kind, limit, c))
        });
        if let Some((kind, limit, count)) = violation {
            conflicts.push(StitchConflict {
                key: keys.get(a).to_string(),
                other: keys.get(b).to_string(),
                ts: t,
                event_seq,
                kind: kind.to_string(),
                limit,
                count,
            });
            return false;
        }
        let (root, other) = dsu.join(ra, rb);
        for i in 0..nk {
            counts[root as usize * nk + i] += counts[other as usize * nk + i];
        }
        true
    };
    for (t, class, order, index) in todo {
        if class == 1 {
            let x = index as usize;
            let (a, b) = (l.a[x], l.b[x]);
            known[a as usize] = true;
            if a != b && apply(dsu, a, b, t, None, conflicts) {
                known[b as usize] = true;
            }
            continue;
        }
        let first = index as usize;
        let row = extra[first].0;
        ks.clear();
        ks.push(key[row as usize]);
        ks.extend(extra[first..].iter().take_while(|&&(r, _)| r == row).map(|&(_, k)| k));
        let is_known = |k: u32| known[k as usize] || first_alone[k as usize] < (t, order);
        // the anchor: the highest level, then a key already known, then the first given
        let mut best = 0;
        let mut best_score = (level[ks[0] as usize], is_known(ks[0]));
        for (x, &k) in ks.iter().enumerate().skip(1) {
            let score = (level[k as usize], is_known(k));
            if score > best_score {
                (best, best_score) = (x, score);
            }
        }
        let anchor = ks[best];
        if best != 0 {
            anchors.push((row, anchor));
        }
        known[anchor as usize] = true;
        for x in 0..ks.len() {
            let k = ks[x];
            if x != best && k != anchor && !ks[..x].contains(&k) && apply(dsu, anchor, k, t, Some(order), conflicts) {
                known[k as usize] = true;
            }
        }
    }
    anchors.sort_unstable_by_key(|&(row, _)| row);
}

impl Stitched {
    /// The canonical key id (the smallest key of its profile) of every key id.
    pub fn canonical(&self) -> &[u32] {
        &self.canonical
    }

    /// Events that land on another key than their first (their anchor, under identity
    /// rules): (row, key id).
    pub fn anchors(&self) -> &[(u32, u32)] {
        &self.anchors
    }

    /// Links refused under identity limits, in the order they were met.
    pub fn conflicts(&self) -> &[StitchConflict] {
        &self.conflicts
    }

    /// The number of profiles (with or without events).
    pub fn profiles(&self) -> usize {
        self.profiles
    }

    /// The number of keys of the largest profile.
    pub fn largest_profile_keys(&self) -> usize {
        self.largest
    }

    /// The options it was computed with.
    pub fn options(&self) -> &StitchOptions {
        &self.options
    }

    /// The canonical key id of each event's profile.
    pub fn event_profile(&self, table: &EventTable, row: usize) -> u32 {
        let k = table.key()[row];
        match self.anchors.binary_search_by_key(&(row as u32), |&(r, _)| r) {
            Ok(i) => self.canonical[self.anchors[i].1 as usize],
            Err(_) => self.canonical[k as usize],
        }
    }

    /// The published summary (`stitch.json` without `profile_of`, which
    /// [`super::bench::write_stitch`] streams).
    pub fn summary(&self, table: &EventTable, journeys: usize) -> StitchResult {
        StitchResult {
            options: StitchOptionsEcho {
                identity_limits: self.options.rules.as_ref().map(|r| r.limits.iter().map(|(k, &v)| (k.clone(), v)).collect()),
                canonical_id: "smallest key, byte-wise",
            },
            keys: table.keys().len(),
            profiles: self.profiles,
            journeys,
            profiles_without_events: self.profiles - journeys,
            largest_profile_keys: self.largest,
            conflicts: self.options.rules.as_ref().map(|_| self.conflicts.len()),
        }
    }
}

/// The options of a stitch, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StitchOptionsEcho {
    /// The identity limits applied (kind → most keys per profile), `null` for none.
    pub identity_limits: Option<std::collections::BTreeMap<String, usize>>,
    /// How the canonical id is chosen.
    pub canonical_id: &'static str,
}

/// The stitch measure: counts of keys and profiles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StitchResult {
    /// The options it was computed with.
    pub options: StitchOptionsEcho,
    /// Distinct identity keys (in events and links).
    pub keys: usize,
    /// Profiles (connected components), with or without events.
    pub profiles: usize,
    /// Profiles with at least one event.
    pub journeys: usize,
    /// Profiles whose keys appear only in links.
    pub profiles_without_events: usize,
    /// Keys in the largest profile.
    pub largest_profile_keys: usize,
    /// Links refused under identity limits (only when limits apply).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflicts: Option<usize>,
}

impl Default for StitchResult {
    fn default() -> Self {
        StitchResult {
            options: StitchOptionsEcho { identity_limits: None, canonical_id: "smallest key, byte-wise" },
            keys: 0,
            profiles: 0,
            journeys: 0,
            profiles_without_events: 0,
            largest_profile_keys: 0,
            conflicts: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> EventTable {
        let mut t = EventTable::new();
        t.push(1, 0, &["session:b"], "x", "web", None, None).unwrap();
        t.push(2, 1, &["session:c", "customer:1"], "x", "web", None, None).unwrap();
        t.push(3, 2, &["session:d"], "x", "web", None, None).unwrap();
        t.push(4, 3, &["session:d", "customer:2"], "x", "web", None, None).unwrap();
        t.push_link("session:b", "customer:1", 10);
        t.push_link("session:b", "session:b", 10);
        t.push_link("customer:2", "session:b", 20);
        t.push_link("email:z", "phone:y", 5);
        t
    }

    #[test]
    fn components_without_limits() {
        let t = table();
        let s = stitch(&t, &StitchOptions::default());
        let c = |k: &str| t.keys().get(s.canonical()[t.keys().lookup(k).unwrap() as usize]).to_string();
        assert_eq!(c("session:d"), "customer:1");
        assert_eq!(c("phone:y"), "email:z");
        assert_eq!(s.profiles(), 2);
        assert_eq!(s.largest_profile_keys(), 5);
        assert!(s.conflicts().is_empty());
    }

    #[test]
    fn limits_refuse_in_time_order() {
        let t = table();
        let s = stitch(&t, &StitchOptions { rules: Some(IdentityRules::default()) });
        let c = |k: &str| t.keys().get(s.canonical()[t.keys().lookup(k).unwrap() as usize]).to_string();
        assert_eq!(c("session:b"), "customer:1");
        assert_eq!(c("session:d"), "customer:2");
        assert_eq!(s.conflicts().len(), 1);
        assert_eq!(s.conflicts()[0].ts, 20);
        assert_eq!(s.conflicts()[0].kind, "customer");
        // the second event lands on its authenticated anchor
        assert_eq!(s.anchors(), &[(1, t.keys().lookup("customer:1").unwrap()), (3, t.keys().lookup("customer:2").unwrap())]);
        assert_eq!(s.profiles(), 3);
    }
}
