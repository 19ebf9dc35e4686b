//! Forking workers, watching them, killing and reaping them.
//!
//! A [`Crew`] is the set of workers alive at one time. Whatever happens to the parent's run
//! (a worker dies, a timeout, Ctrl-C, an error), dropping the crew kills and reaps every worker
//! it started, so no process is left behind. Without a deadline it waits for them as a C
//! program does, in `waitpid` (on their process group); with one, or beside another file to
//! watch, it polls a pidfd per worker, opened when first needed. Each worker also asks the kernel to kill it if the
//! parent dies (PR_SET_PDEATHSIG), and lives in its own process group, so that a Ctrl-C at the
//! terminal reaches only the parent, which then cleans up.
//!
//! After `fork` the child runs only async-signal-safe code: no allocation, printing, unwinding
//! or exit handlers. It leaves through `_exit`.
//!
//! This module and `page` are the only places with `unsafe` code.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Instant;

pub(crate) mod channel;
pub(crate) mod helper;
pub(crate) mod interrupt;
mod roster;
pub(crate) mod threads;

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid, waitpid};
use nix::unistd::{ForkResult, Pid};

use crate::race::child;
use roster::Roster;

/// Exit status of a worker whose parent was gone before it started.
pub(crate) const EXIT_ORPHANED: i32 = 71;

/// Raises the soft RLIMIT_NOFILE, if needed, so that `workers` pidfds fit (up to the hard
/// limit, which the config checked).
pub(crate) fn make_fd_room(workers: u32) -> nix::Result<()> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
    let needed = u64::from(workers) + crate::probe::FDS_BESIDES_WORKERS;
    if soft != libc::RLIM_INFINITY && soft < needed {
        setrlimit(Resource::RLIMIT_NOFILE, needed.min(hard), hard)?;
    }
    Ok(())
}

/// How a worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    Code(i32),
    Signaled(Signal),
}

/// Why waiting for the workers stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaitError {
    /// A worker ended other than by finishing its work.
    Died { index: u32, pid: Pid, exit: Exit },
    /// The deadline passed; these workers had not finished.
    TimedOut { pending: Vec<WorkerId> },
    /// SIGINT, SIGTERM or SIGHUP reached racecount.
    Interrupted(Signal),
    /// A system call failed.
    Sys(&'static str, Errno),
}

/// A worker, by its index in the crew and its pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkerId {
    pub(crate) index: u32,
    pub(crate) pid: Pid,
}

/// A worker that could not be forked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SpawnError {
    pub index: u32,
    pub what: &'static str,
    pub errno: Errno,
}

struct Member {
    index: u32,
    pid: Pid,
    /// Opened when a poll first needs it (see [`Crew::watch`]): a trial waited for without a
    /// deadline never opens one.
    pidfd: Option<OwnedFd>,
    reaped: bool,
}

/// The workers alive at one time.
pub(crate) struct Crew {
    /// In memory the workers do not inherit ([`roster`]): the parent writes it between forks.
    members: Roster<Member>,
    /// The workers' process group while it is registered with [`interrupt::watch_group`], so
    /// that a signal ends a blocking wait on it ([`Crew::wait_group`]); `None` when another
    /// crew had registered, or once withdrawn.
    watched: Option<Pid>,
}

