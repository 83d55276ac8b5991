//! The PostgreSQL store against a real server (`--features postgres`): the conformance
//! suite, two tracker processes on one schema against one tracker fed the same events in
//! arrival order, concurrent `advance`, SIGKILL mid-batch, schema versions, bad URLs, a
//! stopped server, dropped connections, keyed hashing, and analytics streamed from it.
//!
//! The server is `JOURNEY_CORE_PG_URL` (`scripts/postgres.sh start` prints one; `tests/run`
//! starts it). Without it every test here fails, unless `JOURNEY_CORE_SKIP_POSTGRES=1`.
//! Each test works in its own fresh schema and drops it at the end.
#![cfg(feature = "postgres")]

mod store_suite;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use journey_core::analytics::{Analysis, AnalysisOptions, FunnelOptions};
use journey_core::profile::{EventRef, LinkEntry};
use journey_core::store::{KeyHasher, MemoryStore, PostgresOptions, PostgresStore, Store, Tx};
use journey_core::{Error, Event, LinkOutcome, Tracker, TrackerConfig};
use serde_json::json;
use store_suite::{Backend, MIN, T0, ev, key, populate, shop, snapshot};

// ---------------------------------------------------------------------------------------
// The server and one schema per test.

/// The server's URL; `None` only when the tests are skipped on purpose.
fn url() -> Option<String> {
    match std::env::var("JOURNEY_CORE_PG_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ if std::env::var("JOURNEY_CORE_SKIP_POSTGRES").is_ok_and(|v| v == "1") => {
            eprintln!("PostgreSQL tests skipped: JOURNEY_CORE_SKIP_POSTGRES=1");
            None
        }
        _ => panic!(
            "JOURNEY_CORE_PG_URL is not set: start a throw-away server with `scripts/postgres.sh start` and export the URL it prints \
             (or point it at an existing server), or set JOURNEY_CORE_SKIP_POSTGRES=1 to skip the PostgreSQL tests"
        ),
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A fresh schema name, dropped with every table in it when the guard goes.
struct Schema {
    url: String,
    name: String,
}

impl Schema {
    fn new(url: &str, tag: &str) -> Self {
        let name = format!("jc_{tag}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        Schema { url: url.to_string(), name }
    }

    fn options(&self) -> PostgresOptions {
        PostgresOptions { schema: self.name.clone(), pool_size: 4, ..Default::default() }
    }

    fn open(&self) -> PostgresStore {
        PostgresStore::open(&self.url, self.options()).unwrap()
    }

    /// A plain connection with the schema on its search path, for checks in SQL.
    fn sql(&self) -> ::postgres::Client {
        let mut c = ::postgres::Client::connect(&self.url, ::postgres::NoTls).unwrap();
        c.batch_execute(&format!("SET search_path TO \"{}\"", self.name)).unwrap();
        c
    }

    fn count(&self, sql: &str) -> i64 {
        self.sql().query_one(sql, &[]).unwrap().get(0)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = ::postgres::Client::connect(&self.url, ::postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{}\" CASCADE", self.name));
        }
    }
}

/// A store that drops its schema when dropped (the conformance suite's fresh stores).
struct Fresh {
    store: PostgresStore,
    _schema: Schema,
}

impl Store for Fresh {
    fn write(&self, f: &mut dyn FnMut(&mut dyn Tx) -> journey_core::Result<()>) -> journey_core::Result<()> {
        self.store.write(f)
    }
    fn read(&self, f: &mut dyn FnMut(&dyn Tx) -> journey_core::Result<()>) -> journey_core::Result<()> {
        self.store.read(f)
    }
    fn scan(&self, from: i64, to: i64, f: &mut dyn FnMut(EventRef) -> journey_core::Result<bool>) -> journey_core::Result<()> {
        self.store.scan(from, to, f)
    }
}

fn postgres_backend() -> Backend {
    let Some(url) = url() else {
        return Backend { name: "memory (postgres skipped)", durable: false, open: Box::new(|| Arc::new(MemoryStore::new())) };
    };
    let schema = Arc::new(Schema::new(&url, "conf"));
    Backend { name: "postgres", durable: true, open: Box::new(move || Arc::new(schema.open()) as Arc<dyn Store>) }
}

