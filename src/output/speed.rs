//! Relative speed, hyperfine-style: "atomic ran 1.80 ± 0.10 times faster than mutex".

use std::io::{self, Write};

use super::wrap::{words, write_lines};
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

/// Writes, for each combination (labelled, or "" when nothing is swept) with two or more
/// timed modes, how many times faster the fastest mode ran than each other — in one line when
/// every difference is within the noise — as prose within `width`. Writes nothing when no
/// combination has two modes with times.
pub(crate) fn write_speeds(
    out: &mut dyn Write,
    combos: &[Combination],
    width: usize,
) -> io::Result<()> {
    let mut said = Vec::new();
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
        let prefix = if label.is_empty() {
            String::new()
        } else {
            format!("{label}: ")
        };
        said.push(format!("{prefix}{}", compare(&timed)));
    }
    if said.is_empty() {
        return Ok(());
    }
    let claims = said.iter().any(|s| s.contains(" times faster "));
    let title = if claims {
        "speed (mean ns/incr, ± one standard deviation):"
    } else {
        "speed (mean ns/incr):"
    };
    if said.len() == 1 {
        let text = format!("{title} {}", said[0]);
        return write_lines(out, &words(&text, width, "", "  "));
    }
    write_lines(out, &words(title, width, "", ""))?;
    for line in said {
        write_lines(out, &words(&line, width, "  ", "    "))?;
    }
    Ok(())
}

/// "atomic ran 1.80 ± 0.10 times faster than mutex; as fast as unlocked, within the noise",
/// or "all 4 modes as fast as one another, within the noise", for `timed` fastest first.
fn compare(timed: &[ModeSummary]) -> String {
    let fast = timed[0].summary;
    let mut faster = Vec::new();
    let mut alike = Vec::new();
    for m in &timed[1..] {
        let Some(s) = speedup(fast, m.summary) else {
            continue;
        };
        if s.ratio - 1.0 <= s.stddev {
            // The difference is within one standard deviation: no order to claim.
            alike.push(m.name.clone());
        } else {
            faster.push(format!(
                "{:.2} ± {:.2} times faster than {}",
                s.ratio, s.stddev, m.name
            ));
        }
    }
    if faster.is_empty() {
        return match timed.len() {
            2 => "both modes as fast as each other, within the noise".to_string(),
            n => format!("all {n} modes as fast as one another, within the noise"),
        };
    }
    let mut text = format!("{} ran {}", timed[0].name, faster.join(", "));
    if !alike.is_empty() {
        text.push_str(&format!(
            "; as fast as {}, within the noise",
            and_list(&alike)
        ));
    }
    text
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(names: &[String]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}
