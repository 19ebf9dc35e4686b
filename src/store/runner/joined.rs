//! A trial of a joined run (`--join`): this host forks its share of the workers (slot i runs
//! the workers i × procs .. (i + 1) × procs of the trial), waits until they are connected,
//! meets the other hosts at the gate (host 1 resets the counter), races, writes its part to the
//! board, and builds the trial from every host's part and the counter.

use std::time::{Duration, Instant};

use super::{
    Channel, Counter, Gate, Job, LastWord, SharedPage, Trial, TrialError, db_error, failure,
    fork_workers, keeping_in_touch, nanos, recruits, sys, wait_connected_of,
};
use crate::results::{Cause, Failure, HostTrial, Stage};
use crate::store::join::{Joined, Part};

/// Runs trial `trial` of `job` on this host's share of the workers, with the other hosts.
pub(super) fn run_trial(
    counter: &mut Counter,
    joined: &mut Joined,
    page: &SharedPage,
    job: &Job,
    trial: u64,
    timeout: Option<Duration>,
) -> Result<Trial, TrialError> {
    let local = job.params.procs / joined.hosts;
    let first = joined.slot * local;
    let mine = first..first + local;
    let workers: Vec<_> = recruits(page, job)?
        .into_iter()
        .filter(|w| mine.contains(&w.index))
        .collect();
    page.reset(job.params.procs as usize);
    let channel = Channel::new().map_err(|e| sys(format!("pipe: {e}")))?;
    let gate = Gate::new().map_err(|e| sys(format!("pipe: {e}")))?;
    let db = counter.db().clone();
    let start = Instant::now();
    let mut crew = fork_workers(&db, &workers, job, &channel, |worker| {
        worker.work(trial, &gate)
    })?;
    let both = (&mut crew, &channel);
    wait_connected_of(counter, Some(joined), both, page, job, local, start)?;
    joined.start(counter)?;
    let released = Instant::now();
    gate.open();
    let deadline = timeout.and_then(|t| released.checked_add(t));
    keeping_in_touch(counter, Some(joined), deadline, |until| {
        crew.wait_exits(until)
    })
    .map_err(|e| e.map_or_else(|t| t, |w| failure(page, &channel, job, w, timeout)))?;
    let end = Instant::now();
    let part = part(page, &channel, mine, nanos(end - released))?;
    let parts = joined.finish(counter, &part)?;
    let total = counter.read_total().map_err(db_error)?;
    conclude(job, total, &parts, nanos(end - start))
}

/// This host's part: each of its workers' count, and their retries (from their last words).
fn part(
    page: &SharedPage,
    channel: &Channel,
    mine: std::ops::Range<u32>,
    elapsed_ns: u64,
) -> Result<Part, TrialError> {
    let words = channel.reports();
    let mut retries = 0u64;
    for index in mine.clone() {
        match words.iter().find(|(i, _)| *i == index) {
            Some((_, LastWord::Done { retries: r })) => retries += r,
            _ => {
                return Err(sys(format!(
                    "worker {index} finished but its report of retries was lost"
                )));
            }
        }
    }
    let completed = mine
        .map(|i| {
            page.completed(i as usize)
                .load(std::sync::atomic::Ordering::Acquire)
        })
        .collect();
    Ok(Part {
        elapsed_ns,
        retries,
        completed,
    })
}

/// The trial every host's parts make, checked as a trial of one host is: the counts add up to
/// procs × iters, and the counter is not above that.
fn conclude(job: &Job, total: u64, parts: &[Part], wall_ns: u64) -> Result<Trial, TrialError> {
    let completed: Vec<u64> = parts.iter().flat_map(|p| p.completed.clone()).collect();
    let expected = job.params.expected();
    let sum: u64 = completed.iter().sum();
    if sum != expected || completed.len() != job.params.procs as usize {
        return Err(TrialError::Failed(Cause::Incomplete {
            completed: sum,
            expected,
        }));
    }
    if total > expected {
        return Err(TrialError::Failed(Cause::Impossible { total, expected }));
    }
    let hosts: Vec<HostTrial> = parts
        .iter()
        .map(|p| HostTrial {
            completed: p.completed.iter().sum(),
            retries: p.retries,
            elapsed_ns: p.elapsed_ns,
        })
        .collect();
    Ok(Trial {
        total,
        // Each host timed its own gate to its last worker: the trial took the longest.
        elapsed_ns: hosts.iter().map(|h| h.elapsed_ns).max().unwrap_or(0),
        wall_ns,
        completed,
        spans: Vec::new(),
        trace: None,
        retries: hosts.iter().map(|h| h.retries).sum(),
        hosts,
    })
}

/// Why a trial failed on this host, in one line for the others (the board's `abort`).
pub(super) fn why(error: &TrialError, job: &Job, index: u64) -> String {
    match error {
        TrialError::Interrupted(signal) => format!("was interrupted by {signal}"),
        TrialError::Failed(cause) => {
            let failure = Failure {
                mode: job.mode,
                lock: job.lock,
                params: job.params,
                stage: Stage::Trial(index),
                cause: cause.clone(),
            };
            format!("failed: {failure}")
        }
    }
}
