//! Where a tracker keeps its journeys: in memory, in a SQLite file (`path=`) or on a
//! PostgreSQL server (`postgres=`). The keyword arguments of `Tracker` are checked here,
//! each refused with a message naming it when it does not apply to the chosen store, and
//! turned into the core's options; the stores themselves are the core's.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use journey_core::store::{Durability, KeyHasher, PostgresOptions, PostgresStore};
use journey_core::tracker::{Tracker, TrackerConfig};
use journey_core::{MapDocument, SqliteOptions, SqliteStore};
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
    /// `schema` (PostgreSQL).
    pub schema: Option<String>,
    /// `pool_size` (PostgreSQL).
    pub pool_size: Option<usize>,
    /// `connect_timeout`, in seconds (PostgreSQL).
    pub connect_timeout: Option<f64>,
}

/// The kind of store a tracker uses, as `Tracker.store` names it.
pub enum Backend {
    /// The journeys live in memory, for the tracker's lifetime.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL server (the URL is not kept: it may hold a password).
    Postgres,
}

impl Backend {
    /// `"memory"`, `"sqlite"` or `"postgres"`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The SQLite file, if any.
    pub fn path(&self) -> Option<&PathBuf> {
        match self {
            Backend::Sqlite(path) => Some(path),
            _ => None,
        }
    }
}

fn refuse(message: String) -> PyErr {
    PyValueError::new_err(message)
}

impl StoreArgs {
    /// Refuses the options that do not apply to the chosen store, naming them.
    fn check(&self) -> PyResult<()> {
        if self.path.is_some() && self.postgres.is_some() {
            return Err(refuse(
                "path and postgres cannot be given together: a tracker keeps its journeys in one store, a SQLite file (path) or a PostgreSQL server (postgres)".into(),
            ));
        }
        if self.postgres.is_none() {
            let given = [("schema", self.schema.is_some()), ("pool_size", self.pool_size.is_some()), ("connect_timeout", self.connect_timeout.is_some())];
            if let Some((name, _)) = given.iter().find(|(_, g)| *g) {
                return Err(refuse(format!("{name} applies only to a PostgreSQL store: it needs postgres (a server URL)")));
            }
        } else {
            let given = [("durability", self.durability.is_some()), ("read_only", self.read_only)];
            if let Some((name, _)) = given.iter().find(|(_, g)| *g) {
                return Err(refuse(format!("{name} applies only to a SQLite file (path), not to a PostgreSQL store (postgres)")));
            }
        }
        if self.path.is_none() && self.postgres.is_none() {
            let given = [("key_secret", self.key_secret.is_some()), ("hash_kinds", self.hash_kinds.is_some()), ("read_only", self.read_only)];
            if let Some((name, _)) = given.iter().find(|(_, g)| *g) {
                let stores = if *name == "read_only" { "path (a SQLite file)" } else { "path (a SQLite file) or postgres (a PostgreSQL server)" };
                return Err(refuse(format!("{name} needs a store: {stores}; a tracker in memory keeps nothing")));
            }
        }
        Ok(())
    }

    /// The key hasher of `key_secret` and `hash_kinds`, for either store.
    fn key_hasher(&self) -> PyResult<Option<KeyHasher>> {
        match (&self.key_secret, &self.hash_kinds) {
            (Some(secret), _) if secret.is_empty() => Err(refuse("key_secret must not be empty".into())),
            (Some(secret), kinds) => {
                let hasher = KeyHasher::new(secret);
                Ok(Some(match kinds {
                    Some(k) => hasher.only(k.iter().cloned()),
                    None => hasher,
                }))
            }
            (None, Some(_)) => Err(refuse("hash_kinds needs key_secret".into())),
            (None, None) => Ok(None),
        }
    }

    fn sqlite_options(&self) -> PyResult<SqliteOptions> {
        let durability = match self.durability.as_deref() {
            None | Some("process") => Durability::Process,
            Some("os") => Durability::Os,
            Some(other) => return Err(refuse(format!("durability must be 'process' or 'os', not {other:?}"))),
        };
        Ok(SqliteOptions { durability, key_hasher: self.key_hasher()?, read_only: self.read_only, ..SqliteOptions::default() })
    }

    fn postgres_options(&self) -> PyResult<PostgresOptions> {
        let defaults = PostgresOptions::default();
        let connect_timeout = match self.connect_timeout {
            None => defaults.connect_timeout,
            Some(seconds) => Duration::try_from_secs_f64(seconds)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| refuse(format!("connect_timeout must be a positive, finite number of seconds, not {seconds}")))?,
        };
        Ok(PostgresOptions {
            schema: self.schema.clone().unwrap_or(defaults.schema),
            pool_size: self.pool_size.unwrap_or(defaults.pool_size),
            connect_timeout,
            key_hasher: self.key_hasher()?,
            ..defaults
        })
    }

    /// Checks the options and opens the tracker on its store, with the interpreter
    /// released while the store opens (connecting, migrating).
    pub fn open(self, py: Python<'_>, doc: &MapDocument, config: TrackerConfig) -> PyResult<(Tracker, Backend)> {
        self.check()?;
        if let Some(url) = &self.postgres {
            let options = self.postgres_options()?;
            let tracker = py.detach(|| Tracker::with_store(doc, config, Arc::new(PostgresStore::open(url, options)?))).map_err(py_err)?;
            return Ok((tracker, Backend::Postgres));
        }
        let options = self.sqlite_options()?;
        match self.path {
            Some(path) => {
                let tracker = py.detach(|| Tracker::with_store(doc, config, Arc::new(SqliteStore::open_with(&path, options)?))).map_err(py_err)?;
                Ok((tracker, Backend::Sqlite(path)))
            }
            None => Ok((py.detach(|| Tracker::new(doc, config)).map_err(py_err)?, Backend::Memory)),
        }
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
