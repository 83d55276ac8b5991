//! Transitions (directly-follows counts, with starts and ends) at event, touchpoint or
//! phase level.
//!
//! For every journey and every pair of consecutive events, the pair of their names is
//! counted; the first event of each journey is a start, the last an end. A one-event
//! journey has a start and an end and no pair. At touchpoint and phase level an off-map
//! event keeps its raw name (Decision 6).
//!
//! Implementation: one pass counts pairs of raw names (a dense matrix when there are at
//! most 1024 names); touchpoint and phase counts are derived from them, since those names
//! are functions of the raw name.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::map::JourneyMap;
use crate::resolve::Resolver;

use super::intern::{Interner, NONE};
use super::journeys::Journeys;
use super::partial::merge::{bad, expect_len};

/// The level names are taken at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NameLevel {
    /// Raw event names.
    Event,
    /// Touchpoint ids (off-map events: their raw name).
    Touchpoint,
    /// Phase ids (off-map events: their raw name).
    Phase,
}

impl NameLevel {
    /// The level's name.
    pub fn as_str(self) -> &'static str {
        match self {
            NameLevel::Event => "event",
            NameLevel::Touchpoint => "touchpoint",
            NameLevel::Phase => "phase",
        }
    }
}

/// Names of one level as dense ids: `id_of[raw name id]`, and the label of each id.
pub(crate) struct LevelNames {
    pub id_of: Vec<u32>,
    pub labels: Vec<String>,
}

pub(crate) fn level_names(j: &Journeys<'_>, level: NameLevel) -> LevelNames {
    level_names_of(j.table().names(), j.touchpoint_of_names(), j.phase_of_names(), j.resolver().map(), level)
}

/// [`level_names`] for raw names resolved apart: `tp_of` and `phase_of` per raw name id.
pub(crate) fn level_names_of(names: &Interner, tp_of: &[u32], phase_of: &[u32], map: &JourneyMap, level: NameLevel) -> LevelNames {
    match level {
        NameLevel::Event => LevelNames { id_of: (0..names.len() as u32).collect(), labels: names.iter().map(str::to_string).collect() },
        NameLevel::Touchpoint | NameLevel::Phase => {
            let (of, base): (&[u32], Vec<&str>) = if level == NameLevel::Touchpoint {
                (tp_of, map.touchpoints.iter().map(|t| t.id.as_str()).collect())
            } else {
                (phase_of, map.phases.iter().map(|p| p.id.as_str()).collect())
            };
            // labels are compared as text, so an off-map name equal to an id is the same label
            let mut labels = Interner::new();
            let base_ids: Vec<u32> = base.iter().map(|s| labels.intern(s)).collect();
            let id_of = (0..names.len())
                .map(|n| if of[n] != NONE { base_ids[of[n] as usize] } else { labels.intern(names.get(n as u32)) })
                .collect();
            LevelNames { id_of, labels: labels.iter().map(str::to_string).collect() }
        }
    }
}

/// The options of the transitions measure, as published.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionsOptions {
    /// The order events are taken in.
    pub order: &'static str,
    /// The levels computed.
    pub levels: Vec<NameLevel>,
    /// What an off-map event is called at touchpoint and phase level.
    pub off_map_name: &'static str,
}

/// Transitions at one level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionLevel {
    /// All journeys.
    pub journeys: u64,
    /// Consecutive pairs counted.
    pub pairs: u64,
    /// Distinct (from, to) pairs.
    pub distinct_pairs: u64,
    /// `[from, to, count]`, sorted by from, then to.
    pub counts: Vec<(String, String, u64)>,
    /// `[name, journeys starting with it]`, sorted by name.
    pub starts: Vec<(String, u64)>,
    /// `[name, journeys ending with it]`, sorted by name.
    pub ends: Vec<(String, u64)>,
}

/// The transitions measure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transitions {
    /// The options it was computed with.
    pub options: TransitionsOptions,
    /// Raw event level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<TransitionLevel>,
    /// Touchpoint level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub touchpoint: Option<TransitionLevel>,
    /// Phase level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<TransitionLevel>,
}

/// The partial state of transitions over a subset of whole journeys: directly-follows
/// counts of raw event names (by id into `names`), starts and ends per name. Merged by
/// adding the counts of the same names ([`TransitionCounts::merge`]); touchpoint and phase
/// levels are derived at the finish, since those names are functions of the raw name.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TransitionCounts {
    /// Journeys.
    pub journeys: u64,
    /// The raw event names.
    pub names: Interner,
    /// `(from, to, count)` by name id.
    pub pairs: Vec<(u32, u32, u64)>,
    /// Journeys starting with each name.
    pub starts: Vec<u64>,
    /// Journeys ending with each name.
    pub ends: Vec<u64>,
}

impl TransitionCounts {
    fn check(&self) -> Result<()> {
        let n = self.names.len();
        expect_len(&self.starts, n, "transitions.starts")?;
        expect_len(&self.ends, n, "transitions.ends")?;
        if self.pairs.iter().any(|&(a, b, _)| a as usize >= n || b as usize >= n) {
            return Err(bad("transitions.pairs", format!("a name id beyond the {n} names")));
        }
        Ok(())
    }

