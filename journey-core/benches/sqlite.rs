//! Durable ingest: 1M generated events over 100k profiles (the `track` benchmark's data:
//! the shop map with 20 waypoints), tracked in batches of 1,000 into a SQLite file, against
//! a bare rusqlite insert of the same event rows (same table, same index, same JSON
//! bodies, same transactions of 1,000) measured in the same run. Prints both rates and
//! their ratio, the reopen time, and the file size per event; also the in-memory tracker
//! on the same batches, for reference.
//!
//! `cargo bench -p journey-core --bench sqlite` (EVENTS=... PROFILES=... BATCH=... to
//! resize, DIR=... for the folder of the files, DURABILITY=os for synchronous=FULL,
//! NO_LINKS=1 for a log without shared e-mail keys (no merges), WAYPOINTS=n (see `track`),
//! WRITERS=2 for two threads tracking the batches in turn, overlapping one batch's commit
//! with the next one's work in memory, ONLY_MEMORY=1 for the in-memory figure alone,
//! ALLOCATOR=system for glibc's malloc instead of mimalloc).
//! Under `cargo test --all-targets` it runs once on 20,000 events, as a smoke test.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use journey_core::store::{Durability, SqliteOptions, SqliteStore};
use common::env;
use journey_core::{Event, IdentityKey, Tracker, TrackerConfig};
use rusqlite::{Connection, params};

mod common;

// mimalloc by default: rows cross threads (built by the tracking thread, serialised by
// the writer thread), where glibc's malloc costs ~10% of the rate (`ALLOCATOR=system`).
#[global_allocator]
static ALLOCATOR: common::Allocator<true> = common::Allocator;

fn file_bytes(path: &Path) -> u64 {
    ["", "-wal"].iter().filter_map(|ext| std::fs::metadata(format!("{}{ext}", path.display())).ok()).map(|m| m.len()).sum()
}

fn remove(path: &Path) {
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{ext}", path.display()));
    }
}

/// The CPU seconds in a `/proc/.../stat` text: utime and stime, fields 14 and 15 of
/// stat(5), in clock ticks (100 a second here), after the `(name)`.
fn stat_cpu(stat: &str) -> f64 {
    let Some(close) = stat.rfind(')') else { return 0.0 };
    let fields: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    fields.get(11..13).map_or(0.0, |f| f.iter().filter_map(|x| x.parse::<f64>().ok()).sum::<f64>() / 100.0)
}

/// CPU seconds used so far by this process's threads, by thread name; the main thread is
/// named `main` (Linux; empty elsewhere).
fn thread_cpu() -> Vec<(String, f64)> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return vec![] };
    let pid = std::process::id().to_string();
    let mut out = vec![];
    for task in tasks.flatten() {
        let main = task.file_name().to_str() == Some(pid.as_str());
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        out.push((if main { "main".to_string() } else { stat[open + 1..close].to_string() }, stat_cpu(&stat)));
    }
    out
}

/// CPU seconds used so far by the calling thread (Linux; 0 elsewhere).
fn own_cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/stat").map_or(0.0, |stat| stat_cpu(&stat))
}

/// CPU seconds a thread named `name` used between two [`thread_cpu`] readings.
fn cpu_between(before: &[(String, f64)], after: &[(String, f64)], name: &str) -> f64 {
    let sum = |v: &[(String, f64)]| v.iter().filter(|(n, _)| n.starts_with(name)).map(|(_, s)| s).sum::<f64>();
    sum(after) - sum(before)
}

