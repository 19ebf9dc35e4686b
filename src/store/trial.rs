//! One trial against a database store: reset the counter, fork the workers, wait until every
//! one is connected, open the gate, wait for them, read the real total from the database.
//!
//! A trial means what it means on the shared page: the same expected total, the same
//! accounting from the workers' slots, the same failure reports, plus the retries the
//! database forced.

use std::time::{Duration, Instant};

use super::channel::Report;
use super::{Channel, Counter, EXIT_STORE_FAILED, work};
use crate::command::duration::format_nanos;
use crate::race::fork::{Crew, Ending, Gate, WaitError};
use crate::race::page::SharedPage;
use crate::race::trial::{TrialError, accounted, spawn_cause, wait_cause, worker_cells};
use crate::race::worker::Job;
use crate::results::{Cause, Trial};

/// How much longer than the connect timeout the parent waits for every worker to connect
/// (forking them and starting their clients takes time of its own).
pub(super) const CONNECT_MARGIN: Duration = Duration::from_secs(2);

/// Runs one trial of `procs` freshly forked store workers on `counter`.
pub(crate) fn run_trial(
    counter: &mut Counter,
    page: &SharedPage,
    job: &Job,
    trial: u64,
    timeout: Option<Duration>,
) -> Result<Trial, TrialError> {
    let procs = job.params.procs;
    counter.reset().map_err(sys)?;
    let workers = worker_cells(page, job)?;
    page.reset(workers.len());
    let channel = Channel::new().map_err(|e| sys(format!("pipe: {e}")))?;
    let gate = Gate::new().map_err(|e| sys(format!("pipe: {e}")))?;
    let db = counter.db().clone();
    single_threaded()?;
    let start = Instant::now();
    let mut crew = Crew::spawn(&workers, |worker| {
        work(&db, worker.cells, worker.index, job, trial, &channel, &gate)
    })
    .map_err(spawn_cause)?;
    let connect_deadline = start.checked_add(db.connect_timeout + CONNECT_MARGIN);
    if let Err(e) = channel.wait_ready(&mut crew, procs, connect_deadline) {
        return Err(match e {
            WaitError::TimedOut { pending } => {
                let late: Vec<String> = pending.iter().map(|w| w.index.to_string()).collect();
                sys(format!(
                    "workers {} did not connect to {} within {}",
                    late.join(", "),
                    db.shown,
                    format_nanos(nanos(db.connect_timeout + CONNECT_MARGIN))
                ))
            }
            other => failure(page, &channel, job, other, timeout),
        });
    }
    let released = Instant::now();
    gate.open();
    crew.wait_exits(timeout.and_then(|t| released.checked_add(t)))
        .map_err(|e| failure(page, &channel, job, e, timeout))?;
    let end = Instant::now();
    let mut retries = 0;
    let reports = channel.reports();
    for index in 0..procs {
        match reports.iter().find(|(i, _)| *i == index) {
            Some((_, Report::Done { retries: r })) => retries += r,
            _ => {
                return Err(sys(format!(
                    "worker {index} finished but its report of retries was lost"
                )));
            }
        }
    }
    let total = counter.read_total().map_err(sys)?;
    let completed = accounted(page, job, total)?;
    Ok(Trial {
        total,
        elapsed_ns: nanos(end - released),
        wall_ns: nanos(end - start),
        completed,
        overlap: Default::default(),
        trace: None,
        retries,
    })
}

/// A store worker that stopped with a message is named with it; anything else is reported as
/// on the shared page.
pub(super) fn failure(
    page: &SharedPage,
    channel: &Channel,
    job: &Job,
    error: WaitError,
    timeout: Option<Duration>,
) -> TrialError {
    if let WaitError::Died {
        index,
        pid,
        ending: Ending::Exited(EXIT_STORE_FAILED),
    } = error
    {
        let message = channel
            .reports()
            .into_iter()
            .find_map(|(i, r)| match r {
                Report::Failed(m) if i == index => Some(m),
                _ => None,
            })
            .unwrap_or_else(|| "failed (its report was lost)".to_string());
        return TrialError::Failed(Cause::Store {
            index,
            pid: pid.as_raw().unsigned_abs(),
            message,
        });
    }
    wait_cause(page, job, error, timeout)
}

/// The workers allocate and connect after fork, which is sound only if the parent has no other
/// thread (one holding a lock at the fork would leave it locked in the child): checked from
/// /proc before every fork of store workers.
pub(super) fn single_threaded() -> Result<(), TrialError> {
    let threads = std::fs::read_dir("/proc/self/task").map_or(1, |tasks| tasks.count());
    if threads == 1 {
        Ok(())
    } else {
        Err(sys(format!(
            "racecount has {threads} threads before forking store workers (a bug in racecount)"
        )))
    }
}

pub(super) fn sys(message: String) -> TrialError {
    TrialError::Failed(Cause::Sys(message))
}

pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
