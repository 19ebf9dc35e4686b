//! The database runner: a trial's workers each connect to the store, wait at the start gate
//! until every one is connected, then race through the database; the real total is read from
//! it. With `--pool` the workers (and their connections) are kept for every trial of a group.
//!
//! A trial means what it means on the shared page: the same expected total, the same
//! accounting from the workers' slots, the same failure reports, plus the retries the
//! database forced.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use nix::fcntl::OFlag;

use super::{Counter, Db, DbError};
use crate::model::units::format_nanos;
use crate::race::child::EXIT_STORE_FAILED;
use crate::race::child::db::DbWorker;
use crate::race::fork::channel::{Channel, LastWord};
use crate::race::fork::{Crew, Exit, Gate, WaitError};
use crate::race::job::Job;
use crate::race::page::SharedPage;
use crate::race::runner::{
    Closing, Recruit, Runner, TrialError, accounted, nanos, recruits, signal, spawn_cause, sys,
    wait_cause,
};
use crate::results::{Cause, Trial};

/// How much longer than the connect timeout the parent waits for every worker to connect
/// (forking them and starting their clients takes time of its own).
const CONNECT_MARGIN: Duration = Duration::from_secs(2);

mod joined;

/// Trials on a database: workers forked for each trial, or pooled for each group.
pub(crate) struct StoreRunner<'p, 's> {
    pub(crate) counter: Counter,
    pub(crate) page: &'p SharedPage,
    pub(crate) timeout: Option<Duration>,
    /// `--pool`: keep the workers and their connections for every trial of a group.
    pub(crate) pooled: bool,
    pub(crate) pool: Option<StorePool<'p, 's>>,
    /// `--join`: this host's place in the joined run, and why the run failed here, if it did
    /// (for the other hosts).
    pub(crate) joined: Option<super::join::Joined>,
    pub(crate) failed: Option<String>,
}

impl<'s> Runner<'s> for StoreRunner<'_, 's> {
    fn begin(&mut self, job: &Job<'s>) -> Result<(), TrialError> {
        if self.pooled {
            self.pool = Some(StorePool::start(&mut self.counter, self.page, job)?);
        }
        Ok(())
    }

    fn trial(&mut self, job: &Job<'s>, index: u64) -> Result<Trial, TrialError> {
        let result =
            match (self.joined.as_mut(), self.pool.as_mut()) {
                (Some(joined), _) => joined::run_trial(
                    &mut self.counter,
                    joined,
                    self.page,
                    job,
                    index,
                    self.timeout,
                ),
                (None, Some(pool)) => self
                    .counter
                    .reset()
                    .map_err(db_error)
                    .and_then(|()| pool.run(&mut self.counter, self.timeout)),
                (None, None) => self.counter.reset().map_err(db_error).and_then(|()| {
                    run_trial(&mut self.counter, self.page, job, index, self.timeout)
                }),
            };
        if let Err(e) = &result {
            self.failed = Some(joined::why(e, job, index));
        }
        result
    }

    fn end(&mut self, _: &Job<'s>) -> Result<(), TrialError> {
        self.pool.take().map_or(Ok(()), StorePool::finish)
    }

    fn close(&mut self) -> Result<(), Closing> {
        if let Some(joined) = self.joined.as_mut() {
            joined.leave(&mut self.counter, self.failed.as_deref());
        }
        self.counter.remove().map_err(|e| match e {
            DbError::Failed(message) | DbError::Refused(message) => Closing {
                message,
                signal: None,
            },
            DbError::Interrupted { signal: s, left } => Closing {
                message: left,
                signal: Some(signal(s)),
            },
        })
    }
}

/// A call to the database that stopped short, as a trial's error.
fn db_error(e: DbError) -> TrialError {
    match e {
        DbError::Failed(message) | DbError::Refused(message) => sys(message),
        DbError::Interrupted { signal: s, .. } => TrialError::Interrupted(signal(s)),
    }
}

/// Waits with `wait` until `deadline`, renewing the counter's TTL (Redis) every
/// [`keep_alive_every`] meanwhile: a run that dies leaves a key that expires by itself, and a
/// live one never lets its key expire, however long its trial.
fn keeping_alive(
    counter: &mut Counter,
    deadline: Option<Instant>,
    wait: impl FnMut(Option<Instant>) -> Result<(), WaitError>,
) -> Result<(), Result<WaitError, TrialError>> {
    keeping_in_touch(counter, None, deadline, wait)
}

