//! `--format json`: one document with the parameters, the machine, and every trial and the
//! summary of each mode at each combination. The schema is documented in the README; bump
//! [`SCHEMA_VERSION`] when a field changes meaning or goes away.

use std::io::{self, Write};

use serde::Serialize;

use super::Render;
use crate::analysis::explain::Tally;
use crate::analysis::stats::{Summary, summarize};
use crate::machine::Machine;
use crate::race::window::Window;
use crate::results::{Group, Report, Stop, TracedTrial};

/// The version of the document's layout.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// JSON output.
pub(crate) struct Json {
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
    results: Vec<GroupOut<'r>>,
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
    trace: bool,
    locks: Vec<&'static str>,
    /// `processes` or `threads`.
    workers: &'static str,
    pin: String,
    /// The CPUs the workers go round robin over (empty: not pinned).
    pin_cpus: Vec<usize>,
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

/// One mode at one combination of parameters: an entry of `results`.
#[derive(Serialize)]
struct GroupOut<'r> {
    mode: &'static str,
    /// The lock the mode took, for mutex and per-access; null for the others.
    lock: Option<&'static str>,
    /// Whether that lock excludes (false for private, and the *-nofence kinds on x86).
    #[serde(skip_serializing_if = "Option::is_none")]
    lock_is_correct: Option<bool>,
    /// `processes` or `threads`.
    workers: &'static str,
    procs: u32,
    iters: u64,
    window_ns: WindowNs,
    expected: u64,
    trials: Trials<'r>,
    summary: Option<SummaryOut>,
    /// With `--trace`: the first trial in full, every increment and its explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    traced: Option<&'r TracedTrial>,
}

/// A group's kept trials, serialized one by one: a million trials are not copied first.
struct Trials<'r>(&'r Group);

impl Serialize for Trials<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let group = self.0;
        let expected = group.expected();
        serializer.collect_seq((0..group.totals.len()).map(|i| TrialOut {
            index: i as u64,
            total: group.totals[i],
            expected,
            lost: expected.saturating_sub(group.totals[i]),
            elapsed_ns: group.elapsed_ns[i],
            wall_ns: group.wall_ns[i],
            completed: group.worker_counts(i).unwrap_or(&[]),
            explained: group.tallies.get(i),
        }))
    }
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
    /// With `--trace`: the trial's lost updates by kind (they add up to `lost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    explained: Option<&'r Tally>,
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
        let settings = &report.settings;
        Document {
            schema_version: SCHEMA_VERSION,
            racecount_version: env!("CARGO_PKG_VERSION"),
            parameters: Parameters {
                modes: settings.modes.iter().map(|m| m.name()).collect(),
                procs: settings.procs.clone(),
                iters: settings.iters.clone(),
                window_ns: settings.windows.iter().map(|&w| w.into()).collect(),
                trials: settings.trials,
                sleep_ns: settings.sleep_ns,
                jitter_ns: settings.jitter_ns,
                seed: settings.seed,
                pool: settings.pool,
                trace: settings.trace,
                locks: settings.locks.iter().map(|l| l.name()).collect(),
                workers: workers(settings.threads),
                pin: settings.pin.to_string(),
                pin_cpus: settings.pin_cpus.clone(),
            },
            machine,
            stopped: report.stop.as_ref().map(|stop| match stop {
                Stop::Interrupted(signal) => Stopped::Interrupted {
                    signal: signal.name,
                },
                Stop::SetupFailed(message) => Stopped::Failed {
                    message: message.clone(),
                },
                Stop::Failed(failure) => Stopped::Failed {
                    message: failure.to_string(),
                },
            }),
            results: report
                .groups
                .iter()
                .map(|g| group_out(g, settings.threads))
                .collect(),
        }
    }
}

/// What the workers are.
fn workers(threads: bool) -> &'static str {
    if threads { "threads" } else { "processes" }
}

