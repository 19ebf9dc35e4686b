#!/usr/bin/env bash
# The whole cost table in one command: racecount against its C counterparts, side by side.
#
#   benches/compare.sh                 # from the repository root
#   SUITE=modes benches/compare.sh     # only the modes, trial and pool rows
#   SUITE=locks benches/compare.sh     # only the --lock rows
#   ONLY='mutex 10' benches/compare.sh # only the rows whose label matches (and the reference rows)
#   ROUNDS=15 benches/compare.sh       # more pairs than the default 9
#   LINK=static benches/compare.sh     # racecount built by benches/build-static.sh instead
#
# racecount is built as a user builds it, `cargo build --release`, unless LINK=static. Every
# row runs racecount and its C counterpart back to back, alternating which goes first, ROUNDS
# times; each figure is the median of its side, the ratio the median of the pairs' ratios
# (racecount / C), shown with the smallest and largest pair. The reference rows (baseline.c's
# trial overhead and mutex) run whatever SUITE or ONLY select. The C programs: benches/baseline.c
# (the reference: modes and the plain mutex; -DROBUST for robust) and benches/locks.c (one C
# counterpart per --lock kind, waiting as racecount's do).
#
# The machine, its load before and after, and how racecount was linked are printed first and
# last: paste them with the table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-9}
if [ "$rounds" -lt 9 ]; then
    echo "compare.sh: ROUNDS=$rounds: fewer than 9 pairs is a quick look, not the table's method" >&2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/baseline" "$root/benches/baseline.c" -lpthread
cc -O2 -DROBUST -o "$work/baseline_robust" "$root/benches/baseline.c" -lpthread
cc -O2 -o "$work/locks" "$root/benches/locks.c" -lpthread

if [ "${LINK:-}" = static ]; then
    racecount=$("$root/benches/build-static.sh")
else
    (cd "$root" && cargo build --release --quiet >&2)
    target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    racecount="$target_dir/release/racecount"
fi
if ldd "$racecount" >/dev/null 2>&1; then linking=dynamic; else linking=static; fi

model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "machine: $(nproc) CPUs ($model), $(uname -sr); racecount linked $linking ($racecount)"
echo "load before: $(uptime)"
echo "rounds: $rounds alternating pairs per row"
echo

suite=${SUITE:-all}
if [ "$suite" != locks ]; then
    python3 "$root/benches/compare.py" "$racecount" "$work/baseline" "$work/baseline_robust" \
        "$root/benches/lesson.py" "$rounds"
    echo
fi
if [ "$suite" != modes ]; then
    python3 "$root/benches/compare_locks.py" "$racecount" "$work/locks" "$work/baseline" \
        "$work/baseline_robust" "$rounds"
    echo
fi
echo "load after: $(uptime)"
