//! Taking and releasing each kind of `--lock`, in the workers: behind [`WorkerCells::lock`]
//! and [`LockGuard::unlock`]. The kinds' state lives in the shared page (`race::page::locks`,
//! where the parent makes it and finds each worker's [`Cells`]); the kinds made of plain
//! atomics wait as [`waiting`](super::waiting) says.

use std::cell::UnsafeCell;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::atomic::{AtomicU32, AtomicU64};

use super::cells::WorkerCells;
use super::waiting::{
    bakery_lock, bakery_unlock, peterson_lock, spin_lock, ticket_lock, ticket_unlock,
};
use crate::model::lock::Lock;

/// What one worker needs of its lock beyond the kind and the page, found in the parent before
/// fork. The kind itself is [`WorkerCells::kind`], apart, so that the loop of each kind can fix
/// it to a constant (see [`WorkerCells::fixed`]).
#[derive(Clone, Copy)]
pub(crate) enum Cells<'p> {
    /// pthread, robust, sem, spin, ticket and private: all in the page (or, for private, in
    /// this process's copy of its mutex).
    Page,
    Flock(RawFd),
    Peterson {
        mine: &'p AtomicU32,
        other: &'p AtomicU32,
        /// The other worker's index: the turn given away.
        other_index: u32,
    },
    Bakery {
        index: usize,
        choosing: &'p [AtomicU32],
        number: &'p [AtomicU64],
        /// One futex word per worker, which it sleeps on while it waits its turn.
        parked: &'p [AtomicU32],
    },
}

/// Cells made for another kind than the one taken: cannot happen (`worker_cells` makes them
/// for its kind, and `fixed` is only called with that kind), but refused rather than assumed.
const WRONG_CELLS: LockError = LockError(libc::EINVAL);

/// Why the lock could not be taken: the errno of the call that failed (ENOTRECOVERABLE for a
/// robust mutex made unusable, EDEADLK or ENOLCK from fcntl...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockError(pub i32);

/// Evaluates `$body` once per lock kind, with `$cells` rebound in each arm to cells whose
/// kind the compiler sees as a constant: the loop is compiled once per kind, with no
/// dispatch on the kind at each lock and unlock.
macro_rules! by_lock {
    ($cells:ident, $body:expr) => {
        match $cells.kind() {
            Lock::Pthread => by_lock!(@fixed $cells, Lock::Pthread, $body),
            Lock::Robust => by_lock!(@fixed $cells, Lock::Robust, $body),
            Lock::Sem => by_lock!(@fixed $cells, Lock::Sem, $body),
            Lock::Spin => by_lock!(@fixed $cells, Lock::Spin, $body),
            Lock::Ticket => by_lock!(@fixed $cells, Lock::Ticket, $body),
            Lock::Flock => by_lock!(@fixed $cells, Lock::Flock, $body),
            Lock::Private => by_lock!(@fixed $cells, Lock::Private, $body),
            Lock::Peterson => by_lock!(@fixed $cells, Lock::Peterson, $body),
            Lock::PetersonNofence => by_lock!(@fixed $cells, Lock::PetersonNofence, $body),
            Lock::Bakery => by_lock!(@fixed $cells, Lock::Bakery, $body),
            Lock::BakeryNofence => by_lock!(@fixed $cells, Lock::BakeryNofence, $body),
        }
    };
    (@fixed $cells:ident, $kind:expr, $body:expr) => {{
        let $cells = $cells.fixed($kind);
        $body
    }};
}
pub(crate) use by_lock;

/// Holds the lock; [`LockGuard::unlock`] releases it, whatever its kind (and so does dropping
/// it, for an early return).
pub(crate) struct LockGuard<'p> {
    cells: WorkerCells<'p>,
}

impl<'p> WorkerCells<'p> {
    /// The kind of lock these cells take.
    #[inline(always)]
    pub(crate) fn kind(&self) -> Lock {
        self.kind
    }

    /// These cells, their lock kind fixed to `kind` (which must be [`Self::kind`]), for a
    /// caller that matched on the kind and calls this with the kind of its arm: once inlined,
    /// the compiler sees the kind as a constant there, and every later match on it folds away
    /// (measured: dispatching on the kind at every lock and unlock cost the spin lock 2x, and
    /// peterson and the bakery, dispatched, moved their cells through the stack: 123
    /// instructions an increment for the bakery alone against 51 in C).
    #[inline(always)]
    pub(crate) fn fixed(self, kind: Lock) -> WorkerCells<'p> {
        WorkerCells { kind, ..self }
    }

    /// Takes the lock of this worker's kind.
    ///
    /// A robust mutex whose previous holder died reports EOWNERDEAD: the lock is then made
    /// consistent and taken, so the other workers carry on. Every other kind either waits
    /// forever for a dead holder (pthread, sem, spin, ticket, peterson, bakery) or, for
    /// flock, is released by the kernel when the holder's process dies.
    #[inline(always)]
    pub(crate) fn lock(&self) -> Result<LockGuard<'p>, LockError> {
        let locks = &self.header.locks;
        match self.kind {
            Lock::Pthread => mutex_lock(locks.pthread.0.get(), false)?,
            Lock::Robust => mutex_lock(locks.robust.0.get(), true)?,
            Lock::Private => mutex_lock(self.page.private.get(), false)?,
            Lock::Sem => sem_wait(&locks.sem.0)?,
            Lock::Spin => spin_lock(&locks.spin.0),
            Lock::Ticket => ticket_lock(&locks.ticket.0),
            Lock::Flock => match self.lock {
                Cells::Flock(fd) => record_lock(fd, libc::F_WRLCK as libc::c_short)?,
                Cells::Page | Cells::Peterson { .. } | Cells::Bakery { .. } => {
                    return Err(WRONG_CELLS);
                }
            },
            Lock::Peterson | Lock::PetersonNofence => match self.lock {
                Cells::Peterson {
                    mine,
                    other,
                    other_index,
                } => {
                    let turn = &locks.peterson.0.turn;
                    if self.kind == Lock::Peterson {
                        peterson_lock::<true>(mine, other, turn, other_index);
                    } else {
                        peterson_lock::<false>(mine, other, turn, other_index);
                    }
                }
                Cells::Page | Cells::Flock(_) | Cells::Bakery { .. } => return Err(WRONG_CELLS),
            },
            Lock::Bakery | Lock::BakeryNofence => match self.lock {
                Cells::Bakery {
                    index,
                    choosing,
                    number,
                    parked,
                } => {
                    if self.kind == Lock::Bakery {
                        bakery_lock::<true>(index, choosing, number, parked);
                    } else {
                        bakery_lock::<false>(index, choosing, number, parked);
                    }
                }
                Cells::Page | Cells::Flock(_) | Cells::Peterson { .. } => {
                    return Err(WRONG_CELLS);
                }
            },
        }
        self.slot.holds_lock.store(1, Relaxed);
        Ok(LockGuard { cells: *self })
    }
}

