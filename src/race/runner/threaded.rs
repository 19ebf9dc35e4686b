//! `--threads`: the workers as threads of racecount instead of forked processes, on the same
//! page, through the same gate and work.

use std::time::{Duration, Instant};

use super::{Recruit, Runner, TrialError, read_trial, recruits, spawn_cause, wait_cause};
use crate::race::child::{self, EXIT_PIN_FAILED};
use crate::race::fork::threads::{ThreadGate, Threads};
use crate::race::job::Job;
use crate::race::page::SharedPage;
use crate::results::{Cause, Trial};

/// Workers as threads of racecount (`--threads`). The page and the jobs' settings live as
/// long as the process (see [`run_threads`]).
pub(crate) struct Threaded {
    pub(crate) page: &'static SharedPage,
    pub(crate) timeout: Option<Duration>,
}

impl Runner<'static> for Threaded {
    fn trial(&mut self, job: &Job<'static>, index: u64) -> Result<Trial, TrialError> {
        run_threads(self.page, job, index, self.timeout)
    }
}

/// Runs one trial of the job's `procs` workers as threads of this process (`--threads`).
///
/// After a timeout the threads are left running (a thread cannot be killed): the caller must
/// end the run, and `page` and `job` are `'static` so that nothing they read is freed.
pub(crate) fn run_threads(
    page: &'static SharedPage,
    job: &Job<'static>,
    trial: u64,
    timeout: Option<Duration>,
) -> Result<Trial, TrialError> {
    let workers = recruits(page, job)?;
    page.reset(workers.len());
    let gate =
        ThreadGate::new().map_err(|e| TrialError::Failed(Cause::Sys(format!("pipe: {e}"))))?;
    let waiter = gate.waiter();
    // A copy the threads own: after a timeout they outlive this call.
    let job = *job;
    job.start_schedule(page, trial);
    let start = Instant::now();
    let mut threads = Threads::spawn(workers, move |worker: &Recruit<'static>| {
        if !worker.pin() {
            return EXIT_PIN_FAILED;
        }
        ThreadGate::pass(&waiter);
        child::worker::work(worker.cells, worker.index, &job, trial)
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
