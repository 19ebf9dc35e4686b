//! `--sleep` and `--jitter`: the pause a worker makes before every increment.
//!
//! Runs in a forked child, like the rest of the worker: no allocation, no panic path (the
//! same lints as `worker` hold the build to it).
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::time::{ClockId, ClockNanosleepFlags, clock_nanosleep};
use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

use super::worker::monotonic_ns;
use crate::model::settings::Settings;

/// `--sleep` and `--jitter`: a pause before every increment.
pub(crate) struct Pause {
    sleep: Duration,
    jitter_ns: u64,
    rng: SmallRng,
}

impl Pause {
    pub(crate) fn new(settings: &Settings, trial: u64, index: u32) -> Pause {
        Pause {
            sleep: Duration::from_nanos(settings.sleep_ns),
            jitter_ns: settings.jitter_ns,
            rng: SmallRng::seed_from_u64(seed_for(settings.seed, trial, index)),
        }
    }

    pub(crate) fn is_none(&self) -> bool {
        self.sleep.is_zero() && self.jitter_ns == 0
    }

    pub(crate) fn wait(&mut self) {
        let mut pause = self.sleep;
        if self.jitter_ns > 0 {
            // The range is not empty (checked just above), so this cannot panic.
            let jitter = Duration::from_nanos(self.rng.random_range(0..self.jitter_ns));
            pause = pause.saturating_add(jitter);
        }
        if !pause.is_zero() {
            sleep(pause);
        }
    }
}

/// Sleeps for `span` on the monotonic clock until an absolute deadline, so a signal that
/// interrupts it does not lengthen or shorten the pause. Unlike `std::thread::sleep`, it has
/// no assertion on the way: a failed call just ends the pause.
pub(super) fn sleep(span: Duration) {
    let span_ns = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
    let end = monotonic_ns().saturating_add(span_ns);
    let deadline = TimeSpec::new(
        (end / 1_000_000_000) as libc::time_t,
        (end % 1_000_000_000) as libc::c_long,
    );
    while let Err(nix::errno::Errno::EINTR) = clock_nanosleep(
        ClockId::CLOCK_MONOTONIC,
        ClockNanosleepFlags::TIMER_ABSTIME,
        &deadline,
    ) {}
}

/// A distinct, repeatable seed for each (run seed, trial, worker).
pub(super) fn seed_for(seed: u64, trial: u64, index: u32) -> u64 {
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
}
