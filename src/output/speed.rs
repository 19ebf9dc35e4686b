//! Relative speed, hyperfine-style: "atomic ran 1.80 ± 0.10 times faster than mutex".

use std::io::{self, Write};

use crate::analysis::stats::{Summary, speedup};

/// One combination of parameters: its label ("" when nothing is swept) and its modes.
pub(crate) struct Combination<'s> {
    pub label: String,
    pub modes: Vec<ModeSummary<'s>>,
}

/// One mode's (or mode and lock's) summary within a combination.
#[derive(Clone)]
pub(crate) struct ModeSummary<'s> {
    /// `mutex`, or `mutex/spin` when several locks run.
    pub name: String,
    pub summary: &'s Summary,
}

/// What the ratios are, printed above the comparisons.
pub(crate) const TITLE: &str =
    "Relative speed, from the mean ns/incr of each mode's trials (as in the table):";

/// What the ± means, printed below them.
pub(crate) const PLUS_MINUS: &str = "± is one standard deviation of the ratio, propagated from both modes'\n\
                                     standard deviations.";

/// Writes, for each combination (labelled, or "" when nothing is swept) with two or more
/// modes, how many times faster the fastest mode ran than each other mode. Writes nothing when
/// no combination has two modes with times.
pub(crate) fn write_speeds(out: &mut dyn Write, combos: &[Combination]) -> io::Result<()> {
    let mut wrote_header = false;
    for Combination { label, modes } in combos {
        let mut timed: Vec<ModeSummary> = modes
            .iter()
            .filter(|m| {
                let ns = m.summary.ns_per_increment_mean;
                ns.is_finite() && ns > 0.0
            })
            .cloned()
            .collect();
        if timed.len() < 2 {
            continue;
        }
        timed.sort_by(|a, b| {
            a.summary
                .ns_per_increment_mean
                .total_cmp(&b.summary.ns_per_increment_mean)
        });
        if !wrote_header {
            writeln!(out, "\n{TITLE}")?;
            wrote_header = true;
        }
        let ModeSummary {
            name: fastest,
            summary: fast,
        } = &timed[0];
        let prefix = if label.is_empty() {
            String::new()
        } else {
            format!("{label}: ")
        };
        writeln!(out, "  {prefix}{fastest} ran")?;
        for ModeSummary {
            name: mode,
            summary: slow,
        } in &timed[1..]
        {
            let Some(s) = speedup(fast, slow) else {
                continue;
            };
            if s.ratio - 1.0 <= s.stddev {
                // The difference is within one standard deviation: no order to claim.
                writeln!(
                    out,
                    "    as fast as {mode}, within the noise ({:.2} ± {:.2})",
                    s.ratio, s.stddev
                )?;
            } else {
                writeln!(
                    out,
                    "    {:.2} ± {:.2} times faster than {mode}",
                    s.ratio, s.stddev
                )?;
            }
        }
    }
    if wrote_header {
        writeln!(out, "{PLUS_MINUS}")?;
    }
    Ok(())
}