fn fresh_postgres() -> Arc<dyn Store> {
    match url() {
        Some(url) => {
            let schema = Schema::new(&url, "fresh");
            Arc::new(Fresh { store: schema.open(), _schema: schema })
        }
        None => Arc::new(MemoryStore::new()),
    }
}

conformance!(postgres, super::postgres_backend(), super::fresh_postgres);

fn tracker_on(store: Arc<dyn Store>) -> Tracker {
    Tracker::with_store(&shop(), TrackerConfig::default(), store).unwrap()
}

fn storage_message<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(e @ Error::Storage { .. }) => e.to_string(),
        other => panic!("expected a storage error, got {other:?}"),
    }
}

fn parse_message<T: std::fmt::Debug>(r: Result<T, Error>, field: &str) -> String {
    match r {
        Err(e @ Error::Parse { .. }) => {
            let Error::Parse { path, .. } = &e else { unreachable!() };
            assert_eq!(path, field, "{e}");
            e.to_string()
        }
        other => panic!("expected a parse error naming {field}, got {other:?}"),
    }
}

fn all_events(store: &dyn Store) -> Vec<EventRef> {
    let mut out = Vec::new();
    store
        .scan(i64::MIN, i64::MAX, &mut |e| {
            out.push(e);
            Ok(true)
        })
        .unwrap();
    out
}

/// Everything identity and the outbox decided: each profile as its set of keys with its
/// event count, the link log, the conflicts, the pending actions.
#[derive(Debug, PartialEq)]
struct Outcome {
    profiles: BTreeSet<(Vec<String>, u64)>,
    links: Vec<LinkEntry>,
    conflicts: Vec<journey_core::profile::Conflict>,
    actions: Vec<journey_core::outbox::ActionRecord>,
}

fn outcome(store: &dyn Store) -> Outcome {
    let mut o = Outcome { profiles: BTreeSet::new(), links: vec![], conflicts: vec![], actions: vec![] };
    store
        .read(&mut |tx| {
            for id in tx.profile_ids()? {
                let mut keys: Vec<String> = tx.keys_of(id)?.iter().map(|k| k.to_string()).collect();
                keys.sort();
                o.profiles.insert((keys, tx.profile(id)?.unwrap().events));
            }
            tx.links(&mut |l| {
                o.links.push(l);
                Ok(())
            })?;
            o.conflicts = tx.conflicts()?;
            o.actions = tx.pending_actions(usize::MAX)?;
            Ok(())
        })
        .unwrap();
    o
}

fn child(test: &str, env: &[(&str, &str)]) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([test, "--exact", "--nocapture", "--test-threads=1"]).stdout(Stdio::piped()).stderr(Stdio::inherit());
    for (k, v) in env {
        c.env(k, v);
    }
    c.spawn().unwrap()
}

// ---------------------------------------------------------------------------------------
// Two processes, one schema.

const MIXED_BATCHES: usize = 30;
const MIXED: usize = 8;

/// Batch `n` of instance `role`: the same twelve customers from both instances, with
/// sessions that get identified (merges), shared devices with two customer ids (conflicts)
/// and carts that arm deadlines fired by the other instance's later events.
fn mixed_batch(role: usize, n: usize) -> Vec<Event> {
    (0..MIXED)
        .map(|i| {
            let x = n * MIXED + i;
            let c = (x * 7 + role * 3) % 12;
            let name = ["product_view", "add_to_cart", "remove_from_cart", "checkout_start", "account_login", "email_open"][x % 6];
            let mut e = ev(T0 + x as i64 * MIN / 2 + role as i64 * 7_000_000, &[&format!("session:r{role}c{c}s{}", x / 20)], name, "web");
            if x % 3 == 0 {
                e = e.with_key(key(&format!("email:c{c}@x.com")));
            }
            if x % 5 == 0 {
                e = e.with_key(key(&format!("device:shared{}", c % 4))).with_key(key(&format!("customer:{c:07}")));
            }
            e.properties.insert("instance".into(), json!(role));
            e
        })
        .collect()
}

