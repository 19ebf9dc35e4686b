//! Fixed reports for the renderers' exact-text tests.

use crate::model::machine::Load;
use crate::model::mode::Mode;
use crate::model::settings::Params;
use crate::model::settings::Settings;
use crate::model::window::Window;
use crate::results::{Group, Keep, Report, Seen, Trial};

/// Keeps everything, as json does.
pub(crate) const ALL: Keep = Keep {
    trials: true,
    workers: true,
};

pub(crate) fn params(procs: u32) -> Params {
    Params {
        procs,
        iters: 3,
        window: Window::Busy(1_000),
    }
}

/// A group of `mode` whose trials end at `totals`; trial i takes (i + 1) × 6 µs from gate
/// release and 1 ms in all, and worker w completes every increment.
pub(crate) fn group(mode: Mode, params: Params, totals: &[u64]) -> Group {
    let mut g = Group::new(mode, params);
    for (i, &total) in totals.iter().enumerate() {
        let trial = Trial {
            total,
            elapsed_ns: (i as u64 + 1) * 6_000,
            wall_ns: 1_000_000,
            completed: vec![params.iters; params.procs as usize],
            spans: Vec::new(),
            trace: None,
            retries: 0,
        };
        g.add(&trial, Seen::default(), ALL);
    }
    g
}

pub(crate) fn settings(modes: &[Mode], procs: &[u32], trials: u64) -> Settings {
    Settings {
        procs: procs.to_vec(),
        iters: vec![3],
        trials,
        modes: modes.to_vec(),
        seed: 42,
        load: load(),
        ..Settings::default()
    }
}

/// Two CPUs, idle: what the fixed reports were run on.
pub(crate) fn load() -> Load {
    Load {
        cpus: 2,
        cpu_pressure_pct: Some(0.0),
        loadavg_1m: Some(0.05),
    }
}

/// unlocked loses in two of three trials, atomic in none: 2 procs × 3 increments.
pub(crate) fn two_modes() -> Report {
    Report {
        settings: settings(&[Mode::Unlocked, Mode::Atomic], &[2], 3),
        groups: vec![
            group(Mode::Unlocked, params(2), &[6, 5, 4]),
            group(Mode::Atomic, params(2), &[6, 6, 6]),
        ],
        stop: None,
    }
}
