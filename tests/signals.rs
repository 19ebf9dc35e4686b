//! Ctrl-C, SIGTERM and SIGHUP during a run: every worker is killed and reaped, the finished
//! trials are printed, and the exit status is 128 + the signal.

mod common;
use common::*;

use nix::sys::signal::Signal;

/// Starts a long mutex run in totals format, waits for two finished trials, sends `signals`;
/// returns how it ended (no process left, checked) and every total it printed.
fn interrupt(signals: &[Signal]) -> (Ended, Vec<String>) {
    let mut run = Running::start("-m mutex -p 4 -i 5 -w 1ms -t 100000 -f totals");
    let mut lines = vec![run.line(), run.line()];
    for &s in signals {
        run.signal(s);
    }
    let end = run.end();
    lines.extend(end.stdout.lines().map(str::to_string));
    (end, lines)
}

fn assert_clean_stop(signals: &[Signal], code: i32, name: &str) {
    let (end, lines) = interrupt(signals);
    assert_eq!(end.code, Some(code), "{}", end.stderr);
    assert!(lines.len() >= 2);
    assert!(
        lines.iter().all(|l| l == "20"),
        "a finished trial's total is wrong: {lines:?}"
    );
    assert_eq!(
        end.stderr,
        format!("racecount: interrupted by {name}; every worker was stopped\n")
    );
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
    let (end, _) = interrupt(&[Signal::SIGINT, Signal::SIGINT, Signal::SIGINT]);
    assert_eq!(end.code, Some(130));
}

#[test]
fn interrupted_human_output_shows_what_finished() {
    let run = Running::start("-m mutex -p 2 -i 1 -w 20s -t 5");
    run.workers(2);
    run.signal(Signal::SIGINT);
    let end = run.end();
    assert_eq!(end.code, Some(130));
    assert!(
        end.stdout
            .contains("interrupted by SIGINT: only the 0 trials that finished are shown"),
        "{}",
        end.stdout
    );
}
