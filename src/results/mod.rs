//! What the runs produced, as plain data for the renderers: numbers and names, no process
//! handles. Nothing here measures or prints.

use std::io;

use serde::Serialize;

use crate::model::lock::Lock;
use crate::model::mode::Mode;
use crate::model::settings::{Params, Settings};
use crate::model::trace::TraceEntry;

mod failure;

pub(crate) use failure::{
    AfterHolderDied, Cause, Completed, Failure, Signal, Stage, Stop, Unfinished, WorkerEnd,
};

/// One finished trial, as measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trial {
    /// The counter's final value.
    pub total: u64,
    /// Gate release to the last worker's exit (or, with a pool, its report of being done).
    pub elapsed_ns: u64,
    /// The whole trial as the parent saw it, forking and reaping included.
    pub wall_ns: u64,
    /// Increments each worker completed, read from its slot.
    pub completed: Vec<u64>,
    /// When each worker's racing part started and ended (monotonic ns; empty where the
    /// workers do not record it, as in a database).
    pub spans: Vec<(u64, u64)>,
    /// With `--trace`: every increment, as the workers recorded it.
    pub trace: Option<Vec<TraceEntry>>,
    /// Increments the database refused and the workers tried again (0 on the shared page).
    pub retries: u64,
    /// `--join`: each host's part, by slot (empty for a run of one host).
    pub hosts: Vec<HostTrial>,
}

/// One host's part of a joined run's trial (`--join`), or of several trials added up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HostTrial {
    /// Increments its workers completed.
    pub completed: u64,
    /// Increments the store refused its workers and they tried again.
    pub retries: u64,
    /// Its gate's release to its last worker done, by its own clock.
    pub elapsed_ns: u64,
}

impl HostTrial {
    fn add(self, other: HostTrial) -> HostTrial {
        HostTrial {
            completed: self.completed.saturating_add(other.completed),
            retries: self.retries.saturating_add(other.retries),
            elapsed_ns: self.elapsed_ns.saturating_add(other.elapsed_ns),
        }
    }
}

/// A traced trial kept in full (the renderers explain it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracedTrial {
    /// 1-based trial number within its group, as every output numbers trials.
    pub trial: u64,
    pub total: u64,
    pub entries: Vec<TraceEntry>,
}

/// What the run makes of a trial before keeping it: computed from the trial by `analysis`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// How much the workers' racing parts overlapped.
    pub overlap: Overlap,
    /// With `--trace`: the counts of the trial's explained lost updates.
    pub tally: Option<Tally>,
}

/// The overlap of one trial's workers (or of several trials taken together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Overlap {
    /// Most workers inside their racing part at one moment.
    pub peak: u32,
    /// Time during which at least one worker was inside its racing part, in ns.
    pub busy_ns: u64,
    /// Time during which at least two were.
    pub shared_ns: u64,
}

impl Overlap {
    /// The overlap of two trials taken together: the higher peak, the times added.
    pub fn combine(self, other: Overlap) -> Overlap {
        Overlap {
            peak: self.peak.max(other.peak),
            busy_ns: self.busy_ns.saturating_add(other.busy_ns),
            shared_ns: self.shared_ns.saturating_add(other.shared_ns),
        }
    }

    /// Share (0 to 1) of the racing time during which at least two workers were inside.
    pub fn share(&self) -> f64 {
        if self.busy_ns == 0 {
            0.0
        } else {
            self.shared_ns as f64 / self.busy_ns as f64
        }
    }
}

/// The counts of one traced trial's explained lost updates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub collisions: u64,
    pub collision_lost: u64,
    pub stale: u64,
    pub stale_lost: u64,
    pub restores: u64,
    pub restored: u64,
}

impl Tally {
    /// Net updates lost: collisions + stale writes − restored.
    pub fn lost(&self) -> i128 {
        i128::from(self.collision_lost) + i128::from(self.stale_lost) - i128::from(self.restored)
    }
}

/// What to keep of every trial: only what the chosen output needs, so that a million trials
/// in `totals` format stay small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// Totals and timings of every trial (for summaries).
    pub trials: bool,
    /// Each worker's completed increments in every trial (only `json` shows them).
    pub workers: bool,
}

impl Keep {
    /// What both keep.
    pub fn and(self, other: Keep) -> Keep {
        Keep {
            trials: self.trials || other.trials,
            workers: self.workers || other.workers,
        }
    }
}

/// Every trial of one mode at one combination of parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub mode: Mode,
    /// The lock the mode took (`--lock`), for the modes that take one.
    pub lock: Option<Lock>,
    pub params: Params,
    /// Trials finished (kept or not).
    pub count: u64,
    /// Trials whose total was below procs × iters.
    pub lossy: u64,
    /// Per trial, when kept.
    pub totals: Vec<u64>,
    pub elapsed_ns: Vec<u64>,
    pub wall_ns: Vec<u64>,
    /// Per trial, when kept: increments the database refused and the workers retried.
    pub retries: Vec<u64>,
    /// Retries over every trial, kept or not.
    pub retries_total: u64,
    /// Per trial, when kept: each worker's completed increments, `params.procs` per trial,
    /// flattened (one allocation, not one per trial).
    pub completed: Vec<u64>,
    /// With `--trace`: every trial's tally of explained losses, and the first trial in full.
    pub tallies: Vec<Tally>,
    pub traced: Option<TracedTrial>,
    /// Every trial's overlap of the workers taken together, and each kept trial's own.
    pub overlap: Overlap,
    pub overlaps: Vec<Overlap>,
    /// `--replay`: the recorded trial the group ran again, and how the replay compared.
    pub replayed: Option<Replayed>,
    /// `--join`: each host's part over every trial, by slot; and, per kept trial, each host's
    /// (flattened, hosts per trial).
    pub hosts_total: Vec<HostTrial>,
    pub host_trials: Vec<HostTrial>,
}

