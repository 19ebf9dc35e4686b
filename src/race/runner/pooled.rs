//! `--pool`: workers forked once for every trial of a group, each trial released by the page's
//! futex gate (pooled workers pass it again every trial; see `race::child::pooled`).

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::Instant;

use nix::fcntl::OFlag;

use super::{Ground, Runner, TrialError, read_trial, recruits, spawn_cause, sys, wait_cause};
use crate::race::child::{self, EXIT_PIN_FAILED, pooled::GateYields};
use crate::race::fork::Crew;
use crate::race::job::Job;
use crate::results::Trial;

/// The pool runner: a [`Pool`] per group.
pub(crate) struct Pooled<'p, 's> {
    pub(crate) ground: Ground<'p>,
    pub(crate) pool: Option<Pool<'p, 's>>,
}

impl<'p, 's> Runner<'s> for Pooled<'p, 's> {
    fn begin(&mut self, job: &Job<'s>) -> Result<(), TrialError> {
        self.pool = Some(Pool::start(self.ground, job)?);
        Ok(())
    }

    fn trial(&mut self, _: &Job<'s>, _: u64) -> Result<Trial, TrialError> {
        match self.pool.as_mut() {
            Some(pool) => pool.run(),
            None => Err(sys(
                "a pooled trial ran before its pool started (a bug in racecount)",
            )),
        }
    }

    fn end(&mut self, _: &Job<'s>) -> Result<(), TrialError> {
        self.pool.take().map_or(Ok(()), Pool::finish)
    }
}

/// Workers forked once and reused for every trial of a group.
pub struct Pool<'p, 's> {
    ground: Ground<'p>,
    crew: Crew,
    job: Job<'s>,
    done: OwnedFd,
    /// Trials run so far: the next one's number (the workers count the same way).
    trials: u64,
}

impl<'p, 's> Pool<'p, 's> {
    /// Forks the job's `procs` workers, which wait at the gate for each trial.
    pub fn start(ground: Ground<'p>, job: &Job<'s>) -> Result<Pool<'p, 's>, TrialError> {
        let page = ground.page;
        let workers = recruits(page, job)?;
        let (done_read, done_write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| sys(format!("pipe: {e}")))?;
        page.reset(workers.len());
        page.control().store(0, Ordering::Release);
        let first = page.gate().load(Ordering::Acquire);
        let procs = job.params.procs;
        let yields = GateYields::of(job);
        let crew = Crew::spawn(&workers, |worker| {
            if !worker.pin() {
                return EXIT_PIN_FAILED;
            }
            child::pooled::serve(page, procs, yields, first, &done_write, |trial| {
                child::worker::work(worker.cells, worker.index, job, trial)
            })
        })
        .map_err(spawn_cause)?;
        drop(done_write);
        Ok(Pool {
            ground,
            crew,
            job: *job,
            done: done_read,
            trials: 0,
        })
    }

    /// Runs the next trial on the pooled workers.
    pub fn run(&mut self) -> Result<Trial, TrialError> {
        let (page, timeout) = (self.ground.page, self.ground.timeout);
        let procs = self.job.params.procs;
        page.reset(procs as usize);
        self.job.start_schedule(page, self.trials);
        self.trials += 1;
        let start = Instant::now();
        page.open_gate();
        // The parent yields too only when the whole trial is short (see `GateYields`).
        for _ in 0..GateYields::of(&self.job).after(0) {
            if page.done().load(Ordering::Acquire) == procs {
                break;
            }
            std::thread::yield_now();
        }
        self.crew
            .wait_readable(
                self.done.as_raw_fd(),
                timeout.and_then(|t| start.checked_add(t)),
            )
            .map_err(|e| wait_cause(page, &self.job, e, timeout))?;
        let end = Instant::now();
        let mut byte = [0u8; 1];
        nix::unistd::read(&self.done, &mut byte).map_err(|e| sys(format!("read: {e}")))?;
        read_trial(page, &self.job, start, start, end)
    }

    /// Asks the workers to leave and reaps them.
    pub fn finish(mut self) -> Result<(), TrialError> {
        let page = self.ground.page;
        page.control().store(1, Ordering::Release);
        page.open_gate();
        self.crew
            .wait_exits(None)
            .map_err(|e| wait_cause(page, &self.job, e, None))
    }
}
