#!/usr/bin/env python3
"""The Python lesson racecount is the native version of, for side-by-side comparison.

    python3 benches/lesson.py MODE PROCS ITERS TRIALS

MODE: unlocked (Value.value += 1 without the lock: RawValue-like), per-access (a bare
multiprocessing.Value: each access locks on its own), mutex (with v.get_lock()). Prints one
line in the C baseline's shape: totals min/mean/max, trials with loss, ms per trial.
"""
import multiprocessing as mp
import sys
import time


def work(value, mode, iters, gate):
    gate.wait()
    for _ in range(iters):
        if mode == "unlocked":
            value.value += 1  # value is a RawValue: no lock at all
        elif mode == "per-access":
            value.value += 1  # a synchronized Value locks the read and the write separately
        else:
            with value.get_lock():
                value.value += 1


def trial(mode, procs, iters):
    value = mp.RawValue("i", 0) if mode == "unlocked" else mp.Value("i", 0)
    gate = mp.Barrier(procs + 1)
    workers = [mp.Process(target=work, args=(value, mode, iters, gate)) for _ in range(procs)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    gate.wait()
    for w in workers:
        w.join()
    return value.value, time.perf_counter() - start


def main():
    mode, procs, iters, trials = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    mp.set_start_method("fork")
    totals, seconds = [], 0.0
    for _ in range(trials):
        total, elapsed = trial(mode, procs, iters)
        totals.append(total)
        seconds += elapsed
    expected = procs * iters
    lossy = sum(1 for t in totals if t != expected)
    print(
        f"python {mode} procs={procs} iters={iters} trials={trials}: total min={min(totals)} "
        f"mean={sum(totals) / trials:.1f} max={max(totals)} of {expected}, trials with loss "
        f"{lossy}/{trials}, {seconds * 1000 / trials:.3f} ms/trial"
    )


if __name__ == "__main__":
    main()
