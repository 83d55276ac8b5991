#!/usr/bin/env bash
# journey-core on Spark local[1] and local[2], single-process journey-core (jc-race), and
# the benchmark kit's Polars and DuckDB references, on one data size: three races of the
# kit (one per candidate, the references in each), then one table of wall time and peak
# memory with every candidate's ratio to Polars of the same race.
#
#   bindings-python/bench/spark_scaling.sh [SIZE]          # SIZE: small, 1m or 10m (default)
#
# Needs the kit (BENCH_KIT, default ../shared/bench), its Python (PYTHON, default
# target/bench-venv/bin/python, created from the kit's requirements.txt if missing), the
# Spark virtualenv of bindings-python/scripts/test-spark.sh (.venv-spark: run that script
# once). Data in BENCH_DATA (default target/bench-data, generated if missing), results in
# BENCH_RUNS (default target/bench-runs/scaling). REPS (default 1) repetitions per race.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
size=${1:-10m}
kit=$(cd "${BENCH_KIT:-$root/../shared/bench}" && pwd)
export BENCH_DATA=${BENCH_DATA:-$root/target/bench-data}
runs=${BENCH_RUNS:-$root/target/bench-runs/scaling}
export REPS=${REPS:-1}
spark_python=$root/.venv-spark/bin/python
if [ ! -x "$spark_python" ]; then
    echo "spark_scaling: $spark_python is missing: run bindings-python/scripts/test-spark.sh once" >&2
    exit 1
fi
export PYTHON=${PYTHON:-$root/target/bench-venv/bin/python}
if [ ! -x "$PYTHON" ]; then
    python3 -m venv "$root/target/bench-venv"
    "$root/target/bench-venv/bin/pip" install -q -r "$kit/requirements.txt"
fi
cargo build -q --release -p journey-core --features parquet --bin jc-race
export PYSPARK_PYTHON=$spark_python PYSPARK_DRIVER_PYTHON=$spark_python

race() { # name, candidate command
    BENCH_RUNS="$runs/$1" "$kit/race.sh" "$size" "$2"
}
race jc "$root/target/release/jc-race"
race spark1 "SPARK_CORES=1 $spark_python $root/bindings-python/bench/spark_race.py"
race spark2 "SPARK_CORES=2 $spark_python $root/bindings-python/bench/spark_race.py"

"$PYTHON" - "$runs" "$size" <<'EOF'
import json, statistics, sys
from pathlib import Path

runs, size = Path(sys.argv[1]), sys.argv[2]
label = {"jc": "journey-core, one process", "spark1": "journey-core on Spark local[1]", "spark2": "journey-core on Spark local[2]"}
print(f"\n## {size}: wall time and peak memory (medians over repetitions)\n")
print("| race | candidate | wall | peak RSS | polars wall | polars RSS | wall / polars | stitch | analyse |")
print("|---|---|---|---|---|---|---|---|---|")
for name, text in label.items():
    rows = [json.loads(l) for l in (runs / name / size / "timings.jsonl").read_text().splitlines() if l.strip()]
    def med(impl, measure, field):
        vals = [r[field] for r in rows if r["impl"] == impl and r["measure"] == measure and field in r]
        return statistics.median(vals) if vals else float("nan")
    wall, polars = med("candidate", "_process", "wall_seconds"), med("polars", "_process", "wall_seconds")
    # spark_race.py reports the whole process tree's peak (JVM and workers) on its lines.
    rss = max([r.get("peak_rss_mb", 0) for r in rows if r["impl"] == "candidate"] or [float("nan")])
    stitch, analyse = med("candidate", "stitch", "seconds"), med("candidate", "analyse", "seconds")
    print(f"| {name} | {text} | {wall:.1f} s | {rss:.0f} MB | {polars:.1f} s | {med('polars', '_process', 'peak_rss_mb'):.0f} MB "
          f"| {wall / polars:.2f} | {stitch:.1f} s | {analyse:.1f} s |")
print("\n(jc-race times its measures one by one: its `analyse` is blank. Spark's `stitch` excludes collecting every key's profile for the kit's stitch.json: `stitch_output` in its summary.)")
EOF
