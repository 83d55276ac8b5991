//! Which store a tracker's options ask for, checked: memory (no store option), a SQLite
//! file (`path`) or a PostgreSQL schema (`postgres`). Every refusal is `E_PARSE` naming
//! the option; the stores themselves check what only they can (a schema name, the
//! server).

use std::sync::Arc;
use std::time::Duration;

use journey_core::store::{Durability, KeyHasher, PostgresOptions, PostgresStore, Store};
use journey_core::{Error, SqliteOptions, SqliteStore};

use crate::tracker::JsTrackerOptions;

/// Where a tracker keeps its data.
#[derive(Debug)]
pub enum Backend {
    /// A fresh in-memory store.
    Memory,
    /// A SQLite file, opened or created.
    Sqlite(String, SqliteOptions),
    /// A schema of a PostgreSQL server (the URL), opened or created.
    Postgres(String, PostgresOptions),
}

/// An open durable store, kept by its tracker so that `close()` can release it.
pub enum Held {
    /// The SQLite file (its state is flushed and its lock released on close).
    Sqlite(Arc<SqliteStore>),
    /// The PostgreSQL store (its connections are closed on close).
    Postgres(Arc<PostgresStore>),
}

impl Held {
    /// The store, for the core's tracker.
    pub(crate) fn store(&self) -> Arc<dyn Store> {
        match self {
            Held::Sqlite(s) => s.clone(),
            Held::Postgres(s) => s.clone(),
        }
    }
}

/// The SQLite-only options, with whether each is given.
fn sqlite_only(o: &JsTrackerOptions) -> [(&'static str, bool); 6] {
    [
        ("durability", o.durability.is_some()),
        ("maxSize", o.max_size.is_some()),
        ("readOnly", o.read_only.is_some()),
        ("busyTimeoutMs", o.busy_timeout_ms.is_some()),
        ("checkpointBytes", o.checkpoint_bytes.is_some()),
        ("cacheMib", o.cache_mib.is_some()),
    ]
}

/// The PostgreSQL-only options, with whether each is given.
fn postgres_only(o: &JsTrackerOptions) -> [(&'static str, bool); 2] {
    [("schema", o.schema.is_some()), ("poolSize", o.pool_size.is_some())]
}

/// The first option given among `options`, refused with `why`.
fn refuse(options: &[(&'static str, bool)], why: &str) -> Result<(), Error> {
    match options.iter().find(|(_, given)| *given) {
        Some((name, _)) => Err(Error::parse(*name, why)),
        None => Ok(()),
    }
}

/// The store the options ask for.
///
/// Errors are `E_PARSE` naming the option: `path` together with `postgres`, an empty
/// `path` or URL, a store option without its store (it would be silently ignored), a
/// SQLite option on PostgreSQL or the other way round, a bad value.
pub(crate) fn backend(o: &JsTrackerOptions) -> Result<Backend, Error> {
    let hasher = key_hasher(o)?;
    match (&o.path, &o.postgres) {
        (Some(_), Some(_)) => Err(Error::parse("postgres", "give either `path` (a SQLite file) or `postgres` (a server URL), not both")),
        (None, None) => {
            let given = [&sqlite_only(o)[..], &postgres_only(o)[..], &[("hashSecret", o.hash_secret.is_some())]].concat();
            refuse(&given, "a store option needs `path` (a SQLite file) or `postgres` (a server URL); without either the tracker keeps its data in memory")?;
            Ok(Backend::Memory)
        }
        (Some(path), None) => {
            refuse(&postgres_only(o), "a PostgreSQL option needs `postgres` (the server URL); it does not apply to a SQLite file (`path`)")?;
            if path.is_empty() {
                return Err(Error::parse("path", "the path of the SQLite file is empty"));
            }
            Ok(Backend::Sqlite(path.clone(), sqlite(o, hasher)?))
        }
        (None, Some(url)) => {
            refuse(&sqlite_only(o), "a SQLite option needs `path`; it does not apply to a PostgreSQL store (`postgres`)")?;
            if url.trim().is_empty() {
                return Err(Error::parse("postgres", "the server URL is empty: expected postgres://user:password@host:port/database"));
            }
            let mut options = PostgresOptions { key_hasher: hasher, ..PostgresOptions::default() };
            if let Some(schema) = &o.schema {
                options.schema = schema.clone();
            }
            if let Some(n) = o.pool_size {
                options.pool_size = usize::try_from(whole("poolSize", n, 1.0)?).map_err(|_| Error::parse("poolSize", format!("{n} connections is too many")))?;
            }
            Ok(Backend::Postgres(url.clone(), options))
        }
    }
}

/// The key hasher of `hashSecret` and `hashKinds`, the same for every store.
fn key_hasher(o: &JsTrackerOptions) -> Result<Option<KeyHasher>, Error> {
    let Some(secret) = &o.hash_secret else {
        return match o.hash_kinds {
            Some(_) => Err(Error::parse("hashKinds", "hashKinds needs hashSecret")),
            None => Ok(None),
        };
    };
    if secret.len() < 16 {
        return Err(Error::parse("hashSecret", format!("the secret is {} bytes long; use at least 16", secret.len())));
    }
    let hasher = KeyHasher::new(secret.as_bytes());
    Ok(Some(match &o.hash_kinds {
        Some(kinds) => hasher.only(kinds.iter().cloned()),
        None => hasher,
    }))
}

/// The options of a SQLite file.
fn sqlite(o: &JsTrackerOptions, key_hasher: Option<KeyHasher>) -> Result<SqliteOptions, Error> {
    let mut options = SqliteOptions { key_hasher, ..SqliteOptions::default() };
    if let Some(d) = &o.durability {
        options.durability = match d.as_str() {
            "process" => Durability::Process,
            "os" => Durability::Os,
            other => return Err(Error::parse("durability", format!("unknown durability {other:?}: expected 'process' or 'os'"))),
        };
    }
    if let Some(bytes) = o.max_size {
        options.max_size = Some(whole("maxSize", bytes, 4096.0)?);
    }
    if let Some(read_only) = o.read_only {
        options.read_only = read_only;
    }
    if let Some(ms) = o.busy_timeout_ms {
        options.busy_timeout = Duration::from_millis(whole("busyTimeoutMs", ms, 0.0)?);
    }
    if let Some(bytes) = o.checkpoint_bytes {
        options.checkpoint_bytes = whole("checkpointBytes", bytes, 1.0)?;
    }
    if let Some(mib) = o.cache_mib {
        options.cache_mib = u32::try_from(whole("cacheMib", mib, 1.0)?).map_err(|_| Error::parse("cacheMib", format!("{mib} MiB is too large")))?;
    }
    Ok(options)
}

/// A whole number of at least `min`, or `E_PARSE` naming the option.
fn whole(option: &str, x: f64, min: f64) -> Result<u64, Error> {
    if x.is_finite() && x.fract() == 0.0 && x >= min && x <= 9_007_199_254_740_991.0 {
        Ok(x as u64)
    } else {
        Err(Error::parse(option, format!("{x} is not a whole number of at least {min}")))
    }
}

impl Backend {
    /// Opens the store: `None` for memory. A PostgreSQL store connects to its server here
    /// (run it off the event loop).
    pub(crate) fn open(self) -> Result<Option<Held>, Error> {
        Ok(match self {
            Backend::Memory => None,
            Backend::Sqlite(path, o) => Some(Held::Sqlite(Arc::new(SqliteStore::open_with(path, o)?))),
            Backend::Postgres(url, o) => Some(Held::Postgres(Arc::new(PostgresStore::open(&url, o)?))),
        })
    }
}
