#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests and the benchmark.
#
#   scripts/postgres.sh start   # prints the URL to export as JOURNEY_CORE_PG_URL
#   scripts/postgres.sh stop    # stops it and removes its folder
#
# With JOURNEY_CORE_PG_URL already set, `start` prints it and starts nothing (an existing
# server), and `stop` does nothing. Otherwise `start` uses Debian's server binaries
# (/usr/lib/postgresql/*/bin), installing the `postgresql` package if they are missing,
# creates a data folder in a temporary folder, and listens on 127.0.0.1 on a free port
# with its socket in that folder and trust authentication (loopback only). initdb refuses
# to run as root, so as root the server runs as the `postgres` user.
# The state (folder, binaries) is kept in $JOURNEY_CORE_PG_STATE
# (default: ${TMPDIR:-/tmp}/journey-core-pg.state). Logs go to stderr; stdout is the URL.
set -euo pipefail

state=${JOURNEY_CORE_PG_STATE:-${TMPDIR:-/tmp}/journey-core-pg.state}
log() { printf 'postgres.sh: %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else log "need root (or sudo) to run: $*"; exit 1
    fi
}

find_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

# Runs a command as the server's owner: `postgres` when we are root, else ourselves.
as_owner() {
    if [ "$(id -u)" = 0 ]; then
        if command -v runuser >/dev/null; then runuser -u postgres -- "$@"
        else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    else "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

start() {
    if [ -n "${JOURNEY_CORE_PG_URL:-}" ]; then
        log "using the server at JOURNEY_CORE_PG_URL"
        echo "$JOURNEY_CORE_PG_URL"
        return
    fi
    bin=$(find_bin)
    if [ -z "$bin" ]; then
        log "installing Debian's postgresql package"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
        bin=$(find_bin)
        [ -n "$bin" ] || { log "no server binaries in /usr/lib/postgresql/*/bin after installing"; exit 1; }
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/journey-core-pg.XXXXXX")
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >&2 \
        || { cat "$dir/server.log" >&2; exit 1; }
    printf 'dir=%q\nbin=%q\n' "$dir" "$bin" >"$state"
    log "server $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port, data in $dir"
    echo "postgres://postgres@127.0.0.1:$port/postgres"
}

stop() {
    if [ ! -f "$state" ]; then
        log "nothing to stop (no $state)"
        return
    fi
    # shellcheck disable=SC1090
    . "$state"
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir" "$state"
    log "stopped and removed $dir"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
