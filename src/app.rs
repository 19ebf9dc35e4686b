//! The program: options → config → trials → results → renderer.

use std::io::{self, BufWriter, IsTerminal, Write};

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::command::cli::Options;
use crate::command::config::Config;
use crate::command::error::ConfigError;
use crate::command::estimate::{least_duration, long_run_warning};
use crate::exit::Status;
use crate::output::Surroundings;
use crate::output::export::ExportError;
use crate::output::progress::Progress;
use crate::output::wrap::{words, write_lines};
use crate::probe::Probe;
use crate::race::fork::interrupt;
use crate::results::{NoLiveOutput, Observer, Report, Stop};
use crate::run::{Plan, run as run_plan, shares_the_parent};
use crate::store::{self, Counter, Db, DbError};

/// Leaves the process with `status`: stopped by a signal, it dies by that signal (see
/// [`interrupt::die_by`]); otherwise it returns the exit code for `main` to return.
pub fn exit(status: Status) -> std::process::ExitCode {
    if let Status::Signal(number) = status {
        interrupt::die_by(number);
    }
    std::process::ExitCode::from(status.code())
}

/// Runs racecount with the process's arguments and returns how to exit.
pub fn main() -> Status {
    match run() {
        Ok(status) => status,
        Err(error) => error.conclude(),
    }
}

/// Why racecount stopped short: each becomes one line on stderr and an exit status, here.
#[derive(Debug)]
pub enum Error {
    /// clap's own: bad usage, or help and version (which are not errors to the user).
    Usage(clap::Error),
    /// The options cannot run as asked.
    Config(ConfigError),
    /// The completion script or the man page could not be written.
    Script(&'static str, io::Error),
    /// The signal handlers could not be installed.
    Signals(nix::Error),
    /// The output could not be written.
    Output(io::Error),
    /// An extra file could not be written after the run.
    Export(ExportError),
}

impl Error {
    /// Says what went wrong, once, and picks the exit status. A closed pipe (`| head`) is not
    /// a failure: there is nobody left to tell.
    fn conclude(self) -> Status {
        match self {
            Error::Usage(e) => clap_error(&e),
            Error::Script(_, e) | Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                Status::Success
            }
            Error::Config(e) => {
                say(&format!("error: {e}"));
                Status::BadInput
            }
            Error::Script(what, e) => {
                say(&format!("error: cannot write the {what}: {e}"));
                Status::RunFailed
            }
            Error::Signals(e) => {
                say(&format!("error: cannot install signal handlers: {e}"));
                Status::RunFailed
            }
            Error::Output(e) => {
                say(&format!("error: cannot write the output: {e}"));
                Status::RunFailed
            }
            Error::Export(e) => {
                say(&format!("error: {e}"));
                Status::RunFailed
            }
        }
    }
}

/// Options → config → trials → results → renderer; `Ok` with how the run ended.
fn run() -> Result<Status, Error> {
    let options = Options::try_parse().map_err(Error::Usage)?;
    if let Some(shell) = options.completions {
        let script = crate::command::completion::script(shell);
        io::stdout()
            .write_all(&script)
            .map_err(|e| Error::Script("completion script", e))?;
        return Ok(Status::Success);
    }
    if options.man {
        crate::command::manual::write(&mut io::stdout())
            .map_err(|e| Error::Script("man page", e))?;
        return Ok(Status::Success);
    }
    let probe = Probe::now();
    let store_arg = options.store.clone();
    let mut config = Config::new(options, &probe).map_err(Error::Config)?;
    if let Some(span) = config.store.db().and_then(|db| db.password_span.clone()) {
        store::argv::hide(&store_arg, span);
    }
    interrupt::install().map_err(Error::Signals)?;
    if let (true, Some(db)) = (config.clean, config.store.db()) {
        return clean(db).map_err(Error::Output);
    }
    let least = least_duration(&config.settings, u64::from(probe.load.cpus));
    for warning in config.warnings.iter().chain(&long_run_warning(least)) {
        say(&format!("warning: {warning}"));
    }
    let counter = match make_counter(&mut config) {
        Ok(Some(Ok(counter))) if config.settings.join.is_some() => {
            match join(&mut config, counter) {
                Ok(counter) => Some(counter),
                Err(status) => return Ok(status),
            }
        }
        Ok(counter) => counter,
        Err(status) => return Ok(status),
    };
    let surroundings = Surroundings::of(&probe, config.color);
    let report = execute(&config, counter, &surroundings).map_err(Error::Output)?;
    for export in &config.exports {
        export
            .write(&report, &surroundings.machine)
            .map_err(Error::Export)?;
    }
    Ok(conclude(&config, &report))
}

