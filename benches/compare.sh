#!/usr/bin/env bash
# racecount against its C counterpart (benches/baseline.c), side by side in one run: builds
# both, then runs every row alternately for ROUNDS rounds (default 5) and prints the medians and
# the ratios racecount / baseline as a Markdown table.
#
#   benches/compare.sh                 # from the repository root
#   ROUNDS=9 benches/compare.sh        # more rounds on a noisy machine
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/baseline" "$root/benches/baseline.c" -lpthread
# The same with a robust mutex (racecount's is robust, so that a worker that dies holding it
# cannot hang the others): shows what robustness itself costs.
cc -O2 -DROBUST -o "$work/baseline_robust" "$root/benches/baseline.c" -lpthread

racecount=$("$root/benches/build-static.sh")

python3 "$root/benches/compare.py" "$racecount" "$work/baseline" "$work/baseline_robust" \
    "$root/benches/lesson.py" "${ROUNDS:-5}"
