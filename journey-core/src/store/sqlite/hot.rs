//! The hot state of a SQLite store, kept in memory: profiles with their keys, deadlines,
//! caps, persona and attributes, the key index, the link edges and the per-profile event
//! order. Every change to it is also encoded in a binary journal entry that commits with
//! the transaction; [`Hot::load`] rebuilds it from the checkpointed tables, the journal
//! and the events table.

use std::collections::BTreeSet;
use std::sync::Arc;

use rusqlite::{Connection, params};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::identity::{IdentityKey, IdentityLevel};
use crate::profile::{ProfileId, ProfileState};
use crate::store::Deadline;
use crate::store::by_id::ById;
use crate::store::extra::Extra;
use crate::store::names::Names;
use crate::time::Micros;

pub(crate) struct Rec {
    pub state: ProfileState,
    pub keys: Vec<IdentityKey>,
    /// Its events in journey order, as `(ts, seq)`; the events themselves are in SQLite.
    pub events: Vec<(Micros, u64)>,
    pub deadlines: Vec<Deadline>,
    /// When each waypoint last fired; names shared through [`Hot::names`].
    pub fired: Vec<(Arc<str>, Micros)>,
    pub extra: Extra,
    /// Whether it is listed in [`Hot::dirty_profiles`].
    pub dirty: bool,
}

impl Rec {
    fn new(state: ProfileState) -> Self {
        Rec { state, keys: vec![], events: vec![], deadlines: vec![], fired: vec![], extra: Extra::default(), dirty: false }
    }
}

#[derive(Default)]
pub(crate) struct Hot {
    pub seq: u64,
    pub next_profile: u64,
    pub key_pos: u64,
    pub keys: FxHashMap<IdentityKey, ProfileId>,
    pub profiles: ById<Rec>,
    pub due: BTreeSet<(Micros, ProfileId, Arc<str>)>,
    pub earliest: Micros,
    pub edges: FxHashMap<IdentityKey, Vec<IdentityKey>>,
    /// Link log rows (`links.n`) by key.
    pub link_index: FxHashMap<IdentityKey, Vec<i64>>,
    /// The next link log row number.
    pub next_link: i64,
    /// Pending actions: outbox row by action id.
    pub outbox: FxHashMap<String, i64>,
    /// The next outbox row number.
    pub next_action: i64,
    /// Every key (as stored) that may have an identity conflict: a superset (a conflict
    /// deleted keeps its keys here until the state is reloaded), so that customer context
    /// asks the file only for keys that have one.
    pub conflict_keys: FxHashSet<String>,
    /// What changed since the last checkpoint of the state tables.
    /// Profiles changed since then: a live one once (its record's `dirty` flag says it is
    /// listed, so marking it costs no lookup in a set), a deleted one perhaps more often.
    pub dirty_profiles: Vec<ProfileId>,
    pub dirty_keys: FxHashSet<IdentityKey>,
    pub dirty_edges: FxHashSet<IdentityKey>,
    /// Set when the state could not be rebuilt after a failed transaction.
    pub broken: Option<String>,
    pub names: Names,
}

pub(crate) fn missing(id: ProfileId) -> Error {
    Error::Storage { message: format!("profile {id} does not exist"), source: None }
}

// ---- journal ops ----
const PUT_PROFILE: u8 = 1;
const DELETE_PROFILE: u8 = 2;
const PUT_KEY: u8 = 3;
const DELETE_KEY: u8 = 4;
const PUT_DEADLINE: u8 = 5;
const DELETE_DEADLINE: u8 = 6;
const SET_FIRED: u8 = 7;
const SET_PERSONA: u8 = 8;
const SET_ATTRIBUTES: u8 = 9;
const EDGE_ADD: u8 = 10;
const EDGE_REMOVE: u8 = 11;
const EDGES_DROP: u8 = 12;

/// Per-transaction state of the journal encoding: strings already written (waypoint ids,
/// event names and keys repeat) and the last time written (times are written as deltas).
#[derive(Default)]
pub(crate) struct EncState {
    strings: FxHashMap<String, u64>,
    prev: i64,
}

