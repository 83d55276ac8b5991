//! journey-core's candidate for the benchmark kit's race (`../shared/bench/race.sh`).
//!
//! Reads `$EVENTS` and `$LINKS` (or `$DATA_DIR/events.parquet`, `$DATA_DIR/links.parquet`),
//! `$DESIGN`, computes the nine measures with the kit's parameters and writes
//! `$OUT/<measure>.json`. Prints one timing line per step on stdout:
//! `{"measure": "funnel", "seconds": 0.123, "peak_rss_mb": 456.7}`.
//!
//! Steps, named as in the kit's table: `load` (Parquet into Arrow arrays), `stitch` (the
//! arrays into interned columns, then keys into profiles), `journeys` (the counting sort by
//! profile and `(ts, seq)`, resolved against the map), then the eight measures. Writing the
//! files is outside the timed steps (as for the references) but inside the process wall time.

use std::path::PathBuf;
use std::time::Instant;

use journey_core::analytics::bench::{self, BenchParams};
use journey_core::analytics::{self, Journeys, StitchOptions};
use journey_core::resolve::Resolver;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

fn line(measure: &str, seconds: f64) {
    println!("{{\"impl\": \"journey-core\", \"measure\": \"{measure}\", \"seconds\": {seconds:.6}, \"peak_rss_mb\": {}}}", peak_rss_mb());
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

fn main() {
    if let Err(e) = run() {
        eprintln!("jc-race: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let data = env_path("DATA_DIR");
    let events = env_path("EVENTS").or_else(|| data.as_ref().map(|d| d.join("events.parquet"))).ok_or("set EVENTS or DATA_DIR")?;
    let links = env_path("LINKS").or_else(|| data.as_ref().map(|d| d.join("links.parquet")));
    let design = env_path("DESIGN").ok_or("set DESIGN (design.json)")?;
    let out = env_path("OUT").ok_or("set OUT (output folder)")?;
    std::fs::create_dir_all(&out)?;
    if let Some(t) = std::env::var("JC_THREADS").ok().and_then(|t| t.parse().ok()) {
        analytics::set_threads(t);
    }

    let t = Instant::now();
    let ev = analytics::parquet::read_events(&events)?;
    let li = match &links {
        Some(p) if p.exists() => analytics::parquet::read_links(p)?,
        _ => Vec::new(),
    };
    line("load", t.elapsed().as_secs_f64());

    let t = Instant::now();
    let table = analytics::parquet::table_from_batches(&ev, &li)?;
    drop(ev);
    drop(li);
    let stitched = analytics::stitch(&table, &StitchOptions::default());
    line("stitch", t.elapsed().as_secs_f64());

    let doc = analytics::from_bench_design(&std::fs::read_to_string(&design)?)?;
    let resolver = Resolver::new(doc.select(None)?);
    let t = Instant::now();
    let journeys = Journeys::build(&table, &stitched, &resolver);
    line("journeys", t.elapsed().as_secs_f64());

    let results = bench::run_all(&journeys, &BenchParams::default(), line)?;

    let t = Instant::now();
    let summary = stitched.summary(&table, journeys.len());
    std::thread::scope(|s| -> std::io::Result<()> {
        let h = s.spawn(|| bench::write_stitch(&out, &table, &stitched, &summary));
        bench::write_results(&out, &results)?;
        h.join().expect("writer thread")
    })?;
    eprintln!("jc-race: wrote {} in {:.3} s", out.display(), t.elapsed().as_secs_f64());
    Ok(())
}
