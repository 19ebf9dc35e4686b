//! Ctrl-C, SIGTERM and SIGHUP during a run: every worker is killed and reaped, the finished
//! trials are printed, and the exit status is 128 + the signal.

mod common;
use common::*;

use nix::sys::signal::Signal;
use std::io::{BufRead, BufReader, Read};

/// Starts a long mutex run in totals format, waits for two finished trials, sends `signals`.
fn interrupt(signals: &[Signal]) -> (Option<i32>, Vec<String>, String, String) {
    let seed = unique_seed();
    let mut child = spawn(&[
        "-m", "mutex", "-p", "4", "-i", "5", "-w", "1ms", "-t", "100000", "-f", "totals", "--seed",
        &seed,
    ]);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        lines.push(line.trim().to_string());
    }
    for &s in signals {
        signal(child.id(), s);
    }
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    lines.extend(rest.lines().map(str::to_string));
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), lines, err, seed)
}

fn assert_clean_stop(signals: &[Signal], code: i32, name: &str) {
    let (status, lines, err, seed) = interrupt(signals);
    assert_eq!(status, Some(code), "{err}");
    assert!(lines.len() >= 2);
    assert!(
        lines.iter().all(|l| l == "20"),
        "a finished trial's total is wrong: {lines:?}"
    );
    assert_eq!(
        err,
        format!("racecount: interrupted by {name}; every worker was stopped\n")
    );
    assert!(processes_with(&seed).is_empty(), "workers left behind");
}

#[test]
fn ctrl_c_stops_cleanly_with_130() {
    assert_clean_stop(&[Signal::SIGINT], 130, "SIGINT");
}

#[test]
fn sigterm_stops_cleanly_with_143() {
    assert_clean_stop(&[Signal::SIGTERM], 143, "SIGTERM");
}

#[test]
fn sighup_stops_cleanly_with_129() {
    assert_clean_stop(&[Signal::SIGHUP], 129, "SIGHUP");
}

#[test]
fn a_second_ctrl_c_while_cleaning_up_leaves_nothing_behind() {
    let (status, _, _, seed) = interrupt(&[Signal::SIGINT, Signal::SIGINT, Signal::SIGINT]);
    assert_eq!(status, Some(130));
    assert!(processes_with(&seed).is_empty(), "workers left behind");
}

#[test]
fn interrupted_human_output_shows_what_finished() {
    let seed = unique_seed();
    let child = spawn(&[
        "-m", "mutex", "-p", "2", "-i", "1", "-w", "20s", "-t", "5", "--seed", &seed,
    ]);
    let parent = child.id();
    assert!(eventually(10.0, || children_of(parent).len() == 2));
    signal(parent, Signal::SIGINT);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130));
    assert!(
        text.contains("interrupted by SIGINT: only the 0 trials that finished are shown"),
        "{text}"
    );
    assert!(processes_with(&seed).is_empty(), "workers left behind");
}
