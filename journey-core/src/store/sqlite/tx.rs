//! The transactions of a SQLite store: reads from the hot state and the file, writes to
//! both (the hot state changes are journalled).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::Ctx;
use super::hot::{Enc, EncState, Hot, damaged, to_json};
use super::pipe::{Pipe, ROWS_PER_SEND, Row};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::identity::IdentityKey;
use crate::outbox::ActionRecord;
use crate::profile::{Conflict, EventRef, LinkEntry, LinkOutcome, ProfileId, ProfileState, TrackedEvent};
use crate::store::{Deadline, Tx};
use crate::time::Micros;

/// How a transaction reaches SQLite: directly (readers) or through the writer thread.
pub(crate) trait Sql {
    /// Runs `f` on the connection, after everything sent before.
    fn with<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T>;
    /// Streams events in journey order.
    fn scan(&self, ctx: &Arc<Ctx>, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()>;
    /// Calls `f` with every link log entry.
    fn links(&self, ctx: &Arc<Ctx>, f: &mut dyn FnMut(LinkEntry) -> Result<()>) -> Result<()>;
}

/// A reader connection.
pub(crate) struct Direct<'a>(pub &'a Connection);

impl Sql for Direct<'_> {
    fn with<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        f(self.0)
    }

    fn scan(&self, ctx: &Arc<Ctx>, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        scan(self.0, ctx, from, to, f)
    }

    fn links(&self, ctx: &Arc<Ctx>, f: &mut dyn FnMut(LinkEntry) -> Result<()>) -> Result<()> {
        let q = |e| ctx.sql("reading the link log", e);
        let mut stmt = self.0.prepare_cached(&format!("SELECT {LINK_COLUMNS} FROM links ORDER BY n")).map_err(q)?;
        let rows = stmt.query_map([], link_row).map_err(q)?;
        for r in rows {
            f(link_entry(r.map_err(q)?)?)?;
        }
        Ok(())
    }
}

/// The writer thread, with the rows of the open transaction not sent yet.
pub(crate) struct Piped<'a> {
    pub pipe: &'a Pipe,
    pub rows: RefCell<Vec<Row>>,
}

impl Piped<'_> {
    /// Queues a row; rows go to the writer thread in groups.
    pub fn push(&self, row: Row) -> Result<()> {
        let mut rows = self.rows.borrow_mut();
        rows.push(row);
        if rows.len() >= ROWS_PER_SEND {
            let full = std::mem::take(&mut *rows);
            *rows = self.pipe.send(full)?;
        }
        Ok(())
    }

    pub fn flush(&self) -> Result<()> {
        let mut rows = self.rows.borrow_mut();
        if !rows.is_empty() {
            let full = std::mem::take(&mut *rows);
            *rows = self.pipe.send(full)?;
        }
        Ok(())
    }
}

impl Sql for Piped<'_> {
    fn with<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        self.flush()?;
        self.pipe.call(f)
    }

    fn scan(&self, ctx: &Arc<Ctx>, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        // In chunks, so that the writer thread never holds more than one chunk.
        let mut after: Option<(i64, i64)> = None;
        loop {
            let ctx = ctx.clone();
            let chunk = self.with(move |c| scan_chunk(c, &ctx, from, to, after, 4096))?;
            let Some(last) = chunk.last() else { return Ok(()) };
            after = Some((last.event.ts, last.seq as i64));
            let n = chunk.len();
            for e in chunk {
                if !f(e)? {
                    return Ok(());
                }
            }
            if n < 4096 {
                return Ok(());
            }
        }
    }

    fn links(&self, ctx: &Arc<Ctx>, f: &mut dyn FnMut(LinkEntry) -> Result<()>) -> Result<()> {
        let ctx = ctx.clone();
        let all = self.with(move |c| {
            let q = |e| ctx.sql("reading the link log", e);
            let mut stmt = c.prepare_cached(&format!("SELECT {LINK_COLUMNS} FROM links ORDER BY n")).map_err(q)?;
            let rows = stmt.query_map([], link_row).map_err(q)?;
            rows.map(|r| link_entry(r.map_err(q)?)).collect::<Result<Vec<_>>>()
        })?;
        all.into_iter().try_for_each(f)
    }
}

/// The read side, shared by both transactions.
pub(crate) struct View<'a, S: Sql> {
    pub hot: &'a Hot,
    pub sql: &'a S,
    pub ctx: &'a Arc<Ctx>,
}

fn outcome_str(o: LinkOutcome) -> &'static str {
    match o {
        LinkOutcome::Joined => "joined",
        LinkOutcome::Merged => "merged",
        LinkOutcome::Already => "already",
        LinkOutcome::Refused => "refused",
        LinkOutcome::Removed => "removed",
    }
}

