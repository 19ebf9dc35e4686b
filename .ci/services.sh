#!/usr/bin/env bash
# Private PostgreSQL and Redis servers for racecount's database tests and benchmarks: started
# from Debian's packages in a temporary directory, listening only on Unix sockets there (no
# TCP port, no system service), and stopped again.
#
#   eval "$(.ci/services.sh start)"    # prints the exports: RACECOUNT_TEST_POSTGRES,
#                                      # RACECOUNT_TEST_REDIS, RACECOUNT_SERVICES_DIR
#   .ci/services.sh stop               # stops the servers of $RACECOUNT_SERVICES_DIR, deletes it
#   .ci/services.sh install            # apt-get install postgresql redis-server (as root)
#
# start --owner PID also stops the servers once process PID has gone (the test suite uses it
# when it starts the servers itself). Run as root, PostgreSQL runs as the user postgres (it
# refuses root); otherwise as you. The servers trust local connections and keep nothing:
# fsync is off, Redis saves nothing.
set -euo pipefail

say() { echo "services.sh: $*" >&2; }

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
            echo "$dir"
            return 0
        fi
    done
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        dirname "$(command -v initdb)"
        return 0
    fi
    return 1
}

missing() {
    local what=()
    pg_bin >/dev/null || what+=(postgresql)
    command -v redis-server >/dev/null || what+=(redis-server)
    echo "${what[@]:-}"
}

install() {
    local need
    need=$(missing)
    if [ -z "$need" ]; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        say "not installed: $need; run: sudo apt-get install -y $need"
        exit 1
    fi
    say "installing $need from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    # shellcheck disable=SC2086
    apt-get install -y -qq $need >&2
}

# Runs a command as the user PostgreSQL runs as.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local owner=""
    if [ "${1:-}" = "--owner" ]; then
        owner=$2
    fi
    local need
    need=$(missing)
    if [ -n "$need" ]; then
        say "not installed: $need; run .ci/services.sh install (as root) or apt-get install -y $need"
        exit 1
    fi
    local dir bin
    dir=$(mktemp -d "${TMPDIR:-/tmp}/servers-for-racecount.XXXXXX")
    chmod 755 "$dir"
    bin=$(pg_bin)
    mkdir "$dir/pg"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$dir/pg"
    fi
    as_pg "$bin/initdb" -D "$dir/pg/data" -U postgres --auth=trust --no-sync >"$dir/initdb.log" 2>&1 || {
        say "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }
    as_pg "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/log" -w -t 60 start \
        -o "-c listen_addresses='' -c unix_socket_directories='$dir/pg' -c fsync=off \
            -c max_connections=400 -c shared_buffers=64MB" >/dev/null || {
        say "postgres did not start:"; cat "$dir/pg/log" >&2; exit 1; }
    redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 \
        --save "" --appendonly no --daemonize yes --pidfile "$dir/redis.pid" \
        --logfile "$dir/redis.log" --dir "$dir" >/dev/null
    local i
    for i in $(seq 100); do
        [ -S "$dir/redis.sock" ] && break
        sleep 0.1
    done
    [ -S "$dir/redis.sock" ] || { say "redis did not start:"; cat "$dir/redis.log" >&2; exit 1; }
    if [ -n "$owner" ]; then
        # Stops the servers once the owner is gone (detached: survives this script).
        setsid bash -c "while kill -0 $owner 2>/dev/null; do sleep 1; done; \
            RACECOUNT_SERVICES_DIR='$dir' '$0' stop" >/dev/null 2>&1 < /dev/null &
    fi
    echo "export RACECOUNT_SERVICES_DIR='$dir'"
    echo "export RACECOUNT_TEST_POSTGRES='postgres://postgres@/postgres?host=$dir/pg'"
    echo "export RACECOUNT_TEST_REDIS='redis+unix://$dir/redis.sock'"
}

stop() {
    local dir=${RACECOUNT_SERVICES_DIR:-}
    if [ -z "$dir" ] || [ ! -d "$dir" ]; then
        return 0
    fi
    local bin
    if [ -d "$dir/pg/data" ] && bin=$(pg_bin); then
        as_pg "$bin/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -f "$dir/redis.pid" ]; then
        kill "$(cat "$dir/redis.pid")" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) stop ;;
    install) install ;;
    *) say "usage: $0 start [--owner PID] | stop | install"; exit 2 ;;
esac
