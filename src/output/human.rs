//! The format for people: a header, each trial's total (as the lesson prints them), and one
//! aligned summary row per mode and combination.

use std::io::{self, Write};

use super::Render;
use super::histogram::write_histogram;
use super::speed::{Combination, ModeSummary, write_speeds};
use super::table::{Align, Cell, GREEN, RED, write_table_within};
use crate::analysis::stats::{Summary, Verdict, summarize};
use crate::model::settings::Params;
use crate::model::settings::Settings;
use crate::results::{Group, Observer, Report, Seen, Stop, Trial};

mod header;
mod hosts;
mod notes;

use super::wrap::{prose_width, words, write_lines};
use header::header;
pub(crate) use notes::trace_heading;
use notes::{interrupted, traced, why_broken, write_listed};

/// A group that has a summary, with it.
pub(crate) struct Summarized<'g> {
    pub group: &'g Group,
    pub summary: Summary,
}

/// Each of `groups` that has a summary, with it, in their order.
pub(crate) fn summarized<'g>(groups: &[&'g Group]) -> Vec<Summarized<'g>> {
    groups
        .iter()
        .copied()
        .filter_map(|group| summarize(group).map(|summary| Summarized { group, summary }))
        .collect()
}

/// Totals per trial are listed up to this many trials.
pub(crate) const MAX_LISTED_TRIALS: u64 = 20;

/// Human-readable output.
pub(crate) struct Human {
    pub color: bool,
    /// Columns the histograms may fill.
    pub width: usize,
    /// Whether to start with the header (false when [`HumanHeader`] printed it already).
    pub header: bool,
    /// Whether to stack a summary table wider than `width` (see `Surroundings::width_known`).
    pub stack: bool,
}

/// Prints the header before the first trial, so that a long run shows at once what it is
/// doing; the rest waits for the end.
pub(crate) struct HumanHeader<'s, W: Write> {
    out: W,
    settings: &'s Settings,
    width: usize,
}

impl<'s, W: Write> HumanHeader<'s, W> {
    pub(crate) fn new(out: W, settings: &'s Settings, width: usize) -> Self {
        HumanHeader {
            out,
            settings,
            width,
        }
    }
}

impl<W: Write> Observer for HumanHeader<'_, W> {
    fn start(&mut self) -> io::Result<()> {
        header(self.settings, self.width, &mut self.out)?;
        self.out.flush()
    }

    fn trial(&mut self, _: &Group, _: &Trial, _: &Seen) -> io::Result<()> {
        Ok(())
    }
}

impl Render for Human {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let settings = &report.settings;
        if self.header {
            header(settings, self.width, out)?;
        }
        if let Some(Stop::Interrupted(signal)) = &report.stop {
            interrupted(signal, report, self.width, out)?;
        }
        // Mode by mode, so that a sweep reads as one block of rows per mode.
        let groups = by_mode(report);
        write_listed(settings, &groups, self.width, out)?;
        for g in &groups {
            if g.totals.len() as u64 > MAX_LISTED_TRIALS {
                let title = format!(
                    "{}: final totals of {} trials (expected {})",
                    label(settings, g),
                    g.totals.len(),
                    g.expected()
                );
                writeln!(out)?;
                write_lines(out, &words(&title, prose_width(self.width), "", "  "))?;
                write_histogram(out, &g.totals, g.expected(), self.width, self.color)?;
            }
        }
        let summaries = summarized(&groups);
        if summaries.is_empty() {
            return Ok(());
        }
        writeln!(out)?;
        self.summary_table(settings, &summaries, out)?;
        self.legend(settings, &summaries, out)?;
        if settings.schedule.is_none() {
            let combinations = by_combination(settings, &summaries);
            write_speeds(out, &combinations, prose_width(self.width))?;
        }
        self.write_hosts(report, out)?;
        why_broken(report, self.width, out)?;
        self.write_concurrency(report, &summaries, out)?;
        for group in report.groups.iter().filter(|g| g.traced.is_some()) {
            traced(settings, group, self.width, out)?;
        }
        Ok(())
    }
}

impl Human {
    /// What the table's columns mean, in two or three lines (and, with a database, what the
    /// retries are; under a schedule, what its times are).
    fn legend(
        &self,
        settings: &Settings,
        summaries: &[Summarized],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let expected = if settings.is_sweep() {
            "procs x iters".to_string()
        } else {
            summaries[0].group.expected().to_string()
        };
        let mut text = format!(
            "lost updates: trials that ended below {expected}; lost: mean share of the \
             {expected} lost; ns/incr: gate release to last worker done / {expected}, mean \
             over trials."
        );
        if settings.store.is_db() {
            text.push_str(&format!(
                " retries: increments the database refused ({}) and the workers tried again, \
                 over all trials.",
                refusals(settings)
            ));
        }
        if settings.schedule.is_some() {
            text.push_str(
                " Under a schedule the workers take turns one step at a time: ns/incr is the \
                 cost of handing the turns over, not of the race on the hardware.",
            );
        }
        writeln!(out)?;
        write_lines(out, &words(&text, prose_width(self.width), "", ""))
    }
}

