//! `--format markdown`: the summary table as a Markdown table, for course notes and READMEs.
//! It always carries the parameter columns, so a pasted table says what was run.

use std::io::{self, Write};

use super::Render;
use super::human::number;
use crate::analysis::stats::summarize;
use crate::results::Report;

/// Markdown output.
pub(crate) struct Markdown;

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
                g.name(&report.settings),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::two_modes;

    #[test]
    fn the_summary_as_a_markdown_table() {
        let mut out = Vec::new();
        Markdown.render(&two_modes(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "| mode | procs | iters | window | trials | min | median | max | lost updates \
             | median lost | ns/increment | trials/s |\n\
             |:--|--:|--:|--:|--:|--:|--:|--:|:--|--:|--:|--:|\n\
             | unlocked | 2 | 3 | 1us | 3 | 4 | 5 | 6 | Sometimes (2/3) | 16.7% | 2000 | 1000 |\n\
             | atomic | 2 | 3 | 1us | 3 | 6 | 6 | 6 | Never | 0.0% | 2000 | 1000 |\n"
        );
    }
}