/// The child of the two-process test: waits for the go file, then tracks its batches.
#[test]
fn ingest_child() {
    let Ok(role) = std::env::var("JC_PG_ROLE") else { return };
    let role: usize = role.parse().unwrap();
    let (url, schema, go) = (std::env::var("JC_PG_URL").unwrap(), std::env::var("JC_PG_SCHEMA").unwrap(), std::env::var("JC_PG_GO").unwrap());
    let store = Arc::new(PostgresStore::open(&url, PostgresOptions { schema, pool_size: 2, ..Default::default() }).unwrap());
    let t = tracker_on(store);
    println!("READY");
    while !Path::new(&go).exists() {
        std::thread::sleep(Duration::from_millis(2));
    }
    for n in 0..MIXED_BATCHES {
        t.track_batch(mixed_batch(role, n)).unwrap();
    }
    println!("DONE");
}

#[test]
fn two_processes_end_as_one_tracker_fed_the_arrival_order() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "two");
    drop(schema.open()); // create the tables before the race
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let go_text = go.display().to_string();
    let mut children: Vec<Child> = (0..2)
        .map(|role| {
            let role = role.to_string();
            child("ingest_child", &[("JC_PG_ROLE", &role), ("JC_PG_URL", &url), ("JC_PG_SCHEMA", &schema.name), ("JC_PG_GO", &go_text)])
        })
        .collect();
    let mut outputs: Vec<_> = children.iter_mut().map(|c| BufReader::new(c.stdout.take().unwrap()).lines().map_while(Result::ok)).collect();
    for out in &mut outputs {
        assert!(out.any(|l| l.ends_with("READY")), "a child did not start");
    }
    std::fs::write(&go, b"go").unwrap();
    for out in &mut outputs {
        assert!(out.any(|l| l.ends_with("DONE")), "a child failed (see its output above)");
    }
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let store = Arc::new(schema.open());
    let mut events = all_events(&*store);
    events.sort_by_key(|e| e.seq);
    assert_eq!(events.len(), 2 * MIXED_BATCHES * MIXED);
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), (0..events.len() as u64).collect::<Vec<_>>(), "arrival numbers without gaps");
    // The lock granted the instances in turns: their batches interleave.
    let instance = |e: &EventRef| e.event.properties["instance"].as_u64().unwrap();
    let switches = events.windows(2).filter(|w| instance(&w[0]) != instance(&w[1])).count();
    assert!(switches >= 3, "the two instances did not interleave ({switches} switches)");
    // One tracker fed the same events in arrival order (the order of `seq`).
    let memory = Arc::new(MemoryStore::new());
    let one = tracker_on(memory.clone());
    for e in &events {
        let tracked = one.track(e.event.clone()).unwrap();
        assert_eq!(tracked.seq, e.seq);
    }
    let (shared, alone) = (outcome(&*store), outcome(&*memory));
    assert!(shared.links.iter().any(|l| l.outcome == LinkOutcome::Merged), "the test merges profiles");
    assert!(!shared.conflicts.is_empty(), "the test makes conflicts");
    assert!(!shared.actions.is_empty(), "the test fires waypoints");
    assert_eq!(shared.profiles, alone.profiles, "profiles differ");
    assert_eq!(shared.links, alone.links, "link logs differ");
    assert_eq!(shared.conflicts, alone.conflicts, "conflicts differ");
    assert_eq!(shared.actions, alone.actions, "outboxes differ");
    assert_eq!(snapshot(&*store), snapshot(&*memory), "the whole stores differ");
    eprintln!("two processes: {} events, {switches} switches between instances, {} actions", events.len(), shared.actions.len());
}

// ---------------------------------------------------------------------------------------
// What a write reads ahead and keeps (a batch's keys in one query, keys, links, personas
// and attributes cached across writes, buffered moves, deletions and links).

