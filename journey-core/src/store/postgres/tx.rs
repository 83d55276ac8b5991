//! One transaction of a PostgreSQL store.
//!
//! A write transaction runs under the store's advisory lock, so what it reads stays true
//! until it commits: it caches keys, profile summaries, deadlines and caps for its own
//! length and buffers its writes (events, summaries, key changes, the deadlines and caps
//! of the profiles it changed, actions), writing each buffer in one statement at commit
//! or before a statement that reads that table. `next_due` reads deadlines ahead in due
//! order and merges them with the changed profiles' deadlines from the cache.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::{Map, Value};

use super::Ctx;
use super::pool::Statements;
use super::rows::*;
use crate::error::{Error, Result};
use crate::identity::IdentityKey;
use crate::outbox::ActionRecord;
use crate::profile::{Conflict, EventRef, LinkEntry, LinkOutcome, ProfileId, ProfileState, TrackedEvent};
use crate::store::{Deadline, Tx};
use crate::time::Micros;

type Params<'p> = [&'p (dyn ToSql + Sync)];

/// What a write transaction read and wrote, kept by the store for the next one: valid
/// while the store's generation (bumped by every committed write, of any instance) has
/// not moved.
#[derive(Default)]
pub(crate) struct Cache {
    keys: FxHashMap<IdentityKey, Option<ProfileId>>,
    profiles: FxHashMap<ProfileId, Option<ProfileState>>,
    deadlines: FxHashMap<ProfileId, Vec<Deadline>>,
    fired: FxHashMap<ProfileId, Caps>,
    members: FxHashMap<ProfileId, Vec<IdentityKey>>,
    edges: FxHashMap<IdentityKey, Vec<IdentityKey>>,
    extras: FxHashMap<ProfileId, Extras>,
    due_floor: Option<Micros>,
}

/// A profile's persona and attributes.
#[derive(Default, Clone)]
struct Extras {
    persona: Option<String>,
    attributes: Map<String, Value>,
}

impl Cache {
    /// Entries held.
    pub fn len(&self) -> usize {
        self.keys.len() + self.profiles.len() + self.edges.len()
    }
}

pub(crate) struct PgTx<'a> {
    t: RefCell<Transaction<'a>>,
    stmts: RefCell<&'a mut Statements>,
    ctx: &'a Ctx,
    write: bool,
    /// Rows per fetch of a portal.
    fetch: i32,
    /// A call failed on something worth running the transaction again for.
    transient: Cell<bool>,
    /// The store's generation as of the start.
    generation: i64,
    seq: u64,
    next_profile: u64,
    /// Caches, valid for this transaction (under the lock, or in its snapshot).
    keys: RefCell<FxHashMap<IdentityKey, Option<ProfileId>>>,
    profiles: RefCell<FxHashMap<ProfileId, Option<ProfileState>>>,
    deadlines: RefCell<FxHashMap<ProfileId, Vec<Deadline>>>,
    fired: RefCell<FxHashMap<ProfileId, Vec<(String, Micros)>>>,
    /// A profile's keys in order (complete lists, kept up to date by key changes).
    members: RefCell<FxHashMap<ProfileId, Vec<IdentityKey>>>,
    /// The keys linked to a key in edge order (complete lists, kept up to date by links).
    edges: RefCell<FxHashMap<IdentityKey, Vec<IdentityKey>>>,
    /// Personas and attributes (written through, so the database agrees).
    extras: RefCell<FxHashMap<ProfileId, Extras>>,
    /// No armed deadline falls due before this (`None`: unknown).
    due_floor: Cell<Option<Micros>>,
    /// Armed deadlines read ahead from the database in due order (until the deadlines are
    /// next written), with the last one read if there may be more; rows of changed
    /// profiles are stale and skipped.
    upcoming: RefCell<Option<(VecDeque<Deadline>, Option<Deadline>)>>,
    /// The deadlines of the changed profiles (authoritative for them), in due order.
    dirty_due: RefCell<BTreeSet<(Micros, ProfileId, Arc<str>)>>,
    /// Written at commit (or before a statement that reads them): appended events,
    /// changed summaries, key changes in order, profiles whose deadlines or caps changed
    /// (rewritten from the caches), new actions.
    new_events: RefCell<Vec<(i64, i64, i64, String)>>,
    dirty: RefCell<BTreeMap<ProfileId, ProfileState>>,
    key_ops: RefCell<Vec<(IdentityKey, Option<ProfileId>)>>,
    dirty_deadlines: RefCell<BTreeSet<ProfileId>>,
    dirty_fired: RefCell<BTreeSet<ProfileId>>,
    new_actions: RefCell<Vec<ActionRecord>>,
    /// Stored events to move, `from -> to` (composed, each `from` once).
    moves: RefCell<Vec<(i64, i64)>>,
    /// Profiles deleted (their rows go at the next flush of the summaries).
    gone: RefCell<Vec<i64>>,
    /// Link log entries to append, in order.
    new_links: RefCell<Vec<NewLink>>,
    /// Edge changes in order: `true` adds the pair (both ways), `false` removes it.
    edge_ops: RefCell<Vec<(bool, IdentityKey, IdentityKey)>>,
}

/// A link log entry as stored: a, b, ts, event_seq, outcome, absorbed, profile.
type NewLink = (IdentityKey, IdentityKey, i64, Option<i64>, String, Option<i64>, i64);

/// Deadlines read ahead by `next_due`.
const READ_AHEAD: usize = 64;

/// A key with its profile, deadlines and caps.
const KEY_BUNDLE: &str = bundle_sql!("k.profile,", "FROM keys k LEFT JOIN profiles p ON p.id = k.profile WHERE k.key = $1");
/// Many keys with their profiles, deadlines and caps.
const KEYS_BUNDLE: &str = bundle_sql!("k.key, k.profile,", "FROM keys k LEFT JOIN profiles p ON p.id = k.profile WHERE k.key = ANY($1)");
/// A profile with its deadlines and caps.
const PROFILE_BUNDLE: &str = bundle_sql!("", "FROM profiles p WHERE p.id = $1");

