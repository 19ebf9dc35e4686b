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
use nix::sched::CpuSet;

use crate::analysis::explain::{TraceEntry, TrialTrace};
use crate::analysis::overlap::overlap;
use crate::race::fork::threads::{ThreadGate, Threads};
use crate::race::fork::{self, Crew, EXIT_ORPHANED, Gate, SpawnError, WaitError};
use crate::race::lock::Lock;
use crate::race::page::{SharedPage, WorkerCells};
use crate::race::pin;
use crate::race::worker::{EXIT_LOCK_FAILED, EXIT_PIN_FAILED, Job, progress_every, work};
use crate::results::{Cause, Completed, Ending, Others, Signal, Trial, Unfinished};

/// Runs one trial of the job's `procs` freshly forked workers.
pub fn run_forked(
    page: &SharedPage,
    job: &Job,
    trial: u64,
    timeout: Option<Duration>,
) -> Result<Trial, TrialError> {
    let workers = worker_cells(page, job)?;
    page.reset(workers.len());
    let gate = Gate::new().map_err(|e| TrialError::Failed(Cause::Sys(format!("pipe: {e}"))))?;
    if let Some(plan) = job.plan() {
        page.start_schedule(&plan, job.params.procs, job.settings.seed, trial);
    }
    let start = Instant::now();
    let mut crew = Crew::spawn(&workers, |worker| {
        if !worker.pin() {
            return EXIT_PIN_FAILED;
        }
        gate.pass();
        work(worker.cells, worker.index, job, trial)
    })
    .map_err(spawn_cause)?;
    let released = Instant::now();
    gate.open();
    let deadline = timeout.and_then(|t| released.checked_add(t));
    if let Err(e) = crew.wait_exits(deadline) {
        let others = match e {
            WaitError::Died { index, .. } if page.holds_lock(index as usize) => {
                after_holder_died(&mut crew, page, job, deadline)?
            }
            _ => None,
        };
        return Err(with_others(wait_cause(page, job, e, timeout), others));
    }
    let end = Instant::now();
    read_trial(page, job, released, start, end)
}

/// How long the other workers get, when no --timeout is given, to finish after one died
/// holding the lock.
const HOLDER_GRACE: Duration = Duration::from_secs(2);

/// After a worker died holding the lock: waits for the others until the deadline (or
/// [`HOLDER_GRACE`]) and says what they did. A robust mutex hands the next locker EOWNERDEAD
/// and they carry on; any other lock stays held by the dead, and they wait.
fn after_holder_died(
    crew: &mut Crew,
    page: &SharedPage,
    job: &Job,
    deadline: Option<Instant>,
) -> Result<Option<Others>, TrialError> {
    let died = Instant::now();
    let grace = deadline.unwrap_or(died + HOLDER_GRACE);
    match crew.wait_exits(Some(grace)) {
        Ok(()) => Ok(Some(Others::Finished {
            total: page.counter().load(Ordering::Acquire),
        })),
        Err(WaitError::Interrupted(s)) => Err(TrialError::Interrupted(signal(s))),
        Err(_) => Ok(Some(Others::Waited {
            ns: nanos(grace.saturating_duration_since(died)),
            kept: !matches!(job.lock, Some(Lock::Robust | Lock::Flock)),
        })),
    }
}

fn with_others(error: TrialError, others: Option<Others>) -> TrialError {
    match error {
        TrialError::Failed(Cause::WorkerDied {
            index,
            pid,
            ending,
            completed,
            held_lock,
            others: _,
        }) => TrialError::Failed(Cause::WorkerDied {
            index,
            pid,
            ending,
            completed,
            held_lock,
            others,
        }),
        other => other,
    }
}

