#!/usr/bin/env bash
# Builds the Node binding and runs its tests, from a fresh clone on a fresh machine:
#   1. `npm ci` in bindings-node, only when node_modules is missing or was installed from
#      another package-lock.json;
#   2. builds the addon with the napi CLI (release), regenerating index.js and index.d.ts;
#   3. links examples/node/node_modules/journey-core to this package (what `npm install`
#      in examples/node would do), so the examples import `journey-core` like a user's code;
#   4. starts a throw-away PostgreSQL server (scripts/postgres.sh, stopped on exit) unless
#      JOURNEY_CORE_PG_URL is set (tests/run sets it) or JOURNEY_CORE_SKIP_POSTGRES=1;
#   5. runs the node:test suite (bindings-node/test/), which also runs the examples and the
#      cross-language scenarios of tests/scenarios/;
#   6. type-checks the TypeScript examples against the generated types (`tsc --noEmit`).
# Idempotent; fails loudly on the first error. Run from anywhere.
set -euo pipefail

pkg="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$(cd "$pkg/.." && pwd)"

for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "bindings-node/scripts/test.sh: '$tool' is not installed" >&2; exit 1; }
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "bindings-node/scripts/test.sh: Node >= 20 is needed, found $(node --version)" >&2
  exit 1
fi

cd "$pkg"
echo "--- npm dependencies"
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp=node_modules/.journey-core-lock.sha256
if [[ -d node_modules && -f $stamp && "$(cat "$stamp")" == "$lock_hash" ]]; then
  echo "node_modules is up to date with package-lock.json"
else
  npm ci --no-audit --no-fund
  echo "$lock_hash" > "$stamp"
fi

echo "--- napi build (release)"
npm run --silent build

echo "--- linking examples/node/node_modules/journey-core"
mkdir -p "$repo/examples/node/node_modules"
ln -sfn ../../../bindings-node "$repo/examples/node/node_modules/journey-core"

echo "--- PostgreSQL for test/postgres.test.mjs"
cd "$repo"
if [[ -n "${JOURNEY_CORE_PG_URL:-}" ]]; then
  echo "using the server at JOURNEY_CORE_PG_URL"
elif [[ "${JOURNEY_CORE_SKIP_POSTGRES:-}" == 1 ]]; then
  echo "JOURNEY_CORE_SKIP_POSTGRES=1: the PostgreSQL tests are skipped"
else
  # A throw-away server of our own (own state file, so no one else's server is stopped).
  export JOURNEY_CORE_PG_STATE="${TMPDIR:-/tmp}/journey-core-pg-node.$$.state"
  trap 'bash "$repo/scripts/postgres.sh" stop' EXIT
  JOURNEY_CORE_PG_URL="$(bash "$repo/scripts/postgres.sh" start)"
  export JOURNEY_CORE_PG_URL
fi

echo "--- node --test bindings-node/test/"
node --test bindings-node/test/

echo "--- tsc --noEmit (examples/node/*.ts against the generated types)"
"$pkg/node_modules/.bin/tsc" --noEmit -p "$pkg/tsconfig.json"
echo "tsc: no type errors"
