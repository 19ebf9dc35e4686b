//! The program: options → config → trials → results → renderer.

use std::io::{self, BufWriter, Write};

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};

use crate::command::cli::Options;
use crate::command::config::Config;
use crate::exit::Status;
use crate::machine::Machine;
use crate::output::progress::Progress;
use crate::output::{Surroundings, output_width};
use crate::race::fork::interrupt;
use crate::race::run::run;
use crate::results::{Observer, Quiet, Report, Stop};

/// Runs racecount with the process's arguments and returns how to exit.
pub fn main() -> Status {
    let options = match Options::try_parse() {
        Ok(options) => options,
        Err(e) => return clap_error(&e),
    };
    if let Some(shell) = options.completions {
        let mut command = Options::command();
        clap_complete::generate(shell, &mut command, "racecount", &mut io::stdout());
        return Status::Success;
    }
    if options.man {
        return match clap_mangen::Man::new(Options::command()).render(&mut io::stdout()) {
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
    let report = {
        let mut live = format.live(&mut out, &config.settings);
        let observer: &mut dyn Observer = match live.as_deref_mut() {
            Some(live) => live,
            None => &mut Quiet,
        };
        if config.progress {
            let mut progress = Progress::new(observer, config.settings.total_trials());
            let report = run(config, format.keep(), &mut progress);
            progress.clear();
            report?
        } else {
            run(config, format.keep(), observer)?
        }
    };
    let surroundings = Surroundings {
        color: config.color,
        width: output_width(),
        machine: Machine::detect(),
    };
    if let Some(renderer) = format.at_end(&surroundings) {
        renderer.render(&report, &mut out)?;
    }
    out.flush()?;
    for export in &config.exports {
        if let Err(message) = export.write(&report) {
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

/// clap's first line, plus the accepted values when clap lists them on a later line.
fn one_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_string();
    if let Some(values) = lines.find(|l| l.starts_with("[possible values:")) {
        message.push(' ');
        message.push_str(values);
    }
    message
}

/// One diagnostic line on stderr. A closed or full stderr is ignored: there is nobody left to
/// tell, and `eprintln!` would panic.
fn say(message: &str) {
    let _ = writeln!(io::stderr(), "racecount: {message}");
}
