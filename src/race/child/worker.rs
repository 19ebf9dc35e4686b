//! What a worker does after fork: its increments, then it returns an exit status.
//!
//! Runs in a forked child, so it must not allocate, print or unwind. The racy read-modify-write
//! is a relaxed atomic load and a separate relaxed atomic store: the same machine code as a
//! plain `+=` on x86 and ARM, without the undefined behaviour of a data race in Rust.
//!
//! With `--trace` the loop also records each increment in the worker's row of the shared page:
//! the counter's word it read and the word its write replaced, and the monotonic times just
//! after the read and just after the write (in per-access and mutex both under the lock). The
//! loop is generic over a [`Recorder`]: with [`NoTrace`] it compiles to the untraced loop.
//! When tracing, the counter's word carries the tag of the write that stored it
//! ([`tagged`]), and every write is a `swap` of the worker's own word: still a blind write of
//! the value read + 1, so the race is the same in kind, but it returns the exact word it
//! replaced. The writes then form one chain, and every read names the write it saw.

use std::sync::atomic::Ordering::{Relaxed, SeqCst};
use std::sync::atomic::{AtomicU64, compiler_fence};

use super::cells::WorkerCells;
use super::locks::{LockError, by_lock};
use super::pause::Pause;
use super::schedule::Plan;
use crate::model::lock::Lock;
use crate::model::mode::Mode;
use crate::model::window::Window;
use crate::race::job::Job;
use crate::race::page::{TraceCell, tagged, value_of};

/// Exit status of a worker whose lock failed (the mutex was unusable).
pub(crate) const EXIT_LOCK_FAILED: i32 = 70;

/// Exit status of a worker that could not move to its `--pin` CPU.
pub(crate) const EXIT_PIN_FAILED: i32 = 72;

/// Runs one worker's increments for trial number `trial`; returns its exit status.
///
/// `cells` was checked in the parent: its trace row holds exactly the increments when
/// tracing. Nothing here indexes, unwraps or asserts.
pub(crate) fn work(cells: WorkerCells<'_>, index: u32, job: &Job, trial: u64) -> i32 {
    let pause = Pause::new(job.settings, trial, index);
    cells.mark_start(monotonic_ns());
    let trace = Trace {
        row: cells.trace_row(),
        // Increment `seq` of this worker is tagged 1 + index × iters + seq (0: the initial).
        first_tag: u64::from(index)
            .wrapping_mul(job.params.iters)
            .wrapping_add(1),
    };
    let result = match (job.settings.trace, job.plan()) {
        (true, None) => by_window(cells, job, pause, &trace),
        (false, None) => by_window(cells, job, pause, &NoTrace),
        (traced, Some(plan)) => scheduled(cells, job, pause, traced.then_some(&trace), plan, index),
    };
    cells.mark_end(monotonic_ns());
    match result {
        Ok(()) => 0,
        Err(LockError(_)) => EXIT_LOCK_FAILED,
    }
}

/// Under a schedule the turns decide the interleaving: no window is held.
///
/// Out of line: inlined into [`work`], its loops (one per mode and lock kind, traced or not)
/// gave `work` an 8 KB stack frame, whose probes wrote two more pages of the stack in every
/// worker, each a copy-on-write fault after fork, with or without a schedule.
#[inline(never)]
fn scheduled(
    cells: WorkerCells<'_>,
    job: &Job,
    pause: Pause,
    trace: Option<&Trace<'_>>,
    plan: Plan,
    index: u32,
) -> Result<(), LockError> {
    let turns = Scheduled {
        cells,
        plan,
        procs: job.params.procs,
        index,
    };
    match trace {
        Some(trace) => by_mode(cells, job, pause, trace, NoWindow, turns),
        None => by_mode(cells, job, pause, &NoTrace, NoWindow, turns),
    }
}

/// Picks the loop for the job's window, so that with no window the loop holds nothing but
/// the read and the write (as the C baseline's does).
fn by_window<R: Recorder>(
    cells: WorkerCells<'_>,
    job: &Job,
    pause: Pause,
    rec: &R,
) -> Result<(), LockError> {
    match job.params.window {
        Window::Busy(0) => by_mode(cells, job, pause, rec, NoWindow, Free),
        Window::Busy(ns) => by_mode(cells, job, pause, rec, Busy(ns), Free),
        Window::Yield => by_mode(cells, job, pause, rec, Yield, Free),
    }
}