impl Crew {
    /// Forks one worker per item of `workers`; worker `i` runs `work(&workers[i])` and leaves
    /// with `_exit` of its result.
    ///
    /// Whatever a worker needs is looked up and checked in the parent, into its item, before
    /// the fork: `work` runs in a forked child and must not allocate, print, lock anything but
    /// the shared page, index, or panic. Flush any buffered output before calling this.
    pub(crate) fn spawn<T, F: Fn(&T) -> i32>(workers: &[T], work: F) -> Result<Crew, SpawnError> {
        let parent = nix::unistd::getpid();
        let mut crew = Crew {
            members: Roster::with_capacity(workers.len()).map_err(|errno| SpawnError {
                index: 0,
                what: "mmap",
                errno,
            })?,
            watched: None,
        };
        let mut group = Pid::from_raw(0);
        for (index, item) in (0u32..).zip(workers) {
            // SAFETY: the child runs only `child::main`, which makes system calls and runs `work`,
            // then `_exit`s: it never returns into Rust code that might unwind or run
            // destructors. The parent may have a second thread here (the progress bar's sampler,
            // with page workers): a lock that thread held at the fork would stay locked in the
            // child, so `work` must not take any lock a parent thread can hold — no allocation
            // (malloc's), no printing (stdio's) — as page workers do not (they touch atomics
            // and the page's own locks, which only workers take). A database worker, which
            // allocates, is forked only by a runner that first checked the parent has no other
            // thread (`store::runner`). Unit tests fork from a multi-threaded harness under the
            // same contract.
            let forked = unsafe { nix::unistd::fork() };
            match forked {
                Ok(ForkResult::Child) => child::main(parent.as_raw(), item, &work),
                Ok(ForkResult::Parent { child }) => {
                    // Its own process group (worker 0's), so that the terminal's Ctrl-C goes to
                    // the parent alone, which cleans up. Set here only, before any wait on the
                    // group: one system call a worker (a Ctrl-C before it lands reaches the
                    // worker too, and the parent, which reports the interrupt either way).
                    let _ = nix::unistd::setpgid(child, if index == 0 { child } else { group });
                    crew.members.push(Member {
                        index,
                        pid: child,
                        pidfd: None,
                        reaped: false,
                    });
                    if index == 0 {
                        group = child;
                        if interrupt::watch_group(child.as_raw()) {
                            crew.watched = Some(child);
                        }
                    }
                }
                Err(errno) => {
                    return Err(SpawnError {
                        index,
                        what: "fork",
                        errno,
                    });
                }
            }
        }
        Ok(crew)
    }

    /// Waits until every worker has exited with status 0, reaping each.
    pub(crate) fn wait_exits(&mut self, deadline: Option<Instant>) -> Result<(), WaitError> {
        if deadline.is_none()
            && let Some(group) = self.watched
        {
            return self.wait_group(group);
        }
        while self.members.iter().any(|m| !m.reaped) {
            self.watch(None, deadline)?;
        }
        Ok(())
    }

    /// [`Crew::wait_exits`] without a deadline: blocks in `waitpid` on the workers' process
    /// group, which returns as soon as any worker ends (as a C program waits for its children:
    /// no pidfd to open and close per worker, no poll; measured, a trial of 10 workers that do
    /// one increment each cost 7 % less CPU than polling pidfds). A signal kills the
    /// registered group ([`interrupt`]), so the wait returns even if the signal came just
    /// before it began; the group is withdrawn before its last worker is reaped, while it still
    /// exists.
    fn wait_group(&mut self, group: Pid) -> Result<(), WaitError> {
        loop {
            let mut live = self.members.iter().filter(|m| !m.reaped);
            let (Some(first), more) = (live.next(), live.next().is_some()) else {
                return Ok(());
            };
            let last = first.pid;
            self.check_interrupt()?;
            let waited = if more {
                waitpid(Pid::from_raw(-group.as_raw()), None)
            } else {
                // The last worker: wait for it without reaping it, withdraw the group (a zombie
                // still holds it), then reap.
                waitid(Id::Pid(last), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT).and_then(|_| {
                    self.forget_group();
                    waitpid(last, Some(WaitPidFlag::WNOHANG))
                })
            };
            let (pid, exit) = match waited {
                Ok(WaitStatus::Exited(pid, code)) => (pid, Exit::Code(code)),
                Ok(WaitStatus::Signaled(pid, signal, _)) => (pid, Exit::Signaled(signal)),
                Ok(_) | Err(Errno::EINTR) => continue,
                // No worker left in the group, yet some unreaped: not possible while the
                // parent moves each into it right after the fork, but then they are polled.
                Err(Errno::ECHILD) => {
                    self.forget_group();
                    return self.wait_exits(None);
                }
                Err(errno) => return Err(WaitError::Sys("waitpid", errno)),
            };
            self.check_interrupt()?;
            let Some(member) = self.members.iter_mut().find(|m| m.pid == pid) else {
                continue;
            };
            member.reaped = true;
            if exit != Exit::Code(0) {
                return Err(WaitError::Died {
                    index: member.index,
                    pid,
                    exit,
                });
            }
        }
    }

