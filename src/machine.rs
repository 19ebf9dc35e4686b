//! The machine a run happened on, as `json` records it.

use serde::Serialize;

/// Logical CPUs and operating system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
