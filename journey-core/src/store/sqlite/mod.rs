//! The durable, embedded store: one SQLite file (bundled SQLite, nothing to install).
//!
//! ```
//! use std::sync::Arc;
//! use journey_core::{Event, IdentityKey, MapDocument, Tracker, TrackerConfig};
//! use journey_core::store::SqliteStore;
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("journeys.db");
//! let doc = MapDocument::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/maps/shop.json")).unwrap();
//! let session = IdentityKey::parse("session:abc").unwrap();
//! {
//!     let store = Arc::new(SqliteStore::open(&path).unwrap());
//!     let tracker = Tracker::with_store(&doc, TrackerConfig::default(), store).unwrap();
//!     tracker.track(Event::new(1_000_000, session.clone(), "product_view", "web")).unwrap();
//! }
//! // Reopened: the journey is still there.
//! let tracker = Tracker::with_store(&doc, TrackerConfig::default(), Arc::new(SqliteStore::open(&path).unwrap())).unwrap();
//! assert_eq!(tracker.journey(&session).unwrap().len(), 1);
//! ```
//!
//! # Layout
//!
//! Events are appended to an `events` table keyed by arrival number (`seq`), with the
//! event as JSON and an index on time for scans; the link log, conflicts and the action
//! outbox are tables written as they happen. A merge does not rewrite the absorbed
//! profile's events: it adds one row to `merges` (absorbed → survivor, kept one level
//! deep), and events are read through the view `journey_events`, which gives each its
//! profile now (a split, which is rare, moves its events one by one). Other tools reading
//! the file (the `sqlite3` shell, DuckDB) should use that view too, and the views
//! `armed_deadlines` and `pending_actions`. The *hot state* the tracker consults on every
//! event (profiles with their summary, keys, armed deadlines, caps, persona and
//! attributes; the key index; link edges; each profile's event order) is kept in memory
//! and made durable as one compact binary *journal* row per transaction. Every so often
//! (see [`SqliteOptions::checkpoint_bytes`]) and when the store is dropped, the changed
//! profiles, keys and edges are written to their tables in id order and the journal is
//! emptied. So a transaction writes only appended rows: a batch of 1,000 events over
//! 100,000 profiles touches a few dozen pages instead of a thousand. Opening a file loads
//! the hot state (tables, then journal, then the event order): its cost grows with the
//! number of profiles and events (see the benchmark for figures).
//!
//! # Transactions and concurrency
//!
//! [`Store::write`] runs in `BEGIN IMMEDIATE` on the one writer connection, owned by a
//! writer thread: the rows a transaction produces (events, actions, links, the journal
//! entry) are streamed to that thread while the tracker goes on with the next event, so
//! SQLite's work and the tracker's overlap on two cores (a small transaction, or the rest
//! of one the writer thread has caught up with, is applied and committed by the calling
//! thread itself, which saves the hand-offs); `write` returns once `COMMIT` has. When the
//! writer thread still has work queued, the `COMMIT` is handed to it and the store's locks
//! are let go before waiting for it, so with several writing threads the next
//! transaction's work in memory overlaps this one's commit (its `BEGIN` is queued behind
//! it; should another connection commit in between, the queued transaction fails, says
//! so, and changes nothing). If the closure fails (or panics), or a row or the commit
//! fails, SQLite rolls back and the hot state is rebuilt from the file: nothing of the
//! transaction remains. A transaction queued behind a failed commit was built on its
//! changes, so it fails too (and says so), before anything of it is stored.
//! [`Store::read`] reads the hot state under a read lock (it waits for a write in
//! progress, as with the memory store, and for the commits in flight, so that the file
//! holds every event the hot state lists) and events through a pool of reader connections;
//! [`Store::scan`] streams events from a reader connection's snapshot without holding up
//! the writer. The WAL is copied into the file by a copier thread on its own connection,
//! beside the writer (every 64 commits), and by the writer thread between transactions
//! (every 256 commits, which lets the WAL start again from its beginning); never inside a
//! commit.
//!
//! One process writes a file at a time: a second [`SqliteStore::open`] of the same file
//! (in this or another process) is refused with a clear error (after waiting up to half a
//! second, or the busy timeout if shorter, for a store just closed); a store opened with
//! [`SqliteOptions::read_only`] works beside the writer and follows its commits
//! (reloading the hot state when the file changed). A change committed to the file by
//! another connection (a tool, a script) is picked up the same way, by the next write.
//!
//! # Limits
//!
//! The hot state lives in memory: its size grows with the number of profiles and keys,
//! with 16 bytes per event (each profile's event order) and one entry per pending
//! action; opening a file loads it (about 1.8 s for 1M events over 100k profiles on the
//! benchmark machine). Forgetting a key looks for other events carrying it with a scan of
//! the events table.
//!
//! # Durability
//!
//! WAL mode. With [`Durability::Process`] (the default, `synchronous=NORMAL`) a
//! transaction is in the operating system's hands when `write` returns: it survives the
//! process being killed at any point (tested with SIGKILL), but the last transactions
//! before an OS crash or power cut may be lost (never half of one: the file stays
//! consistent). [`Durability::Os`] (`synchronous=FULL`) also syncs the WAL to the disk on
//! every commit, at a cost per transaction.
//!
//! # Privacy
//!
//! With [`SqliteOptions::key_hasher`], identity values are stored only as keyed hashes
//! (see [`KeyHasher`]): keys, events, links and conflicts hold `email:hmac:…`, and
//! lookups by raw key still work. Keys read back are the hashed forms.

