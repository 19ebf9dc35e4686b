//! `--lock`: the kinds of lock the `mutex` and `per-access` modes can take. Their state lives
//! in the shared page (`race/page/locks.rs`); this is what each kind is and promises.

use std::fmt;

use clap::ValueEnum;

use super::settings::Workers;

/// A way of taking the lock around the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum Lock {
    /// Process-shared pthread mutex, not robust: what C programmers write
    Pthread,
    /// Process-shared robust pthread mutex: a dead holder hands the next locker EOWNERDEAD
    Robust,
    /// Unnamed POSIX semaphore in the shared page (sem_init pshared=1): Python's
    /// multiprocessing.Lock
    Sem,
    /// Test-and-test-and-set spin lock with a pause instruction, yielding after a few spins
    Spin,
    /// Fair ticket lock: first come, first served
    Ticket,
    /// fcntl record lock on an unnamed temporary file (what Python scripts often use)
    Flock,
    /// Peterson's algorithm, sequentially consistent (exactly 2 procs)
    Peterson,
    /// Lamport's bakery, sequentially consistent (any procs)
    Bakery,
    /// Peterson with release/acquire only: store buffering lets both enter (2 procs)
    PetersonNofence,
    /// Lamport's bakery with release/acquire only: store buffering lets two enter
    BakeryNofence,
    /// A pthread mutex in ordinary memory made before fork: each worker locks its own copy
    Private,
}

/// What a lock kind is and promises: one row per kind, in [`Lock::facts`].
struct Facts {
    name: &'static str,
    /// Whether it excludes the other workers on every machine, when they are processes and
    /// when they are threads.
    excludes: [bool; 2],
    /// Whether it lets two in only through a CPU reordering a store and a later load.
    needs_reordering: bool,
    /// The one worker count it supports, if only one.
    only_procs: Option<u32>,
    /// Why it loses updates, when it does, with processes and with threads.
    why_broken: [Option<&'static str>; 2],
}

const PRIVATE_FORKED: &str = "private: the mutex was made in ordinary memory before fork, so each \
     worker locks its own copy and nothing is excluded";
const PRIVATE_THREADS: &str = "private: with --threads the workers share the process's memory, so \
     its one mutex does exclude (forked workers would each lock a copy)";
const NOFENCE: &str = "*-nofence: without a full fence a worker's load of the others' flags can \
     pass its own earlier store (x86 store buffering), so two workers can enter at once";

impl Lock {
    const fn facts(self) -> Facts {
        const fn sound(name: &'static str) -> Facts {
            Facts {
                name,
                excludes: [true, true],
                needs_reordering: false,
                only_procs: None,
                why_broken: [None, None],
            }
        }
        const fn fenceless(name: &'static str, only_procs: Option<u32>) -> Facts {
            Facts {
                name,
                excludes: [false, false],
                needs_reordering: true,
                only_procs,
                why_broken: [Some(NOFENCE), Some(NOFENCE)],
            }
        }
        match self {
            Lock::Pthread => sound("pthread"),
            Lock::Robust => sound("robust"),
            Lock::Sem => sound("sem"),
            Lock::Spin => sound("spin"),
            Lock::Ticket => sound("ticket"),
            Lock::Flock => sound("flock"),
            Lock::Peterson => Facts {
                only_procs: Some(2),
                ..sound("peterson")
            },
            Lock::Bakery => sound("bakery"),
            Lock::PetersonNofence => fenceless("peterson-nofence", Some(2)),
            Lock::BakeryNofence => fenceless("bakery-nofence", None),
            // Threads share the process's memory: there is one mutex, and it excludes.
            Lock::Private => Facts {
                excludes: [false, true],
                why_broken: [Some(PRIVATE_FORKED), Some(PRIVATE_THREADS)],
                ..sound("private")
            },
        }
    }

    /// The name used on the command line and in every output format.
    pub fn name(self) -> &'static str {
        self.facts().name
    }

    /// Whether the kind excludes the other workers on every machine: false for the ones
    /// that let two in at once (the fenceless algorithms on a store-buffering CPU, and a
    /// private mutex copied into each forked process).
    pub fn is_correct(self, workers: Workers) -> bool {
        self.facts().excludes[workers as usize]
    }

    /// Whether the kind lets two in only through a CPU reordering a store and a later load
    /// (store buffering): a run that hands turns over through full barriers (futex calls,
    /// as `--schedule` does) cannot show it.
    pub fn needs_reordering(self) -> bool {
        self.facts().needs_reordering
    }

    /// Exactly how many workers the kind supports, when it supports only one count.
    pub fn only_procs(self) -> Option<u32> {
        self.facts().only_procs
    }

    /// One line on why a kind that protects nothing, or not always, loses updates.
    pub fn why_broken(self, workers: Workers) -> Option<&'static str> {
        self.facts().why_broken[workers as usize]
    }
}

impl fmt::Display for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_command_lines() {
        for &lock in Lock::value_variants() {
            let value = lock.to_possible_value().unwrap();
            assert_eq!(value.get_name(), lock.name());
            assert_eq!(Lock::from_str(lock.name(), false), Ok(lock));
        }
    }
}
