//! `--threads`: the workers as threads of racecount instead of forked processes.
//!
//! The same page, gate and work as forked workers; what differs is what can go wrong. A
//! thread cannot be killed: a trial whose threads do not finish by the deadline is reported
//! as timed out, and its threads are left running, detached. They only touch what the run
//! leaked for them (the shared page and the settings, `'static`), so nothing they read is ever
//! freed under them; the run stops at that trial and racecount exits, which ends them.
//!
//! Racecount never forks while threads of its own run: a run is all threads or all processes
//! (`--threads` refuses `--pool`), and every thread is joined before the trial returns, except
//! after a timeout, which ends the run.

use std::os::fd::OwnedFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::unistd::Pid;

use super::{Exit, SpawnError, WaitError, WorkerId, interrupt};

/// How often a waiting parent looks at the interrupt flag.
const TICK: Duration = Duration::from_millis(20);

/// The worker threads of one trial.
pub(crate) struct Threads {
    handles: Vec<Option<JoinHandle<()>>>,
    /// Each thread's kernel thread id, for reports (0 until it has started).
    tids: Arc<Vec<AtomicU32>>,
    /// `(index, status)` when a thread's work returns.
    done: Receiver<(u32, i32)>,
    finished: Vec<bool>,
}

impl Threads {
    /// Starts one thread per item of `workers`; thread `i` runs `work(&workers[i])`.
    pub(crate) fn spawn<T, F>(workers: Vec<T>, work: F) -> Result<Threads, SpawnError>
    where
        T: Send + 'static,
        F: Fn(&T) -> i32 + Send + Sync + 'static,
    {
        let work = Arc::new(work);
        let tids: Arc<Vec<AtomicU32>> =
            Arc::new(workers.iter().map(|_| AtomicU32::new(0)).collect());
        let (report, done) = channel();
        let mut handles = Vec::with_capacity(workers.len());
        for (index, item) in (0u32..).zip(workers) {
            let (work, tids, report) = (Arc::clone(&work), Arc::clone(&tids), report.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("worker {index}"))
                .spawn(move || {
                    if let Some(tid) = tids.get(index as usize) {
                        tid.store(nix::unistd::gettid().as_raw() as u32, Ordering::Relaxed);
                    }
                    let status = work(&item);
                    let _ = report.send((index, status));
                });
            match spawned {
                Ok(handle) => handles.push(Some(handle)),
                Err(e) => {
                    return Err(SpawnError {
                        index,
                        what: "pthread_create",
                        errno: Errno::from_raw(e.raw_os_error().unwrap_or(0)),
                    });
                }
            }
        }
        let finished = vec![false; handles.len()];
        Ok(Threads {
            handles,
            tids,
            done,
            finished,
        })
    }

    fn worker(&self, index: u32) -> WorkerId {
        let tid = self
            .tids
            .get(index as usize)
            .map_or(0, |t| t.load(Ordering::Relaxed));
        WorkerId {
            index,
            pid: Pid::from_raw(tid as i32),
        }
    }

    /// Waits until every thread's work has returned 0, joining each.
    pub(crate) fn wait_exits(&mut self, deadline: Option<Instant>) -> Result<(), WaitError> {
        while self.finished.iter().any(|f| !f) {
            if let Some(signal) = interrupt::pending() {
                return Err(WaitError::Interrupted(signal));
            }
            let wait = match deadline {
                Some(d) => d.saturating_duration_since(Instant::now()).min(TICK),
                None => TICK,
            };
            match self.done.recv_timeout(wait) {
                Ok((index, status)) => {
                    if let Some(f) = self.finished.get_mut(index as usize) {
                        *f = true;
                    }
                    if let Some(handle) =
                        self.handles.get_mut(index as usize).and_then(Option::take)
                    {
                        let _ = handle.join();
                    }
                    if status != 0 {
                        let WorkerId { index, pid } = self.worker(index);
                        return Err(WaitError::Died {
                            index,
                            pid,
                            exit: Exit::Code(status),
                        });
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        let pending = (0u32..)
                            .zip(&self.finished)
                            .filter(|(_, f)| !**f)
                            .map(|(i, _)| self.worker(i))
                            .collect();
                        return Err(WaitError::TimedOut { pending });
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(WaitError::Sys("a worker thread vanished", Errno::ESRCH));
                }
            }
        }
        Ok(())
    }
}

/// The start gate for threads: they block reading a pipe until the parent closes its write
/// end, as forked workers do (the pipe releases its readers closer together than a futex).
pub(crate) struct ThreadGate {
    read: Arc<OwnedFd>,
    write: OwnedFd,
}

impl ThreadGate {
    pub(crate) fn new() -> nix::Result<ThreadGate> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        Ok(ThreadGate {
            read: Arc::new(read),
            write,
        })
    }

    /// What a thread holds to wait at the gate.
    pub(crate) fn waiter(&self) -> Arc<OwnedFd> {
        Arc::clone(&self.read)
    }

    /// In a thread: blocks until the gate opens.
    pub(crate) fn pass(read: &OwnedFd) {
        let mut byte = [0u8; 1];
        while let Err(Errno::EINTR) = nix::unistd::read(read, &mut byte) {}
    }

    /// In the parent: releases every thread at once.
    pub(crate) fn open(self) {
        drop(self.write);
    }
}
