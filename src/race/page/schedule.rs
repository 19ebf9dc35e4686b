//! `--schedule` in the shared page: the scheduler's state, each worker's fields, and the first
//! turn, given by the parent. The hand-over from the worker that just stepped to the one that
//! steps next runs in the workers (`race::child::turns`).
//!
//! Only the worker holding the turn (or the parent, before the gate opens) reads or writes the
//! scheduler's state. Handing the turn over is a release store, taking it an acquire load, so
//! the state moves with the turn and relaxed accesses to it suffice.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::{SharedPage, Slot};
use crate::model::schedule::MAX_DEPTH;
use crate::race::child::schedule::{self, Board, Plan};
use crate::race::child::turns::give_turn;

/// The scheduler's state ([`schedule::State`]) as atomics, in the page's header.
#[repr(C)]
pub(crate) struct ScheduleLines {
    rng: AtomicU64,
    steps: AtomicU64,
    holder: AtomicU32,
    cpus: [AtomicU32; 2],
    cur: AtomicU32,
    phase: AtomicU32,
    change_at: [AtomicU64; MAX_DEPTH as usize],
}

impl ScheduleLines {
    pub(crate) fn load(&self) -> schedule::State {
        let mut change_at = [0; MAX_DEPTH as usize];
        for (to, from) in change_at.iter_mut().zip(&self.change_at) {
            *to = from.load(Ordering::Relaxed);
        }
        let [cpu0, cpu1] = &self.cpus;
        schedule::State {
            rng: self.rng.load(Ordering::Relaxed),
            steps: self.steps.load(Ordering::Relaxed),
            holder: self.holder.load(Ordering::Relaxed),
            cpus: [cpu0.load(Ordering::Relaxed), cpu1.load(Ordering::Relaxed)],
            cur: self.cur.load(Ordering::Relaxed),
            phase: self.phase.load(Ordering::Relaxed),
            change_at,
        }
    }

    pub(crate) fn store(&self, state: &schedule::State) {
        self.rng.store(state.rng, Ordering::Relaxed);
        self.steps.store(state.steps, Ordering::Relaxed);
        self.holder.store(state.holder, Ordering::Relaxed);
        for (to, &from) in self.cpus.iter().zip(&state.cpus) {
            to.store(from, Ordering::Relaxed);
        }
        self.cur.store(state.cur, Ordering::Relaxed);
        self.phase.store(state.phase, Ordering::Relaxed);
        for (to, &from) in self.change_at.iter().zip(&state.change_at) {
            to.store(from, Ordering::Relaxed);
        }
    }
}

/// The scheduler's per-worker fields, kept in the workers' slots.
pub(crate) struct PageBoard<'p> {
    pub(crate) page: &'p SharedPage,
    pub(crate) procs: u32,
}

impl PageBoard<'_> {
    pub(crate) fn slot(&self, w: u32) -> Option<&Slot> {
        if w >= self.procs {
            return None;
        }
        self.page.slot(usize::try_from(w).ok()?)
    }
}

impl Board for PageBoard<'_> {
    fn procs(&self) -> u32 {
        self.procs
    }
    fn done(&self, w: u32) -> u64 {
        self.slot(w)
            .map_or(0, |s| s.steps_done.load(Ordering::Relaxed))
    }
    fn set_done(&mut self, w: u32, done: u64) {
        if let Some(s) = self.slot(w) {
            s.steps_done.store(done, Ordering::Relaxed);
        }
    }
    fn pos(&self, w: u32) -> u32 {
        self.slot(w).map_or(0, |s| s.pos.load(Ordering::Relaxed))
    }
    fn set_pos(&mut self, w: u32, pos: u32) {
        if let Some(s) = self.slot(w) {
            s.pos.store(pos, Ordering::Relaxed);
        }
    }
    fn mark(&self, w: u32) -> u64 {
        self.slot(w).map_or(0, |s| s.mark.load(Ordering::Relaxed))
    }
    fn set_mark(&mut self, w: u32, mark: u64) {
        if let Some(s) = self.slot(w) {
            s.mark.store(mark, Ordering::Relaxed);
        }
    }
    fn script(&self, step: u64) -> Option<u32> {
        let step = usize::try_from(step).ok()?;
        let steps = self.page.script();
        steps.get(step).map(|w| w.load(Ordering::Relaxed))
    }
}

impl SharedPage {
    /// Sets up a scheduled trial of `procs` workers and gives the first turn: by the parent,
    /// after [`reset`](Self::reset) and before the gate opens.
    pub(crate) fn start_schedule(
        &self,
        plan: &Plan,
        procs: u32,
        seed: u64,
        trial: u64,
        script: &[u32],
    ) {
        for (to, &w) in self.script().iter().zip(script) {
            to.store(w, Ordering::Relaxed);
        }
        let mut state = schedule::State::new(seed, trial);
        let mut board = PageBoard { page: self, procs };
        for w in 0..procs {
            if let Some(slot) = board.slot(w) {
                slot.turn.store(0, Ordering::Relaxed);
            }
        }
        let first = plan.start(&mut state, &mut board);
        self.header().schedule.0.store(&state);
        if let Some(slot) = first.and_then(|w| board.slot(w)) {
            give_turn(slot);
        }
    }
}
