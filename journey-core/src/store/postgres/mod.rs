//! The shared store: journeys in a PostgreSQL database, for several backend instances
//! (threads or processes, on one or many machines) that must see one set of journeys.
//!
//! ```no_run
//! use std::sync::Arc;
//! use journey_core::{MapDocument, Tracker, TrackerConfig};
//! use journey_core::store::{PostgresOptions, PostgresStore};
//! let doc = MapDocument::load("examples/maps/shop.json")?;
//! let options = PostgresOptions { schema: "journeys".into(), pool_size: 4, ..Default::default() };
//! let store = Arc::new(PostgresStore::open("postgres://app@db.internal/shop", options)?);
//! let tracker = Tracker::with_store(&doc, TrackerConfig::default(), store)?;
//! # Ok::<(), journey_core::Error>(())
//! ```
//!
//! # Layout
//!
//! Every table lives in the schema named by [`PostgresOptions::schema`] (created if
//! missing), with a `schema_version` table; opening upgrades an older schema in one
//! transaction and refuses a newer one untouched. Events are rows keyed by arrival number
//! with the event as JSON text; profiles have one column per summary field; keys, edges,
//! deadlines, caps, the link log, conflicts and the outbox have a table each, readable by
//! other tools.
//!
//! # Many instances
//!
//! Every write transaction first takes a transaction-level advisory lock for the schema
//! (`pg_advisory_xact_lock`): writes to one schema are serialised across every instance,
//! so identity merges, deadlines and the outbox behave exactly as with one tracker fed the
//! events in the order the lock was granted, and no deadlock between instances is
//! possible. Inside the lock a transaction reads the latest committed state and caches
//! what it read (a key's profile comes with its summary, deadlines and caps in one round
//! trip); appended events, summaries, keys, deadlines, caps and
//! actions are buffered and written with one statement per table at commit (or before a
//! read that needs them). Every committed write bumps a generation number in the
//! `counters` table; an instance reuses what it read in its previous write (keys,
//! summaries, deadlines, caps; up to [`PostgresOptions::cache_entries`]) only while the
//! generation has not moved, so one busy instance mostly skips its reads, and several
//! instances stay exact. A tool that changes the tables by hand must bump
//! `counters.generation` in the same transaction. A due deadline is
//! fired by the one instance whose transaction sees it first; the others see it gone, so
//! each action reaches the outbox once.
//!
//! Reads ([`Store::read`], [`Store::scan`]) run in `REPEATABLE READ READ ONLY`
//! snapshots on their own connections and never wait for writers. [`Store::scan`]
//! streams through a portal, [`PostgresOptions::fetch_size`] rows at a time.
//!
//! # Faults
//!
//! A write that fails on a serialization failure (`40001`), a deadlock (`40P01`) or a lost
//! connection is rolled back and run again from the start, up to
//! [`PostgresOptions::attempts`] times with a short back-off, then reported as a storage
//! error naming the cause; a write closure must therefore reset what it collects when it
//! starts (the tracker's do). Any other error, or an `Err` of the closure, rolls back and
//! is returned as is. A process killed mid-transaction leaves nothing behind: the server
//! rolls the transaction back.
//!
//! # Privacy
//!
//! With [`PostgresOptions::key_hasher`], identity values are stored only as keyed hashes
//! (see [`KeyHasher`]), as in the SQLite store.

mod pool;
mod rows;
mod schema;
mod tx;

use std::borrow::Cow;
use std::time::Duration;

use postgres::error::SqlState;

pub use schema::CURRENT as SCHEMA_VERSION;

use self::pool::{Lease, Pool};
use self::tx::{Cache, PgTx};
use super::{KeyHasher, Store, Tx};
use crate::error::{Error, Result};
use crate::identity::IdentityKey;
use crate::profile::EventRef;
use crate::time::Micros;

