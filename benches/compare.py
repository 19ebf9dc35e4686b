#!/usr/bin/env python3
"""Driver for compare.sh: runs racecount and the C baseline alternately and prints ratios.

    compare.py RACECOUNT BASELINE BASELINE_ROBUST LESSON_PY ROUNDS

Figures are computed the same way on both sides: ms per trial is the mean of fork-to-reap time
per trial; ns per increment is the summed gate-to-last-exit time divided by all increments.
Each row runs ROUNDS alternating pairs; the ratio is the median of the pairs' ratios, shown
with the smallest and largest. The reference rows run whatever ONLY selects.
"""
import json
import re
import os
import statistics
import subprocess
import sys
import time

racecount, baseline, robust, lesson, rounds = sys.argv[1:6]
rounds = int(rounds)


def run_baseline(binary, mode, procs, iters, trials, window_ns):
    out = subprocess.run([binary, mode, str(procs), str(iters), str(trials), str(window_ns)],
                         check=True, capture_output=True, text=True).stdout
    ms = float(re.search(r"([0-9.]+) ms/trial", out).group(1))
    ns = float(re.search(r"([0-9.]+) ns/increment", out).group(1))
    lossy = int(re.search(r"trials with loss (\d+)/", out).group(1))
    mean = float(re.search(r"mean=([0-9.]+)", out).group(1))
    return {"ms_per_trial": ms, "ns_per_increment": ns, "lossy": lossy, "mean_total": mean,
            "elapsed_us": ns * procs * iters / 1e3}


def run_racecount(mode, procs, iters, trials, window, pool=False, lock="pthread"):
    args = [racecount, "-m", mode, "--lock", lock, "-p", str(procs), "-i", str(iters),
            "-t", str(trials), "-w", window, "-f", "json", "-q"]
    if pool:
        args.append("--pool")
    start = time.perf_counter()
    doc = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    seconds = time.perf_counter() - start
    res = doc["results"][0]
    tr = res["trials"]
    expected = res["expected"]
    return {
        "ms_per_trial": sum(t["wall_ns"] for t in tr) / len(tr) / 1e6,
        "ns_per_increment": sum(t["elapsed_ns"] for t in tr) / (expected * len(tr)),
        "lossy": sum(1 for t in tr if t["total"] != expected),
        "mean_total": sum(t["total"] for t in tr) / len(tr),
        "elapsed_us": statistics.median(t["elapsed_ns"] for t in tr) / 1e3,
        "totals": sorted(t["total"] for t in tr),
        "seconds": seconds,
    }


def run_lesson(mode, procs, iters, trials):
    out = subprocess.run([sys.executable, lesson, mode, str(procs), str(iters), str(trials)],
                         check=True, capture_output=True, text=True).stdout
    return {"ms_per_trial": float(re.search(r"([0-9.]+) ms/trial", out).group(1))}


# (label, metric, target ratio or None, baseline thunk, racecount thunk, reference row)
ROWS = [
    ("trial overhead: atomic 10 x 1, window 0 (ms/trial)", "ms_per_trial", 1.1,
     lambda: run_baseline(baseline, "atomic", 10, 1, 300, 0),
     lambda: run_racecount("atomic", 10, 1, 300, "0"), True),
    ("lesson trial: unlocked 10 x 20, window 1us (ms/trial)", "ms_per_trial", 1.1,
     lambda: run_baseline(baseline, "unlocked", 10, 20, 100, 1000),
     lambda: run_racecount("unlocked", 10, 20, 100, "1us"), False),
]
for procs in (10, 2):
    for mode in ("unlocked", "per-access", "mutex", "atomic"):
        ROWS.append((f"{mode} {procs} x 1,000,000, window 0 (ns/increment)", "ns_per_increment",
                     1.1,
                     (lambda m=mode, p=procs: run_baseline(baseline, m, p, 1_000_000, 3, 0)),
                     (lambda m=mode, p=procs: run_racecount(m, p, 1_000_000, 3, "0")),
                     mode == "mutex" and procs == 10))
for mode in ("per-access", "mutex"):
    ROWS.append((f"{mode} 10 x 1,000,000, --lock robust vs baseline.c -DROBUST (ns/increment)",
                 "ns_per_increment", 1.1,
                 (lambda m=mode: run_baseline(robust, m, 10, 1_000_000, 3, 0)),
                 (lambda m=mode: run_racecount(m, 10, 1_000_000, 3, "0", lock="robust")),
                 False))
ROWS.append(("Python lesson (multiprocessing.Value) vs racecount: unlocked 10 x 20 (ms/trial)",
             "ms_per_trial", None,
             lambda: run_lesson("unlocked", 10, 20, 10),
             lambda: run_racecount("unlocked", 10, 20, 100, "1us"), False))

