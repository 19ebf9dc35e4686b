//! Two pipes between a trial's store workers and the parent.
//!
//! `ready`: each worker writes one byte once it is connected, and the parent opens the start
//! gate only when every worker has, so that connecting is not part of the race or of its time.
//! `reports`: each worker writes one line as it leaves — `INDEX ok RETRIES` or
//! `INDEX failed MESSAGE` — with a single `write(2)` of at most [`MAX_LINE`] bytes, which a pipe
//! never interleaves (`PIPE_BUF`). Both are non-blocking: a worker never waits on a full pipe
//! (a lost report is reported as lost), and the parent reads what is there.

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{FcntlArg, OFlag, fcntl};

use crate::race::fork::{Crew, WaitError};

/// Longest report line, newline included (under PIPE_BUF, 4096 on Linux).
pub const MAX_LINE: usize = 1024;

/// Room asked for the reports pipe: a line for every worker of a large trial.
const REPORTS_PIPE_BYTES: i32 = 1 << 20;

/// One worker's report, as the parent read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// Finished; the database refused and the worker retried this many times.
    Done { retries: u64 },
    /// Stopped with this message.
    Failed(String),
}

/// The pipes of one trial.
pub struct Channel {
    ready_read: OwnedFd,
    ready_write: OwnedFd,
    reports_read: OwnedFd,
    reports_write: OwnedFd,
}

impl Channel {
    pub fn new() -> nix::Result<Channel> {
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
        })
    }

    /// In a worker: connected, waiting at the gate.
    pub fn ready(&self) {
        let _ = nix::unistd::write(&self.ready_write, b"r");
    }

    /// In a worker: its last word. `line` is cut to fit one atomic write.
    pub fn report(&self, index: u32, report: &Report) {
        let mut line = match report {
            Report::Done { retries } => format!("{index} ok {retries}"),
            Report::Failed(message) => format!("{index} failed {}", message.replace('\n', " ")),
        };
        if line.len() > MAX_LINE - 1 {
            let mut cut = MAX_LINE - 4;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str("...");
        }
        line.push('\n');
        let _ = nix::unistd::write(&self.reports_write, line.as_bytes());
    }

    /// In the parent: waits until `procs` workers are ready, watching that none dies.
    pub(crate) fn wait_ready(
        &self,
        crew: &mut Crew,
        procs: u32,
        deadline: Option<Instant>,
    ) -> Result<(), WaitError> {
        let mut ready = 0u32;
        let mut buf = [0u8; 256];
        while ready < procs {
            crew.wait_readable(self.ready_read.as_raw_fd(), deadline)?;
            loop {
                match nix::unistd::read(&self.ready_read, &mut buf) {
                    Ok(0) | Err(Errno::EAGAIN) => break,
                    Ok(n) => ready += n as u32,
                    Err(Errno::EINTR) => continue,
                    Err(errno) => return Err(WaitError::Sys("read", errno)),
                }
            }
        }
        Ok(())
    }

    /// In the parent: every report written so far, by worker index.
    pub fn reports(&self) -> Vec<(u32, Report)> {
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

fn parse_line(line: &str) -> Option<(u32, Report)> {
    let (index, rest) = line.split_once(' ')?;
    let index = index.parse().ok()?;
    let (word, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let report = match word {
        "ok" => Report::Done {
            retries: rest.parse().ok()?,
        },
        "failed" => Report::Failed(rest.to_string()),
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
        channel.report(3, &Report::Done { retries: 17 });
        channel.report(0, &Report::Failed("lost it\nall".into()));
        channel.report(1, &Report::Failed("x".repeat(5000)));
        let reports = channel.reports();
        assert_eq!(reports[0], (3, Report::Done { retries: 17 }));
        assert_eq!(reports[1], (0, Report::Failed("lost it all".into())));
        let Report::Failed(long) = &reports[2].1 else {
            panic!("{reports:?}")
        };
        assert_eq!(long.len(), MAX_LINE - 1 - "1 failed ".len());
        assert!(long.ends_with("..."));
        assert!(channel.reports().is_empty());
    }
}
