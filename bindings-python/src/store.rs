//! Where a tracker keeps its journeys: in memory, in a SQLite file (`path=`) or on a
//! PostgreSQL server (`postgres=`). The keyword arguments of `Tracker` are converted into
//! the core's [`StoreOptions`], which chooses the store and checks which option goes with
//! which store; its refusals become `ValueError`s naming the keyword argument.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use journey_core::store::{OpenStore, StoreChoice, StoreOptions};
use journey_core::tracker::{Tracker, TrackerConfig};
use journey_core::{Error, MapDocument};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::error::py_err;

/// The store keyword arguments of `Tracker`, as given (`None`: not given).
pub struct StoreArgs {
    /// `path`: a SQLite file.
    pub path: Option<PathBuf>,
    /// `postgres`: a PostgreSQL connection URL.
    pub postgres: Option<String>,
    /// `durability` (SQLite).
    pub durability: Option<String>,
    /// `key_secret` (SQLite and PostgreSQL).
    pub key_secret: Option<Vec<u8>>,
    /// `hash_kinds` (SQLite and PostgreSQL).
    pub hash_kinds: Option<Vec<String>>,
    /// `read_only` (SQLite).
    pub read_only: bool,
    /// `max_size`, in bytes (SQLite).
    pub max_size: Option<u64>,
    /// `busy_timeout`, in seconds (SQLite).
    pub busy_timeout: Option<f64>,
    /// `checkpoint_bytes` (SQLite).
    pub checkpoint_bytes: Option<u64>,
    /// `cache_mib` (SQLite).
    pub cache_mib: Option<u32>,
    /// `schema` (PostgreSQL).
    pub schema: Option<String>,
    /// `pool_size` (PostgreSQL).
    pub pool_size: Option<usize>,
    /// `connect_timeout`, in seconds (PostgreSQL).
    pub connect_timeout: Option<f64>,
    /// `pool_wait`, in seconds (PostgreSQL).
    pub pool_wait: Option<f64>,
    /// `attempts` (PostgreSQL).
    pub attempts: Option<u32>,
    /// `fetch_size` (PostgreSQL).
    pub fetch_size: Option<u32>,
    /// `cache_entries` (PostgreSQL).
    pub cache_entries: Option<usize>,
}

/// The store a tracker uses, as `Tracker.store` and `Tracker.path` show it (a PostgreSQL
/// URL is not kept: it may hold a password).
pub struct Backend {
    /// `"memory"`, `"sqlite"` or `"postgres"` ([`StoreChoice::kind`]).
    pub kind: &'static str,
    /// The SQLite file, if any.
    pub path: Option<PathBuf>,
    /// The durable store, for `checkpoint` and `check`; taken (and released) by `close`.
    pub held: Mutex<Option<OpenStore>>,
}

/// The keyword argument of a canonical store option (the secret is `key_secret` here).
fn py_name(name: &'static str) -> String {
    match name {
        "hash_secret" => "key_secret".into(),
        other => other.into(),
    }
}

/// An option refused by the core, as the `ValueError` this binding documents.
fn refused(e: Error) -> PyErr {
    match e {
        Error::Parse { message, .. } => PyValueError::new_err(message),
        other => py_err(other),
    }
}

/// A keyword argument in seconds as a `Duration`: finite and positive (or zero, when
/// `zero` allows it), else the `ValueError` naming it.
fn seconds(name: &str, value: Option<f64>, zero: bool) -> PyResult<Option<Duration>> {
    let Some(seconds) = value else { return Ok(None) };
    let what = if zero { "a finite number of seconds, 0 or more" } else { "a positive, finite number of seconds" };
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| zero || !d.is_zero())
        .map(Some)
        .ok_or_else(|| PyValueError::new_err(format!("{name} must be {what}, not {seconds}")))
}

impl StoreArgs {
    /// The core's options: keyword arguments converted, nothing decided. Every field is named,
    /// so an option added to the core fails to compile here until the binding takes it.
    fn options(&self) -> PyResult<StoreOptions> {
        let connect_timeout = seconds("connect_timeout", self.connect_timeout, false)?;
        let busy_timeout = seconds("busy_timeout", self.busy_timeout, true)?;
        let pool_wait = seconds("pool_wait", self.pool_wait, false)?;
        Ok(StoreOptions {
            path: self.path.clone(),
            postgres: self.postgres.clone(),
            hash_secret: self.key_secret.clone(),
            hash_kinds: self.hash_kinds.clone(),
            durability: self.durability.clone(),
            read_only: self.read_only.then_some(true),
            max_size: self.max_size,
            busy_timeout,
            checkpoint_bytes: self.checkpoint_bytes,
            cache_mib: self.cache_mib,
            schema: self.schema.clone(),
            pool_size: self.pool_size,
            connect_timeout,
            pool_wait,
            attempts: self.attempts,
            fetch_size: self.fetch_size,
            cache_entries: self.cache_entries,
        })
    }

    /// Checks the options and opens the tracker on its store, with the interpreter
    /// released while the store opens (connecting, migrating, loading).
    pub fn open(self, py: Python<'_>, doc: &MapDocument, config: TrackerConfig) -> PyResult<(Tracker, Backend)> {
        let choice = self.options()?.choose(&py_name).map_err(refused)?;
        let path = match &choice {
            StoreChoice::Sqlite(path, _) => Some(path.clone()),
            _ => None,
        };
        let kind = choice.kind();
        let (tracker, held) = py
            .detach(|| -> journey_core::Result<_> {
                Ok(match choice.open()? {
                    Some(store) => (Tracker::with_store(doc, config, store.store())?, Some(store)),
                    None => (Tracker::new(doc, config)?, None),
                })
            })
            .map_err(py_err)?;
        Ok((tracker, Backend { kind, path, held: Mutex::new(held) }))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use journey_core::store::PostgresOptions;

    /// The defaults the docstrings of `schema`, `pool_size` and `connect_timeout` name
    /// are the core's.
    #[test]
    fn documented_postgres_defaults_are_the_cores() {
        let d = PostgresOptions::default();
        assert_eq!((d.schema.as_str(), d.pool_size, d.connect_timeout), ("journey_core", 4, Duration::from_secs(5)));
    }
}
