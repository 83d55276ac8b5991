//! Journeys: every profile with events, its events in `(ts, seq)` order, resolved against
//! the map.
//!
//! Built with one counting sort of all events by profile and a check (rarely a sort) of
//! each journey by `(ts, seq)`; the columns the measures read are then gathered into
//! journey order, so every measure is a linear scan over contiguous slices. Resolution
//! (touchpoint, phase, department, planned channel) uses the tracker's
//! [`Resolver`] once per distinct name, never per event.

use std::sync::Arc;

use crate::resolve::Resolver;
use crate::time::Micros;
use crate::vocabulary::Channel;

use super::columns::EventTable;
use super::intern::{Interner, NONE};
use super::par::split_run;
use super::stitch::Stitched;

/// The journeys of a stitched table, resolved against a map.
///
/// The built columns live behind an [`Arc`], so a view can be made again over the same
/// table and resolver without rebuilding ([`Journeys::detach`], [`Journeys::attach`]): an
/// [`Analysis`](super::session::Analysis) keeps them that way.
#[derive(Debug, Clone)]
pub struct Journeys<'a> {
    table: &'a EventTable,
    resolver: &'a Resolver,
    data: Arc<JourneyData>,
}

/// The built columns of [`Journeys`], without the borrows of the table and the resolver.
#[derive(Debug)]
pub struct JourneyData {
    offsets: Vec<u32>,
    profile: Vec<u32>,
    row: Vec<u32>,
    ts: Vec<Micros>,
    name: Vec<u32>,
    channel: Vec<u32>,
    dept: Vec<u32>,
    rating: Vec<i16>,
    departments: Interner,
    tp_of_name: Vec<u32>,
    phase_of_name: Vec<u32>,
    unplanned: Vec<bool>,
    now: Option<Micros>,
}

/// One journey's events in `(ts, seq)` order, as column slices.
#[derive(Debug, Clone, Copy)]
pub struct Journey<'j> {
    /// Event times.
    pub ts: &'j [Micros],
    /// Event name ids (into the table's names).
    pub name: &'j [u32],
    /// Channel ids (into the table's channels).
    pub channel: &'j [u32],
    /// Effective department ids: the event's own, else its touchpoint's owner
    /// (into [`Journeys::departments`]; [`NONE`] = unknown).
    pub dept: &'j [u32],
    /// Ratings in units of 1/[`super::columns::RATING_UNIT`].
    pub rating: &'j [i16],
    /// Rows of the events in the table.
    pub row: &'j [u32],
}

impl Journey<'_> {
    /// The number of events.
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether it has no event (never, for a built journey).
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}

