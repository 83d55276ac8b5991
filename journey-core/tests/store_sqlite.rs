//! The SQLite store beyond the conformance suite: crash safety under SIGKILL, bad files,
//! read-only files, a full database, a locked database, schema versions, two processes,
//! and keyed hashing of identity values.

mod store_suite;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use journey_core::store::{KeyHasher, SqliteOptions, SqliteStore, Store};
use journey_core::{Error, Event, Tracker, TrackerConfig};
use store_suite::{MIN, T0, ev, key, populate, shop, snapshot};

const BATCH: usize = 50;

fn tracker_on(store: Arc<SqliteStore>) -> Tracker {
    Tracker::with_store(&shop(), TrackerConfig::default(), store).unwrap()
}

/// Batch `n` of the crash test: deterministic, with stitching, deadlines and actions.
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

fn message(e: &Error) -> String {
    e.to_string()
}

fn storage_message(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Err(e @ Error::Storage { .. }) => message(&e),
        other => panic!("expected a storage error, got {other:?}"),
    }
}

/// A store at `path` that may grow to `bytes` at most (a full disk, reproducibly).
fn size_limited(path: &Path, bytes: u64) -> Arc<SqliteStore> {
    Arc::new(SqliteStore::open_with(path, SqliteOptions { max_size: Some(bytes), ..Default::default() }).unwrap())
}

fn events_in(store: &dyn Store) -> u64 {
    let mut n = 0;
    store
        .scan(i64::MIN, i64::MAX, &mut |_| {
            n += 1;
            Ok(true)
        })
        .unwrap();
    n
}

/// The store's own invariants, beyond `check`: summaries count exactly the stored events.
fn summaries_match(store: &dyn Store) -> u64 {
    let mut total = 0;
    store
        .read(&mut |tx| {
            total = 0;
            for id in tx.profile_ids()? {
                total += tx.profile(id)?.unwrap().events;
            }
            Ok(())
        })
        .unwrap();
    total
}

/// The child of the crash test: tracks batches forever, printing `ACK n` after each commit.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var("JC_CRASH_CHILD") else { return };
    let options = SqliteOptions { checkpoint_bytes: 16 << 10, ..Default::default() };
    let store = Arc::new(SqliteStore::open_with(&path, options).unwrap());
    let t = tracker_on(store.clone());
    let mut n = events_in(&*store) as usize / BATCH;
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

fn child(test: &str, env: (&str, &Path)) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(env.0, env.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Ingestion in a child process killed with SIGKILL at random points, many times: every
/// acknowledged batch survives, no part of the batch in flight does, and the file passes
/// `integrity_check` and the store's invariants.
#[test]
fn crash_safety_under_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let started = Instant::now();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut iterations = 0;
    let mut acked_total = None;
    while iterations < 40 && started.elapsed() < Duration::from_secs(20) {
        iterations += 1;
        let c = child("crash_child", ("JC_CRASH_CHILD", &path));
        let last = store_suite::kill_after_first_ack(c, Duration::from_secs(20), Duration::from_millis(random(120)));
        // Reopen and check.
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        let report = store.check().unwrap();
        assert!(report.problems.is_empty(), "iteration {iterations}: {:?}", report.problems);
        let events = events_in(&*store);
        assert_eq!(events % BATCH as u64, 0, "iteration {iterations}: part of a batch survived");
        let batches = events as usize / BATCH;
        assert!(batches == last + 1 || batches == last + 2, "iteration {iterations}: acknowledged up to batch {last}, found {batches} batches");
        assert_eq!(summaries_match(&*store), events, "iteration {iterations}: summaries and events disagree");
        acked_total = Some(batches);
        drop(store);
    }
    assert!(iterations >= 10, "only {iterations} iterations");
    eprintln!("crash test: {iterations} SIGKILLs in {:.1} s, {} batches of {BATCH} survived", started.elapsed().as_secs_f64(), acked_total.unwrap());
    // The survivor resumes exactly: a replay of the same batches in memory gives the same store.
    let batches = acked_total.unwrap();
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let memory = Arc::new(journey_core::MemoryStore::new());
    let t = Tracker::with_store(&shop(), TrackerConfig::default(), memory.clone()).unwrap();
    for n in 0..batches {
        t.track_batch(crash_batch(n)).unwrap();
    }
    // `advance` and `ack` run in their own transactions after a batch, so a kill may fall
    // between; compare what batches alone decide: events, keys, links, conflicts.
    let part = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| ["event", "key", "link", "conflict"].iter().any(|k| l.starts_with(&format!("{{\"type\":\"{k}\""))))
            .map(String::from)
            .collect()
    };
    let (file, replay) = (part(snapshot(&*store)), part(snapshot(&*memory)));
    assert_eq!(file.len(), replay.len(), "the file and a replay of the acknowledged batches differ in size");
    if let Some((a, b)) = file.iter().zip(&replay).find(|(a, b)| a != b) {
        panic!("the file differs from a replay of the acknowledged batches:\n  file:   {a}\n  replay: {b}");
    }
}

