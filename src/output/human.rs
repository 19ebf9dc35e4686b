//! The format for people: a header, each trial's total (as the lesson prints them), and one
//! aligned summary row per mode and combination.

use std::io::{self, Write};

use super::Render;
use super::explanation::{write_explanation, write_tally};
use super::histogram::write_histogram;
use super::speed::{Combination, ModeSummary, write_speeds};
use super::table::{Align, Cell, GREEN, RED, write_table};
use super::timeline;
use crate::analysis::stats::{Summary, Verdict, summarize};
use crate::command::config::Params;
use crate::command::config::Settings;
use crate::command::duration::format_nanos;
use crate::race::window::Window;
use crate::results::{Group, Report, Stop};

/// A group that has a summary, with it.
struct Summarized<'g> {
    group: &'g Group,
    summary: Summary,
}

/// Totals per trial are listed up to this many trials.
pub(crate) const MAX_LISTED_TRIALS: u64 = 20;

/// Human-readable output.
pub(crate) struct Human {
    pub color: bool,
    /// Columns the histograms may fill.
    pub width: usize,
}

impl Render for Human {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        header(&report.settings, out)?;
        if let Some(Stop::Interrupted(signal)) = &report.stop {
            let done: u64 = report.groups.iter().map(|g| g.count).sum();
            writeln!(
                out,
                "interrupted by {signal}: only the {done} trials that finished are shown"
            )?;
        }
        // Mode by mode, so that a sweep reads as one block of rows per mode.
        let groups = by_mode(report);
        let listed: Vec<&Group> = groups
            .iter()
            .copied()
            .filter(|g| g.count > 0 && g.count <= MAX_LISTED_TRIALS)
            .collect();
        if !listed.is_empty() {
            writeln!(out)?;
            let rows: Vec<Vec<Cell>> = listed
                .iter()
                .map(|g| {
                    let totals: Vec<String> = g.totals.iter().map(u64::to_string).collect();
                    vec![
                        Cell::plain(label(&report.settings, g)),
                        Cell::plain(totals.join(" ")),
                    ]
                })
                .collect();
            write_table(
                out,
                &[
                    ("mode", Align::Left),
                    ("final total of each trial", Align::Left),
                ],
                &rows,
                false,
            )?;
        }
        for g in &groups {
            if g.totals.len() as u64 > MAX_LISTED_TRIALS {
                writeln!(
                    out,
                    "\n{}: final totals of {} trials (expected {})",
                    label(&report.settings, g),
                    g.totals.len(),
                    g.expected()
                )?;
                write_histogram(out, &g.totals, g.expected(), self.width, self.color)?;
            }
        }
        let summaries: Vec<Summarized> = groups
            .iter()
            .copied()
            .filter_map(|group| summarize(group).map(|summary| Summarized { group, summary }))
            .collect();
        if summaries.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        self.summary_table(&report.settings, &summaries, out)?;
        let expected = if report.settings.is_sweep() {
            "procs x iters".to_string()
        } else {
            summaries[0].group.expected().to_string()
        };
        writeln!(
            out,
            "\nlost updates: in how many trials the total ended below {expected}.\n\
             ns/increment: median over trials of (gate release to last worker done) / {expected}."
        )?;
        write_speeds(out, &by_combination(&report.settings, &summaries))?;
        why_broken(report, out)?;
        for group in report.groups.iter().filter(|g| g.traced.is_some()) {
            traced(&report.settings, group, out)?;
        }
        Ok(())
    }
}

/// With `--trace`: the first trial of the group in full (explanation and timeline), the
/// others one line each, up to [`MAX_LISTED_TRIALS`].
fn traced(settings: &Settings, group: &Group, out: &mut dyn Write) -> io::Result<()> {
    let Some(t) = &group.traced else {
        return Ok(());
    };
    let p = &group.params;
    writeln!(
        out,
        "\ntrace of {} trial {} ({} procs x {} iters, window {}): total {} of {}",
        label(settings, group),
        t.trial + 1,
        p.procs,
        p.iters,
        window_words(&p.window),
        t.total,
        group.expected()
    )?;
    write_explanation(&t.trace.explanation, group.expected(), t.total, out)?;
    if timeline::fits(p.procs, p.iters) {
        timeline::write_timeline(&t.trace.entries, &t.trace.explanation.order, p.procs, out)?;
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
            "  ... {hidden} more traced trials, each explained the same way"
        )?;
    }
    Ok(())
}

/// The groups in the order of the modes asked for, each mode's combinations in run order.
fn by_mode(report: &Report) -> Vec<&Group> {
    let mut groups: Vec<&Group> = report.groups.iter().collect();
    let rank = |g: &Group| report.settings.modes.iter().position(|&m| m == g.mode);
    groups.sort_by_key(|g| rank(g));
    groups
}

