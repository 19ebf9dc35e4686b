//! The format for people: a header, each trial's total (as the lesson prints them), and one
//! aligned summary row per mode and combination.

use std::io::{self, Write};

use super::Render;
use super::explanation::{write_explanation, write_tally};
use super::table::{Align, Cell, GREEN, RED, write_table};
use super::timeline;
use crate::duration::{Window, format_nanos};
use crate::results::{Group, Report, Setup, Stop};
use crate::stats::{Summary, summarize};

/// Totals per trial are listed up to this many trials.
pub const MAX_LISTED_TRIALS: u64 = 20;

/// Human-readable output.
pub struct Human {
    pub color: bool,
}

impl Render for Human {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        header(&report.setup, out)?;
        if let Some(Stop::Interrupted(signal)) = &report.stop {
            let done: u64 = report.groups.iter().map(|g| g.count).sum();
            writeln!(
                out,
                "interrupted by {signal}: only the {done} trials that finished are shown"
            )?;
        }
        let listed: Vec<&Group> = report
            .groups
            .iter()
            .filter(|g| g.count > 0 && g.count <= MAX_LISTED_TRIALS)
            .collect();
        if !listed.is_empty() {
            writeln!(out)?;
            let rows: Vec<Vec<Cell>> = listed
                .iter()
                .map(|g| {
                    let totals: Vec<String> = g.totals.iter().map(u64::to_string).collect();
                    vec![
                        Cell::plain(label(&report.setup, g)),
                        Cell::plain(totals.join(" ")),
                    ]
                })
                .collect();
            write_table(
                out,
                &[("", Align::Left), ("totals", Align::Left)],
                &rows,
                false,
            )?;
        }
        let summaries: Vec<(&Group, Summary)> = report
            .groups
            .iter()
            .filter_map(|g| summarize(g).map(|s| (g, s)))
            .collect();
        if summaries.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        self.summary_table(&report.setup, &summaries, out)?;
        let expected = if report.setup.is_sweep() {
            "procs x iters".to_string()
        } else {
            summaries[0].0.expected().to_string()
        };
        writeln!(
            out,
            "\nlost in: trials that ended below {expected}. ns/increment: median over trials of \
             (gate release to last worker done) / {expected}."
        )?;
        for group in report.groups.iter().filter(|g| g.traced.is_some()) {
            traced(&report.setup, group, out)?;
        }
        Ok(())
    }
}

/// With `--trace`: the first trial of the group in full (explanation and timeline), the
/// others one line each, up to [`MAX_LISTED_TRIALS`].
fn traced(setup: &Setup, group: &Group, out: &mut dyn Write) -> io::Result<()> {
    let Some(t) = &group.traced else {
        return Ok(());
    };
    let p = &group.params;
    writeln!(
        out,
        "\ntrace of {} trial {} ({} procs x {} iters, window {}): total {} of {}",
        label(setup, group),
        t.trial + 1,
        p.procs,
        p.iters,
        window_words(&p.window),
        t.total,
        group.expected()
    )?;
    write_explanation(&t.explanation, group.expected(), t.total, out)?;
    if timeline::fits(p.procs, p.iters) {
        timeline::write_timeline(&t.entries, p.procs, out)?;
    } else {
        writeln!(
            out,
            "  (no timeline: {} x {} is too large to draw in text, at most {} procs x {} iters; \
             --trace-svg draws up to {} increments)",
            p.procs,
            p.iters,
            timeline::MAX_PROCS,
            timeline::MAX_ITERS,
            super::svg::MAX_ENTRIES
        )?;
    }
    let others = group.tallies.iter().enumerate().skip(1);
    for (i, tally) in others.clone().take(MAX_LISTED_TRIALS as usize) {
        let total = group.totals.get(i).copied();
        write_tally(
            &format!("trial {}", i + 1),
            tally,
            group.expected(),
            total,
            out,
        )?;
    }
    let hidden = others.count().saturating_sub(MAX_LISTED_TRIALS as usize);
    if hidden > 0 {
        writeln!(
            out,
            "  ... {hidden} more traced trials, each explained exactly (racecount checks it)"
        )?;
    }
    Ok(())
}