fn parse_outcome(s: &str) -> Result<LinkOutcome> {
    Ok(match s {
        "joined" => LinkOutcome::Joined,
        "merged" => LinkOutcome::Merged,
        "already" => LinkOutcome::Already,
        "refused" => LinkOutcome::Refused,
        "removed" => LinkOutcome::Removed,
        other => return Err(damaged(&format!("unknown link outcome {other:?}"))),
    })
}

fn key_of(text: &str) -> Result<IdentityKey> {
    IdentityKey::parse(text).map_err(|e| damaged(&e))
}

pub(crate) fn decode_event(seq: i64, profile: i64, body: &str) -> Result<EventRef> {
    let event: Event = serde_json::from_str(body).map_err(|e| damaged(&format!("event {seq} is not valid: {e}")))?;
    Ok(Arc::new(TrackedEvent { seq: seq as u64, profile: ProfileId(profile as u64), event }))
}

const LINK_COLUMNS: &str = "a, b, ts, event_seq, outcome, absorbed, profile";
const CONFLICT_COLUMNS: &str = "key, other, ts, event_seq, kind, lim, message";

type LinkRow = (String, String, i64, Option<i64>, String, Option<i64>, i64);
type ConflictRow = (String, String, i64, Option<i64>, String, i64, String);

fn link_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LinkRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
}

fn link_entry(r: LinkRow) -> Result<LinkEntry> {
    Ok(LinkEntry {
        a: key_of(&r.0)?,
        b: key_of(&r.1)?,
        ts: r.2,
        event_seq: r.3.map(|s| s as u64),
        outcome: parse_outcome(&r.4)?,
        absorbed: r.5.map(|p| ProfileId(p as u64)),
        profile: ProfileId(r.6 as u64),
    })
}

fn conflict_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ConflictRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
}

fn conflict(r: ConflictRow) -> Result<Conflict> {
    Ok(Conflict { key: key_of(&r.0)?, other: key_of(&r.1)?, ts: r.2, event_seq: r.3.map(|s| s as u64), kind: r.4, limit: r.5 as usize, message: r.6 })
}

/// Reads events of one profile (whose event list names them) by arrival number.
fn fetch_events(c: &Connection, ctx: &Ctx, profile: ProfileId, seqs: &[u64]) -> Result<Vec<EventRef>> {
    let q = |e| ctx.sql("reading an event", e);
    let mut stmt = c.prepare_cached("SELECT body FROM events WHERE seq = ?1").map_err(q)?;
    let mut out = Vec::with_capacity(seqs.len());
    for &seq in seqs {
        let body = stmt.query_row([seq as i64], |r| r.get::<_, String>(0)).optional().map_err(q)?;
        let body = body.ok_or_else(|| damaged(&format!("event {seq} is missing")))?;
        out.push(decode_event(seq as i64, profile.0 as i64, &body)?);
    }
    Ok(out)
}

/// The `merges` table read into memory, to give stored events their profile now without
/// the view's join (a third faster for a whole scan).
pub(crate) struct Merges(HashMap<i64, i64>);

impl Merges {
    pub fn load(c: &Connection, q: &dyn Fn(rusqlite::Error) -> Error) -> Result<Merges> {
        let mut stmt = c.prepare_cached("SELECT absorbed, survivor FROM merges").map_err(q)?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).map_err(q)?;
        Ok(Merges(rows.collect::<rusqlite::Result<_>>().map_err(q)?))
    }

    /// The profile of an event stored under `profile`.
    pub fn profile(&self, stored: i64) -> i64 {
        self.0.get(&stored).copied().unwrap_or(stored)
    }
}

fn fetch_links(c: &Connection, ctx: &Ctx, rows: &[i64]) -> Result<Vec<(i64, LinkEntry)>> {
    let q = |e| ctx.sql("reading the link log", e);
    let mut stmt = c.prepare_cached(&format!("SELECT {LINK_COLUMNS} FROM links WHERE n = ?1")).map_err(q)?;
    let mut out = Vec::with_capacity(rows.len());
    for &n in rows {
        if let Some(r) = stmt.query_row([n], link_row).optional().map_err(q)? {
            out.push((n, link_entry(r)?));
        }
    }
    Ok(out)
}

fn scan_chunk(c: &Connection, ctx: &Ctx, from: Micros, to: Micros, after: Option<(i64, i64)>, limit: i64) -> Result<Vec<EventRef>> {
    let q = |e| ctx.sql("scanning events", e);
    let (ts, seq) = after.unwrap_or((from, -1));
    let mut stmt = c
        .prepare_cached("SELECT seq, profile, body FROM journey_events WHERE ts >= ?1 AND (ts, seq) > (?2, ?3) AND ts < ?4 ORDER BY ts, seq LIMIT ?5")
        .map_err(q)?;
    let mut rows = stmt.query(params![from, ts, seq, to, limit]).map_err(q)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(q)? {
        let body = row.get_ref(2).map_err(q)?.as_str().map_err(|e| q(e.into()))?;
        out.push(decode_event(row.get(0).map_err(q)?, row.get(1).map_err(q)?, body)?);
    }
    Ok(out)
}

