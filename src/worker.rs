//! What a worker does after fork: its increments, then it returns an exit status.
//!
//! Runs in a forked child, so it must not allocate, print or unwind. The racy read-modify-write
//! is a relaxed atomic load and a separate relaxed atomic store: the same machine code as a
//! plain `+=` on x86 and ARM, without the undefined behaviour of a data race in Rust.
//!
//! With `--trace` the loop also records each increment in the worker's row of the shared page
//! (read, written, replaced value, and the monotonic times of read and write). The loop is
//! generic over a [`Recorder`]: with [`NoTrace`] it compiles to the untraced loop. When
//! tracing, the unlocked write becomes an atomic `swap(v + 1)`: still a blind write of the
//! stale value + 1, so the race is the same in kind, but it returns the value it replaced and
//! puts every write in one order, which makes the accounting of lost updates exact.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicU64, compiler_fence};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::duration::Window;
use crate::fork::EXIT_LOCK_FAILED;
use crate::mode::Mode;
use crate::page::{LockError, SharedPage, TraceCell};

/// What every worker of a trial does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub mode: Mode,
    pub iters: u64,
    pub window: Window,
    pub sleep_ns: u64,
    pub jitter_ns: u64,
    pub seed: u64,
    /// Record every increment in the page's trace rows (`--trace`).
    pub trace: bool,
}

/// Runs worker `index`'s increments for trial number `trial`; returns its exit status.
pub fn work(page: &SharedPage, index: u32, job: &Job, trial: u64) -> i32 {
    if job.trace {
        let row = page.trace_row(index as usize);
        if (row.len() as u64) < job.iters {
            // The page was made too small for this job (a bug): say so rather than record
            // part of the trial.
            return crate::fork::EXIT_TRACE_ROW;
        }
        with_window(page, index, job, trial, Trace { row })
    } else {
        with_window(page, index, job, trial, NoTrace)
    }
}

/// Picks the loop for the job's window, so that with no window the loop holds nothing but
/// the read and the write (as the C baseline's does).
fn with_window<R: Recorder>(page: &SharedPage, index: u32, job: &Job, trial: u64, rec: R) -> i32 {
    match job.window {
        Window::Busy(0) => work_with(page, index, job, trial, rec, NoWindow),
        Window::Busy(ns) => work_with(page, index, job, trial, rec, Busy(Duration::from_nanos(ns))),
        Window::Yield => work_with(page, index, job, trial, rec, Yield),
    }
}

/// The race window between read and write.
trait Hold: Copy {
    /// How often the worker's slot records its progress, in increments. Every increment,
    /// except with no window, where the store would cost a quarter of an atomic increment
    /// (measured); the slot is always exact at the end.
    const PROGRESS_EVERY: u64 = 1;
    fn hold(self);
}

/// With `--window 0` a worker records its progress every this many increments (and at the
/// end), so a count read mid-trial is a lower bound by up to this much less one.
pub const PROGRESS_EVERY_WITHOUT_WINDOW: u64 = 1024;

/// `--window 0`: nothing between read and write.
#[derive(Clone, Copy)]
struct NoWindow;

impl Hold for NoWindow {
    const PROGRESS_EVERY: u64 = PROGRESS_EVERY_WITHOUT_WINDOW;
    #[inline(always)]
    fn hold(self) {}
}

/// Busy-waiting on the monotonic clock for the span.
#[derive(Clone, Copy)]
struct Busy(Duration);

impl Hold for Busy {
    #[inline(always)]
    fn hold(self) {
        let start = Instant::now();
        while start.elapsed() < self.0 {
            std::hint::spin_loop();
        }
    }
}

/// `--window yield`: sched_yield between read and write.
#[derive(Clone, Copy)]
struct Yield;

impl Hold for Yield {
    #[inline(always)]
    fn hold(self) {
        std::thread::yield_now();
    }
}

/// What happened in one increment: the value read, the value the write replaced, and the
/// times just after the read and just after the write (0 when not tracing).
#[derive(Clone, Copy)]
struct Step {
    read: u64,
    prev: u64,
    t_read: u64,
    t_write: u64,
}

