//! What a worker does after fork: its increments, then it returns an exit status.
//!
//! Runs in a forked child, so it must not allocate, print or unwind. The racy read-modify-write
//! is a relaxed atomic load and a separate relaxed atomic store: the same machine code as a
//! plain `+=` on x86 and ARM, without the undefined behaviour of a data race in Rust.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use crate::duration::Window;
use crate::fork::EXIT_LOCK_FAILED;
use crate::mode::Mode;
use crate::page::{LockError, SharedPage};

/// What every worker of a trial does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Job {
    pub mode: Mode,
    pub iters: u64,
    pub window: Window,
    pub sleep_ns: u64,
    pub jitter_ns: u64,
    pub seed: u64,
}

/// Runs worker `index`'s increments for trial number `trial`; returns its exit status.
pub fn work(page: &SharedPage, index: u32, job: &Job, trial: u64) -> i32 {
    let counter = page.counter();
    let slot = page.slot(index as usize);
    let mut pause = Pause::new(job, trial, index);
    let window = job.window;
    let result = match job.mode {
        Mode::Unlocked => count(job.iters, slot, &mut pause, || {
            let v = counter.load(Relaxed);
            hold(window);
            counter.store(v + 1, Relaxed);
            Ok(())
        }),
        Mode::PerAccess => count(job.iters, slot, &mut pause, || {
            let v = {
                let _lock = page.lock(index)?;
                counter.load(Relaxed)
            };
            hold(window);
            let _lock = page.lock(index)?;
            counter.store(v + 1, Relaxed);
            Ok(())
        }),
        Mode::Mutex => count(job.iters, slot, &mut pause, || {
            let _lock = page.lock(index)?;
            let v = counter.load(Relaxed);
            hold(window);
            counter.store(v + 1, Relaxed);
            Ok(())
        }),
        Mode::Atomic => count(job.iters, slot, &mut pause, || {
            hold(window);
            counter.fetch_add(1, Relaxed);
            Ok(())
        }),
    };
    match result {
        Ok(()) => 0,
        Err(LockError(_)) => EXIT_LOCK_FAILED,
    }
}

/// The loop shared by every mode: pause if asked, increment, record progress in the slot.
#[inline(always)]
fn count<F>(iters: u64, slot: &AtomicU64, pause: &mut Pause, mut step: F) -> Result<(), LockError>
where
    F: FnMut() -> Result<(), LockError>,
{
    if pause.is_none() {
        for done in 1..=iters {
            step()?;
            slot.store(done, Relaxed);
        }
    } else {
        for done in 1..=iters {
            pause.wait();
            step()?;
            slot.store(done, Relaxed);
        }
    }
    Ok(())
}

/// The race window between read and write.
#[inline(always)]
fn hold(window: Window) {
    match window {
        Window::Busy(0) => {}
        Window::Busy(ns) => {
            let start = Instant::now();
            let span = Duration::from_nanos(ns);
            while start.elapsed() < span {
                std::hint::spin_loop();
            }
        }
        Window::Yield => std::thread::yield_now(),
    }
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
    fn seeds_differ_per_worker_and_trial_but_repeat() {
        assert_ne!(seed_for(1, 0, 0), seed_for(1, 0, 1));
        assert_ne!(seed_for(1, 0, 0), seed_for(1, 1, 0));
        assert_eq!(seed_for(7, 3, 2), seed_for(7, 3, 2));
    }

    #[test]
    fn one_worker_alone_counts_exactly_in_every_mode() {
        // In-process, no fork: a single worker cannot race with anyone.
        for mode in Mode::ALL {
            let page = SharedPage::new(1).unwrap();
            let job = Job {
                mode,
                iters: 1000,
                window: Window::Busy(0),
                sleep_ns: 0,
                jitter_ns: 0,
                seed: 0,
            };
            assert_eq!(work(&page, 0, &job, 0), 0);
            assert_eq!(page.counter().load(Relaxed), 1000, "{mode}");
            assert_eq!(page.slot(0).load(Relaxed), 1000, "{mode}");
        }
    }
}