#[test]
fn not_a_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let m = storage_message(SqliteStore::open(&path));
    assert!(m.contains("garbage.db") && m.contains("not a SQLite database"), "{m}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "the file was changed");
    // A SQLite database of another program.
    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other).unwrap().execute_batch("CREATE TABLE x (a); INSERT INTO x VALUES (1);").unwrap();
    let before = std::fs::read(&other).unwrap();
    let m = storage_message(SqliteStore::open(&other));
    assert!(m.contains("not a journey-core store"), "{m}");
    assert_eq!(std::fs::read(&other).unwrap(), before);
}

#[test]
fn a_damaged_store_is_reported_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.db");
    {
        let t = tracker_on(Arc::new(SqliteStore::open(&path).unwrap()));
        for n in 0..20 {
            t.track_batch(crash_batch(n)).unwrap();
        }
    }
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 40_000);
    for (i, b) in bytes[12_288..36_864].iter_mut().enumerate() {
        *b = (i * 7 % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();
    match SqliteStore::open(&path) {
        Err(e) => assert!(matches!(e, Error::Storage { .. }), "{e}"),
        Ok(store) => {
            let report = store.check();
            assert!(report.is_err() || !report.unwrap().problems.is_empty(), "damage went unnoticed");
        }
    }
}

#[test]
fn a_newer_schema_is_refused_untouched_and_an_older_one_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("versions.db");
    // Laid out by an older version (schema 1): upgraded on open, then used.
    SqliteStore::create_at_version(&path, 1).unwrap();
    let version = |p: &Path| rusqlite::Connection::open(p).unwrap().query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(version(&path), 1);
    {
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        populate(&tracker_on(store.clone()));
        assert_eq!(tracker_on(store.clone()).journey(&key("session:s1")).unwrap().len(), 5);
        assert!(store.check().unwrap().problems.is_empty());
    }
    assert_eq!(version(&path), journey_core::store::sqlite::SCHEMA_VERSION);
    let views: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("SELECT count(*) FROM sqlite_master WHERE type = 'view'", [], |r| r.get(0)).unwrap();
    assert_eq!(views, 3);
    // Written by a newer version: refused, untouched.
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let before = std::fs::read(&path).unwrap();
    let m = storage_message(SqliteStore::open(&path));
    assert!(m.contains("schema version 99") && m.contains("newer") && m.contains("untouched"), "{m}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// A file written by journey-core at schema 2 (merges rewrote each moved event), with its
/// export from that version: the upgraded store exports the same text, and merges made
/// after the upgrade (kept in `merges`) read back the same after a reopen.
#[test]
fn a_file_written_at_schema_2_is_upgraded_with_its_journeys_intact() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sqlite-v2");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    std::fs::copy(fixture.join("store.db"), &path).unwrap();
    let exported = std::fs::read_to_string(fixture.join("export.jsonl")).unwrap();
    let after = {
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        assert_eq!(snapshot(&*store), exported);
        let t = tracker_on(store.clone());
        // A merge of two profiles that each hold events, and one of the merged profile
        // into a third: the chain is followed.
        t.track(ev(T0 + 10 * MIN, &["session:z1"], "product_view", "web")).unwrap();
        t.track(ev(T0 + 11 * MIN, &["session:z1", "session:b"], "add_to_cart", "web")).unwrap();
        t.track(ev(T0 + 12 * MIN, &["session:b", "email:a@x.com"], "checkout_start", "web")).unwrap();
        assert_eq!(t.journey(&key("session:z1")).unwrap().len(), 10);
        assert!(store.check().unwrap().problems.is_empty());
        snapshot(&*store)
    };
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(snapshot(&*store), after);
    assert!(store.check().unwrap().problems.is_empty());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let merges: i64 = conn.query_row("SELECT count(*) FROM merges", [], |r| r.get(0)).unwrap();
    assert_eq!(merges, 2);
    // The view gives every event its profile now: one profile holds the 10 events.
    let profiles: i64 = conn.query_row("SELECT count(DISTINCT profile) FROM journey_events WHERE seq IN (0, 1, 2, 3, 6, 7, 8, 9, 10, 11)", [], |r| r.get(0)).unwrap();
    assert_eq!(profiles, 1);
    // Forgetting the profile removes its events wherever they are stored, and its merges.
    tracker_on(store.clone()).forget(&key("session:z1")).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!((count("SELECT count(*) FROM merges"), count("SELECT count(*) FROM events")), (0, 2));
    assert!(store.check().unwrap().problems.is_empty());
}

#[test]
fn a_read_only_file_gives_a_clear_error_and_stays_readable() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    let text = {
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        populate(&tracker_on(store.clone()));
        snapshot(&*store)
    };
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms.clone()).unwrap();
    let os_refuses = std::fs::OpenOptions::new().write(true).open(&path).is_err();
    if os_refuses {
        // Not root: the operating system refuses to write.
        let m = storage_message(SqliteStore::open(&path));
        assert!(m.contains("read-only"), "{m}");
    }
    // Opened read-only (as root, the only way to be refused): reads work, writes fail clearly.
    let store = Arc::new(SqliteStore::open_with(&path, SqliteOptions { read_only: true, ..Default::default() }).unwrap());
    assert_eq!(snapshot(&*store), text);
    let t = tracker_on(store.clone());
    let m = storage_message(t.track(ev(T0, &["session:new"], "product_view", "web")));
    assert!(m.contains("ro.db") && m.contains("read-only"), "{m}");
    assert_eq!(snapshot(&*store), text);
    drop((t, store));
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(snapshot(&*store), text, "nothing was damaged");
}