/// Batch `n`: few customers, so merges chain inside one batch (a profile absorbed, then
/// its survivor absorbed in turn), with shared devices (conflicts) and carts (deadlines).
fn chained_batch(n: usize) -> Vec<Event> {
    (0..24)
        .map(|i| {
            let x = n * 24 + i;
            let name = ["product_view", "add_to_cart", "checkout_start", "account_login", "email_open", "remove_from_cart"][x % 6];
            let mut e = ev(T0 + x as i64 * MIN / 3, &[&format!("session:s{}", (x * 5) % 17)], name, "web");
            if x % 3 == 0 {
                e = e.with_key(key(&format!("email:e{}@x.com", x % 5)));
            }
            if x % 4 == 0 {
                e = e.with_key(key(&format!("session:s{}", (x * 7 + 3) % 17)));
            }
            if x % 7 == 0 {
                e = e.with_key(key(&format!("device:d{}", x % 3))).with_key(key(&format!("customer:{:07}", x % 4)));
            }
            e
        })
        .collect()
}

/// Both trackers do the same; their answers must agree.
fn both<T: std::fmt::Debug>(pg: &Tracker, memory: &Tracker, f: impl Fn(&Tracker) -> journey_core::Result<T>) {
    let (a, b) = (format!("{:?}", f(pg)), format!("{:?}", f(memory)));
    assert_eq!(a, b, "PostgreSQL and memory disagree");
}

#[test]
fn cached_writes_of_two_instances_match_one_memory_tracker() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "cache");
    let stores = [Arc::new(schema.open()), Arc::new(schema.open())];
    let pg = [tracker_on(stores[0].clone()), tracker_on(stores[1].clone())];
    let memory_store = Arc::new(MemoryStore::new());
    let memory = tracker_on(memory_store.clone());
    // Runs of one instance (its caches carried from write to write) and switches (caches
    // dropped because the other one wrote).
    let turns = [0, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1];
    let mut merged = 0;
    for (n, &who) in turns.iter().enumerate() {
        let t = &pg[who];
        let (a, b) = (t.track_batch(chained_batch(n)).unwrap(), memory.track_batch(chained_batch(n)).unwrap());
        assert_eq!(a, b, "batch {n} (instance {who}) tracked differently");
        merged += a.len();
        let k = key(&format!("session:s{}", n % 17));
        match n % 4 {
            0 => {
                both(t, &memory, |t| t.assign_persona(&k, Some(&format!("p{n}"))));
                both(t, &memory, |t| t.set_attributes(&k, json!({ "tier": n }).as_object().unwrap().clone()));
            }
            1 => {
                // Unlink the first link still in effect of a key, as the memory tracker sees it.
                let log = memory.link_log(&k).unwrap();
                if let Some(l) = log.iter().rev().find(|l| matches!(l.outcome, LinkOutcome::Joined | LinkOutcome::Merged) && l.a != l.b) {
                    both(t, &memory, |t| t.unlink(&l.a, &l.b, T0 + (n as i64 + 1) * 8 * MIN));
                }
            }
            2 => both(t, &memory, |t| t.forget(&key(&format!("email:e{}@x.com", n % 5)))),
            _ => both(t, &memory, |t| t.advance(T0 + (n as i64 + 1) * 8 * MIN + 3 * 3_600_000_000)),
        }
        // The other instance reads the same.
        both(&pg[1 - who], &memory, |t| t.context(&k));
        both(&pg[1 - who], &memory, |t| t.link_log(&k));
    }
    assert_eq!(merged, turns.len() * 24);
    let shared = outcome(&*stores[0]);
    assert!(shared.links.iter().filter(|l| l.outcome == LinkOutcome::Merged).count() >= 5, "the test chains merges");
    assert!(shared.links.iter().any(|l| l.outcome == LinkOutcome::Removed), "the test unlinks");
    assert!(!shared.conflicts.is_empty(), "the test makes conflicts");
    assert_eq!(shared, outcome(&*memory_store));
    assert_eq!(snapshot(&*stores[1]), snapshot(&*memory_store), "the whole stores differ");
}

