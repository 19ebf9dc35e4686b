//! `--replay FILE[:TRIAL]`: a recorded traced trial runs again, step by step, to the same
//! final total and the same explanation, on any machine.

mod common;
use common::*;

use serde_json::Value;

/// A scratch file path, removed on drop.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("replay-test-{}-{name}", unique_seed()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, file: &str) -> String {
        self.0.join(file).to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("json")
}

/// What an explanation says, without the times (a replay has its own clock).
fn said(x: &Value) -> Value {
    let mut x = x.clone();
    for s in x["stale"].as_array_mut().unwrap() {
        s["waited_ns"] = Value::Null;
    }
    x
}

/// Records `line` as json, replays it, and checks every traced group came back the same.
fn records_and_replays(line: &str) -> usize {
    let scratch = Scratch::new("same");
    let file = scratch.path("trace.json");
    let recorded = json(&run(&args(&format!(
        "{line} --trace --format json --export-json {file}"
    ))));
    let replayed = json(&run(&args(&format!("--replay {file} --format json"))));
    let before = recorded["results"].as_array().unwrap();
    let after = replayed["results"].as_array().unwrap();
    assert_eq!(before.len(), after.len(), "{line}");
    for (b, a) in before.iter().zip(after) {
        assert_eq!(a["mode"], b["mode"], "{line}");
        assert_eq!(a["replay"]["differing_writes"], 0, "{line}: {a}");
        assert_eq!(
            a["replay"]["recorded_total"], b["traced"]["total"],
            "{line}"
        );
        assert_eq!(a["traced"]["total"], b["traced"]["total"], "{line}");
        let (x, y) = (&b["traced"]["explanation"], &a["traced"]["explanation"]);
        assert_eq!(said(y), said(x), "{line}");
    }
    before.len()
}

#[test]
fn real_runs_of_every_mode_replay_to_the_same_total_and_explanation() {
    let mut groups = 0;
    for window in ["yield", "1us", "0"] {
        groups += records_and_replays(&format!("-m all -p 3 -i 40 -w {window} -t 2"));
    }
    groups += records_and_replays("-m unlocked,per-access -p 4 -i 30 -w yield -t 1 --threads");
    groups += records_and_replays("-m unlocked -p 2 -i 500 -w 0 -t 1 --pool");
    groups += records_and_replays("-m unlocked,mutex --schedule random --seed 5 -p 5 -i 20 -t 1");
    assert_eq!(groups, 3 * 4 + 2 + 1 + 2);
}

#[test]
fn a_replay_prints_the_recorded_total_beside_its_own() {
    let scratch = Scratch::new("text");
    let file = scratch.path("t.json");
    // A schedule that loses updates on every machine: worst ends at 2.
    let recorded = run(&args(&format!(
        "--schedule worst -m unlocked -p 3 -i 4 -t 1 --trace --format json --export-json {file}"
    )));
    assert_eq!(recorded.status.code(), Some(0), "{}", stderr(&recorded));
    let out = run(&args(&format!("--replay {file}:1")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    // Prose is wrapped to the width: read it as one line.
    let prose = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        prose.contains(&format!(
            "replay of unlocked trial 1 of {file}: total 2 of 12; recorded:"
        )),
        "{text}"
    );
    assert!(
        prose.contains("every write read, wrote and replaced what the recording says"),
        "{text}"
    );
}

#[test]
fn a_file_that_is_not_a_trace_is_one_line_exit_2() {
    let scratch = Scratch::new("bad");
    let cases = [
        ("missing.json", None, "cannot read it"),
        (
            "words.json",
            Some("hello"),
            "not a racecount trace (not json",
        ),
        (
            "other.json",
            Some("{\"a\": 1}"),
            "not a racecount trace (no racecount_version)",
        ),
        (
            "old.json",
            Some("{\"racecount_version\": \"0.0.9\", \"schema_version\": 2, \"results\": []}"),
            "a trace of racecount 0.0.9 (json schema 2)",
        ),
    ];
    for (name, content, says) in cases {
        let file = scratch.path(name);
        if let Some(content) = content {
            std::fs::write(&file, content).unwrap();
        }
        let out = run(&args(&format!("--replay {file}")));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(says), "{name}: {err}");
    }
}

#[test]
fn an_untraced_run_or_a_trial_not_kept_is_refused_naming_what_is_there() {
    let scratch = Scratch::new("trial");
    let plain = scratch.path("plain.json");
    let traced = scratch.path("traced.json");
    let out = run(&args(&format!(
        "-m atomic -p 2 -i 3 -t 2 -q --export-json {plain}"
    )));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&args(&format!(
        "-m atomic -p 2 -i 3 -t 2 -q --trace --export-json {traced}"
    )));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&args(&format!("--replay {plain}")));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no traced trial in it"),
        "{}",
        stderr(&out)
    );
    let out = run(&args(&format!("--replay {traced}:2")));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no trial 2 is kept in full in it (it holds trial 1)"),
        "{}",
        stderr(&out)
    );
    let out = run(&args(&format!("--replay {traced} -p 4")));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot be used with"),
        "{}",
        stderr(&out)
    );
}