#[test]
fn a_full_database_fails_the_batch_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.db");
    let limit = 256 * 1024;
    let mut acked = 0;
    let m = {
        let store = size_limited(&path, limit);
        let t = tracker_on(store.clone());
        let err = loop {
            match t.track_batch(crash_batch(acked)) {
                Ok(_) => acked += 1,
                Err(e) => break e,
            }
            assert!(acked < 10_000, "the limit was never reached");
        };
        // The failed batch left nothing; the store still reads.
        assert_eq!(events_in(&*store), (acked * BATCH) as u64);
        assert!(store.check().unwrap().problems.is_empty());
        assert!(t.context(&key("session:c1")).unwrap().is_some());
        message(&err)
    };
    assert!(m.contains("full.db") && m.contains("size limit of 262144 bytes"), "{m}");
    assert!(acked > 0);
    // Reopened without the limit: every acknowledged batch, and ingestion goes on.
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(events_in(&*store), (acked * BATCH) as u64);
    assert_eq!(summaries_match(&*store), (acked * BATCH) as u64);
    tracker_on(store.clone()).track_batch(crash_batch(acked)).unwrap();
    assert!(store.check().unwrap().problems.is_empty());
}

#[test]
fn a_locked_database_gives_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let options = SqliteOptions { busy_timeout: Duration::from_millis(200), ..Default::default() };
    let store = Arc::new(SqliteStore::open_with(&path, options).unwrap());
    let t = tracker_on(store.clone());
    t.track_batch(crash_batch(0)).unwrap();
    let before = snapshot(&*store);
    // Another connection (a backup tool, a careless script) holds the write lock.
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = Instant::now();
    let m = storage_message(t.track_batch(crash_batch(1)));
    assert!(m.contains("locked.db") && m.contains("locked") && m.contains("200 ms"), "{m}");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(snapshot(&*store), before, "reads still work and nothing changed");
    other.execute_batch("COMMIT").unwrap();
    t.track_batch(crash_batch(1)).unwrap();
    assert_eq!(events_in(&*store), 2 * BATCH as u64);
    assert!(store.check().unwrap().problems.is_empty());
}