// ---------------------------------------------------------------------------------------
// Deadlines claimed once.

#[test]
fn two_instances_advancing_at_once_fire_each_deadline_once() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "adv");
    let t = tracker_on(Arc::new(schema.open()));
    const N: usize = 200;
    // All within the first 20 s: none is due before the last is tracked.
    let batch: Vec<Event> = (0..N).map(|i| ev(T0 + i as i64 * 100_000, &[&format!("session:a{i}")], "product_view", "web")).collect();
    t.track_batch(batch).unwrap();
    drop(t);
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let (barrier, schema_name, url) = (barrier.clone(), schema.name.clone(), url.clone());
            std::thread::spawn(move || {
                let store = PostgresStore::open(&url, PostgresOptions { schema: schema_name, pool_size: 1, ..Default::default() }).unwrap();
                let t = tracker_on(Arc::new(store));
                barrier.wait();
                let mut fired = Vec::new();
                // Small steps: each call fires about one deadline, so the two race for them.
                for k in 1..=220 {
                    fired.extend(t.advance(T0 + 2 * MIN + k * 100_000).unwrap());
                }
                fired
            })
        })
        .collect();
    let fired: Vec<Vec<_>> = threads.into_iter().map(|h| h.join().unwrap()).collect();
    let all: Vec<_> = fired.iter().flatten().collect();
    let ids: BTreeSet<&str> = all.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(all.len(), N, "each deadline fires exactly once across both instances");
    assert_eq!(ids.len(), N, "no action twice");
    let per_profile: BTreeSet<_> = all.iter().map(|a| (a.profile, a.waypoint.clone())).collect();
    assert_eq!(per_profile.len(), N);
    let t = tracker_on(Arc::new(schema.open()));
    let pending = t.pending_actions(10_000).unwrap();
    assert_eq!(pending.len(), N, "each action reaches the outbox once");
    assert_eq!(pending.iter().map(|a| a.id.as_str()).collect::<BTreeSet<_>>(), ids);
    assert_eq!(schema.count("SELECT count(*) FROM deadlines"), 0);
    eprintln!("advance: instance 0 fired {}, instance 1 fired {}", fired[0].len(), fired[1].len());
    // Which instance claims which deadline depends on who gets the lock first (one may even
    // run ahead and claim them all); exactly once is what must hold.
}

// ---------------------------------------------------------------------------------------
// SIGKILL mid-batch.

const BATCH: usize = 50;

fn crash_batch(n: usize) -> Vec<Event> {
    (0..BATCH)
        .map(|i| {
            let x = n * BATCH + i;
            let who = format!("session:c{}", x % 97);
            let name = ["product_view", "add_to_cart", "remove_from_cart", "checkout_start", "review_read"][x % 5];
            let mut e = ev(T0 + x as i64 * 20 * MIN / 7, &[&who], name, "web");
            if x % 11 == 0 {
                e = e.with_key(key(&format!("email:u{}@x.com", x % 97 % 31)));
            }
            e
        })
        .collect()
}

/// The child of the crash test: tracks batches forever, printing `ACK n` after each commit.
#[test]
fn crash_child() {
    let Ok(schema) = std::env::var("JC_PG_CRASH") else { return };
    let url = std::env::var("JC_PG_URL").unwrap();
    let store = Arc::new(PostgresStore::open(&url, PostgresOptions { schema, pool_size: 1, ..Default::default() }).unwrap());
    let t = tracker_on(store.clone());
    let mut n = all_events(&*store).len() / BATCH;
    loop {
        t.track_batch(crash_batch(n)).unwrap();
        if n % 7 == 3 {
            t.advance(T0 + (n * BATCH) as i64 * 20 * MIN / 7).unwrap();
        }
        if n % 13 == 5
            && let Some(a) = t.pending_actions(1).unwrap().first()
        {
            t.ack(&a.id).unwrap();
        }
        println!("ACK {n}");
        n += 1;
    }
}

