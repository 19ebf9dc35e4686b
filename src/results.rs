//! What the runs produced, as plain data for the renderers. Nothing here measures or prints.

use serde::Serialize;

use crate::config::{Config, Params};
use crate::duration::Window;
use crate::explain::{Explanation, Tally};
use crate::fork::{Ending, SpawnError};
use crate::mode::Mode;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

/// The run's settings, as the renderers show them.
#[derive(Debug, Clone, PartialEq)]
pub struct Setup {
    pub procs: Vec<u32>,
    pub iters: Vec<u64>,
    pub windows: Vec<Window>,
    pub trials: u64,
    pub modes: Vec<Mode>,
    pub sleep_ns: u64,
    pub jitter_ns: u64,
    pub seed: u64,
    pub pool: bool,
    /// Every increment recorded and explained (`--trace`).
    pub trace: bool,
    /// Where the counter lives (`--store`).
    pub store: crate::store::Shown,
}

impl Setup {
    pub fn from_config(config: &Config) -> Setup {
        Setup {
            procs: config.procs.clone(),
            iters: config.iters.clone(),
            windows: config.windows.clone(),
            trials: config.trials,
            modes: config.modes.clone(),
            sleep_ns: config.sleep_ns,
            jitter_ns: config.jitter_ns,
            seed: config.seed,
            pool: config.pool,
            trace: config.trace,
            store: crate::store::Shown::of(&config.store),
        }
    }

    /// Whether more than one combination of procs, iters and window runs.
    pub fn is_sweep(&self) -> bool {
        self.procs.len() > 1 || self.iters.len() > 1 || self.windows.len() > 1
    }
}

/// One finished trial, as measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    /// The counter's final value.
    pub total: u64,
    /// Gate release to the last worker's exit (or, with a pool, its report of being done).
    pub elapsed_ns: u64,
    /// The whole trial as the parent saw it, forking and reaping included.
    pub wall_ns: u64,
    /// Increments each worker completed, read from its slot.
    pub completed: Vec<u64>,
    /// With `--trace`: every increment and what it explains.
    pub trace: Option<TrialTrace>,
    /// Increments the database refused and the workers tried again (0 on the shared page).
    pub retries: u64,
}

/// One trial's trace: every increment, worker by worker in each worker's order, and the
/// account of its lost updates (already checked to add up to procs × iters − total).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrialTrace {
    pub entries: Vec<TraceEntry>,
    pub explanation: Explanation,
}

/// One traced increment, as the worker recorded it. Times are ns since the trial's first read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    pub worker: u32,
    /// 0-based increment number within the worker.
    pub seq: u64,
    /// The value the worker read.
    pub read: u64,
    /// The value it wrote.
    pub wrote: u64,
    /// The value its write replaced.
    pub prev: u64,
    pub t_read_ns: u64,
    pub t_write_ns: u64,
}

/// A traced trial kept in full: its trace and what the trace explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TracedTrial {
    /// 0-based trial number within its group.
    pub trial: u64,
    pub total: u64,
    #[serde(flatten)]
    pub trace: TrialTrace,
}

/// What to keep of every trial: only what the chosen output needs, so that a million trials
/// in `totals` format stay small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// Totals and timings of every trial (for summaries).
    pub trials: bool,
    /// Each worker's completed increments in every trial (only `json` shows them).
    pub workers: bool,
}

/// Every trial of one mode at one combination of parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub mode: Mode,
    pub params: Params,
    /// Trials finished (kept or not).
    pub count: u64,
    /// Trials whose total was below procs × iters.
    pub lossy: u64,
    /// Per trial, when kept.
    pub totals: Vec<u64>,
    pub elapsed_ns: Vec<u64>,
    pub wall_ns: Vec<u64>,
    /// Per trial, when kept: increments the database refused and the workers retried.
    pub retries: Vec<u64>,
    /// Retries over every trial, kept or not.
    pub retries_total: u64,
    /// Per trial, when kept: each worker's completed increments, `params.procs` per trial,
    /// flattened (one allocation, not one per trial).
    pub completed: Vec<u64>,
    /// With `--trace`: every trial's tally of explained losses, and the first trial in full.
    pub tallies: Vec<Tally>,
    pub traced: Option<TracedTrial>,
}

impl Group {
    pub fn new(mode: Mode, params: Params) -> Group {
        Group {
            mode,
            params,
            count: 0,
            lossy: 0,
            totals: Vec::new(),
            elapsed_ns: Vec::new(),
            wall_ns: Vec::new(),
            retries: Vec::new(),
            retries_total: 0,
            completed: Vec::new(),
            tallies: Vec::new(),
            traced: None,
        }
    }

    pub fn expected(&self) -> u64 {
        self.params.expected()
    }

    /// Adds a finished trial.
    pub fn add(&mut self, trial: &Trial, keep: Keep) {
        if let Some(trace) = &trial.trace {
            self.tallies.push(trace.explanation.tally());
            if self.traced.is_none() {
                self.traced = Some(TracedTrial {
                    trial: self.count,
                    total: trial.total,
                    trace: trace.clone(),
                });
            }
        }
        self.count += 1;
        self.retries_total += trial.retries;
        if trial.total != self.expected() {
            self.lossy += 1;
        }
        if keep.trials {
            self.totals.push(trial.total);
            self.elapsed_ns.push(trial.elapsed_ns);
            self.wall_ns.push(trial.wall_ns);
            self.retries.push(trial.retries);
        }
        if keep.workers {
            self.completed.extend_from_slice(&trial.completed);
        }
    }

    /// Each worker's completed increments in kept trial `index`, when workers were kept.
    pub fn worker_counts(&self, index: usize) -> Option<&[u64]> {
        let procs = self.params.procs as usize;
        self.completed.get(index * procs..(index + 1) * procs)
    }
}

/// Why a run stopped before the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT, SIGTERM or SIGHUP: exit 128 + signal.
    Interrupted(Signal),
    /// Something failed while a trial ran: exit 3.
    Failed(Failure),
}

/// A trial that failed, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub mode: Mode,
    pub params: Params,
    /// 0-based trial number within its group.
    pub trial: u64,
    pub cause: Cause,
}

/// What went wrong in a failed trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A worker ended abnormally; `held_lock` when it died holding the shared lock.
    WorkerDied {
        index: u32,
        pid: Pid,
        ending: Ending,
        completed: u64,
        held_lock: bool,
    },
    /// --timeout passed; (index, pid, completed increments) of the unfinished workers.
    TimedOut {
        timeout_ns: u64,
        pending: Vec<(u32, Pid, u64)>,
    },
    /// A worker could not be started.
    Spawn(SpawnError),
    /// The workers' slots do not add up to procs × iters (a worker stopped short).
    Incomplete { completed: u64, expected: u64 },
    /// The counter ended above procs × iters, which no interleaving can produce.
    Impossible { total: u64, expected: u64 },
    /// The trace's explained losses differ from procs × iters − total (a bug in racecount).
    Unexplained { explained: i128, lost: u64 },
    /// A store worker stopped with this message (its connection failed or was lost, or the
    /// database answered with an error that is not a refusal).
    Store {
        index: u32,
        pid: Pid,
        message: String,
    },
    /// A system call in the parent failed.
    Sys(String),
    /// Before the first trial or after the last (mapping the page, creating or removing the
    /// store's counter): not any trial's failure.
    Setup(String),
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub setup: Setup,
    pub groups: Vec<Group>,
    pub stop: Option<Stop>,
}

impl Report {
    /// Whether every finished trial was exact.
    pub fn all_exact(&self) -> bool {
        self.groups.iter().all(|g| g.lossy == 0)
    }
}
