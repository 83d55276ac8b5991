//! Tracking speed: 1M generated events over 100k profiles, the shop map with 20
//! waypoints, in memory, one thread. Prints throughput, per-event latency percentiles
//! of `track` and `context`, and memory per profile.
//!
//! `cargo bench -p journey-core --bench track` (EVENTS=... PROFILES=... to resize,
//! SCENARIO=sessions for bursty, realistic traffic).

use std::path::Path;
use std::time::Instant;

use journey_core::{Event, IdentityKey, MapDocument, Tracker, TrackerConfig, Waypoint};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

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
    let events = env("EVENTS", 1_000_000);
    let profiles = env("PROFILES", 100_000);
    let mut doc = MapDocument::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maps/shop.json")).unwrap();
    let map = &mut doc.maps[0];
    let touchpoints: Vec<String> = map.touchpoints.iter().map(|t| t.id.clone()).collect();
    let mut i = 0;
    while map.waypoints.len() < 20 {
        let json = format!(
            r#"{{"id": "extra{i}", "trigger": {{"touchpoint": "{}"}}, "condition": {{"any": [{{"touchpoint": "{}"}}, {{"property": {{"name": "value", "op": ">", "value": 900}}}}]}},
                "within": "{}m", "on_missed": [{{"kind": "sms"}}], "cap": {{"cooldown": "1d"}}}}"#,
            touchpoints[(i * 7) % touchpoints.len()],
            touchpoints[(i * 7 + 3) % touchpoints.len()],
            5 + i
        );
        map.waypoints.push(serde_json::from_str::<Waypoint>(&json).unwrap());
        i += 1;
    }
    let names: Vec<String> = map.touchpoints.iter().flat_map(|t| t.events.clone()).collect();
    let channels = ["web", "mobile_app", "email", "phone", "chat"];

    // Deterministic data: a linear congruential generator; 10% of events carry a second key.
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed >> 33
    };
    let keys: Vec<IdentityKey> = (0..profiles).map(|p| IdentityKey::parse(&format!("session:{p:08x}")).unwrap()).collect();
    let t0: i64 = 1_736_121_600_000_000;
    // SCENARIO=uniform (default): every event goes to a random profile, 20 µs apart, so a
    // profile's events are ~30 min apart and most deadlines are missed (a stress test of the
    // waypoint path). SCENARIO=sessions: each profile visits in bursts of ~10 events 5-60 s
    // apart, sessions spread over the same 5.5 hours, arrival in time order (like real traffic).
    let scenario = std::env::var("SCENARIO").unwrap_or_else(|_| "uniform".into());
    let mut stamped: Vec<(i64, usize)> = Vec::with_capacity(events);
    if scenario == "sessions" {
        while stamped.len() < events {
            let p = next() as usize % profiles;
            let mut ts = t0 + (next() % 20_000_000_000) as i64;
            for _ in 0..(5 + next() % 11) {
                stamped.push((ts, p));
                ts += (5 + next() % 56) as i64 * 1_000_000;
            }
        }
        stamped.truncate(events);
        stamped.sort_by_key(|&(ts, _)| ts);
    } else {
        stamped.extend((0..events).map(|n| (t0 + n as i64 * 20_000, next() as usize % profiles)));
    }
    let mut log = Vec::with_capacity(events);
    for (ts, p) in stamped {
        let mut e = Event::new(ts, keys[p].clone(), names[next() as usize % names.len()].clone(), channels[next() as usize % 5]);
        if next() % 10 == 0 {
            e = e.with_key(IdentityKey::parse(&format!("email:{}@example.com", p % (profiles / 2).max(1))).unwrap());
        }
        if next() % 4 == 0 {
            e = e.with_property("value", (next() % 1000) as i64);
        }
        log.push(e);
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

    let mut ctx = Vec::with_capacity(100_000);
    for n in 0..env("CONTEXTS", 100_000) {
        let k = &keys[next() as usize % profiles];
        let t = Instant::now();
        std::hint::black_box(tracker.context(k).unwrap());
        ctx.push(t.elapsed().as_nanos() as u64);
        if n == 0 {
            ctx.clear();
        }
    }
    ctx.sort_unstable();
    if ctx.is_empty() {
        ctx.push(0);
    }
    let stored = tracker.count(&Default::default()).unwrap();
    println!("track ({scenario}): {events} events over {profiles} keys ({stored} profiles), 20 waypoints, memory store, 1 thread");
    println!("  throughput   {:.0} events/s ({secs:.2} s), {fired} actions fired", events as f64 / secs);
    println!(
        "  track latency p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        latencies.last().unwrap()
    );
    println!("  context latency p50 {} ns, p99 {} ns (last 20 events)", percentile(&ctx, 0.5), percentile(&ctx, 0.99));
    println!(
        "  memory: {} MiB for the tracker, {} bytes per profile, {} bytes per event (RSS delta)",
        (after.saturating_sub(before)) / 1024,
        (after.saturating_sub(before)) * 1024 / stored.max(1) as u64,
        (after.saturating_sub(before)) * 1024 / events as u64
    );
}
