//! The WAL copier: copies committed WAL frames into the database file on a thread and a
//! connection of its own, so that the copy (and on a disk its `fsync`s, a few hundred
//! milliseconds a time) overlaps the writer thread's next transactions instead of holding
//! them up. SQLite lets a `PASSIVE` checkpoint run beside a writer: it copies what was
//! committed when it started and never blocks the writer.
//!
//! Only the writer thread can start the WAL again from its beginning (after a copy that
//! caught up with it, between two transactions), so the writer still copies now and then
//! itself; the copier has done most of that work by then (see `Store::write`).

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use rusqlite::Connection;

/// The handle to the copier thread; dropping it waits for a copy in progress to end.
pub(crate) struct Copier {
    asks: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Copier {
    /// Starts the thread, which copies with `conn` (a read-write connection to the store's
    /// file) each time it is asked.
    pub fn start(conn: Connection) -> std::io::Result<Copier> {
        // One request waits at most: asking again while one waits changes nothing.
        let (asks, asked): (SyncSender<()>, Receiver<()>) = mpsc::sync_channel(1);
        let thread = std::thread::Builder::new().name("journey-walcopy".into()).spawn(move || {
            yield_to_callers();
            for () in asked {
                // A failed or busy copy is retried at the next request; a real I/O error
                // also fails the writer's next commit, which reports it.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })?;
        Ok(Copier { asks: Some(asks), thread: Some(thread) })
    }

    /// Asks for a copy of everything committed so far, without waiting for it.
    pub fn ask(&self) {
        if let Some(asks) = &self.asks {
            // Full: a request already waits, which copies this too.
            let _ = asks.try_send(());
        }
    }
}

/// Lowers the calling thread's priority by 10 nice steps (at most to 19): the copy is
/// background work, and on a machine with few cores it would otherwise take turns with the
/// tracking and writer threads that callers wait for. Linux only, where the priority is per
/// thread (elsewhere `setpriority` would lower the whole process); a refusal changes nothing.
fn yield_to_callers() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread (`who = 0`), no memory involved.
    unsafe {
        let nice = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(libc::PRIO_PROCESS, 0, (nice + 10).min(19));
    }
}

impl Drop for Copier {
    fn drop(&mut self) {
        self.asks.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
