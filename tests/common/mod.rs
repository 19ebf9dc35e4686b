//! Helpers shared by the integration tests: run the built binary, read its totals, find
//! leftover processes.
#![allow(dead_code)]

use std::process::Output;

pub fn racecount() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_racecount"));
    cmd.env_remove("NO_COLOR");
    cmd
}

/// Runs racecount with `args` and returns its output, whatever the exit status.
pub fn run(args: &[&str]) -> Output {
    racecount().args(args).output().expect("racecount runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8 stdout")
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8 stderr")
}

/// The last field of each line of `--format totals` output, as numbers.
pub fn totals(output: &Output) -> Vec<u64> {
    stdout(output)
        .lines()
        .map(|l| l.split_whitespace().last().unwrap().parse().unwrap())
        .collect()
}

/// Pids of live processes whose command line contains `marker` (forked workers share their
/// parent's command line, so a unique --seed finds them).
pub fn processes_with(marker: &str) -> Vec<u32> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let words: Vec<String> = cmdline
            .split(|&b| b == 0)
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        if words.iter().any(|w| w == marker) {
            found.push(pid);
        }
    }
    found
}

/// Children of `parent` that are alive (or zombies), from /proc.
pub fn children_of(parent: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let ppid: u32 = rest.split_whitespace().nth(1).unwrap().parse().unwrap();
        if ppid == parent {
            kids.push(pid);
        }
    }
    kids
}

/// A seed no other test or run uses, as a marker for the processes of one run.
pub fn unique_seed() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{}",
        900_000_000_000 + (nanos % 99_999_999_999) as u64 + u64::from(std::process::id())
    )
}

/// Waits up to `secs` for `check` to hold, polling every 10 ms.
pub fn eventually(secs: f64, mut check: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    while std::time::Instant::now() < end {
        if check() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    check()
}

/// racecount started in the background with stdout and stderr piped.
pub fn spawn(args: &[&str]) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("racecount starts")
}

/// The one-letter scheduler state of `pid` (R running, S sleeping, T stopped, Z zombie).
pub fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

pub fn signal(pid: u32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
}
