//! Tracking speed: 1M generated events over 100k profiles, the shop map with 20
//! waypoints, in memory, one thread. Prints throughput, per-event latency percentiles
//! of `track` (and the share of the time spent in slow calls) and `context` (the call,
//! and the call with dropping its result), and memory per profile.
//!
//! `cargo bench -p journey-core --bench track` (EVENTS=... PROFILES=... to resize,
//! SCENARIO=sessions for bursty, realistic traffic, WAYPOINTS=n for another number of
//! waypoints (0, or 5 for the shop map's own, show what deadlines cost),
//! ALLOCATOR=mimalloc instead of the system's malloc, WARM=1 to track the log once into a
//! tracker that is dropped before the timed run, so the timed run reuses memory the
//! process has already touched: with `GLIBC_TUNABLES=glibc.malloc.trim_threshold=4000000000`
//! malloc keeps it, and the difference is what first-touch page faults cost). Under `cargo test --all-targets`
//! it runs once on 20,000 events, as a smoke test.

use std::time::Instant;

use common::env;
use journey_core::{Event, IdentityKey, Tracker, TrackerConfig};

mod common;

// The system's malloc by default: on one thread mimalloc is no faster here and holds
// ~70% more memory (`ALLOCATOR=mimalloc`).
#[global_allocator]
static ALLOCATOR: common::Allocator<false> = common::Allocator;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

fn main() {
    let full = common::full_run();
    let events = env("EVENTS", if full { 1_000_000 } else { 20_000 });
    let profiles = env("PROFILES", if full { 100_000 } else { 2_000 });
    let doc = common::shop_with_waypoints();
    let keys: Vec<IdentityKey> = (0..profiles).map(|p| IdentityKey::parse(&format!("session:{p:08x}")).unwrap()).collect();
    // SCENARIO=uniform (default) or sessions: see `common::log`.
    let scenario = std::env::var("SCENARIO").unwrap_or_else(|_| "uniform".into());
    let log: Vec<Event> = common::log(&doc, events, profiles, scenario == "sessions").into_iter().map(|(e, _)| e).collect();
    let mut seed: u64 = 7;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed >> 33
    };
    let warm = std::env::var_os("WARM").is_some();
    if warm {
        let warm = Tracker::new(&doc, TrackerConfig::default()).unwrap();
        log.iter().cloned().for_each(|e| drop(warm.track(e).unwrap()));
    }
    let before = rss_kib();
    let tracker = Tracker::new(&doc, TrackerConfig::default()).unwrap();

    let mut latencies = Vec::with_capacity(events);
    let mut fired = 0usize;
    let start = Instant::now();
    for e in log {
        let t = Instant::now();
        fired += tracker.track(e).unwrap().actions.len();
        latencies.push(t.elapsed().as_nanos() as u64);
    }
    let secs = start.elapsed().as_secs_f64();
    let after = rss_kib();
    latencies.sort_unstable();

    // The call alone, and the call with dropping what it returned (the caller pays for
    // that too, when it is done with the context).
    let (mut ctx, mut ctx_dropped) = (Vec::with_capacity(100_000), Vec::with_capacity(100_000));
    for n in 0..env("CONTEXTS", if full { 100_000 } else { 2_000 }) {
        let k = &keys[next() as usize % profiles];
        let t = Instant::now();
        let context = std::hint::black_box(tracker.context(k).unwrap());
        let called = t.elapsed().as_nanos() as u64;
        drop(context);
        if n > 0 {
            ctx.push(called);
            ctx_dropped.push(t.elapsed().as_nanos() as u64);
        }
    }
    for list in [&mut ctx, &mut ctx_dropped] {
        list.sort_unstable();
        if list.is_empty() {
            list.push(0);
        }
    }
    let stored = tracker.count(&Default::default()).unwrap();
    println!("track ({scenario}): {events} events over {profiles} keys ({stored} profiles), {} waypoints, memory store, 1 thread, allocator {}", doc.maps[0].waypoints.len(), ALLOCATOR.name());
    println!("  throughput   {:.0} events/s ({secs:.2} s), {fired} actions fired", events as f64 / secs);
    println!(
        "  track latency p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        latencies.last().unwrap()
    );
    // Where the mean goes: the share of the tracking time spent in slow calls (the tail
    // holds growth of the big tables, page faults and missed deadlines firing).
    let total: u64 = latencies.iter().sum::<u64>().max(1);
    let share = |over: u64| 100.0 * latencies.iter().filter(|&&l| l > over).sum::<u64>() as f64 / total as f64;
    println!(
        "  track mean {} ns; time in calls over 5 µs {:.0}%, over 50 µs {:.0}%, over 1 ms {:.0}%",
        total / latencies.len().max(1) as u64,
        share(5_000),
        share(50_000),
        share(1_000_000)
    );
    println!(
        "  context latency p50 {} ns, p99 {} ns (last 20 events); with dropping the result p50 {} ns, p99 {} ns",
        percentile(&ctx, 0.5),
        percentile(&ctx, 0.99),
        percentile(&ctx_dropped, 0.5),
        percentile(&ctx_dropped, 0.99)
    );
    if warm {
        println!("  memory: not measured with WARM (the timed run reuses the first run's memory)");
    } else {
        println!(
            "  memory: {} MiB for the tracker, {} bytes per profile, {} bytes per event (RSS delta)",
            (after.saturating_sub(before)) / 1024,
            (after.saturating_sub(before)) * 1024 / stored.max(1) as u64,
            (after.saturating_sub(before)) * 1024 / events as u64
        );
    }
}
