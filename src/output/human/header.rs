//! The header: what the run is, in lines that fit the width.

use std::io::{self, Write};

use crate::model::schedule::Strategy;
use crate::model::settings::{Settings, Workers};
use crate::model::units::format_nanos;
use crate::model::window::Window;
use crate::output::wrap::{phrases, prose_width, words, write_lines};

/// The run's parameters in three lines (more with a store, pinning or other options), each
/// within `width` columns (80 at most).
pub(super) fn header(settings: &Settings, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let width = prose_width(width);
    let load = &settings.load;
    let trials = format!(
        "{} trial{} per mode",
        settings.trials,
        if settings.trials == 1 { "" } else { "s" }
    );
    write_lines(out, &phrases(&[what_runs(settings), trials], width))?;
    let mut race = vec![race_words(settings)];
    if settings.sleep_ns > 0 {
        race.push(format!("sleep {}", format_nanos(settings.sleep_ns)));
    }
    if settings.jitter_ns > 0 {
        race.push(format!(
            "jitter up to {} (seed {})",
            format_nanos(settings.jitter_ns),
            settings.seed
        ));
    }
    race.push(
        match (settings.workers, settings.pool) {
            (Workers::Threads, _) => "threads of one process (--threads)",
            (Workers::Processes, true) => "workers reused across trials (--pool)",
            (Workers::Processes, false) => "workers forked per trial",
        }
        .to_string(),
    );
    race.extend(lock_and_pin(settings));
    write_lines(out, &phrases(&race, width))?;
    let cpus = format!(
        "{} CPU{} available to racecount",
        load.cpus,
        if load.cpus == 1 { "" } else { "s" }
    );
    let machine = [cpus, format!("{} at the start", load.describe())];
    write_lines(out, &phrases(&machine, width))?;
    write_store(settings, width, out)?;
    if let Some(join) = &settings.join {
        let hosts: Vec<String> = join
            .roster
            .iter()
            .enumerate()
            .map(|(i, who)| format!("{} {who}", i + 1))
            .collect();
        let text = format!("joined run {}: hosts {}", join.name, hosts.join(", "));
        write_lines(out, &words(&text, width, "", "  "))?;
    }
    let others = unphrased(settings);
    if !others.is_empty() {
        write_lines(out, &phrases(&others, width))?;
    }
    Ok(())
}

/// With a database: where the counter is, the journal mode and the isolation level the
/// database reported, then what a worker runs in each mode, one line per mode.
fn write_store(settings: &Settings, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let store = &settings.store;
    let Some(counter) = &store.counter else {
        return Ok(());
    };
    let mut text = format!("counter: {counter}; each worker on its own connection");
    if let Some(journal) = &store.facts.journal_mode {
        text.push_str(&format!("; journal mode {journal}"));
    }
    if let Some(level) = &store.facts.isolation {
        let whose = match (store.isolation, store.kind) {
            (Some(_), _) => " (--isolation)",
            (None, "sqlite") => " (SQLite's only level)",
            (None, _) => " (the server's default)",
        };
        text.push_str(&format!("; transactions {level}{whose}"));
    }
    write_lines(out, &words(&text, width, "", "  "))?;
    let statements = settings.statements();
    if statements.is_empty() {
        return Ok(());
    }
    let thing = if store.kind == "redis" {
        "k: the key"
    } else {
        "t: the table"
    };
    let title = format!("each increment runs ({thing}):");
    write_lines(out, &words(&title, width, "", "  "))?;
    let pad = statements.iter().map(|(m, _)| m.len()).max().unwrap_or(0) + 4;
    for (mode, text) in statements {
        let first = format!("  {mode:<w$}", w = pad - 2);
        write_lines(out, &words(&text, width, &first, &" ".repeat(pad)))?;
    }
    Ok(())
}

