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
use crate::model::mode::InDatabase;
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
    /// Anything else: the worker stops and the trial fails with this message.
    Failed(String),
}

/// One worker's connection to the database.
pub(crate) trait Client {
    /// One increment run as `shape` says; `hold` is the race window between read and write.
    fn increment(&mut self, shape: InDatabase, hold: &mut dyn FnMut()) -> Result<(), Attempt>;
}

/// How a worker reaches the database, made in the parent before fork.
pub(crate) trait Connect: Sync {
    /// Opens worker `index`'s connection (in the child).
    fn connect(&self, index: u32) -> Result<Box<dyn Client>, String>;
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
        match self.db.connect(self.index) {
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
        for done in 0..job.params.iters {
            pause.wait();
            backoff.reset();
            loop {
                match client.increment(job.mode.in_database(), &mut hold) {
                    Ok(()) => break,
                    Err(Attempt::Refused) => {
                        retries = retries.saturating_add(1);
                        backoff.wait();
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
