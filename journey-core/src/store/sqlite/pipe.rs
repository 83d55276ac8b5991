//! The writer thread: owns the writer connection and runs what a write transaction sends
//! it, in order. Rows are streamed to it while the tracker works on the next event, so
//! SQLite's work and the tracker's overlap on two cores; calls that need an answer wait
//! for everything sent before them. When nothing is queued for it, the calling thread uses
//! the connection itself (calls, and the last rows with the commit): a hand-off between
//! threads costs more than a small transaction (one event: ~260 µs with four hand-offs,
//! ~30 µs without, on the benchmark machine).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use rusqlite::{Connection, params};

use super::Ctx;
use super::flight::{self, Flight};
use crate::error::{Error, Result};
use crate::outbox::ActionRecord;
use crate::profile::TrackedEvent;

/// Rows sent to the writer thread at once: fewer wake-ups, still overlapping.
pub(crate) const ROWS_PER_SEND: usize = 64;

/// One write, executed in order on the writer thread.
pub(crate) enum Row {
    /// An event, serialised on the writer thread.
    Event(Box<TrackedEvent>),
    /// An action, serialised on the writer thread.
    Action(i64, Box<ActionRecord>),
    DeleteAction(i64),
    Link {
        n: i64,
        a: String,
        b: String,
        ts: i64,
        event_seq: Option<i64>,
        outcome: &'static str,
        absorbed: Option<i64>,
        profile: i64,
    },
    Conflict {
        key: String,
        other: String,
        ts: i64,
        event_seq: Option<i64>,
        kind: String,
        limit: i64,
        message: String,
    },
    DeleteConflictsOf(String),
    MoveEvent {
        seq: i64,
        profile: i64,
    },
    /// A merge: `absorbed`'s events now belong to `survivor`, through the `merges` table.
    Merge {
        absorbed: i64,
        survivor: i64,
    },
    /// A profile is gone: the merges into it are dropped.
    DropMerges(i64),
    DeleteEvent(i64),
    DeleteLink(i64),
    Journal {
        seq: i64,
        next_profile: i64,
        key_pos: i64,
        ops: Vec<u8>,
    },
}

type Job = Box<dyn FnOnce(&mut Side) + Send>;

enum Cmd {
    Rows(Vec<Row>),
    Run(Job),
}

/// The writer thread's side.
pub(crate) struct Side {
    pub conn: Connection,
    ctx: Arc<Ctx>,
    /// The first failure of the open transaction, reported by the next call.
    failed: Option<Error>,
    /// Reused buffer for JSON bodies.
    body: Vec<u8>,
    /// `PRAGMA data_version` when the hot state was last known to match the file: it
    /// changes when another connection commits.
    data_version: i64,
    flight: Arc<Flight>,
    /// Tests: the next commit waits for this answer, and fails if it is `true`.
    hold: Option<Receiver<bool>>,
}

impl Side {
    /// Why the open transaction cannot go on, if it cannot: a row of it failed, or a commit
    /// before it failed (it was built on that one's changes). Clears the row failure.
    fn failure(&mut self) -> Option<Error> {
        self.failed.take().or_else(|| self.flight.failed().then(|| flight::failed_commit(&self.ctx.path)))
    }

    fn commit(&self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(|e| self.ctx.sql("committing", e))
    }

    fn begin(&self) -> Result<()> {
        self.conn.execute_batch("BEGIN IMMEDIATE").map_err(|e| self.ctx.sql("starting a write transaction", e))
    }

    /// Whether another connection committed since the hot state last matched the file;
    /// the file's data version is taken as matching from now on.
    fn version_changed(&mut self) -> Result<bool> {
        let version = self.conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(|e| self.ctx.sql("reading the data version", e))?;
        Ok(std::mem::replace(&mut self.data_version, version) != version)
    }

