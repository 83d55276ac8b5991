//! Call order for work on the thread pool: a tracker's `track`, `trackBatch` and `ingest`
//! calls apply their events in the order they were made, even when the caller does not
//! await one before making the next. So the main thread can convert the next batch while
//! the thread pool tracks the previous one.
//!
//! Each call takes a [`Turn`] on the main thread (in call order); its work waits for its
//! turn on the thread pool. The thread pool starts work in the order it was queued, so the
//! turn being waited for has always started or been given up. A turn whose work never runs
//! (the task dropped when the environment shuts down) is given up when dropped.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

#[derive(Default)]
struct State {
    /// The turn allowed to run.
    serving: u64,
    /// Turns given up or finished ahead of `serving`.
    skipped: BTreeSet<u64>,
}

/// The turns of one tracker.
#[derive(Default)]
pub(crate) struct Order {
    state: Mutex<State>,
    changed: Condvar,
    next: Mutex<u64>,
}

impl Order {
    /// The next turn, in call order (on the main thread).
    pub(crate) fn turn(self: &Arc<Self>) -> Turn {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        let ticket = *next;
        *next += 1;
        Turn { order: self.clone(), ticket, used: false }
    }

    fn finish(&self, ticket: u64) {
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let s = &mut *guard;
        if s.serving == ticket {
            s.serving += 1;
            while s.skipped.remove(&s.serving) {
                s.serving += 1;
            }
        } else {
            s.skipped.insert(ticket);
        }
        drop(guard);
        self.changed.notify_all();
    }
}

/// One call's place in the order.
pub(crate) struct Turn {
    order: Arc<Order>,
    ticket: u64,
    used: bool,
}

impl Turn {
    /// Waits for this turn, runs `f`, then lets the next turn go (also if `f` panics), or
    /// earlier if `f` calls the function it is given (once its work's place is fixed, see
    /// `Tracker::track_batch_placed`; later calls do nothing).
    pub(crate) fn run<T>(mut self, f: impl FnOnce(&dyn Fn()) -> T) -> T {
        {
            let mut s = self.order.state.lock().unwrap_or_else(PoisonError::into_inner);
            while s.serving != self.ticket {
                s = self.order.changed.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
        }
        self.used = true;
        let done = Done { turn: &self, finished: Cell::new(false) };
        f(&|| done.finish())
    }
}

/// Finishes a turn once: when asked, or when dropped.
struct Done<'a> {
    turn: &'a Turn,
    finished: Cell<bool>,
}

impl Done<'_> {
    fn finish(&self) {
        if !self.finished.replace(true) {
            self.turn.order.finish(self.turn.ticket);
        }
    }
}

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.finish();
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if !self.used {
            self.order.finish(self.ticket); // given up: the next turns need not wait for it
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_run_in_order_whatever_thread_runs_them_and_given_up_turns_are_skipped() {
        let order = Arc::new(Order::default());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let turns: Vec<Turn> = (0..6).map(|_| order.turn()).collect();
        let mut handles = Vec::new();
        for (i, turn) in turns.into_iter().enumerate().rev() {
            if i == 2 {
                drop(turn); // never runs
                continue;
            }
            let seen = seen.clone();
            handles.push(std::thread::spawn(move || turn.run(|_| seen.lock().expect("lock").push(i))));
        }
        for h in handles {
            h.join().expect("a turn");
        }
        assert_eq!(*seen.lock().expect("lock"), vec![0, 1, 3, 4, 5]);
        // a later turn still runs at once
        order.turn().run(|_| ());
    }

    #[test]
    fn a_turn_placed_early_lets_the_next_one_run_before_it_ends() {
        let order = Arc::new(Order::default());
        let (first, second) = (order.turn(), order.turn());
        let (started, started_rx) = std::sync::mpsc::channel();
        let (finish, finish_rx) = std::sync::mpsc::channel::<()>();
        let a = std::thread::spawn(move || {
            first.run(|placed| {
                placed();
                placed(); // again: no effect
                finish_rx.recv().expect("finish");
            })
        });
        // The second turn runs while the first one is still working.
        second.run(|_| started.send(()).expect("send"));
        started_rx.recv().expect("second ran");
        finish.send(()).expect("send");
        a.join().expect("first");
        // The turns after them still run in order.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (t3, t4) = (order.turn(), order.turn());
        let s4 = seen.clone();
        let h = std::thread::spawn(move || t4.run(|_| s4.lock().expect("lock").push(4)));
        t3.run(|_| seen.lock().expect("lock").push(3));
        h.join().expect("t4");
        assert_eq!(*seen.lock().expect("lock"), vec![3, 4]);
    }
}