/// [`keeping_alive`], and for a joined run also beating on the board and stopping when
/// another host fails (every [`Joined::beat_every`](super::join::Joined::beat_every)).
fn keeping_in_touch(
    counter: &mut Counter,
    mut joined: Option<&mut super::join::Joined>,
    deadline: Option<Instant>,
    mut wait: impl FnMut(Option<Instant>) -> Result<(), WaitError>,
) -> Result<(), Result<WaitError, TrialError>> {
    if !counter.expires() && joined.is_none() {
        return wait(deadline).map_err(Ok);
    }
    let every = joined
        .as_ref()
        .map_or(keep_alive_every(), |j| j.beat_every());
    let mut renewed = Instant::now();
    loop {
        let tick = Instant::now() + every;
        let until = deadline.map_or(tick, |d| d.min(tick));
        match wait(Some(until)) {
            Err(WaitError::TimedOut { .. }) if deadline.is_none_or(|d| until < d) => {
                if counter.expires() && renewed.elapsed() >= keep_alive_every() / 4 {
                    counter.keep_alive().map_err(|e| Err(db_error(e)))?;
                    renewed = Instant::now();
                }
                if let Some(joined) = joined.as_deref_mut() {
                    joined.tick(counter).map_err(Err)?;
                }
            }
            other => return other.map_err(Ok),
        }
    }
}

/// How often a run renews its Redis key's TTL during a wait.
fn keep_alive_every() -> Duration {
    #[cfg(feature = "redis")]
    {
        super::redis::KEEP_ALIVE_EVERY
    }
    #[cfg(not(feature = "redis"))]
    {
        Duration::from_secs(20)
    }
}

/// Runs one trial of `procs` freshly forked store workers on `counter` (already reset).
fn run_trial(
    counter: &mut Counter,
    page: &SharedPage,
    job: &Job,
    trial: u64,
    timeout: Option<Duration>,
) -> Result<Trial, TrialError> {
    let workers = recruits(page, job)?;
    page.reset(workers.len());
    let channel = Channel::new().map_err(|e| sys(format!("pipe: {e}")))?;
    let gate = Gate::new().map_err(|e| sys(format!("pipe: {e}")))?;
    let db = counter.db().clone();
    let start = Instant::now();
    let mut crew = fork_workers(&db, &workers, job, &channel, |worker| {
        worker.work(trial, &gate)
    })?;
    wait_connected(counter, &mut crew, &channel, page, job, start)?;
    let released = Instant::now();
    gate.open();
    let deadline = timeout.and_then(|t| released.checked_add(t));
    keeping_alive(counter, deadline, |until| crew.wait_exits(until))
        .map_err(|e| e.map_or_else(|t| t, |w| failure(page, &channel, job, w, timeout)))?;
    let end = Instant::now();
    conclude(counter, page, job, &channel, (released, start, end))
}

/// Forks one database worker per recruit, each running `life`, from a parent checked to have
/// no other thread.
fn fork_workers<'a>(
    db: &'a Db,
    workers: &[Recruit<'a>],
    job: &'a Job,
    channel: &'a Channel,
    life: impl Fn(&DbWorker) -> i32,
) -> Result<Crew, TrialError> {
    single_threaded()?;
    let workers: Vec<DbWorker> = workers
        .iter()
        .map(|w| DbWorker {
            db,
            cells: w.cells,
            index: w.index,
            job,
            channel,
        })
        .collect();
    Crew::spawn(&workers, life).map_err(spawn_cause)
}

/// Waits until every worker has connected (they report it through the channel).
fn wait_connected(
    counter: &mut Counter,
    crew: &mut Crew,
    channel: &Channel,
    page: &SharedPage,
    job: &Job,
    start: Instant,
) -> Result<(), TrialError> {
    let procs = job.params.procs;
    wait_connected_of(counter, None, (crew, channel), page, job, procs, start)
}

/// Waits until `procs` workers have connected, in touch with the other hosts of a joined run.
fn wait_connected_of(
    counter: &mut Counter,
    joined: Option<&mut super::join::Joined>,
    (crew, channel): (&mut Crew, &Channel),
    page: &SharedPage,
    job: &Job,
    procs: u32,
    start: Instant,
) -> Result<(), TrialError> {
    let db = counter.db().clone();
    let patience = db.connect_timeout + CONNECT_MARGIN;
    let deadline = start.checked_add(patience);
    let waited = keeping_in_touch(counter, joined, deadline, |until| {
        channel.wait_ready(crew, procs, until)
    });
    match waited {
        Ok(()) => Ok(()),
        Err(Err(trial_error)) => Err(trial_error),
        Err(Ok(WaitError::TimedOut { pending })) => {
            let late: Vec<String> = pending.iter().map(|w| w.index.to_string()).collect();
            Err(sys(format!(
                "workers {} did not connect to {} within {}",
                late.join(", "),
                db.shown,
                format_nanos(nanos(patience))
            )))
        }
        Err(Ok(other)) => Err(failure(page, channel, job, other, None)),
    }
}

