//! Property tests: the argument and duration parsers never panic, and what they accept
//! round-trips.

use clap::Parser;
use clap::error::ErrorKind;
use proptest::prelude::*;
use racecount::command::cli::Options;
use racecount::command::config::Config;
use racecount::model::units::{format_nanos, parse_nanos};
use racecount::model::window::Window;
use racecount::probe::Probe;

fn arg() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-p".to_string()),
        Just("--iters".to_string()),
        Just("-t".to_string()),
        Just("-m".to_string()),
        Just("-w".to_string()),
        Just("--sleep".to_string()),
        Just("--jitter".to_string()),
        Just("--seed".to_string()),
        Just("--format".to_string()),
        Just("--timeout".to_string()),
        Just("--check".to_string()),
        Just("--pool".to_string()),
        "[0-9]{1,25}",
        "-[0-9]{1,5}",
        "[0-9]{1,3}(ns|us|µs|ms|s|h|y|parsec)",
        "[0-9,]{0,12}",
        "(all|unlocked|per-access|mutex|atomic|yield|human|totals|,){1,4}",
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn parse_nanos_never_panics(text in any::<String>()) {
        let _ = parse_nanos(&text);
        let _ = Window::parse(&text);
    }

    #[test]
    fn nanoseconds_round_trip(n in any::<u64>()) {
        prop_assert_eq!(parse_nanos(&format!("{n}ns")), Ok(n));
    }

    #[test]
    fn formatted_durations_parse_back_closely(n in 1u64..u64::MAX / 2) {
        let back = parse_nanos(&format_nanos(n)).unwrap() as f64;
        prop_assert!((back - n as f64).abs() <= n as f64 * 0.01, "{} -> {}", n, back);
    }

    #[test]
    fn the_command_line_never_panics_and_config_errors_are_one_line(args in prop::collection::vec(arg(), 0..8)) {
        let argv = std::iter::once("racecount".to_string()).chain(args);
        match Options::try_parse_from(argv) {
            Ok(options) => {
                // A fixed probe: the configs read nothing off the machine.
                if let Err(e) = Config::new(options, &Probe::fixed()) {
                    let line = e.to_string();
                    prop_assert_eq!(line.lines().count(), 1, "{}", line);
                }
            }
            Err(e) => {
                let _ = e.render().to_string();
            }
        }
    }
}

proptest! {
    // Each case runs the binary, so fewer of them.
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// What clap refuses reaches the user as racecount's one line and status 2, whatever
    /// clap's own message looked like. Command lines that parse are not run (they would start
    /// a real run; config errors are checked above).
    #[test]
    fn refused_command_lines_are_one_line_and_status_2(args in prop::collection::vec(arg(), 1..8)) {
        let argv = std::iter::once("racecount".to_string()).chain(args.iter().cloned());
        let Err(e) = Options::try_parse_from(argv) else {
            return Ok(());
        };
        if matches!(
            e.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            return Ok(());
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        prop_assert_eq!(out.status.code(), Some(2), "{:?}: {}", args, err);
        prop_assert!(out.stdout.is_empty(), "{:?}", args);
        prop_assert_eq!(err.lines().count(), 1, "{:?}: {}", args, err);
        prop_assert!(err.starts_with("racecount: error: "), "{:?}: {}", args, err);
    }
}