    /// Applies rows in order; events and actions (the bulk) through statements looked up
    /// once per group.
    fn apply_all(&mut self, rows: &[Row]) -> Result<()> {
        let ctx = self.ctx.clone();
        let ctx = &*ctx;
        let q = |what: &'static str| move |e| ctx.sql(what, e);
        let mut events = None;
        let mut actions = None;
        let mut body = std::mem::take(&mut self.body);
        let result = (|| {
            for row in rows {
                match row {
                    Row::Event(e) => {
                        let stmt = match &mut events {
                            Some(s) => s,
                            None => events.insert(
                                self.conn
                                    .prepare_cached("INSERT INTO events (seq, profile, ts, body) VALUES (?1, ?2, ?3, ?4)")
                                    .map_err(q("appending an event"))?,
                            ),
                        };
                        body.clear();
                        serde_json::to_writer(&mut body, &e.event).map_err(|e| Error::storage("cannot serialise an event", e))?;
                        let text = std::str::from_utf8(&body).expect("JSON is UTF-8");
                        stmt.execute(params![e.seq as i64, e.profile.0 as i64, e.event.ts, text]).map_err(q("appending an event"))?;
                    }
                    &Row::Action(n, ref a) => {
                        let stmt = match &mut actions {
                            Some(s) => s,
                            None => actions.insert(
                                self.conn
                                    .prepare_cached("INSERT INTO outbox (n, id, profile, ts, body) VALUES (?1, ?2, ?3, ?4, ?5)")
                                    .map_err(q("putting an action in the outbox"))?,
                            ),
                        };
                        body.clear();
                        serde_json::to_writer(&mut body, &**a).map_err(|e| Error::storage("cannot serialise an action", e))?;
                        let text = std::str::from_utf8(&body).expect("JSON is UTF-8");
                        stmt.execute(params![n, a.id, a.profile.0 as i64, a.ts, text]).map_err(q("putting an action in the outbox"))?;
                    }
                    other => Self::apply(&self.conn, &self.ctx, &mut body, other)?,
                }
            }
            Ok(())
        })();
        drop((events, actions));
        self.body = body;
        result
    }

