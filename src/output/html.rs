//! `--export-html`: one self-contained page for a class: the run, each group's totals and
//! costs, and every traced trial's race step by step. The page itself is a template, a style
//! sheet and scripts (`html/report.*`, `html/axis.js`, `html/race.js`, compiled in); this file
//! only makes the
//! one JSON blob they draw from, so that a change of the trace touches `html/steps.rs` and
//! `race.js`'s account of a step, nothing else.
//!
//! The blob's `report` is the `--export-json` document, made by the same serializer (less each
//! group's `traced`: `races` carries it step by step), so the page shows the same numbers to
//! the digit. Its words are the terminal's: the header, the speed sentences, the trace's
//! heading and every sentence of its explanation come from the renderers of human output.
//! Everything in it reaches the page as text (the script never inserts markup), and the blob
//! is escaped so that no string in it can close its `<script>` element.

use serde::Serialize;
use serde_json::Value;

use super::explanation::sentences;
use super::histogram::{Bin, bins};
use super::human::{HumanHeader, by_combination, by_mode, label, summarized, trace_heading};
use super::json::Document;
use super::markdown::non_default_options;
use super::speed::{Ranking, rank};
use crate::analysis::explain::TrialTrace;
use crate::model::machine::Machine;
use crate::results::{Group, Observer, Report, TracedTrial};
use steps::{STEP_FIELDS, Step, steps};

const TEMPLATE: &str = include_str!("html/report.html");
const STYLE: &str = include_str!("html/report.css");
/// The page's script: report.js (the run and its groups), axis.js (the race's time axis), then
/// race.js (the step-through: the part of the script that reads a trace).
const SCRIPT: &str = concat!(
    include_str!("html/report.js"),
    include_str!("html/axis.js"),
    include_str!("html/race.js")
);

/// The template's slots, in the order they appear in it.
const SLOTS: [&str; 3] = ["/*STYLE*/", "/*DATA*/", "/*SCRIPT*/"];

/// A traced trial with more writes than this is not stepped through (each write is about
/// 80 bytes of the page); the page says so, and still lists the explanation.
pub(crate) const MAX_STEPS: usize = 20_000;

/// The page for `report`.
pub(crate) fn html(report: &Report, machine: &Machine) -> String {
    let blob = serde_json::to_string(&Blob::new(report, machine))
        .expect("the blob is plain data with string keys");
    fill(TEMPLATE, &[STYLE, &script_safe(&blob), SCRIPT])
}

/// `template` with each of [`SLOTS`] replaced by its value. What goes in is not scanned again.
fn fill(template: &str, values: &[&str; 3]) -> String {
    let mut page =
        String::with_capacity(template.len() + values.iter().map(|v| v.len()).sum::<usize>());
    let mut rest = template;
    for (slot, value) in SLOTS.iter().zip(values) {
        let (before, after) = rest
            .split_once(slot)
            .expect("the template has every slot, in order");
        page.push_str(before);
        page.push_str(value);
        rest = after;
    }
    page.push_str(rest);
    page
}

/// JSON that can sit inside a `<script>` element: `<`, `>` and `&` (which can only occur in
/// its strings) written as `\u` escapes, so that no `</script`, `<!--` or `]]>` appears;
/// and U+2028/U+2029, which older script parsers took for line ends.
fn script_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Everything the page shows. The README's "--export-html" section lists the fields.
#[derive(Serialize)]
struct Blob {
    /// The `--export-json` document, without `results[].traced`.
    report: Value,
    /// `racecount` and every option not at its default, as markdown's heading (password
    /// masked, as every output shows the store URL).
    command: String,
    /// The human header's lines: the settings, the CPUs and their load.
    header: Vec<String>,
    /// One per `report.results[]` entry, in its order.
    groups: Vec<GroupExtra>,
    /// Relative speeds, as human output words them (none under a schedule, as there).
    speeds: Speeds,
    /// Every traced trial, step by step.
    races: Vec<Race>,
}

#[derive(Serialize)]
struct GroupExtra {
    /// `mutex/spin`, as the summary table names it.
    name: String,
    /// The name and the swept parameters: `mutex/spin procs=4`.
    label: String,
    /// The terminal histogram's bins: lossy totals in bins of a round width, then the
    /// expected total alone.
    histogram: Vec<Bin>,
}

#[derive(Serialize)]
struct Speeds {
    /// The terminal's title of the comparison.
    title: &'static str,
    combinations: Vec<Combination>,
}

/// A combination of parameters with two or more timed modes.
#[derive(Serialize)]
struct Combination {
    /// The swept parameters (`procs=4`), "" when nothing is swept.
    label: String,
    /// The terminal's sentence about it.
    sentence: String,
    /// Its modes, fastest first.
    modes: Vec<Against>,
}

