//! The machine a run happened on: what `json` records, and what the diagnosis of a quiet run
//! is built from. Plain data; the `probe` layer reads it off the machine, once.

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
    /// No figures: one CPU, no pressure or load read (what a [`Settings`] made by hand
    /// carries).
    ///
    /// [`Settings`]: super::settings::Settings
    pub fn unknown() -> Load {
        Load {
            cpus: 1,
            cpu_pressure_pct: None,
            loadavg_1m: None,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