impl<'a> PgTx<'a> {
    /// Wraps an open transaction; a write transaction (which holds the lock) reads the
    /// counters, and starts from `cache` if nothing was committed since it was made.
    pub fn begin(t: Transaction<'a>, stmts: &'a mut Statements, ctx: &'a Ctx, write: bool, fetch: i32, cache: Option<(i64, Cache)>) -> Result<Self> {
        let mut tx = PgTx {
            t: RefCell::new(t),
            stmts: RefCell::new(stmts),
            ctx,
            write,
            fetch,
            transient: Cell::new(false),
            generation: 0,
            seq: 0,
            next_profile: 0,
            keys: RefCell::default(),
            profiles: RefCell::default(),
            deadlines: RefCell::default(),
            fired: RefCell::default(),
            members: RefCell::default(),
            edges: RefCell::default(),
            extras: RefCell::default(),
            due_floor: Cell::new(None),
            upcoming: RefCell::default(),
            dirty_due: RefCell::default(),
            new_events: RefCell::default(),
            dirty: RefCell::default(),
            key_ops: RefCell::default(),
            dirty_deadlines: RefCell::default(),
            dirty_fired: RefCell::default(),
            new_actions: RefCell::default(),
            moves: RefCell::default(),
            gone: RefCell::default(),
            new_links: RefCell::default(),
            edge_ops: RefCell::default(),
        };
        if write {
            let (seq, next, generation) = tx.read_counters()?;
            (tx.seq, tx.next_profile, tx.generation) = (seq, next, generation);
            if let Some((made, c)) = cache
                && made == generation
            {
                *tx.keys.get_mut() = c.keys;
                *tx.profiles.get_mut() = c.profiles;
                *tx.deadlines.get_mut() = c.deadlines;
                *tx.fired.get_mut() = c.fired;
                *tx.members.get_mut() = c.members;
                *tx.edges.get_mut() = c.edges;
                *tx.extras.get_mut() = c.extras;
                tx.due_floor.set(c.due_floor);
            }
        }
        Ok(tx)
    }

    /// Whether a call failed on a serialization failure, a deadlock or a lost connection.
    pub fn failed_transiently(&self) -> bool {
        self.transient.get()
    }

    fn fail(&self, what: &str, e: postgres::Error) -> Error {
        if super::transient(&e) {
            self.transient.set(true);
        }
        self.ctx.pg(what, e)
    }

    fn stmt(&self, what: &str, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.stmts.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = self.t.borrow_mut().prepare(sql).map_err(|e| self.fail(what, e))?;
        self.stmts.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }

    fn query(&self, what: &str, sql: &'static str, params: &Params<'_>) -> Result<Vec<Row>> {
        let s = self.stmt(what, sql)?;
        self.t.borrow_mut().query(&s, params).map_err(|e| self.fail(what, e))
    }

    fn query_opt(&self, what: &str, sql: &'static str, params: &Params<'_>) -> Result<Option<Row>> {
        let s = self.stmt(what, sql)?;
        self.t.borrow_mut().query_opt(&s, params).map_err(|e| self.fail(what, e))
    }

    fn execute(&self, what: &str, sql: &'static str, params: &Params<'_>) -> Result<u64> {
        let s = self.stmt(what, sql)?;
        self.t.borrow_mut().execute(&s, params).map_err(|e| self.fail(what, e))
    }

    fn read_counters(&self) -> Result<(u64, u64, i64)> {
        let row = self
            .query_opt("reading the counters", "SELECT seq, next_profile, generation FROM counters", &[])?
            .ok_or_else(|| self.ctx.error("the counters row is missing"))?;
        Ok((row.get::<_, i64>(0) as u64, row.get::<_, i64>(1) as u64, row.get(2)))
    }

