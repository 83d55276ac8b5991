//! What the layout of stored events costs by itself, without any tracker logic: 1M events
//! over 100k keys, each kept in its key's `Vec` as an `Arc` of today's `TrackedEvent` size,
//! as an `Arc` of the size it would have with `properties` boxed, or inline (an arena).
//! It answers whether changing the public `Event` / `EventRef` types would pay.
//!
//! `cargo bench -p journey-core --bench layout -- arc208|arc144|inline144` (one layout per
//! process, so that each starts with a fresh heap; no argument: all three in turn, the
//! later ones reusing the first one's freed pages). EVENTS=... KEYS=... to resize. Under
//! `cargo test --all-targets` it runs once on 20,000 events, as a smoke test.

use std::sync::Arc;
use std::time::Instant;

use common::env;

// Shared with the other benchmarks; this one needs only its settings.
#[allow(dead_code)]
mod common;

/// An event's bytes: `N` words.
struct Stored<const N: usize>([u64; N]);

/// Stores `events` events over `keys` keys (chosen by a fixed generator), each made by
/// `make`, and returns the nanoseconds per event.
fn keep<T>(events: usize, keys: usize, make: impl Fn(u64) -> T) -> f64 {
    let mut seed: u64 = 42;
    let picks: Vec<usize> = (0..events)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % keys
        })
        .collect();
    let mut per_key: Vec<Vec<T>> = (0..keys).map(|_| Vec::new()).collect();
    let start = Instant::now();
    for (n, &k) in picks.iter().enumerate() {
        per_key[k].push(make(n as u64));
    }
    let ns = start.elapsed().as_secs_f64() * 1e9 / events.max(1) as f64;
    std::hint::black_box(&per_key);
    ns
}

fn main() {
    let full = common::full_run();
    let events = env("EVENTS", if full { 1_000_000 } else { 20_000 });
    let keys = env("KEYS", if full { 100_000 } else { 2_000 }).max(1);
    let which: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| which.is_empty() || which.iter().any(|w| w == name);
    println!("layout: {events} events over {keys} keys");
    // 26 words: `TrackedEvent` today (208 bytes); 18: with `properties` boxed (144 bytes).
    if wanted("arc208") {
        println!("  Arc<208 bytes>          {:.0} ns per event", keep(events, keys, |n| Arc::new(Stored([n; 26]))));
    }
    if wanted("arc144") {
        println!("  Arc<144 bytes>          {:.0} ns per event", keep(events, keys, |n| Arc::new(Stored([n; 18]))));
    }
    if wanted("inline144") {
        println!("  144 bytes inline        {:.0} ns per event", keep(events, keys, |n| Stored([n; 18])));
    }
}
