#!/usr/bin/env bash
# Runs the cargo-fuzz targets of journey-core for a bounded time each, on stable Rust.
#
#   bash journey-core/fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 60); TARGETs default to all of them: parse_map,
# parse_event, condition, track. Installs cargo-fuzz from crates.io if it is missing.
#
# libFuzzer's instrumentation needs no nightly compiler, but cargo-fuzz passes a few
# unstable flags, so the build runs with RUSTC_BOOTSTRAP=1 and without a sanitizer
# (`--sanitizer none`: AddressSanitizer needs nightly's `-Zsanitizer`). Rust is memory
# safe outside `unsafe`, so what these targets hunt are panics, hangs, stack overflows,
# runaway memory and broken round trips.
#
# Each target starts from the committed seeds (seeds/TARGET) plus its working corpus
# (corpus/TARGET, not committed). A crash is saved in artifacts/TARGET/ and fails the
# run; turn it into a regression test in journey-core/tests/hardening_fuzz.rs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${1:-60}"
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
    targets=(parse_map parse_event condition track)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "--- installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1
echo "--- building the fuzz targets"
# With debug assertions, so an arithmetic overflow is found as a panic.
cargo fuzz build --sanitizer none --debug-assertions

for target in "${targets[@]}"; do
    echo "--- fuzzing $target for ${seconds}s"
    mkdir -p "corpus/$target" "seeds/$target"
    cargo fuzz run --sanitizer none --debug-assertions "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
done
echo "--- no crash in ${#targets[@]} target(s), ${seconds}s each"
