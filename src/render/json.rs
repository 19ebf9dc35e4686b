//! `--format json`: one document with the parameters, the machine, and every trial and the
//! summary of each mode at each combination. The schema is documented in the README; bump
//! [`SCHEMA_VERSION`] when a field changes meaning or goes away.

use std::io::{self, Write};

use serde::Serialize;

use super::Render;
use crate::duration::Window;
use crate::machine::Machine;
use crate::results::{Group, Report, Stop};
use crate::stats::{Summary, summarize};

/// The version of the document's layout.
pub const SCHEMA_VERSION: u32 = 1;

/// JSON output.
pub struct Json {
    pub machine: Machine,
}

impl Render for Json {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let document = Document::new(report, &self.machine);
        serde_json::to_writer_pretty(&mut *out, &document)?;
        writeln!(out)
    }
}

#[derive(Serialize)]
struct Document<'r> {
    schema_version: u32,
    racecount_version: &'static str,
    parameters: Parameters,
    machine: &'r Machine,
    stopped: Option<Stopped>,
    results: Vec<Result<'r>>,
}

#[derive(Serialize)]
struct Parameters {
    modes: Vec<&'static str>,
    procs: Vec<u32>,
    iters: Vec<u64>,
    window_ns: Vec<WindowNs>,
    trials: u64,
    sleep_ns: u64,
    jitter_ns: u64,
    seed: u64,
    pool: bool,
}

/// Nanoseconds, or the string "yield".
#[derive(Serialize)]
#[serde(untagged)]
enum WindowNs {
    Nanos(u64),
    Yield(&'static str),
}

impl From<Window> for WindowNs {
    fn from(window: Window) -> WindowNs {
        match window {
            Window::Busy(ns) => WindowNs::Nanos(ns),
            Window::Yield => WindowNs::Yield("yield"),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "reason", rename_all = "lowercase")]
enum Stopped {
    Interrupted { signal: &'static str },
    Failed { message: String },
}

#[derive(Serialize)]
struct Result<'r> {
    mode: &'static str,
    procs: u32,
    iters: u64,
    window_ns: WindowNs,
    expected: u64,
    trials: Vec<TrialOut<'r>>,
    summary: Option<SummaryOut>,
}

#[derive(Serialize)]
struct TrialOut<'r> {
    index: u64,
    total: u64,
    expected: u64,
    lost: u64,
    elapsed_ns: u64,
    wall_ns: u64,
    completed: &'r [u64],
}

#[derive(Serialize)]
struct SummaryOut {
    trials: u64,
    min: u64,
    median: f64,
    max: u64,
    mean: f64,
    stddev: f64,
    trials_with_loss: u64,
    median_lost_pct: f64,
    mean_lost_pct: f64,
    ns_per_increment_median: f64,
    ns_per_increment_mean: f64,
    ns_per_increment_stddev: f64,
    trials_per_sec: Option<f64>,
    verdict: &'static str,
}

impl<'r> Document<'r> {
    fn new(report: &'r Report, machine: &'r Machine) -> Document<'r> {
        let setup = &report.setup;
        Document {
            schema_version: SCHEMA_VERSION,
            racecount_version: env!("CARGO_PKG_VERSION"),
            parameters: Parameters {
                modes: setup.modes.iter().map(|m| m.name()).collect(),
                procs: setup.procs.clone(),
                iters: setup.iters.clone(),
                window_ns: setup.windows.iter().map(|&w| w.into()).collect(),
                trials: setup.trials,
                sleep_ns: setup.sleep_ns,
                jitter_ns: setup.jitter_ns,
                seed: setup.seed,
                pool: setup.pool,
            },
            machine,
            stopped: report.stop.as_ref().map(|stop| match stop {
                Stop::Interrupted(signal) => Stopped::Interrupted {
                    signal: signal.as_str(),
                },
                Stop::Failed(failure) => Stopped::Failed {
                    message: failure.to_string(),
                },
            }),
            results: report.groups.iter().map(result).collect(),
        }
    }
}

fn result(group: &Group) -> Result<'_> {
    let expected = group.expected();
    let trials = (0..group.totals.len())
        .map(|i| TrialOut {
            index: i as u64,
            total: group.totals[i],
            expected,
            lost: expected.saturating_sub(group.totals[i]),
            elapsed_ns: group.elapsed_ns[i],
            wall_ns: group.wall_ns[i],
            completed: group.worker_counts(i).unwrap_or(&[]),
        })
        .collect();
    Result {
        mode: group.mode.name(),
        procs: group.params.procs,
        iters: group.params.iters,
        window_ns: group.params.window.into(),
        expected,
        trials,
        summary: summarize(group).map(|s| summary(&s)),
    }
}

fn summary(s: &Summary) -> SummaryOut {
    SummaryOut {
        trials: s.count,
        min: s.min,
        median: s.median,
        max: s.max,
        mean: s.mean,
        stddev: s.stddev,
        trials_with_loss: s.lossy,
        median_lost_pct: s.median_lost_pct,
        mean_lost_pct: s.mean_lost_pct,
        ns_per_increment_median: s.ns_per_increment,
        ns_per_increment_mean: s.ns_per_increment_mean,
        ns_per_increment_stddev: s.ns_per_increment_stddev,
        trials_per_sec: s.trials_per_sec.is_finite().then_some(s.trials_per_sec),
        verdict: s.verdict().word(),
    }
}
