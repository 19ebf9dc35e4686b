#!/usr/bin/env python3
"""Checks racecount --trace's collision groups against the raw trace, independently.

Runs `racecount ARGS -t 1 --trace --format json` many times; for every traced trial it takes
the raw `entries` only, rebuilds the real order of the writes itself, replays it on a model
counter and classifies every write from the counter. Then it checks racecount's own
`explanation`:

- every collision write's partner (the write right before it in the real order) is named in
  the same group as the write;
- no group names a worker (or a write) that took no part in that episode;
- no group has one worker;
- every stale write names the write right before it.

Where several orders fit the values, it picks the one README documents (of the writes that
fit, the earliest-stamped first, then the lowest-numbered worker, backtracking from dead
ends), so it needs racecount's code for nothing. Python 3.11, standard library only.

    benches/trace_check.py [--runs N] [--bin PATH]

prints one line per configuration and a total; exit 1 if anything failed. Each line also
says in how many traces sorting the writes by their clock times would break the chain of
values, and the largest time by which a write was stamped before one that preceded it.
"""

import argparse
import json
import subprocess
import sys

CONFIGS = [
    ("unlocked", "-p 3 -i 50 -w yield"),
    ("unlocked", "-p 10 -i 20"),
    ("unlocked", "-p 4 -i 2000 -w 1us"),
    ("unlocked", "-p 2 -i 20000 -w 0"),
    ("per-access", "-p 3 -i 50 -w yield"),
    ("per-access", "-p 10 -i 20"),
    ("per-access", "-p 4 -i 2000 -w 1us"),
    ("per-access", "-p 2 -i 20000 -w 0"),
    ("mutex", "-p 3 -i 50 -w yield"),
    ("mutex", "-p 4 -i 2000 -w 1us"),
    ("atomic", "-p 3 -i 50 -w yield"),
    ("atomic", "-p 2 -i 20000 -w 0"),
]
FEW = 5  # runs of the modes that lose nothing


def rebuild(entries, undone):
    """One order of the writes that chains their values (indices into entries); counts the
    steps it undid in undone[0]."""
    lanes = {}
    for i, e in enumerate(entries):
        lanes.setdefault(e["worker"], []).append(i)
    lanes = [sorted(v, key=lambda i: entries[i]["seq"]) for _, v in sorted(lanes.items())]
    n = len(entries)
    nxt = [0] * len(lanes)
    since = [0] * len(lanes)  # position of the lane's last write (0: the start)
    history = [0]  # counter value after each position
    where = {0: [0]}  # value -> positions at which the counter took it
    order = []
    stack = []  # (lane, old since, untried lanes)

    def head(l):
        return entries[lanes[l][nxt[l]]] if nxt[l] < len(lanes[l]) else None

    def fits(l):
        e = head(l)
        if e is None or e["prev"] != history[-1]:
            return False
        at = where.get(e["read"])
        return bool(at) and at[-1] >= since[l]

    def place(l, rest):
        stack.append((l, since[l], rest))
        i = lanes[l][nxt[l]]
        order.append(i)
        nxt[l] += 1
        history.append(entries[i]["wrote"])
        since[l] = len(history) - 1
        where.setdefault(entries[i]["wrote"], []).append(len(history) - 1)

    def undo():
        l, old, rest = stack.pop()
        where[history[-1]].pop()
        history.pop()
        order.pop()
        nxt[l] -= 1
        since[l] = old
        return rest

    steps = 0
    while len(order) < n:
        steps += 1
        if steps > 10 * n + 1_000_000:
            raise RuntimeError("search too long")
        cands = sorted((l for l in range(len(lanes)) if fits(l)),
                       key=lambda l: (head(l)["t_write_ns"], head(l)["worker"]))
        if cands:
            place(cands[0], cands[1:])
        else:
            while True:
                if not stack:
                    raise RuntimeError("no order fits")
                rest = undo()
                undone[0] += 1
                if rest:
                    place(rest[0], rest[1:])
                    break
    return order


