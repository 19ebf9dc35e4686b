//! Real faults with real processes and signals: the run stops cleanly and says what happened.

mod common;
use common::*;

use std::process::{Command, Stdio};

#[test]
fn a_worker_killed_mid_window_is_named_and_nothing_is_left_behind() {
    let seed = unique_seed();
    let child = Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args([
            "-m", "unlocked", "-p", "3", "-i", "1", "-w", "20s", "-t", "1", "--seed", &seed,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let parent = child.id();
    assert!(
        eventually(10.0, || children_of(parent).len() == 3),
        "workers did not start"
    );
    let victim = *children_of(parent).iter().max().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(victim as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(&format!("(pid {victim}) was killed by SIGKILL")),
        "{err}"
    );
    assert!(err.contains("worker "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(processes_with(&seed).is_empty(), "workers left behind");
}
