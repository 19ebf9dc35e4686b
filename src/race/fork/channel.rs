//! Two pipes between a trial's database workers and the parent (the workers' half is in
//! `race::child::db`).
//!
//! `ready`: each worker writes one byte once it is connected, and the parent opens the start
//! gate only when every worker has, so that connecting is not part of the race or of its time.
//! `reports`: each worker writes one line as it leaves — `INDEX ok RETRIES` or
//! `INDEX failed MESSAGE` — with a single `write(2)` of at most [`MAX_LINE`] bytes, which a pipe
//! never interleaves (`PIPE_BUF`). Both are non-blocking: a worker never waits on a full pipe
//! (a lost report is reported as lost), and the parent reads what is there.

use std::cell::Cell;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};

use super::{Crew, WaitError};

/// Longest report line, newline included (under PIPE_BUF, 4096 on Linux).
pub(crate) const MAX_LINE: usize = 1024;

/// Room asked for the reports pipe: a line for every worker of a large trial.
const REPORTS_PIPE_BYTES: i32 = 1 << 20;

/// One worker's last word, as the parent read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LastWord {
    /// Finished; the database refused and the worker retried this many times.
    Done { retries: u64 },
    /// Stopped with this message.
    Failed(String),
}

/// The pipes of one trial.
pub(crate) struct Channel {
    ready_read: OwnedFd,
    pub(crate) ready_write: OwnedFd,
    reports_read: OwnedFd,
    pub(crate) reports_write: OwnedFd,
    /// How many workers have said they are ready so far (a wait may end and be resumed).
    ready: Cell<u32>,
}

impl Channel {
    pub(crate) fn new() -> nix::Result<Channel> {
        let flags = OFlag::O_CLOEXEC | OFlag::O_NONBLOCK;
        let (ready_read, ready_write) = nix::unistd::pipe2(flags)?;
        let (reports_read, reports_write) = nix::unistd::pipe2(flags)?;
        // Best effort: the default 64 KiB holds 64 failure lines at least.
        let _ = fcntl(&reports_write, FcntlArg::F_SETPIPE_SZ(REPORTS_PIPE_BYTES));
        Ok(Channel {
            ready_read,
            ready_write,
            reports_read,
            reports_write,
            ready: Cell::new(0),
        })
    }

    /// In the parent: waits until `procs` workers are ready, watching that none dies. A wait
    /// that ended at `deadline` can be resumed: the workers seen ready stay counted.
    pub(crate) fn wait_ready(
        &self,
        crew: &mut Crew,
        procs: u32,
        deadline: Option<Instant>,
    ) -> Result<(), WaitError> {
        let mut buf = [0u8; 256];
        while self.ready.get() < procs {
            crew.wait_readable(self.ready_read.as_raw_fd(), deadline)?;
            loop {
                match nix::unistd::read(&self.ready_read, &mut buf) {
                    Ok(0) | Err(Errno::EAGAIN) => break,
                    Ok(n) => self.ready.set(self.ready.get() + n as u32),
                    Err(Errno::EINTR) => continue,
                    Err(errno) => return Err(WaitError::Sys("read", errno)),
                }
            }
        }
        Ok(())
    }

    /// In the parent: every report written so far, by worker index.
    pub(crate) fn reports(&self) -> Vec<(u32, LastWord)> {
        let mut bytes = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match nix::unistd::read(&self.reports_read, &mut buf) {
                Ok(0) | Err(Errno::EAGAIN) => break,
                Ok(n) => bytes.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(parse_line)
            .collect()
    }
}

fn parse_line(line: &str) -> Option<(u32, LastWord)> {
    let (index, rest) = line.split_once(' ')?;
    let index = index.parse().ok()?;
    let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let report = match word {
        "ok" => LastWord::Done {
            retries: rest.parse().ok()?,
        },
        "failed" => LastWord::Failed(rest.to_string()),
        _ => return None,
    };
    Some((index, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_come_back_as_written() {
        let channel = Channel::new().unwrap();
        channel.report(3, &LastWord::Done { retries: 17 });
        channel.report(0, &LastWord::Failed("lost it\nall".into()));
        channel.report(1, &LastWord::Failed("x".repeat(5000)));
        let reports = channel.reports();
        assert_eq!(reports[0], (3, LastWord::Done { retries: 17 }));
        assert_eq!(reports[1], (0, LastWord::Failed("lost it all".into())));
        let LastWord::Failed(long) = &reports[2].1 else {
            panic!("{reports:?}")
        };
        assert_eq!(long.len(), MAX_LINE - 1 - "1 failed ".len());
        assert!(long.ends_with("..."));
        assert!(channel.reports().is_empty());
    }
}
