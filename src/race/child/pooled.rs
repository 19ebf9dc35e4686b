//! A pooled worker's life (`--pool`): forked once, it runs one trial each time the page's gate
//! opens, until the parent asks it to leave. The last worker done with a trial wakes the
//! parent through a pipe.

use std::os::fd::OwnedFd;
use std::sync::atomic::Ordering;

use super::futex;
use crate::race::job::Job;
use crate::race::page::SharedPage;

/// How often a pooled worker yields the core at the gate before it sleeps on the futex.
/// Measured on 2 cores, 10 workers, 10000 trials of 10 × 20: sleeping at once took 1.16 s at
/// window 0 and 2.23 s at 1us; yielding 10 times first, 0.22 s and 1.46 s (the 1us windows
/// alone are 200 us of busy-waiting per trial, 1.0 s on two cores).
pub(crate) const POOL_YIELDS: u32 = 10;

/// A pooled worker that finished its trial sleeps at once, without yielding, when the workers
/// still running have at least this much work left per CPU: the next gate is that far away,
/// and its yields would only take the CPU from the workers that need it. (Measured, 10 x 20
/// at 1us, 10000 trials on the busy 2-core machine: yielding 10 times first, 3.49 s wall and
/// 3.30 s CPU; sleeping at once while 20 us or more of work was left per CPU, 2.14 s and
/// 2.99 s.)
const SLEEP_AHEAD_NS: u64 = 20_000;

/// How often a pooled worker (or the parent, waiting for the trial) yields before it sleeps at
/// the gate: [`POOL_YIELDS`] when the next gate is near, none when the workers still running
/// have [`SLEEP_AHEAD_NS`] or more of work left per CPU. Made in the parent from the job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GateYields {
    procs: u32,
    /// What one worker's increments take at least: its windows (a yield counted as 1 us).
    work_ns: u64,
    cpus: u32,
}

impl GateYields {
    /// For the job's workers, on the CPUs the run may use.
    pub(crate) fn of(job: &Job) -> GateYields {
        let window_ns = job.params.window.nanos().unwrap_or(1_000);
        GateYields {
            procs: job.params.procs,
            work_ns: job.params.iters.saturating_mul(window_ns),
            cpus: job.settings.load.cpus,
        }
    }

    /// The yields when `finished` of the trial's workers are done (0 for the parent, which
    /// waits from the start).
    pub(crate) fn after(self, finished: u32) -> u32 {
        let left = u64::from(self.procs.saturating_sub(finished));
        let ahead_ns = self
            .work_ns
            .saturating_mul(left)
            .checked_div(u64::from(self.cpus.max(1)))
            .unwrap_or(0);
        if ahead_ns >= SLEEP_AHEAD_NS {
            0
        } else {
            POOL_YIELDS
        }
    }
}

/// Waits at the gate (which read `first_gate` when the worker was forked), runs `trial` with
/// the trial's number, and again, until the page's control word asks it to leave (status 0) or
/// a trial returns a non-zero status (returned). The last of `procs` workers done with a
/// trial writes a byte to `done`. Before it sleeps at the gate it yields as `yields` says.
pub(crate) fn serve(
    page: &SharedPage,
    procs: u32,
    yields: GateYields,
    first_gate: u32,
    done: &OwnedFd,
    mut trial: impl FnMut(u64) -> i32,
) -> i32 {
    let mut seen = first_gate;
    let mut number: u64 = 0;
    let mut now_yields = POOL_YIELDS;
    loop {
        futex::wait_gate(page, seen, now_yields);
        seen = page.gate().load(Ordering::Acquire);
        if page.control().load(Ordering::Acquire) != 0 {
            return 0;
        }
        let status = trial(number);
        if status != 0 {
            return status;
        }
        number = number.wrapping_add(1);
        let finished = page.done().fetch_add(1, Ordering::AcqRel).wrapping_add(1);
        now_yields = yields.after(finished);
        if finished == procs {
            // A failed write cannot be reported from here; the parent's timeout or the
            // pidfds catch what follows.
            let _ = nix::unistd::write(done, b"d");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_workers_yield_only_when_the_next_gate_is_near() {
        // 10 x 20 at 1us on 2 CPUs: 20 us of work each.
        let yields = |finished, cpus| {
            GateYields {
                procs: 10,
                work_ns: 20 * 1_000,
                cpus,
            }
            .after(finished)
        };
        assert_eq!(yields(1, 2), 0, "9 left: 90 us per CPU to wait");
        assert_eq!(yields(8, 2), 0, "2 left: 20 us per CPU");
        assert_eq!(yields(9, 2), POOL_YIELDS, "1 left: 10 us");
        assert_eq!(yields(10, 2), POOL_YIELDS, "the last one");
        // No CPU count is read as one CPU, not a division by zero.
        assert_eq!(yields(9, 0), 0);
        // Window 0: every wait is short.
        let at_zero = GateYields {
            procs: 10,
            work_ns: 0,
            cpus: 2,
        };
        assert_eq!(at_zero.after(0), POOL_YIELDS);
    }
}