impl<S: Sql> View<'_, S> {
    pub fn key_profile(&self, key: &IdentityKey) -> Result<Option<ProfileId>> {
        Ok(self.hot.keys.get(&*self.ctx.key(key)).copied())
    }

    pub fn profile(&self, id: ProfileId) -> Result<Option<ProfileState>> {
        Ok(self.hot.profiles.get(&id).map(|r| r.state))
    }

    pub fn keys_of(&self, id: ProfileId) -> Result<Vec<IdentityKey>> {
        Ok(self.hot.profiles.get(&id).map(|r| r.keys.clone()).unwrap_or_default())
    }

    pub fn events_of(&self, id: ProfileId, last: Option<usize>) -> Result<Vec<EventRef>> {
        let Some(r) = self.hot.profiles.get(&id) else { return Ok(vec![]) };
        let from = last.map_or(0, |n| r.events.len().saturating_sub(n));
        let seqs: Vec<u64> = r.events[from..].iter().map(|e| e.1).collect();
        if seqs.is_empty() {
            return Ok(vec![]);
        }
        let ctx = self.ctx.clone();
        self.sql.with(move |c| fetch_events(c, &ctx, id, &seqs))
    }

    pub fn profile_ids(&self) -> Result<Vec<ProfileId>> {
        let mut ids: Vec<ProfileId> = self.hot.profiles.keys().collect();
        ids.sort_unstable();
        Ok(ids)
    }

    pub fn deadlines_of(&self, id: ProfileId) -> Result<Vec<Deadline>> {
        Ok(self.hot.profiles.get(&id).map(|r| r.deadlines.clone()).unwrap_or_default())
    }

    pub fn visit_deadlines(&self, id: ProfileId, f: &mut dyn FnMut(&Deadline)) -> Result<()> {
        self.hot.profiles.get(&id).into_iter().flat_map(|r| &r.deadlines).for_each(f);
        Ok(())
    }

    pub fn next_due(&self, now: Micros) -> Result<Option<Deadline>> {
        if self.hot.earliest >= now {
            return Ok(None);
        }
        let Some((due, id, waypoint)) = self.hot.due.first() else { return Ok(None) };
        if *due >= now {
            return Ok(None);
        }
        Ok(self.hot.rec(*id)?.deadlines.iter().find(|d| d.waypoint == *waypoint).cloned())
    }

    pub fn fired(&self, id: ProfileId, waypoint: &str) -> Result<Option<Micros>> {
        Ok(self.hot.profiles.get(&id).and_then(|r| r.fired.iter().find(|(w, _)| **w == *waypoint).map(|(_, ts)| *ts)))
    }

    pub fn fired_of(&self, id: ProfileId) -> Result<Vec<(String, Micros)>> {
        Ok(self.hot.profiles.get(&id).map(|r| r.fired.iter().map(|(w, ts)| (w.to_string(), *ts)).collect()).unwrap_or_default())
    }

    pub fn links_of(&self, keys: &[IdentityKey]) -> Result<Vec<LinkEntry>> {
        let mut rows: Vec<i64> = keys.iter().filter_map(|k| self.hot.link_index.get(&*self.ctx.key(k))).flatten().copied().collect();
        rows.sort_unstable();
        rows.dedup();
        if rows.is_empty() {
            return Ok(vec![]);
        }
        let ctx = self.ctx.clone();
        Ok(self.sql.with(move |c| fetch_links(c, &ctx, &rows))?.into_iter().map(|(_, l)| l).collect())
    }

    pub fn linked(&self, a: &IdentityKey, b: &IdentityKey) -> Result<bool> {
        let b = self.ctx.key(b);
        Ok(self.hot.edges.get(&*self.ctx.key(a)).is_some_and(|n| n.contains(&b)))
    }

    pub fn neighbours(&self, key: &IdentityKey) -> Result<Vec<IdentityKey>> {
        Ok(self.hot.edges.get(&*self.ctx.key(key)).cloned().unwrap_or_default())
    }

    pub fn conflicts(&self) -> Result<Vec<Conflict>> {
        let ctx = self.ctx.clone();
        self.sql.with(move |c| {
            let q = |e| ctx.sql("reading conflicts", e);
            let mut stmt = c.prepare_cached(&format!("SELECT {CONFLICT_COLUMNS} FROM conflicts ORDER BY n")).map_err(q)?;
            let rows = stmt.query_map([], conflict_row).map_err(q)?;
            rows.map(|r| conflict(r.map_err(q)?)).collect()
        })
    }

    pub fn conflicts_of(&self, keys: &[IdentityKey]) -> Result<Vec<Conflict>> {
        let keys: Vec<String> =
            keys.iter().map(|k| self.ctx.key(k)).filter(|k| self.hot.conflict_keys.contains(k.as_str())).map(|k| k.as_str().to_string()).collect();
        if keys.is_empty() {
            return Ok(Vec::new()); // the common case: none of the keys has a conflict
        }
        let ctx = self.ctx.clone();
        self.sql.with(move |c| {
            let q = |e| ctx.sql("reading conflicts", e);
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT n, {CONFLICT_COLUMNS} FROM conflicts WHERE key = ?1 UNION SELECT n, {CONFLICT_COLUMNS} FROM conflicts WHERE other = ?1"
                ))
                .map_err(q)?;
            let mut found = Vec::new();
            for k in &keys {
                let rows = stmt
                    .query_map([k], |row| {
                        Ok((row.get::<_, i64>(0)?, (row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?, row.get(7)?)))
                    })
                    .map_err(q)?;
                for r in rows {
                    found.push(r.map_err(q)?);
                }
            }
            found.sort_by_key(|(n, _)| *n);
            found.dedup_by_key(|(n, _)| *n);
            found.into_iter().map(|(_, r)| conflict(r)).collect()
        })
    }

    pub fn pending_actions(&self, limit: usize) -> Result<Vec<ActionRecord>> {
        let ctx = self.ctx.clone();
        self.sql.with(move |c| {
            let q = |e| ctx.sql("reading the outbox", e);
            let mut stmt = c.prepare_cached("SELECT body FROM outbox ORDER BY n LIMIT ?1").map_err(q)?;
            let rows = stmt.query_map([limit.min(i64::MAX as usize) as i64], |r| r.get::<_, String>(0)).map_err(q)?;
            rows.map(|r| serde_json::from_str(&r.map_err(q)?).map_err(|e| damaged(&format!("an action is not valid: {e}")))).collect()
        })
    }

    pub fn persona(&self, id: ProfileId) -> Result<Option<String>> {
        Ok(self.hot.profiles.get(&id).and_then(|r| r.extra.persona().cloned()))
    }

    pub fn attributes(&self, id: ProfileId) -> Result<Map<String, Value>> {
        Ok(self.hot.profiles.get(&id).and_then(|r| r.extra.attributes().cloned()).unwrap_or_default())
    }

    pub fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        self.sql.scan(self.ctx, from, to, f)
    }

    pub fn links(&self, f: &mut dyn FnMut(LinkEntry) -> Result<()>) -> Result<()> {
        self.sql.links(self.ctx, f)
    }

    pub fn counters(&self) -> Result<(u64, u64)> {
        Ok((self.hot.seq, self.hot.next_profile + 1))
    }
}

