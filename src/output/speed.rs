//! Relative speed, hyperfine-style: "atomic ran 1.80 ± 0.10 times faster than mutex".

use std::io::{self, Write};

use super::wrap::{words, write_lines};
use crate::analysis::stats::{Speedup, Summary, speedup};
use crate::results::Group;

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
    /// The group it summarizes.
    pub group: &'s Group,
}

/// A combination's timed modes, fastest first, each against the fastest: what the sentence
/// says and `--export-html`'s bars draw.
pub(crate) struct Ranking<'s> {
    pub label: String,
    pub modes: Vec<Ranked<'s>>,
}

pub(crate) struct Ranked<'s> {
    pub mode: ModeSummary<'s>,
    /// How many times longer than the fastest an increment took, ± one standard deviation
    /// (1 ± 0 for the fastest itself).
    pub against_fastest: Speedup,
    /// The difference is within one standard deviation: no order to claim.
    pub within_noise: bool,
}

/// Every combination with two or more timed modes, ranked.
pub(crate) fn rank<'s>(combos: &[Combination<'s>]) -> Vec<Ranking<'s>> {
    let mut ranked = Vec::new();
    for Combination { label, modes } in combos {
        let mut timed: Vec<&ModeSummary> = modes
            .iter()
            .filter(|m| {
                let ns = m.summary.ns_per_increment_mean;
                ns.is_finite() && ns > 0.0
            })
            .collect();
        if timed.len() < 2 {
            continue;
        }
        timed.sort_by(|a, b| {
            a.summary
                .ns_per_increment_mean
                .total_cmp(&b.summary.ns_per_increment_mean)
        });
        let fast = timed[0].summary;
        let modes = timed
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                let against_fastest = if i == 0 {
                    Speedup {
                        ratio: 1.0,
                        stddev: 0.0,
                    }
                } else {
                    speedup(fast, m.summary)?
                };
                Some(Ranked {
                    mode: (*m).clone(),
                    within_noise: i > 0 && against_fastest.ratio - 1.0 <= against_fastest.stddev,
                    against_fastest,
                })
            })
            .collect();
        ranked.push(Ranking {
            label: label.clone(),
            modes,
        });
    }
    ranked
}

/// The title and the sentence of each ranking ("procs=4: atomic ran 1.80 ± 0.10 times faster
/// than mutex"), as human output prints them.
pub(crate) fn sentences(rankings: &[Ranking]) -> (&'static str, Vec<String>) {
    let said: Vec<String> = rankings
        .iter()
        .map(|r| {
            if r.label.is_empty() {
                compare(&r.modes)
            } else {
                format!("{}: {}", r.label, compare(&r.modes))
            }
        })
        .collect();
    let claims = rankings
        .iter()
        .any(|r| r.modes.iter().skip(1).any(|m| !m.within_noise));
    let title = if claims {
        "speed (mean ns/incr, ± one standard deviation):"
    } else {
        "speed (mean ns/incr):"
    };
    (title, said)
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
    let (title, said) = sentences(&rank(combos));
    if said.is_empty() {
        return Ok(());
    }
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
/// or "all 4 modes as fast as one another, within the noise", for `ranked` fastest first.
fn compare(ranked: &[Ranked]) -> String {
    let mut faster = Vec::new();
    let mut alike = Vec::new();
    for m in &ranked[1..] {
        let s = &m.against_fastest;
        if m.within_noise {
            alike.push(m.mode.name.clone());
        } else {
            faster.push(format!(
                "{:.2} ± {:.2} times faster than {}",
                s.ratio, s.stddev, m.mode.name
            ));
        }
    }
    if faster.is_empty() {
        return match ranked.len() {
            2 => "both modes as fast as each other, within the noise".to_string(),
            n => format!("all {n} modes as fast as one another, within the noise"),
        };
    }
    let mut text = format!("{} ran {}", ranked[0].mode.name, faster.join(", "));
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
