//! Output for scripts never changes shape: totals is only the total, tsv/csv/jsonl carry
//! every parameter in fixed fields and stream as trials finish, --export-* files match what
//! the formats print, and files that could not be written are refused before anything runs.

mod common;
use common::*;
use serde_json::Value;

const FIELDS: &str = "mode,procs,iters,window_ns,sleep_ns,jitter_ns,seed,trial,total,expected,\
                      lost,elapsed_ns,wall_ns,window,trials,pool,trace,schedule,switch,store,retries,peak,\
                      overlap,lock,workers,pin,lease_ns,stall,fencing,hosts";

#[test]
fn totals_is_only_the_total_whatever_the_options() {
    for line in [
        "-m atomic -p 2 -i 5 -t 2",
        "-m atomic,mutex -p 1,2 -i 5,6 -w 0,yield -t 2",
    ] {
        let out = run(&args(&format!("{line} -f totals")));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        for l in stdout(&out).lines() {
            assert!(l.parse::<u64>().is_ok(), "{line}: {l:?}");
        }
    }
    let out = run(&args("-m atomic,mutex -p 1,2 -i 5 -t 2 -f totals"));
    assert_eq!(stdout(&out), "5\n5\n5\n5\n10\n10\n10\n10\n");
}

/// The rows of a csv or tsv output, as maps from field name to value.
fn rows(text: &str, separator: char) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(separator).collect();
    lines
        .map(|l| {
            let values: Vec<&str> = l.split(separator).collect();
            assert_eq!(values.len(), header.len(), "{l}");
            header
                .iter()
                .zip(values)
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn csv_and_tsv_have_the_same_fields_for_any_options() {
    for line in [
        "-m atomic -p 2 -i 5 -t 2",
        "-m atomic,mutex -p 1,2 -w 0,yield -i 5 -t 2 --pool --sleep 1us --jitter 1us --seed 9",
    ] {
        let csv = run(&args(&format!("{line} -f csv")));
        assert_eq!(csv.status.code(), Some(0), "{}", stderr(&csv));
        let csv = stdout(&csv);
        assert_eq!(csv.lines().next(), Some(FIELDS), "{line}");
        let tsv = stdout(&run(&args(&format!("{line} -f tsv"))));
        assert_eq!(tsv.lines().next(), Some(FIELDS.replace(',', "\t").as_str()));
        assert_eq!(rows(&tsv, '\t').len(), rows(&csv, ',').len());
    }
    let text = stdout(&run(&args(
        "-m atomic -p 2 -i 5 -w 0,yield -t 2 --pool --sleep 1us --jitter 3us --seed 9 -f csv",
    )));
    let rows = rows(&text, ',');
    assert_eq!(rows.len(), 4);
    for (row, (window, trial)) in rows
        .iter()
        .zip([("0", 1), ("0", 2), ("yield", 1), ("yield", 2)])
    {
        assert_eq!(row["window"], window);
        assert_eq!(
            row["window_ns"], "0",
            "window_ns is a number even for yield"
        );
        assert_eq!(row["trial"], trial.to_string());
        assert_eq!(row["total"], "10");
        assert_eq!(row["lost"], "0");
        assert_eq!(row["pool"], "true");
        assert_eq!(row["trace"], "false");
        assert_eq!(row["sleep_ns"], "1000");
        assert_eq!(row["jitter_ns"], "3000");
        assert_eq!(row["seed"], "9");
        assert_eq!(row["trials"], "2");
    }
}

#[test]
fn jsonl_is_one_object_per_trial_then_a_summary() {
    let out = run(&args(
        "-m atomic,mutex -p 2 -i 5 -w 1us,yield -t 3 -f jsonl",
    ));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line parses"))
        .collect();
    assert_eq!(lines.len(), 2 * 2 * 3 + 1);
    let names: Vec<&str> = FIELDS.split(',').collect();
    for trial in &lines[..12] {
        assert_eq!(trial["type"], "trial");
        let keys: Vec<&str> = trial
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys.len(), names.len() + 1);
        for name in &names {
            assert!(keys.contains(name), "{name} missing from {trial}");
        }
        assert!(trial["window_ns"].is_u64(), "{trial}");
        assert_eq!(trial["total"], 10);
    }
    assert_eq!(lines[0]["window"], "1us");
    assert_eq!(lines[0]["window_ns"], 1000);
    assert_eq!(lines[6]["window"], "yield");
    let summary = &lines[12];
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["results"].as_array().unwrap().len(), 4);
    assert_eq!(summary["results"][0]["summary"]["verdict"], "never");
}