/// How a [`PostgresStore`] connects and where it keeps its tables.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// The schema holding the tables (created if missing): lowercase letters, digits and
    /// `_`, starting with a letter or `_`, at most 63 bytes. Default `journey_core`.
    pub schema: String,
    /// The most connections this store opens (default 4, at least 1): one per concurrent
    /// write, read or scan.
    pub pool_size: usize,
    /// How long a call waits for a free connection when all are busy (default 30 s).
    pub pool_wait: Duration,
    /// How long connecting may take, unless the URL sets `connect_timeout` (default 5 s).
    pub connect_timeout: Duration,
    /// How many times a write is tried when it fails on a serialization failure, a
    /// deadlock or a lost connection (default 5, at least 1).
    pub attempts: u32,
    /// Rows fetched at a time by scans (default 1,000).
    pub fetch_size: i32,
    /// Store identity values as keyed hashes (see [`KeyHasher`]).
    pub key_hasher: Option<KeyHasher>,
    /// The most keys and profiles remembered between write transactions (default
    /// 200,000; 0: none). What a write read is reused by the next write of this store
    /// as long as no other instance committed in between; past this size it is dropped.
    pub cache_entries: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            schema: "journey_core".into(),
            pool_size: 4,
            pool_wait: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            attempts: 5,
            fetch_size: 1000,
            key_hasher: None,
            cache_entries: 200_000,
        }
    }
}

/// What the store needs to name the server in errors, and to hash keys.
pub(crate) struct Ctx {
    /// `host:port/database schema name`, without credentials.
    pub(crate) label: String,
    hasher: Option<KeyHasher>,
}

impl Ctx {
    /// A storage error for a failed PostgreSQL call, naming the server, the schema, what
    /// was being done and the server's SQLSTATE.
    pub(crate) fn pg(&self, what: &str, e: postgres::Error) -> Error {
        let cause = match e.as_db_error() {
            Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
            None if e.is_closed() => "the connection to the server was closed".to_string(),
            None => match std::error::Error::source(&e) {
                Some(s) => format!("{e}: {s}"),
                None => e.to_string(),
            },
        };
        Error::Storage { message: format!("{}: {what}: {cause}", self.label), source: Some(Box::new(e)) }
    }

    /// A storage error of the store itself.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::Storage { message: format!("{}: {message}", self.label), source: None }
    }

    /// The stored form of a key.
    pub(crate) fn key<'k>(&self, key: &'k IdentityKey) -> Cow<'k, IdentityKey> {
        match &self.hasher {
            Some(h) => h.key(key),
            None => Cow::Borrowed(key),
        }
    }
}

/// Whether a failed call is worth running the whole transaction again: a serialization
/// failure, a deadlock, or a connection that failed or was lost.
pub(crate) fn transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(c) => {
            *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW
                || c.code().starts_with("08")
        }
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// The advisory lock of a schema: `pg_advisory_xact_lock(JRNY, hashtext(schema))`.
const LOCK: &str = "SELECT pg_advisory_xact_lock(1246907993, hashtext($1))";

/// A store in a PostgreSQL schema, shared by every instance that opens the same schema.
/// See the [module docs](self) for the layout, concurrency and faults.
pub struct PostgresStore {
    ctx: Ctx,
    options: PostgresOptions,
    pool: Pool,
    /// The caches of the last committed write, with its generation.
    cache: std::sync::Mutex<Option<(i64, Cache)>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("server", &self.ctx.label).field("options", &self.options).finish_non_exhaustive()
    }
}

/// Why one attempt of a transaction failed.
enum Failed {
    /// Worth another attempt.
    Transient(Error),
    /// Final.
    Final(Error),
}

fn check_schema_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.starts_with("pg_");
    if ok {
        Ok(())
    } else {
        Err(Error::parse(
            "schema",
            format!("{name:?} is not a valid schema name (lowercase letters, digits and _, starting with a letter or _, at most 63 bytes, not pg_...)"),
        ))
    }
}

impl PostgresStore {
    /// Connects to the server at `url` (`postgres://user:password@host:port/database`, or
    /// key=value pairs) and opens the store in `options.schema`: created if missing, an
    /// older schema upgraded in one transaction, a newer one refused untouched.
    ///
    /// Errors: [`Error::Parse`] naming `url`, `schema`, `pool_size`, `attempts` or
    /// `fetch_size` for a malformed URL or option (checked before connecting);
    /// [`Error::Storage`] naming the server when it cannot be reached or refuses the login,
    /// when the schema holds other tables, or is at a newer version.
    pub fn open(url: &str, options: PostgresOptions) -> Result<Self> {
        Self::open_at(url, options, schema::CURRENT)
    }

    /// Opens a store, migrating it only up to `version` (tests of upgrades).
    #[doc(hidden)]
    pub fn open_at_version(url: &str, options: PostgresOptions, version: i64) -> Result<Self> {
        Self::open_at(url, options, version)
    }

