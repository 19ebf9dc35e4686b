//! `--pool` with a database store: the workers are forked and connect once, then run every
//! trial of a mode on the same connections, released by the page's futex gate as the page's
//! pooled workers are. A trial then costs the statements alone, not forking and connecting.
//!
//! A trial means what it means without the pool: the counter reset before it, the real total
//! read after it, the same checks and failure reports (a pooled worker that exits between
//! trials is a failure).

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;

use super::channel::Report;
use super::trial::{CONNECT_MARGIN, failure, nanos, single_threaded, sys};
use super::worker::work_pooled;
use super::{Channel, Counter, Db};
use crate::race::fork::Crew;
use crate::race::page::SharedPage;
use crate::race::trial::{TrialError, accounted, spawn_cause, worker_cells};
use crate::race::worker::Job;
use crate::results::Trial;

/// Store workers forked once for every trial of a mode.
pub(crate) struct StorePool<'p> {
    page: &'p SharedPage,
    crew: Crew,
    procs: u32,
    job: Job<'p>,
    channel: Channel,
    done: OwnedFd,
}

impl<'p> StorePool<'p> {
    /// Forks `procs` workers on `counter`'s store and waits until every one is connected.
    pub(crate) fn start(
        counter: &Counter,
        page: &'p SharedPage,
        job: &Job<'p>,
    ) -> Result<StorePool<'p>, TrialError> {
        let procs = job.params.procs;
        single_threaded()?;
        let workers = worker_cells(page, job)?;
        let channel = Channel::new().map_err(|e| sys(format!("pipe: {e}")))?;
        let (done_read, done_write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| sys(format!("pipe: {e}")))?;
        page.reset(procs as usize);
        page.control().store(0, Ordering::Release);
        let first = page.gate().load(Ordering::Acquire);
        let db: Db = counter.db().clone();
        let start = Instant::now();
        let mut crew = Crew::spawn(&workers, |worker| {
            work_pooled(
                &db,
                page,
                worker.cells,
                worker.index,
                job,
                procs,
                first,
                &channel,
                &done_write,
            )
        })
        .map_err(spawn_cause)?;
        drop(done_write);
        let deadline = start.checked_add(db.connect_timeout + CONNECT_MARGIN);
        channel
            .wait_ready(&mut crew, procs, deadline)
            .map_err(|e| failure(page, &channel, job, e, None))?;
        Ok(StorePool {
            page,
            crew,
            procs,
            job: *job,
            channel,
            done: done_read,
        })
    }

    /// Runs the next trial on the pooled workers.
    pub(crate) fn run(
        &mut self,
        counter: &mut Counter,
        timeout: Option<Duration>,
    ) -> Result<Trial, TrialError> {
        counter.reset().map_err(sys)?;
        self.page.reset(self.procs as usize);
        let start = Instant::now();
        self.page.open_gate();
        self.crew
            .wait_readable(
                self.done.as_raw_fd(),
                timeout.and_then(|t| start.checked_add(t)),
            )
            .map_err(|e| failure(self.page, &self.channel, &self.job, e, timeout))?;
        let end = Instant::now();
        let mut byte = [0u8; 1];
        nix::unistd::read(&self.done, &mut byte).map_err(|e| sys(format!("read: {e}")))?;
        let reports = self.channel.reports();
        let mut retries = 0;
        for index in 0..self.procs {
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
        let completed = accounted(self.page, &self.job, total)?;
        Ok(Trial {
            total,
            elapsed_ns: nanos(end - start),
            wall_ns: nanos(end - start),
            completed,
            overlap: Default::default(),
            trace: None,
            retries,
        })
    }

    /// Asks the workers to leave and reaps them.
    pub(crate) fn finish(mut self) -> Result<(), TrialError> {
        self.page.control().store(1, Ordering::Release);
        self.page.open_gate();
        self.crew
            .wait_exits(None)
            .map_err(|e| failure(self.page, &self.channel, &self.job, e, None))
    }
}
