//! The command line, as clap sees it. Turned into a validated [`Config`](crate::command::config::Config)
//! in one place; nothing downstream parses or re-checks options.

use clap::{Parser, ValueEnum};

use crate::command::duration::{parse_nanos, parse_window};
use crate::output::format::Format;
use crate::race::lock::Lock;
use crate::race::pin::Pin;
use crate::race::window::Window;

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

    /// Time between reading and writing the counter: 0, 100ns, 1us... or yield; a list
    /// sweeps. 1us is about what CPython spends in `value += 1`
    ///
    /// Spent busy-waiting on the monotonic clock; `yield` calls sched_yield instead. With 0 only
    /// the raw hardware race is left, which needs large --iters to show.
    #[arg(short, long, value_name = "DUR", default_value = "1us", value_delimiter = ',',
          value_parser = parse_window, allow_hyphen_values = true)]
    pub window: Vec<Window>,

    /// Output: human, totals, json, csv or markdown
    ///
    /// human: for people (tables, histogram, verdicts). totals: one final total per line, for
    /// shell loops. json: one document with every trial. csv: one row per trial. markdown: the
    /// summary table.
    #[arg(
        short,
        long,
        value_name = "FORMAT",
        default_value = "human",
        hide_possible_values = true
    )]
    pub format: Format,

    /// Exit with status 1 when any trial's total differs from procs x iters
    #[arg(long)]
    pub check: bool,

    /// Record every increment and explain each lost update, with a timeline
    ///
    /// Each worker records the value it read, the value its write replaced and the times of
    /// both; every lost update is then shown as a collision or a stale write, and the
    /// explanation is checked to add up to the lost total. The text timeline is drawn up to 10
    /// procs x 20 iters.
    #[arg(long)]
    pub trace: bool,

    /// Also draw the traced timeline as an SVG picture in FILE (implies --trace)
    #[arg(long, value_name = "FILE")]
    pub trace_svg: Option<std::path::PathBuf>,

    /// Fork the workers once and reuse them for every trial (fast trial loops)
    #[arg(long)]
    pub pool: bool,

    /// The lock that mutex and per-access take; a comma-separated list sweeps
    ///
    /// pthread: process-shared mutex (a dead holder keeps it: the others wait). robust: the same,
    /// robust (the next locker recovers it). sem: POSIX semaphore, as Python's
    /// multiprocessing.Lock. spin: test-and-test-and-set. ticket: fair ticket lock. flock:
    /// fcntl record lock on an unnamed temporary file. peterson (2 procs), bakery: mutual
    /// exclusion from loads and stores, with full fences. peterson-nofence, bakery-nofence:
    /// the same without them, which lets two in at once on x86. private: a mutex made before
    /// fork in ordinary memory, so each worker locks its own copy.
    #[arg(
        help_heading = "Locks, threads and CPUs",
        long,
        value_name = "KIND",
        default_value = "pthread",
        value_delimiter = ',',
        hide_possible_values = true
    )]
    pub lock: Vec<Lock>,

    /// Run the workers as threads of racecount instead of forked processes
    ///
    /// Same page, modes, locks and output. A thread cannot be killed: with --timeout, a trial
    /// that does not finish ends the whole run after what finished is shown (exit 3). Not
    /// with --pool, nor with --lock flock (fcntl locks belong to the process, so threads of one
    /// process never exclude each other).
    #[arg(help_heading = "Locks, threads and CPUs", long)]
    pub threads: bool,

    /// Pin each worker to a CPU: none, spread (round robin over the CPUs racecount may use),
    /// same (all on one CPU) or a CPU list such as 0,2-3
    #[arg(help_heading = "Locks, threads and CPUs", long, value_name = "HOW", default_value = "none",
          value_parser = Pin::parse)]
    pub pin: Pin,

    /// Pause before every increment (the lesson's time.sleep), e.g. 10ms
    #[arg(help_heading = "Pauses", long, value_name = "DUR", default_value = "0", value_parser = parse_nanos,
          allow_hyphen_values = true)]
    pub sleep: u64,

    /// Extra random pause in [0, DUR) before every increment, drawn from --seed
    #[arg(help_heading = "Pauses", long, value_name = "DUR", default_value = "0", value_parser = parse_nanos,
          allow_hyphen_values = true)]
    pub jitter: u64,

    /// Seed for --jitter (random and shown when not given)
    ///
    /// It makes the pauses repeatable, never the race's outcome.
    #[arg(
        help_heading = "Pauses",
        long,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub seed: Option<u64>,

    /// Give up on a trial that takes longer than this, e.g. 5s [default: no limit]
    #[arg(help_heading = "Run control", long, value_name = "DUR", value_parser = parse_nanos, allow_hyphen_values = true)]
    pub timeout: Option<u64>,

    /// Colour in human output: auto, always or never
    ///
    /// auto: only when stdout is a terminal and NO_COLOR is unset.
    #[arg(
        help_heading = "Run control",
        long,
        value_name = "WHEN",
        default_value = "auto",
        hide_possible_values = true
    )]
    pub color: ColorArg,

    /// Hide the progress bar
    ///
    /// The bar appears on stderr, only when that is a terminal, for runs over a second.
    #[arg(help_heading = "Run control", short, long)]
    pub quiet: bool,

    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) and exit
    #[arg(
        help_heading = "Run control",
        long,
        value_name = "SHELL",
        hide_short_help = true
    )]
    pub completions: Option<clap_complete::Shell>,

    /// Print the man page (roff) and exit
    #[arg(help_heading = "Run control", long, hide_short_help = true)]
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
