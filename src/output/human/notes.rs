//! The prose under the tables: listed totals, lock notes, concurrency, interruptions and
//! traces.

use super::header::window_words;
use super::{Human, MAX_LISTED_TRIALS, Summarized, counted, label};

use std::io::{self, Write};

use crate::analysis::diagnosis::diagnose;
use crate::analysis::explain::TrialTrace;
use crate::model::settings::Settings;
use crate::output::explanation::{write_explanation, write_tally};
use crate::output::table::{Align, Cell, write_table};
use crate::output::timeline;
use crate::results::{Group, Report, Signal};

/// Each group's total of every trial, up to [`MAX_LISTED_TRIALS`], one row per group (and,
/// with a database, the retries under it).
pub(super) fn write_listed(
    settings: &Settings,
    groups: &[&Group],
    out: &mut dyn Write,
) -> io::Result<()> {
    let listed: Vec<&Group> = groups
        .iter()
        .copied()
        .filter(|g| g.count > 0 && g.count <= MAX_LISTED_TRIALS)
        .collect();
    if !listed.is_empty() {
        writeln!(out)?;
        let rows: Vec<Vec<Cell>> = listed
            .iter()
            .flat_map(|g| {
                let totals: Vec<String> = g.totals.iter().map(u64::to_string).collect();
                let mut rows = vec![vec![
                    Cell::plain(label(settings, g)),
                    Cell::plain(totals.join(" ")),
                ]];
                // With a database: the refusals each trial's workers retried, under it.
                if settings.store.is_db() {
                    let retries: Vec<String> = g.retries.iter().map(u64::to_string).collect();
                    rows.push(vec![
                        Cell::plain("  retries"),
                        Cell::plain(retries.join(" ")),
                    ]);
                }
                rows
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
    Ok(())
}

/// One line for each lock kind that ran and protects nothing, or not always: why it loses.
pub(super) fn why_broken(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let workers = report.settings.workers;
    let mut said: Vec<&str> = Vec::new();
    for group in &report.groups {
        if let Some(why) = group.lock.and_then(|l| l.why_broken(workers))
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

impl Human {
    /// How much the workers ran at once, and why a racy mode lost little when one did.
    pub(super) fn write_concurrency(
        &self,
        report: &Report,
        summaries: &[Summarized],
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let width = self.width.clamp(40, 80);
        // Under a schedule the workers wait mid-increment for their turns: their spans all
        // overlap by design, so the figure says nothing about the machine.
        if report.settings.schedule.is_none() {
            write_overlap(&report.settings, summaries, width, out)?;
        }
        if let Some(d) = diagnose(report, |g| label(&report.settings, g)) {
            writeln!(out)?;
            write_indented(out, "", &d.text, width)?;
        }
        Ok(())
    }
}

/// How much the workers ran at once, per group: the peak and the share of the racing time
/// during which two or more were inside it. Indented prose, so that no line starts with a
/// mode's name (scripts pick the summary rows by it).
pub(super) fn write_overlap(
    settings: &Settings,
    summaries: &[Summarized],
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let items: Vec<String> = summaries
        .iter()
        .filter(|s| s.group.overlap.busy_ns > 0)
        .map(|s| {
            let o = s.group.overlap;
            format!(
                "{} {} of {}, {:.0}%",
                label(settings, s.group),
                o.peak,
                s.group.params.procs,
                o.share() * 100.0
            )
        })
        .collect();
    if items.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "\nworkers at once: the peak, and the share of the racing time with 2 or more:"
    )?;
    write_indented(out, "  ", &items.join("; "), width)
}

/// Writes `text` as lines of at most `width` columns, each starting with `indent`, broken at
/// spaces.
pub(super) fn write_indented(
    out: &mut dyn Write,
    indent: &str,
    text: &str,
    width: usize,
) -> io::Result<()> {
    let mut line = String::new();
    for word in text.split(' ') {
        if line.len() > indent.len() && line.len() + 1 + word.len() > width {
            writeln!(out, "{line}")?;
            line.clear();
        }
        if line.is_empty() {
            line.push_str(indent);
        } else {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// What an interrupted run can still show.
pub(super) fn interrupted(signal: &Signal, report: &Report, out: &mut dyn Write) -> io::Result<()> {
    match report.groups.iter().map(|g| g.count).sum::<u64>() {
        0 => writeln!(out, "interrupted by {signal}: no trial finished"),
        1 => writeln!(
            out,
            "interrupted by {signal}: only the 1 trial that finished is shown"
        ),
        done => writeln!(
            out,
            "interrupted by {signal}: only the {done} trials that finished are shown"
        ),
    }
}

/// With `--trace`: the first trial of the group in full (explanation and timeline), the
/// others one line each, up to [`MAX_LISTED_TRIALS`].
pub(super) fn traced(settings: &Settings, group: &Group, out: &mut dyn Write) -> io::Result<()> {
    let Some(t) = &group.traced else {
        return Ok(());
    };
    let Some(trace) = TrialTrace::of(&t.entries) else {
        return Ok(());
    };
    let p = &group.params;
    let heading = match &group.replayed {
        None => format!(
            "trace of {} trial {}: total {} of {} ({} x {}, window {})",
            label(settings, group),
            t.trial,
            t.total,
            group.expected(),
            counted(u64::from(p.procs), "proc", "procs"),
            counted(p.iters, "iter", "iters"),
            window_words(&p.window),
        ),
        Some(r) => format!(
            "replay of {} trial {} of {}: total {} of {}; recorded: total {} ({} x {})",
            label(settings, group),
            r.trial,
            r.file,
            t.total,
            group.expected(),
            r.recorded_total,
            counted(u64::from(p.procs), "proc", "procs"),
            counted(p.iters, "iter", "iters"),
        ),
    };
    let fit = |text: &str| crate::output::explanation::fit(text, crate::output::explanation::WIDTH);
    writeln!(out, "\n{}", fit(&heading))?;
    if let Some(r) = &group.replayed {
        let how = match r.differing {
            0 => "every write read, wrote and replaced what the recording says".to_string(),
            n => format!("{n} writes read, wrote or replaced other than recorded"),
        };
        writeln!(out, "{}", fit(&format!("  {how}")))?;
    }
    write_explanation(&trace.explanation, group.expected(), t.total, out)?;
    if timeline::fits(p.procs, p.iters) {
        timeline::write_timeline(&trace.entries, &trace.explanation.order, p.procs, out)?;
    } else {
        writeln!(
            out,
            "  (no timeline: {} x {} is too large to draw in text, at most {} procs x {} iters; \
             --trace-svg draws up to {} increments)",
            p.procs,
            p.iters,
            timeline::MAX_PROCS,
            timeline::MAX_ITERS,
            crate::output::svg::MAX_ENTRIES
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
