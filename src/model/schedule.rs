//! `--schedule`'s strategies: how the next worker to step is chosen, as the command line names
//! them. The decisions themselves run in the workers (`race::child::schedule`).

use std::fmt;

/// How the next worker to step is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// Two workers share the turn as two CPUs would. After a step in the middle of an
    /// increment (between its read and its write) the turn passes to the partner with
    /// probability `switch`; after the step that ends an increment, with probability ½ (two
    /// CPUs go at the same pace). A worker that finishes gives its place to the worker that
    /// has waited longest, and between increments the running worker is now and then
    /// ([`PREEMPT`]) swapped for the one that has waited longest: a change of partner.
    Random { switch: f64 },
    /// Probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010): distinct random
    /// priorities, and `depth − 1` random steps at which the running worker's priority drops
    /// below every other; the highest-priority runnable worker steps.
    Pct { depth: u32 },
    /// Round robin, one step each: everyone reads, then everyone writes.
    Lockstep,
    /// The interleaving that ends at the smallest total possible (2; 1 when iters = 1).
    Worst,
    /// One worker after another, each to the end.
    Serial,
    /// The interleaving of a recorded trace, step by step (`--replay`; the steps are the
    /// run's [`Replay`](super::trace::Replay)s').
    Replay,
}

/// The default `--switch`: chosen so that 10 × 20 `unlocked` looks like the Python lesson
/// (see the README's histogram).
pub const DEFAULT_SWITCH: f64 = 0.1;

/// The chance, between two increments, that the running worker is swapped for the one that
/// has waited longest (`random`).
pub const PREEMPT: f64 = 0.05;

/// Most `pct` priority-change points.
pub const MAX_DEPTH: u32 = 32;

impl Strategy {
    /// The name used on the command line and in every output format (`pct:3`).
    pub fn name(&self) -> String {
        match self {
            Strategy::Random { .. } => "random".into(),
            Strategy::Pct { depth } => format!("pct:{depth}"),
            Strategy::Lockstep => "lockstep".into(),
            Strategy::Worst => "worst".into(),
            Strategy::Serial => "serial".into(),
            Strategy::Replay => "replay".into(),
        }
    }

    /// Parses `random`, `pct:D`, `lockstep`, `worst` or `serial`.
    pub fn parse(text: &str) -> Result<Strategy, String> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        match lower.as_str() {
            "random" => Ok(Strategy::Random {
                switch: DEFAULT_SWITCH,
            }),
            "lockstep" => Ok(Strategy::Lockstep),
            "worst" => Ok(Strategy::Worst),
            "serial" => Ok(Strategy::Serial),
            "pct" => Err("pct needs a depth, e.g. pct:3".into()),
            _ => match lower.strip_prefix("pct:") {
                Some(d) => match d.trim().parse::<u32>() {
                    Ok(depth) if (1..=MAX_DEPTH).contains(&depth) => Ok(Strategy::Pct { depth }),
                    _ => Err(format!(
                        "pct's depth must be a whole number from 1 to {MAX_DEPTH}, not '{d}'"
                    )),
                },
                None => {
                    let words = ["random", "pct:3", "lockstep", "worst", "serial"];
                    let hint = super::words::closest(text, &words)
                        .map_or(String::new(), |w| format!("; did you mean '{w}'?"));
                    Err(format!(
                        "expected random, pct:D, lockstep, worst or serial{hint}"
                    ))
                }
            },
        }
    }

    /// Whether the strategy draws from the seed.
    pub fn is_random(&self) -> bool {
        match self {
            Strategy::Random { .. } | Strategy::Pct { .. } => true,
            Strategy::Lockstep | Strategy::Worst | Strategy::Serial | Strategy::Replay => false,
        }
    }

    /// `--switch` under `random`; `None` for the strategies that have none.
    pub fn switch(&self) -> Option<f64> {
        match self {
            Strategy::Random { switch } => Some(*switch),
            Strategy::Pct { .. }
            | Strategy::Lockstep
            | Strategy::Worst
            | Strategy::Serial
            | Strategy::Replay => None,
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.name())
    }
}
