//! Everything racecount reads off the machine before a run, read once, here, and passed down
//! as data: the machine and its load, the CPUs racecount may use, how many more processes it
//! may start, the terminals, `NO_COLOR`, and a fresh seed. Nothing below this layer probes.

use std::io::IsTerminal;

use crate::model::machine::{Load, Machine};

/// What the machine and the process's surroundings are, at the start of a run.
#[derive(Debug, Clone)]
pub struct Probe {
    pub machine: Machine,
    pub load: Load,
    /// The CPUs racecount may use (sched_getaffinity), in order.
    pub cpus: Vec<usize>,
    /// How many more processes racecount may start at once.
    pub room: ProcessRoom,
    pub stdout_terminal: bool,
    pub stderr_terminal: bool,
    /// Whether NO_COLOR asks for no color: set and not empty (no-color.org).
    pub no_color: bool,
    /// Columns for human output, and whether they are the reader's (see [`output_width`]).
    pub width: (usize, bool),
    /// A seed drawn at random, for a run not given `--seed`.
    pub fresh_seed: u64,
}

impl Probe {
    /// Reads everything now.
    pub fn now() -> Probe {
        let cpus = allowed_cpus();
        Probe {
            machine: machine(),
            load: load(&cpus),
            room: process_room(),
            stdout_terminal: std::io::stdout().is_terminal(),
            stderr_terminal: std::io::stderr().is_terminal(),
            no_color: no_color(std::env::var_os("NO_COLOR")),
            width: output_width(),
            // 48 bits: a seed short enough to read and type back.
            fresh_seed: rand::random::<u64>() >> 16,
            cpus,
        }
    }
}

impl Probe {
    /// A machine as a test describes it: two CPUs, idle, no terminals, no process limit,
    /// seed 0. Reads nothing.
    pub fn fixed() -> Probe {
        Probe {
            machine: Machine {
                logical_cpus: 2,
                os: "linux".into(),
                kernel: None,
            },
            load: Load {
                cpus: 2,
                cpu_pressure_pct: Some(0.0),
                loadavg_1m: Some(0.0),
            },
            cpus: vec![0, 1],
            room: ProcessRoom::unknown(),
            stdout_terminal: false,
            stderr_terminal: false,
            no_color: false,
            width: (80, false),
            fresh_seed: 0,
        }
    }
}

/// Logical CPUs, operating system and kernel release.
pub(crate) fn machine() -> Machine {
    Machine {
        logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
        os: std::env::consts::OS.to_string(),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
    }
}

/// The affinity mask's size, CPU pressure and load average now.
fn load(cpus: &[usize]) -> Load {
    Load {
        cpus: u32::try_from(cpus.len()).unwrap_or(u32::MAX).max(1),
        cpu_pressure_pct: std::fs::read_to_string("/proc/pressure/cpu")
            .ok()
            .and_then(|text| pressure_some_avg10(&text)),
        loadavg_1m: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|text| text.split_whitespace().next()?.parse().ok()),
    }
}

/// The "some avg10=" figure of `/proc/pressure/cpu`.
fn pressure_some_avg10(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    let field = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("avg10="))?;
    field.parse().ok()
}

/// The CPUs this process may run on (sched_getaffinity), in order; empty when the mask cannot
/// be read.
pub(crate) fn allowed_cpus() -> Vec<usize> {
    use nix::sched::{CpuSet, sched_getaffinity};
    match sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..CpuSet::count())
            .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Whether NO_COLOR asks for no color: set and not empty (no-color.org).
fn no_color(value: Option<std::ffi::OsString>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

/// Columns of the terminal on stdout; else COLUMNS when set; else 80. And whether it was
/// one of the first two: only then is a table too wide for the reader stacked.
pub(crate) fn output_width() -> (usize, bool) {
    if let Some((terminal_size::Width(w), _)) = terminal_size::terminal_size_of(std::io::stdout()) {
        return (usize::from(w), true);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&c| c > 0)
        .map_or((80, false), |c| (c, true))
}

/// How many more processes this machine lets racecount start at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessRoom {
    /// None when it could not be read.
    pub limit: Option<u64>,
    /// The figures behind it, for the error message.
    pub why: String,
}

