"""journey-core on Apache Spark as a candidate of the benchmark kit's race.

Reads ``$DATA_DIR/events.parquet`` and ``$DATA_DIR/links.parquet`` and ``$DESIGN``, runs the
Spark pipeline (``journey_core.spark``) in local mode with ``$SPARK_CORES`` cores (default 2)
and writes ``$OUT/<measure>.json`` in the kit's format; prints one timing line per step, with the peak resident memory of the whole process tree
(driver, Spark JVM, Python workers) so far.
Steps: ``load`` (the Spark session and the Parquet scan), ``stitch`` (label propagation),
``stitch_output`` (the profile of every key, collected for the kit's stitch.json), ``journeys`` + measures (one distributed pass:
partial states per partition, merged, finished; timed as ``analyse``).

    SPARK_CORES=2 DATA_DIR=... DESIGN=... OUT=... python bindings-python/bench/spark_race.py
    # in the race: ../shared/bench/race.sh 10m "$PWD/.venv-spark/bin/python $PWD/bindings-python/bench/spark_race.py"
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import journey_core
from journey_core import spark as jcs

# The kit's parameters (../shared/bench/README.md, "Measures"), as journey-core's
# PartialOptions (left-out options keep journey-core's defaults, which are the kit's).
FUNNEL = ["product_view", "add_to_cart", "checkout_start", "payment", "order_confirmed"]
MEASURES: dict[str, Any] = {
    "reach": True,
    "funnels": [{"steps": [[s] for s in FUNNEL]}],
    "transitions": ["event", "touchpoint", "phase"],
    "paths": {},
    "emotion": {},
    "gray_areas": {},
    "conformance": True,
    "key_moments": {"outcome": {"touchpoint": "order_confirmation"}},
}


class TreeRss:
    """The peak resident memory of this process and all its descendants together (the
    Spark JVM and its Python workers are children: getrusage would give only the largest
    one), sampled from /proc every 100 ms on a background thread."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _tree_kb() -> int:
        children: dict[int, list[int]] = {}
        rss: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid, ppid = int(entry), int(fields[1])
            children.setdefault(ppid, []).append(pid)
            rss[pid] = int(fields[21]) * (resource.getpagesize() // 1024)
        total, todo = 0, [os.getpid()]
        while todo:
            pid = todo.pop()
            total += rss.get(pid, 0)
            todo.extend(children.get(pid, []))
        return total

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.peak_kb = max(self.peak_kb, self._tree_kb())

    def mb(self) -> float:
        self.peak_kb = max(self.peak_kb, self._tree_kb())
        return round(self.peak_kb / 1024.0, 1)


TREE = TreeRss()


def peak_rss_mb() -> float:
    return TREE.mb()


def line(measure: str, seconds: float) -> None:
    print(json.dumps({"impl": "journey-core-spark", "measure": measure, "seconds": round(seconds, 6), "peak_rss_mb": peak_rss_mb()}), flush=True)


def write(out: Path, name: str, value: Any) -> None:
    (out / f"{name}.json").write_text(value if isinstance(value, str) else json.dumps(value, sort_keys=True, indent=1))


def main() -> int:
    data = Path(os.environ["DATA_DIR"])
    out = Path(os.environ["OUT"])
    out.mkdir(parents=True, exist_ok=True)
    doc = journey_core.from_bench_design(Path(os.environ["DESIGN"]).read_text(encoding="utf-8"))
    cores = int(os.environ.get("SPARK_CORES", "2"))

    t = time.perf_counter()
    session = jcs.local_session(cores=cores, app_name="journey-core-race")
    session.sparkContext.setLogLevel("ERROR")
    events = session.read.parquet(str(data / "events.parquet"))
    links_path = data / "links.parquet"
    links = session.read.parquet(str(links_path)) if links_path.exists() else None
    line("load", time.perf_counter() - t)

    from pyspark.sql import functions as F

    t = time.perf_counter()
    stitched = jcs.stitch(events, links)
    stitched.linked.count()
    line("stitch", time.perf_counter() - t)
    print(json.dumps({"stitch_rounds": stitched.rounds}), file=sys.stderr, flush=True)

    # The kit's stitch.json: the profile of every key, collected on the driver (a cost of
    # the race's output format, not of the pipeline).
    t = time.perf_counter()
    profiles = stitched.profiles.persist()
    with_events = events.select(F.col("customer_key").alias("key")).distinct().withColumn("has_events", F.lit(True))
    per_profile = (
        profiles.join(with_events, "key", "left")
        .groupBy("profile")
        .agg(F.count("key").alias("keys"), F.max(F.coalesce(F.col("has_events"), F.lit(False))).alias("journey"))
    )
    summary = per_profile.agg(
        F.sum("keys").alias("keys"),
        F.count("profile").alias("profiles"),
        F.sum(F.col("journey").cast("long")).alias("journeys"),
        F.max("keys").alias("largest_profile_keys"),
    ).first()
    profile_of = {r.key: r.profile for r in profiles.toLocalIterator()}
    line("stitch_output", time.perf_counter() - t)

    t = time.perf_counter()
    results = jcs.analyse(doc, events, MEASURES, stitched=stitched, partitions=int(os.environ.get("SPARK_PARTITIONS", str(4 * cores))))
    line("analyse", time.perf_counter() - t)

    write(
        out,
        "stitch",
        {
            "keys": summary.keys,
            "profiles": summary.profiles,
            "journeys": summary.journeys,
            "profiles_without_events": summary.profiles - summary.journeys,
            "largest_profile_keys": summary.largest_profile_keys,
            "options": {"canonical_id": "smallest key, byte-wise", "identity_limits": None},
            "profile_of": profile_of,
        },
    )
    for name in ["reach", "transitions", "paths", "emotion", "gray_areas", "conformance", "key_moments"]:
        write(out, name, getattr(results, name).to_json())
    write(out, "funnel", results.funnels[0].to_json())
    session.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
