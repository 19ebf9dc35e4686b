//! The command line, as clap sees it. Turned into a validated [`Config`](crate::config::Config)
//! in one place; nothing downstream parses or re-checks options.

use clap::{Parser, ValueEnum};

use crate::duration::{Window, parse_nanos, parse_window};

const EXAMPLES: &str = "\
Examples:
  racecount -p 10 -i 20 -m unlocked             lost updates, as in the Python lesson
  racecount -m mutex,atomic -t 1000 --check     exit 1 if any trial is not exact
  racecount -p 1,2,4,8 -m unlocked,atomic       how loss and cost grow with contention
  racecount -p 4 -i 10 -m unlocked -t 1 --trace which updates were lost, who overwrote whom";

/// Forks worker processes that increment one counter in shared memory, with and without
/// synchronization, and shows the updates that get lost.
#[derive(Debug, Parser)]
#[command(name = "racecount", version, about, after_help = EXAMPLES, max_term_width = 100)]
pub struct Options {
    /// Worker processes per trial (a comma-separated list sweeps)
    #[arg(short, long, value_name = "N", default_value = "10", value_delimiter = ',',
          value_parser = parse_procs, allow_negative_numbers = true)]
    pub procs: Vec<u32>,

    /// Increments per worker per trial (a comma-separated list sweeps)
    #[arg(short, long, value_name = "N", default_value = "20", value_delimiter = ',',
          value_parser = parse_count, allow_negative_numbers = true)]
    pub iters: Vec<u64>,

    /// Trials per mode
    #[arg(short, long, value_name = "N", default_value = "10", value_parser = parse_count,
          allow_negative_numbers = true)]
    pub trials: u64,

    /// Modes to run, comma-separated: unlocked, per-access, mutex, atomic, or all
    #[arg(
        short,
        long,
        value_name = "LIST",
        default_value = "all",
        value_delimiter = ',',
        hide_possible_values = true,
        allow_hyphen_values = true
    )]
    pub mode: Vec<ModeArg>,

    /// Time between reading and writing the counter, busy-waiting: 0, 100ns, 1us, 2ms..., or
    /// `yield`. The default 1us is about what CPython spends inside `value += 1`. A list sweeps.
    #[arg(short, long, value_name = "DUR", default_value = "1us", value_delimiter = ',',
          value_parser = parse_window, allow_hyphen_values = true)]
    pub window: Vec<Window>,

    /// Pause before every increment (the lesson's time.sleep), e.g. 10ms
    #[arg(long, value_name = "DUR", default_value = "0", value_parser = parse_nanos,
          allow_hyphen_values = true)]
    pub sleep: u64,

    /// Extra random pause in [0, DUR) before every increment, drawn from --seed
    #[arg(long, value_name = "DUR", default_value = "0", value_parser = parse_nanos,
          allow_hyphen_values = true)]
    pub jitter: u64,

    /// Seed for --jitter (chosen at random and shown when not given). It makes the pauses
    /// repeatable, never the race's outcome.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<u64>,

    /// Output: human, totals (one final total per line), json, csv (one row per trial) or
    /// markdown (the summary table)
    #[arg(
        short,
        long,
        value_name = "FORMAT",
        default_value = "human",
        hide_possible_values = true
    )]
    pub format: FormatArg,

    /// Exit with status 1 when any trial's total differs from procs x iters
    #[arg(long)]
    pub check: bool,

    /// Fork the workers once and reuse them for every trial (much faster trial loops)
    #[arg(long)]
    pub pool: bool,

    /// Give up on a trial that takes longer than this (e.g. 5s); default: no limit
    #[arg(long, value_name = "DUR", value_parser = parse_nanos, allow_hyphen_values = true)]
    pub timeout: Option<u64>,

    /// Record every increment (value read, value replaced, times) and explain each lost
    /// update: collisions and stale writes, with a timeline for small runs
    #[arg(long)]
    pub trace: bool,

    /// Also draw the traced timeline as an SVG picture in FILE (implies --trace)
    #[arg(long, value_name = "FILE")]
    pub trace_svg: Option<std::path::PathBuf>,

    /// Colour in human output: auto (only on a terminal, NO_COLOR unset), always, never
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: ColorArg,

    /// Show no progress bar (it appears on stderr, when that is a terminal, for runs over 1s)
    #[arg(short, long)]
    pub quiet: bool,

    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) and exit
    #[arg(long, value_name = "SHELL", hide_short_help = true)]
    pub completions: Option<clap_complete::Shell>,

    /// Print the man page (roff) and exit
    #[arg(long, hide_short_help = true)]
    pub man: bool,
}

/// A mode as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    All,
    Unlocked,
    PerAccess,
    Mutex,
    Atomic,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Totals,
    Json,
    Csv,
    Markdown,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    Auto,
    Always,
    Never,
}

fn parse_count(text: &str) -> Result<u64, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err("must be a whole number of at least 1, not negative".into());
    }
    match text.parse::<u64>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => {
            Err(format!("must be at most {}", u64::MAX))
        }
        Err(_) => Err("must be a whole number of at least 1".into()),
    }
}

fn parse_procs(text: &str) -> Result<u32, String> {
    let n = parse_count(text)?;
    u32::try_from(n).map_err(|_| format!("must be at most {}", u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Options::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_lesson() {
        let o = Options::try_parse_from(["racecount"]).unwrap();
        assert_eq!(o.procs, [10]);
        assert_eq!(o.iters, [20]);
        assert_eq!(o.trials, 10);
        assert_eq!(o.mode, [ModeArg::All]);
        assert_eq!(o.window, [Window::Busy(1_000)]);
    }

    #[test]
    fn lists_sweep() {
        let o = Options::try_parse_from(["racecount", "-p", "1,2,4", "-w", "0,yield"]).unwrap();
        assert_eq!(o.procs, [1, 2, 4]);
        assert_eq!(o.window, [Window::Busy(0), Window::Yield]);
    }
}
