//! racecount killed with SIGKILL: its workers must not run on. Alone in its test binary,
//! because it makes the test process a child subreaper and reaps whatever is orphaned to it.

mod common;
use common::*;

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

#[test]
fn workers_die_with_their_parent() {
    // Orphans come to us rather than to init, so we can see how they ended.
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let seed = unique_seed();
    let mut child = spawn(&args(&format!(
        "-m unlocked -p 4 -i 1 -w 30s -t 1 --seed {seed}"
    )));
    let parent = child.id();
    assert!(
        eventually(PATIENCE_SECS, || children_of(parent).len() == 4),
        "workers did not start"
    );
    let workers = children_of(parent);
    signal(parent, Signal::SIGKILL);
    child.wait().unwrap();
    // Every worker must soon be gone, killed by SIGKILL (PR_SET_PDEATHSIG): the kernel sends
    // it as the parent exits, so milliseconds on a quiet machine; PATIENCE_SECS on any.
    let mut ended = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs_f64(PATIENCE_SECS);
    while ended.len() < workers.len() && std::time::Instant::now() < deadline {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Signaled(pid, sig, _)) => ended.push((pid.as_raw() as u32, sig)),
            Ok(WaitStatus::StillAlive) => std::thread::sleep(std::time::Duration::from_millis(5)),
            Ok(other) => panic!("unexpected: {other:?}"),
            Err(e) => panic!("waitpid: {e}"),
        }
    }
    ended.sort();
    let expected: Vec<(u32, Signal)> = workers.iter().map(|&w| (w, Signal::SIGKILL)).collect();
    assert_eq!(
        ended, expected,
        "workers still alive {PATIENCE_SECS}s after their parent died"
    );
    assert!(processes_with(&seed).is_empty());
}
