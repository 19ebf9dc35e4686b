//! `--format json`: one document with the parameters, the machine, and every trial and the
//! summary of each mode at each combination. The schema is documented in the README; bump
//! [`SCHEMA_VERSION`] when a field changes meaning or goes away.

use std::io::{self, Write};

use serde::Serialize;

use super::Render;
use super::human::label;
use crate::analysis::diagnosis::{Diagnosis, diagnose};
use crate::analysis::explain::Tally;
use crate::analysis::explain::TrialTrace;
use crate::analysis::overlap::Overlap;
use crate::analysis::stats::{Summary, summarize};
use crate::model::machine::{Load, Machine};
use crate::model::settings::{Parameter, Settings, Value, Workers};
use crate::model::window::Window;
use crate::results::{Group, Report, Stop, TracedTrial};

/// The version of the document's layout.
pub(crate) const SCHEMA_VERSION: u32 = 3;

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

/// The document, as `--format json` writes it (and `--export-html` embeds it).
#[derive(Serialize)]
pub(crate) struct Document<'r> {
    schema_version: u32,
    racecount_version: &'static str,
    parameters: Parameters,
    machine: &'r Machine,
    /// The CPUs racecount could use and how busy they were when the run began.
    load: &'r Load,
    stopped: Option<Stopped>,
    results: Vec<GroupOut<'r>>,
    /// Why a racy mode lost updates in fewer than half of its trials, when one did.
    diagnosis: Option<Diagnosis>,
}

/// The run's parameters: the swept ones as lists, then every one of
/// [`Settings::parameters`], in their order.
struct Parameters {
    swept: Vec<(&'static str, Value)>,
    rest: Vec<Parameter>,
}

impl Parameters {
    fn of(settings: &Settings) -> Parameters {
        let numbers = |values: Vec<u64>| Value::Numbers(values);
        let texts = |values: Vec<String>| Value::Texts(values);
        Parameters {
            swept: vec![
                (
                    "modes",
                    texts(settings.modes.iter().map(|m| m.name().into()).collect()),
                ),
                (
                    "procs",
                    numbers(settings.procs.iter().map(|&p| p.into()).collect()),
                ),
                ("iters", numbers(settings.iters.clone())),
                (
                    "window_ns",
                    numbers(settings.windows.iter().map(|&w| window_ns(w)).collect()),
                ),
                (
                    "window",
                    texts(settings.windows.iter().map(Window::to_string).collect()),
                ),
            ],
            rest: settings.parameters(),
        }
    }
}

impl Serialize for Parameters {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.swept.len() + self.rest.len()))?;
        for (name, value) in &self.swept {
            map.serialize_entry(name, &JsonValue(value))?;
        }
        for p in &self.rest {
            map.serialize_entry(p.name, &JsonValue(&p.value))?;
        }
        map.end()
    }
}

/// A parameter's value as json writes it.
pub(crate) struct JsonValue<'v>(pub(crate) &'v Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Number(n) => serializer.serialize_u64(*n),
            Value::Fraction(f) => serializer.serialize_f64(*f),
            Value::Text(t) => serializer.serialize_str(t),
            Value::Flag(b) => serializer.serialize_bool(*b),
            Value::Numbers(list) => list.serialize(serializer),
            Value::Texts(list) => list.serialize(serializer),
            Value::Pairs(pairs) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(pairs.len()))?;
                for (name, text) in pairs {
                    map.serialize_entry(name, text)?;
                }
                map.end()
            }
            Value::Null => serializer.serialize_none(),
        }
    }
}

/// The busy-wait's length in nanoseconds: 0 for `yield`, which has no fixed length (the
/// `window` field names it).
pub(crate) fn window_ns(window: Window) -> u64 {
    window.nanos().unwrap_or(0)
}

/// A traced trial kept in full, as json shows it: its number and total, every entry and the
/// explanation.
#[derive(Serialize)]
struct TracedOut {
    trial: u64,
    total: u64,
    #[serde(flatten)]
    trace: TrialTrace,
}

impl TracedOut {
    fn of(traced: &TracedTrial) -> Option<TracedOut> {
        Some(TracedOut {
            trial: traced.trial,
            total: traced.total,
            trace: TrialTrace::of(&traced.entries)?,
        })
    }
}