/// Who decides when a worker takes a step: the operating system, or a `--schedule`.
trait Turns: Copy {
    /// Waits for this worker's turn to take one step.
    fn before(self);
    /// The step is taken: the schedule picks who steps next. Returns the step's number in
    /// the trial, from 1 (0 without a schedule).
    fn after(self) -> u64;
}

/// No schedule: every worker steps whenever it runs.
#[derive(Clone, Copy)]
struct Free;

impl Turns for Free {
    #[inline(always)]
    fn before(self) {}
    #[inline(always)]
    fn after(self) -> u64 {
        0
    }
}

/// `--schedule`: one worker steps at a time, when the plan gives it the turn.
#[derive(Clone, Copy)]
struct Scheduled<'p> {
    cells: WorkerCells<'p>,
    plan: Plan,
    procs: u32,
    index: u32,
}

impl Turns for Scheduled<'_> {
    fn before(self) {
        self.cells.wait_turn();
    }
    fn after(self) -> u64 {
        self.cells.pass_turn(&self.plan, self.procs, self.index)
    }
}

/// As [`turn!`], with the step's number in the trial (0 without a schedule): evaluates to
/// `(value of $step, number)`.
///
/// Macros rather than functions taking a closure: a closure cannot be marked
/// `#[inline(always)]`, and LLVM inlines bottom-up, so the closure around `cells.lock()` was
/// compiled (with every lock kind's code) before it could be inlined, came out too big to
/// inline, and stayed a call: every increment then dispatched on the lock kind twice and
/// moved the guard through the stack, 183 instructions against the C baseline's 67
/// (callgrind, mutex, 1 worker). Expanded in place, the kind folds to a constant.
macro_rules! counted_turn {
    ($turns:expr, $step:expr) => {{
        let turns = $turns;
        turns.before();
        let x = $step;
        (x, turns.after())
    }};
}

/// Evaluates `$step` as one step of the schedule (at once when there is none).
macro_rules! turn {
    ($turns:expr, $step:expr) => {
        counted_turn!($turns, $step).0
    };
}

/// Runs the job's mode: one increment function per mode, all in the same loop.
#[inline(always)]
fn by_mode<R: Recorder, H: Hold, T: Turns>(
    cells: WorkerCells<'_>,
    job: &Job,
    mut pause: Pause,
    rec: &R,
    window: H,
    turns: T,
) -> Result<(), LockError> {
    let (iters, pause) = (job.params.iters, &mut pause);
    let method = Method { rec, window, turns };
    match job.mode {
        Mode::Unlocked => count(iters, cells, pause, method, unlocked),
        Mode::PerAccess => by_lock!(cells, count(iters, cells, pause, method, per_access)),
        Mode::Mutex => by_lock!(cells, count(iters, cells, pause, method, mutex)),
        Mode::Atomic => count(iters, cells, pause, method, atomic),
    }
}

/// Method each increment is made: where it is recorded, the window held between read and
/// write, and who decides when each step is taken.
struct Method<'r, R, H, T> {
    rec: &'r R,
    window: H,
    turns: T,
}

impl<R, H: Copy, T: Copy> Clone for Method<'_, R, H, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, H: Copy, T: Copy> Copy for Method<'_, R, H, T> {}

/// The race window between read and write.
trait Hold: Copy {
    /// Method often the worker's slot records its progress, in increments. Every increment,
    /// except with no window, where the store would cost a quarter of an atomic increment
    /// (measured); the slot is always exact at the end.
    const PROGRESS_EVERY: u64 = 1;
    fn hold(self);
}

/// With `--window 0` a worker records its progress every this many increments (and at the
/// end), so a count read mid-trial is a lower bound by up to this much less one.
pub(crate) const PROGRESS_EVERY_WITHOUT_WINDOW: u64 = 1024;

/// Method often a worker with this window records its progress in its slot, in increments: a
/// count read mid-trial may lag the worker by up to this much less one.
pub(crate) fn progress_every(window: Window) -> u64 {
    match window {
        Window::Busy(0) => NoWindow::PROGRESS_EVERY,
        Window::Busy(_) => Busy::PROGRESS_EVERY,
        Window::Yield => Yield::PROGRESS_EVERY,
    }
}