mod copier;
mod flight;
mod hot;
mod pipe;
mod schema;
mod tx;

use std::borrow::Cow;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

pub use schema::CURRENT as SCHEMA_VERSION;

use self::hot::Hot;
use self::copier::Copier;
use self::flight::Flight;
use self::pipe::{Pipe, Row, Spent};
use self::tx::{Direct, Piped, ReadTx, WriteTx};
use super::{KeyHasher, Store, Tx};
use crate::error::{Error, Result};
use crate::identity::IdentityKey;
use crate::profile::EventRef;
use crate::time::Micros;

/// Transactions between two copies of the WAL into the database file by the writer thread,
/// which starts the WAL again from its beginning. Rarer copies write a page changed by many
/// transactions once instead of many times, at the cost of a larger WAL (about 100 MiB
/// with batches of 1,000 events). The [`copier`] does most of the copying in between, so
/// the writer's own copy is short.
const WAL_CHECKPOINT_COMMITS: u32 = 256;

/// Transactions between two copies by the [`copier`], beside the writer thread.
const COPIER_COMMITS: u32 = 64;

/// When a committed transaction is safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Survives the process being killed at any point; an OS crash or power cut may lose
    /// the last transactions (`synchronous=NORMAL` in WAL mode).
    #[default]
    Process,
    /// Also survives an OS crash or power cut: the WAL is synced on every commit
    /// (`synchronous=FULL`).
    Os,
}

/// How a [`SqliteStore`] opens its file.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// When a commit is safe (default [`Durability::Process`]).
    pub durability: Durability,
    /// How long to wait for a lock held by another connection before failing (default 5 s).
    pub busy_timeout: Duration,
    /// The most bytes the file may grow to (SQLite's `max_page_count`); a write that would
    /// pass it fails with a clear error and changes nothing. `None`: no limit.
    pub max_size: Option<u64>,
    /// Store identity values as keyed hashes (see [`KeyHasher`]).
    pub key_hasher: Option<KeyHasher>,
    /// Open for reading only: no writes, no lock on the file, and a writer in another
    /// process may keep writing (reads follow its commits).
    pub read_only: bool,
    /// Journal bytes after which the state tables are brought up to date (default 64 MiB).
    /// Smaller: faster reopening, more writing.
    pub checkpoint_bytes: u64,
    /// SQLite page cache per connection, in MiB (default 64).
    pub cache_mib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Process,
            busy_timeout: Duration::from_secs(5),
            max_size: None,
            key_hasher: None,
            read_only: false,
            checkpoint_bytes: 64 << 20,
            cache_mib: 64,
        }
    }
}

/// What the store needs to name files and limits in errors, and to hash keys.
pub(crate) struct Ctx {
    pub(crate) path: String,
    max_size: Option<u64>,
    busy_ms: u128,
    hasher: Option<KeyHasher>,
}

impl Ctx {
    fn new(path: &Path, options: &SqliteOptions) -> Self {
        Ctx {
            path: path.display().to_string(),
            max_size: options.max_size,
            busy_ms: options.busy_timeout.as_millis(),
            hasher: options.key_hasher.clone(),
        }
    }