    /// Streams rows of `sql` through a portal, `fetch` at a time, to `f` until it says stop.
    fn stream(&self, what: &str, sql: &'static str, params: &Params<'_>, f: &mut dyn FnMut(&Row) -> Result<bool>) -> Result<()> {
        self.flush()?;
        let s = self.stmt(what, sql)?;
        let portal = self.t.borrow_mut().bind(&s, params).map_err(|e| self.fail(what, e))?;
        loop {
            // The borrow ends before `f` runs, so `f` may use the transaction too.
            let rows = self.t.borrow_mut().query_portal(&portal, self.fetch).map_err(|e| self.fail(what, e))?;
            let full = rows.len() >= self.fetch as usize;
            for r in &rows {
                if !f(r)? {
                    return Ok(());
                }
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Writes everything buffered.
    pub fn flush(&self) -> Result<()> {
        self.flush_events()?;
        self.flush_profiles()?;
        self.flush_keys()?;
        self.flush_deadlines()?;
        self.flush_fired()?;
        self.flush_actions()?;
        self.flush_links()?;
        self.flush_edges()
    }

    /// Moves stored events as buffered by `move_events`.
    fn flush_moves(&self) -> Result<()> {
        let moves = std::mem::take(&mut *self.moves.borrow_mut());
        if !moves.is_empty() {
            let (from, to): (Vec<i64>, Vec<i64>) = moves.into_iter().filter(|(f, t)| f != t).unzip();
            self.execute(
                "moving events",
                "UPDATE events e SET profile = m.t FROM unnest($1::bigint[], $2::bigint[]) AS m(f, t) WHERE e.profile = m.f",
                &[&from, &to],
            )?;
        }
        Ok(())
    }

    fn flush_links(&self) -> Result<()> {
        let links = std::mem::take(&mut *self.new_links.borrow_mut());
        if links.is_empty() {
            return Ok(());
        }
        let a: Vec<&str> = links.iter().map(|l| l.0.as_str()).collect();
        let b: Vec<&str> = links.iter().map(|l| l.1.as_str()).collect();
        let ts: Vec<i64> = links.iter().map(|l| l.2).collect();
        let seqs: Vec<Option<i64>> = links.iter().map(|l| l.3).collect();
        let outcomes: Vec<&str> = links.iter().map(|l| l.4.as_str()).collect();
        let absorbed: Vec<Option<i64>> = links.iter().map(|l| l.5).collect();
        let profiles: Vec<i64> = links.iter().map(|l| l.6).collect();
        self.execute(
            "writing the link log",
            "INSERT INTO links (a, b, ts, event_seq, outcome, absorbed, profile) SELECT a, b, ts, event_seq, outcome, absorbed, profile
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[]) WITH ORDINALITY AS u(a, b, ts, event_seq, outcome, absorbed, profile, ord)
             ORDER BY ord",
            &[&a, &b, &ts, &seqs, &outcomes, &absorbed, &profiles],
        )?;
        Ok(())
    }

    /// Applies the edge changes in order, one statement per run of additions or removals.
    fn flush_edges(&self) -> Result<()> {
        let ops = std::mem::take(&mut *self.edge_ops.borrow_mut());
        for run in ops.chunk_by(|x, y| x.0 == y.0) {
            let (mut a, mut b): (Vec<&str>, Vec<&str>) = Default::default();
            for (_, x, y) in run {
                a.extend([x.as_str(), y.as_str()]);
                b.extend([y.as_str(), x.as_str()]);
            }
            if run[0].0 {
                self.execute(
                    "writing link edges",
                    "INSERT INTO edges (a, b) SELECT a, b FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(a, b, ord) ORDER BY ord ON CONFLICT DO NOTHING",
                    &[&a, &b],
                )?;
            } else {
                self.execute(
                    "removing link edges",
                    "DELETE FROM edges e USING unnest($1::text[], $2::text[]) AS u(a, b) WHERE e.a = u.a AND e.b = u.b",
                    &[&a, &b],
                )?;
            }
        }
        Ok(())
    }

    fn flush_events(&self) -> Result<()> {
        self.flush_moves()?;
        let events = std::mem::take(&mut *self.new_events.borrow_mut());
        if !events.is_empty() {
            let mut cols: (Vec<i64>, Vec<i64>, Vec<i64>, Vec<String>) = Default::default();
            for (seq, profile, ts, body) in events {
                cols.0.push(seq);
                cols.1.push(profile);
                cols.2.push(ts);
                cols.3.push(body);
            }
            self.execute(
                "writing events",
                "INSERT INTO events (seq, profile, ts, body) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[])",
                &[&cols.0, &cols.1, &cols.2, &cols.3],
            )?;
        }
        Ok(())
    }

    fn flush_profiles(&self) -> Result<()> {
        let gone = std::mem::take(&mut *self.gone.borrow_mut());
        if !gone.is_empty() {
            self.execute("deleting profiles", "DELETE FROM profiles WHERE id = ANY($1)", &[&gone])?;
        }
        let dirty = std::mem::take(&mut *self.dirty.borrow_mut());
        if !dirty.is_empty() {
            let mut c = ProfileColumns::default();
            for s in dirty.values() {
                c.push(s);
            }
            self.execute(
                "writing profile summaries",
                "INSERT INTO profiles (id, level, events, first_ts, latest_ts, latest_seq, current_phase, current_ts, current_seq, furthest_phase, phases, ratings, rating_sum, rating_min, last_rating_ts, last_rating_seq, last_rating)
                 SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::int[], $8::bigint[], $9::bigint[], $10::int[], $11::bigint[], $12::int[], $13::float8[], $14::float8[], $15::bigint[], $16::bigint[], $17::float8[])
                 ON CONFLICT (id) DO UPDATE SET level = EXCLUDED.level, events = EXCLUDED.events, first_ts = EXCLUDED.first_ts, latest_ts = EXCLUDED.latest_ts,
                   latest_seq = EXCLUDED.latest_seq, current_phase = EXCLUDED.current_phase, current_ts = EXCLUDED.current_ts, current_seq = EXCLUDED.current_seq,
                   furthest_phase = EXCLUDED.furthest_phase, phases = EXCLUDED.phases, ratings = EXCLUDED.ratings, rating_sum = EXCLUDED.rating_sum,
                   rating_min = EXCLUDED.rating_min, last_rating_ts = EXCLUDED.last_rating_ts, last_rating_seq = EXCLUDED.last_rating_seq, last_rating = EXCLUDED.last_rating",
                &[
                    &c.id, &c.level, &c.events, &c.first_ts, &c.latest_ts, &c.latest_seq, &c.current_phase, &c.current_ts, &c.current_seq,
                    &c.furthest_phase, &c.phases, &c.ratings, &c.rating_sum, &c.rating_min, &c.last_rating_ts, &c.last_rating_seq, &c.last_rating,
                ],
            )?;
        }
        Ok(())
    }

    /// Each key's last change, in the order of those changes (a key put again moves to the
    /// end of its profile's keys).
    fn flush_keys(&self) -> Result<()> {
        let ops = std::mem::take(&mut *self.key_ops.borrow_mut());
        if ops.is_empty() {
            return Ok(());
        }
        let mut last: FxHashMap<&IdentityKey, usize> = FxHashMap::default();
        for (i, (k, _)) in ops.iter().enumerate() {
            last.insert(k, i);
        }
        let (mut gone, mut keys, mut owners): (Vec<&str>, Vec<&str>, Vec<i64>) = Default::default();
        for (i, (k, p)) in ops.iter().enumerate() {
            if last[k] != i {
                continue;
            }
            match p {
                None => gone.push(k.as_str()),
                Some(p) => {
                    keys.push(k.as_str());
                    owners.push(id(*p));
                }
            }
        }
        if !gone.is_empty() {
            self.execute("deleting keys", "DELETE FROM keys WHERE key = ANY($1)", &[&gone])?;
        }
        if !keys.is_empty() {
            self.execute(
                "writing keys",
                "INSERT INTO keys (key, profile) SELECT key, profile FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS u(key, profile, ord) ORDER BY ord
                 ON CONFLICT (key) DO UPDATE SET profile = EXCLUDED.profile, pos = nextval('key_pos')",
                &[&keys, &owners],
            )?;
        }
        Ok(())
    }

    /// Rewrites the deadlines of the profiles whose deadlines changed, from the cache.
    fn flush_deadlines(&self) -> Result<()> {
        let dirty = std::mem::take(&mut *self.dirty_deadlines.borrow_mut());
        if dirty.is_empty() {
            return Ok(());
        }
        self.dirty_due.borrow_mut().clear();
        *self.upcoming.borrow_mut() = None;
        let ids: Vec<i64> = dirty.iter().map(|p| id(*p)).collect();
        self.execute("writing deadlines", "DELETE FROM deadlines WHERE profile = ANY($1)", &[&ids])?;
        let cache = self.deadlines.borrow();
        let all: Vec<&Deadline> = dirty.iter().filter_map(|p| cache.get(p)).flatten().collect();
        if !all.is_empty() {
            let profiles: Vec<i64> = all.iter().map(|d| id(d.profile)).collect();
            let waypoints: Vec<&str> = all.iter().map(|d| &*d.waypoint).collect();
            let armed: Vec<i64> = all.iter().map(|d| d.armed_at).collect();
            let due: Vec<i64> = all.iter().map(|d| d.due).collect();
            let seqs: Vec<i64> = all.iter().map(|d| d.trigger_seq as i64).collect();
            let names: Vec<&str> = all.iter().map(|d| &*d.trigger_event).collect();
            self.execute(
                "writing deadlines",
                "INSERT INTO deadlines (profile, waypoint, armed_at, due, trigger_seq, trigger_event)
                 SELECT profile, waypoint, armed_at, due, trigger_seq, trigger_event
                 FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[]) WITH ORDINALITY AS u(profile, waypoint, armed_at, due, trigger_seq, trigger_event, ord)
                 ORDER BY ord",
                &[&profiles, &waypoints, &armed, &due, &seqs, &names],
            )?;
        }
        Ok(())
    }

