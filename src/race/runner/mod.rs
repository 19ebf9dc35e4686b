//! How a trial's workers are run, behind one interface ([`Runner`]): forked for every trial
//! ([`forked`]), as threads ([`threaded`]), forked once for all the trials of a group
//! ([`pooled`]), or — in `store` — connected to a database. Whichever runs it, a trial means
//! the same thing: the same expected total, the same accounting from the workers' slots, the
//! same failure reports. The shared pieces are here.

pub mod forked;
pub mod pooled;
pub(crate) mod threaded;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::sched::CpuSet;

use crate::model::trace::{TraceEntry, WriteRef};
use crate::race::child::{self, EXIT_LOCK_FAILED, EXIT_PIN_FAILED, WorkerCells, progress_every};
use crate::race::fork::{EXIT_ORPHANED, Exit, SpawnError, WaitError};
use crate::race::job::Job;
use crate::race::page::{SharedPage, tag_of, value_of};
use crate::results::{Cause, Completed, Signal, Trial, Unfinished, WorkerEnd};

/// Runs the trials of each group of a run (`'s`: the settings the jobs borrow). `run` calls [`Runner::begin`] before a group's
/// first trial, [`Runner::trial`] for each, and [`Runner::end`] after its last, with the
/// group's job each time; then [`Runner::close`] once, whatever stopped the run.
pub(crate) trait Runner<'s> {
    /// Before the first trial of `job`'s group (a pool forks its workers here).
    fn begin(&mut self, job: &Job<'s>) -> Result<(), TrialError> {
        let _ = job;
        Ok(())
    }

    /// Trial number `index` (0-based within the group).
    fn trial(&mut self, job: &Job<'s>, index: u64) -> Result<Trial, TrialError>;

    /// After the last trial of `job`'s group (a pool's workers leave).
    fn end(&mut self, job: &Job<'s>) -> Result<(), TrialError> {
        let _ = job;
        Ok(())
    }

    /// After the run: removes what the runner made outside racecount (a database's table).
    fn close(&mut self) -> Result<(), Closing> {
        Ok(())
    }
}

/// What a runner could not remove, and whether a signal cut its removal short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Closing {
    /// What is (or may be) left, and what becomes of it.
    pub(crate) message: String,
    pub(crate) signal: Option<Signal>,
}

/// Where a trial's workers are: the page, and how long a trial may take.
#[derive(Clone, Copy)]
pub struct Ground<'p> {
    pub page: &'p SharedPage,
    pub timeout: Option<Duration>,
}

/// What one worker needs, looked up and checked in the parent before it is forked.
#[derive(Clone, Copy)]
pub(crate) struct Recruit<'p> {
    pub(crate) index: u32,
    pub(crate) cells: WorkerCells<'p>,
    /// `--pin`: the CPU it runs on, as an affinity mask.
    pub(crate) cpu: Option<CpuSet>,
}

impl Recruit<'_> {
    /// In the worker, before the gate: moves to its CPU, if pinned. False when that failed.
    pub(crate) fn pin(&self) -> bool {
        self.cpu.as_ref().is_none_or(child::pin_to)
    }
}

/// The affinity mask for one CPU, made in the parent (the worker only applies it).
fn cpu_set(cpu: usize) -> Option<CpuSet> {
    let mut set = CpuSet::new();
    set.set(cpu).ok()?;
    Some(set)
}

/// Each worker's index, cells and CPU, looked up and checked before anything is forked.
pub(crate) fn recruits<'p>(
    page: &'p SharedPage,
    job: &Job,
) -> Result<Vec<Recruit<'p>>, TrialError> {
    let procs = job.params.procs;
    let cpus = &job.settings.pin_cpus;
    (0..procs)
        .map(|index| {
            let failed = |what: &str| {
                TrialError::Failed(Cause::Sys(format!(
                    "{what} for worker {index} (a bug in racecount)"
                )))
            };
            let cells = page
                .worker_cells(index, procs, job.traced_iters(), job.lock_kind())
                .ok_or_else(|| failed("the shared page has no room"))?;
            let cpu = match cpus.get(index as usize % cpus.len().max(1)) {
                None => None,
                Some(&cpu) => Some(cpu_set(cpu).ok_or_else(|| failed("no CPU set"))?),
            };
            Ok(Recruit { index, cells, cpu })
        })
        .collect()
}

/// Each worker's completed increments, read from its slot, checked against the trial's:
/// they must add up to procs × iters, and the counter's `total` cannot pass that.
pub(crate) fn accounted(page: &SharedPage, job: &Job, total: u64) -> Result<Vec<u64>, TrialError> {
    let completed: Vec<u64> = (0..job.params.procs as usize)
        .map(|i| page.completed(i).load(Ordering::Acquire))
        .collect();
    let expected = job.params.expected();
    let sum = completed.iter().sum::<u64>();
    if sum != expected {
        return Err(TrialError::Failed(Cause::Incomplete {
            completed: sum,
            expected,
        }));
    }
    if total > expected {
        return Err(TrialError::Failed(Cause::Impossible { total, expected }));
    }
    Ok(completed)
}

