//! One trial: reset the page, start the workers, open the gate, wait, read the result.
//!
//! Fork-per-trial workers start through a pipe [`Gate`]; pooled workers, which pass it again
//! every trial, wait on a futex in the shared page. Measured here at the lesson's settings, the
//! pipe releases its readers in a way that overlaps them more: loss in 290-296 of 300 trials,
//! like the C baseline, against 248-275 with the futex gate.
//!
//! Two ways to get workers: fork them for every trial ([`run_forked`]), or fork them once and
//! reuse them ([`Pool`]). Either way a trial means the same thing: the same expected total,
//! the same accounting from the workers' slots, the same failure reports.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::fork::{Crew, Gate, SpawnError, WaitError};
use crate::page::SharedPage;
use crate::results::{Cause, TraceEntry, Trial, TrialTrace};
use crate::worker::{Job, work};

/// Runs one trial of `procs` freshly forked workers.
pub fn run_forked(
    page: &SharedPage,
    procs: u32,
    job: &Job,
    trial: u64,
    timeout: Option<Duration>,
) -> Result<Trial, TrialError> {
    page.reset(procs as usize);
    let gate = Gate::new().map_err(|e| TrialError::Failed(Cause::Sys(format!("pipe: {e}"))))?;
    let start = Instant::now();
    let mut crew = Crew::spawn(procs, |index| {
        gate.pass();
        work(page, index, job, trial)
    })
    .map_err(spawn_cause)?;
    let released = Instant::now();
    gate.open();
    crew.wait_exits(timeout.and_then(|t| released.checked_add(t)))
        .map_err(|e| wait_cause(page, job.iters, e, timeout))?;
    let end = Instant::now();
    read_trial(page, procs, job, released, start, end)
}

/// How often a pooled worker, and the parent waiting for a trial's end, yields the core before
/// it goes to sleep. Measured on 2 cores, 10 workers, 10000 trials of 10 × 20: sleeping at once
/// took 1.16 s at window 0 and 2.23 s at 1us; yielding 10 times first, 0.22 s and 1.46 s (the
/// 1us windows alone are 200 us of busy-waiting per trial, 1.0 s on two cores).
const POOL_YIELDS: u32 = 10;

/// Workers forked once and reused for every trial.
pub struct Pool<'p> {
    page: &'p SharedPage,
    crew: Crew,
    procs: u32,
    job: Job,
    done: OwnedFd,
}