/// Runs one trial of the job's `procs` workers as threads of this process (`--threads`).
///
/// After a timeout the threads are left running (a thread cannot be killed): the caller must
/// end the run, and `page` and `job` are `'static` so that nothing they read is freed.
pub fn run_threads(
    page: &'static SharedPage,
    job: &Job<'static>,
    trial: u64,
    timeout: Option<Duration>,
) -> Result<Trial, TrialError> {
    let workers = worker_cells(page, job)?;
    page.reset(workers.len());
    let gate =
        ThreadGate::new().map_err(|e| TrialError::Failed(Cause::Sys(format!("pipe: {e}"))))?;
    let waiter = gate.waiter();
    let job = *job;
    if let Some(plan) = job.plan() {
        page.start_schedule(&plan, job.params.procs, job.settings.seed, trial);
    }
    let start = Instant::now();
    let mut threads = Threads::spawn(workers, move |worker: &Worker<'static>| {
        if !worker.pin() {
            return EXIT_PIN_FAILED;
        }
        ThreadGate::pass(&waiter);
        work(worker.cells, worker.index, &job, trial)
    })
    .map_err(spawn_cause)?;
    let released = Instant::now();
    gate.open();
    threads
        .wait_exits(timeout.and_then(|t| released.checked_add(t)))
        .map_err(|e| wait_cause(page, &job, e, timeout))?;
    let end = Instant::now();
    read_trial(page, &job, released, start, end)
}

/// What one worker needs, looked up and checked in the parent.
#[derive(Clone, Copy)]
pub(crate) struct Worker<'p> {
    pub(crate) index: u32,
    pub(crate) cells: WorkerCells<'p>,
    /// `--pin`: the CPU it runs on, as an affinity mask.
    pub(crate) cpu: Option<CpuSet>,
}

impl Worker<'_> {
    /// In the worker, before the gate: moves to its CPU, if pinned. False when that failed.
    pub(crate) fn pin(&self) -> bool {
        self.cpu.as_ref().is_none_or(pin::apply)
    }
}

/// Each worker's index, cells and CPU, looked up and checked before anything is forked.
pub(crate) fn worker_cells<'p>(
    page: &'p SharedPage,
    job: &Job,
) -> Result<Vec<Worker<'p>>, TrialError> {
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
                Some(&cpu) => Some(pin::cpu_set(cpu).ok_or_else(|| failed("no CPU set"))?),
            };
            Ok(Worker { index, cells, cpu })
        })
        .collect()
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
    job: Job<'p>,
    done: OwnedFd,
    /// Trials run so far: the next one's number (the workers count the same way).
    trials: u64,
}

