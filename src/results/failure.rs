//! Why a run or a trial stopped before its end, as plain data, and how each reason reads.

use std::fmt;
use std::io;

use crate::model::lock::Lock;
use crate::model::mode::Mode;
use crate::model::settings::{Params, Workers};
use crate::model::units::format_nanos;

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
pub enum WorkerEnd {
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

impl fmt::Display for WorkerEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerEnd::Killed(signal) => write!(f, "was killed by {signal}"),
            WorkerEnd::LockFailed => f.write_str("could not take the shared lock"),
            WorkerEnd::Orphaned => f.write_str("found its parent gone and left"),
            WorkerEnd::PinFailed => f.write_str("could not move to its --pin CPU"),
            WorkerEnd::Exited(code) => write!(f, "exited with status {code}"),
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
pub enum AfterHolderDied {
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
        ending: WorkerEnd,
        completed: Completed,
        held_lock: bool,
        /// When it held the lock: what the other workers did next (`None`: they were stopped
        /// at once).
        others: Option<AfterHolderDied>,
    },
    /// --timeout passed with these workers unfinished. With threads their ids are thread
    /// ids, and they were left running (a thread cannot be killed): the run ends.
    TimedOut {
        timeout_ns: u64,
        pending: Vec<Unfinished>,
        workers: Workers,
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
    /// The trace's writes fit no order (a corrupted trace): why.
    Unordered(String),
    /// A store worker stopped with this message (its connection failed or was lost, or the
    /// database answered with an error that is not a refusal).
    Store {
        index: u32,
        pid: u32,
        message: String,
    },
    /// A system call in the parent failed.
    Sys(String),
    /// `--join`: another host of the run failed, or stopped answering; names it.
    Host(String),
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
            write_after(*others, f)
        }
        Cause::TimedOut {
            timeout_ns,
            pending,
            workers,
        } => {
            let (id, fate) = match workers {
                Workers::Threads => (
                    "tid",
                    "a thread cannot be killed, so the run ends here and they end with it",
                ),
                Workers::Processes => ("pid", "all were killed"),
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
        Cause::Sys(what) | Cause::Host(what) => f.write_str(what),
    }
}

/// What the other workers did after one died, with what it means for the trial.
fn write_after(others: Option<AfterHolderDied>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match others {
        None => f.write_str("; the trial is not counted, the other workers were stopped"),
        Some(AfterHolderDied::Finished { total }) => write!(
            f,
            "; the lock was recovered and the other workers finished, total {total}; \
         the trial is not counted"
        ),
        Some(AfterHolderDied::Waited { ns, kept: true }) => write!(
            f,
            "; the other workers were still waiting for the lock {} later and were \
         stopped (only --lock robust recovers a dead holder's lock); the trial is \
         not counted",
            format_nanos(ns)
        ),
        Some(AfterHolderDied::Waited { ns, kept: false }) => write!(
            f,
            "; the lock was recovered, but the other workers had not finished {} later \
         and were stopped; the trial is not counted",
            format_nanos(ns)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::window::Window;

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
            ending: WorkerEnd::Killed(Signal {
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
