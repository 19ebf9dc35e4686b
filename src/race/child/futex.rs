//! Blocking on a word of the shared page and waking its waiters (futex(2), without the
//! PRIVATE flag: waiters and wakers are different processes). System calls only: safe in a
//! forked child.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::race::page::SharedPage;

/// Sleeps while `word` reads `expected` (returns at once if it no longer does). Spurious
/// wake-ups and EINTR return too: callers loop.
#[inline]
pub(crate) fn wait(word: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT on a valid, aligned u32 that lives as long as `word` is borrowed; the
    // kernel only reads it. No timeout (null): the caller's loop decides when to give up.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

/// Wakes up to `n` waiters of `word`.
#[inline]
pub(crate) fn wake(word: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE on a valid, aligned u32; the kernel does not touch its value.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n);
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
