//! The human report within the terminal's width, at 40, 80 and 120 columns: prose broken
//! between words, totals between numbers, the summary table stacked when it does not fit.
//! And the default report fits an 80 x 24 terminal with its totals in view.

mod common;
use common::*;

fn human_at(columns: u32, line: &str) -> String {
    let out = racecount()
        .args(args(line))
        .env("COLUMNS", columns.to_string())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr(&out));
    stdout(&out)
}

fn too_wide(text: &str, columns: usize) -> Vec<&str> {
    text.lines()
        .filter(|l| l.chars().count() > columns)
        .collect()
}

#[test]
fn no_line_of_the_human_report_passes_the_width() {
    for line in [
        "-t 3",
        "-m unlocked -t 20",
        "-m mutex --lock pthread,spin,private -t 20 -p 4 -i 50",
        "-m unlocked,per-access,mutex,atomic -p 1,2,16 -i 5,10 -w 0,100ns,yield -t 2",
        "-m unlocked -p 4 -i 10 -t 3 --trace -w yield",
        "-m unlocked,atomic -p 3 -i 5 -t 25 --sleep 1us --jitter 2500ns --seed 123456789012345 --pool",
        "-m unlocked -p 10 -i 20 -w 1500ns -t 21",
        "--schedule random --seed 3 -m unlocked,per-access -t 2",
    ] {
        for columns in [40, 80, 120] {
            let text = human_at(columns, line);
            let wide = too_wide(&text, columns as usize);
            assert!(wide.is_empty(), "{line} at {columns}: {wide:?}\n{text}");
        }
    }
}

#[test]
fn at_40_columns_the_summary_is_stacked_and_totals_break_between_numbers() {
    let text = human_at(40, "-m unlocked,per-access -p 10,2 -t 12");
    assert!(!text.contains("min  median"), "{text}");
    let stacked: Vec<&str> = text.lines().filter(|l| l.starts_with("  procs ")).collect();
    assert_eq!(stacked.len(), 4, "{text}");
    // Every total is a whole number on its line: none was cut in two.
    let (_, listed) = text.split_once("final total of each trial\n").unwrap();
    let (listed, _) = listed.split_once("\n\n").unwrap();
    let numbers: Vec<u64> = listed
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(numbers.len(), 4 * 12, "{listed}");
    assert!(
        numbers.iter().all(|&n| n <= 200 && (n == 0 || n >= 10)),
        "{listed}"
    );
}

#[test]
fn the_default_report_fits_80_by_24_with_its_totals_in_view() {
    let text = human_at(80, "");
    let lines: Vec<&str> = text.lines().collect();
    // A terminal of 24 rows shows the last 22 lines of output (the command above, the
    // prompt after): the list of totals must be among them.
    let shown = &lines[lines.len().saturating_sub(22)..];
    assert!(
        shown
            .iter()
            .any(|l| l.starts_with("mode ") && l.contains("final total")),
        "{} lines:\n{text}",
        lines.len()
    );
    assert!(shown.iter().any(|l| l.starts_with("unlocked ")), "{text}");
}
