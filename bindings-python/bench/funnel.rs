//! The Rust side of `bench/funnel_10m.py`: the same computation as the Python bench,
//! without the binding. Reads the events and links Parquet files into Arrow batches
//! (untimed, as the Python side has its pyarrow Table or polars DataFrame in memory), then
//! times `Analysis::from_record_batches` (ingest, stitch, journeys) and the funnel.
//!
//! Usage: cargo run --release -p journey-core-python --example bench_funnel -- DATA_DIR DESIGN_JSON
//! Prints one JSON line: {"rows": ..., "ingest_s": ..., "analysis_s": ..., "funnel_s": ..., "converted": ...}
//! (`ingest_s`: the Arrow arrays into interned columns alone, the first step of the analysis).

use std::path::PathBuf;
use std::time::Instant;

use journey_core::analytics::{self, Analysis, AnalysisOptions, FunnelOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(args.next().ok_or("usage: bench_funnel DATA_DIR DESIGN_JSON")?);
    let design = PathBuf::from(args.next().ok_or("usage: bench_funnel DATA_DIR DESIGN_JSON")?);
    let doc = analytics::from_bench_design(&std::fs::read_to_string(design)?)?;
    let events = analytics::parquet::read_events(&data.join("events.parquet"))?;
    let links = analytics::parquet::read_links(&data.join("links.parquet"))?;
    let rows: usize = events.iter().map(|b| b.num_rows()).sum();
    // ingest alone: the Arrow arrays into the interned columns (the first step of the analysis)
    let t = Instant::now();
    let table = analytics::parquet::table_from_batches(&events, &links)?;
    let ingest_s = t.elapsed().as_secs_f64();
    drop(table);
    let t = Instant::now();
    let analysis = Analysis::from_record_batches(&doc, &events, &links, AnalysisOptions::without_limits())?;
    let analysis_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let funnel = analysis.funnel(&FunnelOptions::events(&["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]))?;
    let funnel_s = t.elapsed().as_secs_f64();
    println!(
        "{{\"rows\": {rows}, \"ingest_s\": {ingest_s:.4}, \"analysis_s\": {analysis_s:.4}, \"funnel_s\": {funnel_s:.4}, \"converted\": {}}}",
        funnel.converted
    );
    Ok(())
}
