//! `--format csv`: a header and one row per (mode, combination, trial), every parameter in
//! its own column, for spreadsheets and pandas. No field ever needs quoting.

use std::io::{self, Write};

use super::Render;
use crate::results::Report;

/// The header row.
pub const HEADER: &str = "mode,procs,iters,window_ns,sleep_ns,jitter_ns,seed,trial,total,\
                          expected,lost,elapsed_ns,wall_ns";

/// CSV output.
pub struct Csv;

impl Render for Csv {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        let setup = &report.setup;
        writeln!(out, "{HEADER}")?;
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
                    "{},{},{},{window},{},{},{},{i},{total},{expected},{},{},{}",
                    g.mode.name(),
                    p.procs,
                    p.iters,
                    setup.sleep_ns,
                    setup.jitter_ns,
                    setup.seed,
                    expected.saturating_sub(total),
                    g.elapsed_ns[i],
                    g.wall_ns[i],
                )?;
            }
        }
        Ok(())
    }
}
