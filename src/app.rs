//! The program: options → config → trials → results → renderer.

use std::io::{self, BufWriter, Write};

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::command::cli::Options;
use crate::command::config::Config;
use crate::exit::Status;
use crate::machine::Machine;
use crate::output::progress::Progress;
use crate::output::{Surroundings, output_width};
use crate::race::fork::interrupt;
use crate::race::run::{run, run_watched};
use crate::results::{Observer, Quiet, Report, Stop};

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
    let options = match Options::try_parse() {
        Ok(options) => options,
        Err(e) => return clap_error(&e),
    };
    if let Some(shell) = options.completions {
        let script = crate::command::completion::script(shell);
        return match io::stdout().write_all(&script) {
            Ok(()) => Status::Success,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Status::Success,
            Err(e) => {
                say(&format!("error: cannot write the completion script: {e}"));
                Status::RunFailed
            }
        };
    }
    if options.man {
        return match crate::command::manual::write(&mut io::stdout()) {
            Ok(()) => Status::Success,
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Status::Success,
            Err(e) => {
                say(&format!("error: cannot write the man page: {e}"));
                Status::RunFailed
            }
        };
    }
    let config = match Config::from_options(options) {
        Ok(config) => config,
        Err(e) => {
            say(&format!("error: {e}"));
            return Status::BadInput;
        }
    };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    let least = crate::command::estimate::least_duration(&config.settings, cpus);
    let long = crate::command::estimate::long_run_warning(least);
    for warning in config.warnings.iter().chain(&long) {
        say(&format!("warning: {warning}"));
    }
    if let Err(e) = interrupt::install() {
        say(&format!("error: cannot install signal handlers: {e}"));
        return Status::RunFailed;
    }
    match execute(&config) {
        Ok(status) => status,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Status::Success,
        Err(e) => {
            say(&format!("error: cannot write the output: {e}"));
            Status::RunFailed
        }
    }
}

fn execute(config: &Config) -> io::Result<Status> {
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let format = config.format;
    let surroundings = Surroundings {
        color: config.color,
        width: output_width().0,
        width_known: output_width().1,
        machine: Machine::detect(),
    };
    let report = {
        let mut live = format.live(&mut out, &config.settings, &surroundings);
        let observer: &mut dyn Observer = match live.as_deref_mut() {
            Some(live) => live,
            None => &mut Quiet,
        };
        observer.start()?;
        if config.progress {
            // Store workers allocate after fork: their parent must have no other thread.
            let ticking = config.store.db().is_none();
            let mut progress = Progress::new(observer, &config.settings, ticking);
            let gauge = progress.gauge();
            let watch = move |increments| gauge.watch(increments);
            let report = run_watched(config, config.keep(), &mut progress, Some(&watch));
            progress.clear();
            report?
        } else {
            run(config, config.keep(), observer)?
        }
    };
    if let Some(renderer) = format.at_end(&surroundings) {
        renderer.render(&report, &mut out)?;
    }
    out.flush()?;
    for export in &config.exports {
        if let Err(message) = export.write(&report, &surroundings.machine) {
            say(&format!("error: {message}"));
            return Ok(Status::RunFailed);
        }
    }
    Ok(conclude(config, &report))
}

/// Says on stderr why a run stopped, and picks the exit status.
fn conclude(config: &Config, report: &Report) -> Status {
    match &report.stop {
        Some(Stop::Interrupted(signal)) => {
            say(&format!(
                "interrupted by {signal}; every worker was stopped"
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
    let _ = writeln!(io::stderr(), "racecount: {message}");
}
