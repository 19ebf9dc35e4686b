//! Runs every trial of every mode at every combination of parameters, in order, and collects
//! the results. Measures; never prints (live output goes through an [`Observer`]).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::command::config::{Config, Settings};
use crate::race::fork::{self, interrupt};
use crate::race::lock::Lock;
use crate::race::page::SharedPage;
use crate::race::trial::{Pool, TrialError, run_forked, run_threads, signal};
use crate::race::worker::Job;
use crate::results::{Failure, Group, Keep, Observer, Report, Stage, Stop, Trial};
use crate::store::Counter;
use crate::store::pool::StorePool;
use crate::store::trial::run_trial;

/// How often the workers' progress is read for a [`Watch`].
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Told, from another thread, every [`WATCH_EVERY`], how many increments the run's workers
/// have completed so far (finished trials and the one running), read from the shared page.
pub(crate) type Watch<'w> = &'w (dyn Fn(u64) + Sync);

/// Runs the whole configuration. `Err` only when the observer's output failed.
pub(crate) fn run(config: &Config, keep: Keep, observer: &mut dyn Observer) -> io::Result<Report> {
    run_watched(config, keep, observer, None)
}

/// As [`run`], with a thread that reads the workers' progress in the page for `watch`.
pub(crate) fn run_watched(
    config: &Config,
    keep: Keep,
    observer: &mut dyn Observer,
    watch: Option<Watch>,
) -> io::Result<Report> {
    let settings = &config.settings;
    let mut report = Report {
        settings: settings.clone(),
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
    // Store workers allocate after fork, which is sound only in a single-threaded parent: with
    // a database, no sampler thread (the bar then moves as trials finish).
    let watch = watch.filter(|_| counter.is_none());
    let finished = AtomicU64::new(0);
    let timeout = config.timeout;
    let end = if settings.threads {
        // Threads left running after a timeout (a thread cannot be killed) read the page and
        // the settings until racecount exits: both live as long as the process. (--threads
        // with a database store is refused: the counter is None here.)
        let page: &'static SharedPage = Box::leak(Box::new(page));
        let settings: &'static Settings = Box::leak(Box::new(settings.clone()));
        let trial = move |page, job: &Job<'static>, index| run_threads(page, job, index, timeout);
        let all = Groups {
            config,
            page,
            settings,
            trial: &trial,
            keep,
        };
        watched(watch, page, settings, &finished, || {
            all.run(None, observer, &finished, &mut report)
        })
    } else {
        let trial = move |page, job: &Job<'_>, index| run_forked(page, job, index, timeout);
        let all = Groups {
            config,
            page: &page,
            settings,
            trial: &trial,
            keep,
        };
        watched(watch, &page, settings, &finished, || {
            all.run(counter.as_mut(), observer, &finished, &mut report)
        })
    };
    end?;
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

/// Runs `body` with, when there is a `watch`, a thread that reports the workers' progress
/// every [`WATCH_EVERY`] until `body` returns.
fn watched<T>(
    watch: Option<Watch>,
    page: &SharedPage,
    settings: &Settings,
    finished: &AtomicU64,
    body: impl FnOnce() -> T,
) -> T {
    let done = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let sampler = watch.map(|watch| {
            scope.spawn(|| {
                while !done.load(Ordering::Acquire) {
                    std::thread::park_timeout(WATCH_EVERY);
                    let running: u64 = (0..settings.max_procs() as usize)
                        .map(|i| page.completed(i).load(Ordering::Relaxed))
                        .sum();
                    watch(finished.load(Ordering::Acquire).saturating_add(running));
                }
            })
        });
        let end = body();
        done.store(true, Ordering::Release);
        if let Some(sampler) = sampler {
            sampler.thread().unpark();
        }
        end
    })
}

/// How one trial runs: forked workers or threads.
type RunTrial<'p> = dyn Fn(&'p SharedPage, &Job<'p>, u64) -> Result<Trial, TrialError> + 'p;

/// Every group of a run: each combination of parameters, each mode and, for the modes that
/// take a lock, each lock kind.
struct Groups<'c, 'p> {
    config: &'c Config,
    page: &'p SharedPage,
    settings: &'p Settings,
    trial: &'c RunTrial<'p>,
    keep: Keep,
}