    fn open_at(url: &str, options: PostgresOptions, target: i64) -> Result<Self> {
        check_schema_name(&options.schema)?;
        if options.pool_size == 0 {
            return Err(Error::parse("pool_size", "must be at least 1"));
        }
        if options.attempts == 0 {
            return Err(Error::parse("attempts", "must be at least 1"));
        }
        if options.fetch_size < 1 {
            return Err(Error::parse("fetch_size", "must be at least 1"));
        }
        let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
            Error::parse("url", format!("not a PostgreSQL connection URL ({e}); expected postgres://user:password@host:port/database"))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        let label = format!("postgres {} schema {}", describe(&config), options.schema);
        let ctx = Ctx { label, hasher: options.key_hasher.clone() };
        let pool = Pool::new(config, options.schema.clone(), options.pool_size, options.pool_wait);
        let store = PostgresStore { ctx, options, pool, cache: std::sync::Mutex::new(None) };
        store.retry("opening the store", &mut |store| store.migrate(target))?;
        Ok(store)
    }

    /// Creates or upgrades the schema, under the store's lock.
    fn migrate(&self, target: i64) -> std::result::Result<(), Failed> {
        let ctx = &self.ctx;
        let mut lease = self.pool.get(ctx).map_err(classify)?;
        let c = lease.client();
        let fail = |what: &str, e: postgres::Error| if transient(&e) { Failed::Transient(ctx.pg(what, e)) } else { Failed::Final(ctx.pg(what, e)) };
        let mut t = c.transaction().map_err(|e| fail("starting a transaction", e))?;
        t.execute(LOCK, &[&self.options.schema]).map_err(|e| fail("taking the store's lock", e))?;
        let exists = t
            .query_opt("SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'schema_version'", &[&self.options.schema])
            .map_err(|e| fail("reading the schema version", e))?
            .is_some();
        let version: i64 = if exists {
            let row = t.query_opt("SELECT version FROM schema_version", &[]).map_err(|e| fail("reading the schema version", e))?;
            row.map_or(0, |r| r.get::<_, i64>(0))
        } else {
            let others: i64 = t
                .query_one("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", &[&self.options.schema])
                .map_err(|e| fail("looking at the schema", e))?
                .get(0);
            if others > 0 {
                return Err(Failed::Final(ctx.error(format!(
                    "the schema {} holds {others} tables but is not a journey-core store; choose another schema. Nothing was changed",
                    self.options.schema
                ))));
            }
            0
        };
        if version > schema::CURRENT {
            return Err(Failed::Final(ctx.error(format!(
                "the store has schema version {version}, newer than this journey-core supports ({}); upgrade journey-core. The schema was left untouched",
                schema::CURRENT
            ))));
        }
        if !exists {
            t.batch_execute("CREATE TABLE schema_version (version BIGINT NOT NULL); INSERT INTO schema_version VALUES (0);")
                .map_err(|e| fail("creating the schema version table", e))?;
        }
        if version >= target {
            return t.commit().map_err(|e| fail("opening the store", e));
        }
        for (i, step) in schema::MIGRATIONS.iter().enumerate().skip(version as usize).take((target - version) as usize) {
            t.batch_execute(step).map_err(|e| fail(&format!("upgrading the schema to version {}", i + 1), e))?;
        }
        t.execute("UPDATE schema_version SET version = $1", &[&target]).map_err(|e| fail("recording the schema version", e))?;
        t.commit().map_err(|e| fail("committing the schema upgrade", e))
    }

    /// The server and schema, as named in errors (no credentials).
    pub fn label(&self) -> &str {
        &self.ctx.label
    }

    /// The schema holding the tables.
    pub fn schema(&self) -> &str {
        &self.options.schema
    }