#[derive(Serialize)]
#[serde(tag = "reason", rename_all = "lowercase")]
pub(crate) enum Stopped {
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
    window_ns: u64,
    window: String,
    expected: u64,
    trials: Trials<'r>,
    summary: Option<SummaryOut>,
    /// Every trial's workers together: the most at once, and the share of the racing time
    /// with two or more; null with a database store, where the workers' spans are not taken.
    overlap: Option<OverlapOut>,
    /// With `--trace`: the first trial in full, every increment and its explanation.
    #[serde(skip_serializing_if = "Option::is_none")]
    traced: Option<TracedOut>,
    /// With `--replay`: the recorded trial this group ran again, and how it compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    replay: Option<ReplayOut>,
}

/// A recorded trial run again.
#[derive(Serialize)]
struct ReplayOut {
    file: String,
    trial: u64,
    recorded_total: u64,
    /// Writes that read, wrote or replaced other than recorded: 0 for the same interleaving.
    differing_writes: u64,
}

/// A group's kept trials, serialized one by one: a million trials are not copied first; and
/// whether their workers' overlap was measured (not with a database store).
struct Trials<'r>(&'r Group, bool);

impl Serialize for Trials<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (group, measured) = (self.0, self.1);
        let expected = group.expected();
        serializer.collect_seq((0..group.totals.len()).map(|i| TrialOut {
            trial: i as u64 + 1,
            total: group.totals[i],
            expected,
            lost: expected.saturating_sub(group.totals[i]),
            elapsed_ns: group.elapsed_ns[i],
            wall_ns: group.wall_ns[i],
            completed: group.worker_counts(i).unwrap_or(&[]),
            retries: group.retries[i],
            explained: group.tallies.get(i),
            overlap: measured.then(|| group.overlaps.get(i).copied().unwrap_or_default().into()),
            hosts: group.hosts_of(i),
        }))
    }
}

#[derive(Serialize)]
struct TrialOut<'r> {
    /// 1-based, as in human and csv output.
    trial: u64,
    total: u64,
    expected: u64,
    lost: u64,
    elapsed_ns: u64,
    wall_ns: u64,
    completed: &'r [u64],
    overlap: Option<OverlapOut>,
    /// Increments the database refused and the workers retried (0 on the shared page).
    retries: u64,
    /// With `--trace`: the trial's lost updates by kind (they add up to `lost`).
    #[serde(skip_serializing_if = "Option::is_none")]
    explained: Option<&'r Tally>,
    /// `--join`: each host's part, by slot (the hosts are `parameters.roster`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    hosts: &'r [crate::results::HostTrial],
}

/// How much the workers ran at once.
#[derive(Serialize)]
struct OverlapOut {
    /// Most workers inside their racing part at one moment.
    peak: u32,
    /// Share (0 to 1) of the racing time during which two or more were inside it.
    share: f64,
}

