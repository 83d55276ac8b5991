//! Which store a tracker keeps its journeys in, chosen from the options a user gives a
//! binding (`Tracker(doc, path=...)` in Python, `new Tracker(doc, {path})` in Node): in
//! memory (no store option), a SQLite file (`path`) or a PostgreSQL schema (`postgres`).
//!
//! The rules live here, once: a store option is refused unless its store is chosen (it
//! would be silently ignored), `path` and `postgres` exclude each other, and values are
//! checked. Every refusal is [`Error::Parse`] whose path is the option as the binding
//! spells it (`hash_kinds` / `hashKinds`): the binding passes its spelling of the
//! canonical names, which are the fields of [`StoreOptions`].
//!
//! ```
//! use journey_core::store::{StoreChoice, StoreOptions};
//! let options = StoreOptions { durability: Some("os".into()), ..StoreOptions::default() };
//! let err = options.choose(&|name| name.to_string()).unwrap_err();
//! assert!(err.to_string().contains("durability applies only to a SQLite file: it needs path"), "{err}");
//! let memory = StoreOptions::default().choose(&|name| name.to_string()).unwrap();
//! assert!(matches!(memory, StoreChoice::Memory));
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::sqlite::CheckReport;
use super::{Durability, KeyHasher, SqliteOptions, SqliteStore, Store};
#[cfg(feature = "postgres")]
use super::{PostgresOptions, PostgresStore};
use crate::error::{Error, Result};

/// The shortest `hash_secret` accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// The store options a binding was given (`None`: not given). Each field is named after
/// the canonical option name the binding's spelling function receives.
#[derive(Debug, Clone, Default)]
pub struct StoreOptions {
    /// `path`: a SQLite file, opened or created.
    pub path: Option<PathBuf>,
    /// `postgres`: a PostgreSQL connection URL.
    pub postgres: Option<String>,
    /// `hash_secret`: store identity values as keyed hashes with this secret (at least
    /// [`MIN_SECRET_LEN`] bytes; SQLite and PostgreSQL).
    pub hash_secret: Option<Vec<u8>>,
    /// `hash_kinds`: hash only keys of these kinds (needs `hash_secret`).
    pub hash_kinds: Option<Vec<String>>,
    /// `durability` (SQLite): `"process"` or `"os"`.
    pub durability: Option<String>,
    /// `read_only` (SQLite).
    pub read_only: Option<bool>,
    /// `max_size` (SQLite): the most bytes the file may grow to.
    pub max_size: Option<u64>,
    /// `busy_timeout` (SQLite): how long to wait for a lock.
    pub busy_timeout: Option<Duration>,
    /// `checkpoint_bytes` (SQLite).
    pub checkpoint_bytes: Option<u64>,
    /// `cache_mib` (SQLite).
    pub cache_mib: Option<u32>,
    /// `schema` (PostgreSQL).
    pub schema: Option<String>,
    /// `pool_size` (PostgreSQL).
    pub pool_size: Option<usize>,
    /// `connect_timeout` (PostgreSQL).
    pub connect_timeout: Option<Duration>,
    /// `pool_wait` (PostgreSQL): how long a call waits for a free connection.
    pub pool_wait: Option<Duration>,
    /// `attempts` (PostgreSQL): tries of a write that meets a serialization failure, a
    /// deadlock or a lost connection.
    pub attempts: Option<u32>,
    /// `fetch_size` (PostgreSQL): rows fetched at a time by scans.
    pub fetch_size: Option<u32>,
    /// `cache_entries` (PostgreSQL): keys and profiles remembered between writes (0: none).
    pub cache_entries: Option<usize>,
}

/// The store chosen, with its core options; [`StoreChoice::open`] opens it.
// Made once per tracker opened: its size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum StoreChoice {
    /// A fresh in-memory store.
    Memory,
    /// A SQLite file.
    Sqlite(PathBuf, SqliteOptions),
    /// A schema of a PostgreSQL server (the URL).
    #[cfg(feature = "postgres")]
    Postgres(String, PostgresOptions),
}