    fn apply(c: &Connection, ctx: &Ctx, body: &mut Vec<u8>, row: &Row) -> Result<()> {
        let q = |what: &'static str| move |e| ctx.sql(what, e);
        match row {
            Row::Event(e) => {
                body.clear();
                serde_json::to_writer(&mut *body, &e.event).map_err(|e| Error::storage("cannot serialise an event", e))?;
                let body = std::str::from_utf8(body).expect("JSON is UTF-8");
                c.prepare_cached("INSERT INTO events (seq, profile, ts, body) VALUES (?1, ?2, ?3, ?4)")
                    .and_then(|mut s| s.execute(params![e.seq as i64, e.profile.0 as i64, e.event.ts, body]))
                    .map_err(q("appending an event"))?;
            }
            Row::Action(n, a) => {
                body.clear();
                serde_json::to_writer(&mut *body, &**a).map_err(|e| Error::storage("cannot serialise an action", e))?;
                let body = std::str::from_utf8(body).expect("JSON is UTF-8");
                c.prepare_cached("INSERT INTO outbox (n, id, profile, ts, body) VALUES (?1, ?2, ?3, ?4, ?5)")
                    .and_then(|mut s| s.execute(params![n, a.id, a.profile.0 as i64, a.ts, body]))
                    .map_err(q("putting an action in the outbox"))?;
            }
            Row::DeleteAction(n) => {
                c.prepare_cached("DELETE FROM outbox WHERE n = ?1").and_then(|mut s| s.execute([n])).map_err(q("acknowledging an action"))?;
            }
            Row::Link { n, a, b, ts, event_seq, outcome, absorbed, profile } => {
                c.prepare_cached("INSERT INTO links (n, a, b, ts, event_seq, outcome, absorbed, profile) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
                    .and_then(|mut s| s.execute(params![n, a, b, ts, event_seq, outcome, absorbed, profile]))
                    .map_err(q("appending to the link log"))?;
            }
            Row::Conflict { key, other, ts, event_seq, kind, limit, message } => {
                c.prepare_cached("INSERT INTO conflicts (key, other, ts, event_seq, kind, lim, message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                    .and_then(|mut s| s.execute(params![key, other, ts, event_seq, kind, limit, message]))
                    .map_err(q("recording a conflict"))?;
            }
            Row::DeleteConflictsOf(key) => {
                c.prepare_cached("DELETE FROM conflicts WHERE key = ?1 OR other = ?1")
                    .and_then(|mut s| s.execute([key]))
                    .map_err(q("deleting conflicts"))?;
            }
            Row::MoveEvent { seq, profile } => {
                c.prepare_cached("UPDATE events SET profile = ?2 WHERE seq = ?1")
                    .and_then(|mut s| s.execute([seq, profile]))
                    .map_err(q("moving an event"))?;
            }
            Row::Merge { absorbed, survivor } => {
                // One level deep: what was folded into `absorbed` now points at `survivor` too.
                c.prepare_cached("UPDATE merges SET survivor = ?2 WHERE survivor = ?1")
                    .and_then(|mut s| s.execute([absorbed, survivor]))
                    .and_then(|_| c.prepare_cached("INSERT INTO merges (absorbed, survivor) VALUES (?1, ?2)"))
                    .and_then(|mut s| s.execute([absorbed, survivor]))
                    .map_err(q("recording a merge"))?;
            }
            Row::DropMerges(survivor) => {
                c.prepare_cached("DELETE FROM merges WHERE survivor = ?1")
                    .and_then(|mut s| s.execute([survivor]))
                    .map_err(q("deleting a profile's merges"))?;
            }
            Row::DeleteEvent(seq) => {
                c.prepare_cached("DELETE FROM events WHERE seq = ?1").and_then(|mut s| s.execute([seq])).map_err(q("deleting an event"))?;
            }
            Row::DeleteLink(n) => {
                c.prepare_cached("DELETE FROM links WHERE n = ?1").and_then(|mut s| s.execute([n])).map_err(q("deleting links"))?;
            }
            Row::Journal { seq, next_profile, key_pos, ops } => {
                c.prepare_cached("INSERT INTO journal (seq, next_profile, key_pos, ops) VALUES (?1, ?2, ?3, ?4)")
                    .and_then(|mut s| s.execute(params![seq, next_profile, key_pos, ops]))
                    .map_err(q("writing the journal"))?;
            }
        }
        Ok(())
    }
}

/// The rows the writer thread is done with, to be freed by a calling thread (see
/// [`Pipe::spent`]). Reached without the store's locks.
#[derive(Clone)]
pub(crate) struct Spent(Arc<Mutex<Receiver<Vec<Row>>>>);

impl Spent {
    /// Frees them: called when the caller has let go of the store's locks, while it waits
    /// for its commit.
    pub fn free(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).try_iter().for_each(drop);
    }
}

/// The handle to the writer thread.
pub(crate) struct Pipe {
    tx: Option<Sender<Cmd>>,
    /// Rows the writer thread has applied, sent back to be dropped by the thread that made
    /// them: freeing another thread's allocations takes the allocator's lock on that
    /// thread's arena (glibc), and the writer and the tracker then wait on each other.
    pub spent: Spent,
    thread: Option<JoinHandle<()>>,
    ctx: Arc<Ctx>,
    /// The commits posted to the writer thread.
    pub flight: Arc<Flight>,
    /// The writer thread's side: also used straight from the caller's thread when nothing
    /// is queued (no hand-off between threads, which costs more than a small transaction).
    side: Arc<Mutex<Side>>,
    /// Commands sent to the writer thread and not done yet.
    queued: Arc<AtomicUsize>,
}

fn stopped(ctx: &Ctx) -> Error {
    Error::Storage { message: format!("{}: the SQLite writer thread stopped", ctx.path), source: None }
}

impl Pipe {
    /// Starts the writer thread on `conn`, whose `PRAGMA data_version` is `data_version`
    /// (with the hot state loaded from it).
    pub fn start(conn: Connection, ctx: Arc<Ctx>, data_version: i64) -> Result<Pipe> {
        let (tx, rx): (Sender<Cmd>, Receiver<Cmd>) = mpsc::channel();
        let (spent_tx, spent) = mpsc::channel();
        let flight = Arc::new(Flight::default());
        let side = Arc::new(Mutex::new(Side {
            conn,
            ctx: ctx.clone(),
            failed: None,
            body: Vec::with_capacity(1024),
            data_version,
            flight: flight.clone(),
            hold: None,
        }));
        let queued = Arc::new(AtomicUsize::new(0));
        let thread = {
            let (side, queued) = (side.clone(), queued.clone());
            std::thread::Builder::new()
                .name("journey-sqlite-writer".into())
                .spawn(move || {
                    for cmd in rx {
                        let mut side = lock(&side);
                        match cmd {
                            Cmd::Rows(rows) => {
                                if side.failed.is_none()
                                    && let Err(e) = side.apply_all(&rows)
                                {
                                    side.failed = Some(e);
                                }
                                // Freed where they were allocated (see `Pipe::spent`).
                                let _ = spent_tx.send(rows);
                            }
                            Cmd::Run(job) => job(&mut side),
                        }
                        drop(side);
                        queued.fetch_sub(1, Ordering::Release);
                    }
                })
                .map_err(|e| Error::Storage { message: format!("{}: cannot start the SQLite writer thread", ctx.path), source: Some(Box::new(e)) })?
        };
        Ok(Pipe { tx: Some(tx), spent: Spent(Arc::new(Mutex::new(spent))), thread: Some(thread), ctx, flight, side, queued })
    }

