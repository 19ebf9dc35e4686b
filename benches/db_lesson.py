#!/usr/bin/env python3
"""The database lesson in Python, for side-by-side comparison with racecount --store.

    python3 benches/db_lesson.py STORE MODE PROCS ITERS TRIALS [ISOLATION]

STORE: sqlite:PATH, postgres://... or redis://... (redis+unix://PATH too). MODE: unlocked,
per-access, mutex or atomic, with the statements racecount runs (README, "Databases"):

              unlocked          per-access                  mutex                        atomic
    sqlite    SELECT; UPDATE    BEGIN; SELECT; UPDATE; END  BEGIN IMMEDIATE; ...; COMMIT UPDATE v = v + 1
    postgres  SELECT; UPDATE    BEGIN; SELECT; UPDATE; END  SELECT ... FOR UPDATE        UPDATE v = v + 1
    redis     GET; SET          MULTI GET EXEC; MULTI SET   WATCH GET MULTI SET EXEC     INCR

Each process opens its own connection after the fork and waits at a barrier; a refused
increment (serialization failure, deadlock, database is locked, WATCH abort) is rolled back and
retried, and counted. ISOLATION (PostgreSQL: read-committed, repeatable-read, serializable)
sets each connection's default_transaction_isolation, as racecount's --isolation. The counter is a table or key of this run's own, reset before each trial
and read after it by the parent, removed at the end. Needs `pip install "psycopg[binary]" redis`
for the servers. Prints one line: totals min/mean/max, trials with loss, retries, ms per trial
(process start to the last join, as racecount's wall time per trial).
"""
import multiprocessing as mp
import os
import random
import sqlite3
import sys
import time


def name():
    return f"pylesson_{os.getpid()}_{random.getrandbits(32):08x}"


class Sqlite:
    refused = (sqlite3.OperationalError,)

    def __init__(self, url, table):
        self.path, self.table = url.split(":", 1)[1], table
        self.created = not os.path.exists(self.path)

    def connect(self):
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        return conn

    def create(self):
        conn = self.connect()
        if self.created:
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"CREATE TABLE {self.table} (v INTEGER NOT NULL)")
        conn.execute(f"INSERT INTO {self.table} VALUES (0)")
        conn.close()

    def reset(self):
        conn = self.connect()
        conn.execute(f"UPDATE {self.table} SET v = 0")
        conn.close()

    def read(self):
        conn = self.connect()
        (v,) = conn.execute(f"SELECT v FROM {self.table}").fetchone()
        conn.close()
        return v

    def remove(self):
        if self.created:
            for suffix in ("", "-wal", "-shm", "-journal"):
                try:
                    os.remove(self.path + suffix)
                except FileNotFoundError:
                    pass
        else:
            conn = self.connect()
            conn.execute(f"DROP TABLE IF EXISTS {self.table}")
            conn.close()

    def increment(self, conn, mode):
        t = self.table
        if mode == "atomic":
            conn.execute(f"UPDATE {t} SET v = v + 1")
            return
        begin = {"per-access": "BEGIN", "mutex": "BEGIN IMMEDIATE"}.get(mode)
        try:
            if begin:
                conn.execute(begin)
            (v,) = conn.execute(f"SELECT v FROM {t}").fetchone()
            conn.execute(f"UPDATE {t} SET v = ?", (v + 1,))
            if begin:
                conn.execute("COMMIT")
        except sqlite3.OperationalError:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


class Postgres:
    isolation = None

    def __init__(self, url, table):
        import psycopg
        from psycopg import errors

        self.psycopg, self.url, self.table = psycopg, url, table
        self.refused = (errors.SerializationFailure, errors.DeadlockDetected)

    def connect(self):
        conn = self.psycopg.connect(self.url, autocommit=True)
        if self.isolation:
            level = self.isolation.replace("-", " ")
            conn.execute(f"SET default_transaction_isolation = '{level}'")
        return conn

    def create(self):
        self.admin = self.connect()
        self.admin.execute(f"CREATE TABLE {self.table} (v bigint NOT NULL)")
        self.admin.execute(f"INSERT INTO {self.table} VALUES (0)")

    def reset(self):
        self.admin.execute(f"UPDATE {self.table} SET v = 0")

    def read(self):
        return self.admin.execute(f"SELECT v FROM {self.table}").fetchone()[0]

    def remove(self):
        self.admin.execute(f"DROP TABLE IF EXISTS {self.table}")
        self.admin.close()

    def increment(self, conn, mode):
        t = self.table
        if mode == "atomic":
            conn.execute(f"UPDATE {t} SET v = v + 1")
            return
        txn = mode in ("per-access", "mutex")
        lock = " FOR UPDATE" if mode == "mutex" else ""
        try:
            if txn:
                conn.execute("BEGIN")
            v = conn.execute(f"SELECT v FROM {t}{lock}").fetchone()[0]
            conn.execute(f"UPDATE {t} SET v = %s", (v + 1,))
            if txn:
                conn.execute("COMMIT")
        except self.refused:
            conn.execute("ROLLBACK")
            raise