impl Human {
    fn summary_table(
        &self,
        setup: &Setup,
        summaries: &[(&Group, Summary)],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut header = vec![("mode", Align::Left)];
        let sweep = sweep_columns(setup);
        header.extend(sweep.iter().map(|(name, _)| (*name, Align::Right)));
        header.extend([
            ("min", Align::Right),
            ("median", Align::Right),
            ("max", Align::Right),
            ("lost in", Align::Right),
            ("median lost", Align::Right),
            ("ns/increment", Align::Right),
            ("trials/s", Align::Right),
        ]);
        let rows: Vec<Vec<Cell>> = summaries
            .iter()
            .map(|(g, s)| {
                let tint = if s.lossy == 0 { GREEN } else { RED };
                let mut row = vec![Cell::plain(g.mode.name())];
                row.extend(sweep.iter().map(|(_, value)| Cell::plain(value(g))));
                row.extend([
                    Cell::plain(s.min.to_string()),
                    Cell::plain(number(s.median)),
                    Cell::plain(s.max.to_string()),
                    Cell::colored(format!("{}/{}", s.lossy, s.count), tint),
                    Cell::colored(format!("{:.1}%", s.median_lost_pct), tint),
                    Cell::plain(number(s.ns_per_increment)),
                    Cell::plain(number(s.trials_per_sec)),
                ]);
                row
            })
            .collect();
        write_table(out, &header, &rows, self.color)
    }
}

type Column = (&'static str, fn(&Group) -> String);

/// The parameter columns that vary in this run.
fn sweep_columns(setup: &Setup) -> Vec<Column> {
    let mut columns: Vec<Column> = Vec::new();
    if setup.procs.len() > 1 {
        columns.push(("procs", |g| g.params.procs.to_string()));
    }
    if setup.iters.len() > 1 {
        columns.push(("iters", |g| g.params.iters.to_string()));
    }
    if setup.windows.len() > 1 {
        columns.push(("window", |g| g.params.window.to_string()));
    }
    columns
}

fn label(setup: &Setup, group: &Group) -> String {
    let mut label = group.mode.name().to_string();
    for (name, value) in sweep_columns(setup) {
        label.push_str(&format!(" {name}={}", value(group)));
    }
    label
}

fn header(setup: &Setup, out: &mut dyn Write) -> io::Result<()> {
    let list = |values: Vec<String>| values.join(",");
    let procs = list(setup.procs.iter().map(|p| p.to_string()).collect());
    let iters = list(setup.iters.iter().map(u64::to_string).collect());
    let expected = if setup.is_sweep() {
        String::new()
    } else {
        format!(" = {} expected", u64::from(setup.procs[0]) * setup.iters[0])
    };
    writeln!(
        out,
        "racecount {}: {procs} procs x {iters} increments{expected}, {} trial{} per mode",
        env!("CARGO_PKG_VERSION"),
        setup.trials,
        if setup.trials == 1 { "" } else { "s" },
    )?;
    let windows = list(setup.windows.iter().map(window_words).collect());
    let sleep = match setup.sleep_ns {
        0 => "no sleep".to_string(),
        ns => format!("sleep {}", format_nanos(ns)),
    };
    let jitter = match setup.jitter_ns {
        0 => "no jitter".to_string(),
        ns => format!("jitter up to {} (seed {})", format_nanos(ns), setup.seed),
    };
    let workers = if setup.pool {
        "workers reused across trials (--pool)"
    } else {
        "workers forked per trial"
    };
    writeln!(
        out,
        "window {windows} between read and write, {sleep}, {jitter}, {workers}"
    )
}

fn window_words(window: &Window) -> String {
    match window {
        Window::Busy(0) => "0".to_string(),
        Window::Busy(ns) => format!("{} busy-wait", format_nanos(*ns)),
        Window::Yield => "yield".to_string(),
    }
}

/// Whole numbers without decimals; others with as many as their size deserves.
fn number(value: f64) -> String {
    if !value.is_finite() {
        "-".to_string()
    } else if value.fract() == 0.0 || value.abs() >= 100.0 {
        format!("{value:.0}")
    } else if value.abs() >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}