impl EncState {
    pub fn reset(&mut self) {
        self.strings.clear();
        self.prev = 0;
    }
}

/// Appends compact binary fields to a journal entry: LEB128 integers, times as zigzag
/// deltas, repeated strings as back-references.
pub(crate) struct Enc<'a> {
    pub out: &'a mut Vec<u8>,
    pub st: &'a mut EncState,
}

impl Enc<'_> {
    fn u8(&mut self, v: u8) -> &mut Self {
        self.out.push(v);
        self
    }
    fn u64(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.out.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.out.push(v as u8);
        self
    }
    fn ts(&mut self, v: i64) -> &mut Self {
        let d = v.wrapping_sub(self.st.prev);
        self.st.prev = v;
        self.u64(((d << 1) ^ (d >> 63)) as u64)
    }
    fn f64(&mut self, v: f64) -> &mut Self {
        self.out.extend_from_slice(&v.to_bits().to_le_bytes());
        self
    }
    fn str(&mut self, v: &str) -> &mut Self {
        if let Some(&i) = self.st.strings.get(v) {
            return self.u64(i);
        }
        let i = self.st.strings.len() as u64 + 1;
        self.st.strings.insert(v.to_string(), i);
        self.u64(0).u64(v.len() as u64);
        self.out.extend_from_slice(v.as_bytes());
        self
    }
    fn opt_u32(&mut self, v: Option<u32>) -> &mut Self {
        match v {
            Some(x) => self.u64(x as u64 + 1),
            None => self.u64(0),
        }
    }
    fn order(&mut self, (ts, seq): (Micros, u64)) -> &mut Self {
        self.ts(ts).u64(seq)
    }

    pub fn state(&mut self, s: &ProfileState) -> &mut Self {
        self.u64(s.id.0).u8(level_code(s.level)).u64(s.events).ts(s.first_ts).order(s.latest);
        self.opt_u32(s.current_phase).order(s.current_order).opt_u32(s.furthest_phase).u64(s.phases);
        self.u64(s.ratings as u64);
        if s.ratings > 0 {
            self.f64(s.rating_sum).f64(s.rating_min);
        }
        match s.last_rating {
            Some((o, x)) => self.u8(1).order(o).f64(x),
            None => self.u8(0),
        }
    }

    pub fn put_profile(&mut self, s: &ProfileState) {
        self.u8(PUT_PROFILE).state(s);
    }
    pub fn delete_profile(&mut self, id: ProfileId) {
        self.u8(DELETE_PROFILE).u64(id.0);
    }
    pub fn put_key(&mut self, key: &IdentityKey, id: ProfileId, pos: u64) {
        self.u8(PUT_KEY).str(key.as_str()).u64(id.0).u64(pos);
    }
    pub fn delete_key(&mut self, key: &IdentityKey) {
        self.u8(DELETE_KEY).str(key.as_str());
    }
    pub fn put_deadline(&mut self, d: &Deadline) {
        self.u8(PUT_DEADLINE).u64(d.profile.0).str(&d.waypoint).ts(d.armed_at).ts(d.due).u64(d.trigger_seq).str(&d.trigger_event);
    }
    pub fn delete_deadline(&mut self, id: ProfileId, waypoint: &str) {
        self.u8(DELETE_DEADLINE).u64(id.0).str(waypoint);
    }
    pub fn set_fired(&mut self, id: ProfileId, waypoint: &str, ts: Micros) {
        self.u8(SET_FIRED).u64(id.0).str(waypoint).ts(ts);
    }
    pub fn set_persona(&mut self, id: ProfileId, persona: Option<&str>) {
        self.u8(SET_PERSONA).u64(id.0);
        match persona {
            Some(p) => self.u8(1).str(p),
            None => self.u8(0),
        };
    }
    pub fn set_attributes(&mut self, id: ProfileId, json: &str) {
        self.u8(SET_ATTRIBUTES).u64(id.0).str(json);
    }
    pub fn edge(&mut self, add: bool, a: &IdentityKey, b: &IdentityKey) {
        self.u8(if add { EDGE_ADD } else { EDGE_REMOVE }).str(a.as_str()).str(b.as_str());
    }
    pub fn edges_drop(&mut self, key: &IdentityKey) {
        self.u8(EDGES_DROP).str(key.as_str());
    }
}