fn main() {
    let full = common::full_run();
    let events = env("EVENTS", if full { 1_000_000 } else { 20_000 });
    let profiles = env("PROFILES", if full { 100_000 } else { 2_000 });
    let batch = env("BATCH", 1_000);
    let writers = env("WRITERS", 1).max(1);
    let durability = if std::env::var("DURABILITY").is_ok_and(|d| d == "os") { Durability::Os } else { Durability::Process };
    let tmp = tempfile::tempdir().unwrap();
    let dir = std::env::var("DIR").map(PathBuf::from).unwrap_or_else(|_| tmp.path().to_path_buf());

    let doc = common::shop_with_waypoints();
    let (log, owner): (Vec<Event>, Vec<i64>) = common::log(&doc, events, profiles, false).into_iter().map(|(e, p)| (e, p as i64 + 1)).unzip();
    let batches: Vec<Vec<Event>> = log.chunks(batch).map(|c| c.to_vec()).collect();
    println!(
        "sqlite: {events} events over {profiles} keys, {} waypoints, batches of {batch} from {writers} thread(s), {durability:?} durability, files in {}, allocator {}",
        doc.maps[0].waypoints.len(),
        dir.display(),
        ALLOCATOR.name()
    );

    // The in-memory tracker on the same batches, for reference.
    let memory = if std::env::var("ONLY_TRACKER").is_ok() {
        0.0
    } else {
        let tracker = Tracker::new(&doc, TrackerConfig::default()).unwrap();
        let copy = batches.clone();
        let start = Instant::now();
        for b in copy {
            tracker.track_batch(b).unwrap();
        }
        events as f64 / start.elapsed().as_secs_f64()
    };
    if std::env::var("ONLY_MEMORY").is_ok() {
        println!("  in-memory tracker {memory:.0} events/s");
        return;
    }

    // Tracker -> SQLite.
    let path = dir.join("bench-tracker.db");
    remove(&path);
    let options = SqliteOptions { durability, ..Default::default() };
    let store = Arc::new(SqliteStore::open_with(&path, options.clone()).unwrap());
    let tracker = Tracker::with_store(&doc, TrackerConfig::default(), store.clone()).unwrap();
    let mut fired = 0;
    let mut slowest = 0f64;
    let count = batches.len();
    let mut actions: Vec<Vec<journey_core::ActionRecord>> = vec![Vec::new(); count];
    // WRITERS threads take the batches in turn, applied in order: each batch's work in
    // memory overlaps the commit of the one before (one thread cannot overlap its own).
    let queue = std::sync::Mutex::new(batches.into_iter().enumerate());
    let cpu_before = thread_cpu();
    let start = Instant::now();
    // Per thread: (batch index, its actions, seconds it took) for each batch, and CPU seconds.
    type Done = (Vec<(usize, Vec<journey_core::ActionRecord>, f64)>, f64);
    let done: Vec<Done> = std::thread::scope(|s| {
        let work = || {
            let mut out = Vec::new();
            let cpu = own_cpu();
            loop {
                let mut next = queue.lock().unwrap();
                let Some((i, b)) = next.next() else { return (out, own_cpu() - cpu) };
                let t = Instant::now();
                // The next batch is taken once this one's place is fixed: in order.
                let tracked = tracker.track_batch_placed(b, move || drop(next)).unwrap();
                out.push((i, tracked.into_iter().flat_map(|t| t.actions).collect(), t.elapsed().as_secs_f64()));
            }
        };
        if writers == 1 {
            return vec![work()];
        }
        let handles: Vec<_> = (0..writers).map(|_| s.spawn(work)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let secs = start.elapsed().as_secs_f64();
    let cpu_after = thread_cpu();
    let calling_cpu: f64 = done.iter().map(|(_, cpu)| cpu).sum();
    for (i, batch_actions, took) in done.into_iter().flat_map(|(d, _)| d) {
        slowest = slowest.max(took);
        fired += batch_actions.len();
        actions[i] = batch_actions;
    }
    let durable = events as f64 / secs;
    // Which side bounds the rate: the caller's thread (tracking, the hot state) or the
    // writer thread (SQLite), busy for how much of the wall time; and the WAL copier's
    // share. (Linux keeps 15 bytes of a thread's name: `journey-sqlite-` is the writer.)
    let busy = format!(
        "calling thread(s) busy {:.2} s, writer thread {:.2} s, WAL copier {:.2} s, of {secs:.2} s",
        calling_cpu,
        cpu_between(&cpu_before, &cpu_after, "journey-sqlite"),
        cpu_between(&cpu_before, &cpu_after, "journey-walcopy")
    );
    let stored = tracker.count(&Default::default()).unwrap();
    if std::env::var("ONLY_TRACKER").is_ok() {
        println!("  tracker -> SQLite {durable:.0} events/s; {busy}");
        // Without closing the store (its checkpoint takes a while): the files go now, the
        // open descriptors with the process.
        remove(&path);
        drop(tmp);
        std::process::exit(0);
    }
    let before_close = file_bytes(&path);
    let t = Instant::now();
    drop(tracker);
    drop(store);
    let close = t.elapsed().as_secs_f64();
    let size = file_bytes(&path);
    let t = Instant::now();
    let store = Arc::new(SqliteStore::open_with(&path, options).unwrap());
    let reopen = t.elapsed().as_secs_f64();
    let tracker = Tracker::with_store(&doc, TrackerConfig::default(), store.clone()).unwrap();
    assert_eq!(tracker.count(&Default::default()).unwrap(), stored);
    let mut ctx = Vec::new();
    for n in 0..10_000 {
        let k = IdentityKey::parse(&format!("session:{:08x}", (n * 7919) % profiles)).unwrap();
        let t = Instant::now();
        std::hint::black_box(tracker.context(&k).unwrap());
        ctx.push(t.elapsed().as_nanos() as u64);
    }
    ctx.sort_unstable();
    let t = Instant::now();
    let mut scanned = 0u64;
    journey_core::Store::scan(&*store, i64::MIN, i64::MAX, &mut |_| {
        scanned += 1;
        Ok(true)
    })
    .unwrap();
    let scan = t.elapsed().as_secs_f64();
    drop(tracker);
    drop(store);

    // Bare rusqlite: the same event rows, same table and index, same transactions.
    let bare_path = dir.join("bench-bare.db");
    remove(&bare_path);
    let conn = Connection::open(&bare_path).unwrap();
    let sync = if durability == Durability::Os { "FULL" } else { "NORMAL" };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA cache_size = -65536;
         CREATE TABLE events (seq INTEGER PRIMARY KEY, profile INTEGER NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);
         CREATE INDEX events_ts ON events (ts);"
    ))
    .unwrap();
    let start = Instant::now();
    let mut body = Vec::with_capacity(512);
    for (c, chunk) in log.chunks(batch).enumerate() {
        let tx = conn.unchecked_transaction().unwrap();
        {
            let mut stmt = tx.prepare_cached("INSERT INTO events (seq, profile, ts, body) VALUES (?1, ?2, ?3, ?4)").unwrap();
            for (i, e) in chunk.iter().enumerate() {
                let seq = c * batch + i;
                body.clear();
                serde_json::to_writer(&mut body, e).unwrap();
                stmt.execute(params![seq as i64, owner[seq], e.ts, std::str::from_utf8(&body).unwrap()]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let bare = events as f64 / start.elapsed().as_secs_f64();
    drop(conn);
    let bare_size = file_bytes(&bare_path);
    remove(&bare_path);

    // Bare rusqlite again, with the outbox rows too: the events and actions the store keeps.
    let conn = Connection::open(&bare_path).unwrap();
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA cache_size = -65536;
         CREATE TABLE events (seq INTEGER PRIMARY KEY, profile INTEGER NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);
         CREATE INDEX events_ts ON events (ts);
         CREATE TABLE outbox (n INTEGER PRIMARY KEY, id TEXT NOT NULL, profile INTEGER NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);"
    ))
    .unwrap();
    let start = Instant::now();
    for (c, chunk) in log.chunks(batch).enumerate() {
        let tx = conn.unchecked_transaction().unwrap();
        {
            let mut stmt = tx.prepare_cached("INSERT INTO events (seq, profile, ts, body) VALUES (?1, ?2, ?3, ?4)").unwrap();
            for (i, e) in chunk.iter().enumerate() {
                let seq = c * batch + i;
                body.clear();
                serde_json::to_writer(&mut body, e).unwrap();
                stmt.execute(params![seq as i64, owner[seq], e.ts, std::str::from_utf8(&body).unwrap()]).unwrap();
            }
            let mut stmt = tx.prepare_cached("INSERT INTO outbox (id, profile, ts, body) VALUES (?1, ?2, ?3, ?4)").unwrap();
            for a in &actions[c] {
                body.clear();
                serde_json::to_writer(&mut body, a).unwrap();
                stmt.execute(params![a.id, a.profile.0 as i64, a.ts, std::str::from_utf8(&body).unwrap()]).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    let bare_outbox = events as f64 / start.elapsed().as_secs_f64();
    drop(conn);
    remove(&bare_path);
    remove(&path);

    println!("  in-memory tracker, same batches   {memory:.0} events/s (reference)");
    println!(
        "  tracker -> SQLite                 {durable:.0} events/s ({secs:.2} s), {fired} actions, {stored} profiles, slowest batch {:.1} ms\n    {busy}",
        slowest * 1e3
    );
    println!("  bare rusqlite insert, same rows   {bare:.0} events/s");
    println!("  ratio tracker/bare                {:.2}", durable / bare);
    println!("  bare insert, events + outbox rows {bare_outbox:.0} events/s; ratio tracker/that {:.2}", durable / bare_outbox);
    println!("  close (state checkpoint)          {close:.2} s; reopen (load hot state) {reopen:.2} s");
    println!(
        "  file size                         {:.0} bytes/event ({} MiB; {} MiB before close); bare {:.0} bytes/event",
        size as f64 / events as f64,
        size >> 20,
        before_close >> 20,
        bare_size as f64 / events as f64
    );
    println!("  context after reopen              p50 {} ns, p99 {} ns", ctx[ctx.len() / 2], ctx[ctx.len() * 99 / 100]);
    println!("  full scan in (ts, seq) order      {scanned} events in {scan:.2} s ({:.0} events/s)", scanned as f64 / scan);
}
