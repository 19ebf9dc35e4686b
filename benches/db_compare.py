#!/usr/bin/env python3
"""racecount --store against benches/db_lesson.py, side by side in one run (db_compare.sh).

    python3 benches/db_compare.py RACECOUNT ROUNDS TRIALS SQLITE_DIR POSTGRES_URL REDIS_URL

For every store and mode, ROUNDS rounds, each running racecount then the Python script for
TRIALS trials of 10 procs x 20 increments. Prints a Markdown table of the medians over rounds:
ms per trial (process start to the last exit: racecount's wall time, the script's join), the
increments per second that makes, and the totals each saw.
"""
import json
import re
import statistics
import subprocess
import sys

PROCS, ITERS = 10, 20
MODES = ["unlocked", "per-access", "mutex", "atomic"]


def racecount(binary, store, mode, trials, isolation):
    extra = ["--isolation", isolation] if isolation else []
    out = subprocess.run(
        [binary, "--store", store, "-m", mode, "-p", str(PROCS), "-i", str(ITERS),
         "-t", str(trials), "-f", "json"] + extra,
        check=True, capture_output=True, text=True,
    ).stdout
    trials = json.loads(out)["results"][0]["trials"]
    ms = statistics.mean(t["wall_ns"] for t in trials) / 1e6
    return ms, [t["total"] for t in trials], sum(t["retries"] for t in trials)


def python(script, store, mode, trials, isolation):
    extra = [isolation] if isolation else []
    out = subprocess.run(
        [sys.executable, script, store, mode, str(PROCS), str(ITERS), str(trials)] + extra,
        check=True, capture_output=True, text=True,
    ).stdout
    ms = float(re.search(r"([0-9.]+) ms/trial", out).group(1))
    lo, hi = re.search(r"min=(\d+) .* max=(\d+) of", out).groups()
    retries = int(re.search(r"retries (\d+)", out).group(1))
    return ms, [int(lo), int(hi)], retries


def main():
    binary, rounds, trials, sqlite_dir, pg, redis = sys.argv[1:7]
    rounds, trials = int(rounds), int(trials)
    script = __file__.replace("db_compare.py", "db_lesson.py")
    stores = [
        ("SQLite", f"sqlite:{sqlite_dir}/lesson.db", None, MODES),
        ("PostgreSQL", pg, None, MODES),
        ("PostgreSQL serializable", pg, "serializable", ["per-access", "mutex"]),
        ("Redis", redis, None, MODES),
    ]
    print(f"{PROCS} procs x {ITERS} increments, {trials} trials per run, median of {rounds} "
          "alternating rounds\n")
    print("| store | mode | racecount ms/trial | Python ms/trial | Python / racecount "
          "| racecount increments/s | Python increments/s | racecount totals | Python totals "
          "| retries (racecount / Python) |")
    print("|:--|:--|--:|--:|--:|--:|--:|:--|:--|--:|")
    for label, store, isolation, modes in stores:
        for mode in modes:
            ours, theirs = [], []
            our_totals, their_totals, our_retries, their_retries = [], [], 0, 0
            for _ in range(rounds):
                ms, totals, retries = racecount(binary, store, mode, trials, isolation)
                ours.append(ms)
                our_totals += totals
                our_retries += retries
                ms, totals, retries = python(script, store, mode, trials, isolation)
                theirs.append(ms)
                their_totals += totals
                their_retries += retries
            a, b = statistics.median(ours), statistics.median(theirs)
            span = lambda t: f"{min(t)}–{max(t)}" if min(t) != max(t) else str(t[0])
            print(f"| {label} | {mode} | {a:.1f} | {b:.1f} | {b / a:.2f} | "
                  f"{PROCS * ITERS / a * 1000:,.0f} | {PROCS * ITERS / b * 1000:,.0f} | "
                  f"{span(our_totals)} | {span(their_totals)} | {our_retries} / {their_retries} |",
                  flush=True)


if __name__ == "__main__":
    main()