fn level_code(l: IdentityLevel) -> u8 {
    match l {
        IdentityLevel::Anonymous => 0,
        IdentityLevel::Identified => 1,
        IdentityLevel::Authenticated => 2,
    }
}

fn bad_journal(what: &str) -> Error {
    Error::Storage { message: format!("the store's journal is damaged ({what})"), source: None }
}

/// Reads a journal entry written by [`Enc`].
pub(crate) struct Dec<'a> {
    bytes: &'a [u8],
    strings: Vec<&'a str>,
    prev: i64,
}

impl<'a> Dec<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Dec { bytes, strings: Vec::new(), prev: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.bytes.len() < n {
            return Err(bad_journal("an entry ends early"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u64(&mut self) -> Result<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= ((b & 0x7f) as u64) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(bad_journal("an integer is too long"))
    }
    fn ts(&mut self) -> Result<i64> {
        let z = self.u64()?;
        let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
        self.prev = self.prev.wrapping_add(d);
        Ok(self.prev)
    }
    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes"))))
    }
    fn str(&mut self) -> Result<&'a str> {
        let i = self.u64()? as usize;
        if i > 0 {
            return self.strings.get(i - 1).copied().ok_or_else(|| bad_journal("a string refers to nothing"));
        }
        let n = self.u64()? as usize;
        let s = std::str::from_utf8(self.take(n)?).map_err(|_| bad_journal("text is not UTF-8"))?;
        self.strings.push(s);
        Ok(s)
    }
    fn key(&mut self) -> Result<IdentityKey> {
        let s = self.str()?;
        IdentityKey::parse(s).map_err(|e| bad_journal(&e))
    }
    fn opt_u32(&mut self) -> Result<Option<u32>> {
        Ok(match self.u64()? {
            0 => None,
            x => Some((x - 1) as u32),
        })
    }
    fn order(&mut self) -> Result<(Micros, u64)> {
        Ok((self.ts()?, self.u64()?))
    }
    pub fn state(&mut self) -> Result<ProfileState> {
        let id = ProfileId(self.u64()?);
        let level = match self.u8()? {
            0 => IdentityLevel::Anonymous,
            1 => IdentityLevel::Identified,
            2 => IdentityLevel::Authenticated,
            _ => return Err(bad_journal("unknown identity level")),
        };
        let mut s = ProfileState::new(id, level);
        s.events = self.u64()?;
        s.first_ts = self.ts()?;
        s.latest = self.order()?;
        s.current_phase = self.opt_u32()?;
        s.current_order = self.order()?;
        s.furthest_phase = self.opt_u32()?;
        s.phases = self.u64()?;
        s.ratings = self.u64()? as u32;
        if s.ratings > 0 {
            s.rating_sum = self.f64()?;
            s.rating_min = self.f64()?;
        }
        s.last_rating = if self.u8()? == 1 { Some((self.order()?, self.f64()?)) } else { None };
        Ok(s)
    }
}

impl Hot {
    pub fn new() -> Self {
        Hot { earliest: Micros::MAX, ..Default::default() }
    }

    pub fn rec(&self, id: ProfileId) -> Result<&Rec> {
        self.profiles.get(&id).ok_or_else(|| missing(id))
    }

    pub fn rec_mut(&mut self, id: ProfileId) -> Result<&mut Rec> {
        self.profiles.get_mut(&id).ok_or_else(|| missing(id))
    }

    fn reset_earliest(&mut self) {
        self.earliest = self.due.first().map_or(Micros::MAX, |(due, _, _)| *due);
    }

