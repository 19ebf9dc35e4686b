//! Runs every trial of every mode at every combination of parameters, in order, and collects
//! the results. Measures; never prints (live output goes through an [`Observer`]).

use std::io;

use crate::config::Config;
use crate::fork::{self, interrupt};
use crate::page::SharedPage;
use crate::results::{Cause, Failure, Group, Keep, Report, Setup, Stop, Trial};
use crate::trial::{Pool, TrialError, run_forked};
use crate::worker::Job;

/// Sees each trial as it finishes (live output, progress). Must flush what it writes: the next
/// trial forks, and buffered output must not be copied into the children.
pub trait Observer {
    fn trial(&mut self, group: &Group, trial: &Trial) -> io::Result<()>;
}

/// An observer that does nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn trial(&mut self, _: &Group, _: &Trial) -> io::Result<()> {
        Ok(())
    }
}

/// Runs the whole configuration. `Err` only when the observer's output failed.
pub fn run(config: &Config, keep: Keep, observer: &mut dyn Observer) -> io::Result<Report> {
    let mut report = Report {
        setup: Setup::from_config(config),
        groups: Vec::new(),
        stop: None,
    };
    let setup = fork::make_fd_room(config.max_procs())
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))
        .and_then(|()| {
            SharedPage::new(config.max_procs() as usize, config.trace_len() as usize)
                .map_err(|e| format!("cannot map the shared page: {e}"))
        });
    // With --store, the run's own counter in the database; dropping it removes it.
    let setup = setup.and_then(|page| match config.store.db() {
        Some(db) => crate::store::Counter::create(db).map(|c| (page, Some(c))),
        None => Ok((page, None)),
    });
    let (page, mut counter) = match setup {
        Ok(setup) => setup,
        Err(message) => {
            report.stop = Some(Stop::Failed(Failure {
                mode: config.modes[0],
                params: config.combinations()[0],
                trial: 0,
                cause: Cause::Setup(message),
            }));
            return Ok(report);
        }
    };
    'all: for params in config.combinations() {
        for &mode in &config.modes {
            let job = Job {
                mode,
                iters: params.iters,
                window: params.window,
                sleep_ns: config.sleep_ns,
                jitter_ns: config.jitter_ns,
                seed: config.seed,
                trace: config.trace,
            };
            let mut group = Group::new(mode, params);
            let outcome = run_group(
                config,
                &page,
                counter.as_mut(),
                &job,
                &mut group,
                keep,
                observer,
            )?;
            report.groups.push(group);
            if let Err((trial, error)) = outcome {
                report.stop = Some(match error {
                    TrialError::Interrupted(signal) => Stop::Interrupted(signal),
                    TrialError::Failed(cause) => Stop::Failed(Failure {
                        mode,
                        params,
                        trial,
                        cause,
                    }),
                });
                break 'all;
            }
        }
    }
    // A counter left in the database must be said, whatever else stopped the run.
    if let Some(Err(e)) = counter.as_mut().map(|c| c.remove()) {
        let before = match &report.stop {
            None => String::new(),
            Some(Stop::Interrupted(signal)) => {
                format!("interrupted by {signal}; every worker was stopped; ")
            }
            Some(Stop::Failed(failure)) => format!("{failure}; "),
        };
        report.stop = Some(Stop::Failed(Failure {
            mode: config.modes[0],
            params: config.combinations()[0],
            trial: 0,
            cause: Cause::Setup(format!("{before}cannot remove the run's counter: {e}")),
        }));
    }
    Ok(report)
}

type GroupOutcome = Result<(), (u64, TrialError)>;

#[allow(clippy::too_many_arguments)]
fn run_group(
    config: &Config,
    page: &SharedPage,
    mut counter: Option<&mut crate::store::Counter>,
    job: &Job,
    group: &mut Group,
    keep: Keep,
    observer: &mut dyn Observer,
) -> io::Result<GroupOutcome> {
    let procs = group.params.procs;
    let mut pool = None;
    // --pool with a database: workers that keep their connections across trials.
    let mut store_pool = None;
    if config.pool {
        let started = match counter.as_deref() {
            Some(counter) => crate::store::pool::StorePool::start(counter, page, procs, job)
                .map(|p| store_pool = Some(p)),
            None => Pool::start(page, procs, job).map(|p| pool = Some(p)),
        };
        if let Err(e) = started {
            return Ok(Err((0, e)));
        }
    }
    for index in 0..config.trials {
        if let Some(signal) = interrupt::pending() {
            return Ok(Err((index, TrialError::Interrupted(signal))));
        }
        let result = match (pool.as_mut(), store_pool.as_mut(), counter.as_deref_mut()) {
            (Some(pool), _, _) => pool.run(config.timeout),
            (None, Some(store_pool), Some(counter)) => store_pool.run(counter, config.timeout),
            (None, _, Some(counter)) => {
                crate::store::trial::run_trial(counter, page, procs, job, index, config.timeout)
            }
            (None, _, None) => run_forked(page, procs, job, index, config.timeout),
        };
        match result {
            Ok(trial) => {
                group.add(&trial, keep);
                observer.trial(group, &trial)?;
            }
            Err(e) => return Ok(Err((index, e))),
        }
    }
    if let Some(pool) = pool
        && let Err(e) = pool.finish()
    {
        return Ok(Err((config.trials, e)));
    }
    if let Some(store_pool) = store_pool
        && let Err(e) = store_pool.finish()
    {
        return Ok(Err((config.trials, e)));
    }
    Ok(Ok(()))
}