impl From<Overlap> for OverlapOut {
    fn from(o: Overlap) -> OverlapOut {
        OverlapOut {
            peak: o.peak,
            share: o.share(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct SummaryOut {
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
    /// Retries over all the group's trials.
    retries: u64,
}

impl<'r> Document<'r> {
    pub(crate) fn new(report: &'r Report, machine: &'r Machine) -> Document<'r> {
        let settings = &report.settings;
        Document {
            schema_version: SCHEMA_VERSION,
            racecount_version: env!("CARGO_PKG_VERSION"),
            parameters: Parameters::of(settings),
            machine,
            load: &report.settings.load,
            diagnosis: diagnose(report, |g| label(settings, g)),
            stopped: report.stop.as_ref().map(stopped),
            results: report
                .groups
                .iter()
                .map(|g| group_out(g, settings.workers, !settings.store.is_db()))
                .collect(),
        }
    }
}

/// Why the run stopped early, as json and jsonl write it.
pub(crate) fn stopped(stop: &Stop) -> Stopped {
    match stop {
        Stop::Interrupted(signal) => Stopped::Interrupted {
            signal: signal.name,
        },
        Stop::SetupFailed(message) => Stopped::Failed {
            message: message.clone(),
        },
        Stop::Failed(failure) => Stopped::Failed {
            message: failure.to_string(),
        },
    }
}

/// What the workers are.
fn group_out(group: &Group, workers: Workers, measured: bool) -> GroupOut<'_> {
    GroupOut {
        mode: group.mode.name(),
        lock: group.lock.map(|l| l.name()),
        lock_is_correct: group.lock.map(|l| l.is_correct(workers)),
        workers: workers.name(),
        procs: group.params.procs,
        iters: group.params.iters,
        window_ns: window_ns(group.params.window),
        window: group.params.window.to_string(),
        expected: group.expected(),
        trials: Trials(group, measured),
        summary: summarize(group).map(|s| summary(&s, group.retries_total)),
        overlap: measured.then(|| group.overlap.into()),
        traced: group.traced.as_ref().and_then(TracedOut::of),
        replay: group.replayed.as_ref().map(|r| ReplayOut {
            file: r.file.clone(),
            trial: r.trial,
            recorded_total: r.recorded_total,
            differing_writes: r.differing,
        }),
    }
}

pub(crate) fn summary(s: &Summary, retries: u64) -> SummaryOut {
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
        retries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::mode::Mode;
    use crate::model::schedule::Strategy;
    use crate::output::fixture::{params, two_modes};
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
        assert_eq!(doc["schema_version"], 3);
        assert_eq!(doc["racecount_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(
            doc["parameters"],
            json!({"modes": ["unlocked", "atomic"], "procs": [2], "iters": [3],
                   "window_ns": [1000], "window": ["1us"], "trials": 3, "sleep_ns": 0,
                   "jitter_ns": 0, "seed": null, "pool": false, "trace": false, "schedule": null,
                   "switch": null, "store": "page", "store_url": "page", "isolation": null,
                   "locks": ["pthread"], "workers": "processes", "pin": "none", "pin_cpus": [],
                   "lease_ns": null, "stall": null, "fencing": false, "hosts": 1, "join": null,
                   "roster": []})
        );
        assert_eq!(
            doc["load"],
            json!({"cpus": 2, "cpu_pressure_pct": 0.0, "loadavg_1m": 0.05})
        );
        // The fixture's unlocked lost in 2 of 3 trials: no diagnosis.
        assert_eq!(doc["diagnosis"], Value::Null);
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
        assert_eq!(unlocked["window"], "1us");
        assert_eq!(unlocked["expected"], 6);
        assert_eq!(
            unlocked["trials"][1],
            json!({"trial": 2, "total": 5, "expected": 6, "lost": 1, "elapsed_ns": 12000,
                   "wall_ns": 1000000, "completed": [3, 3],
                   "overlap": {"peak": 0, "share": 0.0}, "retries": 0})
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
                    "verdict": "sometimes", "retries": 0})
        );
        assert!((summary["median_lost_pct"].as_f64().unwrap() - 100.0 / 6.0).abs() < 1e-9);
        assert!((summary["mean_lost_pct"].as_f64().unwrap() - 100.0 / 6.0).abs() < 1e-9);
        assert_eq!(results[1]["summary"]["verdict"], "never");
    }

    #[test]
    fn a_quiet_racy_mode_carries_its_diagnosis_and_a_schedule_its_name() {
        let mut report = two_modes();
        report.groups[0] = crate::output::fixture::group(Mode::Unlocked, params(2), &[6, 6, 5]);
        report.settings.seed = 7;
        let doc = render(&report);
        assert_eq!(doc["diagnosis"]["cause"], "rare-at-these-settings");
        assert_eq!(
            doc["diagnosis"]["groups"],
            json!([{"group": "unlocked", "lossy": 1, "trials": 3}])
        );
        report.settings.schedule = Some(Strategy::Random { switch: 0.25 });
        let doc = render(&report);
        assert_eq!(doc["parameters"]["schedule"], "random");
        assert_eq!(doc["parameters"]["switch"], 0.25);
        assert_eq!(
            doc["diagnosis"],
            Value::Null,
            "a schedule needs no diagnosis"
        );
    }

    #[test]
    fn a_yield_window_is_0_ns_and_named_in_window() {
        let mut report = two_modes();
        report.settings.windows = vec![Window::Yield];
        report.groups[0].params.window = Window::Yield;
        let doc = render(&report);
        assert_eq!(doc["parameters"]["window_ns"], json!([0]));
        assert_eq!(doc["parameters"]["window"], json!(["yield"]));
        assert_eq!(doc["results"][0]["window_ns"], 0);
        assert_eq!(doc["results"][0]["window"], "yield");
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