/// The trial the workers left on the page: the counter, each worker's count and span, and
/// with `--trace` every increment.
pub(crate) fn read_trial(
    page: &SharedPage,
    job: &Job,
    released: Instant,
    start: Instant,
    end: Instant,
) -> Result<Trial, TrialError> {
    let (procs, iters) = (job.params.procs, job.params.iters);
    let total = page.total(job.settings.trace);
    let completed = accounted(page, job, total)?;
    let trace = job
        .settings
        .trace
        .then(|| read_trace(page, procs, iters, job.settings.schedule.is_some()));
    let spans: Vec<(u64, u64)> = (0..procs as usize).map(|i| page.span(i)).collect();
    Ok(Trial {
        total,
        elapsed_ns: nanos(end - released),
        wall_ns: nanos(end - start),
        completed,
        spans,
        trace,
        retries: 0,
        hosts: Vec::new(),
    })
}

/// Copies the workers' trace rows out of the page: values and the writes their tags name,
/// times made relative to the first read.
fn read_trace(page: &SharedPage, procs: u32, iters: u64, scheduled: bool) -> Vec<TraceEntry> {
    std::sync::atomic::fence(Ordering::Acquire);
    let mut entries = Vec::with_capacity((u64::from(procs) * iters) as usize);
    for worker in 0..procs {
        let row = page
            .trace_row(worker as usize)
            .and_then(|row| row.get(..iters as usize))
            .unwrap_or_default();
        for (seq, cell) in row.iter().enumerate() {
            let read = cell.read.load(Ordering::Relaxed);
            let prev = cell.prev.load(Ordering::Relaxed);
            entries.push(TraceEntry {
                worker,
                seq: seq as u64,
                read: value_of(read),
                // Every write stores what it read + 1 (the cell keeps no copy of it).
                wrote: value_of(read) + 1,
                prev: value_of(prev),
                read_from: WriteRef::from_tag(tag_of(read), iters),
                overwrote: WriteRef::from_tag(tag_of(prev), iters),
                t_read_ns: cell.t_read_ns.load(Ordering::Relaxed),
                t_write_ns: cell.t_write_ns.load(Ordering::Relaxed),
                step: scheduled.then(|| cell.step.load(Ordering::Relaxed)),
            });
        }
    }
    let origin = entries.iter().map(|e| e.t_read_ns).min().unwrap_or(0);
    for e in &mut entries {
        e.t_read_ns -= origin;
        e.t_write_ns = e.t_write_ns.saturating_sub(origin);
    }
    entries
}

pub(crate) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Why a trial gave no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrialError {
    /// SIGINT, SIGTERM or SIGHUP arrived.
    Interrupted(Signal),
    /// The trial failed.
    Failed(Cause),
}

/// A signal as plain data for the results.
pub(crate) fn signal(signal: nix::sys::signal::Signal) -> Signal {
    Signal {
        number: signal as i32,
        name: signal.as_str(),
    }
}

pub(crate) fn spawn_cause(e: SpawnError) -> TrialError {
    TrialError::Failed(Cause::Spawn {
        index: e.index,
        what: e.what,
        errno: e.errno as i32,
    })
}

/// How a worker ended, named by what its exit status means.
pub(crate) fn worker_end(exit: Exit) -> WorkerEnd {
    match exit {
        Exit::Code(EXIT_LOCK_FAILED) => WorkerEnd::LockFailed,
        Exit::Code(EXIT_ORPHANED) => WorkerEnd::Orphaned,
        Exit::Code(EXIT_PIN_FAILED) => WorkerEnd::PinFailed,
        Exit::Code(code) => WorkerEnd::Exited(code),
        Exit::Signaled(s) => WorkerEnd::Killed(signal(s)),
    }
}

pub(crate) fn wait_cause(
    page: &SharedPage,
    job: &Job,
    error: WaitError,
    timeout: Option<Duration>,
) -> TrialError {
    let iters = job.params.iters;
    let lags = progress_every(job.params.window) > 1;
    let completed = |index: u32| {
        let count = page.completed(index as usize).load(Ordering::Acquire);
        Completed {
            count,
            at_least: lags && count < iters,
        }
    };
    let cause = match error {
        WaitError::Died { index, pid, exit } => Cause::WorkerDied {
            index,
            pid: pid.as_raw().unsigned_abs(),
            ending: worker_end(exit),
            completed: completed(index),
            held_lock: page.holds_lock(index as usize),
            others: None,
        },
        WaitError::TimedOut { pending } => {
            let all: Vec<Unfinished> = pending
                .into_iter()
                .map(|worker| Unfinished {
                    index: worker.index,
                    pid: worker.pid.as_raw().unsigned_abs(),
                    completed: completed(worker.index),
                })
                .collect();
            // Pooled workers never exit between trials: name those whose work is unfinished.
            let unfinished: Vec<Unfinished> = all
                .iter()
                .copied()
                .filter(|u| u.completed.count < iters)
                .collect();
            Cause::TimedOut {
                workers: job.settings.workers,
                timeout_ns: timeout.map_or(0, nanos),
                pending: if unfinished.is_empty() {
                    all
                } else {
                    unfinished
                },
            }
        }
        WaitError::Interrupted(s) => return TrialError::Interrupted(signal(s)),
        WaitError::Sys(what, errno) => Cause::Sys(format!("{what}: {errno}")),
    };
    TrialError::Failed(cause)
}

/// A failed system call in the parent (or a broken promise of racecount's own), as a trial's
/// error.
pub(crate) fn sys(message: impl Into<String>) -> TrialError {
    TrialError::Failed(Cause::Sys(message.into()))
}
