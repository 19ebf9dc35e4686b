//! The machine a run happened on: what `json` records, and what the diagnosis of a quiet run
//! is built from.

use serde::Serialize;

/// Logical CPUs and operating system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    /// What std::thread::available_parallelism reports (affinity and cgroup limits applied).
    pub logical_cpus: u64,
    /// std::env::consts::OS, e.g. "linux".
    pub os: String,
    /// The kernel release, e.g. "6.18.0"; `None` when it cannot be read.
    pub kernel: Option<String>,
}

impl Machine {
    /// Looks at this machine.
    pub fn detect() -> Machine {
        Machine {
            logical_cpus: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
            os: std::env::consts::OS.to_string(),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        }
    }
}

/// The CPUs racecount may use and how busy they were just before the run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Load {
    /// CPUs in racecount's affinity mask (sched_getaffinity), not the machine's count.
    pub cpus: u32,
    /// Share of the last 10 s in which some task waited for a CPU, in percent
    /// (`/proc/pressure/cpu`, "some avg10"); `None` where the kernel has no PSI.
    pub cpu_pressure_pct: Option<f64>,
    /// The 1-minute load average (`/proc/loadavg`).
    pub loadavg_1m: Option<f64>,
}

impl Load {
    /// Reads the affinity mask, CPU pressure and load average now.
    pub fn detect() -> Load {
        Load {
            cpus: allowed_cpus(),
            cpu_pressure_pct: std::fs::read_to_string("/proc/pressure/cpu")
                .ok()
                .and_then(|text| pressure_some_avg10(&text)),
            loadavg_1m: std::fs::read_to_string("/proc/loadavg")
                .ok()
                .and_then(|text| text.split_whitespace().next()?.parse().ok()),
        }
    }

    /// Whether other work competed for the CPUs: CPU pressure of 20 % or more, or (without
    /// PSI) a load average at or above the CPUs racecount may use.
    pub fn busy(&self) -> bool {
        match (self.cpu_pressure_pct, self.loadavg_1m) {
            (Some(pressure), _) => pressure >= 20.0,
            (None, Some(load)) => load >= f64::from(self.cpus),
            (None, None) => false,
        }
    }

    /// "CPU pressure 87%" or "load average 4.10", whichever was read.
    pub fn describe(&self) -> String {
        match (self.cpu_pressure_pct, self.loadavg_1m) {
            (Some(p), _) => format!("CPU pressure {p:.0}%"),
            (None, Some(l)) => format!("load average {l:.2}"),
            (None, None) => "no load figures".into(),
        }
    }
}

/// How many CPUs this process may run on (1 when the mask cannot be read).
pub fn allowed_cpus() -> u32 {
    let Ok(set) = nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) else {
        return 1;
    };
    let n = (0..nix::sched::CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .count();
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

/// The "some avg10=" figure of `/proc/pressure/cpu`.
fn pressure_some_avg10(text: &str) -> Option<f64> {
    let line = text.lines().find(|l| l.starts_with("some "))?;
    let field = line
        .split_whitespace()
        .find_map(|f| f.strip_prefix("avg10="))?;
    field.parse().ok()
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
    fn busy_prefers_pressure_then_the_load_average() {
        let load = |p, l| Load {
            cpus: 2,
            cpu_pressure_pct: p,
            loadavg_1m: l,
        };
        assert!(load(Some(50.0), Some(0.1)).busy());
        assert!(!load(Some(5.0), Some(9.0)).busy());
        assert!(load(None, Some(2.5)).busy());
        assert!(!load(None, Some(1.0)).busy());
    }

    #[test]
    fn the_affinity_mask_allows_at_least_one_cpu() {
        assert!(allowed_cpus() >= 1);
    }
}
