#!/usr/bin/env bash
# Runs the Spark pipeline's tests (journey_core.spark) in Spark local mode, from a fresh
# clone on a fresh machine:
#
#   1. Java: Spark needs a JRE 17 or later; installed from Debian's packages if missing;
#   2. a virtualenv at <repo>/.venv-spark with PySpark and pyarrow
#      (bindings-python/requirements-spark.txt, reinstalled only when that file changes);
#   3. the journey-core wheel that bindings-python/scripts/test.sh built (built here with
#      maturin from the other virtualenv if it is missing);
#   4. pytest over bindings-python/tests-spark (no test collected counts as a failure).
#
# Usage: bash bindings-python/scripts/test-spark.sh [extra pytest arguments]
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
binding="$repo/bindings-python"
venv="$repo/.venv-spark"
python="$venv/bin/python"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

# 1. Java.
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if ! command -v java >/dev/null 2>&1 || [[ "$(java_major)" -lt 17 ]]; then
    step "installing a Java runtime (openjdk-17-jre-headless) from Debian's packages"
    sudo_=""
    [[ $(id -u) -eq 0 ]] || sudo_="sudo"
    $sudo_ apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq openjdk-17-jre-headless >/dev/null
fi
command -v java >/dev/null 2>&1 || fail "no java on PATH after installing it"

# 2. The virtualenv.
if [[ ! -x "$python" ]]; then
    step "creating the virtualenv $venv"
    python3 -m venv "$venv"
fi
stamp="$venv/.journey-core-requirements"
if ! cmp -s "$binding/requirements-spark.txt" "$stamp"; then
    step "installing PySpark and pyarrow (requirements-spark.txt)"
    "$python" -m pip install --quiet --disable-pip-version-check -r "$binding/requirements-spark.txt"
    cp "$binding/requirements-spark.txt" "$stamp"
fi

# 3. The wheel.
wheels="$repo/target/wheels/python"
shopt -s nullglob
built=("$wheels"/journey_core-*.whl)
shopt -u nullglob
if [[ ${#built[@]} -ne 1 ]]; then
    step "no wheel in $wheels: building it"
    bash "$binding/scripts/test.sh" --co -q >/dev/null
    built=("$wheels"/journey_core-*.whl)
fi
step "installing ${built[0]##*/}"
"$python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "${built[0]}"

# 4. The tests, against the installed wheel, with the workers on the same interpreter.
export PYSPARK_PYTHON="$python" PYSPARK_DRIVER_PYTHON="$python"
cd "$repo/target"
step "pytest bindings-python/tests-spark (Spark local mode)"
status=0
"$python" -m pytest "$binding/tests-spark" -p no:cacheprovider "$@" || status=$?
if [[ $status -eq 5 ]]; then
    fail "pytest collected no tests"
elif [[ $status -ne 0 ]]; then
    fail "pytest exited with $status"
fi
step "all Spark checks passed"