/// An open durable store, kept beside its tracker so that closing can release it. Clones
/// share the store (it is released when the last one goes).
#[derive(Clone)]
pub enum OpenStore {
    /// A SQLite file.
    Sqlite(Arc<SqliteStore>),
    /// A PostgreSQL store.
    #[cfg(feature = "postgres")]
    Postgres(Arc<PostgresStore>),
}

/// A refused option value: `<option> <rule>`, with the option as the binding spells it.
fn refuse(name: &dyn Fn(&'static str) -> String, option: &'static str, rule: &str) -> Error {
    let shown = name(option);
    Error::parse(shown.clone(), format!("{shown} {rule}"))
}

/// The options that apply to a SQLite file only.
const SQLITE_ONLY: [&str; 6] = ["durability", "read_only", "max_size", "busy_timeout", "checkpoint_bytes", "cache_mib"];
/// The options that apply to a PostgreSQL store only.
const POSTGRES_ONLY: [&str; 7] = ["schema", "pool_size", "connect_timeout", "pool_wait", "attempts", "fetch_size", "cache_entries"];

impl StoreOptions {
    /// Whether the option of this canonical name was given.
    fn given(&self, name: &str) -> bool {
        match name {
            "path" => self.path.is_some(),
            "postgres" => self.postgres.is_some(),
            "hash_secret" => self.hash_secret.is_some(),
            "hash_kinds" => self.hash_kinds.is_some(),
            "durability" => self.durability.is_some(),
            "read_only" => self.read_only.is_some(),
            "max_size" => self.max_size.is_some(),
            "busy_timeout" => self.busy_timeout.is_some(),
            "checkpoint_bytes" => self.checkpoint_bytes.is_some(),
            "cache_mib" => self.cache_mib.is_some(),
            "schema" => self.schema.is_some(),
            "pool_size" => self.pool_size.is_some(),
            "connect_timeout" => self.connect_timeout.is_some(),
            "pool_wait" => self.pool_wait.is_some(),
            "attempts" => self.attempts.is_some(),
            "fetch_size" => self.fetch_size.is_some(),
            "cache_entries" => self.cache_entries.is_some(),
            _ => false,
        }
    }

    /// Checks the options together and returns the store they ask for. `name` spells a
    /// canonical option name the way the binding's users write it, for the errors.
    ///
    /// Errors ([`Error::Parse`], path = the option): `path` with `postgres`; a store
    /// option without its store, or for the other store; an empty path or URL; a bad
    /// value (`durability` other than `process`/`os`, a short `hash_secret`, `hash_kinds`
    /// without it, a zero size, timeout, pool or `attempts`, a `fetch_size` outside
    /// 1..=`i32::MAX`); `postgres` in a build without the
    /// `postgres` feature.
    pub fn choose(&self, name: &dyn Fn(&'static str) -> String) -> Result<StoreChoice> {
        let refuse_any = |options: &[&'static str], why: &dyn Fn(&str) -> String| -> Result<()> {
            match options.iter().find(|o| self.given(o)) {
                Some(o) => {
                    let shown = name(o);
                    Err(Error::parse(shown.clone(), why(&shown)))
                }
                None => Ok(()),
            }
        };
        let (path, postgres) = (name("path"), name("postgres"));
        let hasher = self.key_hasher(name)?;
        match (&self.path, &self.postgres) {
            (Some(_), Some(_)) => Err(Error::parse(
                postgres.clone(),
                format!("give either {path} (a SQLite file) or {postgres} (a PostgreSQL server URL), not both: a tracker keeps its journeys in one store"),
            )),
            (None, None) => {
                let memory = "without it the tracker keeps its journeys in memory";
                refuse_any(&SQLITE_ONLY, &|o| format!("{o} applies only to a SQLite file: it needs {path}; {memory}"))?;
                refuse_any(&POSTGRES_ONLY, &|o| format!("{o} applies only to a PostgreSQL store: it needs {postgres} (a server URL); {memory}"))?;
                refuse_any(&["hash_secret", "hash_kinds"], &|o| {
                    format!("{o} needs a store: {path} (a SQLite file) or {postgres} (a PostgreSQL server URL); {memory}")
                })?;
                Ok(StoreChoice::Memory)
            }
            (Some(file), None) => {
                refuse_any(&POSTGRES_ONLY, &|o| format!("{o} applies only to a PostgreSQL store ({postgres}), not to a SQLite file ({path})"))?;
                if file.as_os_str().is_empty() {
                    return Err(Error::parse(path, "the path of the SQLite file is empty"));
                }
                Ok(StoreChoice::Sqlite(file.clone(), self.sqlite_options(name, hasher)?))
            }
            (None, Some(url)) => {
                refuse_any(&SQLITE_ONLY, &|o| format!("{o} applies only to a SQLite file ({path}), not to a PostgreSQL store ({postgres})"))?;
                if url.trim().is_empty() {
                    return Err(Error::parse(postgres, "the server URL is empty: expected postgres://user:password@host:port/database"));
                }
                self.postgres_choice(name, url, hasher)
            }
        }
    }

    /// The key hasher of `hash_secret` and `hash_kinds`, the same for both stores.
    fn key_hasher(&self, name: &dyn Fn(&'static str) -> String) -> Result<Option<KeyHasher>> {
        let Some(secret) = &self.hash_secret else {
            return match self.hash_kinds {
                Some(_) => Err(refuse(name, "hash_kinds", &format!("needs {}", name("hash_secret")))),
                None => Ok(None),
            };
        };
        if secret.len() < MIN_SECRET_LEN {
            return Err(refuse(name, "hash_secret", &format!("is {} bytes long; use at least {MIN_SECRET_LEN} random bytes", secret.len())));
        }
        let hasher = KeyHasher::new(secret);
        Ok(Some(match &self.hash_kinds {
            Some(kinds) => hasher.only(kinds.iter().cloned()),
            None => hasher,
        }))
    }

    fn sqlite_options(&self, name: &dyn Fn(&'static str) -> String, key_hasher: Option<KeyHasher>) -> Result<SqliteOptions> {
        let mut o = SqliteOptions { key_hasher, ..SqliteOptions::default() };
        if let Some(d) = &self.durability {
            o.durability = match d.as_str() {
                "process" => Durability::Process,
                "os" => Durability::Os,
                other => return Err(refuse(name, "durability", &format!("must be 'process' or 'os', not {other:?}"))),
            };
        }
        if let Some(n) = self.max_size {
            if n == 0 {
                return Err(refuse(name, "max_size", "must be positive"));
            }
            o.max_size = Some(n);
        }
        if let Some(t) = self.busy_timeout {
            o.busy_timeout = t;
        }
        if let Some(n) = self.checkpoint_bytes {
            if n == 0 {
                return Err(refuse(name, "checkpoint_bytes", "must be positive"));
            }
            o.checkpoint_bytes = n;
        }
        if let Some(n) = self.cache_mib {
            if n == 0 {
                return Err(refuse(name, "cache_mib", "must be positive"));
            }
            o.cache_mib = n;
        }
        o.read_only = self.read_only.unwrap_or(false);
        Ok(o)
    }

    #[cfg(feature = "postgres")]
    fn postgres_choice(&self, name: &dyn Fn(&'static str) -> String, url: &str, key_hasher: Option<KeyHasher>) -> Result<StoreChoice> {
        let mut o = PostgresOptions { key_hasher, ..PostgresOptions::default() };
        if let Some(schema) = &self.schema {
            o.schema = schema.clone();
        }
        if let Some(n) = self.pool_size {
            if n == 0 {
                return Err(refuse(name, "pool_size", "must be at least 1"));
            }
            o.pool_size = n;
        }
        if let Some(t) = self.connect_timeout {
            if t.is_zero() {
                return Err(refuse(name, "connect_timeout", "must be positive"));
            }
            o.connect_timeout = t;
        }
        if let Some(t) = self.pool_wait {
            if t.is_zero() {
                return Err(refuse(name, "pool_wait", "must be positive"));
            }
            o.pool_wait = t;
        }
        if let Some(n) = self.attempts {
            if n == 0 {
                return Err(refuse(name, "attempts", "must be at least 1"));
            }
            o.attempts = n;
        }
        if let Some(n) = self.fetch_size {
            o.fetch_size = match i32::try_from(n) {
                Ok(n) if n > 0 => n,
                _ => return Err(refuse(name, "fetch_size", &format!("must be between 1 and {}, not {n}", i32::MAX))),
            };
        }
        if let Some(n) = self.cache_entries {
            o.cache_entries = n;
        }
        Ok(StoreChoice::Postgres(url.to_string(), o))
    }

    #[cfg(not(feature = "postgres"))]
    fn postgres_choice(&self, name: &dyn Fn(&'static str) -> String, _url: &str, _key_hasher: Option<KeyHasher>) -> Result<StoreChoice> {
        Err(Error::parse(name("postgres"), "this build of journey-core has no PostgreSQL support (feature `postgres`)"))
    }
}

impl StoreChoice {
    /// `"memory"`, `"sqlite"` or `"postgres"`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreChoice::Memory => "memory",
            StoreChoice::Sqlite(..) => "sqlite",
            #[cfg(feature = "postgres")]
            StoreChoice::Postgres(..) => "postgres",
        }
    }

    /// Opens the store: `None` for memory (the tracker makes its own). A PostgreSQL store
    /// connects to its server here, and a SQLite file loads its state: both may take a
    /// while.
    pub fn open(self) -> Result<Option<OpenStore>> {
        Ok(match self {
            StoreChoice::Memory => None,
            StoreChoice::Sqlite(path, o) => Some(OpenStore::Sqlite(Arc::new(SqliteStore::open_with(path, o)?))),
            #[cfg(feature = "postgres")]
            StoreChoice::Postgres(url, o) => Some(OpenStore::Postgres(Arc::new(PostgresStore::open(&url, o)?))),
        })
    }
}

impl OpenStore {
    /// The store, for [`Tracker::with_store`](crate::Tracker::with_store).
    pub fn store(&self) -> Arc<dyn Store> {
        match self {
            OpenStore::Sqlite(s) => s.clone(),
            #[cfg(feature = "postgres")]
            OpenStore::Postgres(s) => s.clone(),
        }
    }

    /// Brings a SQLite file's state tables up to date (see [`SqliteStore::checkpoint`]), so
    /// that other tools reading the file see current profiles, keys and deadlines. Nothing
    /// to do for PostgreSQL, whose tables are always current.
    pub fn checkpoint(&self) -> Result<()> {
        match self {
            OpenStore::Sqlite(store) => store.checkpoint(),
            #[cfg(feature = "postgres")]
            OpenStore::Postgres(_) => Ok(()),
        }
    }

    /// Checks a SQLite file and the store's invariants (see [`SqliteStore::check`]);
    /// `None` for PostgreSQL, which has no such check.
    pub fn check(&self) -> Result<Option<CheckReport>> {
        match self {
            OpenStore::Sqlite(store) => store.check().map(Some),
            #[cfg(feature = "postgres")]
            OpenStore::Postgres(_) => Ok(None),
        }
    }

    /// Releases the store once its tracker is gone: a SQLite file's state tables are
    /// brought up to date and the file (and its lock) released, so it can be opened again
    /// at once; a PostgreSQL store's connections close.
    pub fn release(self) -> Result<()> {
        match self {
            OpenStore::Sqlite(store) => {
                store.checkpoint()?;
                drop(store); // the last handle: the file and its lock are released here
            }
            #[cfg(feature = "postgres")]
            OpenStore::Postgres(store) => drop(store), // the last handle: its pool closes here
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn camel(name: &'static str) -> String {
        let mut out = String::new();
        let mut upper = false;
        for c in name.chars() {
            match c {
                '_' => upper = true,
                c if upper => {
                    out.push(c.to_ascii_uppercase());
                    upper = false;
                }
                c => out.push(c),
            }
        }
        out
    }

    fn refused(o: StoreOptions) -> (String, String) {
        match o.choose(&camel) {
            Err(Error::Parse { path, message, .. }) => (path, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn store_options_without_their_store_are_refused_by_the_bindings_name() {
        let file = || Some(PathBuf::from("x.db"));
        let url = || Some("postgres://u@h/db".to_string());
        let cases = [
            (StoreOptions { path: file(), postgres: url(), ..Default::default() }, "postgres", "not both"),
            (StoreOptions { read_only: Some(true), ..Default::default() }, "readOnly", "readOnly applies only to a SQLite file: it needs path"),
            (StoreOptions { schema: Some("s".into()), ..Default::default() }, "schema", "schema applies only to a PostgreSQL store: it needs postgres"),
            (StoreOptions { hash_secret: Some(vec![7; 16]), ..Default::default() }, "hashSecret", "needs a store"),
            (StoreOptions { path: file(), pool_size: Some(2), ..Default::default() }, "poolSize", "applies only to a PostgreSQL store"),
            (StoreOptions { postgres: url(), cache_mib: Some(8), ..Default::default() }, "cacheMib", "applies only to a SQLite file"),
            (StoreOptions { path: file(), durability: Some("disk".into()), ..Default::default() }, "durability", "'process' or 'os', not \"disk\""),
            (StoreOptions { path: file(), hash_secret: Some(b"short".to_vec()), ..Default::default() }, "hashSecret", "5 bytes long; use at least 16"),
            (StoreOptions { path: file(), hash_kinds: Some(vec!["email".into()]), ..Default::default() }, "hashKinds", "hashKinds needs hashSecret"),
            (StoreOptions { path: Some(PathBuf::new()), ..Default::default() }, "path", "empty"),
            (StoreOptions { postgres: Some(" ".into()), ..Default::default() }, "postgres", "empty"),
            (StoreOptions { path: file(), max_size: Some(0), ..Default::default() }, "maxSize", "positive"),
            (StoreOptions { fetch_size: Some(10), ..Default::default() }, "fetchSize", "applies only to a PostgreSQL store: it needs postgres"),
            (StoreOptions { path: file(), cache_entries: Some(0), ..Default::default() }, "cacheEntries", "applies only to a PostgreSQL store"),
        ];
        for (options, path, message) in cases {
            let (p, m) = refused(options);
            assert_eq!(p, path, "{m}");
            assert!(m.contains(message), "{m:?} should contain {message:?}");
        }
    }

    #[test]
    fn the_chosen_store_gets_its_options() {
        let o = StoreOptions { path: Some("x.db".into()), durability: Some("os".into()), cache_mib: Some(8), read_only: Some(true), ..Default::default() };
        match o.choose(&camel).unwrap() {
            StoreChoice::Sqlite(p, s) => {
                assert_eq!(p, PathBuf::from("x.db"));
                assert_eq!((s.durability, s.cache_mib, s.read_only), (Durability::Os, 8, true));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(StoreOptions::default().choose(&camel).unwrap().kind(), "memory");
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn postgres_tuning_options_reach_the_store_and_bad_values_are_refused() {
        let url = || Some("postgres://u@h/db".to_string());
        let o = StoreOptions {
            postgres: url(),
            pool_wait: Some(Duration::from_millis(250)),
            attempts: Some(2),
            fetch_size: Some(50),
            cache_entries: Some(0),
            ..Default::default()
        };
        match o.choose(&camel).unwrap() {
            StoreChoice::Postgres(_, p) => assert_eq!((p.pool_wait, p.attempts, p.fetch_size, p.cache_entries), (Duration::from_millis(250), 2, 50, 0)),
            other => panic!("{other:?}"),
        }
        let cases = [
            (StoreOptions { postgres: url(), pool_wait: Some(Duration::ZERO), ..Default::default() }, "poolWait", "poolWait must be positive"),
            (StoreOptions { postgres: url(), attempts: Some(0), ..Default::default() }, "attempts", "attempts must be at least 1"),
            (StoreOptions { postgres: url(), fetch_size: Some(0), ..Default::default() }, "fetchSize", "between 1 and 2147483647, not 0"),
            (StoreOptions { postgres: url(), fetch_size: Some(u32::MAX), ..Default::default() }, "fetchSize", "not 4294967295"),
        ];
        for (options, path, message) in cases {
            let (p, m) = refused(options);
            assert_eq!(p, path, "{m}");
            assert!(m.contains(message), "{m:?} should contain {message:?}");
        }
    }
}
