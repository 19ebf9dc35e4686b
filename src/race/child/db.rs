//! A database worker's body, run in the forked child instead of the shared page's loop
//! (`--store`): it connects, says it is ready, waits at the start gate, then makes its
//! increments through the database, retrying those the database refuses.
//!
//! The child allocates (its connection needs it), which is sound only because its runner forks
//! it from a parent with no other thread (checked before every fork: `store::runner`), so no
//! lock that another thread held is copied into it locked. It still leaves through `_exit`
//! (the [`Crew`](crate::race::fork::Crew) does that), and it never prints or flushes the
//! parent's stdio: what it has to say goes to the parent through the [`Channel`].

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::cells::WorkerCells;
use super::pause::Pause;
use super::pooled;
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::model::mode::InDatabase;
use crate::model::settings::Settings;
use crate::model::window::Window;
use crate::race::fork::Gate;
use crate::race::fork::channel::{Channel, LastWord, MAX_LINE};
use crate::race::job::Job;
use crate::race::page::SharedPage;

/// Exit status of a database worker that failed; its last word says why.
pub(crate) const EXIT_STORE_FAILED: i32 = 74;

/// What became of one try at an increment.
#[derive(Debug)]
// Made by the stores' clients only: none in a build without them.
#[cfg_attr(no_store, allow(dead_code))]
pub(crate) enum Attempt {
    /// The database refused it (and it was rolled back): try again, count a retry.
    Refused,
    /// Under `--fencing`: the store refused a read or write whose token is older than one it
    /// has seen (the lease had expired and been granted again). The increment is tried again
    /// under a new lease, and counted as a retry.
    Fenced,
    /// Anything else: the worker stops and the trial fails with this message.
    Failed(String),
}

/// One worker's connection to the database.
pub(crate) trait Client {
    /// One increment run as `shape` says; `hold` is the race window between read and write.
    /// (`InDatabase::Leased` is run by the worker through [`Client::lease`].)
    fn increment(&mut self, shape: InDatabase, hold: &mut dyn FnMut()) -> Result<(), Attempt>;

    /// The store's lease (`--lock lease:TTL`), for a store that has one.
    fn lease(&mut self) -> Option<&mut dyn Lease> {
        None
    }
}

/// A lock in the store that expires by itself (`--lock lease:TTL`), and reads and writes of
/// the counter that carry its token (`--fencing`).
pub(crate) trait Lease {
    /// Takes the lease for `ttl` if it is free (or expired): its token, strictly greater than
    /// every token the store gave before when `fenced` (else any number that names this
    /// holding); `None` when someone holds it.
    fn acquire(&mut self, ttl: Duration, fenced: bool) -> Result<Option<u64>, Attempt>;
    /// Gives the lease up if this holding (`token`) still has it; nothing otherwise.
    fn release(&mut self, token: u64) -> Result<(), Attempt>;
    /// The counter; with `fence`, only if no newer token has been seen (`Attempt::Fenced`
    /// else), recording this one.
    fn read(&mut self, fence: Option<u64>) -> Result<u64, Attempt>;
    /// Writes the counter; with `fence`, as [`Lease::read`].
    fn write(&mut self, value: u64, fence: Option<u64>) -> Result<(), Attempt>;
}

/// How a worker reaches the database, made in the parent before fork.
pub(crate) trait Connect: Sync {
    /// Opens worker `index`'s connection (in the child), one of `procs` racing on the counter.
    fn connect(&self, index: u32, procs: u32) -> Result<Box<dyn Client>, String>;
    /// The store as shown (password masked).
    fn shown(&self) -> &str;
}

/// What one database worker needs: its place on the page, and how to reach the database.
pub(crate) struct DbWorker<'a> {
    pub(crate) db: &'a dyn Connect,
    pub(crate) cells: WorkerCells<'a>,
    pub(crate) index: u32,
    pub(crate) job: &'a Job<'a>,
    pub(crate) channel: &'a Channel,
}