/// Streams events in journey order from a connection (inside the caller's transaction).
pub(crate) fn scan(conn: &Connection, ctx: &Ctx, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
    let q = |e| ctx.sql("scanning events", e);
    let merges = Merges::load(conn, &q)?;
    let mut stmt = conn.prepare_cached("SELECT seq, profile, body FROM events WHERE ts >= ?1 AND ts < ?2 ORDER BY ts, seq").map_err(q)?;
    let mut rows = stmt.query([from, to]).map_err(q)?;
    while let Some(row) = rows.next().map_err(q)? {
        let body = row.get_ref(2).map_err(q)?.as_str().map_err(|e| q(e.into()))?;
        let event = decode_event(row.get(0).map_err(q)?, merges.profile(row.get(1).map_err(q)?), body)?;
        if !f(event)? {
            break;
        }
    }
    Ok(())
}

macro_rules! reads {
    () => {
        fn key_profile(&self, key: &IdentityKey) -> Result<Option<ProfileId>> {
            self.view().key_profile(key)
        }
        fn profile(&self, id: ProfileId) -> Result<Option<ProfileState>> {
            self.view().profile(id)
        }
        fn keys_of(&self, id: ProfileId) -> Result<Vec<IdentityKey>> {
            self.view().keys_of(id)
        }
        fn events_of(&self, id: ProfileId, last: Option<usize>) -> Result<Vec<EventRef>> {
            self.view().events_of(id, last)
        }
        fn profile_ids(&self) -> Result<Vec<ProfileId>> {
            self.view().profile_ids()
        }
        fn deadlines_of(&self, id: ProfileId) -> Result<Vec<Deadline>> {
            self.view().deadlines_of(id)
        }
        fn visit_deadlines(&self, id: ProfileId, f: &mut dyn FnMut(&Deadline)) -> Result<()> {
            self.view().visit_deadlines(id, f)
        }
        fn next_due(&self, now: Micros) -> Result<Option<Deadline>> {
            self.view().next_due(now)
        }
        fn fired(&self, id: ProfileId, waypoint: &str) -> Result<Option<Micros>> {
            self.view().fired(id, waypoint)
        }
        fn fired_of(&self, id: ProfileId) -> Result<Vec<(String, Micros)>> {
            self.view().fired_of(id)
        }
        fn links_of(&self, keys: &[IdentityKey]) -> Result<Vec<LinkEntry>> {
            self.view().links_of(keys)
        }
        fn linked(&self, a: &IdentityKey, b: &IdentityKey) -> Result<bool> {
            self.view().linked(a, b)
        }
        fn neighbours(&self, key: &IdentityKey) -> Result<Vec<IdentityKey>> {
            self.view().neighbours(key)
        }
        fn conflicts(&self) -> Result<Vec<Conflict>> {
            self.view().conflicts()
        }
        fn conflicts_of(&self, keys: &[IdentityKey]) -> Result<Vec<Conflict>> {
            self.view().conflicts_of(keys)
        }
        fn pending_actions(&self, limit: usize) -> Result<Vec<ActionRecord>> {
            self.view().pending_actions(limit)
        }
        fn persona(&self, id: ProfileId) -> Result<Option<String>> {
            self.view().persona(id)
        }
        fn attributes(&self, id: ProfileId) -> Result<Map<String, Value>> {
            self.view().attributes(id)
        }
        fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
            self.view().scan(from, to, f)
        }
        fn links(&self, f: &mut dyn FnMut(LinkEntry) -> Result<()>) -> Result<()> {
            self.view().links(f)
        }
        fn counters(&self) -> Result<(u64, u64)> {
            self.view().counters()
        }
    };
}

