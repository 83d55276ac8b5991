//! Wall-clock time for a tracker that runs on event time: a [`Clock`] says when to call
//! [`Tracker::advance`], and a [`Ticker`] calls it on a background thread.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use super::Tracker;
use crate::error::Error;
use crate::time::Micros;

/// A source of the current time, in microseconds since the Unix epoch (UTC).
///
/// The tracker itself runs on event time; a clock only says when to call
/// [`Tracker::advance`]. [`SystemClock`] reads the wall clock; [`ManualClock`] is set by
/// hand, for tests and replays.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> Micros;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Micros {
        now_micros()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `now`.
    pub fn new(now: Micros) -> Self {
        ManualClock(AtomicI64::new(now))
    }

    /// Sets the time.
    pub fn set(&self, now: Micros) {
        self.0.store(now, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Micros {
        self.0.load(Ordering::SeqCst)
    }
}

/// Drives [`Tracker::advance`] from a [`Clock`] on a background thread, until stopped
/// or dropped.
pub struct Ticker {
    stop: Arc<(Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    /// Calls `tracker.advance(now)` every `every`, `now` being the system time in
    /// microseconds. Errors are passed to `on_error` (the ticker keeps going); a closed
    /// tracker stops it.
    pub fn start(tracker: Arc<Tracker>, every: std::time::Duration, on_error: impl Fn(Error) + Send + 'static) -> Self {
        Self::with_clock(tracker, Arc::new(SystemClock), every, on_error)
    }

    /// Like [`Ticker::start`], reading time from `clock`.
    pub fn with_clock(tracker: Arc<Tracker>, clock: Arc<dyn Clock>, every: std::time::Duration, on_error: impl Fn(Error) + Send + 'static) -> Self {
        let stop = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let (lock, cvar) = &*flag;
            let mut stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
            while !*stopped {
                let (guard, _) = cvar.wait_timeout(stopped, every).unwrap_or_else(|p| p.into_inner());
                stopped = guard;
                if *stopped {
                    break;
                }
                match tracker.advance(clock.now()) {
                    Ok(_) => {}
                    Err(Error::Closed { .. }) => break,
                    Err(e) => on_error(e),
                }
            }
        });
        Ticker { stop, thread: Some(thread) }
    }

    /// Stops the ticker and waits for its thread.
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cvar.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.halt();
    }
}

/// The system time in microseconds since the Unix epoch.
pub fn now_micros() -> Micros {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as Micros)
}