    // ---- changes (shared by live transactions and journal replay) ----

    /// Lists a profile among those changed since the last checkpoint.
    fn touch(&mut self, id: ProfileId) {
        match self.profiles.get_mut(&id) {
            Some(r) if r.dirty => {}
            Some(r) => {
                r.dirty = true;
                self.dirty_profiles.push(id);
            }
            None => self.dirty_profiles.push(id),
        }
    }

    pub fn put_profile(&mut self, state: &ProfileState) {
        self.profiles.get_or_insert_with(state.id, || Rec::new(*state)).state = *state;
        self.touch(state.id);
    }

    pub fn delete_profile(&mut self, id: ProfileId) -> Option<Rec> {
        let rec = self.profiles.remove(&id)?;
        for d in &rec.deadlines {
            self.due.remove(&(d.due, id, d.waypoint.clone()));
        }
        self.reset_earliest();
        self.dirty_profiles.push(id);
        Some(rec)
    }

    pub fn put_key(&mut self, key: &IdentityKey, id: ProfileId, pos: u64) -> Result<()> {
        if !self.profiles.contains_key(&id) {
            return Err(missing(id));
        }
        if let Some(old) = self.keys.insert(key.clone(), id)
            && let Some(r) = self.profiles.get_mut(&old)
        {
            r.keys.retain(|k| k != key);
        }
        self.rec_mut(id)?.keys.push(key.clone());
        self.key_pos = self.key_pos.max(pos + 1);
        self.dirty_keys.insert(key.clone());
        Ok(())
    }

    pub fn delete_key(&mut self, key: &IdentityKey) {
        if let Some(old) = self.keys.remove(key)
            && let Some(r) = self.profiles.get_mut(&old)
        {
            r.keys.retain(|k| k != key);
        }
        self.dirty_keys.insert(key.clone());
    }

    pub fn put_deadline(&mut self, deadline: Deadline) -> Result<()> {
        let id = deadline.profile;
        self.delete_deadline(id, &deadline.waypoint);
        self.due.insert((deadline.due, id, deadline.waypoint.clone()));
        self.earliest = self.earliest.min(deadline.due);
        self.rec_mut(id)?.deadlines.push(deadline);
        self.touch(id);
        Ok(())
    }

    pub fn delete_deadline(&mut self, id: ProfileId, waypoint: &str) -> bool {
        let Some(r) = self.profiles.get_mut(&id) else { return false };
        let Some(at) = r.deadlines.iter().position(|d| &*d.waypoint == waypoint) else { return false };
        let d = r.deadlines.remove(at);
        self.due.remove(&(d.due, id, d.waypoint));
        if d.due <= self.earliest {
            self.reset_earliest();
        }
        self.touch(id);
        true
    }

    pub fn set_fired(&mut self, id: ProfileId, waypoint: &str, ts: Micros) -> Result<()> {
        let r = self.profiles.get_mut(&id).ok_or_else(|| missing(id))?;
        match r.fired.iter_mut().find(|(w, _)| **w == *waypoint) {
            Some(entry) => entry.1 = entry.1.max(ts),
            None => r.fired.push((self.names.get(waypoint), ts)),
        }
        self.touch(id);
        Ok(())
    }

    pub fn set_persona(&mut self, id: ProfileId, persona: Option<&str>) -> Result<()> {
        self.rec_mut(id)?.extra.set_persona(persona.map(str::to_string));
        self.touch(id);
        Ok(())
    }

    pub fn set_attributes(&mut self, id: ProfileId, attributes: Map<String, Value>) -> Result<()> {
        self.rec_mut(id)?.extra.set_attributes(attributes);
        self.touch(id);
        Ok(())
    }

