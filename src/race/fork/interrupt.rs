//! SIGINT, SIGTERM and SIGHUP: recorded, not obeyed at once, so that the parent can kill and
//! reap its workers, print what finished and exit 128 + the signal.
//!
//! The handler only stores the signal number and writes one byte to a non-blocking self-pipe,
//! which the waiting loop in [`Crew`](super::Crew) polls: that works whichever thread the
//! kernel picks to run the handler, and wakes a poll that is already asleep.
//!
//! A crew waiting for its workers without polling (a blocking `waitpid` on their process
//! group, see [`Crew::wait_exits`](super::Crew::wait_exits)) registers that group here: the
//! handler then kills the group, so that the wait returns even when the signal came just
//! before it began, or went to another thread. The group is withdrawn before its last worker
//! is reaped, while the group still exists and its number cannot belong to anyone else; and a
//! handler running on another thread at that moment is waited for ([`forget_group`]), so
//! that it never kills a number that has been given away.

use std::os::fd::{IntoRawFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

use nix::fcntl::OFlag;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The signals that interrupt a run.
const SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

static CAUGHT: AtomicI32 = AtomicI32::new(0);
/// How many signals have arrived: a wait that began after the first can tell a new one.
static COUNT: AtomicU32 = AtomicU32::new(0);
static READ_END: AtomicI32 = AtomicI32::new(-1);
static WRITE_END: AtomicI32 = AtomicI32::new(-1);

/// The process that installed the handlers: racecount's parent.
static PARENT: AtomicU32 = AtomicU32::new(0);

/// The process group of the workers the parent waits for in a blocking call (0: none).
static CREW: AtomicI32 = AtomicI32::new(0);

/// Handlers between reading [`CREW`] and killing it.
static KILLING: AtomicU32 = AtomicU32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    // A forked worker inherits this handler. There the signal does what it does by default
    // (it ends the worker, and the parent reports it), so the worker need not reset three
    // handlers after every fork: 30 system calls a trial of 10 workers. (getpid is
    // async-signal-safe.)
    if std::process::id() != PARENT.load(Ordering::SeqCst) {
        // SAFETY: signal(SIG_DFL) and raise are async-signal-safe and touch no Rust state;
        // the signal stays blocked until this handler returns, then its default action runs.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        return;
    }
    CAUGHT.store(signal, Ordering::SeqCst);
    COUNT.fetch_add(1, Ordering::SeqCst);
    let fd = WRITE_END.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the buffer is a valid one-byte static. A full
        // pipe (EAGAIN) is fine: one byte already wakes the poll.
        unsafe {
            libc::write(fd, b"!".as_ptr().cast(), 1);
        }
    }
    // Counted before the group is read, and `forget_group` clears the group before it reads
    // the count (both SeqCst): either this handler reads 0, or the group is not withdrawn,
    // nor its last worker reaped, until the kill below is done.
    KILLING.fetch_add(1, Ordering::SeqCst);
    let group = CREW.load(Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill(2) is async-signal-safe. The group is the workers' own and still exists
        // (see above and the module's note).
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    KILLING.fetch_sub(1, Ordering::SeqCst);
}

/// Registers the process group `group` of workers that the parent may wait for in a blocking
/// call: a signal kills it, so that the call returns. Only one group at a time (a second is
/// not registered, and waits by polling).
pub(crate) fn watch_group(group: i32) -> bool {
    CREW.compare_exchange(0, group, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
}

/// Withdraws `group` (nothing if another is registered), and waits for a handler that may be
/// killing it on another thread. Call it before the group's last worker is reaped. (A handler
/// on this thread has finished before this runs again: the wait cannot block on itself.)
pub(crate) fn forget_group(group: i32) {
    if CREW
        .compare_exchange(group, 0, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        return;
    }
    while KILLING.load(Ordering::SeqCst) != 0 {
        std::thread::yield_now();
    }
}

/// Installs the handlers (once; later calls do nothing).
pub(crate) fn install() -> nix::Result<()> {
    if READ_END.load(Ordering::SeqCst) >= 0 {
        return Ok(());
    }
    PARENT.store(std::process::id(), Ordering::SeqCst);
    let (read, write) = nix::unistd::pipe2(OFlag::O_NONBLOCK | OFlag::O_CLOEXEC)?;
    READ_END.store(read.into_raw_fd(), Ordering::SeqCst);
    WRITE_END.store(write.into_raw_fd(), Ordering::SeqCst);
    // No SA_RESTART: a blocking call returns EINTR and the loop looks at the flag.
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in SIGNALS {
        // SAFETY: the handler only does atomic stores and write(2), both async-signal-safe.
        unsafe { sigaction(signal, &action)? };
    }
    Ok(())
}

/// The pipe's read end, readable once a signal came (-1 before `install`: poll ignores it).
pub(crate) fn fd() -> RawFd {
    READ_END.load(Ordering::SeqCst)
}

/// The signal that arrived, if any.
pub(crate) fn pending() -> Option<Signal> {
    Signal::try_from(CAUGHT.load(Ordering::SeqCst)).ok()
}

/// How many signals have arrived so far.
pub(crate) fn count() -> u32 {
    COUNT.load(Ordering::SeqCst)
}

/// Dies by `number` with the signal's default action, the way shells expect of a program that
/// a signal stopped: bash ends a `while racecount ...; do ...; done` loop only when its command
/// was killed by SIGINT, not when it exited 130 (fd's exit codes do the same). Call it last,
/// after every worker is reaped and the output flushed. Returns only when the signal did not
/// end the process (then the caller exits 128 + n, which is what a shell reports either way).
pub(crate) fn die_by(number: i32) {
    let Ok(signal) = Signal::try_from(number) else {
        return;
    };
    // SAFETY: restoring the default action touches no Rust state; the handler it replaces
    // only stored a number and wrote to a pipe, and nothing is waiting on them any more.
    if unsafe { nix::sys::signal::signal(signal, SigHandler::SigDfl) }.is_err() {
        return;
    }
    let mut set = SigSet::empty();
    set.add(signal);
    let _ = set.thread_unblock();
    let _ = nix::sys::signal::raise(signal);
}
