//! The prose under the tables — listed totals, lock notes, concurrency, interruptions and
//! traces — every line made by `output::wrap` within the width.

use super::header::window_words;
use super::{Human, MAX_LISTED_TRIALS, Summarized, counted, label};

use std::io::{self, Write};

use crate::analysis::diagnosis::diagnose;
use crate::analysis::explain::TrialTrace;
use crate::model::settings::Settings;
use crate::output::explanation::{write_explanation, write_tally};
use crate::output::timeline;
use crate::output::wrap::{items, prose_width, words, write_lines};
use crate::results::{Group, Report, Signal, TracedTrial};

/// Each group's total of every trial, up to [`MAX_LISTED_TRIALS`], one row per group (and,
/// with a database, the retries under it), a row broken between two totals where it would
/// pass `width`.
pub(super) fn write_listed(
    settings: &Settings,
    groups: &[&Group],
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let listed: Vec<&Group> = groups
        .iter()
        .copied()
        .filter(|g| g.count > 0 && g.count <= MAX_LISTED_TRIALS)
        .collect();
    if listed.is_empty() {
        return Ok(());
    }
    let db = settings.store.is_db();
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for g in &listed {
        rows.push((
            label(settings, g),
            g.totals.iter().map(u64::to_string).collect(),
        ));
        // With a database: the refusals each trial's workers retried, under it.
        if db {
            rows.push((
                "  retries".into(),
                g.retries.iter().map(u64::to_string).collect(),
            ));
        }
    }
    let label_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(4)
        .max(4)
        + 2;
    writeln!(out)?;
    // Labels too long to leave room beside them (a sweep's, in a narrow terminal): each on
    // its own line, its totals under it.
    if label_width + 12 > width {
        writeln!(out, "final total of each trial, by mode")?;
        for (name, values) in rows {
            write_lines(out, &words(&name, width, "", "  "))?;
            write_lines(out, &items("", 2, &values, width))?;
        }
        return Ok(());
    }
    write_lines(
        out,
        &[format!("{:<label_width$}final total of each trial", "mode")],
    )?;
    for (name, values) in rows {
        write_lines(out, &items(&name, label_width, &values, width))?;
    }
    Ok(())
}