/// A read transaction: the hot state under a read lock, the file through a reader connection.
pub(crate) struct ReadTx<'a> {
    pub hot: &'a Hot,
    pub sql: Direct<'a>,
    pub ctx: &'a Arc<Ctx>,
}

impl ReadTx<'_> {
    fn view(&self) -> View<'_, Direct<'_>> {
        View { hot: self.hot, sql: &self.sql, ctx: self.ctx }
    }
}

fn read_only() -> Error {
    Error::Storage { message: "a read transaction cannot write".into(), source: None }
}

impl Tx for ReadTx<'_> {
    reads!();

    fn next_seq(&mut self) -> Result<u64> {
        Err(read_only())
    }
    fn new_profile_id(&mut self) -> Result<ProfileId> {
        Err(read_only())
    }
    fn put_profile(&mut self, _: &ProfileState) -> Result<()> {
        Err(read_only())
    }
    fn delete_profile(&mut self, _: ProfileId) -> Result<()> {
        Err(read_only())
    }
    fn put_key(&mut self, _: &IdentityKey, _: ProfileId) -> Result<()> {
        Err(read_only())
    }
    fn delete_key(&mut self, _: &IdentityKey) -> Result<()> {
        Err(read_only())
    }
    fn append_event(&mut self, _: TrackedEvent) -> Result<()> {
        Err(read_only())
    }
    fn move_events(&mut self, _: ProfileId, _: ProfileId) -> Result<()> {
        Err(read_only())
    }
    fn move_event(&mut self, _: u64, _: ProfileId, _: ProfileId) -> Result<()> {
        Err(read_only())
    }
    fn delete_events_of(&mut self, _: ProfileId) -> Result<()> {
        Err(read_only())
    }
    fn append_link(&mut self, _: &LinkEntry) -> Result<()> {
        Err(read_only())
    }
    fn delete_links_of(&mut self, _: &[IdentityKey]) -> Result<()> {
        Err(read_only())
    }
    fn add_conflict(&mut self, _: &Conflict) -> Result<()> {
        Err(read_only())
    }
    fn delete_conflicts_of(&mut self, _: &[IdentityKey]) -> Result<()> {
        Err(read_only())
    }
    fn put_deadline(&mut self, _: &Deadline) -> Result<()> {
        Err(read_only())
    }
    fn delete_deadline(&mut self, _: ProfileId, _: &str) -> Result<()> {
        Err(read_only())
    }
    fn set_fired(&mut self, _: ProfileId, _: &str, _: Micros) -> Result<()> {
        Err(read_only())
    }
    fn push_action(&mut self, _: &ActionRecord) -> Result<()> {
        Err(read_only())
    }
    fn ack(&mut self, _: &str) -> Result<bool> {
        Err(read_only())
    }
    fn delete_actions_of(&mut self, _: ProfileId) -> Result<()> {
        Err(read_only())
    }
    fn set_persona(&mut self, _: ProfileId, _: Option<&str>) -> Result<()> {
        Err(read_only())
    }
    fn set_attributes(&mut self, _: ProfileId, _: &Map<String, Value>) -> Result<()> {
        Err(read_only())
    }
    fn delete_events_before(&mut self, _: Micros) -> Result<u64> {
        Err(read_only())
    }
    fn strip_keys(&mut self, _: &[IdentityKey]) -> Result<u64> {
        Err(read_only())
    }
    fn raise_counters(&mut self, _: u64, _: u64) -> Result<()> {
        Err(read_only())
    }
}