    /// A storage error for a failed SQLite call, naming the file and, where it helps, the
    /// limit or the likely cause.
    pub(crate) fn sql(&self, what: &str, e: rusqlite::Error) -> Error {
        let path = &self.path;
        let cause = match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                format!("the database is locked by another connection or process (gave up after {} ms)", self.busy_ms)
            }
            Some(ErrorCode::DiskFull) => match self.max_size {
                Some(n) => format!("the database is full: it reached its size limit of {n} bytes (max_size), or the disk is full"),
                None => "the disk is full".into(),
            },
            Some(ErrorCode::NotADatabase) => "the file is not a SQLite database (or it is encrypted or damaged)".into(),
            Some(ErrorCode::DatabaseCorrupt) => "the database file is damaged; restore it from a backup or an export".into(),
            Some(ErrorCode::ReadOnly) => "the database is read-only (file permissions, a read-only file system, or opened read-only)".into(),
            Some(ErrorCode::CannotOpen) => "the file cannot be opened (does its folder exist, and may this process read and write it?)".into(),
            Some(ErrorCode::SystemIoFailure) => "the operating system reported an I/O error".into(),
            _ => e.to_string(),
        };
        Error::Storage { message: format!("{path}: {what}: {cause}"), source: Some(Box::new(e)) }
    }

    /// The stored form of a key.
    pub(crate) fn key<'k>(&self, key: &'k IdentityKey) -> Cow<'k, IdentityKey> {
        match &self.hasher {
            Some(h) => h.key(key),
            None => Cow::Borrowed(key),
        }
    }
}

struct Writer {
    /// The writer thread, owner of the writer connection.
    pipe: Pipe,
    /// Copies the WAL into the file beside the writer thread (`None` when read-only).
    copier: Option<Copier>,
    /// Commits since the WAL was last copied into the file.
    commits: u32,
    /// The journal entry of the open transaction (reused).
    ops: Vec<u8>,
    enc: hot::EncState,
    /// Journal bytes written since the last checkpoint.
    journal_bytes: u64,
}

/// A durable store in one SQLite file. See the [module docs](self) for the layout,
/// transactions, durability and privacy.
pub struct SqliteStore {
    ctx: Arc<Ctx>,
    options: SqliteOptions,
    path: PathBuf,
    writer: Mutex<Writer>,
    hot: RwLock<Hot>,
    readers: Mutex<Vec<Connection>>,
    /// The writer thread's commits in flight (also reached without the writer lock).
    flight: Arc<Flight>,
    /// The rows the writer thread is done with (also reached without the writer lock).
    spent: Spent,
    /// Held for the store's life: one writing store per file. Declared last, so that it is
    /// released after the connections close.
    _lock: Option<File>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).field("options", &self.options).finish_non_exhaustive()
    }
}

/// What [`SqliteStore::check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// Profiles.
    pub profiles: u64,
    /// Events.
    pub events: u64,
    /// Identity keys.
    pub keys: u64,
    /// Every problem found; empty when the store is sound.
    pub problems: Vec<String>,
}

fn lock_exclusive(file: &File) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::io::AsRawFd;
        // SAFETY: flock on a valid, open descriptor owned by `file`.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::WouldBlock { Ok(false) } else { Err(e) }
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(true)
    }
}

/// How long opening waits for the file's lock before calling it taken: a store closed a
/// moment ago may still hold it through a child process being started (between its fork and
/// its exec, the child shares the parent's open files).
const LOCK_PATIENCE: Duration = Duration::from_millis(500);

