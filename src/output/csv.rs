//! `--format csv`: a header and one row per (mode, combination, trial), every parameter in
//! its own column, for spreadsheets and pandas. No field ever needs quoting. `lock` is empty
//! for the modes that take none.

use std::io::{self, Write};

use super::Render;
use crate::results::Report;

/// The header row.
pub(crate) const HEADER: &str = "mode,procs,iters,window_ns,sleep_ns,jitter_ns,seed,trial,total,\
                          expected,lost,elapsed_ns,wall_ns,lock,workers";

/// CSV output.
pub(crate) struct Csv;

impl Render for Csv {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let settings = &report.settings;
        writeln!(out, "{HEADER}")?;
        let workers = if settings.threads {
            "threads"
        } else {
            "processes"
        };
        for g in &report.groups {
            let p = &g.params;
            let window = p
                .window
                .nanos()
                .map_or("yield".to_string(), |ns| ns.to_string());
            let expected = g.expected();
            for (i, &total) in g.totals.iter().enumerate() {
                writeln!(
                    out,
                    "{},{},{},{window},{},{},{},{i},{total},{expected},{},{},{},{},{workers}",
                    g.mode.name(),
                    p.procs,
                    p.iters,
                    settings.sleep_ns,
                    settings.jitter_ns,
                    settings.seed,
                    expected.saturating_sub(total),
                    g.elapsed_ns[i],
                    g.wall_ns[i],
                    g.lock.map_or("", |l| l.name()),
                )?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixture::two_modes;

    #[test]
    fn a_header_and_one_row_per_trial() {
        let mut out = Vec::new();
        Csv.render(&two_modes(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "mode,procs,iters,window_ns,sleep_ns,jitter_ns,seed,trial,total,expected,lost,\
             elapsed_ns,wall_ns,lock,workers\n\
             unlocked,2,3,1000,0,0,42,0,6,6,0,6000,1000000,,processes\n\
             unlocked,2,3,1000,0,0,42,1,5,6,1,12000,1000000,,processes\n\
             unlocked,2,3,1000,0,0,42,2,4,6,2,18000,1000000,,processes\n\
             atomic,2,3,1000,0,0,42,0,6,6,0,6000,1000000,,processes\n\
             atomic,2,3,1000,0,0,42,1,6,6,0,12000,1000000,,processes\n\
             atomic,2,3,1000,0,0,42,2,6,6,0,18000,1000000,,processes\n"
        );
    }
}
