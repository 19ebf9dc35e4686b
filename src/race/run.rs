//! Runs every trial of every mode at every combination of parameters, in order, and collects
//! the results. Measures; never prints (live output goes through an [`Observer`]).

use std::io;

use crate::command::config::{Config, Settings};
use crate::race::fork::{self, interrupt};
use crate::race::lock::Lock;
use crate::race::page::SharedPage;
use crate::race::trial::{Pool, TrialError, run_forked, run_threads, signal};
use crate::race::worker::Job;
use crate::results::{Failure, Group, Keep, Observer, Report, Stage, Stop, Trial};

/// Runs the whole configuration. `Err` only when the observer's output failed.
pub(crate) fn run(config: &Config, keep: Keep, observer: &mut dyn Observer) -> io::Result<Report> {
    let settings = &config.settings;
    let mut report = Report {
        settings: settings.clone(),
        groups: Vec::new(),
        stop: None,
    };
    let page = match set_up(config) {
        Ok(page) => page,
        Err(message) => {
            report.stop = Some(Stop::SetupFailed(message));
            return Ok(report);
        }
    };
    let timeout = config.timeout;
    let end = if settings.threads {
        // Threads left running after a timeout (a thread cannot be killed) read the page and
        // the settings until racecount exits: both live as long as the process.
        let page: &'static SharedPage = Box::leak(Box::new(page));
        let settings: &'static Settings = Box::leak(Box::new(settings.clone()));
        let trial = move |page, job: &Job<'static>, index| run_threads(page, job, index, timeout);
        run_all(config, page, settings, &trial, keep, observer, &mut report)
    } else {
        let trial = move |page, job: &Job<'_>, index| run_forked(page, job, index, timeout);
        run_all(config, &page, settings, &trial, keep, observer, &mut report)
    };
    end.map(|()| report)
}

/// How one trial runs: forked workers or threads.
type RunTrial<'p> = dyn Fn(&'p SharedPage, &Job<'p>, u64) -> Result<Trial, TrialError> + 'p;

/// Every group: each combination of parameters, each mode and, for the modes that take a
/// lock, each lock kind.
fn run_all<'p>(
    config: &Config,
    page: &'p SharedPage,
    settings: &'p Settings,
    trial: &RunTrial<'p>,
    keep: Keep,
    observer: &mut dyn Observer,
    report: &mut Report,
) -> io::Result<()> {
    for params in settings.combinations() {
        for &mode in &settings.modes {
            for lock in settings.locks_for(mode) {
                let job = Job {
                    mode,
                    lock,
                    params,
                    settings,
                };
                let mut group = Group::new(mode, params).with_lock(lock);
                let end = run_group(config, page, &job, trial, &mut group, keep, observer);
                report.groups.push(group);
                match end {
                    Ok(()) => {}
                    Err(Halt::Write(e)) => return Err(e),
                    Err(Halt::Stop(stop)) => {
                        report.stop = Some(*stop);
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Room for the workers' pidfds, and the shared page sized for the largest trial.
fn set_up(config: &Config) -> Result<SharedPage, String> {
    let settings = &config.settings;
    fork::make_fd_room(settings.max_procs())
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    let page = SharedPage::new(settings.max_procs() as usize, settings.trace_len() as usize)
        .map_err(|e| format!("cannot map the shared page: {e}"))?;
    let flock =
        settings.locks.contains(&Lock::Flock) && settings.modes.iter().any(|m| m.takes_lock());
    if flock {
        page.with_lock_file()
            .map_err(|e| format!("cannot create the file for --lock flock: {e}"))
    } else {
        Ok(page)
    }
}

/// Why a group's trials stopped before the last.
enum Halt {
    /// The observer could not write its live output.
    Write(io::Error),
    /// A signal or a failure stops the whole run (boxed: it is large, and rare).
    Stop(Box<Stop>),
}

impl Halt {
    fn at(job: &Job, stage: Stage, error: TrialError) -> Halt {
        Halt::Stop(Box::new(match error {
            TrialError::Interrupted(signal) => Stop::Interrupted(signal),
            TrialError::Failed(cause) => Stop::Failed(Failure {
                mode: job.mode,
                lock: job.lock,
                params: job.params,
                stage,
                cause,
            }),
        }))
    }
}

fn run_group<'p>(
    config: &Config,
    page: &'p SharedPage,
    job: &Job<'p>,
    trial: &RunTrial<'p>,
    group: &mut Group,
    keep: Keep,
    observer: &mut dyn Observer,
) -> Result<(), Halt> {
    let halt = |stage, error| Halt::at(job, stage, error);
    let mut pool = if config.settings.pool {
        Some(Pool::start(page, job).map_err(|e| halt(Stage::PoolStart, e))?)
    } else {
        None
    };
    for index in 0..config.settings.trials {
        if let Some(s) = interrupt::pending() {
            return Err(Halt::Stop(Box::new(Stop::Interrupted(signal(s)))));
        }
        let result = match pool.as_mut() {
            Some(pool) => pool.run(config.timeout),
            None => trial(page, job, index),
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