/// Where a worker's increments are recorded, if anywhere.
trait Recorder {
    /// Whether anything is recorded: decides at compile time how the write is done.
    const ON: bool;
    /// The monotonic clock in ns (0 when not recording).
    fn now(&self) -> u64;
    /// Records increment number `i` (0-based).
    fn record(&self, i: u64, step: Step);
}

/// Records nothing; the loop compiles to what it is without tracing.
struct NoTrace;

impl Recorder for NoTrace {
    const ON: bool = false;
    #[inline(always)]
    fn now(&self) -> u64 {
        0
    }
    #[inline(always)]
    fn record(&self, _: u64, _: Step) {}
}

/// Records into this worker's trace row in the shared page.
struct Trace<'p> {
    row: &'p [TraceCell],
}

impl Recorder for Trace<'_> {
    const ON: bool = true;
    #[inline(always)]
    fn now(&self) -> u64 {
        monotonic_ns()
    }
    #[inline(always)]
    fn record(&self, i: u64, step: Step) {
        if let Some(cell) = self.row.get(i as usize) {
            cell.read.store(step.read, Relaxed);
            cell.wrote.store(step.read + 1, Relaxed);
            cell.prev.store(step.prev, Relaxed);
            cell.t_read_ns.store(step.t_read, Relaxed);
            cell.t_write_ns.store(step.t_write, Relaxed);
        }
    }
}

/// CLOCK_MONOTONIC in ns: a vDSO call, no allocation, safe after fork.
#[inline(always)]
pub fn monotonic_ns() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => (t.tv_sec() as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(t.tv_nsec() as u64),
        Err(_) => 0,
    }
}

#[inline(always)]
fn work_with<R: Recorder, H: Hold>(
    page: &SharedPage,
    index: u32,
    job: &Job,
    trial: u64,
    rec: R,
    window: H,
) -> i32 {
    let counter = page.counter();
    let slot = page.slot(index as usize);
    let mut pause = Pause::new(job, trial, index);
    let rec = &rec;
    let result = match job.mode {
        Mode::Unlocked => count::<H, _, _>(job.iters, slot, &mut pause, rec, || {
            let read = counter.load(Relaxed);
            // Keeps the read and the write two instructions, as in C (it emits no code): without
            // it the compiler fuses them into one unlocked `inc` of memory, a narrower race.
            compiler_fence(SeqCst);
            let t_read = rec.now();
            window.hold();
            let prev = if R::ON {
                counter.swap(read + 1, Relaxed)
            } else {
                counter.store(read + 1, Relaxed);
                read
            };
            let t_write = rec.now();
            Ok(Step {
                read,
                prev,
                t_read,
                t_write,
            })
        }),
        Mode::PerAccess => count::<H, _, _>(job.iters, slot, &mut pause, rec, || {
            let (read, t_read) = {
                let _lock = page.lock(index)?;
                (counter.load(Relaxed), rec.now())
            };
            window.hold();
            let _lock = page.lock(index)?;
            // Under the lock nobody else writes: the load is the value this store replaces.
            let prev = if R::ON { counter.load(Relaxed) } else { read };
            counter.store(read + 1, Relaxed);
            let t_write = rec.now();
            Ok(Step {
                read,
                prev,
                t_read,
                t_write,
            })
        }),
        Mode::Mutex => count::<H, _, _>(job.iters, slot, &mut pause, rec, || {
            let _lock = page.lock(index)?;
            let read = counter.load(Relaxed);
            let t_read = rec.now();
            window.hold();
            // Loaded again rather than assumed: the trace shows that nothing moved.
            let prev = if R::ON { counter.load(Relaxed) } else { read };
            counter.store(read + 1, Relaxed);
            let t_write = rec.now();
            Ok(Step {
                read,
                prev,
                t_read,
                t_write,
            })
        }),
        Mode::Atomic => count::<H, _, _>(job.iters, slot, &mut pause, rec, || {
            window.hold();
            // One indivisible read-modify-write: what it read is what it replaced.
            let read = counter.fetch_add(1, Relaxed);
            let t = rec.now();
            Ok(Step {
                read,
                prev: read,
                t_read: t,
                t_write: t,
            })
        }),
    };
    match result {
        Ok(()) => 0,
        Err(LockError(_)) => EXIT_LOCK_FAILED,
    }
}

