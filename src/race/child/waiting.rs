//! The locks made of plain atomics: the spin lock, the ticket lock, Peterson's and Lamport's
//! bakery. No unsafe code; they run in forked workers (no allocation, no panic path).
//!
//! Every waiting loop spins with a pause instruction and yields the CPU after [`SPINS`]
//! rounds, so that 10 workers on one CPU still finish: a waiter that never yields can burn its
//! whole time slice while the holder waits to run.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicU32, AtomicU64};

use crate::race::page::locks::Ticket;

/// Pause-instruction rounds a waiter spins before it yields the CPU.
const SPINS: u32 = 64;

/// Spins with a pause instruction, yielding the CPU every [`SPINS`] rounds.
#[inline(always)]
pub(super) fn relax(spins: &mut u32) {
    if *spins < SPINS {
        *spins = spins.wrapping_add(1);
        std::hint::spin_loop();
    } else {
        *spins = 0;
        std::thread::yield_now();
    }
}

/// Test-and-test-and-set: one exchange when the lock looks free, plain loads while it is not
/// (they stay in the waiter's cache until the holder's release invalidates it).
#[inline(always)]
pub(super) fn spin_lock(word: &AtomicU32) {
    let mut spins = 0;
    while word.swap(1, Acquire) != 0 {
        while word.load(Relaxed) != 0 {
            relax(&mut spins);
        }
    }
}

#[inline(always)]
pub(super) fn ticket_lock(ticket: &Ticket) {
    let mine = ticket.next.fetch_add(1, Relaxed);
    let mut spins = 0;
    while ticket.serving.load(Acquire) != mine {
        relax(&mut spins);
    }
}

/// Peterson's entry. With `FENCE` every access is sequentially consistent (on x86 the stores
/// become `xchg`, a full barrier); without, stores are release and loads acquire, which x86
/// gives for free, and a load may then be served before the worker's own earlier store
/// leaves its store buffer.
#[inline(always)]
pub(super) fn peterson_lock<const FENCE: bool>(
    mine: &AtomicU32,
    other: &AtomicU32,
    turn: &AtomicU32,
    other_index: u32,
) {
    let (store, load) = if FENCE {
        (SeqCst, SeqCst)
    } else {
        (Release, Acquire)
    };
    mine.store(1, store);
    turn.store(other_index, store);
    let mut spins = 0;
    while other.load(load) != 0 && turn.load(load) == other_index {
        relax(&mut spins);
    }
}

/// Lamport's bakery entry: take a number one above every number showing, then wait for each
/// worker that is choosing, or holds a smaller (number, index).
#[inline(always)]
pub(super) fn bakery_lock<const FENCE: bool>(
    index: usize,
    choosing: &[AtomicU32],
    number: &[AtomicU64],
) {
    let (store, load) = if FENCE {
        (SeqCst, SeqCst)
    } else {
        (Release, Acquire)
    };
    let (Some(my_choosing), Some(my_number)) = (choosing.get(index), number.get(index)) else {
        return;
    };
    my_choosing.store(1, store);
    // A plain loop, not `iter().map(..).max()`: LLVM left that closure a call that chose
    // the load's ordering through a jump table on every element.
    let mut highest = 0;
    for n in number {
        highest = highest.max(n.load(load));
    }
    let mine = highest.wrapping_add(1);
    my_number.store(mine, store);
    my_choosing.store(0, store);
    for (j, (their_choosing, their_number)) in choosing.iter().zip(number).enumerate() {
        if j == index {
            continue;
        }
        let mut spins = 0;
        while their_choosing.load(load) != 0 {
            relax(&mut spins);
        }
        loop {
            let theirs = their_number.load(load);
            if theirs == 0 || (theirs, j) > (mine, index) {
                break;
            }
            relax(&mut spins);
        }
    }
}
