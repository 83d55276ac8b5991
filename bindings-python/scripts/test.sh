#!/usr/bin/env bash
# Builds the Python binding and runs its checks, from a fresh clone on a fresh machine:
#
#   1. a virtualenv at <repo>/.venv (created if missing) with the pinned tools of
#      bindings-python/requirements-dev.txt (reinstalled only when that file changes);
#   2. a release wheel built by maturin into <repo>/target/wheels/python, installed
#      into the virtualenv;
#   3. `mypy.stubtest` of the compiled module against `_native.pyi`;
#   4. `mypy --strict` over the pure-Python package and examples/python/*.py;
#   5. pytest over bindings-python/tests (no test collected counts as a failure).
#
# The PostgreSQL tests use the server at JOURNEY_CORE_PG_URL (tests/run starts one). When
# it is unset (and JOURNEY_CORE_SKIP_POSTGRES is not 1) this script starts a throw-away
# server itself with scripts/postgres.sh, under its own state file, and stops it on exit.
#
# Usage: bash bindings-python/scripts/test.sh [extra pytest arguments]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
binding="$repo/bindings-python"
venv="$repo/.venv"
python="$venv/bin/python"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

cd "$repo"

# 1. The virtualenv and its tools.
if [[ ! -x "$python" ]]; then
    step "creating the virtualenv $venv"
    python3 -m venv "$venv"
fi
stamp="$venv/.journey-core-requirements"
if ! cmp -s "$binding/requirements-dev.txt" "$stamp"; then
    step "installing the pinned tools (requirements-dev.txt)"
    "$python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$python" -m pip install --quiet --disable-pip-version-check -r "$binding/requirements-dev.txt"
    cp "$binding/requirements-dev.txt" "$stamp"
fi

# 2. Build the wheel (into the workspace's target dir) and install it.
step "building the wheel"
wheels="$repo/target/wheels/python"
rm -rf "$wheels"
# maturin builds the extension module itself; make sure nothing from the environment
# turns the whole workspace into an extension-module build.
unset PYO3_BUILD_EXTENSION_MODULE
# `testing` adds the hidden `_panic_for_testing` hook that the panic-guard test calls.
# `--target` the host, as the napi CLI builds the Node addon: both then build into
# target/<host>/release and share journey-core and every dependency (built once, not twice).
host=$(rustc -vV | sed -n 's/^host: //p')
(cd "$binding" && "$venv/bin/maturin" build --release --target "$host" --features testing --interpreter "$python" --out "$wheels")
shopt -s nullglob
built=("$wheels"/journey_core-*.whl)
shopt -u nullglob
[[ ${#built[@]} -eq 1 ]] || fail "expected one wheel in $wheels, found ${#built[@]}"
step "installing ${built[0]##*/}"
"$python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "${built[0]}"

# Run the checks against the installed wheel, never the source tree.
cd "$repo/target"

# 3. The stubs against the compiled module.
step "stubtest journey_core._native"
allowlist="$binding/stubtest-allowlist.txt"
stubtest_args=()
if [[ -f "$allowlist" ]]; then
    stubtest_args+=(--allowlist "$allowlist")
fi
"$python" -m mypy.stubtest journey_core._native "${stubtest_args[@]}"

# 4. Strict typing of the package and the examples.
step "mypy --strict over the package"
"$python" -m mypy --strict --no-incremental -p journey_core
shopt -s nullglob
examples=("$repo"/examples/python/*.py)
shopt -u nullglob
if [[ ${#examples[@]} -gt 0 ]]; then
    step "mypy --strict over examples/python (${#examples[@]} files)"
    "$python" -m mypy --strict --no-incremental "${examples[@]}"
fi

# 5. The tests. pytest exits 5 when it collected nothing: that is a failure here.
if [[ -z "${JOURNEY_CORE_PG_URL:-}" && "${JOURNEY_CORE_SKIP_POSTGRES:-}" != 1 ]]; then
    step "starting a throw-away PostgreSQL server (scripts/postgres.sh)"
    export JOURNEY_CORE_PG_STATE="${TMPDIR:-/tmp}/journey-core-pg.python.$$.state"
    trap 'bash "$repo/scripts/postgres.sh" stop' EXIT
    JOURNEY_CORE_PG_URL=$(bash "$repo/scripts/postgres.sh" start)
    export JOURNEY_CORE_PG_URL
fi
step "pytest bindings-python/tests"
status=0
"$python" -m pytest "$binding/tests" -p no:cacheprovider "$@" || status=$?
if [[ $status -eq 5 ]]; then
    fail "pytest collected no tests"
elif [[ $status -ne 0 ]]; then
    fail "pytest exited with $status"
fi
step "all Python binding checks passed"
