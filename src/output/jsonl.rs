//! `--format jsonl`: one JSON object per line, for long runs and `jq -c`. Each trial's object
//! (`"type": "trial"`, the fields of [`record`](super::record)) goes out as the trial
//! finishes; one `"type": "summary"` object follows the last, with what `json` says of each
//! mode at each combination but not its trials.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::SerializeMap;

use super::Render;
use super::json::{SCHEMA_VERSION, Stopped, SummaryOut, stopped, summary, window_ns};
use super::record::Record;
use crate::analysis::stats::summarize;
use crate::model::machine::Machine;
use crate::model::settings::Settings;
use crate::results::{Group, Observer, Report, Seen, Trial};

/// A record as one JSON object: its type, then every field in order.
struct TrialLine<'r>(&'r Record<'r>);

impl Serialize for TrialLine<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let fields = self.0.fields();
        let mut map = serializer.serialize_map(Some(fields.len() + 1))?;
        map.serialize_entry("type", "trial")?;
        for (name, value) in &fields {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// Writes each trial's line as it finishes, flushed.
pub(crate) struct JsonlStream<'s, W: Write> {
    out: W,
    settings: &'s Settings,
}

impl<'s, W: Write> JsonlStream<'s, W> {
    pub(crate) fn new(out: W, settings: &'s Settings) -> Self {
        JsonlStream { out, settings }
    }
}

impl<W: Write> Observer for JsonlStream<'_, W> {
    fn trial(&mut self, group: &Group, trial: &Trial, seen: &Seen) -> io::Result<()> {
        let record = Record::of(self.settings, group, trial, seen);
        serde_json::to_writer(&mut self.out, &TrialLine(&record))?;
        writeln!(self.out)?;
        self.out.flush()
    }
}

#[derive(Serialize)]
struct SummaryLine<'r> {
    r#type: &'static str,
    schema_version: u32,
    racecount_version: &'static str,
    machine: &'r Machine,
    stopped: Option<Stopped>,
    results: Vec<GroupSummary>,
}

#[derive(Serialize)]
struct GroupSummary {
    mode: &'static str,
    procs: u32,
    iters: u64,
    window_ns: u64,
    window: String,
    expected: u64,
    summary: Option<SummaryOut>,
}

/// The summary line, after the last trial's.
pub(crate) struct JsonlSummary {
    pub machine: Machine,
}

impl Render for JsonlSummary {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let line = SummaryLine {
            r#type: "summary",
            schema_version: SCHEMA_VERSION,
            racecount_version: env!("CARGO_PKG_VERSION"),
            machine: &self.machine,
            stopped: report.stop.as_ref().map(stopped),
            results: report
                .groups
                .iter()
                .map(|g| GroupSummary {
                    mode: g.mode.name(),
                    procs: g.params.procs,
                    iters: g.params.iters,
                    window_ns: window_ns(g.params.window),
                    window: g.params.window.to_string(),
                    expected: g.expected(),
                    summary: summarize(g).map(|s| summary(&s, g.retries_total)),
                })
                .collect(),
        };
        serde_json::to_writer(&mut *out, &line)?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::two_modes;
    use serde_json::{Value, json};

    #[test]
    fn one_object_per_trial_with_every_field_then_a_summary() {
        let report = two_modes();
        let mut out = Vec::new();
        let mut stream = JsonlStream::new(&mut out, &report.settings);
        let group = &report.groups[0];
        let trial = Trial {
            total: 5,
            elapsed_ns: 12000,
            wall_ns: 1000000,
            completed: vec![],
            trace: None,
            spans: Vec::new(),
            retries: 0,
            hosts: Vec::new(),
        };
        stream.trial(group, &trial, &Seen::default()).unwrap();
        let machine = Machine {
            logical_cpus: 2,
            os: "linux".into(),
            kernel: None,
        };
        JsonlSummary { machine }.render(&report, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            json!({"type": "trial", "mode": "unlocked", "procs": 2, "iters": 3,
                   "window_ns": 1000, "sleep_ns": 0, "jitter_ns": 0, "seed": null,
                   "trial": 3, "total": 5, "expected": 6, "lost": 1, "elapsed_ns": 12000,
                   "wall_ns": 1000000, "window": "1us", "trials": 3, "pool": false,
                   "trace": false, "schedule": null, "switch": null, "store": "page",
                   "retries": 0, "peak": 0, "overlap": 0.0, "lock": null, "workers": "processes",
                   "pin": "none", "lease_ns": null, "stall": null, "fencing": false, "hosts": 1})
        );
        assert_eq!(lines[1]["type"], "summary");
        assert_eq!(lines[1]["stopped"], Value::Null);
        assert_eq!(lines[1]["results"][0]["summary"]["verdict"], "sometimes");
        assert_eq!(lines[1]["results"][1]["mode"], "atomic");
        assert!(lines[1]["results"][0].get("trials").is_none());
    }
}