    /// Sends a command to the writer thread.
    fn send_cmd(&self, cmd: Cmd) -> Result<()> {
        let tx = self.tx.as_ref().ok_or_else(|| stopped(&self.ctx))?;
        self.queued.fetch_add(1, Ordering::AcqRel);
        tx.send(cmd).map_err(|_| {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            stopped(&self.ctx)
        })
    }

    /// The side, if nothing is queued for the writer thread (which then waits for the next
    /// command): work done with it now comes in order after everything sent before. Only
    /// callers holding the store's writer lock send commands, so none can be queued meanwhile.
    fn idle_side(&self) -> Option<MutexGuard<'_, Side>> {
        (self.queued.load(Ordering::Acquire) == 0).then(|| lock(&self.side))
    }

    /// Sends rows; a failure is reported by the next [`Pipe::call`]. Returns an empty
    /// buffer for the next rows, sized for a whole send (not grown row by row).
    pub fn send(&self, rows: Vec<Row>) -> Result<Vec<Row>> {
        self.send_cmd(Cmd::Rows(rows))?;
        Ok(Vec::with_capacity(ROWS_PER_SEND))
    }

    /// Runs `f` on the writer connection after everything sent before, and waits for its
    /// answer; fails instead with the first failure of a row sent before.
    /// Refused after a failed commit until the hot state is rebuilt ([`Pipe::reload`]).
    pub fn call<T: Send + 'static>(&self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        self.call_side(move |side| match side.failure() {
            Some(e) => Err(e),
            None => f(&side.conn),
        })
    }

    /// Rebuilds the hot state with `load`, after everything sent before: clears the failure
    /// of the open transaction and of a failed commit (the writer thread takes work again),
    /// and takes the file's data version as the one the hot state matches.
    pub fn reload<T: Send + 'static>(&self, load: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        self.call_side(move |side| {
            side.failed = None;
            side.version_changed()?;
            let loaded = load(&side.conn);
            side.flight.rebuilt();
            loaded
        })
    }

    /// Whether another connection committed since the hot state last matched the file
    /// (the data version is taken as matching from now on).
    pub fn changed(&self) -> Result<bool> {
        self.call_side(Side::version_changed)
    }

    /// Begins a write transaction and waits for it: `Ok(true)` if another connection
    /// committed since the hot state last matched the file (rebuild it before writing).
    pub fn begin_now(&self) -> Result<bool> {
        self.call_side(|side| {
            if let Some(e) = side.failure() {
                return Err(e);
            }
            side.begin()?;
            side.version_changed()
        })
    }

    /// Begins a write transaction behind the commits in flight, without waiting. If it
    /// cannot begin, or another connection committed in between (the hot state no longer
    /// matches the file), the transaction fails: its rows are skipped and its commit
    /// reports why.
    pub fn begin_queued(&self) -> Result<()> {
        self.run(|side| {
            if let Some(e) = side.failure() {
                side.failed = Some(e);
                return;
            }
            match side.begin().and_then(|()| side.version_changed()) {
                Ok(false) => {}
                Ok(true) => {
                    side.failed = Some(Error::Storage {
                        message: format!(
                            "{}: another connection changed the file while this write transaction was queued: nothing of it was stored; the store reloads its state from the file, retry",
                            side.ctx.path
                        ),
                        source: None,
                    })
                }
                Err(e) => side.failed = Some(e),
            }
        })
    }

    /// Commits the open transaction after everything sent before, without waiting: the
    /// answer comes on the returned channel. A failed commit (or a failure of the
    /// transaction's rows) rolls back and makes the writer thread refuse work until the hot
    /// state is rebuilt ([`Pipe::reload`]): the transactions queued behind it were built on
    /// its changes.
    pub fn commit(&self) -> Result<Receiver<Result<()>>> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.flight.post();
        // Finishes the commit in the flight however the job ends: done, or dropped unrun
        // because the writer thread is gone.
        let mut finish = Finish(self.flight.clone(), false);
        self.run(move |side| {
            let result = match side.failure() {
                Some(e) => Err(e),
                None if side.hold.take().is_some_and(|answer| answer.recv().unwrap_or(false)) => {
                    Err(Error::Storage { message: format!("{}: committing: failed on purpose (a test)", side.ctx.path), source: None })
                }
                None => side.commit(),
            };
            if result.is_err() {
                let _ = side.conn.execute_batch("ROLLBACK");
            }
            finish.1 = result.is_ok();
            drop(finish);
            let _ = reply.send(result);
        })?;
        Ok(answer)
    }

    /// Tests: the next commit waits for an answer on the returned channel, and fails if
    /// it is `true`.
    pub fn hold_next_commit(&self) -> Result<SyncSender<bool>> {
        let (answer, held) = mpsc::sync_channel(1);
        self.run(move |side| side.hold = Some(held))?;
        Ok(answer)
    }

    /// Applies `rows` and commits on the calling thread, if nothing is queued for the
    /// writer thread (`None` otherwise, or while a test holds the next commit). On `Err`
    /// the transaction is still open: the caller rolls it back.
    pub fn commit_now(&self, rows: &mut Vec<Row>) -> Option<Result<()>> {
        let mut side = self.idle_side()?;
        if side.hold.is_some() {
            return None;
        }
        let result = match side.failure() {
            Some(e) => Err(e),
            None => side.apply_all(rows).and_then(|()| side.commit()),
        };
        rows.clear();
        Some(result)
    }

    fn run(&self, job: impl FnOnce(&mut Side) + Send + 'static) -> Result<()> {
        self.send_cmd(Cmd::Run(Box::new(job)))
    }

    /// Runs `f` on the writer thread after everything sent before, without waiting.
    pub fn post(&self, f: impl FnOnce(&Connection) + Send + 'static) -> Result<()> {
        self.run(move |side| f(&side.conn))
    }

    /// Like [`Pipe::call`], but also runs when a row failed (it clears the failure): for
    /// ending a transaction.
    pub fn call_always<T: Send + 'static>(&self, f: impl FnOnce(&Connection, Option<Error>) -> T + Send + 'static) -> Result<T> {
        self.call_side(move |side| {
            let failed = side.failed.take();
            Ok(f(&side.conn, failed))
        })
    }

    /// Runs `f` on the side after everything sent before: on this thread if nothing is
    /// queued, else on the writer thread, waiting for it.
    fn call_side<T: Send + 'static>(&self, f: impl FnOnce(&mut Side) -> Result<T> + Send + 'static) -> Result<T> {
        if let Some(mut side) = self.idle_side() {
            return f(&mut side);
        }
        let (reply, answer): (SyncSender<Result<T>>, _) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |side| {
            let _ = reply.send(f(side));
        });
        self.send_cmd(Cmd::Run(job))?;
        answer.recv().map_err(|_| stopped(&self.ctx))?
    }
}

fn lock(side: &Mutex<Side>) -> MutexGuard<'_, Side> {
    side.lock().unwrap_or_else(|p| p.into_inner())
}

/// Finishes a posted commit in its [`Flight`] when dropped (`.1`: it committed).
struct Finish(Arc<Flight>, bool);

impl Drop for Finish {
    fn drop(&mut self) {
        self.0.finish(self.1);
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
