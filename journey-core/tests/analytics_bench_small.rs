//! The nine measures on the benchmark kit's small data set, compared byte for byte with the
//! reference outputs (`tests/data/bench-small/expected`, the DuckDB reference's files).

use std::path::{Path, PathBuf};

use journey_core::analytics::bench::{self, BenchParams};
use journey_core::analytics::{self, EventTable, Journeys, StitchOptions, json};
use journey_core::resolve::Resolver;
use journey_core::Rating;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bench-small")
}

fn load_csv() -> EventTable {
    let events = std::fs::read_to_string(data().join("events.csv")).unwrap();
    let mut t = EventTable::new();
    for line in events.lines().skip(1) {
        let f = analytics::csv::fields(line);
        let s = |i: usize| f[i].as_deref().unwrap();
        let rating = f[6].as_deref().map(|x| Rating::Csat(x.parse().unwrap()));
        t.push(s(0).parse().unwrap(), s(1).parse().unwrap(), &[s(2)], s(3), s(4), f[5].as_deref(), rating).unwrap();
    }
    let links = std::fs::read_to_string(data().join("links.csv")).unwrap();
    for line in links.lines().skip(1) {
        let f = analytics::csv::fields(line);
        t.push_link(f[0].as_deref().unwrap(), f[1].as_deref().unwrap(), f[2].as_deref().unwrap().parse().unwrap());
    }
    t
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(data().join("expected").join(format!("{name}.json"))).unwrap()
}

/// Compares canonical texts; on a difference, shows the first differing line.
fn same(name: &str, got: &str) {
    let want = expected(name);
    if got != want {
        let (g, w): (Vec<_>, Vec<_>) = (got.lines().collect(), want.lines().collect());
        let i = g.iter().zip(&w).position(|(a, b)| a != b).unwrap_or(g.len().min(w.len()));
        panic!(
            "{name}.json differs at line {}: expected {:?}, got {:?} ({} vs {} lines)",
            i + 1,
            w.get(i),
            g.get(i),
            w.len(),
            g.len()
        );
    }
}

fn check_all(table: &EventTable) {
    let doc = analytics::from_bench_design(&std::fs::read_to_string(data().join("design.json")).unwrap()).unwrap();
    let resolver = Resolver::new(&doc.maps[0]);
    let stitched = analytics::stitch(table, &StitchOptions::default());
    let journeys = Journeys::build(table, &stitched, &resolver);
    let results = bench::run_all(&journeys, &BenchParams::default(), |_, _| {}).unwrap();
    same("reach", &json::to_canonical_string(&results.reach));
    same("funnel", &json::to_canonical_string(&results.funnel));
    same("transitions", &json::to_canonical_string(&results.transitions));
    same("paths", &json::to_canonical_string(&results.paths));
    same("emotion", &json::to_canonical_string(&results.emotion));
    same("gray_areas", &json::to_canonical_string(&results.gray_areas));
    same("conformance", &json::to_canonical_string(&results.conformance));
    same("key_moments", &json::to_canonical_string(&results.key_moments));
    let dir = std::env::temp_dir().join(format!("jc-analytics-small-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::create_dir_all(&dir).unwrap();
    bench::write_stitch(&dir, table, &stitched, &stitched.summary(table, journeys.len())).unwrap();
    let got = std::fs::read_to_string(dir.join("stitch.json")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    same("stitch", &got);
}

#[test]
fn every_measure_matches_the_reference_single_threaded_and_parallel() {
    let table = load_csv();
    assert_eq!(table.len(), 20_000);
    // the small set is under the parallel threshold of some steps: force both paths
    analytics::set_threads(1);
    check_all(&table);
    analytics::set_threads(2);
    check_all(&table);
    analytics::set_threads(0);
}

#[test]
fn input_order_does_not_matter() {
    // the same events and links, reversed: seq keeps the order, so results are identical
    let table = load_csv();
    let mut rev = EventTable::new();
    let (names, ch, dep, keys) = (table.names(), table.channels(), table.departments(), table.keys());
    for i in (0..table.len()).rev() {
        let d = table.department()[i];
        let r = table.rating()[i];
        let rating = (r != analytics::NO_RATING).then(|| Rating::Csat((r as i64 * 2 / analytics::RATING_UNIT) + 3));
        rev.push(
            table.ts()[i],
            table.seq()[i],
            &[keys.get(table.key()[i])],
            names.get(table.name()[i]),
            ch.get(table.channel()[i]),
            (d != analytics::NONE).then(|| dep.get(d)),
            rating,
        )
        .unwrap();
    }
    let l = table.links();
    for i in (0..l.len()).rev() {
        rev.push_link(keys.get(l.b[i]), keys.get(l.a[i]), l.ts[i]);
    }
    check_all(&rev);
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_input_matches_too() {
    let table = analytics::parquet::read_table(&data().join("events.parquet"), Some(&data().join("links.parquet"))).unwrap();
    check_all(&table);
}