    /// Rewrites the caps of the profiles whose caps changed, from the cache.
    fn flush_fired(&self) -> Result<()> {
        let dirty = std::mem::take(&mut *self.dirty_fired.borrow_mut());
        if dirty.is_empty() {
            return Ok(());
        }
        let ids: Vec<i64> = dirty.iter().map(|p| id(*p)).collect();
        self.execute("writing caps", "DELETE FROM fired WHERE profile = ANY($1)", &[&ids])?;
        let cache = self.fired.borrow();
        let mut c: (Vec<i64>, Vec<&str>, Vec<i64>) = Default::default();
        for p in &dirty {
            for (w, ts) in cache.get(p).into_iter().flatten() {
                c.0.push(id(*p));
                c.1.push(w);
                c.2.push(*ts);
            }
        }
        if !c.0.is_empty() {
            self.execute(
                "writing caps",
                "INSERT INTO fired (profile, waypoint, ts) SELECT profile, waypoint, ts FROM unnest($1::bigint[], $2::text[], $3::bigint[]) WITH ORDINALITY AS u(profile, waypoint, ts, ord) ORDER BY ord",
                &[&c.0, &c.1, &c.2],
            )?;
        }
        Ok(())
    }

    fn flush_actions(&self) -> Result<()> {
        let actions = std::mem::take(&mut *self.new_actions.borrow_mut());
        if actions.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = actions.iter().map(|a| a.id.as_str()).collect();
        let profiles: Vec<i64> = actions.iter().map(|a| id(a.profile)).collect();
        let ts: Vec<i64> = actions.iter().map(|a| a.ts).collect();
        let bodies: Vec<String> = actions.iter().map(to_json).collect();
        self.execute(
            "writing the outbox",
            "INSERT INTO outbox (id, profile, ts, body) SELECT id, profile, ts, body FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[]) WITH ORDINALITY AS u(id, profile, ts, body, ord)
             ORDER BY ord ON CONFLICT (id) DO NOTHING",
            &[&ids, &profiles, &ts, &bodies],
        )?;
        Ok(())
    }

    /// Reads the next stored deadlines in due order, after `after` if given.
    fn read_ahead(&self, after: Option<Deadline>) -> Result<()> {
        let rows = match &after {
            None => self.query(
                "reading the next deadlines",
                "SELECT profile, waypoint, armed_at, due, trigger_seq, trigger_event FROM deadlines ORDER BY due, profile, waypoint COLLATE \"C\" LIMIT $1",
                &[&(READ_AHEAD as i64)],
            )?,
            Some(d) => self.query(
                "reading the next deadlines",
                "SELECT profile, waypoint, armed_at, due, trigger_seq, trigger_event FROM deadlines
                 WHERE (due, profile, waypoint COLLATE \"C\") > ($2, $3, $4::text COLLATE \"C\")
                 ORDER BY due, profile, waypoint COLLATE \"C\" LIMIT $1",
                &[&(READ_AHEAD as i64), &d.due, &id(d.profile), &&*d.waypoint],
            )?,
        };
        let rows: VecDeque<Deadline> = rows.iter().map(deadline_row).collect();
        let last = if rows.len() == READ_AHEAD { rows.back().cloned() } else { None };
        *self.upcoming.borrow_mut() = Some((rows, last));
        Ok(())
    }

    fn cached_deadline(&self, pid: ProfileId, waypoint: &str) -> Option<Deadline> {
        self.deadlines.borrow().get(&pid).and_then(|l| l.iter().find(|d| &*d.waypoint == waypoint).cloned())
    }

    /// Marks a profile's deadlines as changed (they are cached): from now on they come
    /// from the cache, and are rewritten at the next flush.
    fn deadlines_change(&self, pid: ProfileId) {
        if self.dirty_deadlines.borrow_mut().insert(pid) {
            let mut due = self.dirty_due.borrow_mut();
            for d in self.deadlines.borrow().get(&pid).into_iter().flatten() {
                due.insert((d.due, pid, d.waypoint.clone()));
            }
        }
    }

    /// Loads a profile's summary, deadlines and caps into the caches (one round trip),
    /// keeping what is cached already.
    fn bundle(&self, pid: ProfileId) -> Result<()> {
        if let Some(r) = self.query_opt("reading a profile", PROFILE_BUNDLE, &[&id(pid)])? {
            self.fill(&r, 0)?;
        }
        self.profiles.borrow_mut().entry(pid).or_insert(None);
        self.deadlines.borrow_mut().entry(pid).or_default();
        self.fired.borrow_mut().entry(pid).or_default();
        Ok(())
    }

    /// Caches the profile of a bundle row (columns from `at`), unless cached already.
    fn fill(&self, r: &Row, at: usize) -> Result<()> {
        let Some(pid) = r.get::<_, Option<i64>>(at).map(|p| ProfileId(p as u64)) else { return Ok(()) };
        if !self.profiles.borrow().contains_key(&pid) {
            let state = profile_row(r, at)?;
            self.profiles.borrow_mut().insert(pid, Some(state));
        }
        let (deadlines, fired) = bundle_lists(r, at, pid)?;
        self.deadlines.borrow_mut().entry(pid).or_insert(deadlines);
        self.fired.borrow_mut().entry(pid).or_insert(fired);
        if !self.extras.borrow().contains_key(&pid) {
            let attributes = attributes_of(pid, r.get(at + 20))?;
            self.extras.borrow_mut().insert(pid, Extras { persona: r.get(at + 19), attributes });
        }
        Ok(())
    }

    /// Takes a key out of its profile's cached keys: `owner` is what the key cache says
    /// (unknown: out of every cached list).
    fn unmember(&self, key: &IdentityKey, owner: Option<Option<ProfileId>>) {
        let mut members = self.members.borrow_mut();
        match owner {
            Some(Some(o)) => {
                if let Some(list) = members.get_mut(&o) {
                    list.retain(|k| k != key);
                }
            }
            Some(None) => {}
            None => members.values_mut().for_each(|list| list.retain(|k| k != key)),
        }
    }

    /// The stored keys linked to `key` (stored form), read once then kept up to date.
    fn edges_of(&self, key: &IdentityKey) -> Result<Vec<IdentityKey>> {
        if let Some(list) = self.edges.borrow().get(key) {
            return Ok(list.clone());
        }
        self.flush_edges()?;
        let rows = self.query("reading link edges", "SELECT b FROM edges WHERE a = $1 ORDER BY pos", &[&key.as_str()])?;
        let list = rows.iter().map(|r| key_of(r.get(0))).collect::<Result<Vec<_>>>()?;
        self.edges.borrow_mut().insert(key.clone(), list.clone());
        Ok(list)
    }

    /// Loads, in one round trip each, the keys not cached yet with their profiles'
    /// summaries, deadlines, caps, personas and attributes, those profiles' keys, and the
    /// links of the keys.
    fn load_keys(&self, keys: &mut dyn Iterator<Item = &IdentityKey>) -> Result<()> {
        let (mut want, mut want_edges): (Vec<String>, Vec<String>) = Default::default();
        {
            let (cached, edges) = (self.keys.borrow(), self.edges.borrow());
            let mut seen: FxHashSet<IdentityKey> = FxHashSet::default();
            for k in keys {
                let k = self.ctx.key(k);
                if seen.contains(&*k) {
                    continue;
                }
                if !cached.contains_key(&*k) {
                    want.push(k.as_str().to_string());
                }
                if !edges.contains_key(&*k) {
                    want_edges.push(k.as_str().to_string());
                }
                seen.insert(k.into_owned());
            }
        }
        let mut profiles: Vec<i64> = Vec::new();
        if !want.is_empty() {
            let rows = self.query("reading keys", KEYS_BUNDLE, &[&want])?;
            let mut found: FxHashMap<IdentityKey, Option<ProfileId>> = want.iter().map(|k| key_of(k).map(|k| (k, None))).collect::<Result<_>>()?;
            for r in &rows {
                self.fill(r, 2)?;
                let pid = ProfileId(r.get::<_, i64>(1) as u64);
                found.insert(key_of(r.get(0))?, Some(pid));
                if !self.members.borrow().contains_key(&pid) {
                    profiles.push(id(pid));
                }
            }
            self.keys.borrow_mut().extend(found);
        }
        if !profiles.is_empty() {
            profiles.sort_unstable();
            profiles.dedup();
            self.flush_keys()?;
            let rows = self.query("reading keys", "SELECT key, profile FROM keys WHERE profile = ANY($1) ORDER BY pos", &[&profiles])?;
            let mut lists: FxHashMap<ProfileId, Vec<IdentityKey>> = profiles.iter().map(|p| (ProfileId(*p as u64), Vec::new())).collect();
            let mut keys = self.keys.borrow_mut();
            for r in &rows {
                let (key, pid) = (key_of(r.get(0))?, ProfileId(r.get::<_, i64>(1) as u64));
                keys.insert(key.clone(), Some(pid));
                lists.entry(pid).or_default().push(key);
            }
            let mut members = self.members.borrow_mut();
            for (pid, list) in lists {
                members.entry(pid).or_insert(list);
            }
        }
        if !want_edges.is_empty() {
            self.flush_edges()?;
            let rows = self.query("reading link edges", "SELECT a, b FROM edges WHERE a = ANY($1) ORDER BY pos", &[&want_edges])?;
            let mut lists: FxHashMap<IdentityKey, Vec<IdentityKey>> = want_edges.iter().map(|k| key_of(k).map(|k| (k, Vec::new()))).collect::<Result<_>>()?;
            for r in &rows {
                lists.entry(key_of(r.get(0))?).or_default().push(key_of(r.get(1))?);
            }
            let mut edges = self.edges.borrow_mut();
            for (k, list) in lists {
                edges.entry(k).or_insert(list);
            }
        }
        Ok(())
    }

    /// Writes what is buffered and the counters with the next generation, and commits;
    /// returns the caches, valid for that generation.
    pub fn commit(self) -> Result<(i64, Cache)> {
        self.flush()?;
        let generation = self.generation + 1;
        self.execute(
            "writing the counters",
            "UPDATE counters SET seq = $1, next_profile = $2, generation = $3",
            &[&(self.seq as i64), &(self.next_profile as i64), &generation],
        )?;
        let ctx = self.ctx;
        let transient = self.transient.clone();
        let cache = Cache {
            keys: self.keys.take(),
            profiles: self.profiles.take(),
            deadlines: self.deadlines.take(),
            fired: self.fired.take(),
            members: self.members.take(),
            edges: self.edges.take(),
            extras: self.extras.take(),
            due_floor: self.due_floor.get(),
        };
        self.t.into_inner().commit().map_err(|e| {
            transient.set(super::transient(&e));
            ctx.pg("committing", e)
        })?;
        Ok((generation, cache))
    }

    fn ensure(&self, id: ProfileId) -> Result<()> {
        match self.profile(id)? {
            Some(_) => Ok(()),
            None => Err(self.ctx.error(format!("profile {id} does not exist"))),
        }
    }

    fn stored_keys(&self, keys: &[IdentityKey]) -> Vec<String> {
        keys.iter().map(|k| self.ctx.key(k).as_str().to_string()).collect()
    }

    fn read_only(&self) -> Result<()> {
        if self.write { Ok(()) } else { Err(self.ctx.error("a read transaction cannot write")) }
    }

    /// Scans events in journey order (used by [`Store::scan`](crate::store::Store::scan) too).
    pub fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        self.stream(
            "scanning events",
            "SELECT seq, profile, body FROM events WHERE ts >= $1 AND ts < $2 ORDER BY ts, seq",
            &[&from, &to],
            &mut |r| f(event_row(r)?),
        )
    }
}

