//! The human report at 80 columns: no line wraps, whatever the options. At 40 the summary
//! table is stacked, one block per row, and still fits.

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
fn no_line_of_the_human_report_passes_80_columns() {
    for line in [
        "-t 3",
        "-m unlocked,per-access,mutex,atomic -p 1,2,16 -i 5,10 -w 0,100ns,yield -t 2",
        "-m unlocked -p 4 -i 10 -t 3 --trace",
        "-m unlocked,atomic -p 3 -i 5 -t 25 --sleep 1us --jitter 2500ns --seed 123456789012345 --pool",
        "-m unlocked -p 10 -i 20 -w 1500ns -t 21",
    ] {
        let text = human_at(80, line);
        assert_eq!(too_wide(&text, 80), Vec::<&str>::new(), "{line}:\n{text}");
    }
}

#[test]
fn at_40_columns_the_summary_is_stacked_and_fits() {
    let text = human_at(40, "-m unlocked,per-access -p 10,2 -t 3");
    assert!(!text.contains("min  median"), "{text}");
    let stacked: Vec<&str> = text.lines().filter(|l| l.starts_with("  procs ")).collect();
    assert_eq!(stacked.len(), 4, "{text}");
    assert!(text.contains("\nper-access\n"), "{text}");
    let (_, summary) = text.split_once("final total of each trial").unwrap();
    let (table, _) = summary.split_once("lost updates: in how many").unwrap();
    assert_eq!(too_wide(table, 40), Vec::<&str>::new(), "{text}");
}
