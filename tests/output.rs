//! The output formats, driven through the binary as scripts and people use them.

mod common;
use common::*;
use serde_json::Value;

#[test]
fn json_parses_and_matches_the_run() {
    let out = run(&[
        "-m",
        "mutex,atomic",
        "-p",
        "2",
        "-i",
        "10",
        "-t",
        "3",
        "-w",
        "0",
        "--seed",
        "7",
        "-f",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json parses");
    assert_eq!(doc["schema_version"], 3);
    assert_eq!(doc["parameters"]["procs"], serde_json::json!([2]));
    assert_eq!(doc["parameters"]["window_ns"], serde_json::json!([0]));
    // Nothing draws from the seed without --jitter or a random schedule: null, not a number
    // that would say nothing.
    assert_eq!(doc["parameters"]["seed"], Value::Null);
    assert!(doc["machine"]["logical_cpus"].as_u64().unwrap() >= 1);
    assert_eq!(doc["machine"]["os"], std::env::consts::OS);
    assert_eq!(doc["stopped"], Value::Null);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for (result, mode) in results.iter().zip(["mutex", "atomic"]) {
        assert_eq!(result["mode"], mode);
        let trials = result["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 3);
        for (i, trial) in trials.iter().enumerate() {
            assert_eq!(trial["trial"], i + 1);
            assert_eq!(trial["total"], 20);
            assert_eq!(trial["lost"], 0);
            assert_eq!(trial["completed"], serde_json::json!([10, 10]));
            assert!(trial["elapsed_ns"].as_u64().unwrap() > 0);
        }
        assert_eq!(result["summary"]["verdict"], "never");
        assert_eq!(result["summary"]["median"], 20.0);
    }
}

#[test]
fn json_says_always_when_every_trial_loses() {
    // A yield window loses updates in every trial (the odds are at YIELD_RACE).
    let out = run(&args(&format!("-m unlocked {YIELD_RACE} -t 2 -f json")));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let summary = &doc["results"][0]["summary"];
    assert_eq!(summary["verdict"], "always", "{summary}");
    assert_eq!(summary["trials_with_loss"], 2);
    assert_eq!(doc["results"][0]["window_ns"], 0);
    assert_eq!(doc["results"][0]["window"], "yield");
}

#[test]
fn csv_has_a_header_and_one_row_per_trial() {
    let out = run(&[
        "-m",
        "unlocked,atomic",
        "-p",
        "2",
        "-i",
        "5",
        "-t",
        "4",
        "-f",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..4], ["mode", "procs", "iters", "window_ns"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 8);
    assert!(rows.iter().all(|r| r.len() == header.len()));
    let atomic: Vec<_> = rows.iter().filter(|r| r[0] == "atomic").collect();
    assert_eq!(atomic.len(), 4);
    assert!(
        atomic.iter().all(|r| r[8] == "10" && r[10] == "0"),
        "{text}"
    );
}

#[test]
fn a_sweep_produces_every_combination_in_every_format() {
    let args = [
        "-m", "atomic", "-p", "1,2", "-i", "5,10", "-w", "0,yield", "-t", "1",
    ];
    let csv = stdout(&run(&[&args[..], &["-f", "csv"]].concat()));
    let mut combos: Vec<(String, String, String)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[1].into(), f[2].into(), f[13].into())
        })
        .collect();
    combos.sort();
    combos.dedup();
    assert_eq!(combos.len(), 8, "{csv}");
    let markdown = stdout(&run(&[&args[..], &["-f", "markdown"]].concat()));
    assert_eq!(markdown.lines().count(), 2 + 2 + 8, "{markdown}");
    assert!(
        markdown.starts_with("#### `racecount -m atomic -p 1,2 -i 5,10 -w 0,yield -t 1`\n\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| atomic | 2 | 10 | yield | 1 | 20 |"),
        "{markdown}"
    );
    let human = stdout(&run(&args));
    let rows: Vec<&str> = human
        .lines()
        .filter(|l| l.starts_with("atomic  "))
        .collect();
    assert_eq!(rows.len(), 8, "{human}");
    assert!(
        human.contains("mode    procs  iters  window  min"),
        "{human}"
    );
}

#[test]
fn the_histogram_appears_above_20_trials() {
    let out = run(&["-m", "atomic", "-p", "2", "-i", "5", "-t", "21"]);
    let text = stdout(&out);
    assert!(
        text.contains("atomic: final totals of 21 trials (expected 10)"),
        "{text}"
    );
    assert!(text.contains("  21  expected\n"), "{text}");
    let out = run(&["-m", "atomic", "-p", "2", "-i", "5", "-t", "20"]);
    assert!(!stdout(&out).contains("final totals of"));
}

#[test]
fn several_modes_show_verdicts_and_relative_speed() {
    let out = run(&["-m", "mutex,atomic", "-p", "2", "-i", "10", "-t", "3"]);
    let text = stdout(&out);
    assert!(text.contains("lost updates"), "{text}");
    assert_eq!(text.matches("  Never ").count(), 2, "{text}");
    let prose = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(prose.contains("speed (mean ns/incr"), "{text}");
    // One comparison: a ratio with its ±, or "within the noise" when the ± covers the
    // difference.
    let ratio = prose.matches(" times faster than ").count();
    let alike = prose
        .matches("both modes as fast as each other, within the noise")
        .count();
    assert_eq!(ratio + alike, 1, "{text}");
    assert_eq!(
        prose.contains("± one standard deviation"),
        ratio == 1,
        "{text}"
    );
    let one = stdout(&run(&["-m", "atomic", "-p", "2", "-t", "2"]));
    assert!(!one.contains("speed (mean"), "{one}");
}

#[test]
fn no_progress_or_colour_escape_reaches_a_pipe() {
    // Over a second (2 x 600ms sleeps), so a bar would have been shown were stderr a terminal.
    for format in ["human", "totals", "json", "csv", "markdown"] {
        let out = run(&[
            "-m", "atomic", "-p", "1", "-i", "1", "-t", "1", "-f", format,
        ]);
        assert!(!stdout(&out).contains('\x1b'), "{format}");
    }
    let out = run(&[
        "-m",
        "atomic,mutex",
        "-p",
        "1",
        "-i",
        "1",
        "-t",
        "1",
        "--sleep",
        "600ms",
        "-f",
        "totals",
    ]);
    assert_eq!(stdout(&out), "1\n1\n");
    assert_eq!(stderr(&out), "", "progress reached a pipe");
}

#[test]
fn completions_and_man_page_come_from_the_binary() {
    for (shell, marker) in [
        ("bash", "_racecount()"),
        ("zsh", "#compdef racecount"),
        ("fish", "complete -c racecount"),
    ] {
        let out = run(&["--completions", shell]);
        assert_eq!(out.status.code(), Some(0));
        let text = stdout(&out);
        assert!(text.contains(marker), "{shell}: {text}");
        assert!(text.contains("procs"), "{shell}");
    }
    let out = run(&["--man"]);
    assert_eq!(out.status.code(), Some(0));
    let man = stdout(&out);
    assert!(man.contains(".TH racecount 1"), "{man}");
    assert!(man.contains("\\-\\-format"), "{man}");
    let help = stdout(&run(&["-h"]));
    assert!(
        !help.contains("--completions"),
        "short help lists --completions"
    );
    assert!(stdout(&run(&["--help"])).contains("--completions"));
}