/// Streams: the first row arrives while the run goes on, and closing stdout ends it quietly.
#[test]
fn csv_tsv_and_jsonl_stream_and_stop_quietly_at_head() {
    for format in ["csv", "tsv", "jsonl"] {
        // 1 ms per trial at least, 100000 trials: far longer than the test waits (and under the
        // 10 minutes that would be announced on stderr).
        let mut run = Running::start(&format!(
            "-m atomic -p 1 -i 1 --sleep 1ms -t 100000 -f {format}"
        ));
        let first = run.line();
        if format != "jsonl" {
            assert!(first.starts_with("mode"), "{format}: {first}");
            let row = run.line();
            assert!(row.starts_with("atomic"), "{format}: {row}");
        } else {
            assert!(first.starts_with("{\"type\":\"trial\""), "{first}");
        }
        run.close_stdout();
        let end = run.end();
        assert_eq!(end.code, Some(0), "{format}: {}", end.stderr);
        assert_eq!(end.stderr, "", "{format}");
    }
}

#[test]
fn exports_match_what_the_formats_print() {
    let dir = std::env::temp_dir().join(format!("racecount-export-{}", unique_seed()));
    std::fs::create_dir(&dir).unwrap();
    let (json, csv, md) = (dir.join("r.json"), dir.join("r.csv"), dir.join("r.md"));
    let line = "-m atomic,mutex -p 2 -i 5 -t 3 --seed 5";
    let out = run(&[
        args(line),
        vec![
            "--export-json",
            json.to_str().unwrap(),
            "--export-csv",
            csv.to_str().unwrap(),
            "--export-markdown",
            md.to_str().unwrap(),
        ],
    ]
    .concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("lost updates"),
        "human output on stdout"
    );
    let doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["results"].as_array().unwrap().len(), 2);
    assert_eq!(doc["results"][1]["trials"][2]["trial"], 3);
    assert_eq!(
        doc["results"][1]["trials"][2]["completed"],
        serde_json::json!([5, 5])
    );
    let csv = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(csv.lines().next(), Some(FIELDS));
    assert_eq!(rows(&csv, ',').len(), 6);
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.contains("| atomic | 2 | 5 |"), "{md}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The JSON blob an `--export-html` page draws itself from.
fn html_blob(page: &str) -> Value {
    let open = r#"<script type="application/json" id="racecount-data">"#;
    let start = page.find(open).expect("the page has its data") + open.len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

#[test]
fn the_html_export_is_written_whatever_the_format_with_the_json_exports_numbers() {
    let dir = std::env::temp_dir().join(format!("racecount-html-{}", unique_seed()));
    std::fs::create_dir(&dir).unwrap();
    let (page, json) = (dir.join("x.html"), dir.join("x.json"));
    for (line, traced) in [
        ("-m all -t 10 -f totals", false),
        (
            "-m unlocked,atomic -p 3 -i 20 -t 2 -w yield --trace -f csv",
            true,
        ),
    ] {
        let out = run(&[
            args(line),
            vec![
                "--export-html",
                page.to_str().unwrap(),
                "--export-json",
                json.to_str().unwrap(),
            ],
        ]
        .concat());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "",
            "the page shows what --trace finds: no warning"
        );
        let text = std::fs::read_to_string(&page).unwrap();
        assert!(text.len() < 200_000, "{line}: {} bytes", text.len());
        let blob = html_blob(&text);
        let mut doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        for result in doc["results"].as_array_mut().unwrap() {
            result.as_object_mut().unwrap().remove("traced");
        }
        assert_eq!(blob["report"], doc, "{line}");
        let races = blob["races"].as_array().unwrap();
        assert_eq!(races.len(), if traced { 2 } else { 0 }, "{line}");
        for race in races {
            assert_eq!(race["writes"].as_array().unwrap().len(), 60);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_export_that_cannot_be_written_is_refused_before_anything_runs() {
    for (option, path, why) in [
        (
            "--export-csv",
            "/nonexistent/r.csv",
            "no directory /nonexistent",
        ),
        ("--export-json", "/", "is a directory"),
        (
            "--export-html",
            "/nonexistent/r.html",
            "no directory /nonexistent",
        ),
        ("--export-html", "-", "'-' is not standard output here"),
        (
            "--trace-svg",
            "/proc/sys/kernel/osrelease",
            "cannot write there",
        ),
    ] {
        let out = run(&["-m", "atomic", "-t", "1", option, path]);
        assert_eq!(out.status.code(), Some(2), "{option} {path}");
        let err = stderr(&out);
        assert!(
            err.starts_with(&format!("racecount: error: {option} {path}: {why}")),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn an_export_that_fails_at_the_end_says_so_and_exits_3() {
    let out = run(&args(
        "-m atomic -p 2 -i 5 -t 1 -f totals --export-csv /dev/full",
    ));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(stdout(&out), "10\n");
    assert!(
        stderr(&out).starts_with("racecount: error: cannot write --export-csv /dev/full: "),
        "{}",
        stderr(&out)
    );
}
