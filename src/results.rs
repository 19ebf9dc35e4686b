//! What the runs produced, as plain data for the renderers: numbers and names, no process
//! handles. Nothing here measures or prints.

use std::fmt;
use std::io;

use serde::Serialize;

use crate::analysis::explain::{Tally, TrialTrace};
use crate::analysis::overlap::Overlap;
use crate::command::config::{Params, Settings};
use crate::command::duration::format_nanos;
use crate::race::lock::Lock;
use crate::race::mode::Mode;

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
    /// How much the workers' racing parts overlapped in time.
    pub overlap: Overlap,
    /// With `--trace`: every increment and what it explains.
    pub trace: Option<TrialTrace>,
    /// Increments the database refused and the workers tried again (0 on the shared page).
    pub retries: u64,
}

/// A traced trial kept in full: its trace and what the trace explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TracedTrial {
    /// 1-based trial number within its group, as every output numbers trials.
    pub trial: u64,
    pub total: u64,
    #[serde(flatten)]
    pub trace: TrialTrace,
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

    /// Adds a finished trial.
    pub fn add(&mut self, trial: &Trial, keep: Keep) {
        if let Some(trace) = &trial.trace {
            self.tallies.push(trace.explanation.tally());
            if self.traced.is_none() {
                self.traced = Some(TracedTrial {
                    trial: self.count + 1,
                    total: trial.total,
                    trace: trace.clone(),
                });
            }
        }
        self.count += 1;
        self.overlap = self.overlap.combine(trial.overlap);
        self.retries_total += trial.retries;
        if trial.total != self.expected() {
            self.lossy += 1;
        }
        if keep.trials {
            self.totals.push(trial.total);
            self.elapsed_ns.push(trial.elapsed_ns);
            self.wall_ns.push(trial.wall_ns);
            self.overlaps.push(trial.overlap);
            self.retries.push(trial.retries);
        }
        if keep.workers {
            self.completed.extend_from_slice(&trial.completed);
        }
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

    fn trial(&mut self, group: &Group, trial: &Trial) -> io::Result<()>;
}

/// An observer that does nothing.
pub(crate) struct Quiet;

impl Observer for Quiet {
    fn trial(&mut self, _: &Group, _: &Trial) -> io::Result<()> {
        Ok(())
    }
}

/// A signal, by number and name (`SIGINT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    pub number: i32,
    pub name: &'static str,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name)
    }
}

/// Why a run stopped before the end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT, SIGTERM or SIGHUP: exit 128 + signal.
    Interrupted(Signal),
    /// The run could not be set up (file limit, shared page): no trial ran. Exit 3.
    SetupFailed(String),
    /// Something failed in a trial or in the pool around it: exit 3.
    Failed(Failure),
}

/// A failure in a trial or in the pool that runs a group's trials, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub mode: Mode,
    pub lock: Option<Lock>,
    pub params: Params,
    pub stage: Stage,
    pub cause: Cause,
}

/// Where in a group a failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Forking the pool's workers, before the first trial (`--pool`).
    PoolStart,
    /// 0-based trial number within the group.
    Trial(u64),
    /// Stopping the pool's workers after the last trial (`--pool`).
    PoolFinish,
}

/// How a worker ended, when it ended other than by finishing its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The shared lock was unusable.
    LockFailed,
    /// Its parent was gone before it started.
    Orphaned,
    /// It could not move to its `--pin` CPU.
    PinFailed,
    /// Any other exit status.
    Exited(i32),
    Killed(Signal),
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::Killed(signal) => write!(f, "was killed by {signal}"),
            Ending::LockFailed => f.write_str("could not take the shared lock"),
            Ending::Orphaned => f.write_str("found its parent gone and left"),
            Ending::PinFailed => f.write_str("could not move to its --pin CPU"),
            Ending::Exited(code) => write!(f, "exited with status {code}"),
        }
    }
}