/// What the store refuses, that the workers try again: its own refusals, and under a lease
/// with `--fencing`, the fenced reads and writes (a lease replaces Redis's WATCH).
fn refusals(settings: &Settings) -> String {
    let own = match settings.store.kind {
        "sqlite" => {
            "SQLITE_BUSY: a write on a stale snapshot, or the write lock not had within \
                     the busy wait (about 0.25 s with up to 20 workers, longer with more)"
        }
        "postgres" => "serialization failures and deadlocks",
        "mysql" => "deadlocks, lock wait timeouts, records changed since read",
        "redis" if settings.lease.is_some() => "",
        "redis" => "EXEC aborted: the WATCHed key changed",
        _ => "refusals",
    };
    let fenced = "a read or write whose lease's token was older than one the counter had seen: \
                  fenced off";
    match (own, settings.fencing) {
        ("", true) => fenced.to_string(),
        ("", false) => "none under a lease without --fencing".to_string(),
        (own, true) => format!("{own}; under the lease, {fenced}"),
        (own, false) => own.to_string(),
    }
}

/// The groups in the order of the modes asked for, each mode's combinations in run order.
pub(crate) fn by_mode(report: &Report) -> Vec<&Group> {
    let mut groups: Vec<&Group> = report.groups.iter().collect();
    let rank = |g: &Group| report.settings.modes.iter().position(|&m| m == g.mode);
    groups.sort_by_key(|g| rank(g));
    groups
}

/// The summaries grouped by combination of parameters, in run order, each labelled by what
/// varies ("" when nothing is swept).
pub(crate) fn by_combination<'s>(
    settings: &Settings,
    summaries: &'s [Summarized],
) -> Vec<Combination<'s>> {
    let mut combos: Vec<(Params, Combination)> = Vec::new();
    for Summarized {
        group: g,
        summary: s,
    } in summaries
    {
        let entry = ModeSummary {
            name: g.name(settings),
            summary: s,
            group: g,
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
            // The mean share lost: a short name keeps a sweep's table within 80 columns.
            ("lost", Align::Right),
            ("ns/incr", Align::Right),
            ("trials/s", Align::Right),
        ]);
        let db = settings.store.is_db();
        if db {
            header.push(("retries", Align::Right));
        }
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
                        Cell::colored(percent(s.mean_lost_pct), tint),
                        Cell::plain(number(s.ns_per_increment_mean)),
                        Cell::plain(number(s.trials_per_sec)),
                    ]);
                    if db {
                        row.push(Cell::plain(g.retries_total.to_string()));
                    }
                    row
                },
            )
            .collect();
        let within = if self.stack { self.width } else { usize::MAX };
        write_table_within(out, &header, &rows, self.color, within)
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

pub(crate) fn label(settings: &Settings, group: &Group) -> String {
    let mut label = group.name(settings);
    for (name, value) in sweep_columns(settings) {
        label.push_str(&format!(" {name}={}", value(group)));
    }
    label
}

/// `n` and the noun, singular for 1: "1 proc", "2 procs".
pub(crate) fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A share in percent with one decimal; a share above 0 never shows as 0.0%.
pub(crate) fn percent(value: f64) -> String {
    if value > 0.0 && value < 0.05 {
        "<0.1%".to_string()
    } else {
        format!("{value:.1}%")
    }
}