    /// Withdraws the workers' group from the signal handler (before the last is reaped).
    fn forget_group(&mut self) {
        if let Some(group) = self.watched.take() {
            interrupt::forget_group(group.as_raw());
        }
    }

    /// Waits until `fd` is readable, while watching that no worker dies.
    pub(crate) fn wait_readable(
        &mut self,
        fd: RawFd,
        deadline: Option<Instant>,
    ) -> Result<(), WaitError> {
        loop {
            if self.watch(Some(fd), deadline)? {
                return Ok(());
            }
        }
    }

    /// One poll over the interrupt pipe, `extra` and every live worker's pidfd. Returns whether
    /// `extra` became readable. A worker that exited is reaped; in pool use (`extra` given)
    /// any exit is an error, otherwise only a non-zero or signalled one.
    fn watch(
        &mut self,
        extra: Option<RawFd>,
        deadline: Option<Instant>,
    ) -> Result<bool, WaitError> {
        let mut fds = vec![pollfd(interrupt::fd())];
        fds.extend(extra.map(pollfd));
        let first_member = fds.len();
        let live: Vec<usize> = (0..self.members.len())
            .filter(|&i| !self.members[i].reaped)
            .collect();
        for &i in &live {
            let member = &mut self.members[i];
            let pidfd = match member.pidfd.take() {
                Some(pidfd) => pidfd,
                None => pidfd_open(member.pid).map_err(|e| WaitError::Sys("pidfd_open", e))?,
            };
            fds.push(pollfd(pidfd.as_raw_fd()));
            member.pidfd = Some(pidfd);
        }

        let timeout = match deadline {
            None => -1,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
            }
        };
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the whole call.
        let ready = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout) };
        if ready < 0 {
            let errno = Errno::last();
            return match errno {
                Errno::EINTR => self.check_interrupt().map(|()| false),
                _ => Err(WaitError::Sys("poll", errno)),
            };
        }
        self.check_interrupt()?;
        for (slot, &i) in live.iter().enumerate() {
            if fds[first_member + slot].revents != 0 {
                if self.members.iter().filter(|m| !m.reaped).count() == 1 {
                    self.forget_group();
                }
                let member = &mut self.members[i];
                let exit = reap(member.pid, WaitPidFlag::WNOHANG)?;
                let Some(exit) = exit else { continue };
                member.reaped = true;
                if extra.is_some() || exit != Exit::Code(0) {
                    return Err(WaitError::Died {
                        index: member.index,
                        pid: member.pid,
                        exit,
                    });
                }
            }
        }
        if extra.is_some() && fds[1].revents != 0 {
            return Ok(true);
        }
        if ready == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            let pending = self
                .members
                .iter()
                .filter(|m| !m.reaped)
                .map(|m| WorkerId {
                    index: m.index,
                    pid: m.pid,
                })
                .collect();
            return Err(WaitError::TimedOut { pending });
        }
        Ok(false)
    }

    fn check_interrupt(&self) -> Result<(), WaitError> {
        match interrupt::pending() {
            Some(signal) => Err(WaitError::Interrupted(signal)),
            None => Ok(()),
        }
    }

    /// Kills (SIGKILL) and reaps every worker not yet reaped.
    pub(crate) fn kill_all(&mut self) {
        self.forget_group();
        for m in self.members.iter().filter(|m| !m.reaped) {
            let _ = kill(m.pid, Signal::SIGKILL);
        }
        for m in self.members.iter_mut().filter(|m| !m.reaped) {
            // Blocking: SIGKILL cannot be caught, so this returns promptly. Retried on EINTR.
            let _ = reap(m.pid, WaitPidFlag::empty());
            m.reaped = true;
        }
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// A one-shot start gate: workers block reading a pipe until the parent closes its write end,
/// which wakes them all at once. Blocking, not spinning: spinning workers would starve the
/// parent that is still forking the rest (about 25 ms a trial instead of 1 ms on 2 cores).
pub(crate) struct Gate {
    pub(crate) read: OwnedFd,
    pub(crate) write: OwnedFd,
}

impl Gate {
    pub(crate) fn new() -> nix::Result<Gate> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        Ok(Gate { read, write })
    }

    /// In the parent: releases every worker at once.
    pub(crate) fn open(self) {
        drop(self.write);
    }
}