impl DbWorker<'_> {
    /// Trial number `trial`, forked for it: connects, says it is ready, passes the gate, then
    /// makes the job's increments. Returns the exit status.
    pub(crate) fn work(&self, trial: u64, gate: &Gate) -> i32 {
        let Some(mut client) = self.connect() else {
            return EXIT_STORE_FAILED;
        };
        self.channel.ready();
        gate.pass();
        self.increments(&mut *client, trial)
    }

    /// A pooled worker (`--pool`): connects once, says it is ready, then runs one trial each
    /// time the page's gate opens, until the parent asks it to leave (see [`pooled::serve`]).
    pub(crate) fn work_pooled(&self, page: &SharedPage, first_gate: u32, done: &OwnedFd) -> i32 {
        let Some(mut client) = self.connect() else {
            return EXIT_STORE_FAILED;
        };
        self.channel.ready();
        let procs = self.job.params.procs;
        let yields = pooled::GateYields::of(self.job);
        pooled::serve(page, procs, yields, first_gate, done, |trial| {
            self.increments(&mut *client, trial)
        })
    }

    /// Opens the connection; on failure says why and returns None.
    fn connect(&self) -> Option<Box<dyn Client>> {
        // A panic message would reach the user's terminal from a child; the parent reports the
        // exit status instead.
        std::panic::set_hook(Box::new(|_| {}));
        match self.db.connect(self.index, self.job.params.procs) {
            Ok(client) => Some(client),
            Err(e) => {
                let message = format!("could not connect to {}: {e}", self.db.shown());
                self.channel.report(self.index, &LastWord::Failed(message));
                None
            }
        }
    }

    /// One trial's increments, progress in the worker's slot, and the last word with the
    /// retries.
    fn increments(&self, client: &mut dyn Client, trial: u64) -> i32 {
        let (job, index) = (self.job, self.index);
        let slot = self.cells.completed();
        let mut pause = Pause::new(job.settings, trial, index);
        let mut hold = hold_for(job.params.window);
        let mut retries = 0u64;
        let mut backoff = BackOff::new(index);
        let mut stalls = Stalls::new(job.settings, trial, index);
        let shape = job.settings.in_database(job.mode);
        for done in 0..job.params.iters {
            pause.wait();
            backoff.reset();
            // Only the holder of a lock stalls: mutex and per-access.
            let mut stall = stalls.draw().filter(|_| job.mode.takes_lock());
            loop {
                let attempt = match shape {
                    InDatabase::Leased {
                        each_access,
                        fenced,
                    } => self.leased(client, each_access, fenced, &mut hold, &mut stall),
                    other => {
                        // The store's own lock is held across the window: the stall follows it.
                        let mut hold_then_stall = || {
                            hold();
                            if let Some(pause) = stall.take() {
                                super::pause::sleep(pause);
                            }
                        };
                        client.increment(other, &mut hold_then_stall)
                    }
                };
                match attempt {
                    Ok(()) => break,
                    Err(Attempt::Refused) => {
                        retries = retries.saturating_add(1);
                        backoff.wait();
                    }
                    Err(Attempt::Fenced) => {
                        // Tried again at once (a stall already made is not made again): the
                        // lease is free, or held by the worker that took it over.
                        retries = retries.saturating_add(1);
                    }
                    Err(Attempt::Failed(e)) => {
                        let message = format!(
                            "failed after {done} of {} increments: {e}",
                            job.params.iters
                        );
                        self.channel.report(index, &LastWord::Failed(message));
                        return EXIT_STORE_FAILED;
                    }
                }
            }
            slot.store(done.saturating_add(1), Relaxed);
        }
        self.channel.report(index, &LastWord::Done { retries });
        0
    }

    /// One try at an increment under the store's lease: taken around the whole of it, or
    /// around each access (`each_access`); with `fenced`, every access carries its token. The
    /// worker holding the lock for the write pauses first when `stall` says so (once).
    fn leased(
        &self,
        client: &mut dyn Client,
        each_access: bool,
        fenced: bool,
        hold: &mut dyn FnMut(),
        stall: &mut Option<Duration>,
    ) -> Result<(), Attempt> {
        let Some(ttl) = self
            .job
            .settings
            .lease
            .map(|l| Duration::from_nanos(l.ttl_ns))
        else {
            return Err(Attempt::Failed("no lease was asked for".into()));
        };
        let Some(lease) = client.lease() else {
            return Err(Attempt::Failed("this store has no lease".into()));
        };
        let mut waiting = BackOff::new(self.index);
        let token = acquire(lease, ttl, fenced, &mut waiting)?;
        let fence = |token: u64| fenced.then_some(token);
        let read = lease.read(fence(token));
        let value = match read {
            Ok(value) => value,
            Err(e) => {
                lease.release(token)?;
                return Err(e);
            }
        };
        let token = if each_access {
            lease.release(token)?;
            hold();
            acquire(lease, ttl, fenced, &mut waiting)?
        } else {
            hold();
            token
        };
        if let Some(pause) = stall.take() {
            super::pause::sleep(pause);
        }
        let written = lease.write(value.saturating_add(1), fence(token));
        lease.release(token)?;
        written
    }
}

