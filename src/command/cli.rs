//! The command line, as clap sees it. Turned into a validated [`Config`](crate::command::config::Config)
//! in one place; nothing downstream parses or re-checks options.

use clap::builder::PossibleValue;
use clap::{ArgAction, Parser, ValueEnum, ValueHint};

use crate::model::lease::{Lease, Stall};
use crate::model::lock::Lock;
use crate::model::mode::Mode;
use crate::model::pin::Pin;
use crate::model::schedule::Strategy;
use crate::model::units::parse_nanos;
use crate::model::window::Window;
use crate::output::format::Format;

// Each example on one line within 80 columns: -h fits an 80 x 24 terminal.
const EXAMPLES: &str = "\
Examples:
  racecount -p 10 -i 20 -m unlocked   lost updates, as in the Python lesson
  racecount -m mutex,atomic --check   exit 1 if any trial is not exact
  racecount -m unlocked -t 1 --trace  which updates were lost, and who lost them
  racecount --schedule random         the same lesson on any machine, replayable
  racecount --store redis://db --join lab --hosts 3   one run on 3 machines";

#[derive(Debug, Parser)]
#[command(
    name = "racecount",
    version,
    about = "Shows updates lost when processes race on one counter",
    long_about = "Forks worker processes that increment one counter in shared memory, \
                  unlocked, with a lock or atomically, trial after trial, and shows the \
                  updates that get lost without synchronization and stop with it.",
    after_help = EXAMPLES,
    max_term_width = 80
)]
// An option given twice counts once, the last time (a list too: `-p 1,2 -p 4` runs 4), so a
// shell alias's options can be overridden on the command line.
#[command(args_override_self = true)]
pub struct Options {
    /// unlocked, per-access, mutex, atomic, all [default: all]
    ///
    /// The modes to run; a comma-separated list runs each in turn.
    #[arg(
        short,
        long,
        hide_default_value = true,
        value_name = "LIST",
        default_value = "all",
        value_delimiter = ',',
        action = ArgAction::Set,
        hide_possible_values = true,
        allow_hyphen_values = true,
        ignore_case = true
    )]
    pub mode: Vec<ModeChoice>,

    /// Worker processes per trial; a list sweeps
    ///
    /// A comma-separated list (1,2,4,8) runs every value.
    #[arg(short, long, value_name = "N", default_value = "10", value_delimiter = ',',
          value_parser = parse_procs, allow_negative_numbers = true, action = ArgAction::Set,
          value_hint = ValueHint::Other)]
    pub procs: Vec<u32>,

    /// Increments per worker; a list sweeps
    ///
    /// Each worker's increments in every trial.
    /// A comma-separated list runs every value.
    #[arg(short, long, value_name = "N", default_value = "20", value_delimiter = ',',
          value_parser = parse_count, allow_negative_numbers = true, action = ArgAction::Set,
          value_hint = ValueHint::Other)]
    pub iters: Vec<u64>,

    /// Trials per mode
    #[arg(short, long, value_name = "N", default_value = "10", value_parser = parse_count,
          allow_negative_numbers = true, value_hint = ValueHint::Other)]
    pub trials: u64,

    /// Read-to-write time: 0, 100ns, 1us, yield
    ///
    /// Spent busy-waiting on the monotonic clock; `yield` calls sched_yield instead. The
    /// default, 1us, is about what CPython spends in `value += 1`. With 0 only the raw
    /// hardware race is left, which needs large --iters to show. A list sweeps.
    #[arg(short, long, value_name = "DUR", default_value = "1us", value_delimiter = ',',
          value_parser = Window::parse, allow_hyphen_values = true, action = ArgAction::Set,
          value_hint = ValueHint::Other)]
    pub window: Vec<Window>,

    // The help is made from the formats' own list (src/output/format.rs), so that adding a
    // format does not touch this file.
    #[arg(
        short,
        long,
        help = Format::short_help(),
        long_help = Format::long_help(),
        value_name = "FORMAT",
        default_value = "human",
        hide_possible_values = true,
        ignore_case = true
    )]
    pub format: Format,

    /// Exit 1 if any trial's total is not procs x iters
    #[arg(long)]
    pub check: bool,

    /// Explain every lost update, with a timeline
    ///
    /// Each read records which write it saw and each write which write it replaced (the
    /// counter carries the name of the write that stored it), so every lost update is shown
    /// as a collision, a stale write or a restore, naming the workers the record proves. The
    /// text timeline is drawn up to 10 procs x 20 iters.
    #[arg(long)]
    pub trace: bool,

    /// Also draw the traced timeline as an SVG picture in FILE (implies --trace)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    #[arg(hide_short_help = true)]
    pub trace_svg: Option<std::path::PathBuf>,

    /// Also write what --format json prints to FILE
    #[arg(help_heading = "Exports", long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    #[arg(hide_short_help = true)]
    pub export_json: Option<std::path::PathBuf>,

    /// Also write what --format csv prints to FILE
    #[arg(help_heading = "Exports", long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    #[arg(hide_short_help = true)]
    pub export_csv: Option<std::path::PathBuf>,

    /// Also write what --format markdown prints to FILE
    #[arg(help_heading = "Exports", long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    #[arg(hide_short_help = true)]
    pub export_markdown: Option<std::path::PathBuf>,

    /// Also write a self-contained HTML report to FILE: charts, and the races step by step
    ///
    /// One page that opens anywhere with nothing else (its style and script inside it): the
    /// command line and settings, each mode's histogram, table and verdict, the relative
    /// speeds, and, with --trace or --replay, each traced trial's writes to step through in
    /// their real order with the explanation's sentence for each.
    #[arg(help_heading = "Exports", long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    #[arg(hide_short_help = true)]
    pub export_html: Option<std::path::PathBuf>,

    /// Fork the workers once, reuse them for every trial
    #[arg(long)]
    pub pool: bool,

    /// Interleave the workers step by step: random, pct:D, lockstep, worst or serial
    ///
    /// The workers stay real processes on the real shared page, but only one takes a step
    /// (read, write, lock, unlock, atomic add) at a time, when the strategy gives it the turn,
    /// so a race replays the same from --seed on any machine: one CPU or many, busy or quiet.
    /// random: two workers share the turn as two CPUs would (see --switch). pct:D:
    /// probabilistic concurrency testing, D - 1 priority changes. lockstep: one step each in
    /// turn. worst: the interleaving that ends at the smallest total possible. serial: one
    /// worker after another. No window is held under a schedule.
    #[arg(help_heading = "Schedule", long, value_name = "STRATEGY", value_parser = Strategy::parse,
          value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub schedule: Option<Strategy>,

    /// Run a recorded trace's interleaving again: FILE[:TRIAL] from --format json --trace
    ///
    /// FILE is the json of a traced run (--format json --trace, or --export-json with
    /// --trace); TRIAL is the number of a trial kept in full there (the first traced trial of
    /// each mode), every one of them when left out. The same workers take the same steps in
    /// the same order on the shared page, one at a time, as --schedule does: the same final
    /// total and the same lost updates on any machine, traced and explained beside the
    /// recorded total. Takes the mode, procs, iters and lock from the file.
    #[arg(
        help_heading = "Schedule",
        long,
        value_name = "FILE[:TRIAL]",
        value_hint = ValueHint::FilePath,
        conflicts_with_all = [
            "mode", "procs", "iters", "window", "trials", "schedule", "switch", "lock",
            "store", "isolation", "threads", "pool", "seed", "sleep", "jitter", "pin",
            "stall", "fencing", "join", "hosts",
        ]
    )]
    #[arg(hide_short_help = true)]
    pub replay: Option<String>,

    /// With --schedule random: chance of handing the turn over mid-increment [default: 0.1]
    ///
    /// After a worker's read (before its write) the turn passes to the other running worker
    /// with this chance; after a write, with 1/2. 0 never splits an increment (nothing is
    /// lost); 1 splits every one. 0.1 makes 10 x 20 unlocked look like the Python lesson.
    #[arg(help_heading = "Schedule", long, value_name = "P", value_parser = parse_chance,
          value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub switch: Option<f64>,
    /// Where the counter lives: page (shared memory), sqlite:PATH, postgres://…, redis://… or
    /// mysql://…
    ///
    /// With a database each worker opens its own connection and the run uses a table or key
    /// of its own, removed at the end (and, should racecount die, by the next run). unlocked:
    /// read, window, write back read + 1, each statement on its own; per-access: the same
    /// inside one transaction (Redis: each access in its own MULTI/EXEC); mutex: the store's
    /// lock (BEGIN IMMEDIATE, SELECT … FOR UPDATE, WATCH/MULTI/EXEC); atomic: UPDATE … SET v =
    /// v + 1 or INCR. PostgreSQL also takes a key=value string (host=… dbname=…). A password
    /// left out of the URL is read as each database's own client reads it: PGPASSWORD or
    /// ~/.pgpass, REDISCLI_AUTH, MYSQL_PWD. TLS: sslmode= (PostgreSQL), rediss://, ssl-mode=
    /// (MySQL).
    #[arg(
        help_heading = "Store",
        long,
        value_name = "URL",
        default_value = "page"
    )]
    #[arg(hide_short_help = true)]
    pub store: String,

    /// Isolation of the workers' transactions: read-committed, repeatable-read or
    /// serializable (PostgreSQL, MySQL; SQLite is always serializable)
    ///
    /// Refusals (serialization failures) are retried and counted per trial.
    #[arg(
        help_heading = "Store",
        long,
        value_name = "LEVEL",
        hide_possible_values = true
    )]
    #[arg(hide_short_help = true)]
    pub isolation: Option<crate::model::store::Isolation>,

    /// Remove what runs that died left in --store (tables or keys racecount_*), list them, and
    /// run no trial
    ///
    /// A run holds a lock for its table while it lives (PostgreSQL: an advisory lock; MySQL:
    /// GET_LOCK; SQLite: an fcntl lock on a file beside the database; Redis: a connection named
    /// after its key, and a TTL): a racecount_* table or key whose lock nobody holds belongs to
    /// a run that died. Every run also removes those at its start, and says so.
    #[arg(help_heading = "Store", long)]
    #[arg(hide_short_help = true)]
    pub clean: bool,

    /// Run one run with other hosts: each runs the same command with the same NAME
    ///
    /// The hosts meet through --store (PostgreSQL or Redis), nothing else: each host's workers
    /// connect and wait, the start gate opens when every host's are waiting, all race on one
    /// counter, and every host prints the same results, with each host's part. NAME: lowercase
    /// letters and digits. A host that does not arrive, or stops answering, within --timeout
    /// (30s when not given), or whose connection to the store is gone (killed), ends the run on
    /// every host.
    #[arg(help_heading = "Store", long, value_name = "NAME", value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub join: Option<String>,

    /// With --join: how many hosts take part, this one included (each runs --procs workers)
    #[arg(help_heading = "Store", long, value_name = "N", value_parser = parse_procs,
          allow_negative_numbers = true, value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub hosts: Option<u32>,

    /// The lock that mutex and per-access take; a comma-separated list sweeps [default:
    /// pthread]
    ///
    /// pthread: process-shared mutex (a dead holder keeps it: the others wait). robust: the same,
    /// robust (the next locker recovers it). sem: POSIX semaphore, as Python's
    /// multiprocessing.Lock. spin: test-and-test-and-set. ticket: fair ticket lock. flock:
    /// fcntl record lock on an unnamed temporary file. peterson (2 procs), bakery: mutual
    /// exclusion from loads and stores, with full fences. peterson-nofence, bakery-nofence:
    /// the same without them, which lets two in at once on x86. private: a mutex made before
    /// fork in ordinary memory, so each worker locks its own copy. lease:TTL (with --store
    /// postgres://… or redis://…): a lock in the store that expires after TTL, e.g.
    /// lease:100ms, instead of the store's own locks.
    #[arg(
        help_heading = "Locks, threads and CPUs",
        long,
        value_name = "KIND",
        value_delimiter = ',',
        value_parser = LockParser,
        hide_possible_values = true
    )]
    #[arg(hide_short_help = true)]
    pub lock: Option<Vec<LockArg>>,

    /// With --store: the lock holder pauses for DUR between read and write (with chance P per
    /// increment, 1 if left out), as in a GC pause: e.g. 300ms or 300ms@0.1
    ///
    /// mutex and per-access only. Under a lease shorter than DUR the lease expires while its
    /// holder still thinks it holds it.
    #[arg(help_heading = "Locks, threads and CPUs", long, value_name = "DUR[@P]",
          value_parser = Stall::parse, value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub stall: Option<Stall>,

    /// With --lock lease:TTL: every read and write carries the lease's token, and the store
    /// refuses one older than a token it has seen (counted as a retry)
    #[arg(help_heading = "Locks, threads and CPUs", long)]
    #[arg(hide_short_help = true)]
    pub fencing: bool,

    /// Run the workers as threads of racecount instead of forked processes
    ///
    /// Same page, modes, locks and output. A thread cannot be killed: with --timeout, a trial
    /// that does not finish ends the whole run after what finished is shown (exit 3). Not
    /// with --pool, nor with --lock flock (fcntl locks belong to the process, so threads of one
    /// process never exclude each other).
    #[arg(help_heading = "Locks, threads and CPUs", long)]
    #[arg(hide_short_help = true)]
    pub threads: bool,

    /// Pin each worker to a CPU: none, spread (round robin over the CPUs racecount may use),
    /// same (all on one CPU) or a CPU list such as 0,2-3
    #[arg(help_heading = "Locks, threads and CPUs", long, value_name = "HOW", default_value = "none",
          value_parser = Pin::parse, value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub pin: Pin,

    /// Pause before every increment (the lesson's time.sleep), e.g. 10ms
    #[arg(help_heading = "Pauses", long, value_name = "DUR", default_value = "0", value_parser = parse_nanos,
          allow_hyphen_values = true, value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub sleep: u64,

    /// Extra random pause in [0, DUR) before every increment, drawn from --seed
    #[arg(help_heading = "Pauses", long, value_name = "DUR", default_value = "0", value_parser = parse_nanos,
          allow_hyphen_values = true, value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub jitter: u64,

    /// Seed for --schedule and --jitter (random and shown when not given)
    ///
    /// With --schedule the same seed replays the same interleaving and the same totals on any
    /// machine; with --jitter it makes the pauses repeatable, never the race's outcome.
    #[arg(
        help_heading = "Schedule",
        long,
        value_name = "N",
        value_parser = parse_seed,
        value_hint = ValueHint::Other,
        allow_negative_numbers = true
    )]
    #[arg(hide_short_help = true)]
    pub seed: Option<u64>,

    /// Give up on a trial that takes longer than this, e.g. 5s [default: no limit]
    #[arg(help_heading = "Run control", long, value_name = "DUR", value_parser = parse_timeout, allow_hyphen_values = true,
          value_hint = ValueHint::Other)]
    #[arg(hide_short_help = true)]
    pub timeout: Option<u64>,

    /// Color in human output: auto, always or never
    ///
    /// auto: only when stdout is a terminal and NO_COLOR is unset or empty.
    #[arg(
        help_heading = "Run control",
        long,
        value_name = "WHEN",
        default_value = "auto",
        hide_possible_values = true,
        ignore_case = true
    )]
    #[arg(hide_short_help = true)]
    pub color: ColorArg,

    /// Hide the progress bar
    ///
    /// The bar appears on stderr, only when that is a terminal, for runs over a second.
    // Among the first options, not under a heading: -h then needs no heading line for it.
    #[arg(short, long)]
    pub quiet: bool,

    /// Print a completion script for SHELL (bash, zsh, fish, elvish, powershell) and exit
    ///
    /// bash completes `--mode`'s list item by item (`--mode unlocked,<TAB>`).
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