/// The trial the workers left: their retries (from their last words), the real total read from
/// the database, and each one's count from its slot. `times`: gate release, fork, end.
fn conclude(
    counter: &mut Counter,
    page: &SharedPage,
    job: &Job,
    channel: &Channel,
    (released, start, end): (Instant, Instant, Instant),
) -> Result<Trial, TrialError> {
    let words = channel.reports();
    let mut retries = 0;
    for index in 0..job.params.procs {
        match words.iter().find(|(i, _)| *i == index) {
            Some((_, LastWord::Done { retries: r })) => retries += r,
            _ => {
                return Err(sys(format!(
                    "worker {index} finished but its report of retries was lost"
                )));
            }
        }
    }
    let total = counter.read_total().map_err(db_error)?;
    let completed = accounted(page, job, total)?;
    Ok(Trial {
        total,
        elapsed_ns: nanos(end - released),
        wall_ns: nanos(end - start),
        completed,
        spans: Vec::new(),
        trace: None,
        retries,
        hosts: Vec::new(),
    })
}

/// A store worker that stopped with a message is named with it; anything else is reported as
/// on the shared page.
fn failure(
    page: &SharedPage,
    channel: &Channel,
    job: &Job,
    error: WaitError,
    timeout: Option<Duration>,
) -> TrialError {
    if let WaitError::Died {
        index,
        pid,
        exit: Exit::Code(EXIT_STORE_FAILED),
    } = error
    {
        let message = channel
            .reports()
            .into_iter()
            .find_map(|(i, word)| match word {
                LastWord::Failed(m) if i == index => Some(m),
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
fn single_threaded() -> Result<(), TrialError> {
    let threads = || std::fs::read_dir("/proc/self/task").map_or(1, |tasks| tasks.count());
    // The parent's calls to the database run on a helper thread that is joined before they
    // return (`race::fork::helper`); a joined thread may still be listed for a moment while
    // the kernel finishes its exit.
    let end = Instant::now() + Duration::from_millis(200);
    let mut seen = threads();
    while seen > 1 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(1));
        seen = threads();
    }
    let threads = seen;
    if threads == 1 {
        Ok(())
    } else {
        Err(sys(format!(
            "racecount has {threads} threads before forking store workers (a bug in racecount)"
        )))
    }
}

/// Store workers forked once for every trial of a group (`--pool`): they connect once, then
/// run each trial when the page's futex gate opens, as the page's pooled workers do.
pub(crate) struct StorePool<'p, 's> {
    page: &'p SharedPage,
    crew: Crew,
    job: Job<'s>,
    channel: Channel,
    done: OwnedFd,
}

impl<'p, 's> StorePool<'p, 's> {
    /// Forks the job's workers on `counter`'s store and waits until every one is connected.
    fn start(
        counter: &mut Counter,
        page: &'p SharedPage,
        job: &Job<'s>,
    ) -> Result<StorePool<'p, 's>, TrialError> {
        let workers = recruits(page, job)?;
        let channel = Channel::new().map_err(|e| sys(format!("pipe: {e}")))?;
        let (done_read, done_write) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| sys(format!("pipe: {e}")))?;
        page.reset(workers.len());
        page.control().store(0, Ordering::Release);
        let first = page.gate().load(Ordering::Acquire);
        let db: Db = counter.db().clone();
        let start = Instant::now();
        let mut crew = fork_workers(&db, &workers, job, &channel, |worker| {
            worker.work_pooled(page, first, &done_write)
        })?;
        drop(done_write);
        wait_connected(counter, &mut crew, &channel, page, job, start)?;
        Ok(StorePool {
            page,
            crew,
            job: *job,
            channel,
            done: done_read,
        })
    }

    /// Runs the next trial on the pooled workers (the counter already reset).
    fn run(
        &mut self,
        counter: &mut Counter,
        timeout: Option<Duration>,
    ) -> Result<Trial, TrialError> {
        self.page.reset(self.job.params.procs as usize);
        let start = Instant::now();
        self.page.open_gate();
        let (crew, done) = (&mut self.crew, self.done.as_raw_fd());
        let deadline = timeout.and_then(|t| start.checked_add(t));
        keeping_alive(counter, deadline, |until| crew.wait_readable(done, until)).map_err(|e| {
            e.map_or_else(
                |t| t,
                |w| failure(self.page, &self.channel, &self.job, w, timeout),
            )
        })?;
        let end = Instant::now();
        let mut byte = [0u8; 1];
        nix::unistd::read(&self.done, &mut byte).map_err(|e| sys(format!("read: {e}")))?;
        conclude(
            counter,
            self.page,
            &self.job,
            &self.channel,
            (start, start, end),
        )
    }

    /// Asks the workers to leave and reaps them.
    fn finish(mut self) -> Result<(), TrialError> {
        self.page.control().store(1, Ordering::Release);
        self.page.open_gate();
        self.crew
            .wait_exits(None)
            .map_err(|e| failure(self.page, &self.channel, &self.job, e, None))
    }
}
