#!/usr/bin/env bash
# racecount against the C measuring stick (../shared/baseline/baseline.c), side by side in one
# run: builds both, then runs every row alternately for ROUNDS rounds (default 5) and prints the
# medians and the ratios racecount / baseline as a Markdown table.
#
#   benches/compare.sh                 # from the repository root
#   ROUNDS=9 benches/compare.sh        # more rounds on a noisy machine
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
baseline_src=${BASELINE_SRC:-$root/../shared/baseline/baseline.c}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/baseline" "$baseline_src" -lpthread
# The same baseline with a robust mutex (racecount's is robust, so that a worker that dies
# holding it cannot hang the others): shows what robustness itself costs.
sed 's/pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);/&\n    pthread_mutexattr_setrobust(\&attr, PTHREAD_MUTEX_ROBUST);/' \
    "$baseline_src" > "$work/baseline_robust.c"
cc -O2 -o "$work/baseline_robust" "$work/baseline_robust.c" -lpthread

# The binary's path as cargo reports it (the target triple is in it, see .cargo/config.toml).
racecount=$(cd "$root" && cargo build --release --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "racecount" \
            and m.get("executable"):
        print(m["executable"])')

python3 "$root/benches/compare.py" "$racecount" "$work/baseline" "$work/baseline_robust" \
    "$root/benches/lesson.py" "${ROUNDS:-5}"
