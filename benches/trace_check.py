#!/usr/bin/env python3
"""Checks racecount --trace independently: every worker it names is the one the trace proves.

For each configuration of a sweep (procs 2-16, iters 5-2000, windows 0/1us/yield, processes
and threads, unlocked and per-access, free and scheduled) it runs

    racecount ARGS -t 1 --trace --export-json FILE        (human text on stdout)

then, from the raw `entries` of FILE alone (no racecount code):

- follows the recorded links (`overwrote`: the write each write replaced) into one chain and
  checks it: one write replaced the initial 0, none replaced the same write twice, every write
  is reached, each write replaced the value its predecessor wrote, each read's value is what
  its `read_from` wrote, and each worker's read comes at or after its own previous write (and
  its write after what it read) in the chain — cache coherence;
- under --schedule, checks the chain is the order of the writes' step numbers;
- replays the chain on a model counter and derives every collision group, every stale
  write's victim, every restore's source and that source's kind;
- checks racecount's json explanation names exactly those, and every loss line of its human
  text (collision, stale write, restore) states only what the model derived;
- replays the run with `racecount --replay FILE --format json` and checks the same total, the
  same explanation (times aside) and `differing_writes` 0.

Python 3.11, standard library only.

    benches/trace_check.py [--bin PATH] [--repeat N]

prints one line per configuration and a total; exit 1 if anything failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

WINDOWS = ["0", "1us", "yield"]
SIZES = [(2, 2000), (3, 50), (4, 300), (10, 20), (16, 5), (8, 100)]


def configs():
    """(label, args) for every configuration: each racy mode at each size and window, as
    processes and as threads; and each mode under three schedules."""
    for mode in ["unlocked", "per-access"]:
        for procs, iters in SIZES:
            for window in WINDOWS:
                for threads in ["", " --threads"]:
                    yield f"-m {mode} -p {procs} -i {iters} -w {window}{threads}"
        for procs, iters in [(3, 50), (10, 20), (16, 5)]:
            for schedule in ["random --seed 1", "pct:3 --seed 2", "lockstep"]:
                yield f"-m {mode} -p {procs} -i {iters} --schedule {schedule}"


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def wid(w):
    return None if w is None else (w["worker"], w["seq"])


def chain(entries):
    """The writes in the order their links record, checked; a list of entries."""
    by_id = {(e["worker"], e["seq"]): e for e in entries}
    check(len(by_id) == len(entries), "a write twice")
    nxt = {}
    for e in entries:
        before = wid(e["overwrote"])
        check(before not in nxt, f"two writes replaced {before}")
        check(before is None or before in by_id, f"{before} is not in the trace")
        nxt[before] = (e["worker"], e["seq"])
        src = wid(e["read_from"])
        check(src is None or src in by_id, f"read source {src} is not in the trace")
        check(e["read"] == (0 if src is None else by_id[src]["wrote"]), "a read's value")
        check(e["wrote"] == e["read"] + 1, "a write of read + 1")
    order, at = [], None
    while at in nxt:
        at = nxt[at]
        order.append(by_id[at])
    check(len(order) == len(entries), f"the chain reaches {len(order)} of {len(entries)}")
    pos = {(e["worker"], e["seq"]): i for i, e in enumerate(order)}
    last = {}
    for i, e in enumerate(order):
        prev_value = 0 if i == 0 else order[i - 1]["wrote"]
        check(e["prev"] == prev_value, "a write replaced a value its predecessor did not write")
        src = wid(e["read_from"])
        src_at = -1 if src is None else pos[src]
        mine = last.get(e["worker"], -1)
        check(src_at >= mine, "a read older than its worker's previous write")
        check(src_at < i, "a write before the write it read")
        check(e["seq"] == (0 if e["worker"] not in last else order[mine]["seq"] + 1),
              "a worker's writes out of order")
        last[e["worker"]] = i
    return order


def model(order):
    """Collision groups, stale (write, victim), restores (write, source, source kind)."""
    groups, stale, restores, kinds = [], [], [], {}
    episode = False
    clean = 0
    for i, e in enumerate(order):
        me = (e["worker"], e["seq"])
        before = None if i == 0 else (order[i - 1]["worker"], order[i - 1]["seq"])
        if e["prev"] == e["read"]:
            kind = "clean"
            clean += 1
        elif e["prev"] == e["read"] + 1:
            kind = "collision"
            if not episode:
                groups.append({"read": e["read"], "writes": [before]})
            groups[-1]["writes"].append(me)
        elif e["prev"] > e["read"]:
            kind = "stale"
            stale.append((me, before))
        else:
            kind = "restore"
            restores.append((me, before, kinds[before]))
        episode = kind == "collision"
        kinds[me] = kind
    return clean, groups, stale, restores


def check_json(x, clean, groups, stale, restores):
    check(x["clean"] == clean, "clean count")
    named = [[wid(w) for w in c["writes"]] for c in x["collisions"]]
    check(named == [g["writes"] for g in groups], "collision groups")
    for c, g in zip(x["collisions"], groups):
        check(len(set(w[0] for w in g["writes"])) >= 2, "a group of one worker")
        check(c["workers"] == sorted(set(w[0] for w in g["writes"])), "a group's workers")
        check(c["lost"] == len(g["writes"]) - 1, "a group's losses")
    check([((s["worker"], s["seq"]), wid(s["overwrote"])) for s in x["stale"]] == stale,
          "stale writes' victims")
    check([((r["worker"], r["seq"]), wid(r["overwrote"]), r["overwrote_kind"])
           for r in x["restores"]] == restores, "restores' sources")
    return sum(len(g["writes"]) for g in groups) + len(stale) + len(restores)


def check_text(text, groups, stale, restores, order):
    """Every loss line says only what the model derived. Returns the lines checked."""
    facts_groups = {}
    for g in groups:
        facts_groups.setdefault(g["read"], []).append(sorted(set(w[0] for w in g["writes"])))
    value = {(e["worker"], e["seq"]): e for e in order}
    stale_facts = {(w[0], value[w]["read"], value[w]["prev"], v[0]) for w, v in stale}
    restore_facts = {(w[0], value[w]["read"], value[w]["prev"], s[0], k)
                     for w, s, k in restores}
    kind_words = {"stale write": "stale", "restore": "restore", "write": None}
    lines = 0
    for line in text.splitlines():
        m = re.match(r"  workers ([\d, and]+) (?:both|all) read (\d+) and wrote", line)
        if m:
            workers = sorted(int(w) for w in re.findall(r"\d+", m.group(1)))
            check(workers in facts_groups.get(int(m.group(2)), []), f"unproven: {line}")
            lines += 1
            continue
        m = re.match(r"  workers ([\d, and]+) (?:both|all) read v and wrote v\+1, for every v "
                     r"from (\d+) to (\d+)", line)
        if m:
            workers = sorted(int(w) for w in re.findall(r"\d+", m.group(1)))
            for v in range(int(m.group(2)), int(m.group(3)) + 1):
                check(workers in facts_groups.get(v, []), f"unproven at {v}: {line}")
            lines += 1
            continue
        m = re.match(r"  worker (\d+) read (\d+), waited \S+, wrote \d+ over the (\d+) "
                     r"worker (\d+) wrote", line)
        if m:
            fact = tuple(int(x) for x in m.groups())
            check(fact in stale_facts, f"unproven: {line}")
            lines += 1
            continue
        m = re.match(r"  worker (\d+) read (\d+) and wrote \d+ over (\d+), left by worker "
                     r"(\d+)'s (stale write|restore|write):", line)
        if m:
            a, r, p, b, what = m.groups()
            fact = (int(a), int(r), int(p), int(b))
            kinds = {k for (x, y, z, w, k) in restore_facts if (x, y, z, w) == fact}
            check(kinds, f"unproven: {line}")
            expected = kind_words[what]
            check(expected is None and kinds & {"clean", "collision"} or expected in kinds,
                  f"wrong kind: {line}")
            lines += 1
    return lines


def without_times(x):
    x = json.loads(json.dumps(x))
    for s in x["stale"]:
        s["waited_ns"] = None
    return x


def one(binary, args, scheduled, tmp):
    path = os.path.join(tmp, "trace.json")
    cmd = [binary] + args.split() + ["-t", "1", "--trace", "--export-json", path, "-q",
                                     "--color", "never"]
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ,
                                                                   "COLUMNS": "200"})
    check(out.returncode == 0, f"racecount exited {out.returncode}: {out.stderr.strip()}")
    doc = json.load(open(path))
    result = doc["results"][0]
    traced = result["traced"]
    order = chain(traced["entries"])
    check(order[-1]["wrote"] == traced["total"], "the chain ends at the total")
    if scheduled:
        steps = [e["step"] for e in order]
        check(steps == sorted(steps), "the chain is not the schedule's order")
    clean, groups, stale, restores = model(order)
    named = check_json(traced["explanation"], clean, groups, stale, restores)
    lines = check_text(out.stdout, groups, stale, restores, order)
    again = subprocess.run([binary, "--replay", path, "--format", "json"], capture_output=True,
                           text=True)
    check(again.returncode == 0, f"--replay exited {again.returncode}: {again.stderr.strip()}")
    replayed = json.loads(again.stdout)["results"][0]
    check(replayed["replay"]["differing_writes"] == 0, "the replay differs")
    check(replayed["traced"]["total"] == traced["total"], "the replay's total")
    check(without_times(replayed["traced"]["explanation"])
          == without_times(traced["explanation"]), "the replay's explanation")
    lost = result["expected"] - traced["total"]
    return named, lines, lost


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default="target/release/racecount")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each configuration")
    a = parser.parse_args()
    runs = failures = named = lines = lossy = 0
    with tempfile.TemporaryDirectory() as tmp:
        for args in configs():
            scheduled = "--schedule" in args
            cfg = [0, 0, 0, 0, 0]
            for _ in range(a.repeat):
                try:
                    n, l, lost = one(a.bin, args, scheduled, tmp)
                    cfg[1] += n
                    cfg[2] += l
                    cfg[3] += lost > 0
                except Fail as e:
                    cfg[4] += 1
                    print(f"FAIL {args}: {e}", file=sys.stderr)
                cfg[0] += 1
            runs += cfg[0]
            named += cfg[1]
            lines += cfg[2]
            lossy += cfg[3]
            failures += cfg[4]
            print(f"{args:55} runs {cfg[0]:3}  lossy {cfg[3]:3}  named writes {cfg[1]:6}  "
                  f"loss lines {cfg[2]:4}  failures {cfg[4]}")
    print(f"total: {runs} traced runs ({lossy} lost updates), {named} named writes and "
          f"{lines} text lines checked, {runs} replays, {failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