/// A worker's completed increments as read from its slot mid-trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completed {
    pub count: u64,
    /// Whether the slot lags behind the worker: true when the worker records its progress only
    /// every so many increments and had not finished.
    pub at_least: bool,
}

impl fmt::Display for Completed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at_least {
            write!(f, "at least {}", self.count)
        } else {
            write!(f, "{}", self.count)
        }
    }
}

/// A worker still running when --timeout passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unfinished {
    pub index: u32,
    pub pid: u32,
    pub completed: Completed,
}

/// What the other workers did after one died holding the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Others {
    /// They took the lock after it and finished (a robust mutex, recovered; or a flock,
    /// which the kernel releases): the counter ended at `total`.
    Finished { total: u64 },
    /// They had not finished this long after the death, and were killed. `kept` when the
    /// lock kind keeps a dead holder's lock locked (all but robust and flock): they were
    /// waiting for it.
    Waited { ns: u64, kept: bool },
}

/// What went wrong in a failed trial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A worker ended abnormally; `held_lock` when it died holding the shared lock.
    WorkerDied {
        index: u32,
        pid: u32,
        ending: Ending,
        completed: Completed,
        held_lock: bool,
        /// When it held the lock: what the other workers did next (`None`: they were stopped
        /// at once).
        others: Option<Others>,
    },
    /// --timeout passed with these workers unfinished. With `threads` their ids are thread
    /// ids, and they were left running (a thread cannot be killed): the run ends.
    TimedOut {
        timeout_ns: u64,
        pending: Vec<Unfinished>,
        threads: bool,
    },
    /// Worker `index` could not be started: `what` (fork, pidfd_open) failed with `errno`.
    Spawn {
        index: u32,
        what: &'static str,
        errno: i32,
    },
    /// The workers' slots do not add up to procs × iters (a worker stopped short).
    Incomplete { completed: u64, expected: u64 },
    /// The counter ended above procs × iters, which no interleaving can produce.
    Impossible { total: u64, expected: u64 },
    /// The trace's chain of writes does not end at the counter's final value, so its
    /// explained losses differ from procs × iters − total (a corrupted trace).
    Unexplained { explained: i128, lost: u64 },
    /// The trace's writes fit no order (a corrupted trace).
    Unordered(crate::analysis::explain::Unordered),
    /// A store worker stopped with this message (its connection failed or was lost, or the
    /// database answered with an error that is not a refusal).
    Store {
        index: u32,
        pid: u32,
        message: String,
    },
    /// A system call in the parent failed.
    Sys(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.params;
        let plural =
            |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let params = format!(
            "{} x {}, window {}",
            plural(p.procs.into(), "proc", "procs"),
            plural(p.iters, "iter", "iters"),
            p.window
        );
        let name = match self.lock {
            Some(lock) => format!("{}/{lock}", self.mode),
            None => self.mode.name().to_string(),
        };
        match self.stage {
            Stage::Trial(n) => write!(f, "{name} trial {} ({params}): ", n + 1)?,
            Stage::PoolStart => write!(f, "{name} ({params}), starting the worker pool: ")?,
            Stage::PoolFinish => write!(
                f,
                "{name} ({params}), stopping the worker pool after the last trial: "
            )?,
        }
        write_cause(&self.cause, p.iters, f)
    }
}