/// The child of the two-process test: holds the store open and writes when told (a line
/// on its standard input).
#[test]
fn holder_child() {
    let Ok(path) = std::env::var("JC_HOLD_CHILD") else { return };
    let t = tracker_on(Arc::new(SqliteStore::open(&path).unwrap()));
    t.track_batch(crash_batch(0)).unwrap();
    println!("OPEN");
    std::io::stdin().read_line(&mut String::new()).unwrap();
    t.track_batch(crash_batch(1)).unwrap();
    println!("WROTE");
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_second_writer_is_refused_and_a_reader_follows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    // In the same process.
    {
        let _first = SqliteStore::open(&path).unwrap();
        let m = storage_message(SqliteStore::open(&path));
        assert!(m.contains("shared.db") && m.contains("already open for writing"), "{m}");
    }
    // In another process.
    let mut c = child("holder_child", ("JC_HOLD_CHILD", &path));
    let mut lines = BufReader::new(c.stdout.take().unwrap()).lines().map_while(Result::ok);
    assert!(lines.by_ref().any(|l| l.ends_with("OPEN")));
    let m = storage_message(SqliteStore::open(&path));
    assert!(m.contains("already open for writing"), "{m}");
    let reader = Arc::new(SqliteStore::open_with(&path, SqliteOptions { read_only: true, ..Default::default() }).unwrap());
    assert_eq!(events_in(&*reader), BATCH as u64);
    writeln!(c.stdin.as_mut().unwrap(), "write").unwrap();
    assert!(lines.any(|l| l.ends_with("WROTE")));
    let t = tracker_on(reader.clone());
    assert_eq!(t.journey(&key("session:c60")).unwrap().len(), 1, "the reader follows the writer's commits");
    assert_eq!(summaries_match(&*reader), 2 * BATCH as u64);
    c.kill().unwrap();
    c.wait().unwrap();
    drop((t, reader));
    // The writer died: the file opens for writing again, whole.
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(events_in(&*store), 2 * BATCH as u64);
    assert!(store.check().unwrap().problems.is_empty());
}

fn file_contains(path: &Path, needle: &str) -> bool {
    ["", "-wal"].iter().any(|ext| {
        let p = PathBuf::from(format!("{}{ext}", path.display()));
        std::fs::read(&p).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
    })
}

#[test]
fn hashed_keys_never_reach_the_file_and_lookups_work() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hashed.db");
    let options =
        || SqliteOptions { key_hasher: Some(KeyHasher::new(b"a secret the host keeps").only(["email", "phone", "customer"])), ..Default::default() };
    {
        let store = Arc::new(SqliteStore::open_with(&path, options()).unwrap());
        let t = tracker_on(store.clone());
        populate(&t);
        let ctx = t.context(&key("email:a@x.com")).unwrap().unwrap();
        assert!(ctx.keys.iter().any(|k| k.as_str().starts_with("email:hmac:")), "{:?}", ctx.keys);
        assert!(ctx.keys.contains(&key("session:s1")), "kinds not listed stay readable");
        assert_eq!(t.context(&key("phone:+34600000001")).unwrap().unwrap().profile, ctx.profile, "lookups by raw key");
        assert_eq!(t.conflicts().unwrap().len(), 1);
        assert!(!t.conflicts().unwrap()[0].message.contains("customer:0000002"));
        // Keys read back can be passed in again.
        let hashed = ctx.keys.iter().find(|k| k.kind() == "email").unwrap().clone();
        assert_eq!(t.context(&hashed).unwrap().unwrap().profile, ctx.profile);
        store.checkpoint().unwrap();
        for raw in ["a@x.com", "+34600000001", "0000001", "0000002"] {
            assert!(!file_contains(&path, raw), "{raw} reached the file");
        }
    }
    // Reopened with the same secret: found by raw key; forgotten by raw key.
    {
        let t = tracker_on(Arc::new(SqliteStore::open_with(&path, options()).unwrap()));
        assert!(t.context(&key("email:a@x.com")).unwrap().is_some());
        assert!(t.forget(&key("email:a@x.com")).unwrap().is_some());
        assert!(t.context(&key("session:s1")).unwrap().is_none());
    }
    // With another secret nothing is found by raw key.
    let other = SqliteOptions { key_hasher: Some(KeyHasher::new(b"another secret!!").only(["email", "phone", "customer"])), ..Default::default() };
    let t = tracker_on(Arc::new(SqliteStore::open_with(&path, other).unwrap()));
    assert!(t.context(&key("customer:0000002")).unwrap().is_none());
}

