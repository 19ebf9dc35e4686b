//! The four ways the workers increment the shared counter.

use std::fmt;

/// How a worker increments the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Read, hold the race window, write value+1: no synchronization at all.
    Unlocked,
    /// The lock is taken for the read and again for the write, released in between.
    PerAccess,
    /// A process-shared mutex held across read, window and write.
    Mutex,
    /// Hold the window, then one atomic fetch_add.
    Atomic,
}

impl Mode {
    /// Every mode, in the order of the lesson.
    pub const ALL: [Mode; 4] = [Mode::Unlocked, Mode::PerAccess, Mode::Mutex, Mode::Atomic];

    /// Whether the mode takes the lock chosen by `--lock`.
    pub fn takes_lock(self) -> bool {
        matches!(self, Mode::PerAccess | Mode::Mutex)
    }

    /// The name used on the command line and in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Unlocked => "unlocked",
            Mode::PerAccess => "per-access",
            Mode::Mutex => "mutex",
            Mode::Atomic => "atomic",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}
