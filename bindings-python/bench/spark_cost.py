"""What the Spark pipeline costs, measured in local mode, for the README's cluster notes.

Two parts, both printing Markdown:

``rounds``: label-propagation rounds of :func:`journey_core.spark.stitch` on chains of
keys (the deepest graph for its size: diameter = length) and on stars (diameter 2),
against the diameter.

``data DIR``: the pipeline on a benchmark data folder (``events.parquet``, ``links.parquet``,
the kit's ``design.json`` as ``--design``): stitching rounds and the link graph's largest
component and diameter (exact, by breadth-first search from every key of the largest
components), shuffle bytes and records written per stage (read from Spark's own REST API),
per event, for stitching and for the analysis, and the size of the partial states.

    .venv-spark/bin/python bindings-python/bench/spark_cost.py rounds
    .venv-spark/bin/python bindings-python/bench/spark_cost.py data target/bench-data/1m --design ../shared/bench/design.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.request
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import journey_core
from journey_core import spark as jcs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from spark_race import MEASURES  # noqa: E402  (the race's measure set)


def session(cores: int) -> Any:
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("journey-core-cost")
        .config("spark.sql.shuffle.partitions", str(cores * 2))
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.enabled", "true")  # its REST API gives the shuffle figures
        .config("spark.ui.port", "0")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    return s


def stages(s: Any) -> dict[int, dict[str, Any]]:
    sc = s.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages?status=complete"
    with urllib.request.urlopen(url) as r:
        return {(st["stageId"], st["attemptId"]): st for st in json.load(r)}


def shuffle_since(s: Any, before: dict[Any, Any]) -> tuple[int, int]:
    new = [st for k, st in stages(s).items() if k not in before]
    return sum(st["shuffleWriteBytes"] for st in new), sum(st["shuffleWriteRecords"] for st in new)


def rounds(args: argparse.Namespace) -> None:
    s = session(1)
    print("| graph | keys | diameter | rounds |\n|---|---|---|---|")
    for length in [2, 4, 8, 16, 32, 64, 128, 256, 512]:
        # A chain listed in shuffled order, so that no order of the input helps.
        pairs = [(f"k:{i:05d}", f"k:{i + 1:05d}") for i in range(length)]
        pairs = pairs[::2][::-1] + pairs[1::2]
        links = s.createDataFrame(pairs, "key_a string, key_b string")
        events = s.createDataFrame([("k:00000",)], "customer_key string")
        print(f"| chain | {length + 1} | {length} | {jcs.stitch(events, links).rounds} |", flush=True)
    for leaves in [10, 1000]:
        pairs = [("hub", f"leaf:{i:05d}") for i in range(leaves)]
        links = s.createDataFrame(pairs, "key_a string, key_b string")
        events = s.createDataFrame([("hub",)], "customer_key string")
        print(f"| star | {leaves + 1} | 2 | {jcs.stitch(events, links).rounds} |", flush=True)
    s.stop()


def diameter(links: Any) -> tuple[int, int, int]:
    """Components, the largest component's size and the largest diameter among the 50
    largest components (exact: a breadth-first search from each of their keys)."""
    adj: dict[str, set[str]] = defaultdict(set)
    for a, b in zip(links.column("key_a").to_pylist(), links.column("key_b").to_pylist()):
        if a is not None and b is not None and a != b:
            adj[a].add(b)
            adj[b].add(a)
    seen: set[str] = set()
    comps: list[list[str]] = []
    for k in adj:
        if k in seen:
            continue
        comp, todo = [], [k]
        seen.add(k)
        while todo:
            x = todo.pop()
            comp.append(x)
            for y in adj[x]:
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        comps.append(comp)
    comps.sort(key=len, reverse=True)

    def ecc(src: str) -> int:
        dist = {src: 0}
        q = deque([src])
        while q:
            x = q.popleft()
            for y in adj[x]:
                if y not in dist:
                    dist[y] = dist[x] + 1
                    q.append(y)
        return max(dist.values())

    diam = max(max(ecc(k) for k in c) for c in comps[:50])
    return len(comps), len(comps[0]), diam


def data(args: argparse.Namespace) -> None:
    import pyarrow.parquet as pq

    folder = Path(args.folder)
    s = session(args.cores)
    doc = journey_core.from_bench_design(Path(args.design).read_text(encoding="utf-8"))
    events = s.read.parquet(str(folder / "events.parquet"))
    links = s.read.parquet(str(folder / "links.parquet"))
    n = events.count()
    link_table = pq.read_table(folder / "links.parquet", columns=["key_a", "key_b"])
    comps, largest, diam = diameter(link_table)

    before = stages(s)
    t = time.perf_counter()
    stitched = jcs.stitch(events, links)
    stitched.linked.count()
    stitch_s = time.perf_counter() - t
    stitch_bytes, stitch_records = shuffle_since(s, before)

    before = stages(s)
    t = time.perf_counter()
    merged = jcs.partials(doc, events, MEASURES, stitched=stitched, partitions=args.partitions)
    analyse_s = time.perf_counter() - t
    analyse_bytes, analyse_records = shuffle_since(s, before)
    state = len(merged.to_bytes())
    s.stop()

    print(f"| {folder.name}: {n:,} events | |\n|---|---|")
    print(f"| link graph | {link_table.num_rows:,} links, {comps:,} components, largest {largest} keys, diameter {diam} |")
    print(f"| stitching | {stitched.rounds} rounds, {stitch_s:.1f} s, shuffle {stitch_bytes / 1e6:.1f} MB written ({stitch_records:,} records, {stitch_bytes / n:.1f} B per event) |")
    print(f"| analysis | {analyse_s:.1f} s, shuffle {analyse_bytes / 1e6:.1f} MB written ({analyse_records:,} records, {analyse_bytes / n:.1f} B per event) |")
    print(f"| merged partial state | {state / 1e6:.2f} MB ({args.partitions} partitions) |")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="part", required=True)
    sub.add_parser("rounds")
    d = sub.add_parser("data")
    d.add_argument("folder")
    d.add_argument("--design", required=True)
    d.add_argument("--cores", type=int, default=2)
    d.add_argument("--partitions", type=int, default=8)
    args = p.parse_args()
    rounds(args) if args.part == "rounds" else data(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
