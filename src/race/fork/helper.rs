//! A blocking call of the parent's on a helper thread, so that a signal or a deadline ends the
//! wait even when the call itself cannot be interrupted: a database client blocked in a read
//! retries on EINTR, and a server that stops answering would keep it there.
//!
//! The helper is joined before the call returns, so no thread of it is alive when workers are
//! forked; a call abandoned to a signal or the deadline leaves its thread behind, and the run
//! then forks nothing more (it stops).

use std::os::fd::{AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::signal::Signal;

use super::interrupt;

/// Why a call on the helper was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abandoned {
    /// SIGINT, SIGTERM or SIGHUP arrived while it ran (one that arrived before is not this).
    Signal(Signal),
    /// It had not returned within its time.
    TimedOut,
    /// It panicked (a bug in a client library; its message is not shown), or its thread could
    /// not be started.
    Panicked,
}

/// How often the wait looks at the signal count once the interrupt pipe holds an old byte.
const TICK: Duration = Duration::from_millis(20);

/// The helper thread's name; a panic on it is reported as a failed call, not printed.
const NAME: &str = "racecount-db";

/// Keeps the default panic message off the user's terminal for the helper thread (a client
/// library's bug becomes `Abandoned::Panicked`, said in one line by the caller); other threads
/// keep the hook they had.
fn quiet_helper_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(NAME) {
                previous(info);
            }
        }));
    });
}

/// Runs `work` on a helper thread and waits until it returns, at most `limit`, or until a
/// signal arrives. A failure to start the thread runs `work` here, as before.
pub(crate) fn interruptible<T: Send + 'static>(
    limit: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Abandoned> {
    quiet_helper_panics();
    let before = interrupt::count();
    let Ok((done_read, done_write)) = nix::unistd::pipe2(OFlag::O_CLOEXEC) else {
        return Ok(work());
    };
    // The write end goes with the thread: closed when `work` returns (or unwinds), it makes the
    // read end readable.
    let spawned = std::thread::Builder::new()
        .name(NAME.into())
        .spawn(move || {
            let _done = done_write;
            work()
        });
    let handle = match spawned {
        Ok(handle) => handle,
        Err(_) => return Err(Abandoned::Panicked),
    };
    let deadline = Instant::now().checked_add(limit);
    let mut watch_pipe = true;
    loop {
        if interrupt::count() != before
            && let Some(signal) = interrupt::pending()
        {
            return Err(Abandoned::Signal(signal));
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Err(Abandoned::TimedOut);
        }
        let wait = match (left, watch_pipe) {
            (Some(left), true) => left,
            (Some(left), false) => left.min(TICK),
            (None, true) => Duration::MAX,
            (None, false) => TICK,
        };
        match ready(done_read.as_raw_fd(), watch_pipe.then(interrupt::fd), wait) {
            Ok(Ready::Done) => {
                return handle.join().map_err(|_| Abandoned::Panicked);
            }
            // A byte of a signal that came before this call: watch the count instead.
            Ok(Ready::Signalled) if interrupt::count() == before => watch_pipe = false,
            Ok(Ready::Signalled | Ready::Nothing) | Err(Errno::EINTR) => {}
            Err(_) => watch_pipe = false,
        }
    }
}

enum Ready {
    Done,
    Signalled,
    Nothing,
}

/// One poll over `done` and the interrupt pipe, at most `wait`.
fn ready(done: RawFd, signals: Option<RawFd>, wait: Duration) -> Result<Ready, Errno> {
    let mut fds = vec![super::pollfd(done)];
    fds.extend(signals.filter(|&fd| fd >= 0).map(super::pollfd));
    let timeout = i32::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(i32::MAX);
    // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the whole call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
    if n < 0 {
        return Err(Errno::last());
    }
    if fds.first().is_some_and(|f| f.revents != 0) {
        Ok(Ready::Done)
    } else if fds.get(1).is_some_and(|f| f.revents != 0) {
        Ok(Ready::Signalled)
    } else {
        Ok(Ready::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_on_the_helper_is_a_failed_call() {
        let result: Result<(), _> = interruptible(Duration::from_secs(5), || panic!("boom"));
        assert_eq!(result, Err(Abandoned::Panicked));
    }

    #[test]
    fn a_quick_call_returns_its_value_and_a_slow_one_its_deadline() {
        assert_eq!(interruptible(Duration::from_secs(5), || 41 + 1), Ok(42));
        let started = Instant::now();
        let slow = interruptible(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(2));
        });
        assert_eq!(slow, Err(Abandoned::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
}