fn write_cause(cause: &Cause, iters: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match cause {
        Cause::WorkerDied {
            index,
            pid,
            ending,
            completed,
            held_lock,
            others,
        } => {
            write!(
                f,
                "worker {index} (pid {pid}) {ending} after {completed} of {iters} increments"
            )?;
            if *held_lock {
                f.write_str(" while holding the lock")?;
            }
            write_others(*others, f)
        }
        Cause::TimedOut {
            timeout_ns,
            pending,
            threads,
        } => {
            let (id, fate) = if *threads {
                (
                    "tid",
                    "a thread cannot be killed, so the run ends here and they end with it",
                )
            } else {
                ("pid", "all were killed")
            };
            write!(
                f,
                "not finished after --timeout {}; unfinished workers: ",
                format_nanos(*timeout_ns)
            )?;
            let list: Vec<String> = pending
                .iter()
                .map(|u| format!("{} ({id} {}, {}/{iters})", u.index, u.pid, u.completed))
                .collect();
            write!(f, "{}; {fate}", list.join(", "))
        }
        Cause::Spawn { index, what, errno } => write!(
            f,
            "could not start worker {index}: {what}: {}; the workers already started were \
             stopped",
            io::Error::from_raw_os_error(*errno)
        ),
        Cause::Incomplete {
            completed,
            expected,
        } => write!(
            f,
            "the workers report {completed} increments done, not {expected}"
        ),
        Cause::Impossible { total, expected } => write!(
            f,
            "the counter reads {total}, more than the {expected} increments made"
        ),
        Cause::Unexplained { explained, lost } => write!(
            f,
            "the trace explains {explained} lost updates, not the {lost} lost: its last \
             write is not the counter's final value (a corrupted trace)"
        ),
        Cause::Unordered(why) => write!(f, "{why} (a corrupted trace)"),
        Cause::Store {
            index,
            pid,
            message,
        } => write!(
            f,
            "worker {index} (pid {pid}) {message}; the trial is not counted, the other workers \
             were stopped"
        ),
        Cause::Sys(what) => f.write_str(what),
    }
}

/// What the other workers did after one died, with what it means for the trial.
fn write_others(others: Option<Others>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match others {
        None => f.write_str("; the trial is not counted, the other workers were stopped"),
        Some(Others::Finished { total }) => write!(
            f,
            "; the lock was recovered and the other workers finished, total {total}; \
         the trial is not counted"
        ),
        Some(Others::Waited { ns, kept: true }) => write!(
            f,
            "; the other workers were still waiting for the lock {} later and were \
         stopped (only --lock robust recovers a dead holder's lock); the trial is \
         not counted",
            format_nanos(ns)
        ),
        Some(Others::Waited { ns, kept: false }) => write!(
            f,
            "; the lock was recovered, but the other workers had not finished {} later \
         and were stopped; the trial is not counted",
            format_nanos(ns)
        ),
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub settings: Settings,
    pub groups: Vec<Group>,
    pub stop: Option<Stop>,
}

impl Report {
    /// Whether every finished trial was exact.
    pub fn all_exact(&self) -> bool {
        self.groups.iter().all(|g| g.lossy == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::race::window::Window;

    fn failure(stage: Stage, cause: Cause) -> String {
        Failure {
            mode: Mode::Unlocked,
            lock: None,
            params: Params {
                procs: 2,
                iters: 5000,
                window: Window::Busy(0),
            },
            stage,
            cause,
        }
        .to_string()
    }

    #[test]
    fn a_lagging_slot_reads_as_a_lower_bound() {
        let died = |at_least| Cause::WorkerDied {
            index: 1,
            pid: 77,
            ending: Ending::Killed(Signal {
                number: 9,
                name: "SIGKILL",
            }),
            completed: Completed {
                count: 1024,
                at_least,
            },
            held_lock: false,
            others: None,
        };
        assert!(
            failure(Stage::Trial(0), died(true))
                .contains("worker 1 (pid 77) was killed by SIGKILL after at least 1024 of 5000")
        );
        assert!(failure(Stage::Trial(0), died(false)).contains("after 1024 of 5000"));
    }

    #[test]
    fn a_pool_failure_names_the_pool_not_a_trial() {
        let cause = || Cause::Sys("boom".into());
        assert_eq!(
            failure(Stage::Trial(2), cause()),
            "unlocked trial 3 (2 procs x 5000 iters, window 0): boom"
        );
        assert_eq!(
            failure(Stage::PoolFinish, cause()),
            "unlocked (2 procs x 5000 iters, window 0), stopping the worker pool after the last \
             trial: boom"
        );
        assert!(!failure(Stage::PoolStart, cause()).contains("trial"));
    }
}