# ONLY=regex runs the rows whose label matches, and the reference rows.
only = os.environ.get("ONLY")
selected = [i for i, row in enumerate(ROWS) if not only or row[5] or re.search(only, row[0])]
samples = {i: ([], []) for i in selected}
lesson_row = 1
losses = {"baseline": [], "racecount": []}
for r in range(rounds):
    for i in selected:
        _, metric, _, base, ours, _ = ROWS[i]
        order = [(0, base), (1, ours)] if r % 2 == 0 else [(1, ours), (0, base)]
        for side, thunk in order:
            figures = thunk()
            samples[i][side].append(figures[metric])
            if i == lesson_row:
                losses["baseline" if side == 0 else "racecount"].append(
                    (figures["lossy"], figures["mean_total"]))
    print(f"round {r + 1}/{rounds} done", file=sys.stderr)


def spread(values, digits=2):
    """median (min-max) of `values`."""
    v = sorted(values)
    return f"{statistics.median(v):.{digits}f} ({v[0]:.{digits}f}-{v[-1]:.{digits}f})"


# The ratio is the median of the rounds' ratios: each round's pair runs back to back, so a
# change in the machine's state between rounds (a shared VM's vCPUs move) cancels out.
print("| row | C (median) | racecount (median) | racecount / C: median (min-max) | target | met |")
print("|---|---:|---:|---:|---:|:-:|")
for i in selected:
    label, _, target, _, _, _ = ROWS[i]
    b, o = samples[i]
    ratios = [x / y for x, y in zip(o, b)]
    ratio = statistics.median(ratios)
    met = "" if target is None else ("yes" if ratio <= target else "NO")
    tgt = "" if target is None else f"<= {target}"
    print(f"| {label} | {statistics.median(b):.3f} | {statistics.median(o):.3f} | "
          f"{spread(ratios)} | {tgt} | {met} |")
if only:
    sys.exit(0)

print()
if lesson_row in samples:
    for side in ("baseline", "racecount"):
        lossy = [l for l, _ in losses[side]]
        means = [m for _, m in losses[side]]
        print(f"lesson settings, {side}: trials with loss per 100: {lossy}, mean totals "
              f"{[round(m, 1) for m in means]}")


# Worker pool: 10000 trials at the lesson's settings and at window 0, each run ROUNDS times
# (no C counterpart: the targets are absolute), against fork-per-trial.
def quantiles(totals):
    n = len(totals)
    return " / ".join(str(totals[min(n - 1, int(q * n))]) for q in (0, 0.1, 0.25, 0.5, 0.75, 0.9))


pool_rows = [("--pool, 10000 trials, unlocked 10 x 20, window 1us", "1us", 1.3),
             ("--pool, 10000 trials, unlocked 10 x 20, window 0", "0", 0.25)]
pool_seconds = {label: [] for label, _, _ in pool_rows}
last = {}
for r in range(rounds):
    for label, window, _ in (pool_rows if r % 2 == 0 else pool_rows[::-1]):
        last[label] = run_racecount("unlocked", 10, 20, 10000, window, pool=True)
        pool_seconds[label].append(last[label]["seconds"])
print()
print("| pool row (s wall) | median (min-max) | target | met |")
print("|---|---:|---:|:-:|")
for label, _, target in pool_rows:
    med = statistics.median(pool_seconds[label])
    print(f"| {label} | {spread(pool_seconds[label])} | <= {target} s | "
          f"{'yes' if med <= target else 'NO'} |")
fork = run_racecount("unlocked", 10, 20, 1000, "1us")
for name, res, n in (("--pool, 10000 trials (last run)", last[pool_rows[0][0]], 10000),
                     ("fork per trial, 1000 trials", fork, 1000)):
    print(f"\n{name}, unlocked 10 x 20, window 1us: {res['seconds']:.2f} s wall "
          f"({res['ms_per_trial'] * 1000:.0f} us/trial, racing part {res['elapsed_us']:.0f} us "
          f"median), loss in {res['lossy']}/{n}, mean total {res['mean_total']:.1f}, "
          f"min / p10 / p25 / median / p75 / p90 of totals: {quantiles(res['totals'])}")
cpus = os.cpu_count()
print(f"\nfloor: 10 x 20 increments x 1us of busy-waiting = 200 us of CPU per trial; on {cpus} "
      f"cores at least {200 / cpus:.0f} us per trial, {200 / cpus * 10000 / 1e6:.2f} s for 10000 "
      f"trials before any other cost")

# Peak memory of racecount (GNU time's %M: the largest RSS of racecount and its workers, so an
# upper bound for racecount's own).
if os.path.exists("/usr/bin/time"):
    def peak(args):
        out = subprocess.run(["/usr/bin/time", "-f", "%M", racecount] + args,
                             capture_output=True, text=True)
        return int(out.stderr.strip().splitlines()[-1])
    print(f"\npeak RSS, -p 10 -t 10: {peak(['-p', '10', '-t', '10']) / 1024:.1f} MiB")
    print(f"peak RSS, -p 10 -t 10000 -m atomic -w 0 --format totals: "
          f"{peak(['-p', '10', '-t', '10000', '-m', 'atomic', '-w', '0', '-f', 'totals']) / 1024:.1f} MiB")
    print(f"peak RSS, -p 10 -t 1000000 -m unlocked --format totals --pool -w 0: "
          f"{peak(['-p', '10', '-t', '1000000', '-m', 'unlocked', '-f', 'totals', '--pool', '-w', '0']) / 1024:.1f} MiB")
