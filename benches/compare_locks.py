#!/usr/bin/env python3
"""Driver for compare.sh's lock rows: racecount `-m mutex --lock KIND` against its C counterpart
(benches/locks.c, or baseline.c's mutex for pthread and robust), run alternately, as compare.py
does: each figure is the median over the rounds, the ratio the median of the rounds' ratios.

    compare_locks.py RACECOUNT LOCKS_C BASELINE BASELINE_ROBUST ROUNDS

ns/increment is the gate-to-last-exit time divided by all increments, on both sides. The fair
locks (ticket, bakery) run 10 x 10,000 rather than 10 x 1,000,000: with more workers than CPUs
each hand-over wakes the one worker whose turn it is and waits for it to run (microseconds per
increment). The reference row (pthread 10 x 1,000,000 against baseline.c) runs whatever ONLY
selects.
"""
import json
import os
import re
import statistics
import subprocess
import sys

racecount, locks_c, baseline, robust, rounds = sys.argv[1:6]
rounds = int(rounds)


def run_c(binary, kind, procs, iters, trials):
    out = subprocess.run([binary, kind, str(procs), str(iters), str(trials), "0"],
                         check=True, capture_output=True, text=True).stdout
    return {"ns": float(re.search(r"([0-9.]+) ns/increment", out).group(1)),
            "lossy": int(re.search(r"trials with loss (\d+)/", out).group(1))}


def run_racecount(kind, procs, iters, trials):
    args = [racecount, "-m", "mutex", "--lock", kind, "-p", str(procs), "-i", str(iters),
            "-t", str(trials), "-w", "0", "-f", "json", "-q"]
    doc = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    tr = doc["results"][0]["trials"]
    expected = doc["results"][0]["expected"]
    return {"ns": sum(t["elapsed_ns"] for t in tr) / (expected * len(tr)),
            "lossy": sum(1 for t in tr if t["total"] != expected)}


# (label, target, C thunk, racecount thunk); the first row is the reference
ROWS = []
for procs, iters, trials in ((10, 1_000_000, 3), (2, 1_000_000, 3)):
    size = f"{procs} x {iters:,}"
    ROWS.append((f"pthread {size} vs baseline.c's mutex", 1.1,
                 (lambda p=procs, i=iters, t=trials: run_c(baseline, "mutex", p, i, t)),
                 (lambda p=procs, i=iters, t=trials: run_racecount("pthread", p, i, t))))
    ROWS.append((f"robust {size} vs baseline.c -DROBUST", 1.1,
                 (lambda p=procs, i=iters, t=trials: run_c(robust, "mutex", p, i, t)),
                 (lambda p=procs, i=iters, t=trials: run_racecount("robust", p, i, t))))
    for kind in ("sem", "spin"):
        ROWS.append((f"{kind} {size}", 1.1,
                     (lambda k=kind, p=procs, i=iters, t=trials: run_c(locks_c, k, p, i, t)),
                     (lambda k=kind, p=procs, i=iters, t=trials: run_racecount(k, p, i, t))))
# The fair locks at 10 x 10,000 run 10 trials a side: a trial either runs its workers nearly
# one after another (tens of ns an increment) or hands over at every increment (microseconds),
# in C as in racecount, and 3 trials land on either.
for kind, procs, iters, trials in (("ticket", 2, 1_000_000, 3), ("ticket", 10, 10_000, 10),
                                   ("bakery", 2, 1_000_000, 3), ("bakery", 10, 10_000, 10),
                                   ("peterson", 2, 1_000_000, 3),
                                   ("peterson-nofence", 2, 1_000_000, 3),
                                   ("bakery-nofence", 2, 1_000_000, 3)):
    target = None if kind.endswith("nofence") else 1.1
    ROWS.append((f"{kind} {procs} x {iters:,}", target,
                 (lambda k=kind, p=procs, i=iters, t=trials: run_c(locks_c, k, p, i, t)),
                 (lambda k=kind, p=procs, i=iters, t=trials: run_racecount(k, p, i, t))))

only = os.environ.get("ONLY")
selected = [i for i, row in enumerate(ROWS) if i == 0 or not only or re.search(only, row[0])]
samples = {i: ([], [], [], []) for i in selected}
for r in range(rounds):
    for i in selected:
        _, _, c, ours = ROWS[i]
        order = [(0, c), (1, ours)] if r % 2 == 0 else [(1, ours), (0, c)]
        for side, thunk in order:
            figures = thunk()
            samples[i][side].append(figures["ns"])
            samples[i][side + 2].append(figures["lossy"])
    print(f"round {r + 1}/{rounds} done", file=sys.stderr)

print("| mutex, window 0 | C (ns/increment, median) | racecount (median) | "
      "racecount / C: median (min-max) | target | trials with loss (C / racecount) |")
print("|---|---:|---:|---:|---:|---:|")
for i in selected:
    label, target, _, _ = ROWS[i]
    c, o, c_lossy, o_lossy = samples[i]
    ratios = sorted(x / y for x, y in zip(o, c))
    ratio = statistics.median(ratios)
    tgt = "" if target is None else f"<= {target}" + ("" if ratio <= target else " (NOT MET)")
    print(f"| {label} | {statistics.median(c):.2f} | {statistics.median(o):.2f} | "
          f"{ratio:.2f} ({ratios[0]:.2f}-{ratios[-1]:.2f}) | {tgt} | "
          f"{sum(c_lossy)} / {sum(o_lossy)} |")