impl LockGuard<'_> {
    /// Releases the lock. The worker's loop calls this rather than letting the guard drop:
    /// `drop_in_place` is compiled with every kind's release inside, before it is inlined, and
    /// LLVM left it a call that dispatched on the kind at every unlock (12 instructions an
    /// increment, callgrind). This method is inlined where the kind is a constant.
    #[inline(always)]
    pub(crate) fn unlock(self) {
        let cells = self.cells;
        std::mem::forget(self);
        release(&cells);
    }
}

impl Drop for LockGuard<'_> {
    /// For a guard that leaves scope without [`LockGuard::unlock`] (an early return).
    fn drop(&mut self) {
        release(&self.cells);
    }
}

/// Releases the lock of `cells`' kind, held by this worker. Inlined into the loop, where the
/// kind is a constant, so that each kind's release is its own few instructions.
#[inline(always)]
fn release(cells: &WorkerCells<'_>) {
    cells.slot.holds_lock.store(0, Relaxed);
    let locks = &cells.header.locks;
    match cells.kind {
        // SAFETY: called only by a guard, which exists only while we hold the initialised
        // mutex, and only once per guard (unlock forgets it).
        Lock::Pthread => unsafe {
            libc::pthread_mutex_unlock(locks.pthread.0.get());
        },
        // SAFETY: as above.
        Lock::Robust => unsafe {
            libc::pthread_mutex_unlock(locks.robust.0.get());
        },
        // SAFETY: as above; the private mutex is this process's own copy.
        Lock::Private => unsafe {
            libc::pthread_mutex_unlock(cells.page.private.get());
        },
        // SAFETY: the semaphore was initialised in `new`; we took it, we give it back.
        Lock::Sem => unsafe {
            libc::sem_post(locks.sem.0.get());
        },
        Lock::Spin => locks.spin.0.store(0, Release),
        Lock::Ticket => ticket_unlock(&locks.ticket.0),
        Lock::Flock => {
            if let Cells::Flock(fd) = cells.lock {
                // Unlocking a lock we hold cannot block; an error leaves nothing to do here
                // (the kernel drops the lock when the process ends).
                let _ = record_lock(fd, libc::F_UNLCK as libc::c_short);
            }
        }
        Lock::Peterson | Lock::PetersonNofence => {
            if let Cells::Peterson { mine, .. } = cells.lock {
                mine.store(0, Release);
            }
        }
        Lock::Bakery | Lock::BakeryNofence => {
            if let Cells::Bakery {
                index,
                number,
                parked,
                ..
            } = cells.lock
            {
                if cells.kind == Lock::Bakery {
                    bakery_unlock::<true>(index, number, parked);
                } else {
                    bakery_unlock::<false>(index, number, parked);
                }
            }
        }
    }
}

#[inline(always)]
fn mutex_lock(lock: *mut libc::pthread_mutex_t, robust: bool) -> Result<(), LockError> {
    // SAFETY: the mutex was initialised in `new` and lives as long as the mapping (or, for
    // the private one, this process's copy of the page's Box).
    let rc = unsafe { libc::pthread_mutex_lock(lock) };
    match rc {
        0 => Ok(()),
        libc::EOWNERDEAD if robust => {
            // SAFETY: we hold the lock (EOWNERDEAD means it was acquired).
            match unsafe { libc::pthread_mutex_consistent(lock) } {
                0 => Ok(()),
                rc => Err(LockError(rc)),
            }
        }
        other => Err(LockError(other)),
    }
}

#[inline(always)]
fn sem_wait(sem: &UnsafeCell<libc::sem_t>) -> Result<(), LockError> {
    loop {
        // SAFETY: the semaphore was initialised (pshared) in `new` and lives in the mapping.
        if unsafe { libc::sem_wait(sem.get()) } == 0 {
            return Ok(());
        }
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if errno != libc::EINTR {
            return Err(LockError(errno));
        }
    }
}

/// fcntl(F_SETLKW) of the whole file: a write lock, or F_UNLCK.
#[inline(always)]
fn record_lock(fd: RawFd, kind: libc::c_short) -> Result<(), LockError> {
    let region = libc::flock {
        l_type: kind,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    loop {
        // SAFETY: `fd` is the lock file, open for reading and writing in this process (the
        // page keeps it open); `region` is a valid flock struct for the whole call.
        if unsafe { libc::fcntl(fd, libc::F_SETLKW, &region) } == 0 {
            return Ok(());
        }
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        if errno != libc::EINTR {
            return Err(LockError(errno));
        }
    }
}
