//! Runs every trial of every group — each combination of parameters, each mode and, for the
//! modes that take a lock, each lock kind — through one [`Runner`], and collects the results.
//! Each trial is checked and, when traced, explained (`analysis`) as it finishes. Measures;
//! never prints (live output goes through an [`Observer`]).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::analysis::explain::explain;
use crate::analysis::overlap::overlap;
use crate::analysis::replay::differences;
use crate::model::lock::Lock;
use crate::model::settings::{Settings, Workers};
use crate::race::fork::{self, interrupt};
use crate::race::job::Job;
use crate::race::page::SharedPage;
use crate::race::runner::forked::Forked;
use crate::race::runner::pooled::Pooled;
use crate::race::runner::threaded::Threaded;
use crate::race::runner::{Ground, Runner, TrialError, signal};
use crate::results::{
    Cause, Failure, Group, Keep, Observer, Replayed, Report, Seen, Stage, Stop, Tally, Trial,
};
use crate::store::runner::StoreRunner;
use crate::store::{Counter, Target};

/// How often the workers' progress is read for a [`Watch`].
const WATCH_EVERY: Duration = Duration::from_millis(100);

/// Told, from another thread, every [`WATCH_EVERY`], how many increments the run's workers
/// have completed so far (finished trials and the one running), read from the shared page.
pub(crate) type Watch<'w> = &'w (dyn Fn(u64) + Sync);

/// What a run is: the trials, how long one may take, where the counter lives, and what to
/// keep of each trial.
pub(crate) struct Plan<'c> {
    pub(crate) settings: &'c Settings,
    pub(crate) timeout: Option<Duration>,
    pub(crate) store: &'c Target,
    /// With a database: its counter, made before the run (`app`), or why it could not be.
    pub(crate) counter: Option<Result<Counter, String>>,
    pub(crate) keep: Keep,
}

/// Whether a run of `store` lets the parent run other threads while it forks (the progress
/// bar's sampler and redraws): not when database workers, which allocate after fork, are
/// forked.
pub(crate) fn shares_the_parent(store: &Target) -> bool {
    store.db().is_none()
}

/// Runs the whole plan, with, when given, a thread that reads the workers' progress in the
/// page for `watch`. `Err` only when the observer's output failed.
pub(crate) fn run(
    plan: Plan,
    observer: &mut dyn Observer,
    watch: Option<Watch>,
) -> io::Result<Report> {
    let settings = plan.settings;
    let mut report = Report {
        settings: settings.clone(),
        groups: Vec::new(),
        stop: None,
        leftover: None,
    };
    let page = match set_up(settings) {
        Ok(page) => page,
        Err(e) => {
            report.stop = Some(Stop::SetupFailed(e.to_string()));
            return Ok(report);
        }
    };
    let watch = watch.filter(|_| shares_the_parent(plan.store));
    let finished = AtomicU64::new(0);
    let ground = Ground {
        page: &page,
        timeout: plan.timeout,
    };
    let mut all = All {
        keep: plan.keep,
        observer,
        finished: &finished,
        report: &mut report,
    };
    let end = if let Some(counter) = plan.counter {
        let mut counter = match counter {
            Ok(counter) => counter,
            Err(message) => {
                all.report.stop = Some(Stop::SetupFailed(message));
                return Ok(report);
            }
        };
        let mut runner = StoreRunner {
            page: &page,
            timeout: plan.timeout,
            pooled: settings.pool,
            pool: None,
            joined: counter.joined.take(),
            failed: None,
            counter,
        };
        all.run(settings, &mut runner)
    } else if settings.workers == Workers::Threads {
        // Threads left running after a timeout (a thread cannot be killed) read the page and
        // the settings until racecount exits: both live as long as the process.
        let page: &'static SharedPage = Box::leak(Box::new(page));
        let settings: &'static Settings = Box::leak(Box::new(settings.clone()));
        let mut runner = Threaded {
            page,
            timeout: plan.timeout,
        };
        watched(watch, page, settings, &finished, || {
            all.run(settings, &mut runner)
        })
    } else if settings.pool {
        let mut runner = Pooled { ground, pool: None };
        watched(watch, &page, settings, &finished, || {
            all.run(settings, &mut runner)
        })
    } else {
        let mut runner = Forked { ground };
        watched(watch, &page, settings, &finished, || {
            all.run(settings, &mut runner)
        })
    };
    end?;
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

/// Every group of a run, and where their results go.
struct All<'a> {
    keep: Keep,
    observer: &'a mut dyn Observer,
    /// Increments of the trials finished so far (for the progress sampler).
    finished: &'a AtomicU64,
    report: &'a mut Report,
}

