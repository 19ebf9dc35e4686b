//! The locks made of plain atomics: the spin lock, the ticket lock, Peterson's and Lamport's
//! bakery. No unsafe code of their own (their sleep is [`futex`]'s); they run in forked workers
//! (no allocation, no panic path).
//!
//! The spin lock and Peterson's spin with a pause instruction and yield the CPU after
//! [`SPINS`] rounds, so that 10 workers on one CPU still finish: a waiter that never yields
//! can burn its whole time slice while the holder waits to run. The fair locks (ticket,
//! bakery) spin as long, then sleep on a futex, and each release wakes exactly the next
//! holder: yielding would leave them waiting a time slice for the one worker whose turn it is
//! (4 and 8 us an increment at 10 x 10,000 on 2 CPUs, 100 times pthread).

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicU32, AtomicU64, fence};

use super::futex;
use crate::race::page::locks::Ticket;

/// Pause-instruction rounds a waiter spins before it yields the CPU or sleeps.
const SPINS: u32 = 64;

/// A bakery worker's park word: it sleeps on it while [`PARKED`].
const RUNNING: u32 = 0;
const PARKED: u32 = 1;

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

/// The futex bits ticket `t` sleeps with: a release wakes only the bits of the ticket it
/// serves next, so exactly the next holder wakes while at most 32 tickets are out (beyond, also
/// those 32, 64... tickets behind it, which look and sleep again).
#[inline(always)]
fn ticket_bits(t: u32) -> u32 {
    1 << (t % 32)
}

#[inline(always)]
pub(super) fn ticket_lock(ticket: &Ticket) {
    let mine = ticket.next.fetch_add(1, Relaxed);
    let mut spins = 0;
    while ticket.serving.load(Acquire) != mine {
        if spins < SPINS {
            spins = spins.wrapping_add(1);
            std::hint::spin_loop();
            continue;
        }
        // Counted before looking again, the release counted after serving the next: one of
        // the two sees the other (both SeqCst), so no wake-up is lost.
        ticket.sleepers.fetch_add(1, SeqCst);
        let now = ticket.serving.load(SeqCst);
        if now != mine {
            futex::wait_bits(&ticket.serving, now, ticket_bits(mine));
        }
        ticket.sleepers.fetch_sub(1, Relaxed);
    }
}

#[inline(always)]
pub(super) fn ticket_unlock(ticket: &Ticket) {
    // Only the holder writes `serving`.
    let next = ticket.serving.load(Relaxed).wrapping_add(1);
    ticket.serving.store(next, SeqCst);
    if ticket.sleepers.load(SeqCst) != 0 {
        futex::wake_bits(&ticket.serving, i32::MAX, ticket_bits(next));
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
/// worker that is choosing, or holds a smaller (number, index). A worker that still waits
/// after [`SPINS`] rounds parks on its own word in `parked` until a release names it the next
/// holder ([`bakery_unlock`]).
#[inline(always)]
pub(super) fn bakery_lock<const FENCE: bool>(
    index: usize,
    choosing: &[AtomicU32],
    number: &[AtomicU64],
    parked: &[AtomicU32],
) {
    let (store, load) = if FENCE {
        (SeqCst, SeqCst)
    } else {
        (Release, Acquire)
    };
    let (Some(my_choosing), Some(my_number), Some(my_park)) =
        (choosing.get(index), number.get(index), parked.get(index))
    else {
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
        let ahead = |theirs: u64| theirs != 0 && (theirs, j) < (mine, index);
        let mut spins = 0;
        while ahead(their_number.load(load)) {
            if spins < SPINS {
                spins = spins.wrapping_add(1);
                std::hint::spin_loop();
                continue;
            }
            // Parked before looking again, the release's number cleared before it looks at
            // the park word: one of the two sees the other (both SeqCst), so no wake-up is
            // lost. A spurious return looks again and parks again.
            my_park.store(PARKED, SeqCst);
            if ahead(their_number.load(SeqCst)) {
                futex::wait(my_park, PARKED);
            }
            my_park.store(RUNNING, Relaxed);
        }
    }
}

/// Lamport's bakery release: clear this worker's number, then wake the next holder, the
/// smallest (number, index) still showing, if it is parked.
#[inline(always)]
pub(super) fn bakery_unlock<const FENCE: bool>(
    index: usize,
    number: &[AtomicU64],
    parked: &[AtomicU32],
) {
    let Some(mine) = number.get(index) else {
        return;
    };
    if FENCE {
        mine.store(0, SeqCst);
    } else {
        mine.store(0, Release);
        fence(SeqCst);
    }
    let mut next: Option<(u64, usize)> = None;
    for (k, n) in number.iter().enumerate() {
        let theirs = n.load(SeqCst);
        if theirs != 0 && next.is_none_or(|(best, _)| theirs < best) {
            next = Some((theirs, k));
        }
    }
    if let Some(park) = next.and_then(|(_, k)| parked.get(k))
        && park.swap(RUNNING, SeqCst) == PARKED
    {
        futex::wake(park, 1);
    }
}