/// A recorded trial run again (`--replay`), and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    pub file: String,
    /// The trial's number in the recorded run.
    pub trial: u64,
    /// The total the recorded trial ended at.
    pub recorded_total: u64,
    /// Writes that read, wrote or replaced other than recorded (0: the same interleaving).
    pub differing: u64,
}

impl Group {
    pub fn new(mode: Mode, params: Params) -> Group {
        Group {
            mode,
            lock: None,
            params,
            count: 0,
            lossy: 0,
            totals: Vec::new(),
            elapsed_ns: Vec::new(),
            wall_ns: Vec::new(),
            retries: Vec::new(),
            retries_total: 0,
            completed: Vec::new(),
            tallies: Vec::new(),
            traced: None,
            overlap: Overlap::default(),
            overlaps: Vec::new(),
            replayed: None,
            hosts_total: Vec::new(),
            host_trials: Vec::new(),
        }
    }

    /// The group with its lock set.
    pub fn with_lock(self, lock: Option<Lock>) -> Group {
        Group { lock, ..self }
    }

    /// `mutex/spin` for a mode that took a lock when several kinds of lock run, else the
    /// mode's name (the one lock is in the header).
    pub fn name(&self, settings: &Settings) -> String {
        match self.lock {
            Some(lock) if settings.sweeps_locks() => format!("{}/{lock}", self.mode),
            _ => self.mode.name().to_string(),
        }
    }

    pub fn expected(&self) -> u64 {
        self.params.expected()
    }

    /// Adds a finished trial, with what the run made of it.
    pub fn add(&mut self, trial: &Trial, seen: Seen, keep: Keep) {
        if let Some(tally) = seen.tally {
            self.tallies.push(tally);
        }
        if let Some(entries) = &trial.trace
            && self.traced.is_none()
        {
            self.traced = Some(TracedTrial {
                trial: self.count + 1,
                total: trial.total,
                entries: entries.clone(),
            });
        }
        self.count += 1;
        self.overlap = self.overlap.combine(seen.overlap);
        self.retries_total += trial.retries;
        if trial.total != self.expected() {
            self.lossy += 1;
        }
        if keep.trials {
            self.totals.push(trial.total);
            self.elapsed_ns.push(trial.elapsed_ns);
            self.wall_ns.push(trial.wall_ns);
            self.overlaps.push(seen.overlap);
            self.retries.push(trial.retries);
        }
        if keep.workers {
            self.completed.extend_from_slice(&trial.completed);
        }
        if self.hosts_total.len() < trial.hosts.len() {
            self.hosts_total
                .resize(trial.hosts.len(), HostTrial::default());
        }
        for (total, part) in self.hosts_total.iter_mut().zip(&trial.hosts) {
            *total = total.add(*part);
        }
        if keep.trials {
            self.host_trials.extend_from_slice(&trial.hosts);
        }
    }

    /// Each host's part of kept trial `index`, for a joined run.
    pub fn hosts_of(&self, index: usize) -> &[HostTrial] {
        let n = self.hosts_total.len();
        self.host_trials
            .get(index * n..(index + 1) * n)
            .unwrap_or_default()
    }

    /// Each worker's completed increments in kept trial `index`, when workers were kept.
    pub fn worker_counts(&self, index: usize) -> Option<&[u64]> {
        let procs = self.params.procs as usize;
        self.completed.get(index * procs..(index + 1) * procs)
    }
}

/// Sees each trial as it finishes (live output, progress).
///
/// Must flush what it writes before returning: the next trial forks, and each child gets a
/// copy of any unflushed buffer; were a copy ever flushed (by an exit handler, say), the same
/// lines would appear twice.
pub trait Observer {
    /// Before the first trial (a header, say): what a person or a script sees at once.
    fn start(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// `trial` has just finished as the last of `group`; `seen` is what the run made of it.
    fn trial(&mut self, group: &Group, trial: &Trial, seen: &Seen) -> io::Result<()>;
}

/// An observer that does nothing (a format with no live output).
pub(crate) struct NoLiveOutput;

impl Observer for NoLiveOutput {
    fn trial(&mut self, _: &Group, _: &Trial, _: &Seen) -> io::Result<()> {
        Ok(())
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub settings: Settings,
    pub groups: Vec<Group>,
    pub stop: Option<Stop>,
    /// What the run made outside racecount and may have left there (a database's table),
    /// when it stopped on a signal before it could say it was removed.
    pub leftover: Option<String>,
}

impl Report {
    /// Whether every finished trial was exact.
    pub fn all_exact(&self) -> bool {
        self.groups.iter().all(|g| g.lossy == 0)
    }
}
