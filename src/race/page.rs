//! The shared page: one `MAP_SHARED` mapping that the parent and every forked worker see.
//!
//! Layout (each field on its own 128 bytes: a cache line and its neighbour, which x86's adjacent-line
//! prefetcher fetches in pairs, so that only the counter is contended):
//!
//! | line        | what                                                            |
//! |-------------|-----------------------------------------------------------------|
//! | counter     | the `u64` every worker increments                               |
//! | robust      | `--lock robust`: a process-shared, robust `pthread_mutex_t`      |
//! | pthread     | `--lock pthread`: a process-shared `pthread_mutex_t`, not robust |
//! | sem         | `--lock sem`: an unnamed POSIX semaphore, pshared = 1            |
//! | spin        | `--lock spin`: the spin lock's word                               |
//! | ticket      | `--lock ticket`: next ticket, now serving, and how many sleep     |
//! | peterson    | `--lock peterson[-nofence]`: two flags and the turn               |
//! | gate        | futex word: the start gate's generation                          |
//! | done        | how many workers finished the current trial (worker pool)        |
//! | control     | set to ask pooled workers to leave                               |
//! | schedule    | `--schedule`: the scheduler's state (three lines)                |
//! | slots[i]    | worker `i`: increments completed this trial, whether it holds the lock, |
//! |             | when its racing part started and ended, and its `--schedule` turn |
//! | choosing[]  | `--lock bakery[-nofence]`: one u32 per worker, packed            |
//! | number[]    | `--lock bakery[-nofence]`: one u64 per worker, packed            |
//! | parked[]    | `--lock bakery[-nofence]`: one futex word per worker, packed     |
//! | trace[i]    | with `--trace`: one [`TraceCell`] per increment of worker `i`,    |
//! |             | each worker's row starting on its own cache line                |
//!
//! The mapping comes from a memfd (no file is left anywhere) mapped with memmap2. memmap2's
//! anonymous maps are `MAP_PRIVATE`: after fork each child would write its own copy-on-write
//! page and the parent would read 0.
//!
//! Each lock kind's state is laid out and initialised in [`locks`], and taken and released in
//! `race::child::locks`. Two kinds live outside the page:
//! `private`'s mutex in the parent's ordinary memory (copied by fork, which is the point) and
//! `flock`'s unnamed temporary file.
//!
//! This module and `fork` are the only places with `unsafe` code.

pub(crate) mod locks;
pub(crate) mod schedule;

use std::cell::UnsafeCell;
use std::io;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::{MmapMut, MmapOptions};
use nix::sys::memfd::{MFdFlags, memfd_create};

use crate::model::lock::Lock;
use crate::race::child::{WorkerCells, futex};
use schedule::ScheduleLines;

/// A `T` alone on a pair of cache lines.
#[repr(C, align(128))]
pub(crate) struct Line<T>(pub(crate) T);

#[repr(C)]
pub(crate) struct Header {
    pub(crate) counter: Line<AtomicU64>,
    /// Every lock kind's state, each on its own line (see [`locks::LockStates`]).
    pub(crate) locks: locks::LockStates,
    pub(crate) gate: Line<AtomicU32>,
    pub(crate) done: Line<AtomicU32>,
    pub(crate) control: Line<AtomicU32>,
    pub(crate) schedule: Line<ScheduleLines>,
}

// SAFETY: every field is an atomic, a process-shared pthread mutex or semaphore, or the
// schedule's atomics, each made for concurrent use by several threads and processes.
unsafe impl Sync for Header {}

/// One worker's own line: written only by that worker, so it stays true after the worker dies.
#[repr(C)]
pub(crate) struct Slot {
    pub(crate) completed: AtomicU64,
    pub(crate) holds_lock: AtomicU32,
    /// When the worker's racing part started and ended (CLOCK_MONOTONIC ns; 0: not yet).
    pub(crate) started_ns: AtomicU64,
    pub(crate) ended_ns: AtomicU64,
    /// `--schedule`: 1 while it is this worker's turn to step (a futex word).
    pub(crate) turn: AtomicU32,
    /// `--schedule`: the scheduler's [`Board`](crate::race::schedule::Board) fields for this worker.
    pub(crate) steps_done: AtomicU64,
    pub(crate) pos: AtomicU32,
    pub(crate) mark: AtomicU64,
}