/// The store's invariants, checked in SQL: every event and key on an existing profile,
/// every summary counting exactly its events, the counters past every stored number.
fn invariants(schema: &Schema) -> Vec<String> {
    let checks = [
        ("events on a missing profile", "SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = e.profile)"),
        ("keys on a missing profile", "SELECT count(*) FROM keys k WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = k.profile)"),
        ("summaries that miscount", "SELECT count(*) FROM profiles p WHERE p.events <> (SELECT count(*) FROM events e WHERE e.profile = p.id)"),
        ("events past the counter", "SELECT count(*) FROM events, counters WHERE events.seq >= counters.seq"),
        ("profiles past the counter", "SELECT count(*) FROM profiles, counters WHERE profiles.id > counters.next_profile"),
        ("deadlines on a missing profile", "SELECT count(*) FROM deadlines d WHERE NOT EXISTS (SELECT 1 FROM profiles p WHERE p.id = d.profile)"),
    ];
    checks.iter().filter(|(_, sql)| schema.count(sql) != 0).map(|(what, _)| what.to_string()).collect()
}

#[test]
fn sigkill_mid_batch_loses_nothing_acknowledged_and_leaves_nothing_half_written() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "crash");
    drop(schema.open());
    let started = Instant::now();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut iterations = 0;
    let mut batches = 0;
    while iterations < 12 && started.elapsed() < Duration::from_secs(30) {
        iterations += 1;
        let c = child("crash_child", &[("JC_PG_CRASH", &schema.name), ("JC_PG_URL", &url)]);
        let last = store_suite::kill_after_first_ack(c, Duration::from_secs(30), Duration::from_millis(random(300)));
        // The server rolls the killed transaction back once it sees the connection gone.
        let store = schema.open();
        let events = all_events(&store).len();
        assert_eq!(events % BATCH, 0, "iteration {iterations}: part of a batch survived");
        batches = events / BATCH;
        assert!(batches == last + 1 || batches == last + 2, "iteration {iterations}: acknowledged up to batch {last}, found {batches} batches");
        let broken = invariants(&schema);
        assert!(broken.is_empty(), "iteration {iterations}: {broken:?}");
    }
    assert!(iterations >= 5, "only {iterations} iterations");
    eprintln!("crash test: {iterations} SIGKILLs in {:.1} s, {batches} batches of {BATCH} survived", started.elapsed().as_secs_f64());
    // The survivor is exactly a replay of the acknowledged batches.
    let store = schema.open();
    let memory = Arc::new(MemoryStore::new());
    let t = tracker_on(memory.clone());
    for n in 0..batches {
        t.track_batch(crash_batch(n)).unwrap();
    }
    let part = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| ["event", "key", "link", "conflict"].iter().any(|k| l.starts_with(&format!("{{\"type\":\"{k}\""))))
            .map(String::from)
            .collect()
    };
    let (db, replay) = (part(snapshot(&store)), part(snapshot(&*memory)));
    assert_eq!(db.len(), replay.len(), "the database and a replay of the acknowledged batches differ in size");
    if let Some((a, b)) = db.iter().zip(&replay).find(|(a, b)| a != b) {
        panic!("the database differs from a replay of the acknowledged batches:\n  db:     {a}\n  replay: {b}");
    }
}

// ---------------------------------------------------------------------------------------
// Schema versions, bad URLs, a stopped server, dropped connections.

#[test]
fn a_newer_schema_is_refused_untouched_and_an_older_one_upgraded() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "ver");
    // An empty store at version 0 (the version table only) is upgraded on open.
    drop(PostgresStore::open_at_version(&url, schema.options(), 0).unwrap());
    assert_eq!(schema.count("SELECT version FROM schema_version"), 0);
    assert_eq!(schema.count("SELECT count(*) FROM information_schema.tables WHERE table_name = 'events' AND table_schema = current_schema()"), 0);
    let store = Arc::new(schema.open());
    populate(&tracker_on(store.clone()));
    drop(store);
    assert_eq!(schema.count("SELECT version FROM schema_version"), journey_core::store::postgres::SCHEMA_VERSION);
    // Written by a newer version: refused, untouched.
    schema.sql().batch_execute("UPDATE schema_version SET version = 99").unwrap();
    let events = schema.count("SELECT count(*) FROM events");
    let m = storage_message(PostgresStore::open(&url, schema.options()));
    assert!(m.contains("schema version 99") && m.contains("newer") && m.contains("untouched") && m.contains(&schema.name), "{m}");
    assert_eq!(schema.count("SELECT version FROM schema_version"), 99);
    assert_eq!(schema.count("SELECT count(*) FROM events"), events);
    // A schema holding another program's tables.
    let other = Schema::new(&url, "other");
    let mut c = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE SCHEMA {0}; CREATE TABLE {0}.invoices (n int)", other.name)).unwrap();
    let m = storage_message(PostgresStore::open(&url, other.options()));
    assert!(m.contains("not a journey-core store"), "{m}");
    assert_eq!(other.count("SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()"), 1);
}

