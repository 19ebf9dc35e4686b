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
use super::waiting::{bakery_lock, peterson_lock, spin_lock, ticket_lock};
use crate::model::lock::Lock;
use crate::race::page::Slot;

/// What one worker needs of its lock kind, found in the parent before fork.
#[derive(Clone, Copy)]
pub(crate) enum Cells<'p> {
    Pthread,
    Robust,
    Sem,
    Spin,
    Ticket,
    Flock(RawFd),
    Private,
    Peterson {
        mine: &'p AtomicU32,
        other: &'p AtomicU32,
        /// The other worker's index: the turn given away.
        other_index: u32,
        fence: bool,
    },
    Bakery {
        index: usize,
        choosing: &'p [AtomicU32],
        number: &'p [AtomicU64],
        fence: bool,
    },
}

/// Why the lock could not be taken: the errno of the call that failed (ENOTRECOVERABLE for a
/// robust mutex made unusable, EDEADLK or ENOLCK from fcntl...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LockError(pub i32);

impl Cells<'_> {
    /// The same cells with the kind `kind` written as a constant, for a caller that matched
    /// on [`WorkerCells::kind`] and calls this with the kind of its arm: once inlined, the
    /// kind is known to the compiler inside the arm, and every later match on it folds away
    /// (measured: dispatching on the kind at every lock and unlock cost the spin lock 2x).
    /// The algorithms with per-worker data (peterson, bakery) keep their runtime dispatch:
    /// they cost a microsecond per increment, the dispatch a nanosecond.
    #[inline(always)]
    fn fixed(self, kind: Lock) -> Self {
        match kind {
            Lock::Pthread => Cells::Pthread,
            Lock::Robust => Cells::Robust,
            Lock::Sem => Cells::Sem,
            Lock::Spin => Cells::Spin,
            Lock::Ticket => Cells::Ticket,
            Lock::Private => Cells::Private,
            Lock::Flock => Cells::Flock(if let Cells::Flock(fd) = self { fd } else { -1 }),
            Lock::Peterson | Lock::PetersonNofence | Lock::Bakery | Lock::BakeryNofence => self,
        }
    }

    fn kind(&self) -> Lock {
        match self {
            Cells::Pthread => Lock::Pthread,
            Cells::Robust => Lock::Robust,
            Cells::Sem => Lock::Sem,
            Cells::Spin => Lock::Spin,
            Cells::Ticket => Lock::Ticket,
            Cells::Flock(_) => Lock::Flock,
            Cells::Private => Lock::Private,
            Cells::Peterson { fence: true, .. } => Lock::Peterson,
            Cells::Peterson { fence: false, .. } => Lock::PetersonNofence,
            Cells::Bakery { fence: true, .. } => Lock::Bakery,
            Cells::Bakery { fence: false, .. } => Lock::BakeryNofence,
        }
    }
}