/// Bytes each field and slot of the page is aligned to (a cache line and its neighbour).
pub(crate) const LINE: usize = 128;
const HEADER: usize = std::mem::size_of::<Header>();

/// What a traced worker records about one increment, in its own row of the shared page.
/// All-zero is a valid value; only the worker that owns the row writes it.
#[repr(C)]
#[derive(Debug, Default)]
pub(crate) struct TraceCell {
    /// The counter's word as the worker read it: the value and the tag of the write that
    /// stored it (see [`tagged`]).
    pub read: AtomicU64,
    /// The word its write replaced: the value and the tag of the write it overwrote.
    pub prev: AtomicU64,
    /// CLOCK_MONOTONIC just after the read, in ns.
    pub t_read_ns: AtomicU64,
    /// CLOCK_MONOTONIC just after the write, in ns.
    pub t_write_ns: AtomicU64,
    /// Under `--schedule`, the write's step number in the trial (from 1); else 0.
    pub step: AtomicU64,
}

/// Bytes of one [`TraceCell`].
pub(crate) const TRACE_CELL: usize = std::mem::size_of::<TraceCell>();

/// Under `--trace` the counter's word holds, beside the value (its low 32 bits), the tag of
/// the write that stored it (its high 32 bits): 0 for the initial 0, else 1 + the write's
/// number, `worker × iters + seq`. A read records the word it saw (reads-from); a write swaps
/// its own word in and records the word it replaced (its exact predecessor), so the writes
/// form one chain that no clock and no search has to rebuild. The trace's shared-memory cap
/// keeps every value and tag within 32 bits (checked below).
pub(crate) const VALUE_MASK: u64 = u32::MAX as u64;

/// The word for `value` written by the write tagged `tag`.
#[inline(always)]
pub(crate) fn tagged(value: u64, tag: u64) -> u64 {
    (tag.wrapping_shl(32)) | (value & VALUE_MASK)
}

/// The tag of the write that stored `word` (0: the initial value).
#[inline(always)]
pub(crate) fn tag_of(word: u64) -> u64 {
    word.wrapping_shr(32)
}

/// The counter's value in a tagged word.
#[inline(always)]
pub(crate) fn value_of(word: u64) -> u64 {
    word & VALUE_MASK
}

/// Bytes of one worker's trace row of `entries` cells, rounded up to whole cache lines.
/// `None` on overflow.
pub(crate) fn trace_row_bytes(entries: u64) -> Option<u64> {
    entries
        .checked_mul(TRACE_CELL as u64)?
        .checked_next_multiple_of(LINE as u64)
}

/// The shared mapping with the counter, the lock, the gate, one slot per worker and, when
/// tracing, one trace row per worker.
pub struct SharedPage {
    map: MmapMut,
    slots: usize,
    /// Byte offsets of the bakery's `choosing` (u32 each), `number` (u64 each) and `parked`
    /// (u32 each) arrays.
    choosing_at: usize,
    number_at: usize,
    parked_at: usize,
    /// `--lock private`: a mutex in the parent's own heap, which fork copies into each worker.
    pub(crate) private: Box<UnsafeCell<libc::pthread_mutex_t>>,
    /// `--lock flock`: the unnamed file whose fcntl record lock the workers take.
    pub(crate) lock_file: Option<OwnedFd>,
    /// Trace cells per worker (0: not tracing).
    trace_len: usize,
    /// Byte offset of the first trace row, and bytes per row.
    trace_at: usize,
    trace_stride: usize,
    /// `--replay`: a second shared mapping, one u32 per step: the worker who takes it.
    script: Option<MmapMut>,
}

// SAFETY: every field that several processes or threads touch is an atomic, a pthread mutex,
// a semaphore or a file descriptor, each made for concurrent use; the mapping itself is not
// moved or unmapped while a `&SharedPage` exists.
unsafe impl Sync for SharedPage {}