    /// Drops the schema with every table in it: the store's data is gone for every
    /// instance. For tests and tear-downs.
    pub fn drop_schema(self) -> Result<()> {
        let ctx = &self.ctx;
        let mut lease = self.pool.get(ctx)?;
        let sql = format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.options.schema);
        lease.client().batch_execute(&sql).map_err(|e| ctx.pg("dropping the schema", e))
    }

    /// Runs `attempt` until it succeeds, fails for good, or has failed transiently
    /// [`PostgresOptions::attempts`] times.
    fn retry(&self, what: &str, attempt: &mut dyn FnMut(&Self) -> std::result::Result<(), Failed>) -> Result<()> {
        let mut n = 0;
        loop {
            n += 1;
            match attempt(self) {
                Ok(()) => return Ok(()),
                Err(Failed::Final(e)) => return Err(e),
                Err(Failed::Transient(e)) if n >= self.options.attempts => {
                    return Err(Error::Storage {
                        message: format!("{what}: gave up after {n} attempts (serialization failures, deadlocks or lost connections): {e}"),
                        source: Some(Box::new(e)),
                    });
                }
                Err(Failed::Transient(_)) => std::thread::sleep(Duration::from_millis(25 << n.min(6))),
            }
        }
    }

    fn write_once(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> std::result::Result<(), Failed> {
        let ctx = &self.ctx;
        let mut lease = self.pool.get(ctx).map_err(classify)?;
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner()).take();
        match Self::write_on(&mut lease, ctx, &self.options.schema, self.options.fetch_size, cache, f) {
            Ok((generation, cache)) => {
                if cache.len() <= self.options.cache_entries {
                    let mut kept = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                    if kept.as_ref().is_none_or(|(g, _)| *g < generation) {
                        *kept = Some((generation, cache));
                    }
                }
                Ok(())
            }
            Err(e) => {
                if let Failed::Transient(_) = &e {
                    lease.discard_if_broken();
                }
                Err(e)
            }
        }
    }

    fn write_on(
        lease: &mut Lease<'_>,
        ctx: &Ctx,
        schema: &str,
        fetch: i32,
        cache: Option<(i64, Cache)>,
        f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>,
    ) -> std::result::Result<(i64, Cache), Failed> {
        let (client, stmts) = lease.parts();
        let fail = |what: &str, e: postgres::Error| if transient(&e) { Failed::Transient(ctx.pg(what, e)) } else { Failed::Final(ctx.pg(what, e)) };
        let mut t = client.transaction().map_err(|e| fail("starting a write transaction", e))?;
        t.execute(LOCK, &[&schema]).map_err(|e| fail("taking the store's lock", e))?;
        let mut tx = PgTx::begin(t, stmts, ctx, true, fetch, cache).map_err(classify)?;
        let result = f(&mut tx).and_then(|()| tx.flush());
        match result {
            Ok(()) => tx.commit().map_err(classify),
            Err(e) => {
                let transient = tx.failed_transiently();
                drop(tx); // rolls back
                if transient { Err(Failed::Transient(e)) } else { Err(Failed::Final(e)) }
            }
        }
    }

    fn read_on(&self, f: &mut dyn FnMut(&PgTx<'_>) -> Result<()>) -> Result<()> {
        let ctx = &self.ctx;
        let mut result = None;
        let mut f = Some(f);
        // Starting the snapshot is retried; the closure runs once.
        self.retry("reading", &mut |store| {
            let mut lease = store.pool.get(ctx).map_err(classify)?;
            let (client, stmts) = lease.parts();
            let fail = |what: &str, e: postgres::Error| if transient(&e) { Failed::Transient(ctx.pg(what, e)) } else { Failed::Final(ctx.pg(what, e)) };
            let t = client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(|e| fail("starting a read transaction", e))?;
            let tx = PgTx::begin(t, stmts, ctx, false, store.options.fetch_size, None).map_err(classify)?;
            let f = f.take().expect("the read closure runs once");
            let r = f(&tx);
            let broken = tx.failed_transiently();
            drop(tx);
            if broken {
                lease.discard_if_broken();
            }
            result = Some(r);
            Ok(())
        })?;
        result.expect("the read ran")
    }
}

fn classify(e: Error) -> Failed {
    let transient = match &e {
        Error::Storage { source: Some(s), .. } => s.downcast_ref::<postgres::Error>().is_some_and(transient),
        _ => false,
    };
    if transient { Failed::Transient(e) } else { Failed::Final(e) }
}

/// `host:port/database` of a configuration.
fn describe(config: &postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or(config.get_user().unwrap_or("")))
}

impl Store for PostgresStore {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> Result<()>) -> Result<()> {
        self.retry("writing", &mut |store| store.write_once(f))
    }

    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> Result<()>) -> Result<()> {
        self.read_on(&mut |tx| f(tx))
    }

    fn scan(&self, from: Micros, to: Micros, f: &mut dyn FnMut(EventRef) -> Result<bool>) -> Result<()> {
        self.read_on(&mut |tx| tx.scan(from, to, f))
    }
}
