//! The synthetic workload shared by the `track` and `sqlite` benchmarks: the shop map
//! with 20 waypoints, and a deterministic log of events over a number of profile keys.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};

use journey_core::{Event, IdentityKey, MapDocument, Waypoint};

/// A benchmark's allocator, chosen by `ALLOCATOR`: `mimalloc` (what the Python and Node
/// bindings use) or `system` (glibc's malloc, what a Rust program gets unless it picks
/// one); `MIMALLOC` is the default. The library itself leaves that choice to the program.
pub struct Allocator<const MIMALLOC: bool>;

/// 0: not chosen yet, 1: mimalloc, 2: the system's. Chosen at the first allocation,
/// before `main`, so that every block is freed by the allocator that made it.
static CHOSEN: AtomicU8 = AtomicU8::new(0);

impl<const MIMALLOC: bool> Allocator<MIMALLOC> {
    fn system() -> bool {
        match CHOSEN.load(Ordering::Relaxed) {
            0 => {
                // SAFETY: getenv with a NUL-terminated name; nothing here allocates.
                let value = unsafe { libc::getenv(c"ALLOCATOR".as_ptr()) };
                // SAFETY: getenv returned NULL or a NUL-terminated string.
                let value = (!value.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(value) }.to_bytes());
                let system = match value {
                    Some(b"system") => true,
                    Some(b"mimalloc") => false,
                    _ => !MIMALLOC,
                };
                CHOSEN.store(if system { 2 } else { 1 }, Ordering::Relaxed);
                system
            }
            chosen => chosen == 2,
        }
    }

    /// The allocator every call goes to.
    fn chosen() -> &'static dyn GlobalAlloc {
        if Self::system() { &System } else { &mimalloc::MiMalloc }
    }

    /// The allocator in use, for the report.
    pub fn name(&self) -> &'static str {
        if Self::system() { "the system's malloc" } else { "mimalloc" }
    }
}

// SAFETY: every call goes to the one allocator chosen at the first allocation, so a block
// is always freed or resized by the allocator that made it.
unsafe impl<const MIMALLOC: bool> GlobalAlloc for Allocator<MIMALLOC> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        unsafe { Self::chosen().alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { Self::chosen().dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        unsafe { Self::chosen().alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        unsafe { Self::chosen().realloc(ptr, layout, new_size) }
    }
}

/// Whether this is a full run: `cargo bench` passes `--bench`; `cargo test --all-targets`
/// does not, and the benchmarks then run once on small data, as a smoke test.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// A `usize` from the environment, or `default`.
pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The example shop map with `WAYPOINTS` waypoints (20 by default): its own five, topped up
/// with generated deadline waypoints (an SMS when a touchpoint is not followed by another
/// within 5, 6, 7... minutes, once a day), or cut to the first ones (`WAYPOINTS=0`: none).
/// The Node and Python benchmarks build the same map from the same variable.
pub fn shop_with_waypoints() -> MapDocument {
    let mut doc = MapDocument::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/maps/shop.json")).unwrap();
    let map = &mut doc.maps[0];
    let count = env("WAYPOINTS", 20);
    map.waypoints.truncate(count);
    let touchpoints: Vec<String> = map.touchpoints.iter().map(|t| t.id.clone()).collect();
    let mut i = 0;
    while map.waypoints.len() < count {
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
    doc
}

/// A deterministic log (a linear congruential generator, seed 42) of `events` events over
/// `profiles` session keys, in arrival order, each with the index of its session key.
/// 10% of events also carry an e-mail key shared by two sessions (which merges their
/// profiles; none with `NO_LINKS=1`, the rest of the log unchanged); 25% a numeric `value`.
///
/// `sessions = false` (the uniform stress): every event goes to a random profile, 20 µs
/// apart, so a profile's events are ~30 min apart and most deadlines are missed.
/// `sessions = true`: each profile visits in bursts of 5-15 events 5-60 s apart, sessions
/// spread over the same 5.5 hours, arrival in time order (like real traffic).
pub fn log(doc: &MapDocument, events: usize, profiles: usize, sessions: bool) -> Vec<(Event, usize)> {
    let names: Vec<String> = doc.maps[0].touchpoints.iter().flat_map(|t| t.events.clone()).collect();
    let channels = ["web", "mobile_app", "email", "phone", "chat"];
    let mut seed: u64 = 42;
    let mut next = || {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        seed >> 33
    };
    let keys: Vec<IdentityKey> = (0..profiles).map(|p| IdentityKey::parse(&format!("session:{p:08x}")).unwrap()).collect();
    let t0: i64 = 1_736_121_600_000_000;
    let links = std::env::var_os("NO_LINKS").is_none();
    let mut stamped: Vec<(i64, usize)> = Vec::with_capacity(events);
    if sessions {
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
    stamped
        .into_iter()
        .map(|(ts, p)| {
            let mut e = Event::new(ts, keys[p].clone(), names[next() as usize % names.len()].clone(), channels[next() as usize % 5]);
            if next() % 10 == 0 && links {
                e = e.with_key(IdentityKey::parse(&format!("email:{}@example.com", p % (profiles / 2).max(1))).unwrap());
            }
            if next() % 4 == 0 {
                e = e.with_property("value", (next() % 1000) as i64);
            }
            (e, p)
        })
        .collect()
}