#[test]
fn export_import_moves_a_store_between_backends() {
    let dir = tempfile::tempdir().unwrap();
    let memory = Arc::new(journey_core::MemoryStore::new());
    populate(&Tracker::with_store(&shop(), TrackerConfig::default(), memory.clone()).unwrap());
    let text = snapshot(&*memory);
    let file = Arc::new(SqliteStore::open(dir.path().join("moved.db")).unwrap());
    journey_core::store::import_jsonl(&*file, &mut text.as_bytes()).unwrap();
    assert_eq!(snapshot(&*file), text);
    drop(file);
    let file = Arc::new(SqliteStore::open(dir.path().join("moved.db")).unwrap());
    assert_eq!(snapshot(&*file), text, "and it is durable");
    let back = Arc::new(journey_core::MemoryStore::new());
    journey_core::store::import_jsonl(&*back, &mut snapshot(&*file).as_bytes()).unwrap();
    assert_eq!(snapshot(&*back), text);
}

#[test]
fn durability_checkpoints_and_the_state_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("os.db");
    let options = SqliteOptions { durability: journey_core::store::Durability::Os, checkpoint_bytes: 1 << 10, ..Default::default() };
    let text = {
        let store = Arc::new(SqliteStore::open_with(&path, options.clone()).unwrap());
        let t = tracker_on(store.clone());
        populate(&t);
        for n in 0..5 {
            t.track_batch(crash_batch(n)).unwrap();
        }
        store.checkpoint().unwrap();
        // After a checkpoint the tables hold the state, for other tools.
        let conn = rusqlite::Connection::open(&path).unwrap();
        let journal: i64 = conn.query_row("SELECT count(*) FROM journal", [], |r| r.get(0)).unwrap();
        assert_eq!(journal, 0);
        let (profiles, keys): (i64, i64) =
            conn.query_row("SELECT (SELECT count(*) FROM profiles), (SELECT count(*) FROM keys)", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        let mut ids = 0;
        store
            .read(&mut |tx| {
                ids = tx.profile_ids()?.len();
                Ok(())
            })
            .unwrap();
        assert_eq!(profiles as usize, ids);
        assert!(keys as usize >= ids);
        let armed: i64 = conn.query_row("SELECT count(*) FROM armed_deadlines", [], |r| r.get(0)).unwrap();
        assert!(armed > 0);
        assert!(store.check().unwrap().problems.is_empty());
        snapshot(&*store)
    };
    let store = Arc::new(SqliteStore::open_with(&path, options).unwrap());
    assert_eq!(snapshot(&*store), text);
    // A read-only store does not upgrade an older file.
    let old = dir.path().join("old.db");
    SqliteStore::create_at_version(&old, 1).unwrap();
    let m = storage_message(SqliteStore::open_with(&old, SqliteOptions { read_only: true, ..Default::default() }));
    assert!(m.contains("cannot upgrade"), "{m}");
    // A missing folder.
    let m = storage_message(SqliteStore::open(dir.path().join("no/such/folder/x.db")));
    assert!(m.contains("cannot be opened"), "{m}");
}

/// The copier thread copies the WAL into the file every 64 commits, beside the writer
/// (the writer itself copies every 256): the file grows before the 256th commit.
#[test]
fn the_wal_is_copied_into_the_file_beside_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copied.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let t = tracker_on(store.clone());
    t.track_batch(crash_batch(0)).unwrap();
    let before = std::fs::metadata(&path).unwrap().len();
    for n in 1..70 {
        t.track_batch(crash_batch(n)).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::metadata(&path).unwrap().len() <= before {
        assert!(Instant::now() < deadline, "nothing was copied from the WAL into {} after 70 commits", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(store.check().unwrap().problems.is_empty());
    assert_eq!(events_in(&*store), 70 * BATCH as u64);
}

#[test]
fn changes_by_another_connection_are_picked_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("external.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let t = tracker_on(store.clone());
    t.track_batch(crash_batch(0)).unwrap();
    t.track_batch(crash_batch(1)).unwrap();
    // A script deletes the first batch's outbox rows behind the store's back.
    let other = rusqlite::Connection::open(&path).unwrap();
    let deleted = other.execute("DELETE FROM outbox", []).unwrap();
    drop(other);
    // The next write starts from what the file holds.
    t.track_batch(crash_batch(2)).unwrap();
    assert!(store.check().unwrap().problems.is_empty());
    assert!(deleted > 0);
    let pending = t.pending_actions(10_000).unwrap();
    let in_file: i64 = rusqlite::Connection::open(&path).unwrap().query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)).unwrap();
    assert_eq!(pending.len() as i64, in_file, "the store's outbox index follows the file");
    assert_eq!(events_in(&*store), 3 * BATCH as u64);
}

