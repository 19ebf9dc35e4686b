//! Fixed reports for the renderers' exact-text tests.

use crate::model::machine::Load;
use std::collections::HashMap;

use crate::model::mode::Mode;
use crate::model::settings::Params;
use crate::model::settings::Settings;
use crate::model::trace::{TraceEntry, WriteRef};
use crate::model::window::Window;
use crate::results::{Group, Keep, Report, Seen, Trial};

/// Keeps everything, as json does.
pub(crate) const ALL: Keep = Keep {
    trials: true,
    workers: true,
};

pub(crate) fn params(procs: u32) -> Params {
    Params {
        procs,
        iters: 3,
        window: Window::Busy(1_000),
    }
}

/// A group of `mode` whose trials end at `totals`; trial i takes (i + 1) × 6 µs from gate
/// release and 1 ms in all, and worker w completes every increment.
pub(crate) fn group(mode: Mode, params: Params, totals: &[u64]) -> Group {
    let mut g = Group::new(mode, params);
    for (i, &total) in totals.iter().enumerate() {
        let trial = Trial {
            total,
            elapsed_ns: (i as u64 + 1) * 6_000,
            wall_ns: 1_000_000,
            completed: vec![params.iters; params.procs as usize],
            spans: Vec::new(),
            trace: None,
            retries: 0,
            hosts: Vec::new(),
        };
        g.add(&trial, Seen::default(), ALL);
    }
    g
}

pub(crate) fn settings(modes: &[Mode], procs: &[u32], trials: u64) -> Settings {
    Settings {
        procs: procs.to_vec(),
        iters: vec![3],
        trials,
        modes: modes.to_vec(),
        seed: 42,
        load: load(),
        ..Settings::default()
    }
}

/// Two CPUs, idle: what the fixed reports were run on.
pub(crate) fn load() -> Load {
    Load {
        cpus: 2,
        cpu_pressure_pct: Some(0.0),
        loadavg_1m: Some(0.05),
    }
}

/// unlocked loses in two of three trials, atomic in none: 2 procs × 3 increments.
pub(crate) fn two_modes() -> Report {
    Report {
        settings: settings(&[Mode::Unlocked, Mode::Atomic], &[2], 3),
        groups: vec![
            group(Mode::Unlocked, params(2), &[6, 5, 4]),
            group(Mode::Atomic, params(2), &[6, 6, 6]),
        ],
        stop: None,
        leftover: None,
    }
}

/// A report with every section of the human output: a store's header, a sweep of locks with
/// a broken one, 25 trials (a histogram), a traced trial with collisions, stale writes and
/// restores, overlap figures, a quiet racy mode (the diagnosis), and an interruption that
/// left a mode unstarted.
pub(crate) fn everything() -> Report {
    everything_on(db_label())
}

/// A PostgreSQL store as a run that made its counter shows it.
fn db_label() -> crate::model::store::StoreLabel {
    use crate::model::store::{Isolation, StoreLabel};
    StoreLabel {
        kind: "postgres",
        url: "postgres://someone:***@db.example.com:5432/a_rather_long_database_name".into(),
        counter: Some(
            "table racecount_123456_abcdef12 in postgres://someone:***@db.example.com:5432/\
             a_rather_long_database_name"
                .into(),
        ),
        isolation: Some(Isolation::RepeatableRead),
        facts: crate::model::store::Facts {
            isolation: Some("repeatable read".into()),
            journal_mode: None,
        },
        statements: vec![
            (
                Mode::Unlocked.in_database(),
                "SELECT v FROM t; window; UPDATE t SET v = $1 (read + 1), each in autocommit",
            ),
            (
                Mode::Mutex.in_database(),
                "BEGIN; SELECT v FROM t FOR UPDATE; window; UPDATE t SET v = $1; COMMIT",
            ),
            (Mode::Atomic.in_database(), "window; UPDATE t SET v = v + 1"),
        ],
    }
}

fn everything_on(store: crate::model::store::StoreLabel) -> Report {
    use crate::model::lock::Lock;
    use crate::results::{Overlap, Signal, Stop};
    let mut s = settings(&[Mode::Unlocked, Mode::Mutex, Mode::Atomic], &[4], 25);
    s.iters = vec![3];
    s.locks = vec![Lock::Pthread, Lock::Private];
    s.sleep_ns = 1_500;
    s.jitter_ns = 2_000;
    s.store = store;
    let p = params(4);
    let mut totals = vec![12u64; 20];
    totals.extend([11, 10, 9, 12, 8]);
    let mut unlocked = group(Mode::Unlocked, p, &totals);
    unlocked.overlap = Overlap {
        peak: 4,
        busy_ns: 1000,
        shared_ns: 300,
    };
    // Events: worker 2 reads 0; workers 0 and 1 collide; 0 counts on; 2's stale write; 3
    // restores over it.
    let (entries, total) = race(&[2, 0, 1, 0, 1, 0, 0, 3, 2, 3, 1, 1]);
    unlocked.traced = Some(crate::results::TracedTrial {
        trial: 1,
        total,
        entries,
    });
    let mutex = |lock| group(Mode::Mutex, p, &[12; 25]).with_lock(Some(lock));
    Report {
        settings: s,
        groups: vec![unlocked, mutex(Lock::Pthread), mutex(Lock::Private)],
        stop: Some(Stop::Interrupted(Signal {
            number: 2,
            name: "SIGINT",
        })),
        leftover: None,
    }
}

/// A traced race on a counter, as the workers record it, and the counter's final value.
/// `events` are worker numbers: a worker's first event is a read, its next a write, and so on;
/// event t happens at t µs (a write 500 ns into its µs).
pub(crate) fn race(events: &[u32]) -> (Vec<TraceEntry>, u64) {
    let mut counter = (0u64, None);
    let mut pending: HashMap<u32, (u64, Option<WriteRef>, u64)> = HashMap::new();
    let mut seqs: HashMap<u32, u64> = HashMap::new();
    let mut entries = Vec::new();
    for (t, &w) in (0u64..).zip(events) {
        let Some((read, read_from, t_read)) = pending.remove(&w) else {
            pending.insert(w, (counter.0, counter.1, t));
            continue;
        };
        let seq = seqs.entry(w).or_default();
        let me = WriteRef {
            worker: w,
            seq: *seq,
        };
        *seq += 1;
        let (prev, overwrote) = std::mem::replace(&mut counter, (read + 1, Some(me)));
        entries.push(TraceEntry {
            worker: w,
            seq: me.seq,
            read,
            wrote: read + 1,
            prev,
            read_from,
            overwrote,
            t_read_ns: t_read * 1000,
            t_write_ns: t * 1000 + 500,
            step: None,
        });
    }
    (entries, counter.0)
}