def check(entries, explanation):
    """(collision writes checked, failure messages) for one traced trial."""
    undone = [0]
    order = rebuild(entries, undone)
    key = lambda e: (e["worker"], e["seq"])
    failures = []
    # The model: the counter before each write decides its class.
    counter = 0
    partner_of = {}  # collision write -> partner
    episode = {}  # write -> episode number, for collision writes and their first writer
    stale_before = {}
    episodes = 0
    prev_write = None
    prev_was_collision = False
    for i in order:
        e = entries[i]
        if e["prev"] != counter:
            failures.append(f"order broken at {key(e)}")
        if counter == e["read"] + 1:
            partner_of[key(e)] = prev_write
            if not prev_was_collision:
                episodes += 1
                episode[prev_write] = episodes
            episode[key(e)] = episodes
            prev_was_collision = True
        else:
            if counter > e["read"]:
                stale_before[key(e)] = prev_write
            prev_was_collision = False
        counter = e["wrote"]
        prev_write = key(e)
    # racecount's groups, by write.
    group_of = {}
    for g, c in enumerate(explanation["collisions"]):
        writes = [(w["worker"], w["seq"]) for w in c["writes"]]
        named = set(c["workers"])
        if len(named) < 2:
            failures.append(f"group of one worker: {c}")
        if named != {w for w, _ in writes}:
            failures.append(f"workers {sorted(named)} are not the writers {writes}")
        for w in writes:
            group_of[w] = g
            if w not in episode:
                failures.append(f"{w} named in a group but took part in no collision")
        if len({episode.get(w) for w in writes}) != 1:
            failures.append(f"group {writes} mixes episodes")
    for w, p in partner_of.items():
        if w not in group_of:
            failures.append(f"collision write {w} is in no group")
        elif group_of.get(p) != group_of[w]:
            failures.append(f"collision write {w}: partner {p} not named in its group")
    stale = {(s["worker"], s["seq"]): (s["overwrote"]["worker"], s["overwrote"]["seq"])
             for s in explanation["stale"]}
    if stale != stale_before:
        failures.append("stale writes do not name the write before them")
    # How far the clock is from that order: places where sorting by write time breaks the
    # chain of values, and the largest time by which a later write was stamped earlier.
    by_time = sorted(range(len(entries)), key=lambda i: (entries[i]["t_write_ns"], *key(entries[i])))
    breaks, value = 0, 0
    for i in by_time:
        breaks += entries[i]["prev"] != value
        value = entries[i]["wrote"]
    latest, reversed_ns = 0, 0
    for i in order:
        latest = max(latest, entries[i]["t_write_ns"])
        reversed_ns = max(reversed_ns, latest - entries[i]["t_write_ns"])
    return len(partner_of), failures, breaks, reversed_ns, undone[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--bin", default="target/x86_64-unknown-linux-gnu/release/racecount")
    args = ap.parse_args()
    totals = [0, 0, 0, 0]  # runs, collision writes, groups, failures
    for mode, params in CONFIGS:
        runs = args.runs if mode in ("unlocked", "per-access") else FEW
        figures = [0, 0, 0, 0]
        # traces the clock misorders, places, largest reversal (ns), most steps undone
        clock = [0, 0, 0, 0]
        for run in range(runs):
            cmd = [args.bin, "-m", mode, *params.split(), "-t", "1", "--seed", str(run),
                   "--trace", "--format", "json"]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode != 0:
                print(f"{' '.join(cmd)}: exit {out.returncode}: {out.stderr.strip()}")
                figures[3] += 1
                continue
            for result in json.loads(out.stdout)["results"]:
                traced = result["traced"]
                checked, failures, breaks, reversed_ns, undone = check(
                    traced["entries"], traced["explanation"])
                clock[0] += breaks > 0
                clock[1] += breaks
                clock[2] = max(clock[2], reversed_ns)
                clock[3] = max(clock[3], undone)
                figures[0] += 1
                figures[1] += checked
                figures[2] += len(traced["explanation"]["collisions"])
                figures[3] += len(failures)
                for f in failures[:3]:
                    print(f"{' '.join(cmd)}: {f}")
        print(f"{mode:10} {params:22} runs {figures[0]:4}  collision writes {figures[1]:8}  "
              f"groups {figures[2]:7}  failures {figures[3]}  "
              f"clock misorders {clock[0]} traces ({clock[1]} places, up to {clock[2]} ns)  "
              f"search undid at most {clock[3]}")
        totals = [a + b for a, b in zip(totals, figures)]
    print(f"{'all':33} runs {totals[0]:4}  collision writes {totals[1]:8}  "
          f"groups {totals[2]:7}  failures {totals[3]}")
    return 1 if totals[3] else 0


if __name__ == "__main__":
    sys.exit(main())