fn pollfd(fd: RawFd) -> libc::pollfd {
    libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Reaps `pid`; `None` when WNOHANG finds it still running.
fn reap(pid: Pid, flags: WaitPidFlag) -> Result<Option<Exit>, WaitError> {
    loop {
        match waitpid(pid, Some(flags)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(Some(Exit::Code(code))),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(Some(Exit::Signaled(sig))),
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(WaitError::Sys("waitpid", errno)),
        }
    }
}

fn pidfd_open(pid: Pid) -> Result<OwnedFd, Errno> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this fd to us; nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::lock::Lock;
    use crate::race::page::SharedPage;
    use std::sync::Mutex;
    use std::sync::atomic::Ordering;

    /// Tests that fork in-process hold this, so they never fork concurrently.
    pub(crate) static FORK_LOCK: Mutex<()> = Mutex::new(());

    #[test]
    fn a_childs_write_reaches_the_parent() {
        let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let page = SharedPage::new(4, 0).unwrap();
        let cells: Vec<_> = (0..4)
            .map(|i| (i, page.worker_cells(i, 4, None, Lock::Pthread).unwrap()))
            .collect();
        let mut crew = Crew::spawn(&cells, |(i, cells)| {
            cells
                .completed()
                .store(u64::from(*i) + 40, Ordering::Relaxed);
            cells.counter().fetch_add(1, Ordering::Relaxed);
            0
        })
        .unwrap();
        crew.wait_exits(None).unwrap();
        assert_eq!(page.counter().load(Ordering::Relaxed), 4);
        for i in 0..4 {
            assert_eq!(page.completed(i).load(Ordering::Relaxed), i as u64 + 40);
        }
    }

    #[test]
    fn a_failing_worker_is_named() {
        let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut crew = Crew::spawn(&[0, 1, 2], |&i| if i == 1 { 9 } else { 0 }).unwrap();
        let pid1 = crew.members[1].pid;
        let mut err = None;
        while err.is_none() {
            match crew.wait_exits(None) {
                Ok(()) => panic!("worker 1 exited 9 but the crew reported success"),
                Err(e) => err = Some(e),
            }
        }
        assert_eq!(
            err.unwrap(),
            WaitError::Died {
                index: 1,
                pid: pid1,
                exit: Exit::Code(9)
            }
        );
    }

    #[test]
    fn a_deadline_reports_the_unfinished() {
        let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut crew = Crew::spawn(&[0, 1], |&i| {
            if i == 0 {
                // SAFETY: pause is async-signal-safe; the worker waits for SIGKILL.
                unsafe { libc::pause() };
            }
            0
        })
        .unwrap();
        let deadline = Instant::now() + std::time::Duration::from_millis(50);
        let err = crew.wait_exits(Some(deadline)).unwrap_err();
        match err {
            WaitError::TimedOut { pending } => assert_eq!(pending.len(), 1),
            other => panic!("expected a timeout, got {other:?}"),
        }
        drop(crew);
    }
}