/// [`lock_exclusive`], tried again for up to `patience` while another holder has the lock.
fn lock_with_patience(file: &File, patience: Duration) -> std::io::Result<bool> {
    let start = std::time::Instant::now();
    loop {
        if lock_exclusive(file)? {
            return Ok(true);
        }
        if start.elapsed() >= patience {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl SqliteStore {
    /// Opens (or creates) a store file with the default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (or creates) a store file. A file written by an older version is upgraded in
    /// one transaction; a newer one, a file that is not a journey-core store, or a file
    /// already open for writing is refused with a clear error and left untouched.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        Self::open_at(path.as_ref(), options)
    }

    /// Creates an empty store file laid out as schema `version` had it (tests of upgrades:
    /// this build reads and writes only the current layout).
    #[doc(hidden)]
    pub fn create_at_version(path: impl AsRef<Path>, version: i64) -> Result<()> {
        let (path, options) = (path.as_ref(), SqliteOptions::default());
        let ctx = Ctx::new(path, &options);
        Self::migrate(&Self::connect(path, &options, &ctx, true)?, &ctx, version)
    }

    fn open_at(path: &Path, options: SqliteOptions) -> Result<Self> {
        let ctx = Ctx::new(path, &options);
        let conn = Self::connect(path, &options, &ctx, !options.read_only)?;
        let lock = if options.read_only {
            None
        } else {
            let file = File::open(path).map_err(|e| Error::Io { path: ctx.path.clone(), source: e })?;
            match lock_with_patience(&file, options.busy_timeout.min(LOCK_PATIENCE)) {
                Ok(true) => Some(file),
                Ok(false) => {
                    return Err(Error::Storage {
                        message: format!(
                            "{}: the store is already open for writing (by this or another process); one process writes a store file at a time — close the other store, or open this one with read_only",
                            ctx.path
                        ),
                        source: None,
                    });
                }
                Err(e) => return Err(Error::Storage { message: format!("{}: cannot lock the file", ctx.path), source: Some(Box::new(e)) }),
            }
        };
        let q = |what: &'static str| {
            let ctx = &ctx;
            move |e: rusqlite::Error| ctx.sql(what, e)
        };
        // Look before writing anything: is this a journey-core store, and of a version we know?
        let (app, version, tables): (i64, i64, i64) = conn
            .query_row(
                "SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map_err(q("reading the file header"))?;
        if app != 0 && app != schema::APPLICATION_ID || app == 0 && tables > 0 {
            return Err(Error::Storage {
                message: format!(
                    "{}: this SQLite database is not a journey-core store (it holds other tables); the file was left untouched",
                    ctx.path
                ),
                source: None,
            });
        }
        if version > schema::CURRENT {
            return Err(Error::Storage {
                message: format!(
                    "{}: the store has schema version {version}, newer than this journey-core supports ({}); upgrade journey-core. The file was left untouched",
                    ctx.path,
                    schema::CURRENT
                ),
                source: None,
            });
        }
        if options.read_only {
            if version < schema::CURRENT {
                return Err(Error::Storage {
                    message: format!(
                        "{}: the store has schema version {version} (or is empty) and a read-only store cannot upgrade it to {}; open it for writing once",
                        ctx.path,
                        schema::CURRENT
                    ),
                    source: None,
                });
            }
        } else {
            let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)).map_err(q("switching to WAL mode"))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(Error::Storage { message: format!("{}: SQLite refused WAL mode (journal mode is {mode})", ctx.path), source: None });
            }
            Self::migrate(&conn, &ctx, schema::CURRENT)?;
        }
        let data_version: i64 = conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(q("reading the data version"))?;
        let hot = Self::load(&conn, &ctx)?;
        let journal_bytes: i64 =
            conn.query_row("SELECT coalesce(sum(length(ops)), 0) FROM journal", [], |r| r.get(0)).map_err(q("reading the journal"))?;
        if !options.read_only {
            // Commits never copy the WAL into the file themselves: the writer thread does it
            // between transactions, while the caller goes on (see `Store::write`).
            conn.execute_batch("PRAGMA wal_autocheckpoint = 0").map_err(q("configuring checkpoints"))?;
        }
        let copier = if options.read_only { None } else { Some(Self::copier(path, &options, &ctx)?) };
        let ctx = Arc::new(ctx);
        let pipe = Pipe::start(conn, ctx.clone(), data_version)?;
        let store = SqliteStore {
            flight: pipe.flight.clone(),
            spent: pipe.spent.clone(),
            writer: Mutex::new(Writer {
                pipe,
                copier,
                commits: 0,
                enc: hot::EncState::default(),
                ops: Vec::with_capacity(1 << 16),
                journal_bytes: journal_bytes as u64,
            }),
            hot: RwLock::new(hot),
            readers: Mutex::new(Vec::new()),
            path: path.to_path_buf(),
            ctx,
            options,
            _lock: lock,
        };
        Ok(store)
    }

    fn connect(path: &Path, options: &SqliteOptions, ctx: &Ctx, write: bool) -> Result<Connection> {
        let flags = if write {
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let conn = Connection::open_with_flags(path, flags).map_err(|e| ctx.sql("opening", e))?;
        conn.busy_timeout(options.busy_timeout).map_err(|e| ctx.sql("setting the busy timeout", e))?;
        conn.set_prepared_statement_cache_capacity(64);
        let sync = match options.durability {
            Durability::Process => "NORMAL",
            Durability::Os => "FULL",
        };
        let mut pragmas =
            format!("PRAGMA cache_size = -{}; PRAGMA temp_store = MEMORY; PRAGMA synchronous = {sync};", options.cache_mib as u64 * 1024);
        if write && let Some(max) = options.max_size {
            let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(|e| ctx.sql("reading the page size", e))?;
            pragmas.push_str(&format!("PRAGMA max_page_count = {};", (max / page.max(512) as u64).max(1)));
        }
        conn.execute_batch(&pragmas).map_err(|e| ctx.sql("configuring the connection", e))?;
        if write && conn.is_readonly("main").unwrap_or(false) {
            return Err(Error::Storage {
                message: format!(
                    "{}: the file is read-only (permissions or a read-only file system), so it cannot be opened for writing; open it with read_only to read it",
                    ctx.path
                ),
                source: None,
            });
        }
        Ok(conn)
    }

    /// Starts the [`copier`] on a connection of its own.
    fn copier(path: &Path, options: &SqliteOptions, ctx: &Ctx) -> Result<Copier> {
        let conn = Self::connect(path, options, ctx, true)?;
        // It reads WAL frames and writes pages: no use for a large page cache.
        conn.execute_batch("PRAGMA cache_size = -1024").map_err(|e| ctx.sql("configuring the WAL copier", e))?;
        Copier::start(conn)
            .map_err(|e| Error::Storage { message: format!("{}: cannot start the SQLite WAL copier thread", ctx.path), source: Some(Box::new(e)) })
    }

    fn migrate(conn: &Connection, ctx: &Ctx, target: i64) -> Result<()> {
        let q = |e| ctx.sql("upgrading the schema", e);
        conn.execute_batch("BEGIN IMMEDIATE").map_err(q)?;
        let run = || -> Result<()> {
            let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(q)?;
            if version > schema::CURRENT {
                return Err(Error::Storage {
                    message: format!(
                        "{}: the store has schema version {version}, newer than this journey-core supports ({})",
                        ctx.path,
                        schema::CURRENT
                    ),
                    source: None,
                });
            }
            for (i, step) in schema::MIGRATIONS.iter().enumerate().skip(version as usize).take((target - version).max(0) as usize) {
                conn.execute_batch(step).map_err(|e| ctx.sql(&format!("upgrading the schema to version {}", i + 1), e))?;
            }
            if target > version {
                conn.execute_batch(&format!("PRAGMA user_version = {target}; PRAGMA application_id = {};", schema::APPLICATION_ID)).map_err(q)?;
            }
            Ok(())
        };
        match run() {
            Ok(()) => conn.execute_batch("COMMIT").map_err(q),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    fn load(conn: &Connection, ctx: &Ctx) -> Result<Hot> {
        let q = |e| ctx.sql("loading the store", e);
        // One snapshot (inside the caller's transaction, if there is one).
        let own = conn.is_autocommit();
        if own {
            conn.execute_batch("BEGIN").map_err(q)?;
        }
        let hot = Hot::load(conn, &|what, e| ctx.sql(what, e));
        if own {
            let _ = conn.execute_batch("COMMIT");
        }
        hot.map_err(|e| match e {
            Error::Storage { message, source } => Error::Storage { message: format!("{}: {message}", ctx.path), source },
            other => other,
        })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn hot_read(&self) -> RwLockReadGuard<'_, Hot> {
        self.hot.read().unwrap_or_else(|p| p.into_inner())
    }

    fn hot_write(&self) -> RwLockWriteGuard<'_, Hot> {
        self.hot.write().unwrap_or_else(|p| p.into_inner())
    }

    fn broken(&self, hot: &Hot) -> Result<()> {
        match &hot.broken {
            Some(why) => Err(Error::Storage { message: format!("{}: the store must be reopened: {why}", self.ctx.path), source: None }),
            None => Ok(()),
        }
    }

    /// Rebuilds the hot state from the file after a rolled-back transaction or a failed
    /// commit (after every commit posted before).
    fn rebuild(&self, pipe: &Pipe, hot: &mut Hot) {
        let ctx = self.ctx.clone();
        match pipe.reload(move |c| Self::load(c, &ctx)) {
            Ok(fresh) => *hot = fresh,
            Err(e) => hot.broken = Some(e.to_string()),
        }
    }

    /// After a commit failed: rebuilds the hot state from the file, unless another caller
    /// did since `rebuilds` (the count when the transaction began).
    fn recover(&self, rebuilds: u64) {
        let w = self.writer();
        let mut hot = self.hot_write();
        if self.flight.rebuilds() == rebuilds {
            self.rebuild(&w.pipe, &mut hot);
        }
    }

    /// A read-only store follows the writer: reload when another connection committed.
    fn follow(&self) -> Result<()> {
        if !self.options.read_only {
            return Ok(());
        }
        let w = self.writer();
        if w.pipe.changed()? {
            let ctx = self.ctx.clone();
            let fresh = w.pipe.reload(move |c| Self::load(c, &ctx))?;
            *self.hot_write() = fresh;
        }
        Ok(())
    }

    fn reader(&self) -> Result<Connection> {
        if let Some(c) = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(c);
        }
        Self::connect(&self.path, &self.options, &self.ctx, false)
    }

    fn give_back(&self, conn: Connection) {
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 8 {
            pool.push(conn);
        }
    }

    /// Brings the state tables up to date with the hot state and empties the journal, in
    /// one transaction. Done automatically (see [`SqliteOptions::checkpoint_bytes`]) and
    /// when the store is dropped; call it to make the tables current for other tools or to
    /// make the next open faster.
    pub fn checkpoint(&self) -> Result<()> {
        if self.options.read_only {
            return Ok(());
        }
        let mut w = self.writer();
        self.checkpoint_locked(&mut w)
    }

    fn checkpoint_locked(&self, w: &mut Writer) -> Result<()> {
        let dirty = {
            let mut hot = self.hot_write();
            self.broken(&hot)?;
            if !hot.is_dirty() && w.journal_bytes == 0 {
                return Ok(());
            }
            hot.take_dirty()
        };
        let rows = self.hot_read().checkpoint_rows(&dirty);
        let ctx = self.ctx.clone();
        let result = w.pipe.call(move |c| {
            let q = |e| ctx.sql("writing a state checkpoint", e);
            c.execute_batch("BEGIN IMMEDIATE").map_err(q)?;
            match rows.write(c, &|what, e| ctx.sql(what, e)).and_then(|()| c.execute_batch("COMMIT").map_err(q)) {
                Ok(()) => Ok(()),
                Err(e) => {
                    let _ = c.execute_batch("ROLLBACK");
                    Err(e)
                }
            }
        });
        match result {
            Ok(()) => {
                w.journal_bytes = 0;
                Ok(())
            }
            Err(e) => {
                self.hot_write().restore_dirty(dirty);
                Err(e)
            }
        }
    }

    /// Tests of commits in flight: the next commit waits for an answer on the returned
    /// channel, and fails if it is `true`.
    #[doc(hidden)]
    pub fn hold_next_commit_for_testing(&self) -> Result<std::sync::mpsc::SyncSender<bool>> {
        self.writer().pipe.hold_next_commit()
    }

    /// Tests of commits in flight: how many are posted and not done yet.
    #[doc(hidden)]
    pub fn commits_in_flight_for_testing(&self) -> u64 {
        self.flight.in_flight()
    }

    /// Checks the file and the store's invariants: SQLite's `integrity_check`, every event
    /// on an existing profile, every key on exactly one existing profile, and the state in
    /// memory equal to the state rebuilt from the file.
    pub fn check(&self) -> Result<CheckReport> {
        let w = self.writer();
        let hot = self.hot_read();
        self.broken(&hot)?;
        let mut report = CheckReport { profiles: hot.profiles.len() as u64, keys: hot.keys.len() as u64, ..Default::default() };
        let ctx = self.ctx.clone();
        let (lines, events, fresh) = w.pipe.call(move |c| {
            let q = |e| ctx.sql("checking the store", e);
            let mut stmt = c.prepare("PRAGMA integrity_check").map_err(q)?;
            let lines = stmt.query_map([], |r| r.get::<_, String>(0)).map_err(q)?.collect::<rusqlite::Result<Vec<String>>>().map_err(q)?;
            let events: i64 = c.query_row("SELECT count(*) FROM events", [], |r| r.get(0)).map_err(q)?;
            Ok((lines, events, Self::load(c, &ctx)))
        })?;
        for line in lines {
            if line != "ok" {
                report.problems.push(format!("integrity_check: {line}"));
            }
        }
        report.events = events as u64;
        let listed: usize = hot.profiles.values().map(|r| r.events.len()).sum();
        if listed as i64 != events {
            report.problems.push(format!("{events} events in the file, {listed} in profiles"));
        }
        for (key, id) in &hot.keys {
            match hot.profiles.get(id) {
                None => report.problems.push(format!("key {key} belongs to a missing profile {id}")),
                Some(r) if r.keys.iter().filter(|k| *k == key).count() != 1 => {
                    report.problems.push(format!("key {key} is not listed exactly once in profile {id}"))
                }
                _ => {}
            }
        }
        for (id, r) in hot.profiles.iter() {
            for k in &r.keys {
                if hot.keys.get(k) != Some(&id) {
                    report.problems.push(format!("profile {id} lists key {k} that points elsewhere"));
                }
            }
        }
        match fresh {
            Ok(fresh) => {
                for problem in diff(&hot, &fresh) {
                    report.problems.push(format!("memory and file differ: {problem}"));
                }
            }
            Err(e) => report.problems.push(format!("the file cannot be loaded: {e}")),
        }
        Ok(report)
    }
}