/// `--window 0`: nothing between read and write.
#[derive(Clone, Copy)]
struct NoWindow;

impl Hold for NoWindow {
    const PROGRESS_EVERY: u64 = PROGRESS_EVERY_WITHOUT_WINDOW;
    #[inline(always)]
    fn hold(self) {}
}

/// Busy-waiting on the monotonic clock for this many ns.
#[derive(Clone, Copy)]
struct Busy(u64);

impl Hold for Busy {
    #[inline(always)]
    fn hold(self) {
        let end = monotonic_ns().saturating_add(self.0);
        while monotonic_ns() < end {
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

/// What happened in one increment: the word read, the word the write replaced, and the times
/// just after the read and just after the write (all 0 or meaningless when not tracing).
#[derive(Clone, Copy)]
struct Step {
    read: u64,
    prev: u64,
    t_read: u64,
    t_write: u64,
    /// Under `--schedule`, the write's step number in the trial (from 1); else 0.
    order: u64,
}

/// Where a worker's increments are recorded, if anywhere, and so how it writes the counter.
trait Recorder {
    /// The monotonic clock in ns (0 when not recording).
    fn now(&self) -> u64;
    /// Writes the value of `read` (a word loaded from the counter) + 1 as this worker's
    /// increment number `seq`; returns the word it replaced (`read` when not recording,
    /// where nobody looks at it).
    fn write(&self, counter: &AtomicU64, read: u64, seq: u64) -> u64;
    /// Adds 1 to the counter in one indivisible step as increment `seq`; returns the word it
    /// replaced.
    fn add(&self, counter: &AtomicU64, seq: u64) -> u64;
    /// Records increment number `i` (0-based).
    fn record(&self, i: u64, step: Step);
}

/// Records nothing; the loop compiles to what it is without tracing: a plain store of the
/// value read + 1, and `fetch_add`.
struct NoTrace;

impl Recorder for NoTrace {
    #[inline(always)]
    fn now(&self) -> u64 {
        0
    }
    #[inline(always)]
    fn write(&self, counter: &AtomicU64, read: u64, _: u64) -> u64 {
        counter.store(read.wrapping_add(1), Relaxed);
        read
    }
    #[inline(always)]
    fn add(&self, counter: &AtomicU64, _: u64) -> u64 {
        counter.fetch_add(1, Relaxed)
    }
    #[inline(always)]
    fn record(&self, _: u64, _: Step) {}
}

/// Records into this worker's trace row in the shared page, and tags every write.
struct Trace<'p> {
    row: &'p [TraceCell],
    /// The tag of this worker's increment 0.
    first_tag: u64,
}

impl Recorder for Trace<'_> {
    #[inline(always)]
    fn now(&self) -> u64 {
        monotonic_ns()
    }
    #[inline(always)]
    fn write(&self, counter: &AtomicU64, read: u64, seq: u64) -> u64 {
        let mine = tagged(
            value_of(read).wrapping_add(1),
            self.first_tag.wrapping_add(seq),
        );
        counter.swap(mine, Relaxed)
    }
    #[inline(always)]
    fn add(&self, counter: &AtomicU64, seq: u64) -> u64 {
        // A compare-and-swap loop: still one indivisible increment, which also puts this
        // write's tag beside the value.
        let tag = self.first_tag.wrapping_add(seq);
        let mut seen = counter.load(Relaxed);
        loop {
            let mine = tagged(value_of(seen).wrapping_add(1), tag);
            match counter.compare_exchange_weak(seen, mine, Relaxed, Relaxed) {
                Ok(replaced) => return replaced,
                Err(now) => seen = now,
            }
        }
    }
    #[inline(always)]
    fn record(&self, i: u64, step: Step) {
        if let Some(cell) = self.row.get(i as usize) {
            cell.read.store(step.read, Relaxed);
            cell.prev.store(step.prev, Relaxed);
            cell.t_read_ns.store(step.t_read, Relaxed);
            cell.t_write_ns.store(step.t_write, Relaxed);
            cell.step.store(step.order, Relaxed);
        }
    }
}

/// CLOCK_MONOTONIC in ns: a vDSO call, no allocation, safe after fork.
#[inline(always)]
pub(crate) fn monotonic_ns() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => (t.tv_sec() as u64)
            .wrapping_mul(1_000_000_000)
            .wrapping_add(t.tv_nsec() as u64),
        Err(_) => 0,
    }
}