    /// Adds the counts of other journeys.
    pub fn merge(&mut self, o: &TransitionCounts) -> Result<()> {
        o.check()?;
        let remap = self.names.absorb(&o.names);
        let n = self.names.len();
        self.starts.resize(n, 0);
        self.ends.resize(n, 0);
        for (i, &k) in remap.iter().enumerate() {
            self.starts[k as usize] += o.starts[i];
            self.ends[k as usize] += o.ends[i];
        }
        let mut pairs: FxHashMap<(u32, u32), u64> = self.pairs.iter().map(|&(a, b, c)| ((a, b), c)).collect();
        for &(a, b, c) in &o.pairs {
            *pairs.entry((remap[a as usize], remap[b as usize])).or_default() += c;
        }
        self.pairs = pairs.into_iter().map(|((a, b), c)| (a, b, c)).collect();
        self.pairs.sort_unstable();
        self.journeys += o.journeys;
        Ok(())
    }

    /// The published measure at the given levels; `resolver` resolves raw names on the map.
    pub fn finish(&self, resolver: &Resolver, levels: &[NameLevel]) -> Result<Transitions> {
        self.check()?;
        let (mut tp_of, mut phase_of) = (Vec::with_capacity(self.names.len()), Vec::with_capacity(self.names.len()));
        for name in self.names.iter() {
            let r = resolver.resolve(name);
            tp_of.push(r.touchpoint.unwrap_or(NONE));
            phase_of.push(r.phase.unwrap_or(NONE));
        }
        let n = self.names.len();
        let mut out = Transitions {
            options: TransitionsOptions { order: "(ts, seq)", levels: levels.to_vec(), off_map_name: "raw event name at every level" },
            event: None,
            touchpoint: None,
            phase: None,
        };
        for &level in levels {
            let ln = level_names_of(&self.names, &tp_of, &phase_of, resolver.map(), level);
            let mut pairs: FxHashMap<(u32, u32), u64> = FxHashMap::default();
            for &(a, b, v) in &self.pairs {
                *pairs.entry((ln.id_of[a as usize], ln.id_of[b as usize])).or_default() += v;
            }
            let mut starts: FxHashMap<u32, u64> = FxHashMap::default();
            let mut ends: FxHashMap<u32, u64> = FxHashMap::default();
            for i in 0..n {
                if self.starts[i] > 0 {
                    *starts.entry(ln.id_of[i]).or_default() += self.starts[i];
                }
                if self.ends[i] > 0 {
                    *ends.entry(ln.id_of[i]).or_default() += self.ends[i];
                }
            }
            let lab = |id: u32| ln.labels[id as usize].clone();
            let mut counts: Vec<(String, String, u64)> = pairs.iter().map(|(&(a, b), &v)| (lab(a), lab(b), v)).collect();
            counts.sort_unstable();
            let named = |m: FxHashMap<u32, u64>| {
                let mut v: Vec<(String, u64)> = m.into_iter().map(|(k, c)| (lab(k), c)).collect();
                v.sort_unstable();
                v
            };
            let tl = TransitionLevel {
                journeys: self.journeys,
                pairs: counts.iter().map(|c| c.2).sum(),
                distinct_pairs: counts.len() as u64,
                counts,
                starts: named(starts),
                ends: named(ends),
            };
            match level {
                NameLevel::Event => out.event = Some(tl),
                NameLevel::Touchpoint => out.touchpoint = Some(tl),
                NameLevel::Phase => out.phase = Some(tl),
            }
        }
        Ok(out)
    }
}

struct RawCounts {
    n: usize,
    dense: Vec<u64>,
    sparse: FxHashMap<(u32, u32), u64>,
    starts: Vec<u64>,
    ends: Vec<u64>,
}

/// Computes transitions at the given levels (all three: `&[Event, Touchpoint, Phase]`).
pub fn transitions(j: &Journeys<'_>, levels: &[NameLevel]) -> Transitions {
    transition_counts(j).finish(j.resolver(), levels).expect("counts built for these names")
}

/// The partial state of transitions over these journeys (see [`TransitionCounts`]).
pub fn transition_counts(j: &Journeys<'_>) -> TransitionCounts {
    let n = j.table().names().len();
    let dense = n <= 1024;
    let parts = j.par(|range| {
        let mut c = RawCounts {
            n,
            dense: if dense { vec![0; n * n] } else { Vec::new() },
            sparse: FxHashMap::default(),
            starts: vec![0; n],
            ends: vec![0; n],
        };
        for jx in range {
            let names = j.journey(jx).name;
            c.starts[names[0] as usize] += 1;
            c.ends[names[names.len() - 1] as usize] += 1;
            if dense {
                for w in names.windows(2) {
                    c.dense[w[0] as usize * n + w[1] as usize] += 1;
                }
            } else {
                for w in names.windows(2) {
                    *c.sparse.entry((w[0], w[1])).or_default() += 1;
                }
            }
        }
        c
    });
    let mut it = parts.into_iter();
    let mut total = it.next().expect("one part at least");
    for p in it {
        for (a, b) in total.dense.iter_mut().zip(&p.dense) {
            *a += b;
        }
        for (k, v) in p.sparse {
            *total.sparse.entry(k).or_default() += v;
        }
        for i in 0..n {
            total.starts[i] += p.starts[i];
            total.ends[i] += p.ends[i];
        }
    }
    let mut pairs: Vec<(u32, u32, u64)> = if dense {
        (0..total.n * total.n).filter(|&i| total.dense[i] > 0).map(|i| ((i / n) as u32, (i % n) as u32, total.dense[i])).collect()
    } else {
        total.sparse.iter().map(|(&(a, b), &v)| (a, b, v)).collect()
    };
    pairs.sort_unstable();
    TransitionCounts { journeys: j.len() as u64, names: j.table().names().clone(), pairs, starts: total.starts, ends: total.ends }
}