    pub fn edge(&mut self, add: bool, a: &IdentityKey, b: &IdentityKey) {
        for (x, y) in [(a, b), (b, a)] {
            if add {
                let n = self.edges.entry(x.clone()).or_default();
                if !n.contains(y) {
                    n.push(y.clone());
                }
            } else if let Some(n) = self.edges.get_mut(x) {
                n.retain(|k| k != y);
                if n.is_empty() {
                    self.edges.remove(x);
                }
            }
            self.dirty_edges.insert(x.clone());
        }
    }

    pub fn edges_drop(&mut self, key: &IdentityKey) {
        for other in self.edges.remove(key).unwrap_or_default() {
            if let Some(n) = self.edges.get_mut(&other) {
                n.retain(|k| k != key);
                if n.is_empty() {
                    self.edges.remove(&other);
                }
            }
            self.dirty_edges.insert(other);
        }
        self.dirty_edges.insert(key.clone());
    }

    /// Applies one journal entry.
    fn replay(&mut self, ops: &[u8]) -> Result<()> {
        let mut d = Dec::new(ops);
        while !d.bytes.is_empty() {
            match d.u8()? {
                PUT_PROFILE => {
                    let s = d.state()?;
                    self.put_profile(&s);
                }
                DELETE_PROFILE => {
                    self.delete_profile(ProfileId(d.u64()?));
                }
                PUT_KEY => {
                    let key = d.key()?;
                    let (id, pos) = (ProfileId(d.u64()?), d.u64()?);
                    self.put_key(&key, id, pos)?;
                }
                DELETE_KEY => self.delete_key(&d.key()?),
                PUT_DEADLINE => {
                    let profile = ProfileId(d.u64()?);
                    let waypoint: Arc<str> = Arc::from(d.str()?);
                    let (armed_at, due, trigger_seq) = (d.ts()?, d.ts()?, d.u64()?);
                    let trigger_event: Arc<str> = Arc::from(d.str()?);
                    self.put_deadline(Deadline { profile, waypoint, armed_at, due, trigger_seq, trigger_event })?;
                }
                DELETE_DEADLINE => {
                    let id = ProfileId(d.u64()?);
                    self.delete_deadline(id, d.str()?);
                }
                SET_FIRED => {
                    let id = ProfileId(d.u64()?);
                    let waypoint = d.str()?;
                    self.set_fired(id, waypoint, d.ts()?)?;
                }
                SET_PERSONA => {
                    let id = ProfileId(d.u64()?);
                    let persona = if d.u8()? == 1 { Some(d.str()?) } else { None };
                    self.set_persona(id, persona)?;
                }
                SET_ATTRIBUTES => {
                    let id = ProfileId(d.u64()?);
                    let attributes = serde_json::from_str(d.str()?).map_err(|_| bad_journal("attributes are not a JSON object"))?;
                    self.set_attributes(id, attributes)?;
                }
                op @ (EDGE_ADD | EDGE_REMOVE) => {
                    let (a, b) = (d.key()?, d.key()?);
                    self.edge(op == EDGE_ADD, &a, &b);
                }
                EDGES_DROP => self.edges_drop(&d.key()?),
                other => return Err(bad_journal(&format!("unknown operation {other}"))),
            }
        }
        Ok(())
    }

