//! `--trace` names the right workers: its explanation checked against a model that knows the
//! true order of the writes.
//!
//! The model shares no code with `src/analysis/explain.rs` and never looks at the order
//! racecount found. Its truth comes from outside racecount: a simulator that makes the writes
//! itself (so it knows their order), or a real run under `--schedule`, where each write's step
//! number is the order in which the schedule let it happen. The model replays the true order on
//! a counter of its own and derives every write's class, every collision's group, every stale
//! write's victim and every restore's source; racecount's explanation must name exactly those.

mod common;
use common::*;

use std::collections::HashMap;

use proptest::prelude::*;
use racecount::analysis::explain::{Explanation, TraceEntry, WriteRef, explain};

type Write = (u32, u64);

/// What the model derives from a trace walked in its true order.
#[derive(Debug, Default, PartialEq)]
struct Model {
    clean: u64,
    /// Each episode's writes, first writer first.
    groups: Vec<Vec<Write>>,
    /// (stale write, the write it replaced).
    stale: Vec<(Write, Write)>,
    /// (restore, the write it replaced, whether that write was a stale write).
    restores: Vec<(Write, Write, &'static str)>,
}

fn id(e: &TraceEntry) -> Write {
    (e.worker, e.seq)
}

/// Replays `truth` (the writes in their true order) on a counter; panics where a write did
/// not replace what the counter held.
fn model(entries: &[TraceEntry], truth: &[Write]) -> Model {
    let by_id: HashMap<Write, &TraceEntry> = entries.iter().map(|e| (id(e), e)).collect();
    assert_eq!(by_id.len(), truth.len(), "truth is not every write once");
    let mut counter = 0u64;
    let mut m = Model::default();
    let mut kind: HashMap<Write, &'static str> = HashMap::new();
    let mut episode: Option<usize> = None;
    for (at, w) in truth.iter().enumerate() {
        let e = by_id[w];
        assert_eq!(
            e.prev, counter,
            "write {w:?} did not replace the counter's value"
        );
        let before = at.checked_sub(1).map(|b| truth[b]);
        let this = if counter == e.read {
            m.clean += 1;
            "clean"
        } else if counter == e.read + 1 {
            let partner = before.expect("a collision has a partner");
            let g = episode.unwrap_or_else(|| {
                m.groups.push(vec![partner]);
                m.groups.len() - 1
            });
            m.groups[g].push(*w);
            episode = Some(g);
            "collision"
        } else if counter > e.read {
            m.stale
                .push((*w, before.expect("a stale write follows one")));
            "stale"
        } else {
            let source = before.expect("a restore follows one");
            m.restores.push((*w, source, kind[&source]));
            "restore"
        };
        if this != "collision" {
            episode = None;
        }
        kind.insert(*w, this);
        counter = e.read + 1;
    }
    m
}

/// Checks racecount's explanation of `entries` against the model of `truth`; returns the
/// number of named writes checked (partners, victims and sources).
fn check(entries: &[TraceEntry], truth: &[Write]) -> usize {
    let x: Explanation = explain(entries).expect("a true trace is explained");
    let m = model(entries, truth);
    assert_eq!(x.clean, m.clean);
    let groups: Vec<Vec<Write>> = x
        .collisions
        .iter()
        .map(|c| c.writes.iter().map(|w| (w.worker, w.seq)).collect())
        .collect();
    assert_eq!(groups, m.groups);
    for (c, g) in x.collisions.iter().zip(&m.groups) {
        let mut workers: Vec<u32> = g.iter().map(|w| w.0).collect();
        workers.sort_unstable();
        workers.dedup();
        assert!(workers.len() >= 2, "a group of one worker: {c:?}");
        assert_eq!(c.workers, workers);
        assert_eq!(c.lost, g.len() as u64 - 1);
    }
    let stale: Vec<(Write, Write)> = x
        .stale
        .iter()
        .map(|s| ((s.worker, s.seq), (s.overwrote.worker, s.overwrote.seq)))
        .collect();
    assert_eq!(stale, m.stale);
    let restores: Vec<(Write, Write, &str)> = x
        .restores
        .iter()
        .map(|r| {
            let kind = serde_json::to_value(r.overwrote_kind).unwrap();
            let kind = match kind.as_str().unwrap() {
                "stale" => "stale",
                "restore" => "restore",
                "collision" => "collision",
                _ => "clean",
            };
            (
                (r.worker, r.seq),
                (r.overwrote.worker, r.overwrote.seq),
                kind,
            )
        })
        .collect();
    assert_eq!(restores, m.restores);
    m.groups.iter().map(Vec::len).sum::<usize>() + m.stale.len() + m.restores.len()
}

/// Workers that read, hold a window of some steps, then swap in read + 1 with their name, as
/// the traced loop does. `schedule` picks who moves next; `windows` how long each waits.
/// Returns the entries as the workers would record them, and the true order of the writes.
fn simulate(
    procs: usize,
    iters: usize,
    schedule: &[usize],
    windows: &[usize],
) -> (Vec<TraceEntry>, Vec<Write>) {
    let mut counter: (u64, Option<WriteRef>) = (0, None);
    let mut pending: Vec<Option<(u64, Option<WriteRef>, usize)>> = vec![None; procs];
    let mut done = vec![0usize; procs];
    let (mut entries, mut truth) = (Vec::new(), Vec::new());
    let mut pick = schedule.iter().cycle();
    let mut hold = windows.iter().cycle();
    let mut clock = 0u64;
    while done.iter().any(|&d| d < iters) {
        let w = *pick.next().unwrap() % procs;
        let w = (0..procs)
            .map(|k| (w + k) % procs)
            .find(|&k| done[k] < iters)
            .unwrap();
        clock += 1;
        match pending[w].take() {
            None => pending[w] = Some((counter.0, counter.1, *hold.next().unwrap())),
            Some((read, read_from, 0)) => {
                let me = WriteRef {
                    worker: w as u32,
                    seq: done[w] as u64,
                };
                let (prev, overwrote) = std::mem::replace(&mut counter, (read + 1, Some(me)));
                entries.push(TraceEntry {
                    worker: w as u32,
                    seq: done[w] as u64,
                    read,
                    wrote: read + 1,
                    prev,
                    read_from,
                    overwrote,
                    // Clock times deliberately scrambled: nothing may come from them.
                    t_read_ns: clock ^ 0x35,
                    t_write_ns: clock ^ 0x5,
                    step: None,
                });
                truth.push((me.worker, me.seq));
                done[w] += 1;
            }
            Some((read, from, left)) => pending[w] = Some((read, from, left - 1)),
        }
    }
    (entries, truth)
}

/// `entries` in a scrambled order (the explanation must not depend on it).
fn shuffled(mut entries: Vec<TraceEntry>, shuffle: u64) -> Vec<TraceEntry> {
    let n = entries.len();
    for i in 0..n {
        entries.swap(i, (shuffle as usize).wrapping_mul(i + 7) % n);
    }
    entries
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn explanations_of_simulated_races_name_the_true_writes(
        procs in 1usize..6,
        iters in 1usize..25,
        schedule in proptest::collection::vec(0usize..6, 1..200),
        windows in proptest::collection::vec(
            prop_oneof![4 => Just(0usize), 1 => 1usize..12],
            1..20,
        ),
        shuffle in any::<u64>(),
    ) {
        let (entries, truth) = simulate(procs, iters, &schedule, &windows);
        check(&shuffled(entries, shuffle), &truth);
    }

    #[test]
    fn a_trace_with_a_damaged_link_is_refused_or_still_names_the_truth(
        procs in 2usize..4,
        iters in 1usize..6,
        schedule in proptest::collection::vec(0usize..4, 1..30),
        windows in proptest::collection::vec(0usize..3, 1..6),
        damage in any::<(usize, u32, u64)>(),
    ) {
        let (mut entries, truth) = simulate(procs, iters, &schedule, &windows);
        let at = damage.0 % entries.len();
        let named = WriteRef { worker: damage.1 % 4, seq: damage.2 % 7 };
        let before = entries[at].overwrote;
        entries[at].overwrote = Some(named);
        match explain(&entries) {
            // Only a damage that changed nothing may pass.
            Ok(_) => prop_assert_eq!(before, Some(named)),
            Err(_) => prop_assert_ne!(before, Some(named)),
        }
        if before == Some(named) {
            check(&entries, &truth);
        }
    }
}

/// The entries of every group of a `--format json` run's traced trial.
fn traced(args: &[&str]) -> Vec<Vec<TraceEntry>> {
    let out = run(args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::from_value(r["traced"]["entries"].clone()).expect("entries"))
        .collect()
}

#[test]
fn real_scheduled_runs_name_the_writes_in_the_order_the_schedule_made_them() {
    // Under --schedule each write's step number is when the schedule let it happen: an order
    // racecount does not use to explain (it follows the counter's links), so a truth to check
    // it against.
    let mut named = 0;
    for (strategy, seed) in [
        ("random", "1"),
        ("random", "2"),
        ("pct:3", "3"),
        ("lockstep", "4"),
    ] {
        for mode in ["unlocked", "per-access"] {
            let runs = traced(&[
                "-m",
                mode,
                "-p",
                "4",
                "-i",
                "40",
                "-t",
                "1",
                "--schedule",
                strategy,
                "--seed",
                seed,
                "--trace",
                "--format",
                "json",
            ]);
            for entries in runs {
                let mut by_step: Vec<&TraceEntry> = entries.iter().collect();
                by_step.sort_by_key(|e| e.step.expect("a scheduled write has its step"));
                let truth: Vec<Write> = by_step.iter().map(|e| id(e)).collect();
                named += check(&entries, &truth);
            }
        }
    }
    // The schedules are deterministic: these runs lose updates on every machine.
    assert!(named > 0, "no write named");
}

#[test]
fn real_free_runs_chain_and_name_what_their_links_record() {
    // Without a schedule the only record of the order is the counter's: each write's link to
    // the write it replaced. The model follows those links itself and checks they chain.
    for window in ["1us", "yield", "0"] {
        let runs = traced(&[
            "-m",
            "unlocked,per-access",
            "-p",
            "3",
            "-i",
            "300",
            "-w",
            window,
            "-t",
            "1",
            "--trace",
            "--format",
            "json",
        ]);
        assert_eq!(runs.len(), 2);
        for entries in runs {
            let next: HashMap<Option<Write>, Write> = entries
                .iter()
                .map(|e| (e.overwrote.map(|w| (w.worker, w.seq)), id(e)))
                .collect();
            assert_eq!(next.len(), entries.len(), "two writes replaced one");
            let mut truth = Vec::new();
            let mut at = None;
            while let Some(&w) = next.get(&at) {
                truth.push(w);
                at = Some(w);
            }
            assert_eq!(truth.len(), entries.len(), "the links do not chain");
            check(&entries, &truth);
        }
    }
}

#[test]
fn per_access_with_yield_never_prints_a_group_of_one_worker() {
    let out = run(&args("-m per-access -p 3 -i 50 -w yield -t 5 --trace"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for line in text
        .lines()
        .filter(|l| l.contains(" read ") && l.ends_with(" lost"))
    {
        if let Some(rest) = line.strip_prefix("  workers ") {
            let named = rest
                .split(" both ")
                .next()
                .unwrap()
                .split(" all ")
                .next()
                .unwrap();
            let workers: Vec<&str> = named
                .split([',', ' '])
                .filter(|w| !w.is_empty() && *w != "and")
                .collect();
            assert!(workers.len() >= 2, "{line}");
        } else {
            // The only other loss lines are stale writes, which name one worker.
            assert!(
                line.starts_with("  worker ") && line.contains(", waited "),
                "{line}"
            );
        }
    }
}

#[test]
fn the_svg_circles_the_partners_the_json_names() {
    let dir = std::env::temp_dir().join(format!("racecount-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("trace.svg");
    let out = run(&[
        "-m",
        "unlocked,per-access",
        "-p",
        "3",
        "-i",
        "50",
        "-w",
        "yield",
        "-t",
        "1",
        "--trace-svg",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&file).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let svg = roxmltree::Document::parse(&svg).unwrap();
    // Each panel's circles: (victim, by) as "worker:seq"; panels in the json's order.
    let mut panels: Vec<Vec<(String, String)>> = Vec::new();
    for n in svg.descendants() {
        if n.has_tag_name("text") && n.text().is_some_and(|t| t.contains(" trial 1: ")) {
            panels.push(Vec::new());
        }
        if n.has_tag_name("circle") && n.attribute("class") == Some("lost") {
            let pair = (
                n.attribute("data-victim").unwrap(),
                n.attribute("data-by").unwrap(),
            );
            panels
                .last_mut()
                .unwrap()
                .push((pair.0.to_string(), pair.1.to_string()));
        }
    }
    let results = doc["results"].as_array().unwrap();
    assert_eq!(panels.len(), results.len());
    let name = |w: &serde_json::Value| format!("{}:{}", w["worker"], w["seq"]);
    for (result, circles) in results.iter().zip(&panels) {
        let x = &result["traced"]["explanation"];
        let mut partners: Vec<(String, String)> = Vec::new();
        for c in x["collisions"].as_array().unwrap() {
            let writes = c["writes"].as_array().unwrap();
            for pair in writes.windows(2) {
                partners.push((name(&pair[0]), name(&pair[1])));
            }
        }
        let collided: Vec<&(String, String)> = circles
            .iter()
            .filter(|(_, by)| partners.iter().any(|(_, b)| b == by))
            .collect();
        assert_eq!(collided.len(), partners.len());
        for p in &partners {
            assert!(circles.contains(p), "{p:?} not circled");
        }
    }
}

#[test]
fn the_simulated_races_include_every_kind_of_write() {
    // The property tests above are only as good as their races: a fixed sample of schedules
    // of the same shape must produce every kind of write (deterministic: no OS involved).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |m: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m as u64) as usize
    };
    let (mut groups, mut stale, mut restores, mut over_restores) = (0, 0, 0, 0);
    for _ in 0..200 {
        let schedule: Vec<usize> = (0..1 + next(199)).map(|_| next(6)).collect();
        let windows: Vec<usize> = (0..1 + next(19))
            .map(|_| if next(5) < 4 { 0 } else { 1 + next(11) })
            .collect();
        let (entries, truth) = simulate(1 + next(5), 1 + next(24), &schedule, &windows);
        check(&entries, &truth);
        let m = model(&entries, &truth);
        groups += m.groups.len();
        stale += m.stale.len();
        restores += m.restores.len();
        over_restores += m.restores.iter().filter(|r| r.2 == "restore").count();
    }
    assert!(
        groups > 0 && stale > 0 && restores > 0 && over_restores > 0,
        "{groups} {stale} {restores} {over_restores}"
    );
}
