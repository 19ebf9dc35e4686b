//! Bad input: one line on stderr naming the option, exit status 2, nothing forked or printed.

mod common;
use common::*;

fn assert_refused(args: &[&str], needle: &str) {
    let out = run(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(stdout(&out).is_empty(), "{args:?} printed to stdout");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(err.starts_with("racecount: error: "), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err} lacks {needle}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn zero_counts_are_refused() {
    assert_refused(&["--procs", "0"], "--procs");
    assert_refused(&["--iters", "0"], "--iters");
    assert_refused(&["--trials", "0"], "--trials");
    assert_refused(&["-p", "1,0,2"], "must be at least 1");
}

#[test]
fn negative_and_non_numeric_counts_are_refused() {
    assert_refused(&["--procs", "-3"], "not negative");
    assert_refused(&["--iters", "-1"], "--iters");
    assert_refused(&["--trials", "ten"], "whole number");
    assert_refused(&["--procs", "1.5"], "whole number");
    assert_refused(&["--seed", "x"], "--seed");
    assert_refused(&["--trials", "99999999999999999999999"], "at most");
}

#[test]
fn unknown_modes_are_refused_with_the_list() {
    assert_refused(&["--mode", "spin"], "unlocked, per-access, mutex, atomic");
    assert_refused(&["--mode", "mutex,,atomic"], "--mode");
}

#[test]
fn bad_durations_are_refused() {
    assert_refused(&["--window", "1parsec"], "--window");
    assert_refused(&["--window", "-1us"], "negative");
    assert_refused(&["--sleep", "soon"], "--sleep");
    assert_refused(&["--jitter", "99999999999999999999s"], "--jitter");
    assert_refused(&["--timeout", "0"], "--timeout");
}

#[test]
fn overflowing_expected_total_is_refused() {
    assert_refused(&["-p", "2", "-i", "18446744073709551615"], "overflows");
}

#[test]
fn more_procs_than_the_machine_has_room_for_is_refused() {
    // pid_max here is 32768; no machine of this kind has room for 4 million processes.
    assert_refused(&["--procs", "4000000"], "room for at most");
}

#[test]
fn unknown_flags_are_refused() {
    assert_refused(&["--bogus"], "--bogus");
    assert_refused(&["--format", "xml"], "--format");
}

#[test]
fn non_utf8_arguments_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let out = racecount()
        .arg("--mode")
        .arg(std::ffi::OsStr::from_bytes(b"\xff\xfe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
}

#[test]
fn help_and_version_succeed() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("CPython"), "the default window is explained");
    let out = run(&["--version"]);
    assert_eq!(
        stdout(&out),
        format!("racecount {}\n", env!("CARGO_PKG_VERSION"))
    );
}