impl All<'_> {
    /// Runs every group in turn through `runner`, then closes it; a runner that cannot remove
    /// what it made says so, whatever else stopped the run.
    fn run<'s>(&mut self, settings: &'s Settings, runner: &mut dyn Runner<'s>) -> io::Result<()> {
        let end = self.groups(settings, runner);
        if let Err(closing) = runner.close() {
            let before = match (&self.report.stop, closing.signal) {
                // Still a run a signal stopped: exit 128 + n, saying what may be left.
                (Some(Stop::Interrupted(_)), _) => {
                    self.report.leftover = Some(closing.message);
                    return end;
                }
                (None, Some(signal)) => {
                    self.report.stop = Some(Stop::Interrupted(signal));
                    self.report.leftover = Some(closing.message);
                    return end;
                }
                (None, None) => String::new(),
                (Some(Stop::Failed(failure)), _) => format!("{failure}; "),
                (Some(Stop::SetupFailed(message)), _) => format!("{message}; "),
            };
            self.report.stop = Some(Stop::SetupFailed(format!("{before}{}", closing.message)));
        }
        end
    }

    fn groups<'s>(
        &mut self,
        settings: &'s Settings,
        runner: &mut dyn Runner<'s>,
    ) -> io::Result<()> {
        for job in jobs(settings) {
            let mut group = Group::new(job.mode, job.params).with_lock(job.lock);
            let end = self.group(runner, &job, &mut group);
            self.report.groups.push(group);
            match end {
                Ok(()) => {}
                Err(Halt::Write(e)) => return Err(e),
                Err(Halt::Stop(stop)) => {
                    self.report.stop = Some(*stop);
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Every trial of one group.
    fn group<'s>(
        &mut self,
        runner: &mut dyn Runner<'s>,
        job: &Job<'s>,
        group: &mut Group,
    ) -> Result<(), Halt> {
        let halt = |stage, error| Halt::at(job, stage, error);
        runner.begin(job).map_err(|e| halt(Stage::PoolStart, e))?;
        for index in 0..job.settings.trials {
            if let Some(s) = interrupt::pending() {
                return Err(Halt::Stop(Box::new(Stop::Interrupted(signal(s)))));
            }
            let trial = runner
                .trial(job, index)
                .map_err(|e| halt(Stage::Trial(index), e))?;
            let seen = see(&trial, group.expected()).map_err(|e| halt(Stage::Trial(index), e))?;
            group.add(&trial, seen, self.keep);
            if let (Some(replay), Some(entries)) = (job.replay, &trial.trace) {
                group.replayed = Some(Replayed {
                    file: replay.file.clone(),
                    trial: replay.trial,
                    recorded_total: replay.total,
                    differing: differences(&replay.entries, entries),
                });
            }
            self.finished.fetch_add(group.expected(), Ordering::AcqRel);
            self.observer
                .trial(group, &trial, &seen)
                .map_err(Halt::Write)?;
        }
        runner.end(job).map_err(|e| halt(Stage::PoolFinish, e))
    }
}

/// Every group's job, in run order: each combination of parameters, each mode and, for the
/// modes that take a lock, each lock kind; or, under `--replay`, each recorded trial.
fn jobs(settings: &Settings) -> Vec<Job<'_>> {
    if !settings.replays.is_empty() {
        return settings
            .replays
            .iter()
            .map(|r| Job {
                mode: r.mode,
                lock: r.lock.filter(|_| r.mode.takes_lock()),
                params: r.params,
                settings,
                replay: Some(r),
            })
            .collect();
    }
    let mut jobs = Vec::new();
    for params in settings.combinations() {
        for &mode in &settings.modes {
            for lock in settings.locks_for(mode) {
                jobs.push(Job {
                    mode,
                    lock,
                    params,
                    settings,
                    replay: None,
                });
            }
        }
    }
    jobs
}

/// What the run makes of a finished trial: its workers' overlap and, when traced, the tally of
/// its explained lost updates — or why its trace cannot be right.
fn see(trial: &Trial, expected: u64) -> Result<Seen, TrialError> {
    let tally = trial
        .trace
        .as_deref()
        .map(|entries| tally(entries, trial.total, expected))
        .transpose()?;
    Ok(Seen {
        overlap: overlap(&trial.spans),
        tally,
    })
}

/// The tally of a traced trial's explanation, checked to end where the counter did.
fn tally(
    entries: &[crate::model::trace::TraceEntry],
    total: u64,
    expected: u64,
) -> Result<Tally, TrialError> {
    let explanation =
        explain(entries).map_err(|e| TrialError::Failed(Cause::Unordered(e.to_string())))?;
    // With the writes chained, the explained losses add up by algebra to procs x iters minus
    // the value the last write left: this compares that value with the counter, which catches
    // a trace that does not end where the counter did. It verifies nothing about who is named.
    let explained = explanation.lost();
    let lost = expected.saturating_sub(total);
    if explained != i128::from(lost) {
        return Err(TrialError::Failed(Cause::Unexplained { explained, lost }));
    }
    Ok(explanation.tally())
}

/// Why a run could not start: no trial ran.
#[derive(Debug)]
enum SetupError {
    FdLimit(nix::Error),
    Page(io::Error),
    LockFile(io::Error),
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::FdLimit(e) => write!(f, "cannot raise the open-file limit: {e}"),
            SetupError::Page(e) => write!(f, "cannot map the shared page: {e}"),
            SetupError::LockFile(e) => {
                write!(f, "cannot create the file for --lock flock: {e}")
            }
        }
    }
}

/// The shared page sized for the largest trial (with the file of `--lock flock`), after room
/// for the workers' pidfds.
fn set_up(settings: &Settings) -> Result<SharedPage, SetupError> {
    fork::make_fd_room(settings.max_procs()).map_err(SetupError::FdLimit)?;
    let mut page = SharedPage::new(settings.max_procs() as usize, settings.trace_len() as usize)
        .map_err(SetupError::Page)?;
    let flock =
        settings.locks.contains(&Lock::Flock) && settings.modes.iter().any(|m| m.takes_lock());
    if flock {
        page = page.with_lock_file().map_err(SetupError::LockFile)?;
    }
    let script = settings.replays.iter().map(|r| r.script.len()).max();
    if let Some(steps) = script {
        page = page.with_script(steps).map_err(SetupError::Page)?;
    }
    Ok(page)
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
