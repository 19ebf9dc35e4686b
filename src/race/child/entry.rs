//! The child's side of `fork`: set up, run the work, `_exit`; and its side of the start gate.

use std::os::fd::AsRawFd;

use nix::errno::Errno;
use nix::sys::signal::Signal;

use crate::race::fork::{EXIT_ORPHANED, Gate};

/// The child's side of `fork`: set up, run the work, `_exit`. Never returns.
///
/// Nothing on this path may panic: every index was checked in the parent, and the work
/// indexes nothing. Should a panic slip in all the same, it cannot unwind out of an
/// `extern "C"` function: the child aborts (the parent reports SIGABRT) instead of running on
/// as a copy of the parent.
pub(crate) extern "C" fn main<T, F: Fn(&T) -> i32>(parent: i32, item: &T, work: &F) -> ! {
    // The parent moves the worker into the workers' own process group right after the fork
    // (see `Crew::spawn`): nothing here depends on it, so the worker does not do it too.
    // Die with the parent; then check it did not die before we asked.
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    if nix::unistd::getppid().as_raw() != parent {
        exit(EXIT_ORPHANED);
    }
    // The parent's interrupt handlers stay installed: in a worker they restore the default
    // action and raise the signal again (see `race::fork::interrupt`), so a signal sent to a
    // worker kills it as usual, and the parent reports it.
    exit(work(item))
}

pub(crate) fn exit(code: i32) -> ! {
    // SAFETY: _exit ends the process at once, without exit handlers or flushing buffers that
    // the parent owns (flushing them here would print the parent's output twice).
    unsafe { libc::_exit(code) }
}

impl Gate {
    /// In a worker: blocks until the gate opens. Async-signal-safe.
    pub(crate) fn pass(&self) {
        // The worker's copy of the write end must go, or the pipe never reports EOF.
        // SAFETY: this runs in the forked child, which owns its copies of the parent's fds;
        // closing this one affects only the child, and the parent's OwnedFd is never dropped
        // here (the child leaves through _exit).
        unsafe {
            libc::close(self.write.as_raw_fd());
        }
        let mut byte = [0u8; 1];
        loop {
            match nix::unistd::read(&self.read, &mut byte) {
                Err(Errno::EINTR) => continue,
                _ => return,
            }
        }
    }
}
