//! Shared ingest on PostgreSQL: generated events (the `track` benchmark's data: the shop
//! map with 20 waypoints) tracked in batches of 1,000 into a PostgreSQL store by one
//! instance, then by two instances at once (two threads, each with its own
//! `PostgresStore` and connections, taking alternate batches), against a bare batched
//! insert of the same event rows (same table and indexes, same JSON bodies, one
//! multi-row `INSERT ... SELECT unnest(...)` per transaction of 1,000) in the same run.
//! Prints the rates and the ratios.
//!
//! `JOURNEY_CORE_PG_URL=... cargo bench -p journey-core --features postgres --bench postgres`
//! (EVENTS=... PROFILES=... BATCH=... to resize; `scripts/postgres.sh start` prints a URL).
//! Under `cargo test --all-targets --features postgres` it runs once on 10,000 events.
//! Each run works in fresh schemas and drops them.

use std::sync::Arc;
use std::time::Instant;

use common::env;
use journey_core::store::{PostgresOptions, PostgresStore};
use journey_core::{Event, Tracker, TrackerConfig};
use postgres::{Client, NoTls};

mod common;

#[global_allocator]
static ALLOCATOR: common::Allocator<false> = common::Allocator;

fn schema(tag: &str) -> String {
    format!("jc_bench_{tag}_{}", std::process::id())
}

fn drop_schema(url: &str, name: &str) {
    let mut c = Client::connect(url, NoTls).unwrap();
    c.batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE")).unwrap();
}

fn open(url: &str, name: &str) -> Arc<PostgresStore> {
    Arc::new(PostgresStore::open(url, PostgresOptions { schema: name.into(), pool_size: 2, ..Default::default() }).unwrap())
}

/// Tracks `batches` with `instances` trackers at once (instance k takes batches k, k+n, ...);
/// returns events/s over the wall time, and the actions fired.
fn ingest(url: &str, name: &str, doc: &journey_core::MapDocument, batches: &[Vec<Event>], instances: usize) -> (f64, usize) {
    let events: usize = batches.iter().map(Vec::len).sum();
    let trackers: Vec<Tracker> = (0..instances).map(|_| Tracker::with_store(doc, TrackerConfig::default(), open(url, name)).unwrap()).collect();
    let start = Instant::now();
    let fired: usize = std::thread::scope(|s| {
        let handles: Vec<_> = trackers
            .iter()
            .enumerate()
            .map(|(k, t)| {
                s.spawn(move || {
                    let mut fired = 0;
                    for b in batches.iter().skip(k).step_by(instances) {
                        fired += t.track_batch(b.clone()).unwrap().iter().map(|r| r.actions.len()).sum::<usize>();
                    }
                    fired
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let rate = events as f64 / start.elapsed().as_secs_f64();
    assert!(trackers[0].count(&Default::default()).unwrap() > 0);
    (rate, fired)
}

fn main() {
    let Ok(url) = std::env::var("JOURNEY_CORE_PG_URL") else {
        if std::env::var("JOURNEY_CORE_SKIP_POSTGRES").is_ok_and(|v| v == "1") {
            println!("postgres bench skipped: JOURNEY_CORE_SKIP_POSTGRES=1");
            return;
        }
        panic!("JOURNEY_CORE_PG_URL is not set: `scripts/postgres.sh start` prints one (or set JOURNEY_CORE_SKIP_POSTGRES=1)");
    };
    let full = common::full_run();
    let events = env("EVENTS", if full { 200_000 } else { 10_000 });
    let profiles = env("PROFILES", if full { 20_000 } else { 1_000 });
    let batch = env("BATCH", 1_000);
    let doc = common::shop_with_waypoints();
    let (log, owner): (Vec<Event>, Vec<i64>) = common::log(&doc, events, profiles, false).into_iter().map(|(e, p)| (e, p as i64 + 1)).unzip();
    let batches: Vec<Vec<Event>> = log.chunks(batch).map(|c| c.to_vec()).collect();
    let mut c = Client::connect(&url, NoTls).unwrap();
    let version: String = c.query_one("SHOW server_version", &[]).unwrap().get(0);
    println!("postgres: {events} events over {profiles} keys, {} waypoints, batches of {batch}, server {version}, allocator {}", doc.maps[0].waypoints.len(), ALLOCATOR.name());

    let one = schema("one");
    let (single, fired) = ingest(&url, &one, &doc, &batches, 1);
    drop_schema(&url, &one);
    let two = schema("two");
    let (double, fired2) = ingest(&url, &two, &doc, &batches, 2);
    drop_schema(&url, &two);

    // Bare: the same event rows, one multi-row insert per transaction of `batch`.
    let bare_schema = schema("bare");
    c.batch_execute(&format!(
        "CREATE SCHEMA \"{bare_schema}\"; SET search_path TO \"{bare_schema}\";
         CREATE TABLE events (seq BIGINT PRIMARY KEY, profile BIGINT NOT NULL, ts BIGINT NOT NULL, body TEXT NOT NULL);
         CREATE INDEX events_ts ON events (ts, seq);
         CREATE INDEX events_profile ON events (profile, ts, seq);"
    ))
    .unwrap();
    let insert = c.prepare("INSERT INTO events (seq, profile, ts, body) SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[])").unwrap();
    let start = Instant::now();
    for (n, chunk) in log.chunks(batch).enumerate() {
        let seqs: Vec<i64> = (0..chunk.len()).map(|i| (n * batch + i) as i64).collect();
        let profiles: Vec<i64> = seqs.iter().map(|&s| owner[s as usize]).collect();
        let ts: Vec<i64> = chunk.iter().map(|e| e.ts).collect();
        let bodies: Vec<String> = chunk.iter().map(|e| serde_json::to_string(e).unwrap()).collect();
        let mut t = c.transaction().unwrap();
        t.execute(&insert, &[&seqs, &profiles, &ts, &bodies]).unwrap();
        t.commit().unwrap();
    }
    let bare = events as f64 / start.elapsed().as_secs_f64();
    drop_schema(&url, &bare_schema);

    println!("  tracker -> PostgreSQL, 1 instance   {single:.0} events/s, {fired} actions");
    println!("  tracker -> PostgreSQL, 2 instances  {double:.0} events/s together ({:.2}x one instance), {fired2} actions", double / single);
    println!("  bare batched insert, same rows      {bare:.0} events/s");
    println!("  ratio 1 instance/bare               {:.2}", single / bare);
    println!("  ratio 2 instances/bare              {:.2}", double / bare);
}