/// "racecount 0.1.0: 10 procs x 20 increments = 200 expected" (threads with `--threads`).
fn what_runs(settings: &Settings) -> String {
    let list = |values: Vec<String>| values.join(",");
    let procs = list(settings.procs.iter().map(|p| p.to_string()).collect());
    let iters = list(settings.iters.iter().map(u64::to_string).collect());
    let expected = match settings.only_combination() {
        Some(params) => format!(" = {} expected", params.expected()),
        None => String::new(),
    };
    let one = settings.procs == [1];
    let workers = match (settings.workers, one) {
        (Workers::Processes, true) => "proc",
        (Workers::Processes, false) => "procs",
        (Workers::Threads, true) => "thread",
        (Workers::Threads, false) => "threads",
    };
    let increments = if settings.iters == [1] {
        "increment"
    } else {
        "increments"
    };
    let hosts = match &settings.join {
        // Each host's share: `--procs` as given.
        Some(join) => {
            let each = settings.procs.iter().map(|p| (p / join.hosts).to_string());
            let each = list(each.collect());
            return format!(
                "racecount {}: {} hosts x {each} {workers} x {iters} {increments}{expected}",
                env!("CARGO_PKG_VERSION"),
                join.hosts
            );
        }
        None => String::new(),
    };
    format!(
        "racecount {}: {hosts}{procs} {workers} x {iters} {increments}{expected}",
        env!("CARGO_PKG_VERSION")
    )
}

/// What happens between read and write: the window, or the schedule.
fn race_words(settings: &Settings) -> String {
    let windows: Vec<String> = settings.windows.iter().map(window_words).collect();
    match &settings.schedule {
        None => format!("window {}", windows.join(",")),
        Some(Strategy::Replay) => "replay: one step at a time as recorded".to_string(),
        Some(strategy) if strategy.is_random() => format!(
            "schedule {} with seed {}: one step at a time",
            schedule_words(strategy),
            settings.seed
        ),
        Some(strategy) => format!("schedule {}: one step at a time", schedule_words(strategy)),
    }
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
    "isolation_level",
    "journal_mode",
    "statements",
    "locks",
    "workers",
    "pin",
    "pin_cpus",
    "lease_ns",
    "stall",
    "fencing",
    "hosts",
    "join",
    "roster",
];

/// The header's phrases on the locks that run and the CPUs the workers are pinned to.
pub(super) fn lock_and_pin(settings: &Settings) -> Vec<String> {
    let mut more = Vec::new();
    if settings.modes.iter().any(|m| m.takes_lock()) && !settings.locks.is_empty() {
        let locks: Vec<&str> = settings.locks.iter().map(|l| l.name()).collect();
        let s = if locks.len() == 1 { "" } else { "s" };
        more.push(format!("lock{s} {}", locks.join(",")));
    }
    if let Some(lease) = settings.lease {
        more.push(format!(
            "lock: a lease of {} in the store (--lock {lease})",
            format_nanos(lease.ttl_ns)
        ));
    }
    if let Some(stall) = settings.stall {
        let when = if stall.chance >= 1.0 {
            "at every increment".to_string()
        } else {
            format!("at {}% of increments", stall.chance * 100.0)
        };
        more.push(format!(
            "the lock's holder stalls {} between read and write {when}",
            format_nanos(stall.ns)
        ));
    }
    if settings.fencing {
        more.push("fencing tokens on every read and write".to_string());
    }
    if !settings.pin_cpus.is_empty() {
        let cpus = crate::model::pin::cpu_list(&settings.pin_cpus);
        more.push(match settings.pin {
            crate::model::pin::Pin::Same => {
                format!("every worker pinned to CPU {cpus} (--pin same)")
            }
            crate::model::pin::Pin::None
            | crate::model::pin::Pin::Spread
            | crate::model::pin::Pin::List(_) => format!(
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

pub(super) fn window_words(window: &Window) -> String {
    match window {
        Window::Busy(0) => "0".to_string(),
        Window::Busy(ns) => format!("{} busy-wait", format_nanos(*ns)),
        Window::Yield => "yield".to_string(),
    }
}
