//! What one worker touches of the shared page, found and checked in the parent before fork
//! ([`SharedPage::worker_cells`]), so that the worker itself indexes nothing.

use std::sync::atomic::{AtomicU64, Ordering};

use super::locks::Cells;
use crate::model::lock::Lock;
use crate::race::page::{Header, SharedPage, Slot, TraceCell};

/// The parts of the page one worker touches: the counter, the lock, its own slot and its own
/// trace row (exactly as long as its increments when tracing, else empty), and the lock's kind. Made by
/// [`SharedPage::worker_cells`] in the parent before fork.
#[derive(Clone, Copy)]
pub(crate) struct WorkerCells<'p> {
    pub(crate) page: &'p SharedPage,
    /// The page's header, found once: the loop keeps it in a register instead of reading the
    /// mapping's address out of `page` at every increment (the compiler fence of `unlocked`
    /// and every C library call force that reload).
    pub(crate) header: &'p Header,
    pub(crate) slot: &'p Slot,
    pub(crate) trace: &'p [TraceCell],
    pub(crate) lock: Cells<'p>,
    /// The lock kind, apart from its cells so that each kind's loop can fix it to a constant
    /// ([`WorkerCells::fixed`]).
    pub(crate) kind: Lock,
}

impl<'p> WorkerCells<'p> {
    /// The shared counter.
    #[inline(always)]
    pub(crate) fn counter(&self) -> &'p AtomicU64 {
        &self.header.counter.0
    }

    /// Increments this worker completed in the current trial.
    #[inline(always)]
    pub(crate) fn completed(&self) -> &'p AtomicU64 {
        &self.slot.completed
    }

    /// Records the monotonic time `ns` at which this worker's racing part started.
    #[inline(always)]
    pub(crate) fn mark_start(&self, ns: u64) {
        self.slot.started_ns.store(ns, Ordering::Relaxed);
    }

    /// Records when it ended.
    #[inline(always)]
    pub(crate) fn mark_end(&self, ns: u64) {
        self.slot.ended_ns.store(ns, Ordering::Release);
    }

    /// This worker's trace row: one cell per increment when tracing, else empty.
    pub(crate) fn trace_row(&self) -> &'p [TraceCell] {
        self.trace
    }
}
