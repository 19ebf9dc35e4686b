//! The state of every `--lock` kind in the shared page (or, for `private` and `flock`, beside
//! it): its layout, its initialisation before any worker exists, and the lookup of what each
//! worker needs of it ([`Cells`], checked in the parent). Taking and releasing each kind runs
//! in the workers: `race::child::locks`.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, AtomicU64};

use std::cell::UnsafeCell;

use super::{Line, SharedPage, check};
use crate::model::lock::Lock;
use crate::race::child::Cells;

/// The state of every kind of lock that lives in the page, each on its own line. All-zero
/// before [`SharedPage::init_locks`] runs, which is valid for the atomics.
#[repr(C)]
pub(crate) struct LockStates {
    /// `--lock robust`: a process-shared, robust `pthread_mutex_t`.
    pub(crate) robust: Line<UnsafeCell<libc::pthread_mutex_t>>,
    /// `--lock pthread`: a process-shared `pthread_mutex_t`, not robust.
    pub(crate) pthread: Line<UnsafeCell<libc::pthread_mutex_t>>,
    /// `--lock sem`: an unnamed POSIX semaphore, pshared = 1.
    pub(crate) sem: Line<UnsafeCell<libc::sem_t>>,
    /// `--lock spin`: the spin lock's word.
    pub(crate) spin: Line<AtomicU32>,
    /// `--lock ticket`: next ticket, now serving, and how many waiters sleep.
    pub(crate) ticket: Line<Ticket>,
    /// `--lock peterson[-nofence]`: two flags and the turn.
    pub(crate) peterson: Line<Peterson>,
}

/// The ticket lock: the next ticket to hand out, the ticket now served (a futex word) and how
/// many waiters sleep on it, in one line as in the Linux kernel's ticket spinlock.
#[repr(C)]
#[derive(Default)]
pub(crate) struct Ticket {
    pub(crate) next: AtomicU32,
    pub(crate) serving: AtomicU32,
    pub(crate) sleepers: AtomicU32,
}

/// Peterson's two flags and the turn, in one line.
#[repr(C)]
#[derive(Default)]
pub(crate) struct Peterson {
    pub(crate) flag: [AtomicU32; 2],
    pub(crate) turn: AtomicU32,
}

impl SharedPage {
    /// Initialises the two process-shared mutexes, the semaphore and the private mutex.
    pub(super) fn init_locks(&self) -> io::Result<()> {
        let locks = &self.header().locks;
        init_mutex(locks.robust.0.get(), true)?;
        init_mutex(locks.pthread.0.get(), false)?;
        // SAFETY: the semaphore lies in our mapping, suitably aligned (its own line), and no
        // worker exists yet; pshared = 1 because the workers are separate processes.
        check_errno(unsafe { libc::sem_init(locks.sem.0.get(), 1, 1) })?;
        // SAFETY: the private mutex is ours alone (a Box nobody else sees yet), and default
        // attributes make an ordinary, process-private mutex.
        check(unsafe { libc::pthread_mutex_init(self.private.get(), std::ptr::null()) })
    }

    /// What worker `index` of `procs` needs for `kind`; `None` when the page or the kind has
    /// no room for it (peterson takes workers 0 and 1 only, the bakery `procs` at most
    /// `slots`, flock needs the file of [`SharedPage::with_lock_file`]).
    pub(crate) fn lock_cells(&self, kind: Lock, index: usize, procs: usize) -> Option<Cells<'_>> {
        Some(match kind {
            Lock::Pthread
            | Lock::Robust
            | Lock::Sem
            | Lock::Spin
            | Lock::Ticket
            | Lock::Private => Cells::Page,
            Lock::Flock => Cells::Flock(self.lock_file.as_ref()?.as_raw_fd()),
            Lock::Peterson | Lock::PetersonNofence => {
                let flags = &self.header().locks.peterson.0.flag;
                let other_index = 1usize.checked_sub(index)?;
                Cells::Peterson {
                    mine: flags.get(index)?,
                    other: flags.get(other_index)?,
                    other_index: other_index as u32,
                }
            }
            Lock::Bakery | Lock::BakeryNofence => {
                let (choosing, number, parked) = self.bakery();
                let (choosing, number, parked) = (
                    choosing.get(..procs)?,
                    number.get(..procs)?,
                    parked.get(..procs)?,
                );
                choosing.get(index)?;
                Cells::Bakery {
                    index,
                    choosing,
                    number,
                    parked,
                }
            }
        })
    }

    /// The bakery's arrays, one entry per slot: choosing, number and the park words.
    fn bakery(&self) -> (&[AtomicU32], &[AtomicU64], &[AtomicU32]) {
        // SAFETY: `new` placed `slots` u32 at `choosing_at`, `slots` u64 at `number_at` and
        // `slots` u32 at `parked_at`, all inside the mapping and 128-byte aligned; all-zero
        // atomics are valid, and atomics may be shared between processes.
        unsafe {
            let base = self.map.as_ptr();
            (
                std::slice::from_raw_parts(
                    base.add(self.choosing_at) as *const AtomicU32,
                    self.slots,
                ),
                std::slice::from_raw_parts(
                    base.add(self.number_at) as *const AtomicU64,
                    self.slots,
                ),
                std::slice::from_raw_parts(
                    base.add(self.parked_at) as *const AtomicU32,
                    self.slots,
                ),
            )
        }
    }
}

fn init_mutex(lock: *mut libc::pthread_mutex_t, robust: bool) -> io::Result<()> {
    // SAFETY: `attr` is initialised before use and destroyed after; `lock` points into our
    // mapping, is suitably aligned and nobody else uses it yet (no worker is forked).
    unsafe {
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        check(libc::pthread_mutexattr_init(attr.as_mut_ptr()))?;
        let attr = attr.as_mut_ptr();
        let result = (|| {
            check(libc::pthread_mutexattr_setpshared(
                attr,
                libc::PTHREAD_PROCESS_SHARED,
            ))?;
            if robust {
                check(libc::pthread_mutexattr_setrobust(
                    attr,
                    libc::PTHREAD_MUTEX_ROBUST,
                ))?;
            }
            check(libc::pthread_mutex_init(lock, attr))
        })();
        libc::pthread_mutexattr_destroy(attr);
        result
    }
}

fn check_errno(rc: i32) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The unnamed file for `--lock flock`, in $TMPDIR or /tmp.
pub(super) fn lock_file() -> io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = std::env::var_os("TMPDIR")
        .filter(|d| !d.is_empty())
        .map_or_else(
            || std::path::PathBuf::from("/tmp"),
            std::path::PathBuf::from,
        );
    let unnamed = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(&dir);
    match unnamed {
        Ok(file) => Ok(file.into()),
        // File systems without O_TMPFILE: a fresh name, removed as soon as it is open.
        Err(_) => {
            let path = dir.join(format!(
                "racecount-lock-{}-{}",
                std::process::id(),
                crate::race::child::monotonic_ns()
            ));
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            std::fs::remove_file(&path)?;
            Ok(file.into())
        }
    }
}
