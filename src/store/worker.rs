//! A store worker's body, run in the forked child instead of the shared-page loop.
//!
//! The parent is single-threaded when it forks (its own connections run no threads: SQLite
//! and Redis are plain blocking sockets and files, PostgreSQL's client a current-thread
//! runtime, and host names are resolved by the parent before any fork), so this child may
//! allocate: it opens its own connection, which needs it. It still leaves through `_exit`
//! (the [`Crew`](crate::race::fork::Crew) does that), and it never prints or flushes the parent's
//! stdio: what it has to say goes to the parent through the [`Channel`].

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering::{self, Relaxed};
use std::time::{Duration, Instant};

use super::channel::{Channel, Report};
use super::{Attempt, Db};
use crate::race::fork::Gate;
use crate::race::page::{SharedPage, WorkerCells};
use crate::race::pause::Pause;
use crate::race::window::Window;
use crate::race::worker::Job;

/// Exit status of a store worker that failed; its report says why.
pub(crate) const EXIT_STORE_FAILED: i32 = 74;

/// Worker `index` of trial number `trial`: connects, says it is ready, passes the gate, then
/// makes `job.params.iters` increments of the counter in `db`, recording its progress in its slot of
/// the page. Returns its exit status.
pub(crate) fn work(
    db: &Db,
    cells: WorkerCells<'_>,
    index: u32,
    job: &Job,
    trial: u64,
    channel: &Channel,
    gate: &Gate,
) -> i32 {
    let Some(mut client) = connect(db, index, channel) else {
        return EXIT_STORE_FAILED;
    };
    channel.ready();
    gate.pass();
    increments(&mut *client, db, cells, index, job, trial, channel)
}

/// How often a pooled worker yields the core at the gate before it sleeps on the futex (as
/// the page's pooled workers do).
const POOL_YIELDS: u32 = 10;

/// A pooled worker (`--pool`): connects once, says it is ready, then runs one trial each time
/// the page's gate opens, until the parent sets the page's control word. The last worker done
/// with a trial writes a byte to `done`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn work_pooled(
    db: &Db,
    page: &SharedPage,
    cells: WorkerCells<'_>,
    index: u32,
    job: &Job,
    procs: u32,
    first_gate: u32,
    channel: &Channel,
    done: &OwnedFd,
) -> i32 {
    let Some(mut client) = connect(db, index, channel) else {
        return EXIT_STORE_FAILED;
    };
    channel.ready();
    let mut seen = first_gate;
    let mut trial = 0;
    loop {
        page.wait_gate(seen, POOL_YIELDS);
        seen = page.gate().load(Ordering::Acquire);
        if page.control().load(Ordering::Acquire) != 0 {
            return 0;
        }
        let status = increments(&mut *client, db, cells, index, job, trial, channel);
        if status != 0 {
            return status;
        }
        trial += 1;
        if page.done().fetch_add(1, Ordering::AcqRel) + 1 == procs {
            // A failed write cannot be reported from here; the parent's timeout or the
            // pidfds catch what follows.
            let _ = nix::unistd::write(done, b"d");
        }
    }
}

/// Opens worker `index`'s connection; on failure reports why and returns None.
fn connect(db: &Db, index: u32, channel: &Channel) -> Option<Box<dyn super::Client>> {
    // A panic message would reach the user's terminal from a child; the parent reports the
    // exit status instead.
    std::panic::set_hook(Box::new(|_| {}));
    match db.connect(index) {
        Ok(client) => Some(client),
        Err(e) => {
            let message = format!("could not connect to {}: {e}", db.shown);
            channel.report(index, &Report::Failed(db.secret.scrub(&message)));
            None
        }
    }
}

/// One trial's increments, progress in the worker's slot, and the report of its retries.
fn increments(
    client: &mut dyn super::Client,
    db: &Db,
    cells: WorkerCells<'_>,
    index: u32,
    job: &Job,
    trial: u64,
    channel: &Channel,
) -> i32 {
    let slot = cells.completed();
    let mut pause = Pause::new(job.settings, trial, index);
    let mut hold = hold_for(job.params.window);
    let mut retries = 0u64;
    for done in 1..=job.params.iters {
        pause.wait();
        let mut refusals = 0u32;
        loop {
            match client.increment(job.mode, &mut hold) {
                Ok(()) => break,
                Err(Attempt::Refused) => {
                    retries += 1;
                    back_off(refusals);
                    refusals += 1;
                }
                Err(Attempt::Failed(e)) => {
                    let message = format!(
                        "failed after {} of {} increments: {e}",
                        done - 1,
                        job.params.iters
                    );
                    channel.report(index, &Report::Failed(db.secret.scrub(&message)));
                    return EXIT_STORE_FAILED;
                }
            }
        }
        slot.store(done, Relaxed);
    }
    channel.report(index, &Report::Done { retries });
    0
}

/// After the `n`-th refusal in a row (from 0): yield, then sleep 10 µs, doubling up to 1 ms.
/// The worker that won is still committing (SQLite refuses at once, without waiting for the
/// lock): retrying at once on two cores mostly takes the CPU it needs and meets the same
/// refusal again (measured on SQLite per-access, 10 x 20: 60000-280000 refusals a trial
/// retrying at once, and five times slower than with the back-off).
fn back_off(n: u32) {
    if n == 0 {
        std::thread::yield_now();
    } else {
        let micros = (10u64 << (n - 1).min(7)).min(1000);
        std::thread::sleep(Duration::from_micros(micros));
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