impl Tx for PgTx<'_> {
    // ---- reads ----
    fn key_profile(&self, key: &IdentityKey) -> Result<Option<ProfileId>> {
        let key = self.ctx.key(key);
        if let Some(&p) = self.keys.borrow().get(&*key) {
            return Ok(p);
        }
        let row = self.query_opt("reading a key", KEY_BUNDLE, &[&key.as_str()])?;
        let p = match &row {
            Some(r) => {
                self.fill(r, 1)?;
                Some(ProfileId(r.get::<_, i64>(0) as u64))
            }
            None => None,
        };
        self.keys.borrow_mut().insert(key.into_owned(), p);
        Ok(p)
    }

    fn profile(&self, pid: ProfileId) -> Result<Option<ProfileState>> {
        if let Some(&p) = self.profiles.borrow().get(&pid) {
            return Ok(p);
        }
        self.bundle(pid)?;
        Ok(self.profiles.borrow().get(&pid).copied().flatten())
    }

    fn keys_of(&self, pid: ProfileId) -> Result<Vec<IdentityKey>> {
        if let Some(list) = self.members.borrow().get(&pid) {
            return Ok(list.clone());
        }
        self.flush_keys()?;
        let rows = self.query("reading a profile's keys", "SELECT key FROM keys WHERE profile = $1 ORDER BY pos", &[&id(pid)])?;
        let list = rows.iter().map(|r| key_of(r.get(0))).collect::<Result<Vec<_>>>()?;
        self.keys.borrow_mut().extend(list.iter().map(|k| (k.clone(), Some(pid))));
        self.members.borrow_mut().insert(pid, list.clone());
        Ok(list)
    }

    fn events_of(&self, pid: ProfileId, last: Option<usize>) -> Result<Vec<EventRef>> {
        self.flush_events()?;
        let rows = match last {
            None => self.query(
                "reading a profile's events",
                "SELECT seq, profile, body FROM events WHERE profile = $1 ORDER BY ts, seq",
                &[&id(pid)],
            )?,
            Some(n) => {
                let mut rows = self.query(
                    "reading a profile's events",
                    "SELECT seq, profile, body FROM events WHERE profile = $1 ORDER BY ts DESC, seq DESC LIMIT $2",
                    &[&id(pid), &(n.min(i64::MAX as usize) as i64)],
                )?;
                rows.reverse();
                rows
            }
        };
        rows.iter().map(event_row).collect()
    }

    fn profile_ids(&self) -> Result<Vec<ProfileId>> {
        self.flush_profiles()?;
        let rows = self.query("listing profiles", "SELECT id FROM profiles ORDER BY id", &[])?;
        Ok(rows.iter().map(|r| ProfileId(r.get::<_, i64>(0) as u64)).collect())
    }

    fn deadlines_of(&self, pid: ProfileId) -> Result<Vec<Deadline>> {
        if !self.deadlines.borrow().contains_key(&pid) {
            self.bundle(pid)?;
        }
        Ok(self.deadlines.borrow().get(&pid).cloned().unwrap_or_default())
    }

    /// The earliest of the stored deadlines (read ahead in due order, skipping changed
    /// profiles) and the changed profiles' deadlines.
    fn next_due(&self, now: Micros) -> Result<Option<Deadline>> {
        if self.due_floor.get().is_some_and(|floor| now <= floor) {
            return Ok(None);
        }
        let stored = loop {
            let after = {
                let dirty = self.dirty_deadlines.borrow();
                let mut upcoming = self.upcoming.borrow_mut();
                match upcoming.as_mut() {
                    None => None,
                    Some((rows, last)) => {
                        while rows.front().is_some_and(|d| dirty.contains(&d.profile)) {
                            rows.pop_front();
                        }
                        match (rows.front(), last) {
                            (Some(d), _) => break Some(d.clone()),
                            (None, None) => break None,
                            (None, Some(last)) => Some(last.clone()),
                        }
                    }
                }
            };
            self.read_ahead(after)?;
        };
        let changed = self.dirty_due.borrow().first().cloned();
        let first = match (stored, changed) {
            (Some(s), Some((due, pid, waypoint))) if (due, pid, &*waypoint) < (s.due, s.profile, &*s.waypoint) => self.cached_deadline(pid, &waypoint),
            (Some(s), _) => Some(s),
            (None, Some((_, pid, waypoint))) => self.cached_deadline(pid, &waypoint),
            (None, None) => None,
        };
        self.due_floor.set(Some(first.as_ref().map_or(Micros::MAX, |d| d.due)));
        Ok(first.filter(|d| d.due < now))
    }

    fn fired(&self, pid: ProfileId, waypoint: &str) -> Result<Option<Micros>> {
        if !self.fired.borrow().contains_key(&pid) {
            self.bundle(pid)?;
        }
        Ok(self.fired.borrow().get(&pid).and_then(|f| f.iter().find(|(w, _)| w == waypoint).map(|(_, ts)| *ts)))
    }

    fn fired_of(&self, pid: ProfileId) -> Result<Vec<(String, Micros)>> {
        if !self.fired.borrow().contains_key(&pid) {
            self.bundle(pid)?;
        }
        Ok(self.fired.borrow().get(&pid).cloned().unwrap_or_default())
    }

    fn links_of(&self, keys: &[IdentityKey]) -> Result<Vec<LinkEntry>> {
        self.flush_links()?;
        let keys = self.stored_keys(keys);
        let rows = self.query(
            "reading the link log",
            "SELECT a, b, ts, event_seq, outcome, absorbed, profile FROM links WHERE a = ANY($1) OR b = ANY($1) ORDER BY n",
            &[&keys],
        )?;
        rows.iter().map(link_row).collect()
    }

    fn linked(&self, a: &IdentityKey, b: &IdentityKey) -> Result<bool> {
        let (a, b) = (self.ctx.key(a), self.ctx.key(b));
        if let Some(list) = self.edges.borrow().get(&*b) {
            return Ok(list.contains(&a));
        }
        Ok(self.edges_of(&a)?.contains(&b))
    }

    fn neighbours(&self, key: &IdentityKey) -> Result<Vec<IdentityKey>> {
        self.edges_of(&self.ctx.key(key))
    }

    fn conflicts(&self) -> Result<Vec<Conflict>> {
        let rows = self.query("reading conflicts", "SELECT key, other, ts, event_seq, kind, lim, message FROM conflicts ORDER BY n", &[])?;
        rows.iter().map(conflict_row).collect()
    }

    fn conflicts_of(&self, keys: &[IdentityKey]) -> Result<Vec<Conflict>> {
        let keys = self.stored_keys(keys);
        let rows = self.query(
            "reading conflicts",
            "SELECT key, other, ts, event_seq, kind, lim, message FROM conflicts WHERE key = ANY($1) OR other = ANY($1) ORDER BY n",
            &[&keys],
        )?;
        rows.iter().map(conflict_row).collect()
    }

    fn pending_actions(&self, limit: usize) -> Result<Vec<ActionRecord>> {
        self.flush_actions()?;
        let rows = self.query("reading the outbox", "SELECT body FROM outbox ORDER BY n LIMIT $1", &[&(limit.min(i64::MAX as usize) as i64)])?;
        rows.iter()
            .map(|r| serde_json::from_str::<ActionRecord>(r.get(0)).map_err(|e| damaged(&format!("an outbox action is not valid: {e}"))))
            .collect()
    }

    // A summary still buffered is a profile new in this transaction (no persona or
    // attributes yet); `set_persona` and `set_attributes` write through after a flush.
    fn persona(&self, pid: ProfileId) -> Result<Option<String>> {
        if let Some(e) = self.extras.borrow().get(&pid) {
            return Ok(e.persona.clone());
        }
        Ok(self.query_opt("reading a persona", "SELECT persona FROM profiles WHERE id = $1", &[&id(pid)])?.and_then(|r| r.get(0)))
    }

    fn attributes(&self, pid: ProfileId) -> Result<Map<String, Value>> {
        if let Some(e) = self.extras.borrow().get(&pid) {
            return Ok(e.attributes.clone());
        }
        match self.query_opt("reading attributes", "SELECT attributes FROM profiles WHERE id = $1", &[&id(pid)])? {
            Some(r) => attributes_of(pid, r.get(0)),
            None => Ok(Map::new()),
        }
    }

    fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        PgTx::scan(self, from, to, f)
    }

    fn links(&self, f: &mut dyn FnMut(LinkEntry) -> Result<()>) -> Result<()> {
        self.stream("reading the link log", "SELECT a, b, ts, event_seq, outcome, absorbed, profile FROM links ORDER BY n", &[], &mut |r| {
            f(link_row(r)?)?;
            Ok(true)
        })
    }

    fn counters(&self) -> Result<(u64, u64)> {
        let (seq, next) = if self.write { (self.seq, self.next_profile) } else { self.read_counters().map(|(s, n, _)| (s, n))? };
        Ok((seq, next + 1))
    }

    fn prefetch(&self, keys: &mut dyn Iterator<Item = &IdentityKey>) -> Result<()> {
        self.load_keys(keys)
    }

    // ---- writes ----
    fn next_seq(&mut self) -> Result<u64> {
        self.read_only()?;
        let seq = self.seq;
        self.seq += 1;
        Ok(seq)
    }

    fn new_profile_id(&mut self) -> Result<ProfileId> {
        self.read_only()?;
        self.next_profile += 1;
        let pid = ProfileId(self.next_profile);
        // A new id has no keys, persona or attributes yet.
        self.members.borrow_mut().insert(pid, Vec::new());
        self.extras.borrow_mut().insert(pid, Extras::default());
        Ok(pid)
    }

    fn put_profile(&mut self, state: &ProfileState) -> Result<()> {
        self.read_only()?;
        if self.gone.borrow().contains(&id(state.id)) {
            self.flush_profiles()?;
        }
        self.profiles.borrow_mut().insert(state.id, Some(*state));
        self.dirty.borrow_mut().insert(state.id, *state);
        Ok(())
    }

    fn delete_profile(&mut self, pid: ProfileId) -> Result<()> {
        self.read_only()?;
        self.dirty.borrow_mut().remove(&pid);
        self.profiles.borrow_mut().insert(pid, None);
        self.deadlines_of(pid)?;
        self.deadlines_change(pid);
        for d in self.deadlines.borrow_mut().insert(pid, Vec::new()).unwrap_or_default() {
            self.dirty_due.borrow_mut().remove(&(d.due, pid, d.waypoint));
        }
        self.fired.borrow_mut().insert(pid, Vec::new());
        self.dirty_fired.borrow_mut().insert(pid);
        self.extras.borrow_mut().insert(pid, Extras::default());
        self.gone.borrow_mut().push(id(pid));
        Ok(())
    }

    fn put_key(&mut self, key: &IdentityKey, pid: ProfileId) -> Result<()> {
        self.read_only()?;
        self.ensure(pid)?;
        let key = self.ctx.key(key).into_owned();
        let owner = self.keys.borrow_mut().insert(key.clone(), Some(pid));
        self.unmember(&key, owner);
        if let Some(list) = self.members.borrow_mut().get_mut(&pid) {
            list.push(key.clone());
        }
        self.key_ops.borrow_mut().push((key, Some(pid)));
        Ok(())
    }

    fn delete_key(&mut self, key: &IdentityKey) -> Result<()> {
        self.read_only()?;
        let key = self.ctx.key(key).into_owned();
        let owner = self.keys.borrow_mut().insert(key.clone(), None);
        self.unmember(&key, owner);
        self.key_ops.borrow_mut().push((key, None));
        Ok(())
    }

    fn append_event(&mut self, mut event: TrackedEvent) -> Result<()> {
        self.read_only()?;
        self.ensure(event.profile)?;
        if self.ctx.hasher.is_some() {
            event.event.keys = event.event.keys.iter().map(|k| self.ctx.key(k).into_owned()).collect();
        }
        self.new_events.borrow_mut().push((event.seq as i64, id(event.profile), event.event.ts, to_json(&event.event)));
        Ok(())
    }

    // Moves and deletes apply to the buffered events and to the stored ones: no flush.
    fn move_events(&mut self, from: ProfileId, to: ProfileId) -> Result<()> {
        self.read_only()?;
        self.ensure(to)?;
        let (from, to) = (id(from), id(to));
        for e in self.new_events.borrow_mut().iter_mut().filter(|e| e.1 == from) {
            e.1 = to;
        }
        // Stored events moved into `from` earlier go on to `to`; stored events of `from`
        // already bound elsewhere have left it.
        let mut moves = self.moves.borrow_mut();
        for m in moves.iter_mut().filter(|m| m.1 == from) {
            m.1 = to;
        }
        if !moves.iter().any(|m| m.0 == from) {
            moves.push((from, to));
        }
        Ok(())
    }

    fn move_event(&mut self, seq: u64, from: ProfileId, to: ProfileId) -> Result<()> {
        self.read_only()?;
        self.ensure(to)?;
        if let Some(e) = self.new_events.borrow_mut().iter_mut().find(|e| e.0 == seq as i64 && e.1 == id(from)) {
            e.1 = id(to);
            return Ok(());
        }
        self.flush_moves()?;
        let n = self.execute("moving an event", "UPDATE events SET profile = $3 WHERE seq = $1 AND profile = $2", &[&(seq as i64), &id(from), &id(to)])?;
        if n == 0 {
            return Err(self.ctx.error(format!("event {seq} is not in profile {from}")));
        }
        Ok(())
    }

    fn delete_events_of(&mut self, pid: ProfileId) -> Result<()> {
        self.read_only()?;
        self.new_events.borrow_mut().retain(|e| e.1 != id(pid));
        self.flush_moves()?;
        self.execute("deleting events", "DELETE FROM events WHERE profile = $1", &[&id(pid)])?;
        Ok(())
    }

    fn append_link(&mut self, entry: &LinkEntry) -> Result<()> {
        self.read_only()?;
        let (a, b) = (self.ctx.key(&entry.a).into_owned(), self.ctx.key(&entry.b).into_owned());
        self.new_links.borrow_mut().push((
            a.clone(),
            b.clone(),
            entry.ts,
            entry.event_seq.map(|s| s as i64),
            name_of(entry.outcome),
            entry.absorbed.map(id),
            id(entry.profile),
        ));
        {
            let mut edges = self.edges.borrow_mut();
            for (x, y) in [(&a, &b), (&b, &a)] {
                if let Some(list) = edges.get_mut(x) {
                    match entry.outcome {
                        // A link already in effect keeps its place.
                        LinkOutcome::Joined | LinkOutcome::Merged | LinkOutcome::Already if a != b && !list.contains(y) => list.push(y.clone()),
                        LinkOutcome::Removed => list.retain(|k| k != y),
                        _ => {}
                    }
                }
            }
        }
        match entry.outcome {
            LinkOutcome::Joined | LinkOutcome::Merged | LinkOutcome::Already if a != b => self.edge_ops.borrow_mut().push((true, a, b)),
            LinkOutcome::Removed => self.edge_ops.borrow_mut().push((false, a, b)),
            _ => {}
        }
        Ok(())
    }

    fn delete_links_of(&mut self, keys: &[IdentityKey]) -> Result<()> {
        self.read_only()?;
        let keys = self.stored_keys(keys);
        self.flush_links()?;
        self.flush_edges()?;
        {
            let mut edges = self.edges.borrow_mut();
            edges.retain(|k, _| !keys.iter().any(|x| x == k.as_str()));
            edges.values_mut().for_each(|list| list.retain(|k| !keys.iter().any(|x| x == k.as_str())));
        }
        self.execute("deleting links", "DELETE FROM links WHERE a = ANY($1) OR b = ANY($1)", &[&keys])?;
        self.execute("deleting link edges", "DELETE FROM edges WHERE a = ANY($1) OR b = ANY($1)", &[&keys])?;
        Ok(())
    }

    fn add_conflict(&mut self, c: &Conflict) -> Result<()> {
        self.read_only()?;
        let (key, other) = (self.ctx.key(&c.key), self.ctx.key(&c.other));
        let mut message = c.message.clone();
        if self.ctx.hasher.is_some() {
            message = message.replace(c.key.as_str(), key.as_str()).replace(c.other.as_str(), other.as_str());
        }
        self.execute(
            "writing a conflict",
            "INSERT INTO conflicts (key, other, ts, event_seq, kind, lim, message) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[&key.as_str(), &other.as_str(), &c.ts, &c.event_seq.map(|s| s as i64), &c.kind, &(c.limit as i64), &message],
        )?;
        Ok(())
    }

    fn delete_conflicts_of(&mut self, keys: &[IdentityKey]) -> Result<()> {
        self.read_only()?;
        let keys = self.stored_keys(keys);
        self.execute("deleting conflicts", "DELETE FROM conflicts WHERE key = ANY($1) OR other = ANY($1)", &[&keys])?;
        Ok(())
    }

    fn put_deadline(&mut self, d: &Deadline) -> Result<()> {
        self.read_only()?;
        self.ensure(d.profile)?;
        self.deadlines_of(d.profile)?;
        self.deadlines_change(d.profile);
        if let Some(list) = self.deadlines.borrow_mut().get_mut(&d.profile) {
            if let Some(at) = list.iter().position(|x| x.waypoint == d.waypoint) {
                let old = list.remove(at);
                self.dirty_due.borrow_mut().remove(&(old.due, old.profile, old.waypoint));
            }
            list.push(d.clone());
            self.dirty_due.borrow_mut().insert((d.due, d.profile, d.waypoint.clone()));
        }
        if let Some(floor) = self.due_floor.get() {
            self.due_floor.set(Some(floor.min(d.due)));
        }
        Ok(())
    }

    fn delete_deadline(&mut self, pid: ProfileId, waypoint: &str) -> Result<()> {
        self.read_only()?;
        if !self.deadlines_of(pid)?.iter().any(|x| &*x.waypoint == waypoint) {
            return Ok(());
        }
        self.deadlines_change(pid);
        if let Some(list) = self.deadlines.borrow_mut().get_mut(&pid)
            && let Some(at) = list.iter().position(|x| &*x.waypoint == waypoint)
        {
            let old = list.remove(at);
            self.dirty_due.borrow_mut().remove(&(old.due, pid, old.waypoint));
        }
        Ok(())
    }

    fn set_fired(&mut self, pid: ProfileId, waypoint: &str, ts: Micros) -> Result<()> {
        self.read_only()?;
        self.ensure(pid)?;
        self.fired_of(pid)?;
        if let Some(list) = self.fired.borrow_mut().get_mut(&pid) {
            match list.iter_mut().find(|(w, _)| w == waypoint) {
                Some(entry) => entry.1 = entry.1.max(ts),
                None => list.push((waypoint.to_string(), ts)),
            }
        }
        self.dirty_fired.borrow_mut().insert(pid);
        Ok(())
    }

    fn push_action(&mut self, action: &ActionRecord) -> Result<()> {
        self.read_only()?;
        self.new_actions.borrow_mut().push(action.clone());
        Ok(())
    }

    fn ack(&mut self, action_id: &str) -> Result<bool> {
        self.read_only()?;
        self.flush_actions()?;
        Ok(self.execute("acknowledging an action", "DELETE FROM outbox WHERE id = $1", &[&action_id])? > 0)
    }

    fn delete_actions_of(&mut self, pid: ProfileId) -> Result<()> {
        self.read_only()?;
        self.flush_actions()?;
        self.execute("deleting actions", "DELETE FROM outbox WHERE profile = $1", &[&id(pid)])?;
        Ok(())
    }

    fn set_persona(&mut self, pid: ProfileId, persona: Option<&str>) -> Result<()> {
        self.read_only()?;
        self.ensure(pid)?;
        self.flush_profiles()?;
        self.execute("assigning a persona", "UPDATE profiles SET persona = $2 WHERE id = $1", &[&id(pid), &persona])?;
        if let Some(e) = self.extras.borrow_mut().get_mut(&pid) {
            e.persona = persona.map(str::to_string);
        }
        Ok(())
    }

    fn set_attributes(&mut self, pid: ProfileId, attributes: &Map<String, Value>) -> Result<()> {
        self.read_only()?;
        self.ensure(pid)?;
        self.flush_profiles()?;
        self.execute("setting attributes", "UPDATE profiles SET attributes = $2 WHERE id = $1", &[&id(pid), &to_json(attributes)])?;
        if let Some(e) = self.extras.borrow_mut().get_mut(&pid) {
            e.attributes = attributes.clone();
        }
        Ok(())
    }

    fn delete_events_before(&mut self, before: Micros) -> Result<u64> {
        self.read_only()?;
        self.flush()?;
        self.execute("deleting old events (retention)", "DELETE FROM events WHERE ts < $1", &[&before])
    }

    fn strip_keys(&mut self, keys: &[IdentityKey]) -> Result<u64> {
        self.read_only()?;
        self.flush()?;
        let stored: Vec<IdentityKey> = keys.iter().map(|k| self.ctx.key(k).into_owned()).collect();
        let needles: Vec<String> = stored.iter().map(|k| to_json(k.as_str())).collect();
        let rows = self.query(
            "removing forgotten keys from events",
            "SELECT seq, profile, body FROM events WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) k WHERE strpos(body, k) > 0) ORDER BY seq",
            &[&needles],
        )?;
        let mut changed = 0;
        for r in &rows {
            let e = event_row(r)?;
            if !e.event.keys.iter().any(|k| stored.contains(k)) {
                continue;
            }
            let mut event = e.event.clone();
            event.keys.retain(|k| !stored.contains(k));
            let seq = e.seq as i64;
            if event.keys.is_empty() {
                self.execute("removing forgotten keys from events", "DELETE FROM events WHERE seq = $1", &[&seq])?;
            } else {
                self.execute("removing forgotten keys from events", "UPDATE events SET body = $2 WHERE seq = $1", &[&seq, &to_json(&event)])?;
            }
            changed += 1;
        }
        Ok(changed)
    }

    fn raise_counters(&mut self, next_seq: u64, next_profile: u64) -> Result<()> {
        self.read_only()?;
        self.seq = self.seq.max(next_seq);
        self.next_profile = self.next_profile.max(next_profile.saturating_sub(1));
        Ok(())
    }
}


/// A profile's attributes from their JSON text.
fn attributes_of(pid: ProfileId, text: &str) -> Result<Map<String, Value>> {
    serde_json::from_str(text).map_err(|e| damaged(&format!("the attributes of profile {pid} are not valid: {e}")))
}