/// A mode against the fastest of its combination.
#[derive(Serialize)]
struct Against {
    /// Index into `report.results`.
    result: usize,
    /// Its mean ns per increment over the fastest's (1 for the fastest).
    ratio: f64,
    /// One standard deviation of the ratio.
    stddev: f64,
    within_noise: bool,
}

/// One traced trial.
#[derive(Serialize)]
struct Race {
    /// Index into `report.results`.
    result: usize,
    trial: u64,
    procs: u32,
    iters: u64,
    total: u64,
    expected: u64,
    /// The terminal's heading of the trace (under `--replay`, what was replayed and how it
    /// compared with the recording).
    heading: Vec<String>,
    /// Writes traced (`writes` is empty when there are more than [`MAX_STEPS`]).
    count: usize,
    /// Every sentence of the explanation, none left out: the losses, the counts, the sum.
    sentences: Vec<String>,
    /// The names of a write's values, in the order each row of `writes` has them.
    fields: [&'static str; STEP_FIELDS.len()],
    /// The writes in their real order, one row of values each (names once, not per write: a
    /// third of the size, and of the page's time to read it).
    writes: Vec<Step>,
}

impl Blob {
    fn new(report: &Report, machine: &Machine) -> Blob {
        let settings = &report.settings;
        let mut document = serde_json::to_value(Document::new(report, machine))
            .expect("the json document serializes");
        if let Some(results) = document["results"].as_array_mut() {
            for result in results {
                if let Some(fields) = result.as_object_mut() {
                    fields.remove("traced");
                }
            }
        }
        let mut command = vec!["racecount".to_string()];
        command.extend(non_default_options(settings));
        let mut header = Vec::new();
        // Writing to a Vec cannot fail.
        let _ = HumanHeader::new(&mut header, settings, 80).start();
        Blob {
            report: document,
            command: command.join(" "),
            header: String::from_utf8_lossy(&header)
                .lines()
                .map(str::to_string)
                .collect(),
            groups: report
                .groups
                .iter()
                .map(|g| GroupExtra {
                    name: g.name(settings),
                    label: label(settings, g),
                    histogram: bins(&g.totals, g.expected()),
                })
                .collect(),
            speeds: speeds(report),
            races: report
                .groups
                .iter()
                .enumerate()
                .filter_map(|(i, g)| race(report, i, g, g.traced.as_ref()?))
                .collect(),
        }
    }
}

/// The relative speeds of each combination's modes, ranked and worded as human output ranks
/// and words them; none under a schedule, where the times are the turns' cost.
fn speeds(report: &Report) -> Speeds {
    let settings = &report.settings;
    let summaries = summarized(&by_mode(report));
    let rankings: Vec<Ranking> = if settings.schedule.is_none() {
        rank(&by_combination(settings, &summaries))
    } else {
        Vec::new()
    };
    let (title, said) = super::speed::sentences(&rankings);
    let index = |g: &Group| {
        (report.groups.iter())
            .position(|x| std::ptr::eq(x, g))
            .expect("a ranked group is one of the report's")
    };
    Speeds {
        title,
        combinations: rankings
            .iter()
            .zip(said)
            .map(|(r, sentence)| Combination {
                label: r.label.clone(),
                sentence,
                modes: (r.modes.iter())
                    .map(|m| Against {
                        result: index(m.mode.group),
                        ratio: m.against_fastest.ratio,
                        stddev: m.against_fastest.stddev,
                        within_noise: m.within_noise,
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// A traced trial: its explanation, and its writes step by step unless there are too many;
/// `None` when its writes fit no order (the run would have stopped at it).
fn race(report: &Report, result: usize, group: &Group, traced: &TracedTrial) -> Option<Race> {
    let trace = TrialTrace::of(&traced.entries)?;
    let said = sentences(
        &trace.explanation,
        group.expected(),
        traced.total,
        usize::MAX,
    );
    let (heading, replay) = trace_heading(&report.settings, group, traced);
    let count = traced.entries.len();
    Some(Race {
        result,
        trial: traced.trial,
        procs: group.params.procs,
        iters: group.params.iters,
        total: traced.total,
        expected: group.expected(),
        heading: std::iter::once(heading).chain(replay).collect(),
        count,
        writes: if count > MAX_STEPS {
            Vec::new()
        } else {
            steps(&trace, &said)
        },
        sentences: said.into_iter().map(|s| s.text).collect(),
        fields: STEP_FIELDS,
    })
}

mod steps;
#[cfg(test)]
mod tests;