impl<'p> Pool<'p> {
    /// Forks `procs` workers that wait at the gate for each trial.
    pub fn start(page: &'p SharedPage, procs: u32, job: &Job) -> Result<Pool<'p>, TrialError> {
        let (done_read, done_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
            .map_err(|e| TrialError::Failed(Cause::Sys(format!("pipe: {e}"))))?;
        page.reset(procs as usize);
        page.control().store(0, Ordering::Release);
        let first = page.gate().load(Ordering::Acquire);
        let crew = Crew::spawn(procs, |index| {
            let mut seen = first;
            let mut trial = 0;
            loop {
                page.wait_gate(seen, POOL_YIELDS);
                seen = page.gate().load(Ordering::Acquire);
                if page.control().load(Ordering::Acquire) != 0 {
                    return 0;
                }
                let status = work(page, index, job, trial);
                if status != 0 {
                    return status;
                }
                trial += 1;
                if page.done().fetch_add(1, Ordering::AcqRel) + 1 == procs {
                    // The last one done wakes the parent. A failed write cannot be reported
                    // from here; the parent's timeout or the pidfds catch what follows.
                    let _ = nix::unistd::write(&done_write, b"d");
                }
            }
        })
        .map_err(spawn_cause)?;
        drop(done_write);
        Ok(Pool {
            page,
            crew,
            procs,
            job: *job,
            done: done_read,
        })
    }

    /// Runs the next trial on the pooled workers.
    pub fn run(&mut self, timeout: Option<Duration>) -> Result<Trial, TrialError> {
        self.page.reset(self.procs as usize);
        let start = Instant::now();
        self.page.open_gate();
        for _ in 0..POOL_YIELDS {
            if self.page.done().load(Ordering::Acquire) == self.procs {
                break;
            }
            std::thread::yield_now();
        }
        self.crew
            .wait_readable(
                self.done.as_raw_fd(),
                timeout.and_then(|t| start.checked_add(t)),
            )
            .map_err(|e| wait_cause(self.page, self.job.iters, e, timeout))?;
        let end = Instant::now();
        let mut byte = [0u8; 1];
        nix::unistd::read(&self.done, &mut byte)
            .map_err(|e| TrialError::Failed(Cause::Sys(format!("read: {e}"))))?;
        read_trial(self.page, self.procs, &self.job, start, start, end)
    }

    /// Asks the workers to leave and reaps them.
    pub fn finish(mut self) -> Result<(), TrialError> {
        self.page.control().store(1, Ordering::Release);
        self.page.open_gate();
        self.crew
            .wait_exits(None)
            .map_err(|e| wait_cause(self.page, self.job.iters, e, None))
    }
}

fn read_trial(
    page: &SharedPage,
    procs: u32,
    job: &Job,
    released: Instant,
    start: Instant,
    end: Instant,
) -> Result<Trial, TrialError> {
    let total = page.counter().load(Ordering::Acquire);
    let completed: Vec<u64> = (0..procs as usize)
        .map(|i| page.slot(i).load(Ordering::Acquire))
        .collect();
    let expected = u64::from(procs) * job.iters;
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
    let trace = if job.trace {
        let entries = read_trace(page, procs, job.iters);
        let explanation = crate::explain::explain(&entries);
        // Every traced trial is checked: the explained losses must be exactly the lost ones.
        let explained = explanation.lost();
        if explained != i128::from(expected - total) {
            return Err(TrialError::Failed(Cause::Unexplained {
                explained,
                lost: expected - total,
            }));
        }
        Some(TrialTrace {
            entries,
            explanation,
        })
    } else {
        None
    };
    Ok(Trial {
        total,
        elapsed_ns: nanos(end - released),
        wall_ns: nanos(end - start),
        completed,
        trace,
        retries: 0,
    })
}

/// Copies the workers' trace rows out of the page, times made relative to the first read.
fn read_trace(page: &SharedPage, procs: u32, iters: u64) -> Vec<TraceEntry> {
    std::sync::atomic::fence(Ordering::Acquire);
    let mut entries = Vec::with_capacity((u64::from(procs) * iters) as usize);
    for worker in 0..procs {
        let row = &page.trace_row(worker as usize)[..iters as usize];
        for (seq, cell) in row.iter().enumerate() {
            entries.push(TraceEntry {
                worker,
                seq: seq as u64,
                read: cell.read.load(Ordering::Relaxed),
                wrote: cell.wrote.load(Ordering::Relaxed),
                prev: cell.prev.load(Ordering::Relaxed),
                t_read_ns: cell.t_read_ns.load(Ordering::Relaxed),
                t_write_ns: cell.t_write_ns.load(Ordering::Relaxed),
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

fn nanos(d: Duration) -> u64 {
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

pub(crate) fn spawn_cause(e: SpawnError) -> TrialError {
    TrialError::Failed(Cause::Spawn(e))
}

pub(crate) fn wait_cause(
    page: &SharedPage,
    iters: u64,
    error: WaitError,
    timeout: Option<Duration>,
) -> TrialError {
    let completed = |index: u32| page.slot(index as usize).load(Ordering::Acquire);
    let cause = match error {
        WaitError::Died { index, pid, ending } => Cause::WorkerDied {
            index,
            pid,
            ending,
            completed: completed(index),
            held_lock: page.holds_lock(index as usize),
        },
        WaitError::TimedOut { pending } => {
            let all: Vec<(u32, Pid, u64)> = pending
                .into_iter()
                .map(|(i, pid)| (i, pid, completed(i)))
                .collect();
            // Pooled workers never exit between trials: name those whose work is unfinished.
            let unfinished: Vec<_> = all.iter().copied().filter(|&(_, _, n)| n < iters).collect();
            Cause::TimedOut {
                timeout_ns: timeout.map_or(0, nanos),
                pending: if unfinished.is_empty() {
                    all
                } else {
                    unfinished
                },
            }
        }
        WaitError::Interrupted(signal) => return TrialError::Interrupted(signal),
        WaitError::Sys(what, errno) => Cause::Sys(format!("{what}: {errno}")),
    };
    TrialError::Failed(cause)
}
