//! The header: what the run is, in lines that fit the width.

use std::io::{self, Write};

use crate::model::schedule::Strategy;
use crate::model::settings::Settings;
use crate::model::units::format_nanos;
use crate::model::window::Window;

/// The run's parameters, in lines of at most `width` (and 80) columns where the words allow.
pub(super) fn header(settings: &Settings, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let width = width.clamp(20, HEADER_WIDTH);
    let load = &settings.load;
    let list = |values: Vec<String>| values.join(",");
    let procs = list(settings.procs.iter().map(|p| p.to_string()).collect());
    let iters = list(settings.iters.iter().map(u64::to_string).collect());
    let expected = match settings.only_combination() {
        Some(params) => format!(" = {} expected", params.expected()),
        None => String::new(),
    };
    let one = |list: &[u64]| list == [1];
    let procs_list: Vec<u64> = settings.procs.iter().map(|&p| u64::from(p)).collect();
    writeln!(
        out,
        "racecount {}: {procs} {} x {iters} {}{expected}",
        env!("CARGO_PKG_VERSION"),
        if one(&procs_list) { "proc" } else { "procs" },
        if one(&settings.iters) {
            "increment"
        } else {
            "increments"
        },
    )?;
    let windows = list(settings.windows.iter().map(window_words).collect());
    let sleep = match settings.sleep_ns {
        0 => "no sleep".to_string(),
        ns => format!("sleep {}", format_nanos(ns)),
    };
    let jitter = match settings.jitter_ns {
        0 => "no jitter".to_string(),
        ns => format!("jitter up to {} (seed {})", format_nanos(ns), settings.seed),
    };
    let workers = if settings.threads() {
        "workers are threads of one process (--threads)"
    } else if settings.pool {
        "workers reused across trials (--pool)"
    } else {
        "workers forked per trial"
    };
    let trials = format!(
        "{} trial{} per mode",
        settings.trials,
        if settings.trials == 1 { "" } else { "s" }
    );
    write_wrapped(out, &[trials, workers.to_string()], width)?;
    let race = match &settings.schedule {
        None => format!("window {windows} between read and write"),
        Some(strategy) if strategy.is_random() => format!(
            "schedule {} with seed {}: one step at a time, no window",
            schedule_words(strategy),
            settings.seed
        ),
        Some(strategy) => format!(
            "schedule {}: one step at a time, no window",
            schedule_words(strategy)
        ),
    };
    write_wrapped(out, &[race, sleep, jitter], width)?;
    let cpus = format!(
        "{} CPU{} available to racecount",
        load.cpus,
        if load.cpus == 1 { "" } else { "s" }
    );
    write_wrapped(
        out,
        &[cpus, format!("{} at the start", load.describe())],
        width,
    )?;
    let more = lock_and_pin(settings);
    if !more.is_empty() {
        write_wrapped(out, &more, width)?;
    }
    if let Some(counter) = &settings.store.counter {
        writeln!(out, "counter: {counter}; each worker on its own connection")?;
    }
    let others = unphrased(settings);
    if !others.is_empty() {
        write_wrapped(out, &others, width)?;
    }
    Ok(())
}

/// Any other parameter not at its default, as its option: a parameter added to the settings
/// shows in the header without a phrase of its own.
pub(super) fn unphrased(settings: &Settings) -> Vec<String> {
    settings
        .parameters()
        .into_iter()
        .filter(|p| !PHRASED.contains(&p.name))
        .filter_map(|p| p.option)
        .collect()
}

/// The parameters the header says in words of its own (or leaves out: the seed with no
/// jitter or random schedule, `--trace` whose output follows).
const PHRASED: &[&str] = &[
    "trials",
    "sleep_ns",
    "jitter_ns",
    "seed",
    "pool",
    "trace",
    "schedule",
    "switch",
    "store",
    "store_url",
    "counter",
    "isolation",
    "locks",
    "workers",
    "pin",
    "pin_cpus",
];

/// The header's phrases on the locks that run and the CPUs the workers are pinned to.
pub(super) fn lock_and_pin(settings: &Settings) -> Vec<String> {
    let mut more = Vec::new();
    if settings.modes.iter().any(|m| m.takes_lock()) {
        let locks: Vec<&str> = settings.locks.iter().map(|l| l.name()).collect();
        let s = if locks.len() == 1 { "" } else { "s" };
        more.push(format!("lock{s} {}", locks.join(",")));
    }
    if !settings.pin_cpus.is_empty() {
        let cpus = crate::model::pin::cpu_list(&settings.pin_cpus);
        more.push(match settings.pin {
            crate::model::pin::Pin::Same => {
                format!("every worker pinned to CPU {cpus} (--pin same)")
            }
            _ => format!(
                "workers pinned round robin to CPUs {cpus} (--pin {})",
                settings.pin
            ),
        });
    }
    more
}

/// `random (switch 0.1)`, `pct:3`, `worst`...
pub(super) fn schedule_words(strategy: &Strategy) -> String {
    match strategy {
        Strategy::Random { switch } => format!("random (switch {switch})"),
        other => other.name(),
    }
}

/// The header's lines stay within this many columns.
pub(crate) const HEADER_WIDTH: usize = 80;

/// `words` joined by spaces, a line broken before a word that would pass `width`.
pub(super) fn write_words(out: &mut dyn Write, words: &[String], width: usize) -> io::Result<()> {
    let mut line = String::new();
    for word in words {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            writeln!(out, "{line}")?;
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    writeln!(out, "{line}")
}

/// `phrases` joined by ", ", a line broken between two phrases before it passes `width`.
pub(super) fn write_wrapped(
    out: &mut dyn Write,
    phrases: &[String],
    width: usize,
) -> io::Result<()> {
    let mut line = String::new();
    for phrase in phrases {
        if !line.is_empty() && line.chars().count() + 2 + phrase.chars().count() > width {
            writeln!(out, "{line}")?;
            line.clear();
        }
        if !line.is_empty() {
            line.push_str(", ");
        }
        line.push_str(phrase);
    }
    writeln!(out, "{line}")
}

pub(super) fn window_words(window: &Window) -> String {
    match window {
        Window::Busy(0) => "0".to_string(),
        Window::Busy(ns) => format!("{} busy-wait", format_nanos(*ns)),
        Window::Yield => "yield".to_string(),
    }
}
