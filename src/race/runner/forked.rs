//! Workers forked for every trial: the default. A trial forks the job's workers, each waiting
//! at a pipe [`Gate`] (measured at the lesson's settings, the pipe releases its readers in a
//! way that overlaps them more than a futex: loss in 290-296 of 300 trials, like the C
//! baseline, against 248-275), opens it, waits for them and reads what they left on the page.

use std::time::{Duration, Instant};

use super::{
    Ground, Runner, TrialError, nanos, read_trial, recruits, signal, spawn_cause, wait_cause,
};
use crate::model::lock::Lock;
use crate::race::child::{self, EXIT_PIN_FAILED};
use crate::race::fork::{Crew, Gate, WaitError};
use crate::race::job::Job;
use crate::race::page::SharedPage;
use crate::results::{AfterHolderDied, Cause, Trial};

/// Workers forked for every trial.
pub(crate) struct Forked<'p> {
    pub(crate) ground: Ground<'p>,
}

impl<'s> Runner<'s> for Forked<'_> {
    fn trial(&mut self, job: &Job<'s>, index: u64) -> Result<Trial, TrialError> {
        run_forked(self.ground.page, job, index, self.ground.timeout)
    }
}

/// Runs one trial of the job's `procs` freshly forked workers.
pub fn run_forked(
    page: &SharedPage,
    job: &Job,
    trial: u64,
    timeout: Option<Duration>,
) -> Result<Trial, TrialError> {
    let workers = recruits(page, job)?;
    page.reset(workers.len());
    let gate = Gate::new().map_err(|e| TrialError::Failed(Cause::Sys(format!("pipe: {e}"))))?;
    job.start_schedule(page, trial);
    let start = Instant::now();
    let mut crew = Crew::spawn(&workers, |worker| {
        if !worker.pin() {
            return EXIT_PIN_FAILED;
        }
        gate.pass();
        child::worker::work(worker.cells, worker.index, job, trial)
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
) -> Result<Option<AfterHolderDied>, TrialError> {
    let died = Instant::now();
    let grace = deadline.unwrap_or(died + HOLDER_GRACE);
    match crew.wait_exits(Some(grace)) {
        Ok(()) => Ok(Some(AfterHolderDied::Finished {
            total: page.total(job.settings.trace),
        })),
        Err(WaitError::Interrupted(s)) => Err(TrialError::Interrupted(signal(s))),
        Err(_) => Ok(Some(AfterHolderDied::Waited {
            ns: nanos(grace.saturating_duration_since(died)),
            kept: !matches!(job.lock, Some(Lock::Robust | Lock::Flock)),
        })),
    }
}

fn with_others(error: TrialError, others: Option<AfterHolderDied>) -> TrialError {
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