/// One unlocked increment: read, hold the window, write what was read + 1.
#[inline(always)]
fn unlocked<R: Recorder, H: Hold, T: Turns>(
    cells: WorkerCells<'_>,
    method: Method<'_, R, H, T>,
    seq: u64,
) -> Result<Step, LockError> {
    let counter = cells.counter();
    let (read, t_read) = turn!(method.turns, (counter.load(Relaxed), method.rec.now()));
    // Keeps the read and the write two instructions, as in C (it emits no code): without
    // it the compiler fuses them into one unlocked `inc` of memory, a narrower race.
    compiler_fence(SeqCst);
    method.window.hold();
    let ((prev, t_write), order) = counted_turn!(method.turns, {
        (method.rec.write(counter, read, seq), method.rec.now())
    });
    Ok(Step {
        read,
        prev,
        t_read,
        t_write,
        order,
    })
}

/// The lock taken for the read, released for the window, taken again for the write.
#[inline(always)]
fn per_access<R: Recorder, H: Hold, T: Turns>(
    cells: WorkerCells<'_>,
    method: Method<'_, R, H, T>,
    seq: u64,
) -> Result<Step, LockError> {
    let counter = cells.counter();
    let (read, t_read) = {
        let lock = turn!(method.turns, cells.lock())?;
        let read = turn!(method.turns, (counter.load(Relaxed), method.rec.now()));
        turn!(method.turns, lock.unlock());
        read
    };
    method.window.hold();
    let lock = turn!(method.turns, cells.lock())?;
    let ((prev, t_write), order) = counted_turn!(method.turns, {
        (method.rec.write(counter, read, seq), method.rec.now())
    });
    turn!(method.turns, lock.unlock());
    Ok(Step {
        read,
        prev,
        t_read,
        t_write,
        order,
    })
}

/// The lock held across read, window and write.
#[inline(always)]
fn mutex<R: Recorder, H: Hold, T: Turns>(
    cells: WorkerCells<'_>,
    method: Method<'_, R, H, T>,
    seq: u64,
) -> Result<Step, LockError> {
    let counter = cells.counter();
    let lock = turn!(method.turns, cells.lock())?;
    let (read, t_read) = turn!(method.turns, (counter.load(Relaxed), method.rec.now()));
    method.window.hold();
    // The replaced word is the write's own report, not assumed: the trace shows whether
    // anything moved while the lock was held.
    let ((prev, t_write), order) = counted_turn!(method.turns, {
        (method.rec.write(counter, read, seq), method.rec.now())
    });
    turn!(method.turns, lock.unlock());
    Ok(Step {
        read,
        prev,
        t_read,
        t_write,
        order,
    })
}

/// The window, then one atomic fetch_add.
#[inline(always)]
fn atomic<R: Recorder, H: Hold, T: Turns>(
    cells: WorkerCells<'_>,
    method: Method<'_, R, H, T>,
    seq: u64,
) -> Result<Step, LockError> {
    method.window.hold();
    // One indivisible read-modify-write: what it read is what it replaced.
    let ((read, t), order) = counted_turn!(method.turns, {
        (method.rec.add(cells.counter(), seq), method.rec.now())
    });
    Ok(Step {
        read,
        prev: read,
        t_read: t,
        t_write: t,
        order,
    })
}

/// One mode's increment function.
type Increment<R, H, T> = fn(WorkerCells<'_>, Method<'_, R, H, T>, u64) -> Result<Step, LockError>;

