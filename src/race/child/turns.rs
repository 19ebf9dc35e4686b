//! `--schedule` in the workers: waiting for this worker's turn (a futex word in its slot), and
//! handing it over, after a step, to the worker the plan picks next.

use std::sync::atomic::Ordering;

use super::cells::WorkerCells;
use super::futex;
use super::schedule::Plan;
use crate::race::page::Slot;
use crate::race::page::schedule::PageBoard;

impl WorkerCells<'_> {
    /// Waits, blocking, until it is this worker's turn to step.
    pub(crate) fn wait_turn(&self) {
        let turn = &self.slot.turn;
        while turn.load(Ordering::Acquire) == 0 {
            futex::wait(turn, 0);
        }
    }

    /// This worker, `index` of `procs`, has taken its step: the plan picks who steps next,
    /// and the turn goes there (it stays here when the plan picks this worker again).
    /// Returns the number of the step just taken, counted from 1 in the trial.
    pub(crate) fn pass_turn(&self, plan: &Plan, procs: u32, index: u32) -> u64 {
        let lines = &self.page.header().schedule.0;
        let mut state = lines.load();
        let mut board = PageBoard {
            page: self.page,
            procs,
        };
        let next = plan.after_step(&mut state, &mut board, index);
        lines.store(&state);
        if next != Some(index) {
            self.slot.turn.store(0, Ordering::Relaxed);
            if let Some(slot) = next.and_then(|w| board.slot(w)) {
                give_turn(slot);
            }
        }
        state.steps
    }
}

/// Gives the turn to the worker of `slot` and wakes it.
pub(crate) fn give_turn(slot: &Slot) {
    slot.turn.store(1, Ordering::Release);
    futex::wake(&slot.turn, 1);
}