fn diff(a: &Hot, b: &Hot) -> Vec<String> {
    let mut out = Vec::new();
    if (a.seq, a.next_profile) != (b.seq, b.next_profile) {
        out.push(format!("counters {:?} vs {:?}", (a.seq, a.next_profile), (b.seq, b.next_profile)));
    }
    if a.keys != b.keys {
        out.push("key index".into());
    }
    if a.edges.len() != b.edges.len()
        || a.edges.iter().any(|(k, n)| b.edges.get(k).is_none_or(|m| m.len() != n.len() || n.iter().any(|x| !m.contains(x))))
    {
        out.push("link edges".into());
    }
    if a.due != b.due {
        out.push("deadline index".into());
    }
    if a.outbox != b.outbox {
        out.push("outbox index".into());
    }
    if a.profiles.len() != b.profiles.len() {
        out.push(format!("{} profiles vs {}", a.profiles.len(), b.profiles.len()));
    }
    for (id, r) in a.profiles.iter() {
        let Some(s) = b.profiles.get(&id) else {
            out.push(format!("profile {id} missing"));
            continue;
        };
        let same = r.state == s.state
            && r.keys == s.keys
            && r.events == s.events
            && r.deadlines == s.deadlines
            && r.fired == s.fired
            && r.extra.persona() == s.extra.persona()
            && r.extra.attributes().filter(|a| !a.is_empty()) == s.extra.attributes().filter(|a| !a.is_empty());
        if !same {
            out.push(format!("profile {id}"));
        }
        if out.len() > 20 {
            break;
        }
    }
    out
}

