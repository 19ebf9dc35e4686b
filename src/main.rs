use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(racecount::app::main().code())
}