/// The write transaction: runs between `BEGIN IMMEDIATE` and `COMMIT` on the writer
/// thread's connection, with the hot state under its write lock. Hot-state changes are
/// journalled; rows are streamed to the writer thread.
pub(crate) struct WriteTx<'a> {
    pub hot: &'a mut Hot,
    pub sql: Piped<'a>,
    pub ctx: &'a Arc<Ctx>,
    /// The journal entry of this transaction.
    pub ops: &'a mut Vec<u8>,
    pub enc: &'a mut EncState,
    /// Whether the hot state was changed (a rollback must then rebuild it).
    pub touched: &'a Cell<bool>,
}

impl WriteTx<'_> {
    fn view(&self) -> View<'_, Piped<'_>> {
        View { hot: self.hot, sql: &self.sql, ctx: self.ctx }
    }

    fn enc(&mut self) -> Enc<'_> {
        self.touched.set(true);
        Enc { out: self.ops, st: self.enc }
    }

    fn hashed_keys(&self, keys: &[IdentityKey]) -> Vec<IdentityKey> {
        keys.iter().map(|k| self.ctx.key(k).into_owned()).collect()
    }
}

fn insert_sorted(events: &mut Vec<(Micros, u64)>, e: (Micros, u64)) {
    if events.last().is_none_or(|last| *last <= e) {
        events.push(e);
    } else {
        let at = events.partition_point(|x| *x <= e);
        events.insert(at, e);
    }
}

