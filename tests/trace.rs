//! `--trace`: every lost update explained, as text, as a timeline and as a picture.

mod common;
use common::*;

/// One "explained: A + B [- C] = N lost = E - T" line, as numbers.
#[derive(Debug, PartialEq)]
struct Explained {
    collisions: u64,
    stale: u64,
    restored: u64,
    lost: i64,
    expected: u64,
    total: u64,
}

fn explained_lines(text: &str) -> Vec<Explained> {
    text.lines()
        .filter_map(|l| l.split_once("explained: "))
        .map(|(_, rest)| {
            let words: Vec<&str> = rest.split_whitespace().collect();
            let n = |i: usize| words[i].parse::<u64>().unwrap();
            // A + B = N lost = E - T   or   A + B - C = N lost = E - T
            let restored = if words[3] == "-" { n(4) } else { 0 };
            let at = if words[3] == "-" { 6 } else { 4 };
            Explained {
                collisions: n(0),
                stale: n(2),
                restored,
                lost: words[at].parse().unwrap(),
                expected: n(at + 3),
                total: n(at + 5),
            }
        })
        .collect()
}

#[test]
fn the_issue_example_prints_a_timeline_that_marks_what_the_explanation_lists() {
    let out = run(&[
        "--procs", "4", "--iters", "10", "--mode", "unlocked", "--trials", "1", "--trace",
        "--window", "yield",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let explained = explained_lines(&text);
    assert_eq!(explained.len(), 1, "{text}");
    assert_eq!(explained[0].expected, 40);
    // The total explained is the total in the table.
    assert!(
        text.contains(&format!("unlocked  {}\n", explained[0].total)),
        "{text}"
    );
    // One lane per worker, within 80 columns.
    for w in 0..4 {
        assert!(text.contains(&format!("\n  w{w}    ")), "{text}");
    }
    let timeline = &text[text.find("  time  0").expect("a timeline")..];
    assert!(timeline.lines().all(|l| l.chars().count() <= 80), "{text}");
    // The lanes mark what the explanation lists: a stale write's `!` wins any column it
    // shares, and with no stale write a collision's `x` wins over the rest.
    let lanes: String = timeline
        .lines()
        .filter(|l| l.starts_with("  w"))
        .map(|l| &l[8..])
        .collect();
    let e = &explained[0];
    assert_eq!(lanes.contains('!'), e.stale > 0, "{text}");
    if e.stale == 0 {
        assert_eq!(lanes.contains('x'), e.collisions > 0, "{text}");
    }
}

#[test]
fn every_printed_loss_names_workers_that_took_part() {
    // Over both racy modes, two sizes and two windows as the machine runs them; and a
    // schedule that loses updates on every machine (the same seed, the same interleaving),
    // so that the lines checked are never none.
    let free = "-m unlocked,per-access -p 2,4 -i 10,300 -w 0,yield -t 4 --trace";
    loss_lines(free);
    let scheduled = "--schedule random --switch 0.4 --seed 11 -p 4 -i 30 -t 2 \
                     -m unlocked,per-access --trace";
    assert!(loss_lines(scheduled) > 0);
}

/// Checks every loss line of a run: a collision group names two workers or more, each once;
/// a stale write or a restore names the write it replaced, which is another worker's (its own
/// last write would have been what it read). Returns how many lines it checked.
fn loss_lines(line: &str) -> usize {
    let out = run(&args(line));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = 0;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("  workers ") {
            let named = rest
                .split([' '])
                .take_while(|w| *w != "both" && *w != "all");
            let mut workers: Vec<u32> = named
                .filter_map(|w| w.trim_end_matches(',').parse().ok())
                .collect();
            let n = workers.len();
            workers.dedup();
            assert!(n >= 2 && workers.len() == n, "{line}");
            lines += 1;
        } else if let Some(rest) = line.strip_prefix("  worker ")
            && let Some((_, by)) = rest.split_once(" worker ")
        {
            let me: u32 = rest.split(' ').next().unwrap().parse().unwrap();
            let by = by.split(' ').next().unwrap().trim_end_matches("'s");
            let by: u32 = by.parse().unwrap();
            assert_ne!(me, by, "{line}");
            lines += 1;
        }
    }
    lines
}

#[test]
fn mutex_and_atomic_explain_that_nothing_was_lost() {
    let out = run(&[
        "-p",
        "4",
        "-i",
        "10",
        "-m",
        "mutex,atomic",
        "-t",
        "2",
        "-w",
        "yield",
        "--trace",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(
        text.matches("nothing was lost: each of the 40 writes replaced the value it had read")
            .count(),
        2,
        "{text}"
    );
    let explained = explained_lines(&text);
    assert_eq!(explained.len(), 4);
    for e in explained {
        assert_eq!((e.collisions, e.stale, e.restored, e.lost), (0, 0, 0, 0));
        assert_eq!((e.expected, e.total), (40, 40));
    }
}

#[test]
fn the_svg_is_well_formed_and_marks_every_lost_update() {
    let dir = std::env::temp_dir().join(format!("racecount-svg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("trace.svg");
    let out = run(&[
        "-p",
        "4",
        "-i",
        // 80 writes can lose at most 80 each: always under the SVG's 20000 circled marks.
        "20",
        "-m",
        "unlocked,atomic",
        "-t",
        "1",
        "-w",
        "yield",
        "--trace-svg",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let explained = explained_lines(&stdout(&out));
    let svg = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    // One panel per mode; circles are counted per panel, in order.
    let panels: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text") && n.text().is_some_and(|t| t.contains(" trial 1: ")))
        .collect();
    assert_eq!(panels.len(), 2);
    let class =
        |n: &roxmltree::Node, c: &str| n.has_tag_name("circle") && n.attribute("class") == Some(c);
    let mut lost = [0u64; 2];
    let mut restored = [0u64; 2];
    let mut panel = 0;
    for n in doc.descendants() {
        if panels.get(1).is_some_and(|p| *p == n) {
            panel = 1;
        }
        if class(&n, "lost") {
            lost[panel] += 1;
        }
        if class(&n, "restore") {
            restored[panel] += n
                .attribute("data-restored")
                .unwrap()
                .parse::<u64>()
                .unwrap();
        }
    }
    // Which writes are circled is checked against the json's partners in trace_oracle.rs.
    assert_eq!(explained.len(), 2);
    assert_eq!(lost[1], 0, "atomic loses nothing");
    // On one busy CPU the yields stretch the trial to milliseconds: either unit will do.
    assert!(
        ["µs<", "ms<"].iter().any(|unit| svg.contains(unit)),
        "the time axis has units"
    );
}

#[test]
fn a_trace_over_the_cap_is_refused_before_forking() {
    let out = run(&["--trace", "-p", "10", "-i", "1000000", "-m", "unlocked"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("--iters 1000000") && err.contains("use fewer --iters"),
        "{err}"
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn an_unwritable_svg_path_is_bad_input_refused_before_forking() {
    let out = run(&[
        "-p",
        "2",
        "-i",
        "5",
        "-t",
        "1",
        "-m",
        "mutex",
        "--trace-svg",
        "/nonexistent/dir/t.svg",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "racecount: error: --trace-svg /nonexistent/dir/t.svg: no directory /nonexistent/dir\n"
    );
    assert!(out.stdout.is_empty(), "something ran");
}

#[test]
fn json_carries_the_trace_and_an_explanation_that_adds_up() {
    let out = run(&[
        "-p",
        "3",
        "-i",
        "50",
        "-m",
        "unlocked,atomic",
        "-t",
        "4",
        "--trace",
        "--window",
        "yield",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json parses");
    assert_eq!(doc["parameters"]["trace"], true);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        let n = |v: &serde_json::Value| v.as_u64().unwrap();
        let trials = result["trials"].as_array().unwrap();
        assert_eq!(trials.len(), 4);
        for trial in trials {
            assert!(trial["explained"]["collision_lost"].is_u64(), "{trial}");
        }
        // The first trial in full: 150 increments, each read, written and replaced value.
        let traced = &result["traced"];
        assert_eq!(
            traced["trial"], 1,
            "numbered from 1, as in human and csv output"
        );
        assert_eq!(traced["total"], trials[0]["total"]);
        let entries = traced["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 150);
        for entry in entries {
            assert_eq!(n(&entry["wrote"]), n(&entry["read"]) + 1, "{entry}");
            assert!(n(&entry["t_write_ns"]) >= n(&entry["t_read_ns"]), "{entry}");
        }
        let x = &traced["explanation"];
        assert_eq!(x["writes"], 150);
        // Each named write is in the trace and did what its line says.
        let entry = |w: &serde_json::Value| {
            entries
                .iter()
                .find(|e| e["worker"] == w["worker"] && e["seq"] == w["seq"])
                .unwrap_or_else(|| panic!("{w} is not in the trace"))
        };
        for c in x["collisions"].as_array().unwrap() {
            let writes = c["writes"].as_array().unwrap();
            assert_eq!(n(&c["lost"]), writes.len() as u64 - 1, "{c}");
            let mut workers: Vec<u64> = writes.iter().map(|w| n(&w["worker"])).collect();
            workers.sort_unstable();
            assert_eq!(serde_json::json!(workers), c["workers"], "{c}");
            for (i, w) in writes.iter().enumerate() {
                let e = entry(w);
                assert_eq!(e["read"], c["read"], "{c}");
                // The first found something else; each later one the value it wrote itself.
                assert_eq!(i > 0, e["prev"] == e["wrote"], "{c}");
            }
        }
        for s in x["stale"].as_array().unwrap() {
            assert_eq!(entry(&s["overwrote"])["wrote"], s["prev"], "{s}");
        }
        if result["mode"] == "atomic" {
            assert_eq!(n(&x["clean"]), 150);
        }
    }
}

#[test]
fn json_without_trace_has_no_trace_fields() {
    let out = run(&[
        "-p", "2", "-i", "5", "-m", "atomic", "-t", "2", "--format", "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["parameters"]["trace"], false);
    let result = &doc["results"][0];
    assert!(result.get("traced").is_none());
    assert!(result["trials"][0].get("explained").is_none());
}
