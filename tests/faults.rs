//! Real faults with real processes and signals: racecount stops cleanly, says what happened,
//! exits with the documented status and leaves no process or file behind.

mod common;
use common::*;

use nix::sys::signal::Signal;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[test]
fn a_worker_killed_mid_window_is_named_and_nothing_is_left_behind() {
    killed_mid_window("-t 1");
}

#[test]
fn a_pooled_worker_killed_mid_window_is_reported_the_same_way() {
    killed_mid_window("--pool -t 5");
}

/// A worker keeps racecount's own handlers from the fork; in a worker they restore the default
/// action, so SIGTERM ends the worker as it ends any program, and the parent names it.
#[test]
fn a_worker_sent_sigterm_dies_by_it_and_is_named() {
    killed_by(Signal::SIGTERM, "-t 1");
}

fn killed_mid_window(extra: &str) {
    killed_by(Signal::SIGKILL, extra);
}

fn killed_by(sig: Signal, extra: &str) {
    let run = Running::start(&format!("-m unlocked -p 3 -i 1 -w 20s {extra}"));
    let victim = *run.workers(3).iter().max().unwrap();
    signal(victim, sig);
    let end = run.end();
    let err = &end.stderr;
    assert_eq!(end.code, Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "(pid {victim}) was killed by {} after 0 of 1",
            sig.as_str()
        )),
        "{err}"
    );
    assert!(err.contains("worker "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_worker_killed_while_holding_the_mutex_is_named_and_nobody_hangs() {
    // One worker takes the lock and busy-waits 20 s inside it; the other two sleep in the
    // mutex's futex. The holder is the one worker not blocked in futex(2) once the other two
    // are (a worker still waiting at the start gate is blocked in read(2) instead).
    let run = Running::start("-m mutex -p 3 -i 1 -w 20s -t 1");
    let in_futex = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/syscall"))
            .is_ok_and(|s| s.starts_with(&format!("{} ", libc::SYS_futex)))
    };
    let free =
        |kids: &[u32]| -> Vec<u32> { kids.iter().copied().filter(|&k| !in_futex(k)).collect() };
    let kids = run.workers_when(3, "with one lock holder", |kids| free(kids).len() == 1);
    let holder = free(&kids)[0];
    signal(holder, Signal::SIGKILL);
    let end = run.end();
    let err = &end.stderr;
    assert_eq!(end.code, Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "(pid {holder}) was killed by SIGKILL after 0 of 1 increments while holding the lock"
        )),
        "{err}"
    );
}

/// Starts `-m mutex --lock LOCK -p 2 -i 1 -w WINDOW -t 1`, kills the worker holding the lock
/// once the other waits for it in futex(2), and returns (holder pid, stderr, exit code).
fn kill_the_holder(lock: &str, window: &str) -> (u32, String, Option<i32>) {
    let run = Running::start(&format!(
        "-m mutex --lock {lock} -p 2 -i 1 -w {window} -t 1"
    ));
    let in_futex = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/syscall"))
            .is_ok_and(|s| s.starts_with(&format!("{} ", libc::SYS_futex)))
    };
    let kids = run.workers_when(2, "with one lock holder", |kids| {
        kids.iter().filter(|&&k| in_futex(k)).count() == 1
    });
    let holder = *kids.iter().find(|&&k| !in_futex(k)).unwrap();
    signal(holder, Signal::SIGKILL);
    let end = run.end();
    (holder, end.stderr, end.code)
}

#[test]
fn a_dead_holder_of_a_robust_lock_is_recovered_and_the_other_worker_finishes() {
    let (holder, err, code) = kill_the_holder("robust", "1s");
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "(pid {holder}) was killed by SIGKILL after 0 of 1 increments while holding the \
             lock; the lock was recovered and the other workers finished, total 1;"
        )),
        "{err}"
    );
}

#[test]
fn a_dead_holder_of_a_pthread_lock_leaves_the_other_waiting_until_it_is_stopped() {
    let (holder, err, code) = kill_the_holder("pthread", "20s");
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(&format!(
            "(pid {holder}) was killed by SIGKILL after 0 of 1 increments while holding the \
             lock; the other workers were still waiting for the lock 2s later and were stopped"
        )),
        "{err}"
    );
}

#[test]
fn a_stopped_worker_ends_in_a_timeout_that_names_it() {
    stopped_worker("");
}

#[test]
fn a_stopped_pooled_worker_is_bounded_by_the_timeout_too() {
    stopped_worker("--pool");
}

