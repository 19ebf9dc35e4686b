//! The ways the workers increment the counter, and everything the rest of racecount needs to
//! know about each one, in one place: its name, whether it takes the `--lock`, whether it can
//! lose updates, whether its lock serializes the windows, its steps under `--schedule`, and
//! how a database store runs it. Adding a mode means a variant here (each `match` below then
//! asks for its row) and its increment in `race::child::worker`.

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

/// One step of an increment, as `--schedule` hands out turns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Step {
    Read,
    Write,
    Lock,
    Unlock,
    /// One atomic fetch_add.
    Add,
}

/// How a database store runs a mode's increment (each store maps these to its statements).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InDatabase {
    /// Read, hold the window, write back read + 1: each statement on its own.
    ReadThenWrite,
    /// The same inside one transaction at the chosen isolation (Redis: each access in its own
    /// MULTI/EXEC).
    OneTransaction,
    /// The store's own lock held across read, window and write (BEGIN IMMEDIATE, SELECT … FOR
    /// UPDATE, WATCH/MULTI/EXEC).
    Locked,
    /// One statement that adds 1 (UPDATE … SET v = v + 1, INCR).
    Add,
    /// Under a lease of the store's (`--lock lease:TTL`) instead of its own locks: taken
    /// around the whole increment (mutex) or around each access (`each_access`, per-access);
    /// `fenced`: every read and write carries the lease's token, and the store refuses one
    /// older than a token it has seen (`--fencing`).
    Leased { each_access: bool, fenced: bool },
}

impl Mode {
    /// Every mode, in the order of the lesson.
    pub const ALL: [Mode; 4] = [Mode::Unlocked, Mode::PerAccess, Mode::Mutex, Mode::Atomic];

    /// The name used on the command line and in every output format.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Unlocked => "unlocked",
            Mode::PerAccess => "per-access",
            Mode::Mutex => "mutex",
            Mode::Atomic => "atomic",
        }
    }

    /// The mode named `name` (as [`Mode::name`] writes it, any case).
    pub fn named(name: &str) -> Option<Mode> {
        Mode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether the mode takes the lock chosen by `--lock`.
    pub fn takes_lock(self) -> bool {
        match self {
            Mode::PerAccess | Mode::Mutex => true,
            Mode::Unlocked | Mode::Atomic => false,
        }
    }

    /// Whether the mode can lose updates with a lock that excludes: the racy modes, whose
    /// quiet runs the diagnosis explains.
    pub fn is_racy(self) -> bool {
        match self {
            Mode::Unlocked | Mode::PerAccess => true,
            Mode::Mutex | Mode::Atomic => false,
        }
    }

    /// Whether one worker at a time holds the lock through its window, so the windows of every
    /// worker add up (rather than running side by side on the CPUs).
    pub fn serializes_windows(self) -> bool {
        match self {
            Mode::Mutex => true,
            Mode::Unlocked | Mode::PerAccess | Mode::Atomic => false,
        }
    }

    /// The steps of one increment, in order, as `--schedule` hands them out.
    pub fn steps(self) -> &'static [Step] {
        match self {
            Mode::Unlocked => &[Step::Read, Step::Write],
            Mode::PerAccess => &[
                Step::Lock,
                Step::Read,
                Step::Unlock,
                Step::Lock,
                Step::Write,
                Step::Unlock,
            ],
            Mode::Mutex => &[Step::Lock, Step::Read, Step::Write, Step::Unlock],
            Mode::Atomic => &[Step::Add],
        }
    }

    /// How a database store runs the increment under a lease of the store's
    /// (`--lock lease:TTL`; `fenced`: with `--fencing`).
    pub fn in_database_leased(self, fenced: bool) -> InDatabase {
        match self {
            Mode::Mutex => InDatabase::Leased {
                each_access: false,
                fenced,
            },
            Mode::PerAccess => InDatabase::Leased {
                each_access: true,
                fenced,
            },
            Mode::Unlocked | Mode::Atomic => self.in_database(),
        }
    }

    /// How a database store runs the increment.
    pub fn in_database(self) -> InDatabase {
        match self {
            Mode::Unlocked => InDatabase::ReadThenWrite,
            Mode::PerAccess => InDatabase::OneTransaction,
            Mode::Mutex => InDatabase::Locked,
            Mode::Atomic => InDatabase::Add,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_is_named_back() {
        for mode in Mode::ALL {
            assert_eq!(Mode::named(mode.name()), Some(mode));
            assert_eq!(Mode::named(&mode.name().to_uppercase()), Some(mode));
        }
        assert_eq!(Mode::named("all"), None);
    }
}
