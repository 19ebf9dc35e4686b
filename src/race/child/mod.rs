//! Everything a worker runs: after `fork` in a child process (or in a `--threads` thread),
//! from `main` to `_exit`: the increments of each mode, the pauses, the locks' acquire and
//! release, the schedule's turns, the pooled worker's gate, and a database worker's loop.
//!
//! A forked child must not panic, print or unwind: the lints below, written once here, refuse
//! the ways this module and every module in it could (indexing, unwrap, expect, panic!,
//! unreachable!, overflowing arithmetic); the tests may. Whatever a worker needs is looked up
//! and checked in the parent, into its [`WorkerCells`], before the fork.
//!
//! The parent may run a second thread while it forks page workers (the progress bar's
//! sampler): a page worker never allocates, prints or takes a lock that a thread of the parent
//! could hold — it makes system calls, touches atomics and takes the page's own
//! process-shared locks, which only workers take — so no lock is copied into it held. A
//! database worker allocates (it opens a connection), so its runner forks only from a parent
//! with no other thread ([`db`]).
#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::unreachable,
        clippy::arithmetic_side_effects
    )
)]

pub(crate) mod cells;
pub(crate) mod db;
#[allow(unsafe_code)]
pub(crate) mod entry;
#[allow(unsafe_code)]
pub(crate) mod futex;
#[allow(unsafe_code)]
pub(crate) mod locks;
pub(crate) mod pause;
pub(crate) mod pooled;
pub(crate) mod schedule;
pub(crate) mod turns;
mod waiting;
pub(crate) mod worker;

pub(crate) use cells::WorkerCells;
pub(crate) use db::EXIT_STORE_FAILED;
pub(crate) use entry::main;
pub(crate) use locks::Cells;
pub(crate) use worker::{EXIT_LOCK_FAILED, EXIT_PIN_FAILED, monotonic_ns, progress_every};

/// In a worker: runs on `set` from now on (`--pin`). A system call, safe after fork and in a
/// thread. False when it failed.
pub(crate) fn pin_to(set: &nix::sched::CpuSet) -> bool {
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), set).is_ok()
}