/// Batch `n` of writer `w` in the tests with several writers: `crash_batch`'s events on
/// keys of that writer's own.
fn writer_batch(w: usize, n: usize) -> Vec<Event> {
    crash_batch(n)
        .into_iter()
        .map(|mut e| {
            e.keys = e.keys.iter().map(|k| key(&k.as_str().replacen(':', &format!(":w{w}-"), 1))).collect();
            e
        })
        .collect()
}

/// Several threads write at once (each transaction's work in memory overlapping the
/// previous one's commit) while another reads: nothing is lost, a reader never sees an
/// event the file does not hold yet, and the file matches the state in memory.
#[test]
fn concurrent_writers_lose_nothing_and_readers_see_only_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("writers.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let t = Arc::new(tracker_on(store.clone()));
    let (writers, batches) = (4, 25);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (t, done) = (t.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) || reads == 0 {
                for w in 0..writers {
                    let k = key(&format!("session:w{w}-c{}", reads % 97));
                    // Every event the state in memory lists is read from the file (a
                    // missing one is an error).
                    let journey = t.journey(&k).unwrap();
                    assert!(journey.windows(2).all(|p| (p[0].event.ts, p[0].seq) < (p[1].event.ts, p[1].seq)), "{k}");
                    t.context(&k).unwrap();
                }
                reads += 1;
            }
            reads
        })
    };
    std::thread::scope(|s| {
        for w in 0..writers {
            let t = &t;
            s.spawn(move || {
                for n in 0..batches {
                    t.track_batch(writer_batch(w, n)).unwrap();
                }
            });
        }
    });
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.join().unwrap() > 0);
    let total = (writers * batches * BATCH) as u64;
    assert_eq!(events_in(&*store), total);
    assert_eq!(summaries_match(&*store), total);
    assert!(store.check().unwrap().problems.is_empty());
    // Each writer's journeys are exactly what it tracked, as if alone.
    let memory = Tracker::with_store(&shop(), TrackerConfig::default(), Arc::new(journey_core::MemoryStore::new())).unwrap();
    for n in 0..batches {
        memory.track_batch(writer_batch(1, n)).unwrap();
    }
    for c in 0..97 {
        let k = key(&format!("session:w1-c{c}"));
        let names = |t: &Tracker| t.journey(&k).unwrap().iter().map(|e| (e.event.ts, e.event.name.clone())).collect::<Vec<_>>();
        assert_eq!(names(&t), names(&memory), "journey of {k}");
    }
    drop(t);
    drop(store);
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(events_in(&*store), total);
    assert!(store.check().unwrap().problems.is_empty());
}

