//! What every worker of a group's trials does: the mode, its lock, the combination of
//! parameters, and the run's settings.

use crate::model::lock::Lock;
use crate::model::mode::Mode;
use crate::model::settings::{Params, Settings};
use crate::model::trace::Replay;
use crate::race::child::schedule::Plan;
use crate::race::page::SharedPage;

/// What every worker of a group's trials does: the mode, the combination of parameters, and
/// the run's settings (pauses, seed, tracing), borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Job<'s> {
    pub mode: Mode,
    /// The lock the mode takes (`None` for the modes that take none).
    pub lock: Option<Lock>,
    pub params: Params,
    pub settings: &'s Settings,
    /// `--replay`: the recorded trial this group runs again.
    pub replay: Option<&'s Replay>,
}

impl Job<'_> {
    /// The schedule of this job's trials, under `--schedule`.
    pub(crate) fn plan(&self) -> Option<Plan> {
        self.settings.schedule.map(|strategy| Plan {
            strategy,
            mode: self.mode,
            iters: self.params.iters,
        })
    }

    /// Under `--schedule`, sets `page` up for trial `trial`'s schedule (nothing otherwise).
    pub(crate) fn start_schedule(&self, page: &SharedPage, trial: u64) {
        if let Some(plan) = self.plan() {
            let (procs, seed) = (self.params.procs, self.settings.seed);
            page.start_schedule(&plan, procs, seed, trial, self.script());
        }
    }

    /// Under `--replay`, which worker takes each step of the recorded interleaving.
    pub(crate) fn script(&self) -> &[u32] {
        self.replay.map_or(&[], |r| &r.script)
    }

    /// Increments each worker traces, when tracing.
    pub(crate) fn traced_iters(&self) -> Option<u64> {
        self.settings.trace.then_some(self.params.iters)
    }

    /// The lock the workers' cells are made for (any, for a mode that takes none).
    pub(crate) fn lock_kind(&self) -> Lock {
        self.lock.unwrap_or(Lock::Pthread)
    }
}