class Redis:
    def __init__(self, url, key):
        import redis

        # redis-py names a socket unix://, as racecount's client also accepts.
        self.redis, self.url, self.key = redis, url.replace("redis+unix://", "unix://", 1), key
        self.refused = (redis.WatchError,)

    def connect(self):
        return self.redis.Redis.from_url(self.url)

    def create(self):
        self.admin = self.connect()
        assert self.admin.set(self.key, 0, nx=True)

    def reset(self):
        self.admin.set(self.key, 0)

    def read(self):
        return int(self.admin.get(self.key))

    def remove(self):
        self.admin.delete(self.key)

    def increment(self, conn, mode):
        k = self.key
        if mode == "unlocked":
            v = int(conn.get(k))
            conn.set(k, v + 1)
        elif mode == "per-access":
            p = conn.pipeline(transaction=True)
            (v,) = p.get(k).execute()
            p = conn.pipeline(transaction=True)
            p.set(k, int(v) + 1).execute()
        elif mode == "mutex":
            with conn.pipeline() as p:
                p.watch(k)
                v = int(p.get(k))
                p.multi()
                p.set(k, v + 1)
                p.execute()
        else:
            conn.incr(k)


def store_for(url, counter):
    if url.startswith("sqlite:"):
        return Sqlite(url, counter)
    if url.startswith(("postgres://", "postgresql://")):
        return Postgres(url, counter)
    return Redis(url, counter)


def back_off(n):
    """racecount's back-off after the n-th refusal in a row: yield, then 10 us doubling to 1 ms."""
    if n == 0:
        os.sched_yield()
    else:
        time.sleep(min(10e-6 * 2 ** min(n - 1, 7), 1e-3))


def work(store, mode, iters, gate, retries):
    conn = store.connect()
    gate.wait()
    refused = 0
    for _ in range(iters):
        attempt = 0
        while True:
            try:
                store.increment(conn, mode)
                break
            except store.refused:
                refused += 1
                back_off(attempt)
                attempt += 1
    with retries.get_lock():
        retries.value += refused


def trial(store, mode, procs, iters):
    store.reset()
    gate = mp.Barrier(procs + 1)
    retries = mp.Value("q", 0)
    workers = [
        mp.Process(target=work, args=(store, mode, iters, gate, retries)) for _ in range(procs)
    ]
    start = time.perf_counter()
    for w in workers:
        w.start()
    gate.wait()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - start
    if any(w.exitcode != 0 for w in workers):
        sys.exit("a worker failed")
    return store.read(), retries.value, elapsed


def main():
    url, mode = sys.argv[1], sys.argv[2]
    procs, iters, trials = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    mp.set_start_method("fork")
    store = store_for(url, name())
    if len(sys.argv) > 6:
        store.isolation = sys.argv[6]
    store.create()
    totals, retries, seconds = [], 0, 0.0
    try:
        for _ in range(trials):
            total, refused, elapsed = trial(store, mode, procs, iters)
            totals.append(total)
            retries += refused
            seconds += elapsed
    finally:
        store.remove()
    expected = procs * iters
    lossy = sum(1 for t in totals if t != expected)
    print(
        f"python {mode} procs={procs} iters={iters} trials={trials}: total min={min(totals)} "
        f"mean={sum(totals) / trials:.1f} max={max(totals)} of {expected}, trials with loss "
        f"{lossy}/{trials}, retries {retries}, {seconds * 1000 / trials:.3f} ms/trial"
    )


if __name__ == "__main__":
    main()
