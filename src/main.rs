use std::process::ExitCode;

fn main() -> ExitCode {
    racecount::app::exit(racecount::app::main())
}