impl<'p> Pool<'p> {
    /// Forks the job's `procs` workers, which wait at the gate for each trial.
    pub fn start(page: &'p SharedPage, job: &Job<'p>) -> Result<Pool<'p>, TrialError> {
        let workers = worker_cells(page, job)?;
        let (done_read, done_write) = nix::unistd::pipe2(OFlag::O_CLOEXEC)
            .map_err(|e| TrialError::Failed(Cause::Sys(format!("pipe: {e}"))))?;
        page.reset(workers.len());
        page.control().store(0, Ordering::Release);
        let first = page.gate().load(Ordering::Acquire);
        let procs = job.params.procs;
        let crew = Crew::spawn(&workers, |worker| {
            let (index, cells) = (worker.index, worker.cells);
            if !worker.pin() {
                return EXIT_PIN_FAILED;
            }
            let mut seen = first;
            let mut trial: u64 = 0;
            loop {
                page.wait_gate(seen, POOL_YIELDS);
                seen = page.gate().load(Ordering::Acquire);
                if page.control().load(Ordering::Acquire) != 0 {
                    return 0;
                }
                let status = work(cells, index, job, trial);
                if status != 0 {
                    return status;
                }
                trial = trial.wrapping_add(1);
                if page.done().fetch_add(1, Ordering::AcqRel).wrapping_add(1) == procs {
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
            job: *job,
            done: done_read,
            trials: 0,
        })
    }

    /// Runs the next trial on the pooled workers.
    pub fn run(&mut self, timeout: Option<Duration>) -> Result<Trial, TrialError> {
        let procs = self.job.params.procs;
        self.page.reset(procs as usize);
        if let Some(plan) = self.job.plan() {
            let seed = self.job.settings.seed;
            self.page.start_schedule(&plan, procs, seed, self.trials);
        }
        self.trials += 1;
        let start = Instant::now();
        self.page.open_gate();
        for _ in 0..POOL_YIELDS {
            if self.page.done().load(Ordering::Acquire) == procs {
                break;
            }
            std::thread::yield_now();
        }
        self.crew
            .wait_readable(
                self.done.as_raw_fd(),
                timeout.and_then(|t| start.checked_add(t)),
            )
            .map_err(|e| wait_cause(self.page, &self.job, e, timeout))?;
        let end = Instant::now();
        let mut byte = [0u8; 1];
        nix::unistd::read(&self.done, &mut byte)
            .map_err(|e| TrialError::Failed(Cause::Sys(format!("read: {e}"))))?;
        read_trial(self.page, &self.job, start, start, end)
    }

    /// Asks the workers to leave and reaps them.
    pub fn finish(mut self) -> Result<(), TrialError> {
        self.page.control().store(1, Ordering::Release);
        self.page.open_gate();
        self.crew
            .wait_exits(None)
            .map_err(|e| wait_cause(self.page, &self.job, e, None))
    }
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

fn read_trial(
    page: &SharedPage,
    job: &Job,
    released: Instant,
    start: Instant,
    end: Instant,
) -> Result<Trial, TrialError> {
    let (procs, iters) = (job.params.procs, job.params.iters);
    let total = page.counter().load(Ordering::Acquire);
    let completed = accounted(page, job, total)?;
    let expected = job.params.expected();
    let trace = if job.settings.trace {
        let entries = read_trace(page, procs, iters, job.settings.schedule.is_some());
        let explanation = crate::analysis::explain::explain(&entries)
            .map_err(|e| TrialError::Failed(Cause::Unordered(e)))?;
        // With the writes chained, the explained losses add up by algebra to procs x iters
        // minus the value the last write left: this compares that value with the counter,
        // which catches a trace that does not end where the counter did. It verifies nothing
        // about who is named.
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
    let spans: Vec<(u64, u64)> = (0..procs as usize).map(|i| page.span(i)).collect();
    Ok(Trial {
        total,
        elapsed_ns: nanos(end - released),
        wall_ns: nanos(end - start),
        completed,
        overlap: overlap(&spans),
        trace,
        retries: 0,
    })
}

/// Copies the workers' trace rows out of the page, times made relative to the first read.
fn read_trace(page: &SharedPage, procs: u32, iters: u64, scheduled: bool) -> Vec<TraceEntry> {
    std::sync::atomic::fence(Ordering::Acquire);
    let mut entries = Vec::with_capacity((u64::from(procs) * iters) as usize);
    for worker in 0..procs {
        let row = page
            .trace_row(worker as usize)
            .and_then(|row| row.get(..iters as usize))
            .unwrap_or_default();
        for (seq, cell) in row.iter().enumerate() {
            entries.push(TraceEntry {
                worker,
                seq: seq as u64,
                read: cell.read.load(Ordering::Relaxed),
                // Every write stores what it read + 1 (the cell keeps no copy of it).
                wrote: cell.read.load(Ordering::Relaxed).wrapping_add(1),
                prev: cell.prev.load(Ordering::Relaxed),
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
pub(crate) fn ending(ending: fork::Ending) -> Ending {
    match ending {
        fork::Ending::Exited(EXIT_LOCK_FAILED) => Ending::LockFailed,
        fork::Ending::Exited(EXIT_ORPHANED) => Ending::Orphaned,
        fork::Ending::Exited(EXIT_PIN_FAILED) => Ending::PinFailed,
        fork::Ending::Exited(code) => Ending::Exited(code),
        fork::Ending::Signaled(s) => Ending::Killed(signal(s)),
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
        WaitError::Died {
            index,
            pid,
            ending: end,
        } => Cause::WorkerDied {
            index,
            pid: pid.as_raw().unsigned_abs(),
            ending: ending(end),
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
                threads: job.settings.threads,
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