impl Tx for WriteTx<'_> {
    reads!();

    fn next_seq(&mut self) -> Result<u64> {
        self.touched.set(true);
        let seq = self.hot.seq;
        self.hot.seq += 1;
        Ok(seq)
    }

    fn new_profile_id(&mut self) -> Result<ProfileId> {
        self.touched.set(true);
        self.hot.next_profile += 1;
        Ok(ProfileId(self.hot.next_profile))
    }

    fn put_profile(&mut self, state: &ProfileState) -> Result<()> {
        self.enc().put_profile(state);
        self.hot.put_profile(state);
        Ok(())
    }

    fn delete_profile(&mut self, id: ProfileId) -> Result<()> {
        if self.hot.profiles.contains_key(&id) {
            self.enc().delete_profile(id);
            self.hot.delete_profile(id);
        }
        Ok(())
    }

    fn put_key(&mut self, key: &IdentityKey, id: ProfileId) -> Result<()> {
        self.hot.rec(id)?;
        let key = self.ctx.key(key).into_owned();
        let pos = self.hot.key_pos;
        self.enc().put_key(&key, id, pos);
        self.hot.put_key(&key, id, pos)
    }

    fn delete_key(&mut self, key: &IdentityKey) -> Result<()> {
        let key = self.ctx.key(key).into_owned();
        if self.hot.keys.contains_key(&key) {
            self.enc().delete_key(&key);
            self.hot.delete_key(&key);
        }
        Ok(())
    }

    fn append_event(&mut self, mut event: TrackedEvent) -> Result<()> {
        self.hot.rec(event.profile)?;
        if self.ctx.hasher.is_some() {
            event.event.keys = self.hashed_keys(&event.event.keys);
        }
        let (profile, order) = (event.profile, (event.event.ts, event.seq));
        self.sql.push(Row::Event(Box::new(event)))?;
        self.touched.set(true);
        insert_sorted(&mut self.hot.rec_mut(profile)?.events, order);
        Ok(())
    }

    fn move_events(&mut self, from: ProfileId, to: ProfileId) -> Result<()> {
        self.hot.rec(to)?;
        let moved = std::mem::take(&mut self.hot.rec_mut(from)?.events);
        self.touched.set(true);
        // The events stay where they are: `merges` maps `from` to `to` (see the schema).
        self.sql.push(Row::Merge { absorbed: from.0 as i64, survivor: to.0 as i64 })?;
        let target = &mut self.hot.rec_mut(to)?.events;
        target.extend(moved);
        target.sort_unstable();
        Ok(())
    }

    fn move_event(&mut self, seq: u64, from: ProfileId, to: ProfileId) -> Result<()> {
        self.hot.rec(to)?;
        let Some(at) = self.hot.rec(from)?.events.iter().position(|e| e.1 == seq) else {
            return Err(Error::Storage { message: format!("event {seq} is not in profile {from}"), source: None });
        };
        self.sql.push(Row::MoveEvent { seq: seq as i64, profile: to.0 as i64 })?;
        self.touched.set(true);
        let e = self.hot.rec_mut(from)?.events.remove(at);
        insert_sorted(&mut self.hot.rec_mut(to)?.events, e);
        Ok(())
    }

    fn delete_events_of(&mut self, id: ProfileId) -> Result<()> {
        let Some(r) = self.hot.profiles.get_mut(&id) else { return Ok(()) };
        let events = std::mem::take(&mut r.events);
        self.touched.set(true);
        for (_, seq) in events {
            self.sql.push(Row::DeleteEvent(seq as i64))?;
        }
        // Its events are gone, wherever they were stored: so are the merges into it.
        self.sql.push(Row::DropMerges(id.0 as i64))
    }

    fn append_link(&mut self, entry: &LinkEntry) -> Result<()> {
        let (a, b) = (self.ctx.key(&entry.a).into_owned(), self.ctx.key(&entry.b).into_owned());
        let n = self.hot.next_link;
        self.sql.push(Row::Link {
            n,
            a: a.as_str().to_string(),
            b: b.as_str().to_string(),
            ts: entry.ts,
            event_seq: entry.event_seq.map(|s| s as i64),
            outcome: outcome_str(entry.outcome),
            absorbed: entry.absorbed.map(|p| p.0 as i64),
            profile: entry.profile.0 as i64,
        })?;
        self.touched.set(true);
        self.hot.next_link += 1;
        for key in [&a, &b] {
            let list = self.hot.link_index.entry(key.clone()).or_default();
            if list.last() != Some(&n) {
                list.push(n);
            }
        }
        match entry.outcome {
            LinkOutcome::Joined | LinkOutcome::Merged | LinkOutcome::Already if a != b => {
                self.enc().edge(true, &a, &b);
                self.hot.edge(true, &a, &b);
            }
            LinkOutcome::Removed => {
                self.enc().edge(false, &a, &b);
                self.hot.edge(false, &a, &b);
            }
            _ => {}
        }
        Ok(())
    }

    fn delete_links_of(&mut self, keys: &[IdentityKey]) -> Result<()> {
        let keys = self.hashed_keys(keys);
        let mut rows: Vec<i64> = keys.iter().filter_map(|k| self.hot.link_index.get(k)).flatten().copied().collect();
        rows.sort_unstable();
        rows.dedup();
        let ctx = self.ctx.clone();
        let found = {
            let rows = rows.clone();
            self.sql.with(move |c| fetch_links(c, &ctx, &rows))?
        };
        for &n in &rows {
            self.sql.push(Row::DeleteLink(n))?;
        }
        self.touched.set(true);
        for (n, l) in found {
            for k in [l.a, l.b] {
                if let Some(list) = self.hot.link_index.get_mut(&k) {
                    list.retain(|x| *x != n);
                    if list.is_empty() {
                        self.hot.link_index.remove(&k);
                    }
                }
            }
        }
        for key in &keys {
            self.enc().edges_drop(key);
            self.hot.edges_drop(key);
        }
        Ok(())
    }

    fn add_conflict(&mut self, c: &Conflict) -> Result<()> {
        let (key, other) = (self.ctx.key(&c.key), self.ctx.key(&c.other));
        let mut message = c.message.clone();
        if self.ctx.hasher.is_some() {
            message = message.replace(c.key.as_str(), key.as_str()).replace(c.other.as_str(), other.as_str());
        }
        self.hot.conflict_keys.extend([key.as_str().to_string(), other.as_str().to_string()]);
        let row = Row::Conflict {
            key: key.as_str().to_string(),
            other: other.as_str().to_string(),
            ts: c.ts,
            event_seq: c.event_seq.map(|s| s as i64),
            kind: c.kind.clone(),
            limit: c.limit as i64,
            message,
        };
        self.sql.push(row)
    }

    fn delete_conflicts_of(&mut self, keys: &[IdentityKey]) -> Result<()> {
        for k in keys {
            self.sql.push(Row::DeleteConflictsOf(self.ctx.key(k).as_str().to_string()))?;
        }
        Ok(())
    }

    fn put_deadline(&mut self, deadline: &Deadline) -> Result<()> {
        self.hot.rec(deadline.profile)?;
        self.enc().put_deadline(deadline);
        self.hot.put_deadline(deadline.clone())
    }

    fn delete_deadline(&mut self, id: ProfileId, waypoint: &str) -> Result<()> {
        if self.hot.delete_deadline(id, waypoint) {
            self.enc().delete_deadline(id, waypoint);
        }
        Ok(())
    }

    fn set_fired(&mut self, id: ProfileId, waypoint: &str, ts: Micros) -> Result<()> {
        self.hot.rec(id)?;
        self.enc().set_fired(id, waypoint, ts);
        self.hot.set_fired(id, waypoint, ts)
    }

    fn push_action(&mut self, action: &ActionRecord) -> Result<()> {
        if self.hot.outbox.contains_key(&action.id) {
            return Ok(());
        }
        let n = self.hot.next_action;
        self.sql.push(Row::Action(n, Box::new(action.clone())))?;
        self.touched.set(true);
        self.hot.next_action += 1;
        self.hot.outbox.insert(action.id.clone(), n);
        Ok(())
    }

    fn ack(&mut self, action_id: &str) -> Result<bool> {
        let Some(&n) = self.hot.outbox.get(action_id) else { return Ok(false) };
        self.sql.push(Row::DeleteAction(n))?;
        self.touched.set(true);
        self.hot.outbox.remove(action_id);
        Ok(true)
    }

    fn delete_actions_of(&mut self, id: ProfileId) -> Result<()> {
        let ctx = self.ctx.clone();
        let gone: Vec<String> = self.sql.with(move |c| {
            let q = |e| ctx.sql("deleting actions", e);
            let mut stmt = c.prepare_cached("DELETE FROM outbox WHERE profile = ?1 RETURNING id").map_err(q)?;
            let rows = stmt.query_map([id.0 as i64], |r| r.get::<_, String>(0)).map_err(q)?;
            rows.collect::<rusqlite::Result<Vec<String>>>().map_err(q)
        })?;
        if !gone.is_empty() {
            self.touched.set(true);
            for action in gone {
                self.hot.outbox.remove(&action);
            }
        }
        Ok(())
    }

    fn set_persona(&mut self, id: ProfileId, persona: Option<&str>) -> Result<()> {
        self.hot.rec(id)?;
        self.enc().set_persona(id, persona);
        self.hot.set_persona(id, persona)
    }

    fn set_attributes(&mut self, id: ProfileId, attributes: &Map<String, Value>) -> Result<()> {
        self.hot.rec(id)?;
        self.enc().set_attributes(id, &to_json(attributes));
        self.hot.set_attributes(id, attributes.clone())
    }

    fn delete_events_before(&mut self, before: Micros) -> Result<u64> {
        let ctx = self.ctx.clone();
        let deleted = self.sql.with(move |c| {
            Ok(c.execute("DELETE FROM events WHERE ts < ?1", [before]).map_err(|e| ctx.sql("deleting old events (retention)", e))? as u64)
        })?;
        if deleted > 0 {
            self.touched.set(true);
            for r in self.hot.profiles.values_mut() {
                let cut = r.events.partition_point(|e| e.0 < before);
                if cut > 0 {
                    r.events.drain(..cut);
                }
            }
        }
        Ok(deleted)
    }

    fn strip_keys(&mut self, keys: &[IdentityKey]) -> Result<u64> {
        let keys = self.hashed_keys(keys);
        let ctx = self.ctx.clone();
        // Finds the events that carry a key, rewrites them, and says which were deleted.
        let deleted: Vec<(i64, i64)> = self.sql.with(move |c| {
            let q = |e| ctx.sql("removing forgotten keys from events", e);
            let mut found: Vec<(i64, i64, String)> = Vec::new();
            {
                let mut stmt = c.prepare_cached("SELECT seq, profile, body FROM journey_events WHERE instr(body, ?1) > 0").map_err(q)?;
                for k in &keys {
                    let rows = stmt.query_map([to_json(k.as_str())], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(q)?;
                    for r in rows {
                        found.push(r.map_err(q)?);
                    }
                }
            }
            found.sort_by_key(|r| r.0);
            found.dedup_by_key(|r| r.0);
            let mut changed = Vec::new();
            for (seq, profile, body) in found {
                let e = decode_event(seq, profile, &body)?;
                if !e.event.keys.iter().any(|k| keys.contains(k)) {
                    continue;
                }
                let mut event = e.event.clone();
                event.keys.retain(|k| !keys.contains(k));
                if event.keys.is_empty() {
                    c.execute("DELETE FROM events WHERE seq = ?1", [seq]).map_err(q)?;
                    changed.push((seq, profile));
                } else {
                    c.execute("UPDATE events SET body = ?2 WHERE seq = ?1", params![seq, to_json(&event)]).map_err(q)?;
                    changed.push((seq, -1));
                }
            }
            Ok(changed)
        })?;
        for &(seq, profile) in &deleted {
            if profile >= 0
                && let Some(r) = self.hot.profiles.get_mut(&ProfileId(profile as u64))
            {
                self.touched.set(true);
                r.events.retain(|x| x.1 != seq as u64);
            }
        }
        Ok(deleted.len() as u64)
    }

    fn raise_counters(&mut self, next_seq: u64, next_profile: u64) -> Result<()> {
        self.touched.set(true);
        self.hot.seq = self.hot.seq.max(next_seq);
        self.hot.next_profile = self.hot.next_profile.max(next_profile.saturating_sub(1));
        Ok(())
    }
}