/// The loop shared by every mode: pause if asked, increment, record progress in the slot.
#[inline(always)]
fn count<H, R, F>(
    iters: u64,
    slot: &AtomicU64,
    pause: &mut Pause,
    rec: &R,
    mut step: F,
) -> Result<(), LockError>
where
    H: Hold,
    R: Recorder,
    F: FnMut() -> Result<Step, LockError>,
{
    if pause.is_none() {
        for done in 1..=iters {
            rec.record(done - 1, step()?);
            if done % H::PROGRESS_EVERY == 0 {
                slot.store(done, Relaxed);
            }
        }
    } else {
        for done in 1..=iters {
            pause.wait();
            rec.record(done - 1, step()?);
            if done % H::PROGRESS_EVERY == 0 {
                slot.store(done, Relaxed);
            }
        }
    }
    if H::PROGRESS_EVERY > 1 {
        slot.store(iters, Relaxed);
    }
    Ok(())
}

/// `--sleep` and `--jitter`: a pause before every increment.
struct Pause {
    sleep: Duration,
    jitter_ns: u64,
    rng: SmallRng,
}

impl Pause {
    fn new(job: &Job, trial: u64, index: u32) -> Pause {
        Pause {
            sleep: Duration::from_nanos(job.sleep_ns),
            jitter_ns: job.jitter_ns,
            rng: SmallRng::seed_from_u64(seed_for(job.seed, trial, index)),
        }
    }

    fn is_none(&self) -> bool {
        self.sleep.is_zero() && self.jitter_ns == 0
    }

    fn wait(&mut self) {
        let mut pause = self.sleep;
        if self.jitter_ns > 0 {
            pause += Duration::from_nanos(self.rng.random_range(0..self.jitter_ns));
        }
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
}

/// A distinct, repeatable seed for each (run seed, trial, worker).
pub fn seed_for(seed: u64, trial: u64, index: u32) -> u64 {
    // splitmix64 finaliser over the three inputs.
    let mut z = seed
        ^ trial.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ u64::from(index).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_for_every_worker_trial_and_run_seed() {
        // Two workers (or trials) drawing the same jitter would pause in lockstep. A weak mix
        // of the three inputs (a plain XOR of them, say) collides on this grid.
        let mut seen = std::collections::HashSet::new();
        for seed in [0, 1, 2, 3, u64::MAX] {
            for trial in 0..64 {
                for index in 0..64 {
                    assert!(
                        seen.insert(seed_for(seed, trial, index)),
                        "seed {seed}, trial {trial}, worker {index} repeats a seed"
                    );
                }
            }
        }
    }

    /// A job with no window, pause or jitter.
    fn alone(mode: Mode, iters: u64, trace: bool) -> Job {
        Job {
            mode,
            iters,
            window: Window::Busy(0),
            sleep_ns: 0,
            jitter_ns: 0,
            seed: 0,
            trace,
        }
    }

    #[test]
    fn one_worker_alone_counts_exactly_in_every_mode() {
        // In-process, no fork: a single worker cannot race with anyone.
        for mode in Mode::ALL {
            let page = SharedPage::new(1, 0).unwrap();
            let job = alone(mode, 1000, false);
            assert_eq!(work(&page, 0, &job, 0), 0);
            assert_eq!(page.counter().load(Relaxed), 1000, "{mode}");
            assert_eq!(page.slot(0).load(Relaxed), 1000, "{mode}");
        }
    }

    #[test]
    fn a_traced_worker_alone_records_every_increment_in_order() {
        for mode in Mode::ALL {
            let page = SharedPage::new(2, 50).unwrap();
            let job = alone(mode, 50, true);
            assert_eq!(work(&page, 1, &job, 0), 0);
            assert_eq!(page.counter().load(Relaxed), 50, "{mode}");
            let mut last = 0;
            for (i, cell) in page.trace_row(1).iter().enumerate() {
                let i = i as u64;
                assert_eq!(cell.read.load(Relaxed), i, "{mode}");
                assert_eq!(cell.wrote.load(Relaxed), i + 1, "{mode}");
                assert_eq!(cell.prev.load(Relaxed), i, "{mode}");
                let (r, w) = (cell.t_read_ns.load(Relaxed), cell.t_write_ns.load(Relaxed));
                assert!(last <= r && r <= w, "{mode}: times out of order");
                last = w;
            }
        }
    }
}