/// Waits for the lease: tries, and after each refusal waits as after a database's (a yield,
/// then up to 5 ms).
fn acquire(
    lease: &mut dyn Lease,
    ttl: Duration,
    fenced: bool,
    waiting: &mut BackOff,
) -> Result<u64, Attempt> {
    waiting.reset();
    loop {
        if let Some(token) = lease.acquire(ttl, fenced)? {
            return Ok(token);
        }
        waiting.wait();
    }
}

/// `--stall DUR[@P]`: which increments pause, drawn per worker from the run's seed.
struct Stalls {
    stall: Option<(Duration, f64)>,
    rng: SmallRng,
}

impl Stalls {
    fn new(settings: &Settings, trial: u64, index: u32) -> Stalls {
        // Apart from --jitter's draws: the same seed, mixed with a constant of its own.
        let seed = super::pause::seed_for(settings.seed ^ 0x5354_414c_4c53, trial, index);
        Stalls {
            stall: settings
                .stall
                .map(|s| (Duration::from_nanos(s.ns), s.chance)),
            rng: SmallRng::seed_from_u64(seed),
        }
    }

    /// Whether the next increment pauses, and for how long.
    fn draw(&mut self) -> Option<Duration> {
        let (pause, chance) = self.stall?;
        (chance >= 1.0 || self.rng.random_bool(chance)).then_some(pause)
    }
}

impl Channel {
    /// In a worker: connected, waiting at the gate.
    pub(crate) fn ready(&self) {
        let _ = nix::unistd::write(&self.ready_write, b"r");
    }

    /// In a worker: its last word, cut to fit one atomic write of at most [`MAX_LINE`].
    pub(crate) fn report(&self, index: u32, word: &LastWord) {
        let mut line = match word {
            LastWord::Done { retries } => format!("{index} ok {retries}"),
            LastWord::Failed(message) => {
                format!("{index} failed {}", message.replace('\n', " "))
            }
        };
        let room = MAX_LINE.saturating_sub(1);
        if line.len() > room {
            let mut cut = room.saturating_sub(3);
            while !line.is_char_boundary(cut) {
                cut = cut.saturating_sub(1);
            }
            line.truncate(cut);
            line.push_str("...");
        }
        line.push('\n');
        let _ = nix::unistd::write(&self.reports_write, line.as_bytes());
    }
}

/// How long a worker waits after a refusal: after the `n`-th in a row (from 0), a yield, then
/// a random time below 10 µs × 2^(n-1), at most 5 ms (exponential back-off with full jitter).
///
/// The worker that won is still committing (SQLite refuses at once, without waiting for the
/// lock): retrying at once on two cores mostly takes the CPU it needs and meets the same
/// refusal again (measured on SQLite per-access, 10 x 20: 60000-280000 refusals a trial
/// retrying at once, and five times slower than with a back-off). A crowd needs the jitter
/// and the higher cap: at -p 100 the earlier back-off (the same steps for everyone, 1 ms at
/// most) made 200 refusals per increment and took 7 s a trial with both CPUs busy; this one
/// about 35 and 2-3 s.
struct BackOff {
    refusals: u32,
    /// xorshift64 state: the child's own, so that workers forked from one parent do not
    /// draw the same sequence.
    state: u64,
}

impl BackOff {
    const BASE_MICROS: u64 = 10;
    const CAP_MICROS: u64 = 5_000;

    fn new(index: u32) -> BackOff {
        let pid = u64::from(std::process::id());
        BackOff {
            refusals: 0,
            state: (pid << 32 | u64::from(index)) | 1,
        }
    }

    /// A new increment: its refusals count from 0 again.
    fn reset(&mut self) {
        self.refusals = 0;
    }

    fn wait(&mut self) {
        let n = self.refusals;
        self.refusals = self.refusals.saturating_add(1);
        let Some(doublings) = n.checked_sub(1) else {
            std::thread::yield_now();
            return;
        };
        let ceiling = (Self::BASE_MICROS << doublings.min(9)).min(Self::CAP_MICROS);
        let micros = self.next().checked_rem(ceiling).unwrap_or(0);
        std::thread::sleep(Duration::from_micros(micros.max(1)));
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }
}

/// The race window between read and write, as in the shared page's loop.
fn hold_for(window: Window) -> impl FnMut() {
    move || match window {
        Window::Busy(0) => {}
        Window::Busy(ns) => {
            let span = Duration::from_nanos(ns);
            let start = Instant::now();
            while start.elapsed() < span {
                std::hint::spin_loop();
            }
        }
        Window::Yield => std::thread::yield_now(),
    }
}