impl<'p> Groups<'_, 'p> {
    /// Runs them in turn, adding each trial's increments to `finished` as it ends.
    fn run(
        &self,
        mut counter: Option<&mut Counter>,
        observer: &mut dyn Observer,
        finished: &AtomicU64,
        report: &mut Report,
    ) -> io::Result<()> {
        let mut counted = Counted { observer, finished };
        for params in self.settings.combinations() {
            for &mode in &self.settings.modes {
                for lock in self.settings.locks_for(mode) {
                    let job = Job {
                        mode,
                        lock,
                        params,
                        settings: self.settings,
                    };
                    let mut group = Group::new(mode, params).with_lock(lock);
                    let end = self.group(counter.as_deref_mut(), &job, &mut group, &mut counted);
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

    /// Every trial of one group.
    fn group(
        &self,
        mut counter: Option<&mut Counter>,
        job: &Job<'p>,
        group: &mut Group,
        observer: &mut dyn Observer,
    ) -> Result<(), Halt> {
        let (config, page) = (self.config, self.page);
        let halt = |stage, error| Halt::at(job, stage, error);
        // --pool: workers forked once per mode; with a database they keep their connections.
        let mut pool = if config.settings.pool {
            let started = match counter.as_deref() {
                Some(counter) => StorePool::start(counter, page, job).map(Pooled::Store),
                None => Pool::start(page, job).map(Pooled::Page),
            };
            Some(started.map_err(|e| halt(Stage::PoolStart, e))?)
        } else {
            None
        };
        for index in 0..config.settings.trials {
            if let Some(s) = interrupt::pending() {
                return Err(Halt::Stop(Box::new(Stop::Interrupted(signal(s)))));
            }
            let result = match (pool.as_mut(), counter.as_deref_mut()) {
                (Some(Pooled::Page(pool)), _) => pool.run(config.timeout),
                (Some(Pooled::Store(pool)), Some(counter)) => pool.run(counter, config.timeout),
                (_, Some(counter)) => run_trial(counter, page, job, index, config.timeout),
                (_, None) => (self.trial)(page, job, index),
            };
            let trial = result.map_err(|e| halt(Stage::Trial(index), e))?;
            group.add(&trial, self.keep);
            observer.trial(group, &trial).map_err(Halt::Write)?;
        }
        let finished = match pool {
            Some(Pooled::Page(pool)) => pool.finish(),
            Some(Pooled::Store(pool)) => pool.finish(),
            None => Ok(()),
        };
        finished.map_err(|e| halt(Stage::PoolFinish, e))
    }
}

/// The workers of a `--pool`: on the shared page, or with a database connection each.
enum Pooled<'p> {
    Page(Pool<'p>),
    Store(StorePool<'p>),
}

/// Passes each trial on, after adding its increments to the finished count.
struct Counted<'a> {
    observer: &'a mut dyn Observer,
    finished: &'a AtomicU64,
}

impl Observer for Counted<'_> {
    fn trial(&mut self, group: &Group, trial: &Trial) -> io::Result<()> {
        self.finished.fetch_add(group.expected(), Ordering::AcqRel);
        self.observer.trial(group, trial)
    }
}

/// Room for the workers' pidfds, the shared page sized for the largest trial (with the file
/// of `--lock flock`), and with `--store` the run's own counter in the database (dropping it
/// removes it).
fn set_up(config: &Config) -> Result<(SharedPage, Option<Counter>), String> {
    let settings = &config.settings;
    fork::make_fd_room(settings.max_procs())
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    let mut page = SharedPage::new(settings.max_procs() as usize, settings.trace_len() as usize)
        .map_err(|e| format!("cannot map the shared page: {e}"))?;
    let flock =
        settings.locks.contains(&Lock::Flock) && settings.modes.iter().any(|m| m.takes_lock());
    if flock {
        page = page
            .with_lock_file()
            .map_err(|e| format!("cannot create the file for --lock flock: {e}"))?;
    }
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
