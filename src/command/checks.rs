//! The checks that refuse options which cannot run as asked, before anything is forked: each
//! returns the [`ConfigError`] that names the option.

use std::path::Path;
use std::time::Duration;

use super::error::{ConfigError, StoreConflict};
use crate::model::lock::Lock;
use crate::model::mode::Mode;
use crate::model::schedule::Strategy;
use crate::model::settings::{DEFAULT_WINDOW, Workers};
use crate::model::store::Isolation;
use crate::model::window::Window;
use crate::probe::ProcessRoom;
use crate::race::page::{LINE, TRACE_CELL, VALUE_MASK, trace_row_bytes};
use crate::store::Target;

/// Most shared memory `--trace` may take for its rows: 256 MiB.
pub(crate) const TRACE_CAP_BYTES: u64 = 256 << 20;

// Under the cap a traced trial has fewer increments than 2^32, so every value and every
// write's tag fits the 32 bits the tagged counter word gives it (`race::page::tagged`).
const _: () = assert!(TRACE_CAP_BYTES / TRACE_CELL as u64 <= VALUE_MASK);

/// Refuses a file that could not be written after the run: a directory, a missing or
/// read-only directory, a read-only file. Creates nothing.
pub(super) fn check_writable(option: &'static str, path: &Path) -> Result<(), ConfigError> {
    use nix::unistd::{AccessFlags, access};
    let fail = |why: String| {
        Err(ConfigError::NotWritable {
            option,
            path: path.to_path_buf(),
            why,
        })
    };
    if path.as_os_str() == "-" {
        return fail(
            "'-' is not standard output here (that is --format's); give a file name".into(),
        );
    }
    if path.is_dir() {
        return fail("is a directory".into());
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return fail(format!("no directory {}", dir.display()));
    }
    // An existing file is opened for writing, not truncated: that also catches what
    // access(2) lets root through (files in /proc, say).
    let writable = if path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map(drop)
            .map_err(|e| e.to_string())
    } else {
        access(dir, AccessFlags::W_OK).map_err(|errno| errno.desc().to_string())
    };
    match writable {
        Ok(()) => Ok(()),
        Err(why) => fail(format!("cannot write there: {why}")),
    }
}

/// `--schedule` with `--switch` folded in, and the windows to run: under a schedule the turns
/// decide the interleaving and no window is held; a window other than the default would be
/// silently ignored, so it is refused.
pub(super) fn schedule_and_windows(
    schedule: Option<Strategy>,
    switch: Option<f64>,
    windows: Vec<Window>,
) -> Result<(Option<Strategy>, Vec<Window>), ConfigError> {
    let schedule = match (schedule, switch) {
        (Some(Strategy::Random { .. }), Some(switch)) => Some(Strategy::Random { switch }),
        (_, Some(_)) => {
            return Err(ConfigError::SwitchWithoutRandom);
        }
        (schedule, None) => schedule,
    };
    match schedule {
        None => Ok((None, windows)),
        Some(_) if windows == [DEFAULT_WINDOW] => Ok((schedule, vec![Window::Busy(0)])),
        Some(_) => Err(ConfigError::WindowWithSchedule),
    }
}

/// Refuses a run whose counter could overflow or whose workers the machine has no room for.
pub(super) fn check_size(
    max_procs: u32,
    max_iters: u64,
    room: &ProcessRoom,
) -> Result<(), ConfigError> {
    if u64::from(max_procs).checked_mul(max_iters).is_none() {
        return Err(ConfigError::Overflow {
            procs: max_procs,
            iters: max_iters,
        });
    }
    if let Some(limit) = room.limit
        && u64::from(max_procs) > limit
    {
        return Err(ConfigError::NoRoom {
            procs: max_procs,
            limit,
            why: room.why.clone(),
        });
    }
    Ok(())
}