impl<'a> Journeys<'a> {
    /// Builds the journeys of a stitched table against a map.
    pub fn build(table: &'a EventTable, stitched: &Stitched, resolver: &'a Resolver) -> Self {
        let n = table.len();
        assert!(n < u32::MAX as usize, "at most 2^32 - 2 events");
        let map = resolver.map();
        // resolution, once per distinct name / touchpoint / channel
        let mut departments = table.departments().clone();
        let owner: Vec<u32> =
            map.touchpoints.iter().map(|t| t.department.as_ref().map_or(NONE, |d| departments.intern(d.as_str()))).collect();
        let mut tp_of_name = Vec::with_capacity(table.names().len());
        let mut phase_of_name = Vec::with_capacity(table.names().len());
        for name in table.names().iter() {
            let r = resolver.resolve(name);
            tp_of_name.push(r.touchpoint.unwrap_or(NONE));
            phase_of_name.push(r.phase.unwrap_or(NONE));
        }
        let nch = table.channels().len();
        let mut unplanned = vec![false; map.touchpoints.len() * nch];
        for tp in 0..map.touchpoints.len() {
            for (c, ch) in table.channels().iter().enumerate() {
                unplanned[tp * nch + c] = !resolver.plans_channel(tp as u32, &Channel::parse(ch));
            }
        }

        // the profile (canonical key) of every event
        let canonical = stitched.canonical();
        let key = table.key();
        let mut root = vec![0u32; n];
        {
            let parts = split_rows(&mut root);
            std::thread::scope(|s| {
                for (start, chunk) in parts {
                    s.spawn(move || {
                        for (i, r) in chunk.iter_mut().enumerate() {
                            *r = canonical[key[start + i] as usize];
                        }
                    });
                }
            });
        }
        for &(row, k) in stitched.anchors() {
            root[row as usize] = canonical[k as usize];
        }
        // counting sort by profile; journeys numbered in key-id order of their profile
        let nkeys = table.keys().len();
        let mut cursor = vec![0u32; nkeys + 1];
        for &r in &root {
            cursor[r as usize] += 1;
        }
        let mut offsets = Vec::new();
        let mut profile = Vec::new();
        let mut acc = 0u32;
        for (k, c) in cursor.iter_mut().enumerate().take(nkeys) {
            if *c > 0 {
                offsets.push(acc);
                profile.push(k as u32);
                let cnt = *c;
                *c = acc;
                acc += cnt;
            }
        }
        offsets.push(acc);
        let mut order = vec![0u32; n];
        for (row, &r) in root.iter().enumerate() {
            let c = &mut cursor[r as usize];
            order[*c as usize] = row as u32;
            *c += 1;
        }
        drop(root);
        drop(cursor);

        // sort each journey by (ts, seq) where needed, then gather the columns
        let (ts_all, seq_all) = (table.ts(), table.seq());
        {
            let chunks = split_by_offsets(&mut order, &offsets);
            std::thread::scope(|s| {
                for (j0, j1, slice) in chunks {
                    let offsets = &offsets;
                    s.spawn(move || {
                        let base = offsets[j0] as usize;
                        for j in j0..j1 {
                            let js = &mut slice[offsets[j] as usize - base..offsets[j + 1] as usize - base];
                            let key = |r: &u32| (ts_all[*r as usize], seq_all[*r as usize]);
                            if !js.windows(2).all(|w| key(&w[0]) <= key(&w[1])) {
                                js.sort_unstable_by_key(key);
                            }
                        }
                    });
                }
            });
        }
        let mut ts = vec![0i64; n];
        let mut name = vec![0u32; n];
        let mut channel = vec![0u32; n];
        let mut dept = vec![0u32; n];
        let mut rating = vec![0i16; n];
        {
            let (tn, tc, td, tr) = (table.name(), table.channel(), table.department(), table.rating());
            let (tp_of_name, owner) = (&tp_of_name, &owner);
            let parts = split_rows_multi(&order, &mut ts, &mut name, &mut channel, &mut dept, &mut rating);
            std::thread::scope(|s| {
                for (ord, ts, name, channel, dept, rating) in parts {
                    s.spawn(move || {
                        for (i, &r) in ord.iter().enumerate() {
                            let r = r as usize;
                            ts[i] = ts_all[r];
                            let nm = tn[r];
                            name[i] = nm;
                            channel[i] = tc[r];
                            let own = td[r];
                            dept[i] = if own != NONE {
                                own
                            } else {
                                let tp = tp_of_name[nm as usize];
                                if tp == NONE { NONE } else { owner[tp as usize] }
                            };
                            rating[i] = tr[r];
                        }
                    });
                }
            });
        }
        let data = JourneyData {
            offsets,
            profile,
            row: order,
            ts,
            name,
            channel,
            dept,
            rating,
            departments,
            tp_of_name,
            phase_of_name,
            unplanned,
            now: table.max_ts(),
        };
        Journeys { table, resolver, data: Arc::new(data) }
    }

    /// The built columns, without the borrows (cheap: a reference count).
    pub fn detach(&self) -> Arc<JourneyData> {
        self.data.clone()
    }

    /// A view of built columns over the table and resolver they were built from.
    ///
    /// # Panics
    ///
    /// When `table` does not have the number of events `data` was built with (a sign it was
    /// built from another table).
    pub fn attach(table: &'a EventTable, resolver: &'a Resolver, data: Arc<JourneyData>) -> Self {
        assert_eq!(table.len(), data.row.len(), "journeys attached to another table");
        Journeys { table, resolver, data }
    }

    /// The number of journeys.
    pub fn len(&self) -> usize {
        self.data.profile.len()
    }

    /// Whether there is no journey.
    pub fn is_empty(&self) -> bool {
        self.data.profile.is_empty()
    }

    /// The number of events in all journeys.
    pub fn events(&self) -> usize {
        self.data.ts.len()
    }