/// Whole numbers without decimals; others with as many as their size deserves. A half (the
/// median of an even count, 134.5) keeps its decimal rather than rounding either way.
pub(crate) fn number(value: f64) -> String {
    if !value.is_finite() {
        "-".to_string()
    } else if value.abs() >= 100.0 && (value.fract().abs() - 0.5).abs() < 1e-9 {
        format!("{value:.1}")
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
    use crate::model::mode::Mode;
    use crate::output::fixture::{group, params, settings, two_modes};
    use crate::results::Report;

    fn render(report: &Report) -> String {
        render_at(report, 80)
    }

    fn render_at(report: &Report, width: usize) -> String {
        let mut out = Vec::new();
        let human = Human {
            color: false,
            width,
            header: true,
            stack: true,
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
window 1us busy-wait, workers forked per trial
2 CPUs available to racecount, CPU pressure 0% at the start

mode      final total of each trial
unlocked  6 5 4
atomic    6 6 6

mode      min  median  max  lost updates      lost  ns/incr  trials/s
unlocked    4       5    6  Sometimes (2/3)  16.7%     2000      1000
atomic      6       6    6  Never             0.0%     2000      1000

lost updates: trials that ended below 6; lost: mean share of the 6 lost;
ns/incr: gate release to last worker done / 6, mean over trials.
speed (mean ns/incr): both modes as fast as each other, within the noise
"
            )
        );
    }

    #[test]
    fn halves_keep_their_decimal_and_small_shares_are_not_zero() {
        assert_eq!(number(134.5), "134.5");
        assert_eq!(number(134.0), "134");
        assert_eq!(number(1234.4), "1234");
        assert_eq!(percent(0.01), "<0.1%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(counted(1, "proc", "procs"), "1 proc");
    }

    #[test]
    fn a_clear_difference_is_a_ratio_and_noise_is_said_to_be_noise() {
        let mut report = two_modes();
        // atomic's trials take 10x as long: 60, 120, 180 us against 6, 12, 18.
        for ns in &mut report.groups[1].elapsed_ns {
            *ns *= 10;
        }
        let text = render(&report);
        let prose = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            prose.contains("unlocked ran 10.00 ± 7.07 times faster than atomic"),
            "{text}"
        );
        assert!(prose.contains("± one standard deviation"), "{text}");
        let text = render(&two_modes());
        assert!(
            text.contains("both modes as fast as each other, within the noise"),
            "{text}"
        );
        assert!(!text.contains("±"), "{text}");
    }

    #[test]
    fn one_proc_and_one_increment_are_singular() {
        let mut report = two_modes();
        report.settings.procs = vec![1];
        report.settings.iters = vec![1];
        assert!(render(&report).starts_with(&format!(
            "racecount {}: 1 proc x 1 increment",
            env!("CARGO_PKG_VERSION")
        )));
    }

    #[test]
    fn histogram_above_20_trials_and_not_at_20() {
        let mut totals = vec![6; 15];
        totals.extend([5; 5]);
        let mut report = Report {
            settings: settings(&[Mode::Unlocked], &[2], 20),
            groups: vec![group(Mode::Unlocked, params(2), &totals)],
            stop: None,
            leftover: None,
        };
        assert!(!render(&report).contains("final totals of"));
        totals.push(4);
        report.groups = vec![group(Mode::Unlocked, params(2), &totals)];
        let text = render_at(&report, 60);
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
            leftover: None,
        };
        let text = render(&report);
        assert!(text.contains("unlocked procs=2  5\n"), "{text}");
        assert!(
            text.contains("mode      procs  min  median  max  lost updates"),
            "{text}"
        );
        assert!(text.contains("unlocked      2    5"), "{text}");
        assert!(text.contains("\n  procs=1: both modes as fast"), "{text}");
        assert!(text.contains("\n  procs=2: both modes as fast"), "{text}");
    }

    #[test]
    fn every_line_of_every_section_fits_40_80_and_120_columns() {
        let report = crate::output::fixture::everything();
        for width in [40, 80, 120] {
            let text = render_at(&report, width);
            for section in [
                "final totals of 25 trials",
                "counter: table",
                "never started: atomic",
                "private: the mutex",
                "running at once",
                "trace of unlocked",
                "o clean write",
            ] {
                assert!(text.contains(section), "{width}: no {section:?}:\n{text}");
            }
            let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > width).collect();
            assert!(
                wide.is_empty(),
                "{width} columns:\n{}\n\n{text}",
                wide.join("\n")
            );
            // Words are never split: every word of the prose is a word of the source.
            assert!(!text.contains("incremen\n"), "{text}");
        }
        // Twenty totals listed, broken between numbers under their column.
        let mut twenty = two_modes();
        twenty.groups[0] = group(Mode::Unlocked, params(2), &[6; 20]);
        twenty.settings.trials = 20;
        for width in [40, 80, 120] {
            let text = render_at(&twenty, width);
            assert!(text.contains("final total of each trial"), "{text}");
            let wide: Vec<&str> = text.lines().filter(|l| l.chars().count() > width).collect();
            assert!(
                wide.is_empty(),
                "{width} columns:\n{}\n\n{text}",
                wide.join("\n")
            );
            let sixes = text
                .lines()
                .filter(|l| l.split_whitespace().all(|w| w == "6" || w == "unlocked"))
                .map(|l| l.split_whitespace().filter(|w| *w == "6").count())
                .sum::<usize>();
            assert_eq!(sixes, 20, "{text}");
        }
    }
}