/// What else was asked for that a database store cannot serve.
#[derive(Clone, Copy)]
pub(super) struct Asked {
    pub(super) trace: bool,
    pub(super) scheduled: bool,
    pub(super) threads: bool,
    /// `--lock` given.
    pub(super) lock: bool,
    /// `--clean` given.
    pub(super) clean: bool,
}

/// `--store` and `--isolation` as a target, refused with the options it cannot serve.
pub(super) fn store_target(
    url: &str,
    isolation: Option<Isolation>,
    timeout: Option<Duration>,
    asked: Asked,
) -> Result<Target, ConfigError> {
    let store = Target::parse(url, isolation, timeout).map_err(ConfigError::Store)?;
    let Some(db) = store.db() else {
        if asked.clean {
            return Err(ConfigError::WithStore(StoreConflict::CleanWithoutStore));
        }
        return Ok(store);
    };
    if asked.trace {
        return Err(ConfigError::WithStore(StoreConflict::Trace(db.kind.name())));
    }
    if asked.scheduled {
        return Err(ConfigError::WithStore(StoreConflict::Schedule));
    }
    if asked.threads {
        return Err(ConfigError::WithStore(StoreConflict::Threads));
    }
    if asked.lock {
        return Err(ConfigError::WithStore(StoreConflict::Lock(db.kind.name())));
    }
    Ok(store)
}

/// Refuses lock kinds a `--schedule` would misrepresent. The fenceless kinds lose updates
/// only through the CPU's store buffer, and every hand-over of the turn goes through futex
/// calls, full barriers, so under a schedule the reordering cannot happen. `private` protects
/// nothing, but the schedule gives a lock step to one worker at a time, which would make it
/// look exact.
pub(super) fn check_scheduled_locks(
    locks: &[Lock],
    modes: &[Mode],
    scheduled: bool,
) -> Result<(), ConfigError> {
    if !scheduled || !modes.iter().any(|m| m.takes_lock()) {
        return Ok(());
    }
    match locks
        .iter()
        .find(|l| l.needs_reordering() || **l == Lock::Private)
    {
        Some(&lock) if lock.needs_reordering() => Err(ConfigError::ScheduledFenceless(lock)),
        Some(&lock) => Err(ConfigError::ScheduledPrivate(lock)),
        None => Ok(()),
    }
}

/// Refuses lock kinds that cannot run as asked: Peterson's algorithm at any procs but 2, and
/// fcntl record locks between threads (they belong to the process, so never exclude).
pub(super) fn check_locks(
    locks: &[Lock],
    modes: &[Mode],
    procs: &[u32],
    workers: Workers,
) -> Result<(), ConfigError> {
    if !modes.iter().any(|m| m.takes_lock()) {
        return Ok(());
    }
    for &lock in locks {
        if let Some(only) = lock.only_procs()
            && let Some(&p) = procs.iter().find(|&&p| p != only)
        {
            return Err(ConfigError::LockProcs {
                lock,
                only,
                procs: p,
            });
        }
        if lock == Lock::Flock && workers == Workers::Threads {
            return Err(ConfigError::FlockWithThreads);
        }
    }
    Ok(())
}

/// Refuses a trace whose rows (procs × iters cells) would pass [`TRACE_CAP_BYTES`].
pub(super) fn check_trace_size(procs: u32, iters: u64) -> Result<(), ConfigError> {
    let bytes = trace_row_bytes(iters).and_then(|row| row.checked_mul(u64::from(procs)));
    if bytes.is_some_and(|b| b <= TRACE_CAP_BYTES) {
        return Ok(());
    }
    // Each row is rounded up to whole lines: round the budget per row down to them.
    let line = LINE as u64;
    let fits = (TRACE_CAP_BYTES / u64::from(procs) / line * line) / TRACE_CELL as u64;
    Err(ConfigError::TraceTooBig {
        procs,
        iters,
        needed: bytes,
        cap: TRACE_CAP_BYTES,
        fits,
    })
}
