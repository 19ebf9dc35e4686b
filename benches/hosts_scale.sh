#!/usr/bin/env bash
# A joined run of HOSTS racecounts x PROCS workers on one PostgreSQL and one Redis (the servers
# of .ci/services.sh, or RACECOUNT_TEST_POSTGRES / RACECOUNT_TEST_REDIS): trials per second,
# the connections the server held at the peak, the statements or commands it ran per increment,
# and where a trial's time goes (forking and connecting, the gates, the race).
#
#   eval "$(.ci/services.sh start)"; benches/hosts_scale.sh
#   HOSTS=8 PROCS=25 ITERS=20 TRIALS=5 MODES=unlocked,mutex,atomic benches/hosts_scale.sh
set -euo pipefail
cd "$(dirname "$0")/.."
HOSTS=${HOSTS:-8} PROCS=${PROCS:-25} ITERS=${ITERS:-20} TRIALS=${TRIALS:-5}
MODES=${MODES:-unlocked,mutex,atomic}
cargo build --release -q
bin=target/release/racecount
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
peak_postgres() { psql "$RACECOUNT_TEST_POSTGRES" -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'racecount%'"; }
peak_redis() { redis-cli -s "${RACECOUNT_TEST_REDIS#redis+unix://}" info clients | sed -n 's/^connected_clients:\([0-9]*\).*/\1/p'; }
for store in ${STORES:-postgres redis}; do
    if [ $store = postgres ]; then url=$RACECOUNT_TEST_POSTGRES; else url=$RACECOUNT_TEST_REDIS; fi
    if [ $store = postgres ]; then
        before=$(psql "$url" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
    else
        redis-cli -s "${url#redis+unix://}" config resetstat >/dev/null
    fi
    name=scale$$$store
    start=$(date +%s.%N)
    pids=()
    for h in $(seq "$HOSTS"); do
        "$bin" --store "$url" --join "$name" --hosts "$HOSTS" -p "$PROCS" -i "$ITERS" \
            -t "$TRIALS" -m "$MODES" -f json --timeout 60s >"$out/$store.$h" 2>"$out/$store.$h.err" &
        pids+=($!)
    done
    peak=0
    while kill -0 "${pids[@]}" 2>/dev/null; do
        n=$(peak_$store 2>/dev/null || echo 0)
        [ "${n:-0}" -gt "$peak" ] && peak=$n
        sleep 0.2
    done
    wait
    end=$(date +%s.%N)
    if [ $store = postgres ]; then
        after=$(psql "$url" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        calls="transactions: $((after - before))"
    else
        calls=$(redis-cli -s "${url#redis+unix://}" info commandstats \
            | sed -n 's/^cmdstat_\([a-z]*\):calls=\([0-9]*\).*/\1=\2/p' | tr '\n' ' ')
    fi
    echo "== $store: $HOSTS hosts x $PROCS procs x $ITERS iters, $TRIALS trials of $MODES; whole run $(echo "$end - $start" | bc) s; peak connections $peak"
    echo "   server calls: $calls"
    python3 - "$out/$store.1" "$HOSTS" "$PROCS" "$ITERS" <<'PY'
import json, statistics, sys
doc = json.load(open(sys.argv[1]))
hosts, procs, iters = map(int, sys.argv[2:5])
for r in doc["results"]:
    t = r["trials"]
    wall = statistics.median(x["wall_ns"] for x in t) / 1e6
    race = statistics.median(x["elapsed_ns"] for x in t) / 1e6
    totals = [x["total"] for x in t]
    print(f"   {r['mode']:<10} totals {min(totals)}-{max(totals)} of {hosts*procs*iters}; "
          f"median trial {wall:.0f} ms on host 1 (fork, connect, gates: {wall-race:.0f} ms; "
          f"race: {race:.0f} ms); {1000/wall:.2f} trials/s")
PY
done