/// One paragraph for each lock kind that ran and protects nothing, or not always: why it
/// loses.
pub(super) fn why_broken(report: &Report, width: usize, out: &mut dyn Write) -> io::Result<()> {
    let workers = report.settings.workers;
    let mut said: Vec<&str> = Vec::new();
    for group in &report.groups {
        if let Some(why) = group.lock.and_then(|l| l.why_broken(workers))
            && !said.contains(&why)
        {
            if said.is_empty() {
                writeln!(out)?;
            }
            write_lines(out, &words(&format!("{why}."), prose_width(width), "", ""))?;
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
        let width = prose_width(self.width);
        // How many workers ran at once is said where it explains something: beside a trace,
        // and in the note on a racy mode that lost little (the diagnosis says it). Under a
        // schedule the workers wait mid-increment for their turns: their spans all overlap
        // by design, so the figure says nothing about the machine.
        let traced = report.groups.iter().any(|g| g.traced.is_some());
        if report.settings.schedule.is_none() && traced {
            write_overlap(&report.settings, summaries, width, out)?;
        }
        if let Some(d) = diagnose(report, |g| label(&report.settings, g)) {
            writeln!(out)?;
            write_lines(out, &words(&d.text, width, "", ""))?;
        }
        Ok(())
    }
}

/// How much the workers ran at once, per group: the most inside their increment loops at one
/// moment, and the share of that time with two or more. Indented after its first line, so
/// that no line starts with a mode's name (scripts pick the summary rows by it).
pub(super) fn write_overlap(
    settings: &Settings,
    summaries: &[Summarized],
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let each: Vec<String> = summaries
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
    if each.is_empty() {
        return Ok(());
    }
    let text = format!(
        "running at once (the most workers inside their increment loops at one moment, and \
         the share of that time with two or more): {}",
        each.join("; ")
    );
    writeln!(out)?;
    write_lines(out, &words(&text, width, "", "  "))
}

/// What an interrupted run can still show, and which groups never ran.
pub(super) fn interrupted(
    signal: &Signal,
    report: &Report,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let finished = match report.groups.iter().map(|g| g.count).sum::<u64>() {
        0 => format!("interrupted by {signal}: no trial finished"),
        1 => format!("interrupted by {signal}: only the 1 trial that finished is shown"),
        done => format!("interrupted by {signal}: only the {done} trials that finished are shown"),
    };
    let width = prose_width(width);
    write_lines(out, &words(&finished, width, "", "  "))?;
    let started: Vec<_> = report.groups.iter().map(|g| (g.mode, g.lock)).collect();
    let never: Vec<String> = report
        .settings
        .modes
        .iter()
        .flat_map(|&m| {
            report
                .settings
                .locks_for(m)
                .into_iter()
                .map(move |l| (m, l))
        })
        .filter(|k| !started.contains(k))
        .map(|(m, l)| match l {
            Some(lock) if report.settings.sweeps_locks() => format!("{m}/{lock}"),
            _ => m.name().to_string(),
        })
        .collect();
    if !never.is_empty() {
        let text = format!("never started: {}", never.join(", "));
        write_lines(out, &words(&text, width, "", "  "))?;
    }
    Ok(())
}

/// The heading of a traced trial shown in full, and under `--replay`, how the replay compared
/// with the recording.
pub(crate) fn trace_heading(
    settings: &Settings,
    group: &Group,
    t: &TracedTrial,
) -> (String, Option<String>) {
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
    let how = group.replayed.as_ref().map(|r| match r.differing {
        0 => "every write read, wrote and replaced what the recording says".to_string(),
        n => format!("{n} writes read, wrote or replaced other than recorded"),
    });
    (heading, how)
}

/// With `--trace`: the first trial of the group in full (explanation and timeline), the
/// others one line each, up to [`MAX_LISTED_TRIALS`].
pub(super) fn traced(
    settings: &Settings,
    group: &Group,
    width: usize,
    out: &mut dyn Write,
) -> io::Result<()> {
    let Some(t) = &group.traced else {
        return Ok(());
    };
    let Some(trace) = TrialTrace::of(&t.entries) else {
        return Ok(());
    };
    let width = prose_width(width);
    let p = &group.params;
    writeln!(out)?;
    let (heading, replay) = trace_heading(settings, group, t);
    write_lines(out, &words(&heading, width, "", "  "))?;
    if let Some(how) = replay {
        write_lines(out, &words(&how, width, "  ", "    "))?;
    }
    write_explanation(&trace.explanation, group.expected(), t.total, width, out)?;
    if timeline::fits(p.procs, p.iters) {
        let order = &trace.explanation.order;
        timeline::write_timeline(&trace.entries, order, p.procs, width, out)?;
    } else {
        let text = format!(
            "(no timeline: {} x {} is too large to draw in text, at most {} procs x {} iters; \
             --trace-svg draws up to {} increments)",
            p.procs,
            p.iters,
            timeline::MAX_PROCS,
            timeline::MAX_ITERS,
            crate::output::svg::MAX_ENTRIES
        );
        write_lines(out, &words(&text, width, "  ", "   "))?;
    }
    let others = group.tallies.iter().enumerate().skip(1);
    for (i, tally) in others.clone().take(MAX_LISTED_TRIALS as usize) {
        let total = group.totals.get(i).copied();
        let label = format!("trial {}", i + 1);
        write_tally(&label, tally, group.expected(), total, width, out)?;
    }
    let hidden = others.count().saturating_sub(MAX_LISTED_TRIALS as usize);
    if hidden > 0 {
        let text = format!("... {hidden} more traced trials, each explained the same way");
        write_lines(out, &words(&text, width, "  ", "    "))?;
    }
    Ok(())
}