/// With a database store: removes what dead runs left (saying so) and makes the run's
/// counter, named in the settings with what the database said about itself; or why it could
/// not be made, for the run to report. A signal meanwhile ends racecount: `Err` with the
/// status.
fn make_counter(config: &mut Config) -> Result<Option<Result<Counter, String>>, Status> {
    let Some(db) = config.store.db() else {
        return Ok(None);
    };
    match Counter::create(db) {
        Ok((counter, cleaned)) => {
            if let Some(line) = cleaned.at_start(db.thing(), &db.shown) {
                say(&line);
            }
            let store = &mut config.settings.store;
            store.counter = Some(db.describe());
            store.facts = counter.facts().clone();
            Ok(Some(Ok(counter)))
        }
        Err(DbError::Failed(message) | DbError::Refused(message)) => Ok(Some(Err(message))),
        Err(DbError::Interrupted { signal, left }) => {
            say(&format!(
                "interrupted by {} while making the counter in {}; {left}",
                signal.as_str(),
                db.shown
            ));
            Err(Status::Signal(signal as i32))
        }
    }
}

/// `--join`: joins the run (its settings checked against this host's, every host arrived),
/// and names the hosts in the settings. A run that cannot take this host is bad input (exit 2);
/// one whose hosts did not all arrive, a failure (exit 3, as the run reports it).
fn join(config: &mut Config, mut counter: Counter) -> Result<Result<Counter, String>, Status> {
    let patience = config.timeout.unwrap_or(store::join::DEFAULT_PATIENCE);
    match store::join::Joined::join(&mut counter, &config.settings, patience) {
        Ok(joined) => {
            if let Some(join) = config.settings.join.as_mut() {
                join.roster = joined.roster.clone();
            }
            say(&format!(
                "joined the run {} as host {} of {}",
                joined.name,
                joined.slot + 1,
                joined.hosts
            ));
            counter.joined = Some(joined);
            Ok(Ok(counter))
        }
        Err(DbError::Refused(message)) => {
            say(&format!("error: {message}"));
            Err(Status::BadInput)
        }
        Err(DbError::Failed(message)) => Ok(Err(message)),
        Err(DbError::Interrupted { signal, .. }) => {
            say(&format!(
                "interrupted by {} while waiting for the other hosts",
                signal.as_str()
            ));
            Err(Status::Signal(signal as i32))
        }
    }
}

/// `--clean`: removes the counters dead runs left in the store, one line on stdout for each.
fn clean(db: &Db) -> io::Result<Status> {
    let cleaned = match store::clean(db) {
        Ok(cleaned) => cleaned,
        Err(DbError::Failed(message) | DbError::Refused(message)) => {
            say(&format!("error: {message}"));
            return Ok(Status::RunFailed);
        }
        Err(DbError::Interrupted { signal, .. }) => {
            say(&format!(
                "interrupted by {} while cleaning {}",
                signal.as_str(),
                db.shown
            ));
            return Ok(Status::Signal(signal as i32));
        }
    };
    let mut out = io::stdout().lock();
    for name in &cleaned.removed {
        writeln!(out, "removed {} {name} from {}", db.thing(), db.shown)?;
    }
    out.flush()?;
    let thing = db.thing();
    if cleaned.removed.is_empty() && cleaned.failed.is_empty() {
        say(&format!(
            "nothing to remove in {}: no {thing} of a dead run",
            db.shown
        ));
    }
    if cleaned.live > 0 {
        say(&format!(
            "left alone: {} of runs still alive",
            crate::store::count(cleaned.live, thing)
        ));
    }
    if cleaned.failed.is_empty() {
        Ok(Status::Success)
    } else {
        say(&format!(
            "error: could not remove {}: {}",
            crate::store::count(cleaned.failed.len(), thing),
            cleaned.failed.join("; ")
        ));
        Ok(Status::RunFailed)
    }
}

/// Runs the trials with the format's live output (and the progress bar), then its final
/// output.
fn execute(
    config: &Config,
    counter: Option<Result<Counter, String>>,
    surroundings: &Surroundings,
) -> io::Result<Report> {
    let stdout = io::stdout();
    // With extra files to write, a reader that closes stdout early (`| head -1`) does not stop
    // the run: the files are what it is for. Without, a closed pipe ends it at once.
    let mut out = BufWriter::new(Tolerant {
        inner: stdout.lock(),
        closed: false,
        tolerate: !config.exports.is_empty(),
    });
    let format = config.format;
    let plan = Plan {
        settings: &config.settings,
        timeout: config.timeout,
        store: &config.store,
        counter,
        keep: config.keep(),
    };
    let report = {
        let mut live = format.live(&mut out, &config.settings, surroundings);
        let observer: &mut dyn Observer = match live.as_deref_mut() {
            Some(live) => live,
            None => &mut NoLiveOutput,
        };
        observer.start()?;
        if config.progress {
            // Store workers allocate after fork: their parent must have no other thread.
            let ticking = shares_the_parent(&config.store);
            let mut progress = Progress::new(observer, &config.settings, ticking);
            let gauge = progress.gauge();
            let watch = move |increments| gauge.watch(increments);
            let report = run_plan(plan, &mut progress, Some(&watch));
            progress.clear();
            report?
        } else {
            run_plan(plan, observer, None)?
        }
    };
    if let Some(renderer) = format.at_end(surroundings) {
        renderer.render(&report, &mut out)?;
    }
    out.flush()?;
    Ok(report)
}

