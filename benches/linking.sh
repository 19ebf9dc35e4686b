#!/usr/bin/env bash
# Static against dynamic linking, side by side in one run: builds racecount both ways, then
# runs the trial-overhead row (atomic 10 x 1, window 0, 300 trials) and the lesson row
# (unlocked 10 x 20, window 1us, 100 trials) on each, alternating, for ROUNDS rounds (default 5),
# and prints the median ms per trial and the median of the rounds' ratios static / dynamic.
#
#   benches/linking.sh                 # from the repository root
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
static=$("$root/benches/build-static.sh")
(cd "$root" && cargo build --release --quiet)
dynamic=$(dirname "$(dirname "$(dirname "$static")")")/release/racecount

python3 - "$static" "$dynamic" "${ROUNDS:-5}" <<'PY'
import json, statistics, subprocess, sys

static, dynamic, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [("atomic 10 x 1, window 0", ["-m", "atomic", "-p", "10", "-i", "1", "-w", "0", "-t", "300"]),
        ("unlocked 10 x 20, window 1us", ["-m", "unlocked", "-p", "10", "-i", "20", "-w", "1us",
                                          "-t", "100"])]

def ms_per_trial(binary, args):
    out = subprocess.run([binary, *args, "-f", "json", "-q"], check=True, capture_output=True,
                         text=True).stdout
    trials = json.loads(out)["results"][0]["trials"]
    return sum(t["wall_ns"] for t in trials) / len(trials) / 1e6

print("| trial (ms/trial) | static | dynamic | static / dynamic | ratios seen |")
print("|---|---:|---:|---:|---:|")
for label, args in rows:
    s, d = [], []
    for r in range(rounds):
        pair = [(s, static), (d, dynamic)]
        for into, binary in (pair if r % 2 == 0 else pair[::-1]):
            into.append(ms_per_trial(binary, args))
    ratios = sorted(a / b for a, b in zip(s, d))
    print(f"| {label} | {statistics.median(s):.3f} | {statistics.median(d):.3f} | "
          f"{statistics.median(ratios):.2f} | {ratios[0]:.2f}-{ratios[-1]:.2f} |")
PY