/// The loop shared by every mode: pause if asked, increment, record progress in the slot.
///
/// The loop is written twice, with and without the pause, so that without --sleep and
/// --jitter it holds nothing but the increment and the progress store, as the C baseline's
/// loop does, whether or not the optimiser would have hoisted the test out by itself.
#[inline(always)]
fn count<R, H, T>(
    iters: u64,
    cells: WorkerCells<'_>,
    pause: &mut Pause,
    method: Method<'_, R, H, T>,
    step: Increment<R, H, T>,
) -> Result<(), LockError>
where
    R: Recorder,
    H: Hold,
    T: Turns,
{
    let completed: &AtomicU64 = cells.completed();
    // `0..iters`, not `1..=iters`: an inclusive range costs the loop four more instructions
    // an increment (callgrind), to guard against an end of u64::MAX.
    if pause.is_none() {
        for seq in 0..iters {
            method.rec.record(seq, step(cells, method, seq)?);
            let done = seq.wrapping_add(1);
            if done.is_multiple_of(H::PROGRESS_EVERY) {
                completed.store(done, Relaxed);
            }
        }
    } else {
        for seq in 0..iters {
            pause.wait();
            method.rec.record(seq, step(cells, method, seq)?);
            let done = seq.wrapping_add(1);
            if done.is_multiple_of(H::PROGRESS_EVERY) {
                completed.store(done, Relaxed);
            }
        }
    }
    if H::PROGRESS_EVERY > 1 {
        completed.store(iters, Relaxed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::{Params, Settings};

    use crate::race::page::SharedPage;

    /// Settings with no pause or jitter.
    fn settings(trace: bool) -> Settings {
        Settings {
            procs: vec![1],
            iters: vec![1],
            windows: vec![Window::Busy(0)],
            trials: 1,
            trace,
            ..Settings::default()
        }
    }

    /// A job of one worker with no window.
    fn alone(mode: Mode, iters: u64, settings: &Settings) -> Job<'_> {
        Job {
            mode,
            lock: mode.takes_lock().then_some(Lock::Pthread),
            params: Params {
                procs: 1,
                iters,
                window: Window::Busy(0),
            },
            settings,
            replay: None,
        }
    }

    #[test]
    fn one_worker_alone_counts_exactly_in_every_mode() {
        // In-process, no fork: a single worker cannot race with anyone.
        let settings = settings(false);
        for mode in Mode::ALL {
            let page = SharedPage::new(1, 0).unwrap();
            let job = alone(mode, 1000, &settings);
            let cells = page
                .worker_cells(0, 1, job.traced_iters(), job.lock_kind())
                .unwrap();
            assert_eq!(work(cells, 0, &job, 0), 0);
            assert_eq!(page.counter().load(Relaxed), 1000, "{mode}");
            assert_eq!(page.completed(0).load(Relaxed), 1000, "{mode}");
        }
    }

    #[test]
    fn a_traced_worker_alone_records_every_increment_in_order() {
        let settings = settings(true);
        for mode in Mode::ALL {
            let page = SharedPage::new(2, 50).unwrap();
            let job = alone(mode, 50, &settings);
            let cells = page
                .worker_cells(1, 2, job.traced_iters(), job.lock_kind())
                .unwrap();
            assert_eq!(work(cells, 1, &job, 0), 0);
            assert_eq!(page.total(true), 50, "{mode}");
            let mut last = 0;
            for (i, cell) in page.trace_row(1).unwrap().iter().enumerate() {
                let i = i as u64;
                // The word read and the word replaced: value i, written by this worker's
                // previous increment (tag 1 + 1 x 50 + i - 1), or the initial 0.
                let (read, prev) = (cell.read.load(Relaxed), cell.prev.load(Relaxed));
                assert_eq!(value_of(read), i, "{mode}");
                assert_eq!(read, prev, "{mode}");
                let tag = if i == 0 { 0 } else { 50 + i };
                assert_eq!(crate::race::page::tag_of(read), tag, "{mode}");
                let (r, w) = (cell.t_read_ns.load(Relaxed), cell.t_write_ns.load(Relaxed));
                assert!(last <= r && r <= w, "{mode}: times out of order");
                last = w;
            }
        }
    }

    #[test]
    fn a_trace_row_too_short_is_refused_before_any_fork() {
        let page = SharedPage::new(2, 10).unwrap();
        let cells = |i, traced| page.worker_cells(i, 2, traced, Lock::Pthread);
        assert!(cells(1, Some(10)).is_some());
        assert!(cells(1, Some(11)).is_none());
        assert!(cells(2, None).is_none());
    }
}
