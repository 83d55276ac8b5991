//! Data parallelism over journeys with scoped threads (no thread pool, no dependency).

use std::sync::atomic::{AtomicUsize, Ordering};

static THREADS: AtomicUsize = AtomicUsize::new(0);

/// The number of threads the analytics use: [`set_threads`] if called, else the machine's
/// available parallelism.
pub fn threads() -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Sets the number of threads the analytics use (0 = the machine's available parallelism).
pub fn set_threads(n: usize) {
    THREADS.store(n, Ordering::Relaxed);
}

/// The number of parts to split work of `size` items into: the number of threads when it was
/// set explicitly with [`set_threads`] (so small inputs exercise the parallel paths in
/// tests), else 1 below `min` items and the available parallelism above.
pub(crate) fn parts_for(size: usize, min: usize) -> usize {
    match THREADS.load(Ordering::Relaxed) {
        0 if size < min => 1,
        0 => threads(),
        n => n,
    }
}

/// Splits `0..n` items into at most `threads()` contiguous ranges of about equal `weight`
/// (`cum(i)` = the total weight of items `0..i`), runs `work` on each range in its own
/// thread and returns the results in range order. Small inputs run on the calling thread.
pub(crate) fn split_run<A: Send>(
    n: usize,
    total_weight: usize,
    cum: impl Fn(usize) -> usize + Sync,
    work: impl Fn(std::ops::Range<usize>) -> A + Sync,
) -> Vec<A> {
    let t = parts_for(total_weight, 50_000).max(1);
    if t == 1 || n < 2 {
        return vec![work(0..n)];
    }
    let parts = t.min(n);
    let mut bounds = vec![0usize];
    for p in 1..parts {
        let target = total_weight * p / parts;
        // first item index whose cumulative weight reaches the target
        let (mut lo, mut hi) = (*bounds.last().unwrap(), n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if cum(mid) < target { lo = mid + 1 } else { hi = mid }
        }
        bounds.push(lo);
    }
    bounds.push(n);
    std::thread::scope(|s| {
        let work = &work;
        let handles: Vec<_> = bounds.windows(2).skip(1).map(|w| {
            let r = w[0]..w[1];
            s.spawn(move || work(r))
        }).collect();
        let mut out = vec![work(bounds[0]..bounds[1])];
        out.extend(handles.into_iter().map(|h| h.join().expect("analytics worker panicked")));
        out
    })
}
