//! Real faults with real processes and signals: racecount stops cleanly, says what happened,
//! exits with the documented status and leaves no process or file behind.

mod common;
use common::*;

use nix::sys::signal::Signal;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

fn finish(child: std::process::Child) -> (Option<i32>, String, String) {
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_worker_killed_mid_window_is_named_and_nothing_is_left_behind() {
    killed_mid_window(&["-t", "1"]);
}

#[test]
fn a_pooled_worker_killed_mid_window_is_reported_the_same_way() {
    killed_mid_window(&["--pool", "-t", "5"]);
}

fn killed_mid_window(extra: &[&str]) {
    let seed = unique_seed();
    let mut args = vec![
        "-m", "unlocked", "-p", "3", "-i", "1", "-w", "20s", "--seed", &seed,
    ];
    args.extend_from_slice(extra);
    let child = spawn(&args);
    let parent = child.id();
    assert!(
        eventually(10.0, || children_of(parent).len() == 3),
        "workers did not start"
    );
    let victim = *children_of(parent).iter().max().unwrap();
    signal(victim, Signal::SIGKILL);
    let (code, _, err) = finish(child);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "(pid {victim}) was killed by SIGKILL after 0 of 1"
        )),
        "{err}"
    );
    assert!(err.contains("worker "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(processes_with(&seed).is_empty(), "workers left behind");
}

#[test]
fn a_worker_killed_while_holding_the_mutex_is_named_and_nobody_hangs() {
    // One worker takes the lock and busy-waits 20 s inside it; the other two sleep in the
    // mutex's futex. The holder is the one worker not blocked in futex(2) once the other two
    // are (a worker still waiting at the start gate is blocked in read(2) instead).
    let seed = unique_seed();
    let child = spawn(&[
        "-m", "mutex", "-p", "3", "-i", "1", "-w", "20s", "-t", "1", "--seed", &seed,
    ]);
    let parent = child.id();
    let in_futex = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/syscall"))
            .is_ok_and(|s| s.starts_with(&format!("{} ", libc::SYS_futex)))
    };
    let mut holder = None;
    let found = eventually(10.0, || {
        let kids = children_of(parent);
        let free: Vec<u32> = kids.iter().copied().filter(|&k| !in_futex(k)).collect();
        if kids.len() == 3 && free.len() == 1 {
            holder = Some(free[0]);
            true
        } else {
            false
        }
    });
    assert!(found, "no single lock holder seen");
    let holder = holder.unwrap();
    signal(holder, Signal::SIGKILL);
    let (code, _, err) = finish(child);
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "(pid {holder}) was killed by SIGKILL after 0 of 1 increments while holding the lock"
        )),
        "{err}"
    );
    assert!(processes_with(&seed).is_empty(), "workers left behind");
}

#[test]
fn a_stopped_worker_ends_in_a_timeout_that_names_it() {
    stopped_worker(&[]);
}

#[test]
fn a_stopped_pooled_worker_is_bounded_by_the_timeout_too() {
    stopped_worker(&["--pool"]);
}

fn stopped_worker(extra: &[&str]) {
    let seed = unique_seed();
    let mut args = vec![
        "-m",
        "unlocked",
        "-p",
        "2",
        "-i",
        "500",
        "-w",
        "1ms",
        "-t",
        "1",
        "--timeout",
        "2s",
        "--seed",
        &seed,
    ];
    args.extend_from_slice(extra);
    let child = spawn(&args);
    let parent = child.id();
    assert!(
        eventually(10.0, || {
            let kids = children_of(parent);
            kids.len() == 2 && kids.iter().all(|&k| state_of(k) == Some('R'))
        }),
        "workers did not start racing"
    );
    let stopped = *children_of(parent).iter().max().unwrap();
    signal(stopped, Signal::SIGSTOP);
    let (code, _, err) = finish(child);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("not finished after --timeout 2s"), "{err}");
    assert!(err.contains(&format!("(pid {stopped}, ")), "{err}");
    assert!(
        !err.contains(&format!("(pid {}, ", stopped - 1)) || stopped == 0,
        "{err}"
    );
    assert!(processes_with(&seed).is_empty(), "workers left behind");
}

#[test]
fn a_trial_that_cannot_end_is_bounded_by_the_timeout() {
    // iters near u64::MAX is accepted and runs; --timeout ends it.
    let out = run(&[
        "-m",
        "atomic",
        "-p",
        "1",
        "-w",
        "0",
        "-i",
        "18446744073709551615",
        "--timeout",
        "300ms",
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("unfinished workers: 0 (pid "), "{err}");
    assert!(err.contains("/18446744073709551615)"), "{err}");
}

#[test]
fn a_fork_refused_by_the_process_limit_is_reported() {
    // As user nobody under RLIMIT_NPROC 3, racecount (1) and 2 workers fit. Once a third
    // process of nobody's exists, the next trial's second fork fails with EAGAIN.
    if !nix::unistd::geteuid().is_root() {
        // Not as root: run as we are; the limit then counts our own processes, too many to pin.
        eprintln!("skipped: needs root to run racecount as nobody");
        return;
    }
    let dir = std::env::temp_dir().join(format!("racecount-nproc-{}", unique_seed()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("racecount");
    std::fs::copy(env!("CARGO_BIN_EXE_racecount"), &bin).unwrap();
    let open = |p: &std::path::Path, mode| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    open(&dir, 0o755);
    open(&bin, 0o755);
    use std::os::unix::process::CommandExt;
    let mut child = Command::new("prlimit")
        .arg("--nproc=3:3")
        .arg(&bin)
        .args([
            "-m", "atomic", "-p", "2", "-i", "1", "-w", "1ms", "-t", "1000000", "-f", "totals",
        ])
        .uid(65534)
        .gid(65534)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    assert_eq!(first, "2\n", "racecount ran trials under the limit");
    let mut hog = Command::new("sleep")
        .arg("30")
        .uid(65534)
        .gid(65534)
        .spawn()
        .unwrap();
    let mut rest = String::new();
    lines.read_to_string(&mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    hog.kill().unwrap();
    hog.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(status.code(), Some(3), "{err}");
    assert!(
        err.contains(
            "could not start worker 1: fork: Resource temporarily unavailable (os error 11)"
        ),
        "{err}"
    );
    assert!(
        err.contains("the workers already started were stopped"),
        "{err}"
    );
    assert!(children_of(child.id()).is_empty());
}

#[test]
fn a_closed_pipe_ends_the_run_quietly() {
    // Also an enormous trial count: nothing is allocated up front for it.
    let mut child = spawn(&[
        "-m",
        "atomic",
        "-p",
        "2",
        "-i",
        "1",
        "-t",
        "18446744073709551615",
        "-f",
        "totals",
    ]);
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert_eq!(line, "2\n");
    drop(lines);
    let (code, _, err) = finish(child);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err, "");
}

#[test]
fn a_full_device_is_one_line_and_a_failure() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(["-m", "atomic", "-t", "2"])
        .stdout(full)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("cannot write the output") && err.contains("No space left"),
        "{err}"
    );
}

#[test]
fn no_file_is_left_in_dev_shm_or_tmp() {
    let listing = |dir: &str| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let shm_before = listing("/dev/shm");
    let out = run(&["-m", "all", "-t", "3", "--pool"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(listing("/dev/shm"), shm_before);
    let tmp = std::env::temp_dir();
    assert!(
        !listing(tmp.to_str().unwrap())
            .iter()
            .any(|n| n.starts_with("racecount") && !n.contains("nproc"))
    );
}