/// Ends a write transaction: rolls back and rebuilds the hot state unless committed
/// (an `Err`, a failed commit, or a panic in the closure).
struct Open<'a> {
    store: &'a SqliteStore,
    pipe: &'a Pipe,
    hot: &'a mut Hot,
    committed: bool,
    touched: &'a std::cell::Cell<bool>,
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.committed {
            let _ = self.pipe.call_always(|c, _| {
                let _ = c.execute_batch("ROLLBACK");
            });
            if self.touched.get() {
                self.store.rebuild(self.pipe, self.hot);
            }
        }
    }
}

impl Store for SqliteStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        if self.options.read_only {
            return Err(Error::Storage { message: format!("{}: the store was opened read-only", self.ctx.path), source: None });
        }
        let mut guard = self.writer();
        let w = &mut *guard;
        let mut hot = self.hot_write();
        self.broken(&hot)?;
        let rebuilds = self.flight.rebuilds();
        if self.flight.in_flight() == 0 {
            if w.pipe.begin_now()? {
                // Another connection (a tool, a script) changed the file: start from what it holds.
                self.rebuild(&w.pipe, &mut hot);
                if let Err(e) = self.broken(&hot) {
                    let _ = w.pipe.call_always(|c, _| {
                        let _ = c.execute_batch("ROLLBACK");
                    });
                    return Err(e);
                }
            }
        } else {
            // Behind the commit in flight: the work in memory starts now (see `Pipe::begin_queued`).
            w.pipe.begin_queued()?;
        }
        w.ops.clear();
        w.enc.reset();
        let before = (hot.seq, hot.next_profile, hot.key_pos);
        let touched = std::cell::Cell::new(false);
        let mut open = Open { store: self, pipe: &w.pipe, hot: &mut hot, committed: false, touched: &touched };
        let mut tx = WriteTx {
            hot: open.hot,
            sql: Piped { pipe: open.pipe, rows: std::cell::RefCell::new(Vec::with_capacity(128)) },
            ctx: &self.ctx,
            ops: &mut w.ops,
            enc: &mut w.enc,
            touched: &touched,
        };
        let result = f(&mut tx);
        let counters = (tx.hot.seq, tx.hot.next_profile, tx.hot.key_pos);
        let mut journal = 0;
        let result = result.and_then(|()| {
            if !tx.ops.is_empty() || counters != before {
                journal = tx.ops.len() as u64 + 32;
                tx.sql.push(Row::Journal {
                    seq: counters.0 as i64,
                    next_profile: counters.1 as i64,
                    key_pos: counters.2 as i64,
                    ops: tx.ops.clone(),
                })?;
            }
            Ok(())
        });
        result?;
        // With nothing queued for the writer thread (a small transaction, or one whose rows
        // it has caught up with), the rest is applied and committed here: no hand-off. If
        // that fails, `open` rolls back and rebuilds the hot state.
        let now = open.pipe.commit_now(&mut tx.sql.rows.borrow_mut());
        let committed = match now {
            Some(done) => {
                done?;
                None
            }
            None => {
                tx.sql.flush()?;
                // Posted while the hot state is still locked, so a reader that sees this
                // transaction's changes waits for its commit (`Flight::settle`). If it
                // fails, the hot state is rebuilt below (`recover`), not here.
                Some(open.pipe.commit()?)
            }
        };
        open.committed = true;
        drop(open);
        drop(hot);
        w.commits += 1;
        if w.commits >= WAL_CHECKPOINT_COMMITS {
            // Copy the rest of the WAL into the file on the writer thread, between
            // transactions (so the WAL is reused from its start), without making the caller
            // wait.
            w.commits = 0;
            let _ = w.pipe.post(|c| {
                let _ = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            });
        } else if w.commits % COPIER_COMMITS == 0
            && let Some(copier) = &w.copier
        {
            copier.ask();
        }
        w.journal_bytes += journal;
        if w.journal_bytes >= self.options.checkpoint_bytes {
            // After this commit (in order on the writer thread); a failed checkpoint is
            // retried next time.
            let _ = self.checkpoint_locked(w);
        }
        // The next transaction may start its work in memory while this one commits; this
        // thread meanwhile frees the rows the writer thread is done with.
        drop(guard);
        self.spent.free();
        let Some(committed) = committed else { return Ok(()) };
        match committed.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                self.recover(rebuilds);
                Err(e)
            }
            Err(_) => {
                self.recover(rebuilds);
                Err(Error::Storage { message: format!("{}: the SQLite writer thread stopped", self.ctx.path), source: None })
            }
        }
    }

    fn reruns_writes(&self) -> bool {
        false
    }

    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.follow()?;
        let conn = self.reader()?;
        let hot = self.hot_read();
        self.broken(&hot)?;
        // The file must hold what the hot state shows: commits in flight first.
        self.flight.settle(&self.ctx.path)?;
        conn.execute_batch("BEGIN").map_err(|e| self.ctx.sql("starting a read transaction", e))?;
        let result = f(&ReadTx { hot: &hot, sql: Direct(&conn), ctx: &self.ctx });
        let _ = conn.execute_batch("COMMIT");
        drop(hot);
        self.give_back(conn);
        result
    }

    fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        let conn = self.reader()?;
        conn.execute_batch("BEGIN").map_err(|e| self.ctx.sql("starting a read transaction", e))?;
        let result = tx::scan(&conn, &self.ctx, from, to, f);
        let _ = conn.execute_batch("COMMIT");
        self.give_back(conn);
        result
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        if !self.options.read_only {
            let _ = self.checkpoint();
            let mut w = self.writer();
            // Ends a copy in progress first, so that the last one copies everything.
            w.copier.take();
            // Leaves a small WAL behind: the next open reads less.
            let _ = w.pipe.call(|c| {
                let _ = c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                Ok(())
            });
        }
    }
}