impl SharedPage {
    /// Maps a shared page with room for `slots` workers, each with a trace row of
    /// `trace_len` cells (0 when not tracing), and initialises the lock.
    pub fn new(slots: usize, trace_len: usize) -> io::Result<SharedPage> {
        let overflow = || io::Error::other("shared page size overflows");
        let round = |bytes: usize| bytes.checked_next_multiple_of(LINE);
        let choosing_at = slots
            .checked_mul(LINE)
            .and_then(|s| s.checked_add(HEADER))
            .ok_or_else(overflow)?;
        let number_at = slots
            .checked_mul(4)
            .and_then(round)
            .and_then(|b| b.checked_add(choosing_at))
            .ok_or_else(overflow)?;
        let parked_at = slots
            .checked_mul(8)
            .and_then(round)
            .and_then(|b| b.checked_add(number_at))
            .ok_or_else(overflow)?;
        let trace_at = slots
            .checked_mul(4)
            .and_then(round)
            .and_then(|b| b.checked_add(parked_at))
            .ok_or_else(overflow)?;
        let trace_stride = trace_row_bytes(trace_len as u64)
            .and_then(|b| usize::try_from(b).ok())
            .ok_or_else(overflow)?;
        let len = trace_stride
            .checked_mul(slots)
            .and_then(|t| t.checked_add(trace_at))
            .ok_or_else(overflow)?;
        let fd = memfd_create(c"racecount", MFdFlags::MFD_CLOEXEC).map_err(io::Error::from)?;
        let len_off = libc::off_t::try_from(len).map_err(io::Error::other)?;
        nix::unistd::ftruncate(&fd, len_off).map_err(io::Error::from)?;
        // SAFETY: the memfd is ours alone, freshly made and sized to `len`; nobody truncates
        // it while it is mapped, so every byte of the mapping stays backed. A memfd mapping is
        // MAP_SHARED, so forked children and the parent see the same memory.
        let map = unsafe { MmapOptions::new().len(len).populate().map_mut(&fd)? };
        // The fd can close now: the mapping keeps the memory alive until it is unmapped.
        drop(fd);
        let page = SharedPage {
            map,
            slots,
            choosing_at,
            number_at,
            parked_at,
            private: Box::new(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER)),
            lock_file: None,
            trace_len,
            trace_at,
            trace_stride,
            script: None,
        };
        page.init_locks()?;
        Ok(page)
    }

    /// Room for a `--replay` script of up to `steps` steps, in a shared mapping of its own.
    pub fn with_script(mut self, steps: usize) -> io::Result<SharedPage> {
        let len = steps
            .checked_mul(4)
            .ok_or_else(|| io::Error::other("the replay's script is too long"))?
            .max(4);
        let fd =
            memfd_create(c"racecount-script", MFdFlags::MFD_CLOEXEC).map_err(io::Error::from)?;
        let len_off = libc::off_t::try_from(len).map_err(io::Error::other)?;
        nix::unistd::ftruncate(&fd, len_off).map_err(io::Error::from)?;
        // SAFETY: as for the page in `new`: a fresh memfd of ours, sized to `len`, never
        // truncated while mapped; MAP_SHARED, so the workers see what the parent writes.
        self.script = Some(unsafe { MmapOptions::new().len(len).populate().map_mut(&fd)? });
        Ok(self)
    }

    /// The script's steps: the worker who takes each (empty without `--replay`).
    pub(crate) fn script(&self) -> &[AtomicU32] {
        match &self.script {
            None => &[],
            // SAFETY: the mapping is page-aligned, `len / 4` u32s long, zero-filled (a valid
            // AtomicU32), and lives as long as the page; atomics may be shared between
            // processes.
            Some(map) => unsafe {
                std::slice::from_raw_parts(map.as_ptr() as *const AtomicU32, map.len() / 4)
            },
        }
    }

    /// Creates the unnamed file that `--lock flock` locks: open with O_TMPFILE in $TMPDIR (or
    /// /tmp), so no name ever exists; where the file system refuses O_TMPFILE, a unique name
    /// is created and removed at once. The descriptor is inherited by every forked worker;
    /// fcntl record locks belong to the process, so workers forked from it exclude each other.
    pub fn with_lock_file(mut self) -> io::Result<SharedPage> {
        self.lock_file = Some(locks::lock_file()?);
        Ok(self)
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: the mapping is page-aligned (so 128-byte aligned), at least HEADER bytes long
        // and zero-filled by ftruncate, and all-zero is a valid value for every atomic in
        // `Header`; the mutexes and the semaphore are initialised in `new` before anyone
        // takes them.
        unsafe { &*(self.map.as_ptr() as *const Header) }
    }

    /// The shared counter.
    pub(crate) fn counter(&self) -> &AtomicU64 {
        &self.header().counter.0
    }

    /// The counter's value: the low 32 bits of its word when the workers tag their writes
    /// (`--trace`), else the whole word.
    pub(crate) fn total(&self, traced: bool) -> u64 {
        let word = self.counter().load(Ordering::Acquire);
        if traced { value_of(word) } else { word }
    }

    /// The start gate's generation: workers wait while it still has the value they saw.
    pub(crate) fn gate(&self) -> &AtomicU32 {
        &self.header().gate.0
    }

    /// How many pooled workers finished the current trial.
    pub(crate) fn done(&self) -> &AtomicU32 {
        &self.header().done.0
    }

    /// Non-zero asks pooled workers to leave at the next gate.
    pub(crate) fn control(&self) -> &AtomicU32 {
        &self.header().control.0
    }

    /// Worker `index`'s slot, `None` when the page has no such slot.
    pub(crate) fn slot(&self, index: usize) -> Option<&Slot> {
        if index >= self.slots {
            return None;
        }
        // SAFETY: the slot lies inside the mapping (checked above), is 128-byte aligned
        // (HEADER and LINE are multiples of 128 and the mapping is page-aligned), Slot fits in
        // a line, and all-zero atomics are valid.
        Some(unsafe { &*(self.map.as_ptr().add(HEADER + index * LINE) as *const Slot) })
    }

    /// Worker `index`'s slot, in the parent, for an index the parent chose.
    ///
    /// # Panics
    /// When `index` is not below the number of slots the page was made with.
    fn parent_slot(&self, index: usize) -> &Slot {
        match self.slot(index) {
            Some(slot) => slot,
            None => panic!("slot {index} out of {}", self.slots),
        }
    }

    /// Increments worker `index` completed in the current trial (read by the parent).
    ///
    /// # Panics
    /// When `index` is not below the number of slots the page was made with.
    pub(crate) fn completed(&self, index: usize) -> &AtomicU64 {
        &self.parent_slot(index).completed
    }

    /// When worker `index`'s racing part started and ended (monotonic ns; 0 where it did not).
    ///
    /// # Panics
    /// When `index` is not below the number of slots the page was made with.
    pub(crate) fn span(&self, index: usize) -> (u64, u64) {
        let slot = self.parent_slot(index);
        (
            slot.started_ns.load(Ordering::Acquire),
            slot.ended_ns.load(Ordering::Acquire),
        )
    }

    /// Whether worker `index` holds the lock (still true after it died holding it).
    ///
    /// # Panics
    /// When `index` is not below the number of slots the page was made with.
    pub(crate) fn holds_lock(&self, index: usize) -> bool {
        self.parent_slot(index).holds_lock.load(Ordering::Acquire) != 0
    }

    /// Worker `index`'s trace row: one cell per increment, as many as the page was made with
    /// (none when not tracing). `None` when the page has no such worker.
    pub(crate) fn trace_row(&self, index: usize) -> Option<&[TraceCell]> {
        if index >= self.slots {
            return None;
        }
        if self.trace_len == 0 {
            return Some(&[]);
        }
        let at = self.trace_at + index * self.trace_stride;
        // SAFETY: the row lies inside the mapping (`new` sized it to hold `slots` rows of
        // `trace_stride >= trace_len * TRACE_CELL` bytes after the slots, and index < slots),
        // starts 128-byte aligned (trace_at and trace_stride are multiples of 128, the mapping
        // page-aligned), and an all-zero TraceCell (five AtomicU64) is valid. The cells are
        // atomics, so shared access from several processes is sound.
        Some(unsafe {
            std::slice::from_raw_parts(
                self.map.as_ptr().add(at) as *const TraceCell,
                self.trace_len,
            )
        })
    }

    /// Everything worker `index` of `procs` touches, found and checked in the parent before
    /// it forks, so that the worker itself indexes nothing and has no panic path. `None` when
    /// the page has no slot `index`, when tracing `iters` increments and its row is shorter,
    /// or when the lock kind has no place for this worker (see `lock_cells`).
    pub(crate) fn worker_cells(
        &self,
        index: u32,
        procs: u32,
        traced_iters: Option<u64>,
        lock: Lock,
    ) -> Option<WorkerCells<'_>> {
        let index = usize::try_from(index).ok()?;
        let slot = self.slot(index)?;
        let cells = self.lock_cells(lock, index, usize::try_from(procs).ok()?)?;
        let trace = match traced_iters {
            None => &[][..],
            Some(iters) => {
                let row = self.trace_row(index)?;
                row.get(..usize::try_from(iters).ok()?)?
            }
        };
        Some(WorkerCells {
            page: self,
            header: self.header(),
            slot,
            trace,
            lock: cells,
            kind: lock,
        })
    }

    /// Sets the counter and the first `procs` slots to zero for a new trial.
    pub(crate) fn reset(&self, procs: usize) {
        self.counter().store(0, Ordering::Relaxed);
        self.done().store(0, Ordering::Relaxed);
        for i in 0..procs {
            let slot = self.parent_slot(i);
            slot.completed.store(0, Ordering::Relaxed);
            slot.holds_lock.store(0, Ordering::Relaxed);
            slot.started_ns.store(0, Ordering::Relaxed);
            slot.ended_ns.store(0, Ordering::Relaxed);
        }
        std::sync::atomic::fence(Ordering::Release);
    }

    /// Advances the gate and wakes every worker waiting on it. Returns the new generation.
    pub(crate) fn open_gate(&self) -> u32 {
        let gate = self.gate();
        let next = gate.load(Ordering::Relaxed).wrapping_add(1);
        gate.store(next, Ordering::Release);
        futex::wake(gate, i32::MAX);
        next
    }
}