    /// Rebuilds the hot state from the file: the checkpointed tables, then the journal,
    /// then the events and the link log.
    pub fn load(conn: &Connection, sql: &dyn Fn(&str, rusqlite::Error) -> Error) -> Result<Hot> {
        let mut hot = Hot::new();
        let q = |e| sql("reading the store", e);
        {
            let mut stmt = conn.prepare("SELECT name, value FROM meta").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                let (name, value): (String, i64) = (row.get(0).map_err(q)?, row.get(1).map_err(q)?);
                match name.as_str() {
                    "seq" => hot.seq = value as u64,
                    "next_profile" => hot.next_profile = value as u64,
                    "key_pos" => hot.key_pos = value as u64,
                    _ => {}
                }
            }
        }
        {
            let mut stmt = conn.prepare("SELECT state, deadlines, fired, persona, attributes FROM profiles").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                let state = Dec::new(row.get_ref(0).map_err(q)?.as_blob().map_err(|e| q(e.into()))?).state()?;
                let deadlines: Vec<Deadline> = json_column(row, 1, "deadlines")?;
                let fired: Vec<(String, Micros)> = json_column(row, 2, "fired")?;
                let fired = fired.into_iter().map(|(w, ts)| (hot.names.get(&w), ts)).collect();
                let persona: Option<String> = row.get(3).map_err(q)?;
                let attributes: Map<String, Value> = json_column(row, 4, "attributes")?;
                let id = state.id;
                for d in &deadlines {
                    hot.due.insert((d.due, id, d.waypoint.clone()));
                }
                hot.profiles.insert(id, Rec { state, keys: vec![], events: vec![], deadlines, fired, extra: Extra::new(persona, attributes), dirty: false });
            }
        }
        {
            let mut stmt = conn.prepare("SELECT key, profile FROM keys ORDER BY pos").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                let key = IdentityKey::parse(row.get_ref(0).map_err(q)?.as_str().map_err(|e| q(e.into()))?).map_err(|e| damaged(&e))?;
                let id = ProfileId(row.get::<_, i64>(1).map_err(q)? as u64);
                let r = hot.profiles.get_mut(&id).ok_or_else(|| damaged(&format!("key {key} belongs to a missing profile {id}")))?;
                r.keys.push(key.clone());
                hot.keys.insert(key, id);
            }
        }
        {
            let mut stmt = conn.prepare("SELECT key, neighbours FROM edges").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                let key = IdentityKey::parse(row.get_ref(0).map_err(q)?.as_str().map_err(|e| q(e.into()))?).map_err(|e| damaged(&e))?;
                let neighbours: Vec<IdentityKey> = json_column(row, 1, "edges")?;
                hot.edges.insert(key, neighbours);
            }
        }
        {
            let mut stmt = conn.prepare("SELECT seq, next_profile, key_pos, ops FROM journal ORDER BY n").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                hot.replay(row.get_ref(3).map_err(q)?.as_blob().map_err(|e| q(e.into()))?)?;
                hot.seq = hot.seq.max(row.get::<_, i64>(0).map_err(q)? as u64);
                hot.next_profile = hot.next_profile.max(row.get::<_, i64>(1).map_err(q)? as u64);
                hot.key_pos = hot.key_pos.max(row.get::<_, i64>(2).map_err(q)? as u64);
            }
        }
        {
            let merges = super::tx::Merges::load(conn, &q)?;
            let mut stmt = conn.prepare("SELECT seq, ts, profile FROM events").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                let (seq, ts, id): (i64, i64, i64) = (row.get(0).map_err(q)?, row.get(1).map_err(q)?, merges.profile(row.get(2).map_err(q)?));
                let r =
                    hot.profiles.get_mut(&ProfileId(id as u64)).ok_or_else(|| damaged(&format!("event {seq} belongs to a missing profile {id}")))?;
                r.events.push((ts, seq as u64));
            }
            for r in hot.profiles.values_mut() {
                if !r.events.is_sorted() {
                    r.events.sort_unstable();
                }
            }
        }
        {
            let mut stmt = conn.prepare("SELECT n, a, b FROM links ORDER BY n").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            hot.next_link = 1;
            while let Some(row) = rows.next().map_err(q)? {
                let n: i64 = row.get(0).map_err(q)?;
                hot.next_link = n + 1;
                for i in [1, 2] {
                    let key = IdentityKey::parse(row.get_ref(i).map_err(q)?.as_str().map_err(|e| q(e.into()))?).map_err(|e| damaged(&e))?;
                    let list = hot.link_index.entry(key).or_default();
                    if list.last() != Some(&n) {
                        list.push(n);
                    }
                }
            }
        }
        {
            let mut stmt = conn.prepare("SELECT key, other FROM conflicts").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            while let Some(row) = rows.next().map_err(q)? {
                hot.conflict_keys.insert(row.get(0).map_err(q)?);
                hot.conflict_keys.insert(row.get(1).map_err(q)?);
            }
        }
        {
            let mut stmt = conn.prepare("SELECT n, id FROM outbox").map_err(q)?;
            let mut rows = stmt.query([]).map_err(q)?;
            hot.next_action = 1;
            while let Some(row) = rows.next().map_err(q)? {
                let n: i64 = row.get(0).map_err(q)?;
                hot.next_action = hot.next_action.max(n + 1);
                hot.outbox.insert(row.get(1).map_err(q)?, n);
            }
        }
        hot.reset_earliest();
        Ok(hot)
    }

    /// The rows that bring the state tables up to date with what changed (built under the
    /// read lock, written by the writer thread).
    pub fn checkpoint_rows(&self, dirty: &Dirty) -> Checkpoint {
        let mut c = Checkpoint::default();
        let mut blob = Vec::with_capacity(128);
        for id in &dirty.profiles {
            match self.profiles.get(id) {
                Some(r) => {
                    let s = &r.state;
                    blob.clear();
                    Enc { out: &mut blob, st: &mut EncState::default() }.state(s);
                    c.profiles.push(ProfileRow {
                        id: id.0 as i64,
                        level: s.level.as_str(),
                        events: s.events as i64,
                        first_ts: (s.events > 0).then_some(s.first_ts),
                        last_ts: (s.events > 0).then_some(s.latest.0),
                        current_phase: s.current_phase,
                        furthest_phase: s.furthest_phase,
                        persona: r.extra.persona().cloned(),
                        attributes: r.extra.attributes().map_or_else(|| "{}".to_string(), to_json),
                        deadlines: to_json(&r.deadlines),
                        fired: to_json(&r.fired),
                        state: blob.clone(),
                    });
                }
                None => c.deleted_profiles.push(id.0 as i64),
            }
        }
        // A profile whose keys changed has all its keys rewritten with their rank: the
        // order keys joined in is kept.
        let mut touched = Vec::new();
        for key in &dirty.keys {
            match self.keys.get(key) {
                Some(id) => touched.push(*id),
                None => c.deleted_keys.push(key.as_str().to_string()),
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for id in touched {
            if let Some(r) = self.profiles.get(&id) {
                for (pos, key) in r.keys.iter().enumerate() {
                    c.keys.push((key.as_str().to_string(), id.0 as i64, pos as i64));
                }
            }
        }
        for key in &dirty.edges {
            match self.edges.get(key) {
                Some(n) => c.edges.push((key.as_str().to_string(), to_json(n))),
                None => c.deleted_edges.push(key.as_str().to_string()),
            }
        }
        c.meta = [("seq", self.seq as i64), ("next_profile", self.next_profile as i64), ("key_pos", self.key_pos as i64)];
        c
    }

    /// Takes the sets of what changed since the last checkpoint, sorted.
    pub fn take_dirty(&mut self) -> Dirty {
        let mut profiles = std::mem::take(&mut self.dirty_profiles);
        for id in &profiles {
            if let Some(r) = self.profiles.get_mut(id) {
                r.dirty = false;
            }
        }
        profiles.sort_unstable();
        profiles.dedup();
        let mut keys: Vec<IdentityKey> = self.dirty_keys.drain().collect();
        keys.sort_unstable();
        let mut edges: Vec<IdentityKey> = self.dirty_edges.drain().collect();
        edges.sort_unstable();
        Dirty { profiles, keys, edges }
    }

    /// Puts back sets taken by [`Hot::take_dirty`] (the checkpoint failed).
    pub fn restore_dirty(&mut self, dirty: Dirty) {
        for id in dirty.profiles {
            self.touch(id);
        }
        self.dirty_keys.extend(dirty.keys);
        self.dirty_edges.extend(dirty.edges);
    }

    pub fn is_dirty(&self) -> bool {
        !self.dirty_profiles.is_empty() || !self.dirty_keys.is_empty() || !self.dirty_edges.is_empty()
    }
}

pub(crate) struct ProfileRow {
    id: i64,
    level: &'static str,
    events: i64,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
    current_phase: Option<u32>,
    furthest_phase: Option<u32>,
    persona: Option<String>,
    attributes: String,
    deadlines: String,
    fired: String,
    state: Vec<u8>,
}

/// The rows of a state checkpoint.
#[derive(Default)]
pub(crate) struct Checkpoint {
    profiles: Vec<ProfileRow>,
    deleted_profiles: Vec<i64>,
    keys: Vec<(String, i64, i64)>,
    deleted_keys: Vec<String>,
    edges: Vec<(String, String)>,
    deleted_edges: Vec<String>,
    meta: [(&'static str, i64); 3],
}

impl Checkpoint {
    /// Writes the rows and empties the journal, inside the caller's transaction.
    pub fn write(self, conn: &Connection, sql: &dyn Fn(&str, rusqlite::Error) -> Error) -> Result<()> {
        let q = |e| sql("writing a state checkpoint", e);
        let mut upsert = conn
            .prepare_cached(
                "INSERT OR REPLACE INTO profiles (id, level, events, first_ts, last_ts, current_phase, furthest_phase, persona, attributes, deadlines, fired, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(q)?;
        for p in &self.profiles {
            upsert
                .execute(params![
                    p.id,
                    p.level,
                    p.events,
                    p.first_ts,
                    p.last_ts,
                    p.current_phase,
                    p.furthest_phase,
                    p.persona,
                    p.attributes,
                    p.deadlines,
                    p.fired,
                    p.state
                ])
                .map_err(q)?;
        }
        let mut delete = conn.prepare_cached("DELETE FROM profiles WHERE id = ?1").map_err(q)?;
        for id in &self.deleted_profiles {
            delete.execute([id]).map_err(q)?;
        }
        let mut delete = conn.prepare_cached("DELETE FROM keys WHERE key = ?1").map_err(q)?;
        for key in &self.deleted_keys {
            delete.execute([key]).map_err(q)?;
        }
        let mut upsert = conn.prepare_cached("INSERT OR REPLACE INTO keys (key, profile, pos) VALUES (?1, ?2, ?3)").map_err(q)?;
        for (key, id, pos) in &self.keys {
            upsert.execute(params![key, id, pos]).map_err(q)?;
        }
        let mut upsert = conn.prepare_cached("INSERT OR REPLACE INTO edges (key, neighbours) VALUES (?1, ?2)").map_err(q)?;
        for (key, n) in &self.edges {
            upsert.execute(params![key, n]).map_err(q)?;
        }
        let mut delete = conn.prepare_cached("DELETE FROM edges WHERE key = ?1").map_err(q)?;
        for key in &self.deleted_edges {
            delete.execute([key]).map_err(q)?;
        }
        let mut meta = conn.prepare_cached("INSERT OR REPLACE INTO meta (name, value) VALUES (?1, ?2)").map_err(q)?;
        for (name, value) in self.meta {
            meta.execute(params![name, value]).map_err(q)?;
        }
        conn.execute("DELETE FROM journal", []).map_err(q)?;
        Ok(())
    }
}

/// What changed since the last checkpoint, sorted.
pub(crate) struct Dirty {
    pub profiles: Vec<ProfileId>,
    pub keys: Vec<IdentityKey>,
    pub edges: Vec<IdentityKey>,
}

pub(crate) fn to_json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("store values serialise")
}

pub(crate) fn damaged(what: &str) -> Error {
    Error::Storage { message: format!("the store is damaged: {what}"), source: None }
}

fn json_column<T: for<'de> serde::Deserialize<'de>>(row: &rusqlite::Row<'_>, i: usize, what: &str) -> Result<T> {
    let text = row.get_ref(i).ok().and_then(|v| v.as_str().ok()).ok_or_else(|| damaged(&format!("{what} is not text")))?;
    serde_json::from_str(text).map_err(|e| damaged(&format!("{what} is not valid JSON: {e}")))
}