/// A `--lock` item: a lock of the shared page's, or a store's lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockArg {
    Page(Lock),
    Lease(Lease),
}

/// `--lock`'s values: `lease:TTL`, else the page's kinds as clap reads a [`ValueEnum`] (with
/// its "did you mean").
#[derive(Clone)]
struct LockParser;

impl clap::builder::TypedValueParser for LockParser {
    type Value = LockArg;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<LockArg, clap::Error> {
        if let Some(ttl) = value.to_str().and_then(|v| v.strip_prefix("lease:")) {
            return Lease::parse(ttl).map(LockArg::Lease).map_err(|e| {
                clap::Error::raw(
                    clap::error::ErrorKind::ValueValidation,
                    format!("invalid value 'lease:{ttl}' for '--lock <KIND>': {e}\n"),
                )
            });
        }
        clap::builder::EnumValueParser::<Lock>::new()
            .parse_ref(cmd, arg, value)
            .map(LockArg::Page)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        let page = Lock::value_variants()
            .iter()
            .filter_map(ValueEnum::to_possible_value);
        Some(Box::new(page.chain([PossibleValue::new("lease:TTL")])))
    }
}

/// A `--mode` item: one mode, or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModeChoice {
    All,
    One(Mode),
}

/// `all`, then every mode in [`Mode::ALL`]'s order.
const MODE_CHOICES: [ModeChoice; Mode::ALL.len() + 1] = {
    let mut choices = [ModeChoice::All; Mode::ALL.len() + 1];
    let mut i = 0;
    while i < Mode::ALL.len() {
        choices[i + 1] = ModeChoice::One(Mode::ALL[i]);
        i += 1;
    }
    choices
};

