//! Commits in flight. A write transaction hands its `COMMIT` to the writer thread and lets
//! go of the store's locks before waiting for it, so the next transaction's work in
//! memory overlaps this one's commit (see [`Store::write`](super::Store::write)). What the
//! callers, the readers and the writer thread then need to agree on lives here:
//! - how many commits were posted and how many the writer thread has done (in order), so
//!   that a reader waits until the file holds everything the hot state shows;
//! - whether a commit failed since the hot state was last rebuilt from the file: the
//!   transactions queued behind it were built on its changes, so the writer thread refuses
//!   them (and every other call) until a caller has rebuilt the hot state;
//! - how many times the hot state was rebuilt, so that of the callers whose commits failed
//!   together only one rebuilds it.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::error::{Error, Result};

#[derive(Default)]
struct State {
    /// Commits posted to the writer thread.
    posted: u64,
    /// Commits the writer thread has done (or failed), in posting order.
    done: u64,
    /// A commit failed and the hot state has not been rebuilt since.
    failed: bool,
    /// Rebuilds of the hot state so far.
    rebuilds: u64,
}

/// The commits of one store, shared by its callers and its writer thread.
#[derive(Default)]
pub(crate) struct Flight {
    state: Mutex<State>,
    finished: Condvar,
}

impl Flight {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A commit is being posted (called under the store's locks, before posting it).
    pub fn post(&self) {
        self.state().posted += 1;
    }

    /// The writer thread finished the oldest posted commit (`ok`: it committed).
    pub fn finish(&self, ok: bool) {
        let mut s = self.state();
        s.done += 1;
        s.failed |= !ok;
        drop(s);
        self.finished.notify_all();
    }

    /// Commits posted and not done yet.
    pub fn in_flight(&self) -> u64 {
        let s = self.state();
        s.posted - s.done
    }

    /// A commit failed since the last rebuild.
    pub fn failed(&self) -> bool {
        self.state().failed
    }

    /// Rebuilds so far (read under the writer lock).
    pub fn rebuilds(&self) -> u64 {
        self.state().rebuilds
    }

    /// The hot state was rebuilt from the file (on the writer thread, after every commit
    /// posted before): the writer thread may take work again.
    pub fn rebuilt(&self) {
        let mut s = self.state();
        s.failed = false;
        s.rebuilds += 1;
    }

    /// Waits until every commit posted so far is done; `Err` if one failed and the hot
    /// state has not been rebuilt yet (what it shows is not in the file). Called by readers
    /// holding the hot state's read lock, so no commit can be posted meanwhile.
    pub fn settle(&self, path: &str) -> Result<()> {
        let mut s = self.state();
        let target = s.posted;
        while s.done < target {
            s = self.finished.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        if s.failed { Err(failed_commit(path)) } else { Ok(()) }
    }
}

/// The error of work refused after a failed commit, until the hot state is rebuilt.
pub(crate) fn failed_commit(path: &str) -> Error {
    Error::Storage {
        message: format!(
            "{path}: an earlier write transaction failed to commit, and this one was built on it: nothing of it was stored; the store reloads its state from the file, retry"
        ),
        source: None,
    }
}