impl ProcessRoom {
    /// No limit known (tests, and machines where nothing can be read).
    pub fn unknown() -> ProcessRoom {
        ProcessRoom {
            limit: None,
            why: String::new(),
        }
    }
}

/// File descriptors the parent needs besides one pidfd per worker (stdio, pipes, slack).
pub(crate) const FDS_BESIDES_WORKERS: u64 = 32;

/// Reads the kernel's pid_max and threads-max, the tasks already running, and (for anyone
/// but root, whom the kernel exempts) RLIMIT_NPROC less this user's tasks.
pub(crate) fn process_room() -> ProcessRoom {
    use nix::sys::resource::{Resource, getrlimit};
    let read =
        |path: &str| -> Option<u64> { std::fs::read_to_string(path).ok()?.trim().parse().ok() };
    let pid_max = read("/proc/sys/kernel/pid_max");
    let threads_max = read("/proc/sys/kernel/threads-max");
    let running = std::fs::read_to_string("/proc/loadavg").ok().and_then(|s| {
        let field = s.split_whitespace().nth(3)?;
        field.split('/').nth(1)?.parse::<u64>().ok()
    });
    let mut limit: Option<u64> = None;
    let mut why = Vec::new();
    if let (Some(cap), Some(running)) = (pid_max.into_iter().chain(threads_max).min(), running) {
        limit = Some(cap.saturating_sub(running));
        why.push(format!(
            "pid_max {}, threads-max {}, {running} tasks running",
            pid_max.map_or("?".into(), |v| v.to_string()),
            threads_max.map_or("?".into(), |v| v.to_string()),
        ));
    }
    if !nix::unistd::geteuid().is_root()
        && let Ok((soft, _)) = getrlimit(Resource::RLIMIT_NPROC)
        && soft != libc::RLIM_INFINITY
    {
        let mine = tasks_of_user(nix::unistd::getuid().as_raw());
        let left = soft.saturating_sub(mine);
        limit = Some(limit.map_or(left, |l| l.min(left)));
        why.push(format!(
            "RLIMIT_NPROC {soft}, {mine} tasks of yours running"
        ));
    }
    // The parent holds one pidfd per worker: RLIMIT_NOFILE's hard limit bounds the workers too
    // (the soft limit is raised to it when needed).
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && hard != libc::RLIM_INFINITY
    {
        let fds = hard.saturating_sub(FDS_BESIDES_WORKERS);
        limit = Some(limit.map_or(fds, |l| l.min(fds)));
        why.push(format!("RLIMIT_NOFILE {hard}: one pidfd per worker"));
    }
    ProcessRoom {
        limit,
        why: why.join("; "),
    }
}

fn tasks_of_user(uid: u32) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| e.metadata().is_ok_and(|m| m.uid() == uid))
        .map(|e| std::fs::read_dir(e.path().join("task")).map_or(1, |tasks| tasks.count() as u64))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pressure_is_read_from_the_some_line() {
        let text = "some avg10=87.50 avg60=12.00 avg300=1.00 total=5\n\
                    full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        assert_eq!(pressure_some_avg10(text), Some(87.5));
        assert_eq!(pressure_some_avg10("full avg10=3.00"), None);
    }

    #[test]
    fn an_empty_no_color_is_ignored() {
        assert!(!no_color(None));
        assert!(!no_color(Some("".into())));
        assert!(no_color(Some("1".into())));
    }

    #[test]
    fn this_machine_allows_a_cpu_and_has_some_room() {
        assert!(!allowed_cpus().is_empty());
        let room = process_room();
        assert!(room.limit.is_some_and(|l| l > 0), "{room:?}");
    }
}