impl ValueEnum for ModeChoice {
    fn value_variants<'a>() -> &'a [Self] {
        &MODE_CHOICES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        Some(PossibleValue::new(match self {
            ModeChoice::All => "all",
            ModeChoice::One(mode) => mode.name(),
        }))
    }
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
    if text.is_empty() {
        return Err("empty item in the list (two commas in a row, or a comma at an end)".into());
    }
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

fn parse_chance(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err("must be a chance from 0 to 1, e.g. 0.1".into()),
    }
}

fn parse_seed(text: &str) -> Result<u64, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "a seed is a whole number from 0 to {} (it replays --schedule and --jitter)",
            u64::MAX
        )
    })
}

fn parse_timeout(text: &str) -> Result<u64, String> {
    match parse_nanos(text)? {
        0 => Err("must be longer than 0".into()),
        ns => Ok(ns),
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
        assert_eq!(o.mode, [ModeChoice::All]);
        assert_eq!(o.window, [Window::Busy(1_000)]);
    }

    #[test]
    fn lists_sweep() {
        let o = Options::try_parse_from(["racecount", "-p", "1,2,4", "-w", "0,yield"]).unwrap();
        assert_eq!(o.procs, [1, 2, 4]);
        assert_eq!(o.window, [Window::Busy(0), Window::Yield]);
    }
}