fn group_out(group: &Group, threads: bool) -> GroupOut<'_> {
    GroupOut {
        mode: group.mode.name(),
        lock: group.lock.map(|l| l.name()),
        lock_is_correct: group.lock.map(|l| l.is_correct(threads)),
        workers: workers(threads),
        procs: group.params.procs,
        iters: group.params.iters,
        window_ns: group.params.window.into(),
        expected: group.expected(),
        trials: Trials(group),
        summary: summarize(group).map(|s| summary(&s)),
        traced: group.traced.as_ref(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::{params, two_modes};
    use crate::race::mode::Mode;
    use crate::results::{Cause, Failure, Signal, Stage};
    use serde_json::{Value, json};

    fn render(report: &Report) -> Value {
        let machine = Machine {
            logical_cpus: 2,
            os: "linux".into(),
            kernel: Some("6.18.0".into()),
        };
        let mut out = Vec::new();
        Json { machine }.render(report, &mut out).unwrap();
        serde_json::from_slice(&out).unwrap()
    }

    #[test]
    fn every_field_of_the_document() {
        let doc = render(&two_modes());
        assert_eq!(doc["schema_version"], 1);
        assert_eq!(doc["racecount_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            doc["parameters"],
            json!({"modes": ["unlocked", "atomic"], "procs": [2], "iters": [3],
                   "window_ns": [1000], "trials": 3, "sleep_ns": 0, "jitter_ns": 0,
                   "seed": 42, "pool": false, "trace": false, "locks": ["pthread"],
                   "workers": "processes", "pin": "none", "pin_cpus": []})
        );
        assert_eq!(
            doc["machine"],
            json!({"logical_cpus": 2, "os": "linux", "kernel": "6.18.0"})
        );
        assert_eq!(doc["stopped"], Value::Null);
        let results = doc["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        let unlocked = &results[0];
        assert_eq!(unlocked["mode"], "unlocked");
        assert_eq!(unlocked["lock"], Value::Null);
        assert_eq!(unlocked["workers"], "processes");
        assert_eq!(unlocked["procs"], 2);
        assert_eq!(unlocked["iters"], 3);
        assert_eq!(unlocked["window_ns"], 1000);
        assert_eq!(unlocked["expected"], 6);
        assert_eq!(
            unlocked["trials"][1],
            json!({"index": 1, "total": 5, "expected": 6, "lost": 1, "elapsed_ns": 12000,
                   "wall_ns": 1000000, "completed": [3, 3]})
        );
        assert_eq!(unlocked["trials"].as_array().unwrap().len(), 3);
        let summary = &unlocked["summary"];
        assert_eq!(
            summary,
            &json!({"trials": 3, "min": 4, "median": 5.0, "max": 6, "mean": 5.0, "stddev": 1.0,
                    "trials_with_loss": 2, "median_lost_pct": summary["median_lost_pct"],
                    "mean_lost_pct": summary["mean_lost_pct"],
                    "ns_per_increment_median": 2000.0, "ns_per_increment_mean": 2000.0,
                    "ns_per_increment_stddev": 1000.0, "trials_per_sec": 1000.0,
                    "verdict": "sometimes"})
        );
        assert!((summary["median_lost_pct"].as_f64().unwrap() - 100.0 / 6.0).abs() < 1e-9);
        assert!((summary["mean_lost_pct"].as_f64().unwrap() - 100.0 / 6.0).abs() < 1e-9);
        assert_eq!(results[1]["summary"]["verdict"], "never");
    }

    #[test]
    fn yield_window_is_the_string_yield() {
        let mut report = two_modes();
        report.settings.windows = vec![Window::Yield];
        report.groups[0].params.window = Window::Yield;
        let doc = render(&report);
        assert_eq!(doc["parameters"]["window_ns"], json!(["yield"]));
        assert_eq!(doc["results"][0]["window_ns"], "yield");
    }

    #[test]
    fn a_stopped_run_says_why() {
        let mut report = two_modes();
        report.stop = Some(Stop::Interrupted(Signal {
            number: 2,
            name: "SIGINT",
        }));
        assert_eq!(
            render(&report)["stopped"],
            json!({"reason": "interrupted", "signal": "SIGINT"})
        );
        let failure = Failure {
            mode: Mode::Atomic,
            lock: None,
            params: params(2),
            stage: Stage::Trial(0),
            cause: Cause::Sys("boom".into()),
        };
        let message = failure.to_string();
        report.stop = Some(Stop::Failed(failure));
        assert_eq!(
            render(&report)["stopped"],
            json!({"reason": "failed", "message": message})
        );
    }
}
