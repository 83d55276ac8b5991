//! The store conformance suite (`store_suite/`), instantiated for every store.

mod store_suite;

use std::sync::Arc;

use journey_core::store::{MemoryStore, SqliteStore, Store};
use store_suite::Backend;

fn memory() -> Backend {
    Backend { name: "memory", durable: false, open: Box::new(|| Arc::new(MemoryStore::new())) }
}

/// A SQLite store in a fresh temporary folder (kept for the test's life).
fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journeys.db");
    let dir = Arc::new(dir);
    Backend {
        name: "sqlite",
        durable: true,
        open: Box::new(move || {
            let _keep = &dir;
            Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store>
        }),
    }
}

fn fresh_memory() -> Arc<dyn Store> {
    Arc::new(MemoryStore::new())
}

/// A SQLite store that removes its folder when dropped.
struct InTempDir {
    store: SqliteStore,
    _dir: tempfile::TempDir,
}

impl Store for InTempDir {
    fn write(&self, f: &mut dyn FnMut(&mut dyn journey_core::store::Tx) -> journey_core::Result<()>) -> journey_core::Result<()> {
        self.store.write(f)
    }
    fn read(&self, f: &mut dyn FnMut(&dyn journey_core::store::Tx) -> journey_core::Result<()>) -> journey_core::Result<()> {
        self.store.read(f)
    }
    fn scan(&self, from: i64, to: i64, f: &mut dyn FnMut(journey_core::profile::EventRef) -> journey_core::Result<bool>) -> journey_core::Result<()> {
        self.store.scan(from, to, f)
    }
}

fn fresh_sqlite() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap();
    Arc::new(InTempDir { store: SqliteStore::open(dir.path().join("copy.db")).unwrap(), _dir: dir })
}

conformance!(memory, super::memory(), super::fresh_memory);
conformance!(sqlite, super::sqlite(), super::fresh_sqlite);
