"""Binding overhead: from a pyarrow Table and from a polars DataFrame of 10M events to a
finished funnel, against the same computation from Rust (bench/funnel.rs).

Data: the benchmark kit's 10m set (``/work/shared/bench/gen_events.py --size 10m``), by
default ``target/bench-data/10m`` (``events.parquet``, ``links.parquet``). The Parquet files
are read into memory first (untimed, on both sides); timed: the analysis (ingest through
the Arrow C stream interface, stitching without identity limits, journeys) and the funnel.
Each side runs ``--runs`` times; the best run counts.

Run (not part of the tests)::

    .venv/bin/python bindings-python/bench/funnel_10m.py [--data DIR] [--runs 3]

Targets: the binding adds at most 20% over Rust; ingest at least 5M rows/s.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

import journey_core as jc

REPO = Path(__file__).resolve().parents[2]
FUNNEL = ["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]
DESIGN = REPO / "journey-core" / "tests" / "data" / "bench-small" / "design.json"


def run_python(doc: jc.MapDocument, events: Any, links: Any) -> dict[str, float]:
    t0 = time.perf_counter()
    a = jc.Analysis.from_arrow(doc, events, links=links, identity_limits=False)
    t1 = time.perf_counter()
    f = a.funnel(FUNNEL)
    t2 = time.perf_counter()
    return {"analysis_s": t1 - t0, "funnel_s": t2 - t1, "converted": f.converted}


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    return min(runs, key=lambda r: r["analysis_s"] + r["funnel_s"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=REPO / "target" / "bench-data" / "10m")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    doc = jc.from_bench_design(DESIGN.read_text(encoding="utf-8"))

    dict_cols = ["event", "channel", "department"]
    table = pq.read_table(args.data / "events.parquet", read_dictionary=dict_cols)
    links = pq.read_table(args.data / "links.parquet")
    frame = pl.read_parquet(args.data / "events.parquet")
    plinks = pl.read_parquet(args.data / "links.parquet")
    rows = table.num_rows
    runs: dict[str, list[dict[str, float]]] = {"rust": [], "pyarrow": [], "polars": []}
    # interleaved, so that a busy machine slows every side alike
    for _ in range(args.runs):
        out = subprocess.run(
            ["cargo", "run", "--quiet", "--release", "-p", "journey-core-python", "--example", "bench_funnel", "--", str(args.data), str(DESIGN)],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs["rust"].append(json.loads(out.strip().splitlines()[-1]))
        runs["pyarrow"].append(run_python(doc, table, links))
        runs["polars"].append(run_python(doc, frame, plinks))
    results = {name: best(r) for name, r in runs.items()}
    rust = results["rust"]
    for name in ("pyarrow", "polars"):
        assert results[name]["converted"] == rust["converted"], (name, results[name], rust)
    rust_total = rust["analysis_s"] + rust["funnel_s"]
    print(f"{rows:,} events, {links.num_rows:,} links; best of {args.runs} runs")
    print(f"{'source':8} {'analysis s':>10} {'funnel s':>9} {'total s':>8} {'rows/s':>12} {'vs Rust':>8}")
    for name, r in results.items():
        total = r["analysis_s"] + r["funnel_s"]
        print(f"{name:8} {r['analysis_s']:10.3f} {r['funnel_s']:9.3f} {total:8.3f} {rows / r['analysis_s']:12,.0f} {total / rust_total - 1:+8.1%}")
    print(f"ingest alone (Arrow arrays into interned columns, Rust): {rust['ingest_s']:.3f} s = {rows / rust['ingest_s']:,.0f} rows/s")


if __name__ == "__main__":
    main()