/// A database that fills up while several threads write: the transaction that hits the
/// limit fails, and so do the ones queued behind its commit (they were built on it); every
/// acknowledged batch is stored, nothing of a failed one, and the store goes on reading.
#[test]
fn a_full_database_with_writers_queued_fails_them_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full-writers.db");
    let store = size_limited(&path, 256 * 1024);
    let t = tracker_on(store.clone());
    let writers = 3;
    let results: Vec<(usize, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..writers)
            .map(|w| {
                let t = &t;
                s.spawn(move || {
                    let mut acked = 0;
                    loop {
                        match t.track_batch(writer_batch(w, acked)) {
                            Ok(_) => acked += 1,
                            Err(e) => return (acked, storage_message(Err::<(), _>(e))),
                        }
                        assert!(acked < 10_000, "the limit was never reached");
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (_, m) in &results {
        assert!(m.contains("full-writers.db") && (m.contains("size limit of 262144 bytes") || m.contains("earlier write transaction failed")), "{m}");
    }
    let acked: usize = results.iter().map(|(n, _)| n).sum();
    assert!(acked > 0);
    assert_eq!(events_in(&*store), (acked * BATCH) as u64);
    assert_eq!(summaries_match(&*store), (acked * BATCH) as u64);
    assert!(store.check().unwrap().problems.is_empty());
    assert!(t.context(&key("session:w0-c1")).unwrap().is_some());
    drop(t);
    drop(store);
    // Reopened without the limit: exactly the acknowledged batches, and ingestion goes on.
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(events_in(&*store), (acked * BATCH) as u64);
    let t = tracker_on(store.clone());
    for (w, (n, _)) in results.iter().enumerate() {
        // Writers share no key, so their events are apart (a profile's journey holds the
        // events of all its keys: count each event once).
        let stored: std::collections::HashSet<u64> =
            (0..97).flat_map(|c| t.journey(&key(&format!("session:w{w}-c{c}"))).unwrap()).map(|e| e.seq).collect();
        assert_eq!(stored.len(), n * BATCH, "writer {w} acknowledged {n} batches");
    }
    t.track_batch(writer_batch(0, results[0].0)).unwrap();
    assert!(store.check().unwrap().problems.is_empty());
}

/// Waits until `holds` (at most 20 s).
fn wait_until(what: &str, holds: impl Fn() -> bool) {
    let start = Instant::now();
    while !holds() {
        assert!(start.elapsed() < Duration::from_secs(20), "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// A transaction's work in memory overlaps the commit before it; when that commit fails,
/// the transaction queued behind it (built on its changes) fails too: neither is stored,
/// the state in memory is rebuilt from the file, and writing goes on.
#[test]
fn a_failed_commit_fails_the_transaction_queued_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queued.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let t = tracker_on(store.clone());
    t.track_batch(writer_batch(0, 0)).unwrap();
    let stored = |w: usize| t.context(&key(&format!("session:w{w}-c1"))).unwrap().is_some();
    for (round, fail) in [(1, false), (2, true)] {
        let before = events_in(&*store);
        let release = store.hold_next_commit_for_testing().unwrap();
        let (first, second) = std::thread::scope(|s| {
            let first = s.spawn(|| t.track_batch(writer_batch(2 * round, 0)));
            wait_until("the first commit is held", || store.commits_in_flight_for_testing() == 1);
            let second = s.spawn(|| t.track_batch(writer_batch(2 * round + 1, 0)));
            // The second batch was tracked in memory while the first one's commit was held.
            wait_until("the second commit is queued", || store.commits_in_flight_for_testing() == 2);
            release.send(fail).unwrap();
            (first.join().unwrap(), second.join().unwrap())
        });
        if fail {
            let (first, second) = (storage_message(first), storage_message(second));
            assert!(first.contains("queued.db") && first.contains("failed on purpose"), "{first}");
            assert!(second.contains("queued.db") && second.contains("an earlier write transaction failed to commit"), "{second}");
            assert_eq!(events_in(&*store), before);
            assert!(!stored(2 * round) && !stored(2 * round + 1));
        } else {
            assert!(first.is_ok() && second.is_ok());
            assert_eq!(events_in(&*store), before + 2 * BATCH as u64);
            assert!(stored(2 * round) && stored(2 * round + 1));
        }
        assert_eq!(store.commits_in_flight_for_testing(), 0);
        assert!(store.check().unwrap().problems.is_empty(), "round {round}");
    }
    t.track_batch(writer_batch(9, 0)).unwrap();
    assert!(store.check().unwrap().problems.is_empty());
    drop(t);
    drop(store);
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(events_in(&*store), 4 * BATCH as u64);
    assert!(store.check().unwrap().problems.is_empty());
}

/// `track_batch_placed` lets the caller go on as soon as the batch's place is fixed, while
/// it is still being committed; and calls back exactly once, also for a refused batch.
#[test]
fn a_batch_is_placed_before_its_commit_and_placed_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("placed.db")).unwrap());
    let t = tracker_on(store.clone());
    let release = store.hold_next_commit_for_testing().unwrap();
    let (placed, placed_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        let tracking = s.spawn(|| t.track_batch_placed(writer_batch(0, 0), move || placed.send(()).unwrap()));
        placed_rx.recv_timeout(Duration::from_secs(20)).expect("placed");
        wait_until("the commit is held", || store.commits_in_flight_for_testing() == 1);
        assert!(!tracking.is_finished(), "returned before its commit");
        release.send(false).unwrap();
        assert_eq!(tracking.join().unwrap().unwrap().len(), BATCH);
    });
    assert!(placed_rx.try_recv().is_err(), "placed twice");
    let calls = std::cell::Cell::new(0);
    let mut bad = writer_batch(0, 1);
    bad[3].name.clear();
    assert!(t.track_batch_placed(bad, || calls.set(calls.get() + 1)).is_err());
    assert_eq!(calls.get(), 1);
    assert_eq!(events_in(&*store), BATCH as u64);
}

/// Single events (small transactions, committed on the calling thread when the writer
/// thread has nothing queued) into a database that fills up: the event that hits the limit
/// leaves nothing, and everything acknowledged before it is stored.
#[test]
fn a_full_database_fails_a_single_event_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full-single.db");
    let store = size_limited(&path, 128 * 1024);
    let t = tracker_on(store.clone());
    let events: Vec<Event> = (0..).flat_map(crash_batch).take(100_000).collect();
    let mut acked = 0;
    let err = loop {
        match t.track(events[acked].clone()) {
            Ok(_) => acked += 1,
            Err(e) => break e,
        }
        assert!(acked < events.len(), "the limit was never reached");
    };
    let m = message(&err);
    assert!(m.contains("full-single.db") && m.contains("size limit of 131072 bytes"), "{m}");
    assert_eq!(events_in(&*store), acked as u64);
    assert_eq!(summaries_match(&*store), acked as u64);
    assert!(store.check().unwrap().problems.is_empty());
    drop(t);
    drop(store);
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    assert_eq!(events_in(&*store), acked as u64);
    let t = tracker_on(store.clone());
    t.track(events[acked].clone()).unwrap();
    assert!(store.check().unwrap().problems.is_empty());
}

/// The WAL copier is background work: its thread runs 10 nice steps below the thread
/// that opened the store (at most 19). Linux only (elsewhere a priority is per process).
#[cfg(target_os = "linux")]
#[test]
fn the_wal_copier_thread_yields_to_the_writers() {
    /// A thread's name and nice value, from its stat(5) file.
    fn name_and_nice(stat: &std::path::Path) -> Option<(String, i64)> {
        let stat = std::fs::read_to_string(stat).ok()?;
        let (name, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        // After the name: state is field 3, nice field 19.
        Some((name.to_string(), rest.split(' ').nth(16)?.parse().ok()?))
    }
    /// The nice value of each thread of this process named `journey-walcopy`.
    fn copier_nices() -> Vec<i64> {
        let tasks = std::fs::read_dir("/proc/self/task").unwrap().flatten();
        tasks.filter_map(|t| name_and_nice(&t.path().join("stat"))).filter(|(name, _)| name == "journey-walcopy").map(|(_, n)| n).collect()
    }
    let (_, own) = name_and_nice(std::path::Path::new("/proc/thread-self/stat")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let _store = SqliteStore::open(dir.path().join("nice.db")).unwrap();
    // The thread lowers its own priority as it starts; other tests' copiers count too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let nices = copier_nices();
        if !nices.is_empty() && nices.iter().all(|&n| n == (own + 10).min(19)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "copier threads' nice values: {nices:?}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// What a binding holds, `OpenStore`: `checkpoint` makes the state tables current for
/// another reader of the file, and `check` reports on the file.
#[test]
fn an_open_store_checkpoints_and_checks_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("held.db");
    let options = journey_core::store::StoreOptions { path: Some(path.clone()), checkpoint_bytes: Some(1 << 30), ..Default::default() };
    let held = options.choose(&|n| n.to_string()).unwrap().open().unwrap().expect("a SQLite store");
    let t = Tracker::with_store(&shop(), TrackerConfig::default(), held.store()).unwrap();
    t.track(ev(T0, &["session:held", "email:held@x.com"], "product_view", "web")).unwrap();
    let keys_on_file = || -> i64 {
        let reader = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        reader.query_row("SELECT count(*) FROM keys", [], |r| r.get(0)).unwrap()
    };
    assert_eq!(keys_on_file(), 0, "the keys are in the journal until a checkpoint");
    held.checkpoint().unwrap();
    assert_eq!(keys_on_file(), 2);
    let report = held.check().unwrap().expect("SQLite has a check");
    assert_eq!((report.profiles, report.events, report.keys), (1, 1, 2));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