#[test]
fn bad_urls_options_and_a_stopped_server_give_clear_errors() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "bad");
    // Bad options are bad input (a parse error naming the option), found before connecting.
    let m = parse_message(PostgresStore::open("postgres://user@host:notaport/db", schema.options()), "url");
    assert!(m.contains("url: not a PostgreSQL connection URL"), "{m}");
    for bad in ["Journeys", "1st", "", "pg_catalog", "a-b", "x\"; DROP TABLE y; --"] {
        let m = parse_message(PostgresStore::open(&url, PostgresOptions { schema: bad.into(), ..Default::default() }), "schema");
        assert!(m.contains("not a valid schema name"), "{bad}: {m}");
    }
    parse_message(PostgresStore::open(&url, PostgresOptions { pool_size: 0, ..schema.options() }), "pool_size");
    parse_message(PostgresStore::open(&url, PostgresOptions { attempts: 0, ..schema.options() }), "attempts");
    parse_message(PostgresStore::open(&url, PostgresOptions { fetch_size: 0, ..schema.options() }), "fetch_size");
    // Nothing listens there: a stopped server. Retried, then reported, quickly.
    let started = Instant::now();
    let options = PostgresOptions { attempts: 2, connect_timeout: Duration::from_secs(2), ..schema.options() };
    let m = storage_message(PostgresStore::open("postgres://postgres@127.0.0.1:1/postgres", options));
    assert!(m.contains("127.0.0.1:1/postgres") && m.contains("connecting to the server") && m.contains("gave up after 2 attempts"), "{m}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Terminates the server connections of an application name.
fn terminate(url: &str, app: &str) -> i64 {
    let mut c = ::postgres::Client::connect(url, ::postgres::NoTls).unwrap();
    let rows = c.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", &[&app]).unwrap();
    rows.len() as i64
}

fn with_app(url: &str, app: &str) -> String {
    format!("{url}{}application_name={app}", if url.contains('?') { '&' } else { '?' })
}

#[test]
fn dropped_connections_are_retried_or_reported() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "drop");
    let app = format!("jc_drop_{}", std::process::id());
    let app_url = with_app(&url, &app);
    let store = Arc::new(PostgresStore::open(&app_url, schema.options()).unwrap());
    let t = tracker_on(store.clone());
    t.track_batch(crash_batch(0)).unwrap();
    assert!(terminate(&url, &app) >= 1);
    // The pooled connection is dead: the batch is retried on a new one, once.
    t.track_batch(crash_batch(1)).unwrap();
    assert_eq!(all_events(&*store).len(), 2 * BATCH);
    assert!(terminate(&url, &app) >= 1);
    assert_eq!(t.journey(&key("session:c1")).unwrap().len(), 2, "reads reconnect too");
    assert!(invariants(&schema).is_empty());
    // With one attempt only, the same fault is reported, clearly, and nothing is written.
    let once = Arc::new(PostgresStore::open(&app_url, PostgresOptions { attempts: 1, ..schema.options() }).unwrap());
    let t1 = tracker_on(once.clone());
    t1.track(ev(T0, &["session:warm"], "product_view", "web")).unwrap();
    terminate(&url, &app);
    let m = storage_message(t1.track_batch(crash_batch(2)));
    assert!(m.contains("gave up after 1 attempts") && m.contains(&schema.name), "{m}");
    assert_eq!(all_events(&*store).len(), 2 * BATCH + 1);
    // A write closure that fails is not retried: its error comes back as it is.
    let mut runs = 0;
    let err = store
        .write(&mut |_| {
            runs += 1;
            Err(Error::Conflict { message: "no".into() })
        })
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }) && runs == 1);
}