    /// Journey `j`'s events.
    #[inline]
    pub fn journey(&self, j: usize) -> Journey<'_> {
        let (a, b) = (self.data.offsets[j] as usize, self.data.offsets[j + 1] as usize);
        Journey {
            ts: &self.data.ts[a..b],
            name: &self.data.name[a..b],
            channel: &self.data.channel[a..b],
            dept: &self.data.dept[a..b],
            rating: &self.data.rating[a..b],
            row: &self.data.row[a..b],
        }
    }

    /// The canonical key id of journey `j`'s profile.
    pub fn profile(&self, j: usize) -> u32 {
        self.data.profile[j]
    }

    /// The canonical key id of every journey's profile, ascending (journey `j` is entry `j`).
    pub fn profiles(&self) -> &[u32] {
        &self.data.profile
    }

    /// The start of each journey in event order, plus the total (length `len() + 1`).
    pub fn offsets(&self) -> &[u32] {
        &self.data.offsets
    }

    /// The table the journeys come from.
    pub fn table(&self) -> &'a EventTable {
        self.table
    }

    /// The resolver of the map the journeys are checked against.
    pub fn resolver(&self) -> &'a Resolver {
        self.resolver
    }

    /// Effective departments (the table's plus the map's owners).
    pub fn departments(&self) -> &Interner {
        &self.data.departments
    }

    /// The touchpoint index of an event name id ([`NONE`] = off-map).
    #[inline]
    pub fn touchpoint_of(&self, name: u32) -> u32 {
        self.data.tp_of_name[name as usize]
    }

    /// The touchpoint index of every event name id ([`NONE`] = off-map).
    pub fn touchpoint_of_names(&self) -> &[u32] {
        &self.data.tp_of_name
    }

    /// The phase index of every event name id ([`NONE`] = off-map).
    pub fn phase_of_names(&self) -> &[u32] {
        &self.data.phase_of_name
    }

    /// Whether the map does not plan this channel for this touchpoint.
    #[inline]
    pub fn unplanned(&self, tp: u32, channel: u32) -> bool {
        channel != NONE && self.data.unplanned[tp as usize * self.table.channels().len() + channel as usize]
    }

    /// The latest event time of the data (the default `now`).
    pub fn now(&self) -> Option<Micros> {
        self.data.now
    }

    /// Runs `work` over contiguous ranges of journeys in parallel (balanced by events) and
    /// returns the partial results in order.
    pub(crate) fn par<A: Send>(&self, work: impl Fn(std::ops::Range<usize>) -> A + Sync) -> Vec<A> {
        let offsets = &self.data.offsets;
        split_run(self.len(), self.events(), |i| offsets[i] as usize, work)
    }
}

impl JourneyData {
    /// The number of journeys.
    pub fn len(&self) -> usize {
        self.profile.len()
    }

    /// Whether there is no journey.
    pub fn is_empty(&self) -> bool {
        self.profile.is_empty()
    }
}

fn split_rows(v: &mut [u32]) -> Vec<(usize, &mut [u32])> {
    let t = super::par::parts_for(v.len(), 100_000).max(1);
    if t == 1 || v.is_empty() {
        return vec![(0, v)];
    }
    let size = v.len().div_ceil(t);
    v.chunks_mut(size).enumerate().map(|(i, c)| (i * size, c)).collect()
}

fn split_by_offsets<'v>(v: &'v mut [u32], offsets: &[u32]) -> Vec<(usize, usize, &'v mut [u32])> {
    let nj = offsets.len() - 1;
    let t = super::par::parts_for(v.len(), 100_000).max(1);
    if t == 1 || nj < 2 {
        return vec![(0, nj, v)];
    }
    let mut out = Vec::new();
    let mut rest = v;
    let mut j0 = 0;
    for p in 1..=t {
        let j1 = if p == t { nj } else { offsets.partition_point(|&o| (o as usize) < v_len_part(offsets, p, t)).min(nj).max(j0) };
        let take = (offsets[j1] - offsets[j0]) as usize;
        let (a, b) = rest.split_at_mut(take);
        out.push((j0, j1, a));
        rest = b;
        j0 = j1;
    }
    out
}

fn v_len_part(offsets: &[u32], p: usize, t: usize) -> usize {
    *offsets.last().unwrap() as usize * p / t
}

#[allow(clippy::type_complexity)]
fn split_rows_multi<'o>(
    order: &'o [u32],
    ts: &'o mut [i64],
    name: &'o mut [u32],
    channel: &'o mut [u32],
    dept: &'o mut [u32],
    rating: &'o mut [i16],
) -> Vec<(&'o [u32], &'o mut [i64], &'o mut [u32], &'o mut [u32], &'o mut [u32], &'o mut [i16])> {
    let t = super::par::parts_for(order.len(), 100_000).max(1);
    if t == 1 || order.is_empty() {
        return vec![(order, ts, name, channel, dept, rating)];
    }
    let size = order.len().div_ceil(t);
    order
        .chunks(size)
        .zip(ts.chunks_mut(size))
        .zip(name.chunks_mut(size))
        .zip(channel.chunks_mut(size))
        .zip(dept.chunks_mut(size))
        .zip(rating.chunks_mut(size))
        .map(|(((((o, a), b), c), d), e)| (o, a, b, c, d, e))
        .collect()
}
