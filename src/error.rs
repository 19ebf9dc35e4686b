//! Exit statuses and the one-line messages for failed runs.

use std::fmt;

use crate::config::Params;
use crate::duration::{Window, format_nanos};
use crate::fork::SpawnError;
use crate::results::{Cause, Failure};

/// How racecount exits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything ran (and with --check, every trial was exact).
    Success,
    /// --check found a trial whose total differs from procs × iters.
    CheckFailed,
    /// Bad command-line input; nothing was forked.
    BadInput,
    /// A worker died, timed out or could not start, or output could not be written.
    RunFailed,
    /// Stopped by this signal number (exit 128 + n).
    Signal(i32),
}

impl Status {
    pub fn code(self) -> u8 {
        match self {
            Status::Success => 0,
            Status::CheckFailed => 1,
            Status::BadInput => 2,
            Status::RunFailed => 3,
            Status::Signal(n) => u8::try_from(128 + n).unwrap_or(255),
        }
    }
}

/// A worker's completed increments as read from its slot mid-trial: exact, except with no
/// window, where the slot is written every [`PROGRESS_EVERY_WITHOUT_WINDOW`](crate::worker::PROGRESS_EVERY_WITHOUT_WINDOW)
/// increments.
fn progress(completed: u64, params: &Params) -> String {
    if params.window == Window::Busy(0) && completed < params.iters {
        format!("at least {completed}")
    } else {
        completed.to_string()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Cause::Setup(what) = &self.cause {
            return f.write_str(what);
        }
        write!(f, "{} trial {}", self.mode, self.trial + 1)?;
        let p = &self.params;
        write!(
            f,
            " ({} procs x {} iters, window {}): ",
            p.procs, p.iters, p.window
        )?;
        match &self.cause {
            Cause::WorkerDied {
                index,
                pid,
                ending,
                completed,
                held_lock,
            } => {
                write!(
                    f,
                    "worker {index} (pid {pid}) {ending} after {} of {} increments",
                    progress(*completed, p),
                    p.iters
                )?;
                if *held_lock {
                    f.write_str(" while holding the lock")?;
                }
                f.write_str("; the trial is not counted, the other workers were stopped")
            }
            Cause::TimedOut {
                timeout_ns,
                pending,
            } => {
                write!(
                    f,
                    "not finished after --timeout {}; unfinished workers: ",
                    format_nanos(*timeout_ns)
                )?;
                let list: Vec<String> = pending
                    .iter()
                    .map(|(i, pid, done)| {
                        format!("{i} (pid {pid}, {}/{})", progress(*done, p), p.iters)
                    })
                    .collect();
                write!(f, "{}; all were killed", list.join(", "))
            }
            Cause::Spawn(SpawnError { index, what, errno }) => write!(
                f,
                "could not start worker {index}: {what}: {}; the workers already started were \
                 stopped",
                std::io::Error::from(*errno)
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
                "the trace explains {explained} lost updates, not the {lost} lost (a bug in \
                 racecount)"
            ),
            Cause::Store {
                index,
                pid,
                message,
            } => write!(
                f,
                "worker {index} (pid {pid}) {message}; the trial is not counted, the other \
                 workers were stopped"
            ),
            Cause::Sys(what) | Cause::Setup(what) => f.write_str(what),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(window: Window) -> Params {
        Params {
            procs: 2,
            iters: 5000,
            window,
        }
    }

    #[test]
    fn progress_read_mid_trial_is_a_lower_bound_only_without_a_window() {
        assert_eq!(progress(1024, &params(Window::Busy(0))), "at least 1024");
        assert_eq!(progress(5000, &params(Window::Busy(0))), "5000");
        assert_eq!(progress(17, &params(Window::Busy(1_000))), "17");
        assert_eq!(progress(17, &params(Window::Yield)), "17");
    }
}