// ---------------------------------------------------------------------------------------
// Privacy, analytics, scans.

#[test]
fn hashed_keys_never_reach_the_database_and_lookups_work() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "hash");
    let options = || PostgresOptions { key_hasher: Some(KeyHasher::new(b"a secret the host keeps").only(["email", "phone", "customer"])), ..schema.options() };
    let t = tracker_on(Arc::new(PostgresStore::open(&url, options()).unwrap()));
    populate(&t);
    let ctx = t.context(&key("email:a@x.com")).unwrap().unwrap();
    assert!(ctx.keys.iter().any(|k| k.as_str().starts_with("email:hmac:")), "{:?}", ctx.keys);
    assert_eq!(t.context(&key("phone:+34600000001")).unwrap().unwrap().profile, ctx.profile, "lookups by raw key");
    assert!(!t.conflicts().unwrap()[0].message.contains("customer:0000002"));
    let dump: String = {
        let mut c = schema.sql();
        let mut text = String::new();
        for table in ["events", "keys", "edges", "links", "conflicts", "outbox"] {
            for r in c.query(&format!("SELECT t::text FROM {table} t"), &[]).unwrap() {
                text.push_str(r.get::<_, &str>(0));
            }
        }
        text
    };
    assert!(dump.contains("hmac:"));
    for raw in ["a@x.com", "+34600000001", "0000001", "0000002"] {
        assert!(!dump.contains(raw), "{raw} reached the database");
    }
    assert!(t.forget(&key("email:a@x.com")).unwrap().is_some());
    assert!(t.context(&key("session:s1")).unwrap().is_none());
}

#[test]
fn analytics_stream_from_postgres_exactly_as_from_memory() {
    let Some(url) = url() else { return };
    let schema = Schema::new(&url, "ana");
    // Fetch 7 rows at a time: the scan crosses many portal fetches.
    let pg: Arc<dyn Store> = Arc::new(PostgresStore::open(&url, PostgresOptions { fetch_size: 7, ..schema.options() }).unwrap());
    let memory: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let config = TrackerConfig::default();
    let doc = shop();
    let mut results = Vec::new();
    for store in [memory, pg] {
        let t = Tracker::with_store(&doc, config.clone(), store.clone()).unwrap();
        for n in 0..6 {
            t.track_batch(crash_batch(n)).unwrap();
            t.track_batch(mixed_batch(n % 2, n)).unwrap();
        }
        t.link(&key("email:u1@x.com"), &key("phone:+3460000"), T0 + 3 * MIN).unwrap();
        let analysis = Analysis::from_store(&doc, &*store, AnalysisOptions::like_tracker(&config)).unwrap();
        let funnel = FunnelOptions::events(&["product_view", "add_to_cart", "checkout_start"]);
        results.push(json!({
            "events": analysis.len(),
            "stitch": serde_json::to_value(analysis.stitch_summary()).unwrap(),
            "reach": serde_json::to_value(analysis.reach()).unwrap(),
            "funnel": serde_json::to_value(analysis.funnel(&funnel).unwrap()).unwrap(),
            "conformance": serde_json::to_value(analysis.conformance()).unwrap(),
        }));
        // A scan that stops early reads no further.
        let mut seen = 0;
        store
            .scan(i64::MIN, i64::MAX, &mut |_| {
                seen += 1;
                Ok(seen < 10)
            })
            .unwrap();
        assert_eq!(seen, 10);
    }
    assert!(results[0]["events"].as_u64().unwrap() > 100, "{}", results[0]["events"]);
    assert_eq!(results[0], results[1], "the analysis differs between memory and PostgreSQL");
}