/// Evaluates `$body` once per lock kind, with `$cells` rebound in each arm to cells whose
/// kind the compiler sees as a constant: the loop is compiled once per kind, with no
/// dispatch on the kind at each lock and unlock.
macro_rules! by_lock {
    ($cells:ident, $body:expr) => {
        match $cells.kind() {
            Lock::Pthread => {
                let $cells = $cells.fixed(Lock::Pthread);
                $body
            }
            Lock::Robust => {
                let $cells = $cells.fixed(Lock::Robust);
                $body
            }
            Lock::Sem => {
                let $cells = $cells.fixed(Lock::Sem);
                $body
            }
            Lock::Spin => {
                let $cells = $cells.fixed(Lock::Spin);
                $body
            }
            Lock::Ticket => {
                let $cells = $cells.fixed(Lock::Ticket);
                $body
            }
            Lock::Flock => {
                let $cells = $cells.fixed(Lock::Flock);
                $body
            }
            Lock::Private => {
                let $cells = $cells.fixed(Lock::Private);
                $body
            }
            Lock::Peterson | Lock::PetersonNofence | Lock::Bakery | Lock::BakeryNofence => $body,
        }
    };
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
        self.lock.kind()
    }

    /// These cells, their lock kind fixed to `kind` (which must be [`Self::kind`]) so that
    /// the compiler sees it as a constant: see `Cells::fixed`.
    #[inline(always)]
    pub(crate) fn fixed(self, kind: Lock) -> WorkerCells<'p> {
        WorkerCells {
            lock: self.lock.fixed(kind),
            ..self
        }
    }

    /// Takes the lock of this worker's kind.
    ///
    /// A robust mutex whose previous holder died reports EOWNERDEAD: the lock is then made
    /// consistent and taken, so the other workers carry on. Every other kind either waits
    /// forever for a dead holder (pthread, sem, spin, ticket, peterson, bakery) or, for
    /// flock, is released by the kernel when the holder's process dies.
    #[inline(always)]
    pub(crate) fn lock(&self) -> Result<LockGuard<'p>, LockError> {
        let locks = &self.page.header().locks;
        match self.lock {
            Cells::Pthread => mutex_lock(locks.pthread.0.get(), false)?,
            Cells::Robust => mutex_lock(locks.robust.0.get(), true)?,
            Cells::Private => mutex_lock(self.page.private.get(), false)?,
            Cells::Sem => sem_wait(&locks.sem.0)?,
            Cells::Spin => spin_lock(&locks.spin.0),
            Cells::Ticket => ticket_lock(&locks.ticket.0),
            Cells::Flock(fd) => record_lock(fd, libc::F_WRLCK as libc::c_short)?,
            Cells::Peterson {
                mine,
                other,
                other_index,
                fence,
            } => {
                let turn = &locks.peterson.0.turn;
                if fence {
                    peterson_lock::<true>(mine, other, turn, other_index);
                } else {
                    peterson_lock::<false>(mine, other, turn, other_index);
                }
            }
            Cells::Bakery {
                index,
                choosing,
                number,
                fence,
            } => {
                if fence {
                    bakery_lock::<true>(index, choosing, number);
                } else {
                    bakery_lock::<false>(index, choosing, number);
                }
            }
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

/// Releases the lock of `cells`' kind, held by this worker. Kept small, the kinds that end in
/// a system call out of line: the compiler inlines this into the loop only while it is small,
/// and only inlined does the lock kind fold to a constant (measured: out of line, the
/// dispatch cost the spin lock 2x).
#[inline(always)]
fn release(cells: &WorkerCells<'_>) {
    let slot: &Slot = cells.slot;
    slot.holds_lock.store(0, Relaxed);
    let locks = &cells.page.header().locks;
    match cells.lock {
        // SAFETY: called only by a guard, which exists only while we hold the initialised
        // mutex, and only once per guard (unlock forgets it).
        Cells::Pthread => unsafe {
            libc::pthread_mutex_unlock(locks.pthread.0.get());
        },
        // SAFETY: as above.
        Cells::Robust => unsafe {
            libc::pthread_mutex_unlock(locks.robust.0.get());
        },
        Cells::Spin => locks.spin.0.store(0, Release),
        Cells::Ticket => {
            // Only the holder writes `serving`.
            let ticket = &locks.ticket.0;
            let now = ticket.serving.load(Relaxed);
            ticket.serving.store(now.wrapping_add(1), Release);
        }
        Cells::Peterson { mine, .. } => mine.store(0, Release),
        Cells::Bakery { index, number, .. } => {
            if let Some(mine) = number.get(index) {
                mine.store(0, Release);
            }
        }
        Cells::Private | Cells::Sem | Cells::Flock(_) => release_by_call(cells),
    }
}

/// Releases the kinds whose release is a library call with more around it.
#[inline(never)]
fn release_by_call(cells: &WorkerCells<'_>) {
    let locks = &cells.page.header().locks;
    match cells.lock {
        // SAFETY: the guard exists only while we hold the initialised mutex; the private
        // mutex is this process's own copy.
        Cells::Private => unsafe {
            libc::pthread_mutex_unlock(cells.page.private.get());
        },
        // SAFETY: the semaphore was initialised in `new`; we took it, we give it back.
        Cells::Sem => unsafe {
            libc::sem_post(locks.sem.0.get());
        },
        Cells::Flock(fd) => {
            // Unlocking a lock we hold cannot block; an error leaves nothing to do here
            // (the kernel drops the lock when the process ends).
            let _ = record_lock(fd, libc::F_UNLCK as libc::c_short);
        }
        // Released in line by the guard's `drop`.
        Cells::Pthread
        | Cells::Robust
        | Cells::Spin
        | Cells::Ticket
        | Cells::Peterson { .. }
        | Cells::Bakery { .. } => {}
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
