#!/usr/bin/env bash
# racecount --store against the Python database lesson (benches/db_lesson.py), side by side in
# one run, on SQLite, PostgreSQL and Redis: ms per trial and increments per second per store and
# mode, as a Markdown table. Uses the servers of RACECOUNT_TEST_POSTGRES and RACECOUNT_TEST_REDIS
# when set, else starts private ones with .ci/services.sh (stopped at the end).
#
#   benches/db_compare.sh                  # from the repository root
#   ROUNDS=5 TRIALS=20 benches/db_compare.sh
#
# Needs: pip install "psycopg[binary]" redis
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
cleanup() {
    rm -rf "$work"
    if [ -n "${started:-}" ]; then "$root/.ci/services.sh" stop; fi
}
trap cleanup EXIT
if [ -z "${RACECOUNT_TEST_POSTGRES:-}" ] || [ -z "${RACECOUNT_TEST_REDIS:-}" ]; then
    eval "$("$root/.ci/services.sh" start)"
    started=1
fi
racecount=$(cd "$root" && cargo build --release --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "racecount" \
            and m.get("executable"):
        print(m["executable"])')
python3 "$root/benches/db_compare.py" "$racecount" "${ROUNDS:-3}" "${TRIALS:-10}" "$work" \
    "$RACECOUNT_TEST_POSTGRES" "$RACECOUNT_TEST_REDIS"
