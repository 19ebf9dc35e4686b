//! Helpers shared by the integration tests: run the built binary, read its totals, find
//! leftover processes.
#![allow(dead_code)]

pub mod readme;
pub mod terminal;

use nix::sys::signal::Signal;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdout, Output};

pub fn racecount() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_racecount"));
    cmd.env_remove("NO_COLOR");
    cmd
}

/// A command line written as one string, split at spaces: `args("-m unlocked -p 10 -i 20")`.
pub fn args(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

/// Runs racecount with `args` and returns its output, whatever the exit status.
pub fn run<S: AsRef<OsStr>>(args: &[S]) -> Output {
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

/// The environment variable whose unique value marks the processes of one run (see
/// [`processes_with`]): a `--seed` would do as well, but racecount warns about a seed that
/// drives nothing.
pub const MARKER: &str = "RACECOUNT_TEST_MARKER";

/// Pids of live processes whose command line contains `marker`, or whose environment has
/// [`MARKER`]`=marker` (forked workers share their parent's command line and environment).
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
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let marked = format!("{MARKER}={marker}");
        let words: Vec<String> = cmdline
            .split(|&b| b == 0)
            .chain(environ.split(|&b| b == 0))
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        if words.iter().any(|w| *w == marker || *w == marked) {
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
pub fn spawn<S: AsRef<OsStr>>(args: &[S]) -> std::process::Child {
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

pub fn signal(pid: u32, signal: Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
}

/// How long a test waits for something that takes milliseconds on a quiet machine (workers
/// forked, a lock taken): far more than 10x, so that a busy or one-CPU machine passes too.
pub const PATIENCE_SECS: f64 = 10.0;

/// The CPUs this process may run on (sched_getaffinity: `taskset -c 0` gives 1, whatever the
/// machine has).
pub fn usable_cpus() -> usize {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("affinity");
    (0..nix::sched::CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .count()
}

/// The first CPU this process may run on.
pub fn first_usable_cpu() -> usize {
    let set = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)).expect("affinity");
    (0..nix::sched::CpuSet::count())
        .find(|&cpu| set.is_set(cpu).unwrap_or(false))
        .expect("a usable CPU")
}

/// racecount kept to one CPU, as `taskset -c CPU racecount` keeps it (sched_setaffinity
/// between fork and exec), without needing taskset.
pub fn racecount_on_one_cpu() -> std::process::Command {
    use std::os::unix::process::CommandExt;
    let mut set = nix::sched::CpuSet::new();
    set.set(first_usable_cpu()).expect("a CPU number");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"));
    // SAFETY: between fork and exec the closure makes one system call and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
                .map_err(std::io::Error::from)
        });
    }
    cmd.env_remove("NO_COLOR");
    cmd
}

/// False, after printing why, when fewer than `cpus` CPUs are usable: the caller returns
/// early. (Run `cargo test -- --nocapture` to see the reason.)
pub fn has_cpus(cpus: usize, why: &str) -> bool {
    let usable = usable_cpus();
    if usable < cpus {
        println!("skipped: {why} needs {cpus} CPUs, this process may use {usable}");
        return false;
    }
    true
}

/// A race that loses updates on any machine: 4 workers x 100 increments with `sched_yield`
/// between each read and write. Append a mode (`-m unlocked`) and the rest.
///
/// Why every trial loses, also on one CPU beside busy loops: a trial can only end exact if no
/// write ever lands between another increment's read and write (were it exact, the writes
/// would form one chain 1, 2, ..., N, each reading the value the write before it wrote). Once
/// the gate opens, all 4 workers are runnable and never block, and each calls `sched_yield`
/// inside its window 100 times. A yield hands the CPU to another runnable task (CFS skips the
/// caller; EEVDF pushes its deadline one slice back); if that task is another unfinished
/// worker of the trial, its next step is a write that lands in the yielder's window, or a
/// read that puts two windows open at once, and the first of the two writes lands in the
/// other's: a loss either way. On two CPUs the workers also run truly at once. Exactness
/// needs the scheduler to pass over 3 runnable workers at each of the first worker's 100
/// yields; even if each yield went to one of 4 busy loops (pinned to the same CPU) rather
/// than a worker, 4 of 7 at the very best, the odds are below (4/7)^100 < 1e-24 per trial.
/// Measured in the worst case (`taskset -c 0`, 4 busy loops pinned to CPU 0): see README.
/// The argument assumes the yielder's siblings are runnable on its own CPU; once, in .ci/run,
/// a `--threads` trial beside tests/locks.rs's lock tests ended exact (its siblings were
/// queued on the other CPU), so the threads' test compares a `--schedule` run instead.
pub const YIELD_RACE: &str = "-w yield -p 4 -i 100";

/// racecount running in the background, its processes marked by a unique [`MARKER`].
pub struct Running {
    child: Child,
    out: Option<BufReader<ChildStdout>>,
    seed: String,
}

impl Ended {
    /// The status a shell reports in `$?`: the exit code, or 128 + the killing signal.
    pub fn shell_status(&self) -> i32 {
        self.code
            .or(self.signal.map(|s| 128 + s))
            .expect("exited or signalled")
    }
}

/// How a background run ended.
pub struct Ended {
    pub code: Option<i32>,
    /// The signal that killed racecount, if one did.
    pub signal: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Running {
    /// Starts racecount with `line` (see [`args`]) and a unique [`MARKER`].
    pub fn start(line: &str) -> Running {
        let seed = unique_seed();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(args(line))
            .env(MARKER, &seed)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("racecount starts");
        let out = Some(BufReader::new(child.stdout.take().unwrap()));
        Running { child, out, seed }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (up to [`PATIENCE_SECS`]) until exactly `n` workers exist and returns their pids.
    pub fn workers(&self, n: usize) -> Vec<u32> {
        self.workers_when(n, "started", |_| true)
    }

    /// Waits until exactly `n` workers exist and `ready` holds for their pids.
    pub fn workers_when(
        &self,
        n: usize,
        what: &str,
        mut ready: impl FnMut(&[u32]) -> bool,
    ) -> Vec<u32> {
        let mut seen = Vec::new();
        let ok = eventually(PATIENCE_SECS, || {
            seen = children_of(self.pid());
            seen.len() == n && ready(&seen)
        });
        assert!(
            ok,
            "{n} workers not {what} within {PATIENCE_SECS}s: {seen:?}"
        );
        seen
    }

    /// The next line of stdout, without its newline.
    pub fn line(&mut self) -> String {
        let mut line = String::new();
        self.out
            .as_mut()
            .expect("stdout open")
            .read_line(&mut line)
            .unwrap();
        line.trim_end().to_string()
    }

    /// Closes racecount's stdout, as `| head -1` does after its line.
    pub fn close_stdout(&mut self) {
        self.out = None;
    }

    pub fn signal(&self, sig: Signal) {
        signal(self.pid(), sig);
    }

    /// Waits for racecount to exit and checks that none of its processes is left.
    pub fn end(mut self) -> Ended {
        let mut stdout = String::new();
        if let Some(out) = self.out.as_mut() {
            out.read_to_string(&mut stdout).unwrap();
        }
        let status = self.child.wait().unwrap();
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert!(
            processes_with(&self.seed).is_empty(),
            "workers left behind; stderr: {stderr}"
        );
        Ended {
            code: status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&status),
            stdout,
            stderr,
        }
    }
}