/// The summaries grouped by combination of parameters, in run order, each labelled by what
/// varies ("" when nothing is swept).
fn by_combination<'s>(settings: &Settings, summaries: &'s [Summarized]) -> Vec<Combination<'s>> {
    let mut combos: Vec<(Params, Combination)> = Vec::new();
    for Summarized {
        group: g,
        summary: s,
    } in summaries
    {
        let entry = ModeSummary {
            name: g.name(settings),
            summary: s,
        };
        match combos.iter_mut().find(|(p, _)| *p == g.params) {
            Some((_, combination)) => combination.modes.push(entry),
            None => {
                let label = sweep_columns(settings)
                    .iter()
                    .map(|(name, value)| format!("{name}={}", value(g)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let modes = vec![entry];
                combos.push((g.params, Combination { label, modes }));
            }
        }
    }
    combos.into_iter().map(|(_, c)| c).collect()
}

impl Human {
    fn summary_table(
        &self,
        settings: &Settings,
        summaries: &[Summarized],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let mut header = vec![("mode", Align::Left)];
        let sweep = sweep_columns(settings);
        header.extend(sweep.iter().map(|(name, _)| (*name, Align::Right)));
        header.extend([
            ("min", Align::Right),
            ("median", Align::Right),
            ("max", Align::Right),
            ("lost updates", Align::Left),
            ("median lost", Align::Right),
            ("ns/increment", Align::Right),
            ("trials/s", Align::Right),
        ]);
        let rows: Vec<Vec<Cell>> = summaries
            .iter()
            .map(
                |Summarized {
                     group: g,
                     summary: s,
                 }| {
                    let verdict = s.verdict();
                    let tint = if verdict == Verdict::Never {
                        GREEN
                    } else {
                        RED
                    };
                    let mut row = vec![Cell::plain(g.name(settings))];
                    row.extend(sweep.iter().map(|(_, value)| Cell::plain(value(g))));
                    row.extend([
                        Cell::plain(s.min.to_string()),
                        Cell::plain(number(s.median)),
                        Cell::plain(s.max.to_string()),
                        Cell::colored(verdict.to_string(), tint),
                        Cell::colored(format!("{:.1}%", s.median_lost_pct), tint),
                        Cell::plain(number(s.ns_per_increment)),
                        Cell::plain(number(s.trials_per_sec)),
                    ]);
                    row
                },
            )
            .collect();
        write_table(out, &header, &rows, self.color)
    }
}

pub(crate) type Column = (&'static str, fn(&Group) -> String);

/// The parameter columns that vary in this run.
pub(crate) fn sweep_columns(settings: &Settings) -> Vec<Column> {
    let mut columns: Vec<Column> = Vec::new();
    if settings.procs.len() > 1 {
        columns.push(("procs", |g| g.params.procs.to_string()));
    }
    if settings.iters.len() > 1 {
        columns.push(("iters", |g| g.params.iters.to_string()));
    }
    if settings.windows.len() > 1 {
        columns.push(("window", |g| g.params.window.to_string()));
    }
    columns
}

fn label(settings: &Settings, group: &Group) -> String {
    let mut label = group.name(settings);
    for (name, value) in sweep_columns(settings) {
        label.push_str(&format!(" {name}={}", value(group)));
    }
    label
}

fn header(settings: &Settings, out: &mut dyn Write) -> io::Result<()> {
    let list = |values: Vec<String>| values.join(",");
    let procs = list(settings.procs.iter().map(|p| p.to_string()).collect());
    let iters = list(settings.iters.iter().map(u64::to_string).collect());
    let expected = match settings.only_combination() {
        Some(params) => format!(" = {} expected", params.expected()),
        None => String::new(),
    };
    writeln!(
        out,
        "racecount {}: {procs} procs x {iters} increments{expected}, {} trial{} per mode",
        env!("CARGO_PKG_VERSION"),
        settings.trials,
        if settings.trials == 1 { "" } else { "s" },
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
    let workers = if settings.threads {
        "workers are threads of one process (--threads)"
    } else if settings.pool {
        "workers reused across trials (--pool)"
    } else {
        "workers forked per trial"
    };
    writeln!(
        out,
        "window {windows} between read and write, {sleep}, {jitter}, {workers}"
    )?;
    let mut more = Vec::new();
    if settings.modes.iter().any(|m| m.takes_lock()) {
        let locks: Vec<&str> = settings.locks.iter().map(|l| l.name()).collect();
        let s = if locks.len() == 1 { "" } else { "s" };
        more.push(format!("lock{s} {}", locks.join(",")));
    }
    if !settings.pin_cpus.is_empty() {
        let cpus = crate::race::pin::cpu_list(&settings.pin_cpus);
        more.push(match settings.pin {
            crate::race::pin::Pin::Same => {
                format!("every worker pinned to CPU {cpus} (--pin same)")
            }
            _ => format!(
                "workers pinned round robin to CPUs {cpus} (--pin {})",
                settings.pin
            ),
        });
    }
    if more.is_empty() {
        Ok(())
    } else {
        writeln!(out, "{}", more.join(", "))
    }
}

/// One line for each lock kind that ran and protects nothing, or not always: why it loses.
fn why_broken(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let threads = report.settings.threads;
    let mut said: Vec<&str> = Vec::new();
    for group in &report.groups {
        if let Some(why) = group.lock.and_then(|l| l.why_broken(threads))
            && !said.contains(&why)
        {
            if said.is_empty() {
                writeln!(out)?;
            }
            writeln!(out, "{why}.")?;
            said.push(why);
        }
    }
    Ok(())
}

fn window_words(window: &Window) -> String {
    match window {
        Window::Busy(0) => "0".to_string(),
        Window::Busy(ns) => format!("{} busy-wait", format_nanos(*ns)),
        Window::Yield => "yield".to_string(),
    }
}

/// Whole numbers without decimals; others with as many as their size deserves.
pub(crate) fn number(value: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::{group, params, settings, two_modes};
    use crate::race::mode::Mode;
    use crate::results::Report;

    fn render(report: &Report) -> String {
        let mut out = Vec::new();
        let human = Human {
            color: false,
            width: 60,
        };
        human.render(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn totals_verdicts_and_relative_speed() {
        let version = env!("CARGO_PKG_VERSION");
        assert_eq!(
            render(&two_modes()),
            format!(
                "racecount {version}: 2 procs x 3 increments = 6 expected, 3 trials per mode
window 1us busy-wait between read and write, no sleep, no jitter, workers forked per trial

mode      final total of each trial
unlocked  6 5 4
atomic    6 6 6

mode      min  median  max  lost updates     median lost  ns/increment  trials/s
unlocked    4       5    6  Sometimes (2/3)        16.7%          2000      1000
atomic      6       6    6  Never                   0.0%          2000      1000

lost updates: in how many trials the total ended below 6.
ns/increment: median over trials of (gate release to last worker done) / 6.

Relative speed, from the mean ns/increment of each mode's trials:
  unlocked ran
    1.00 ± 0.71 times faster than atomic
± is one standard deviation of the ratio, propagated from both modes' standard deviations.
"
            )
        );
    }

    #[test]
    fn histogram_above_20_trials_and_not_at_20() {
        let mut totals = vec![6; 15];
        totals.extend([5; 5]);
        let mut report = Report {
            settings: settings(&[Mode::Unlocked], &[2], 20),
            groups: vec![group(Mode::Unlocked, params(2), &totals)],
            stop: None,
        };
        assert!(!render(&report).contains("final totals of"));
        totals.push(4);
        report.groups = vec![group(Mode::Unlocked, params(2), &totals)];
        let text = render(&report);
        assert!(
            text.contains(&format!(
                "\nunlocked: final totals of 21 trials (expected 6)\n\
                 \x20 4  {}{}   1\n\
                 \x20 5  {}{}   5\n\
                 \x20 6  {}  15  expected\n",
                // 60 columns leave 41 for the bars: 1, 5 and 15 of 15.
                "█".repeat(3),
                " ".repeat(38),
                "█".repeat(14),
                " ".repeat(27),
                "█".repeat(41),
            )),
            "{text}"
        );
        assert!(
            !text.contains("unlocked  6 6"),
            "totals listed beyond 20 trials"
        );
    }

    #[test]
    fn a_sweep_labels_each_row_and_each_speed_comparison() {
        let report = Report {
            settings: settings(&[Mode::Unlocked, Mode::Atomic], &[1, 2], 1),
            groups: vec![
                group(Mode::Unlocked, params(1), &[3]),
                group(Mode::Atomic, params(1), &[3]),
                group(Mode::Unlocked, params(2), &[5]),
                group(Mode::Atomic, params(2), &[6]),
            ],
            stop: None,
        };
        let text = render(&report);
        assert!(text.contains("unlocked procs=2  5\n"), "{text}");
        assert!(
            text.contains("mode      procs  min  median  max  lost updates"),
            "{text}"
        );
        assert!(text.contains("unlocked      2    5"), "{text}");
        assert!(text.contains("  procs=1: unlocked ran\n"), "{text}");
        assert!(text.contains("  procs=2: unlocked ran\n"), "{text}");
    }
}
