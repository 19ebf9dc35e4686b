//! How racecount exits: one small typed set of statuses, turned into a code in one place.

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
