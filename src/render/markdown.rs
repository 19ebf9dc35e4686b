//! `--format markdown`: the summary table as a Markdown table, for course notes and READMEs.
//! It always carries the parameter columns, so a pasted table says what was run.

use std::io::{self, Write};

use super::Render;
use super::human::number;
use crate::results::Report;
use crate::stats::summarize;

/// Markdown output.
pub struct Markdown;

impl Render for Markdown {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        writeln!(
            out,
            "| mode | procs | iters | window | trials | min | median | max | lost updates \
             | median lost | ns/increment | trials/s |"
        )?;
        writeln!(out, "|:--|--:|--:|--:|--:|--:|--:|--:|:--|--:|--:|--:|")?;
        for g in &report.groups {
            let Some(s) = summarize(g) else { continue };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1}% | {} | {} |",
                g.mode,
                g.params.procs,
                g.params.iters,
                g.params.window,
                s.count,
                s.min,
                number(s.median),
                s.max,
                s.verdict(),
                s.median_lost_pct,
                number(s.ns_per_increment),
                number(s.trials_per_sec),
            )?;
        }
        Ok(())
    }
}