/// Stdout that, when told to `tolerate` it, takes a closed pipe for a reader who has seen
/// enough: later writes go nowhere and succeed.
struct Tolerant<W> {
    inner: W,
    closed: bool,
    tolerate: bool,
}

impl<W: Write> Write for Tolerant<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if self.tolerate && e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.inner.flush() {
            Err(e) if self.tolerate && e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }
}

/// Says on stderr why a run stopped, and picks the exit status.
fn conclude(config: &Config, report: &Report) -> Status {
    match &report.stop {
        Some(Stop::Interrupted(signal)) => {
            let left = report
                .leftover
                .as_ref()
                .map_or(String::new(), |left| format!("; {left}"));
            say(&format!(
                "interrupted by {signal}; every worker was stopped{left}"
            ));
            Status::Signal(signal.number)
        }
        Some(Stop::SetupFailed(message)) => {
            say(&format!("error: {message}"));
            Status::RunFailed
        }
        Some(Stop::Failed(failure)) => {
            say(&format!("error: {failure}"));
            Status::RunFailed
        }
        None if config.check && !report.all_exact() => {
            let lossy: u64 = report.groups.iter().map(|g| g.lossy).sum();
            let all: u64 = report.groups.iter().map(|g| g.count).sum();
            say(&format!(
                "check failed: {lossy} of {all} trials lost updates"
            ));
            Status::CheckFailed
        }
        None => Status::Success,
    }
}

/// Help and version go to stdout as clap prints them; errors become one line and status 2.
fn clap_error(error: &clap::Error) -> Status {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            Status::Success
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            Status::BadInput
        }
        _ => {
            say(&format!(
                "error: {} (see racecount --help)",
                one_line(error)
            ));
            Status::BadInput
        }
    }
}

/// clap's first line, with what clap suggests ("did you mean"), else the accepted values
/// when clap lists them on a later line; and a hint for two mistakes clap cannot see.
fn one_line(error: &clap::Error) -> String {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    if let Some(message) = hint(error, &args) {
        return message;
    }
    let rendered = error.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let suggested = [ContextKind::SuggestedArg, ContextKind::SuggestedValue]
        .into_iter()
        .find_map(|kind| match error.get(kind) {
            Some(ContextValue::String(s)) => Some(s.clone()),
            Some(ContextValue::Strings(s)) => s.first().cloned(),
            _ => None,
        });
    if let Some(suggested) = suggested {
        message.push_str(&format!("; did you mean '{suggested}'?"));
    } else if let Some(values) = lines.find(|l| l.starts_with("[possible values:")) {
        message.push(' ');
        message.push_str(values);
    }
    message
}

/// Messages for mistakes clap reports in its own terms: a duration split from its unit
/// (`--window 1 us` leaves `us` as an unexpected argument), and an empty item in a list
/// (`--mode mutex,,atomic`).
fn hint(error: &clap::Error, args: &[String]) -> Option<String> {
    let invalid = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => Some(s.as_str()),
        _ => None,
    };
    match error.kind() {
        ErrorKind::UnknownArgument => {
            const UNITS: [&str; 7] = ["ns", "us", "µs", "ms", "s", "sec", "secs"];
            let unit = invalid(ContextKind::InvalidArg).filter(|a| UNITS.contains(a))?;
            let at = args.iter().position(|a| a == unit)?;
            let number = args.get(at.checked_sub(1)?)?;
            number.parse::<f64>().ok()?;
            Some(format!(
                "unexpected argument '{unit}' after '{number}': write a duration with its \
                 unit and no space, as in {number}{unit}"
            ))
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let option = invalid(ContextKind::InvalidArg)?;
            let empty = invalid(ContextKind::InvalidValue).is_none_or(str::is_empty);
            let listed = args
                .iter()
                .any(|a| a.contains(",,") || a.ends_with(',') || a.starts_with(','));
            (empty && listed).then(|| {
                format!(
                    "empty item in the list for '{option}' (two commas in a row, or a comma \
                     at an end)"
                )
            })
        }
        _ => None,
    }
}

/// One diagnostic line on stderr. A closed or full stderr is ignored: there is nobody left to
/// tell, and `eprintln!` would panic.
fn say(message: &str) {
    let text = format!("racecount: {message}");
    // In a terminal, broken between words (the terminal would cut words in two); to a file
    // or a pipe, one line.
    let lines = match terminal_size::terminal_size_of(io::stderr()) {
        Some((terminal_size::Width(w), _)) if io::stderr().is_terminal() => {
            words(&text, usize::from(w).max(20), "", "  ")
        }
        _ => vec![text],
    };
    let _ = write_lines(&mut io::stderr(), &lines);
}
