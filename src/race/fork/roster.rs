//! A crew's list of its workers, in memory that the workers do not inherit.
//!
//! The parent writes this list between forks (each new worker's pid) and while the workers run
//! (which were reaped). In ordinary memory every fork write-protects the page, and the next
//! write to it is a copy-on-write fault that copies the page while any worker still maps it:
//! measured, 8 of the parent's 43 page faults a trial of 10 workers. Mapped with
//! `MADV_DONTFORK`, the list is the parent's alone: no copy, no fault, and one mapping fewer
//! for each fork to duplicate. A forked worker never touches it (it runs `child::main` and
//! leaves through `_exit`; were it to, it would fault on an address it does not have).
//!
//! The mapping of a finished crew is kept for the next one on the same thread, so that a trial
//! costs no `mmap`: the per-trial runner forks a crew for every trial.

use std::cell::Cell;
use std::mem::size_of;
use std::ptr::NonNull;

use nix::errno::Errno;

/// A mapping made by [`Roster::with_capacity`]: its start and length in bytes.
#[derive(Clone, Copy)]
struct Mapping {
    start: NonNull<u8>,
    bytes: usize,
}

thread_local! {
    /// The mapping of the last roster dropped on this thread, kept for the next.
    static SPARE: Cell<Option<Mapping>> = const { Cell::new(None) };
}

/// Up to `capacity` values of `T`, pushed in order, in a private anonymous mapping marked
/// `MADV_DONTFORK`. Derefs to the slice of the values pushed.
pub(crate) struct Roster<T> {
    mapping: Mapping,
    capacity: usize,
    len: usize,
    _owns: std::marker::PhantomData<T>,
}

impl<T> Roster<T> {
    /// Room for `capacity` values (at least one page).
    pub(crate) fn with_capacity(capacity: usize) -> Result<Roster<T>, Errno> {
        const { assert!(align_of::<T>() <= 4096, "a page aligns T") };
        let wanted = capacity
            .max(1)
            .checked_mul(size_of::<T>().max(1))
            .ok_or(Errno::ENOMEM)?;
        let mapping = match SPARE.take() {
            Some(spare) if spare.bytes >= wanted => spare,
            spare => {
                if let Some(old) = spare {
                    unmap(old);
                }
                map(wanted)?
            }
        };
        Ok(Roster {
            mapping,
            capacity: mapping.bytes / size_of::<T>().max(1),
            len: 0,
            _owns: std::marker::PhantomData,
        })
    }

    /// Appends `value`.
    ///
    /// # Panics
    /// When the roster is full (a crew pushes one member per worker it was made for).
    pub(crate) fn push(&mut self, value: T) {
        assert!(self.len < self.capacity, "roster full at {}", self.capacity);
        // SAFETY: slot `len` lies inside the mapping (len < capacity, which fits in `bytes`),
        // is aligned for T (the mapping is page-aligned and size_of::<T>() is a multiple of its
        // alignment) and holds no value yet.
        unsafe { self.start().add(self.len).write(value) };
        self.len += 1;
    }

    fn start(&self) -> *mut T {
        self.mapping.start.as_ptr().cast()
    }
}

impl<T> std::ops::Deref for Roster<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the first `len` slots hold values written by `push`, inside the mapping,
        // which lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.start(), self.len) }
    }
}

impl<T> std::ops::DerefMut for Roster<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.start(), self.len) }
    }
}

impl<T> Drop for Roster<T> {
    fn drop(&mut self) {
        // SAFETY: the slice holds exactly the values pushed, each dropped once, here; nothing
        // reads them afterwards.
        unsafe { std::ptr::drop_in_place(&mut **self as *mut [T]) };
        match SPARE.take() {
            Some(kept) if kept.bytes >= self.mapping.bytes => {
                SPARE.set(Some(kept));
                unmap(self.mapping);
            }
            other => {
                if let Some(old) = other {
                    unmap(old);
                }
                SPARE.set(Some(self.mapping));
            }
        }
    }
}

/// A fresh private anonymous mapping of at least `bytes` (whole pages), not inherited by fork.
fn map(bytes: usize) -> Result<Mapping, Errno> {
    let bytes = bytes
        .checked_next_multiple_of(page_size())
        .ok_or(Errno::ENOMEM)?;
    // SAFETY: a new anonymous mapping at an address the kernel picks; no existing memory is
    // touched.
    let start = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if start == libc::MAP_FAILED {
        return Err(Errno::last());
    }
    let mapping = Mapping {
        start: NonNull::new(start.cast()).ok_or(Errno::ENOMEM)?,
        bytes,
    };
    // SAFETY: the range is the mapping just made, which nothing else uses.
    if unsafe { libc::madvise(start, bytes, libc::MADV_DONTFORK) } != 0 {
        let errno = Errno::last();
        unmap(mapping);
        return Err(errno);
    }
    Ok(mapping)
}

fn unmap(mapping: Mapping) {
    // SAFETY: the mapping was made by `map` and no roster uses it any more (the caller took it
    // out of its roster or out of SPARE).
    unsafe {
        libc::munmap(mapping.start.as_ptr().cast(), mapping.bytes);
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf only reads a system value.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn a_roster_keeps_what_was_pushed_and_drops_it_once() {
        let counted = Rc::new(());
        {
            let mut roster = Roster::with_capacity(3).unwrap();
            for _ in 0..3 {
                roster.push(Rc::clone(&counted));
            }
            assert_eq!(roster.len(), 3);
            assert_eq!(Rc::strong_count(&counted), 4);
        }
        assert_eq!(
            Rc::strong_count(&counted),
            1,
            "each value dropped with the roster"
        );
        // The mapping is kept for the next roster on this thread.
        let mut again: Roster<u64> = Roster::with_capacity(2).unwrap();
        again.push(7);
        again[0] += 1;
        assert_eq!(&*again, &[8]);
    }

    #[test]
    fn a_forked_child_does_not_inherit_the_roster() {
        let _guard = crate::race::fork::tests::FORK_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut roster: Roster<u64> = Roster::with_capacity(1).unwrap();
        roster.push(1);
        let address = roster.as_ptr() as usize;
        let mut crew = crate::race::fork::Crew::spawn(&[address], |&address| {
            // mincore(2) fails with ENOMEM on an address with no mapping: the child has none.
            let mut resident = 0u8;
            // SAFETY: mincore only inspects the address range and writes one byte to
            // `resident`.
            let rc = unsafe { libc::mincore(address as *mut libc::c_void, 1, &mut resident) };
            if rc != 0 && nix::errno::Errno::last() == nix::errno::Errno::ENOMEM {
                0
            } else {
                1
            }
        })
        .unwrap();
        assert_eq!(crew.wait_exits(None), Ok(()));
        assert_eq!(roster[0], 1, "the parent's stays");
    }
}