fn stopped_worker(extra: &str) {
    // Each worker sleeps 400ms, then makes its one increment: the other worker needs about
    // 400ms and almost no CPU, so it finishes 1.6s before the 2s timeout even on a busy or
    // one-CPU machine (a woken sleeper waits milliseconds for a CPU, not seconds), and the
    // test has 400ms after seeing both workers asleep to stop one before it is done.
    let run = Running::start(&format!(
        "-m unlocked -p 2 -i 1 -w 0 --sleep 400ms -t 1 --timeout 2s {extra}"
    ));
    // Stopped before it passes the start gate, a worker would keep its copy of the gate
    // pipe's write end open and hold the other worker at the gate too: wait for both to be
    // in their sleep.
    let asleep = |pid: &u32| {
        std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|s| {
            [libc::SYS_nanosleep, libc::SYS_clock_nanosleep]
                .iter()
                .any(|n| s.starts_with(&format!("{n} ")))
        })
    };
    let workers = run.workers_when(2, "asleep", |kids| kids.iter().all(asleep));
    let stopped = *workers.iter().max().unwrap();
    let other = *workers.iter().min().unwrap();
    signal(stopped, Signal::SIGSTOP);
    let end = run.end();
    let err = &end.stderr;
    assert_eq!(end.code, Some(3), "{err}");
    assert!(err.contains("not finished after --timeout 2s"), "{err}");
    assert!(err.contains(&format!("(pid {stopped}, ")), "{err}");
    assert!(!err.contains(&format!("(pid {other}, ")), "{err}");
}

#[test]
fn a_trial_that_cannot_end_is_bounded_by_the_timeout() {
    // iters near u64::MAX is accepted and runs; --timeout ends it.
    let out = run(&args(
        "-m atomic -p 1 -w 0 -i 18446744073709551615 --timeout 300ms",
    ));
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
        println!("skipped: needs root to run racecount as user nobody under RLIMIT_NPROC");
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
        .args(args("-m atomic -p 2 -i 1 -w 1ms -t 1000000 -f totals"))
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
    let mut run = Running::start("-m atomic -p 2 -i 1 -t 18446744073709551615 -f totals");
    assert_eq!(run.line(), "2");
    run.close_stdout();
    let end = run.end();
    assert_eq!(end.code, Some(0), "{}", end.stderr);
    // Only the announcement that such a run is long, before it started; nothing at the end.
    let said: Vec<&str> = end.stderr.lines().collect();
    assert_eq!(said.len(), 1, "{}", end.stderr);
    assert!(
        said[0].starts_with("racecount: warning: this run takes at least"),
        "{}",
        end.stderr
    );
}

#[test]
fn a_closed_pipe_still_lets_the_run_write_its_exports() {
    // `racecount ... --export-json FILE | head -1`: the reader leaves after the first line;
    // the run goes on and writes the file it was asked for.
    let dir = std::env::temp_dir().join(format!("racecount-pipe-{}", unique_seed()));
    std::fs::create_dir_all(&dir).unwrap();
    let (file, page) = (dir.join("e.json"), dir.join("e.html"));
    let mut run = Running::start(&format!(
        "-m atomic -p 2 -i 1 -t 200 --export-json {} --export-html {}",
        file.display(),
        page.display()
    ));
    assert!(run.line().starts_with("racecount "));
    run.close_stdout();
    let end = run.end();
    assert_eq!(end.code, Some(0), "{}", end.stderr);
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(doc["results"][0]["summary"]["trials"], 200);
    let page = std::fs::read_to_string(&page).unwrap();
    let (_, blob) = page
        .split_once(r#"id="racecount-data">"#)
        .expect("the page's data");
    let blob: serde_json::Value = serde_json::from_str(&blob[..blob.find("</script>").unwrap()])
        .expect("the page's data is json");
    assert_eq!(blob["report"]["results"][0]["summary"]["trials"], 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_device_is_one_line_and_a_failure() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(args("-m atomic -t 2"))
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
    // Compared before and after: other programs (other racecount checkouts among them) may
    // keep files of their own there.
    let tmp = std::env::temp_dir();
    let tmp = tmp.to_str().unwrap();
    let (shm_before, tmp_before) = (listing("/dev/shm"), listing(tmp));
    let out = run(&args("-m all -t 3 --pool"));
    assert_eq!(out.status.code(), Some(0));
    let new = |dir: &str, before: &[String]| -> Vec<String> {
        let mut now = listing(dir);
        now.retain(|n| !before.contains(n));
        now
    };
    assert_eq!(new("/dev/shm", &shm_before), Vec::<String>::new());
    let mut in_tmp = new(tmp, &tmp_before);
    in_tmp.retain(|n| n.starts_with("racecount") && !n.contains("nproc"));
    assert_eq!(in_tmp, Vec::<String>::new());
}
