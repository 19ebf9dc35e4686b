#!/usr/bin/env bash
# racecount against its C counterpart (benches/baseline.c), side by side in one run: builds
# both, then runs every row alternately for ROUNDS rounds (default 5) and prints the medians and
# the ratios racecount / baseline as a Markdown table.
#
#   benches/compare.sh                 # from the repository root
#   ROUNDS=9 benches/compare.sh        # more rounds on a noisy machine
#   SUITE=locks benches/compare.sh     # only the --lock rows (SUITE=modes: only the others)
#
# The --lock rows (benches/compare_locks.py) run racecount -m mutex --lock KIND against the C
# counterparts in benches/locks.c (pthread and robust against baseline.c's mutex).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/baseline" "$root/benches/baseline.c" -lpthread
# The same with a robust mutex (racecount's is robust, so that a worker that dies holding it
# cannot hang the others): shows what robustness itself costs.
cc -O2 -DROBUST -o "$work/baseline_robust" "$root/benches/baseline.c" -lpthread
cc -O2 -o "$work/locks" "$root/benches/locks.c" -lpthread

racecount=$("$root/benches/build-static.sh")

suite=${SUITE:-all}
if [ "$suite" != locks ]; then
    python3 "$root/benches/compare.py" "$racecount" "$work/baseline" "$work/baseline_robust" \
        "$root/benches/lesson.py" "${ROUNDS:-5}"
fi
if [ "$suite" != modes ]; then
    python3 "$root/benches/compare_locks.py" "$racecount" "$work/locks" "$work/baseline" \
        "$work/baseline_robust" "${ROUNDS:-5}"
fi
