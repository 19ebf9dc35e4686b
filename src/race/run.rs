//! Runs every trial of every mode at every combination of parameters, in order, and collects
//! the results. Measures; never prints (live output goes through an [`Observer`]).

use std::io;

use crate::command::config::{Config, Params};
use crate::machine::Load;
use crate::race::fork::{self, interrupt};
use crate::race::mode::Mode;
use crate::race::page::SharedPage;
use crate::race::trial::{Pool, TrialError, run_forked, signal};
use crate::race::worker::Job;
use crate::results::{Failure, Group, Keep, Observer, Report, Stage, Stop};
use crate::store::Counter;
use crate::store::trial::run_trial;

/// Runs the whole configuration. `Err` only when the observer's output failed.
pub(crate) fn run(config: &Config, keep: Keep, observer: &mut dyn Observer) -> io::Result<Report> {
    let settings = &config.settings;
    let mut report = Report {
        settings: settings.clone(),
        load: Load::detect(),
        groups: Vec::new(),
        stop: None,
    };
    let (page, mut counter) = match set_up(config) {
        Ok(set) => set,
        Err(message) => {
            report.stop = Some(Stop::SetupFailed(message));
            return Ok(report);
        }
    };
    'all: for params in settings.combinations() {
        for &mode in &settings.modes {
            let job = Job {
                mode,
                params,
                settings,
            };
            let mut group = Group::new(mode, params);
            let end = run_group(
                config,
                &page,
                counter.as_mut(),
                &job,
                &mut group,
                keep,
                observer,
            );
            report.groups.push(group);
            match end {
                Ok(()) => {}
                Err(Halt::Write(e)) => return Err(e),
                Err(Halt::Stop(stop)) => {
                    report.stop = Some(*stop);
                    break 'all;
                }
            }
        }
    }
    // A counter left in the database must be said, whatever else stopped the run.
    if let Some(Err(e)) = counter.as_mut().map(Counter::remove) {
        let before = match &report.stop {
            None => String::new(),
            Some(Stop::Interrupted(signal)) => {
                format!("interrupted by {signal}; every worker was stopped; ")
            }
            Some(Stop::Failed(failure)) => format!("{failure}; "),
            Some(Stop::SetupFailed(message)) => format!("{message}; "),
        };
        report.stop = Some(Stop::SetupFailed(format!(
            "{before}cannot remove the run's counter: {e}"
        )));
    }
    Ok(report)
}

/// Room for the workers' pidfds, the shared page sized for the largest trial, and with
/// `--store` the run's own counter in the database (dropping it removes it).
fn set_up(config: &Config) -> Result<(SharedPage, Option<Counter>), String> {
    let settings = &config.settings;
    fork::make_fd_room(settings.max_procs())
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    let page = SharedPage::new(settings.max_procs() as usize, settings.trace_len() as usize)
        .map_err(|e| format!("cannot map the shared page: {e}"))?;
    let counter = config.store.db().map(Counter::create).transpose()?;
    Ok((page, counter))
}

/// Why a group's trials stopped before the last.
enum Halt {
    /// The observer could not write its live output.
    Write(io::Error),
    /// A signal or a failure stops the whole run (boxed: it is large, and rare).
    Stop(Box<Stop>),
}

impl Halt {
    fn at(mode: Mode, params: Params, stage: Stage, error: TrialError) -> Halt {
        Halt::Stop(Box::new(match error {
            TrialError::Interrupted(signal) => Stop::Interrupted(signal),
            TrialError::Failed(cause) => Stop::Failed(Failure {
                mode,
                params,
                stage,
                cause,
            }),
        }))
    }
}

fn run_group(
    config: &Config,
    page: &SharedPage,
    mut counter: Option<&mut Counter>,
    job: &Job,
    group: &mut Group,
    keep: Keep,
    observer: &mut dyn Observer,
) -> Result<(), Halt> {
    let halt = |stage, error| Halt::at(job.mode, job.params, stage, error);
    let mut pool = if config.settings.pool {
        Some(Pool::start(page, job).map_err(|e| halt(Stage::PoolStart, e))?)
    } else {
        None
    };
    for index in 0..config.settings.trials {
        if let Some(s) = interrupt::pending() {
            return Err(Halt::Stop(Box::new(Stop::Interrupted(signal(s)))));
        }
        let result = match (pool.as_mut(), counter.as_deref_mut()) {
            (Some(pool), _) => pool.run(config.timeout),
            (None, Some(counter)) => run_trial(counter, page, job, index, config.timeout),
            (None, None) => run_forked(page, job, index, config.timeout),
        };
        let trial = result.map_err(|e| halt(Stage::Trial(index), e))?;
        group.add(&trial, keep);
        observer.trial(group, &trial).map_err(Halt::Write)?;
    }
    match pool {
        Some(pool) => pool.finish().map_err(|e| halt(Stage::PoolFinish, e)),
        None => Ok(()),
    }
}