// No `Drop` beyond memmap2's unmapping (and closing the lock file): the mutexes and the
// semaphore are not destroyed. A worker killed while holding one leaves it locked, and
// destroying a locked mutex is undefined in POSIX; unmapping the memory is all that is needed
// to free it.

fn check(rc: i32) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_puts_each_field_on_its_own_line() {
        assert_eq!(HEADER % LINE, 0);
        assert_eq!(std::mem::size_of::<Line<AtomicU64>>(), LINE);
        assert!(std::mem::size_of::<libc::pthread_mutex_t>() <= LINE);
        assert!(std::mem::size_of::<Slot>() <= LINE);
        let page = SharedPage::new(4, 3).unwrap();
        let base = page.counter() as *const _ as usize;
        let addrs = [
            page.gate() as *const _ as usize,
            page.done() as *const _ as usize,
            page.completed(0) as *const _ as usize,
            page.completed(3) as *const _ as usize,
        ];
        for a in addrs {
            assert_eq!((a - base) % LINE, 0);
            assert!(a > base);
        }
        let row = |i| page.trace_row(i).unwrap();
        let row0 = row(0).as_ptr() as usize;
        let row1 = row(1).as_ptr() as usize;
        let row3_end = row(3)[2].t_write_ns.as_ptr() as usize + 8;
        assert_eq!((row0 - base) % LINE, 0);
        assert_eq!(
            row1 - row0,
            128,
            "3 cells of 40 bytes round up to two lines"
        );
        assert!(row0 > page.completed(3) as *const _ as usize);
        assert!(row3_end - base <= page.map.len());
        assert_eq!(row(3).len(), 3);
        assert!(page.trace_row(4).is_none());
        assert!(
            SharedPage::new(2, 0)
                .unwrap()
                .trace_row(1)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_lock_whose_holder_died_is_recovered() {
        let _guard = crate::race::fork::tests::FORK_LOCK
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let page = SharedPage::new(2, 0).unwrap();
        let cells = |i| page.worker_cells(i, 2, None, Lock::Robust).unwrap();
        // Worker 1 takes the lock and exits without unlocking (mem::forget skips the guard).
        let mut crew = crate::race::fork::Crew::spawn(&[cells(1)], |worker| {
            if let Ok(guard) = worker.lock() {
                std::mem::forget(guard);
            }
            0
        })
        .unwrap();
        crew.wait_exits(None).unwrap();
        assert!(page.holds_lock(1), "worker 1 died holding it");
        assert!(!page.holds_lock(0));
        // The robust mutex reports EOWNERDEAD; lock() makes it consistent and takes it.
        let guard = cells(0)
            .lock()
            .expect("a dead owner's lock is recovered, not stuck");
        drop(guard);
        drop(cells(0).lock().expect("and stays usable"));
    }

    #[test]
    fn lock_is_reentrant_after_unlock() {
        let page = SharedPage::new(1, 0).unwrap();
        let cells = page.worker_cells(0, 1, None, Lock::Pthread).unwrap();
        drop(cells.lock().unwrap());
        let guard = cells.lock().unwrap();
        assert!(page.holds_lock(0));
        drop(guard);
        assert!(!page.holds_lock(0));
    }
}
