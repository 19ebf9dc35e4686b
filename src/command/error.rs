//! Bad input: every way the options can be refused, each one line naming the option and what
//! it accepts. Nothing has been forked or created when one of these is returned.

use std::fmt;
use std::path::PathBuf;

use super::replay::ReplayError;
use crate::model::lock::Lock;

/// Why the options were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// An extra file (`--trace-svg`, `--export-*`) could not be written after the run.
    NotWritable {
        option: &'static str,
        path: PathBuf,
        why: String,
    },
    /// procs × iters does not fit the 64-bit counter.
    Overflow {
        procs: u32,
        iters: u64,
    },
    /// More workers than the machine lets racecount start.
    NoRoom {
        procs: u32,
        limit: u64,
        why: String,
    },
    /// The trace's rows would pass the shared-memory cap; `fits` iters would not.
    TraceTooBig {
        procs: u32,
        iters: u64,
        needed: Option<u64>,
        cap: u64,
        fits: u64,
    },
    ThreadsWithPool,
    /// `--pin`: a CPU racecount may not use, or a list it cannot read.
    Pin(String),
    SwitchWithoutRandom,
    WindowWithSchedule,
    /// `--store` or `--isolation` as the store refuses it.
    Store(String),
    /// An option a database store (or its absence) cannot serve.
    WithStore(StoreConflict),
    /// A lock kind that loses only through reordering, which a schedule's hand-overs forbid.
    ScheduledFenceless(Lock),
    /// `--lock private` under a schedule, which would hide that it protects nothing.
    ScheduledPrivate(Lock),
    /// A lock kind for exactly `only` workers, given `procs`.
    LockProcs {
        lock: Lock,
        only: u32,
        procs: u32,
    },
    FlockWithThreads,
    /// `--replay`'s file.
    Replay(ReplayError),
    /// `--lock lease:TTL`, `--stall` or `--fencing` as the store or the modes refuse them.
    Lease(String),
    /// `--join` and `--hosts` as the store or the other options refuse them.
    Join(String),
}

/// An option a database store cannot serve, or one that needs a database store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConflict {
    /// `--trace` with a database store (named).
    Trace(&'static str),
    Schedule,
    Threads,
    /// `--lock` with a database store (named), where the database does the locking.
    Lock(&'static str),
    /// `--clean` without a database store.
    CleanWithoutStore,
}

impl fmt::Display for StoreConflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreConflict::Trace(store) => write!(
                f,
                "--trace records every increment in the shared page; with --store {store} the \
                 reads and writes happen inside the database, where racecount cannot see which \
                 write each one replaced"
            ),
            StoreConflict::Schedule => f.write_str(
                "--schedule runs on the shared page only: a database's statements cannot be \
                 handed turns one by one; leave --store out or --schedule out",
            ),
            StoreConflict::Threads => f.write_str(
                "--threads with --store: a database worker opens its own connection after \
                 fork; leave --threads out",
            ),
            StoreConflict::Lock(store) => write!(
                f,
                "--lock with --store {store}: the database does the locking (mutex: its lock, \
                 per-access: its transactions; the statements are in the header); leave --lock \
                 out, or give a lease in the database, --lock lease:TTL (PostgreSQL, Redis)"
            ),
            StoreConflict::CleanWithoutStore => f.write_str(
                "--clean removes what dead runs left in a database: give --store sqlite:PATH, \
                 postgres://…, redis://… or mysql://…",
            ),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::NotWritable { option, path, why } => {
                write!(f, "{option} {}: {why}", path.display())
            }
            ConfigError::Overflow { procs, iters } => write!(
                f,
                "--procs {procs} x --iters {iters} overflows the 64-bit counter; lower one of \
                 them"
            ),
            ConfigError::NoRoom { procs, limit, why } => write!(
                f,
                "--procs {procs}: this machine has room for at most {limit} more processes \
                 ({why})"
            ),
            ConfigError::TraceTooBig {
                procs,
                iters,
                needed,
                cap,
                fits,
            } => {
                let needed = needed.map_or("more than 16 EiB".to_string(), |b| {
                    format!("{} MiB", b >> 20)
                });
                write!(
                    f,
                    "--trace with --procs {procs} x --iters {iters} needs {needed} of shared \
                     memory, more than the {} MiB cap; use fewer --iters (at most {fits} with \
                     --procs {procs})",
                    cap >> 20
                )
            }
            ConfigError::ThreadsWithPool => f.write_str(
                "--threads with --pool: threads are not forked, so there is no pool to keep; \
                 drop one of them",
            ),
            ConfigError::Pin(why)
            | ConfigError::Store(why)
            | ConfigError::Lease(why)
            | ConfigError::Join(why) => f.write_str(why),
            ConfigError::SwitchWithoutRandom => f.write_str("--switch goes with --schedule random"),
            ConfigError::WindowWithSchedule => f.write_str(
                "--window has no effect under --schedule: the schedule decides when each worker \
                 reads and writes; leave --window out",
            ),
            ConfigError::WithStore(conflict) => conflict.fmt(f),
            ConfigError::ScheduledFenceless(lock) => write!(
                f,
                "--lock {lock} with --schedule: the schedule hands turns over through futex \
                 calls, full barriers, so the reordering {lock} needs cannot happen"
            ),
            ConfigError::ScheduledPrivate(lock) => write!(
                f,
                "--lock {lock} with --schedule: the schedule gives the lock step to one worker \
                 at a time, which would hide that {lock} protects nothing"
            ),
            ConfigError::LockProcs { lock, only, procs } => write!(
                f,
                "--lock {lock} works with exactly {only} procs (the algorithm is for two \
                 workers), not --procs {procs}; use bakery for any number"
            ),
            ConfigError::Replay(e) => write!(f, "{e}"),
            ConfigError::FlockWithThreads => f.write_str(
                "--lock flock with --threads: fcntl record locks belong to the process, so \
                 threads of one process never exclude each other",
            ),
        }
    }
}

impl std::error::Error for ConfigError {}
