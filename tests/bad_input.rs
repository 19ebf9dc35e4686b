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

/// A store URL that parses and names a server nobody runs: a refused option must be refused
/// before racecount tries to connect (it would fail with exit 3 otherwise).
const NOWHERE_REDIS: &str = "redis://127.0.0.1:1";
const NOWHERE_PG: &str = "postgres://u@127.0.0.1:1/db";

#[test]
fn leases_stalls_and_fencing_are_refused_where_they_cannot_run() {
    assert_refused(&["--lock", "lease:100ms"], "give --store postgres");
    assert_refused(&["--lock", "lease:0"], "lease of 0");
    assert_refused(&["--lock", "lease:soon"], "lease:TTL");
    for store in [NOWHERE_REDIS, NOWHERE_PG] {
        assert_refused(&["--store", store, "--lock", "lease:0"], "lease of 0");
    }
    assert_refused(
        &["--store", NOWHERE_REDIS, "--lock", "lease:500us"],
        "below its resolution",
    );
    assert_refused(
        &["--store", NOWHERE_PG, "--lock", "lease:1500ns"],
        "below its resolution",
    );
    assert_refused(
        &["--store", "sqlite:/tmp/x.db", "--lock", "lease:1s"],
        "PostgreSQL and Redis",
    );
    assert_refused(&["--stall", "1s", "-m", "mutex"], "give --store");
    assert_refused(
        &[
            "--store",
            NOWHERE_REDIS,
            "--stall",
            "1s",
            "-m",
            "unlocked,atomic",
        ],
        "none of these modes takes a lock",
    );
    assert_refused(&["--store", NOWHERE_REDIS, "--fencing"], "--lock lease:TTL");
    assert_refused(&["--store", NOWHERE_REDIS, "--stall", "1s@2"], "at most 1");
}

#[test]
fn a_joined_run_is_refused_without_a_store_that_hosts_can_meet_through() {
    assert_refused(&["--join", "lesson1", "--hosts", "3"], "give --store");
    assert_refused(
        &["--store", "sqlite:/tmp/x.db", "--join", "a", "--hosts", "2"],
        "PostgreSQL or Redis",
    );
    assert_refused(&["--store", NOWHERE_REDIS, "--join", "a"], "needs --hosts");
    assert_refused(
        &["--store", NOWHERE_REDIS, "--hosts", "2"],
        "goes with --join",
    );
    assert_refused(
        &[
            "--store",
            NOWHERE_REDIS,
            "--join",
            "Lesson_1",
            "--hosts",
            "2",
        ],
        "lowercase letters and digits",
    );
    assert_refused(
        &[
            "--store",
            NOWHERE_REDIS,
            "--join",
            "a",
            "--hosts",
            "2",
            "--pool",
        ],
        "--pool",
    );
}
