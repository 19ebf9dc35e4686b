//! Blocking on a word of the shared page and waking its waiters (futex(2), without the
//! PRIVATE flag: waiters and wakers are different processes; with `--threads`, threads of one,
//! for which a shared futex works the same). Every futex call of racecount is here: the pooled
//! workers' gate, the schedule's turns and the fair locks' sleep. System calls only: safe in a
//! forked child.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::race::page::SharedPage;

/// Every sleeper, whatever bits it waits with (`FUTEX_BITSET_MATCH_ANY`).
pub(crate) const ANY: u32 = u32::MAX;

/// Sleeps while `word` reads `expected` (returns at once if it no longer does). Spurious
/// wake-ups and EINTR return too: callers loop.
#[inline]
pub(crate) fn wait(word: &AtomicU32, expected: u32) {
    wait_bits(word, expected, ANY);
}

/// Wakes up to `n` waiters of `word`.
#[inline]
pub(crate) fn wake(word: &AtomicU32, n: i32) {
    wake_bits(word, n, ANY);
}

/// As [`wait`], woken only by a wake whose bits share one with `bits`: the fair locks sleep
/// with their own bits so that a release wakes exactly the next holder.
#[inline]
pub(crate) fn wait_bits(word: &AtomicU32, expected: u32, bits: u32) {
    // SAFETY: FUTEX_WAIT_BITSET reads the valid, aligned u32 behind `word`, which outlives the
    // call (it is in the page or, with --threads, in memory the run keeps); the null timeout
    // means no limit and the null second address is unused by this operation.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT_BITSET,
            expected,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            bits,
        );
    }
}

/// Wakes up to `n` waiters of `word` whose bits share one with `bits`.
#[inline]
pub(crate) fn wake_bits(word: &AtomicU32, n: i32, bits: u32) {
    // SAFETY: FUTEX_WAKE_BITSET only uses the address of `word` as a key; the unused timeout
    // and second address are null.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE_BITSET,
            n,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            bits,
        );
    }
}

/// A pooled worker waits while the page's gate still reads `seen`: first up to `yields`
/// times sched_yield (a trial that follows at once is caught without a wake-up, and the other
/// processes get the core), then on the futex (blocking, no spinning).
pub(crate) fn wait_gate(page: &SharedPage, seen: u32, yields: u32) {
    let gate = page.gate();
    for _ in 0..yields {
        if gate.load(Ordering::Acquire) != seen {
            return;
        }
        std::thread::yield_now();
    }
    while gate.load(Ordering::Acquire) == seen {
        wait(gate, seen);
    }
}
