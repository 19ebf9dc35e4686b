//! `--trace` names the right workers: its explanation checked against a brute-force model.
//!
//! The model below shares no code with `src/analysis/explain.rs`. It takes only the rebuilt order
//! from the explanation, checks that the order really fits the trace (every write replaced
//! what the one before it wrote, each worker's writes in its own order, each read on the
//! counter between the worker's own writes), replays it on a model counter and derives every
//! write's class and partner from the counter, not from the explanation's classes.

mod common;
use common::*;

use std::collections::HashMap;

use proptest::prelude::*;
use racecount::analysis::explain::TraceEntry;
use racecount::analysis::explain::{Explanation, explain};

type Write = (u32, u64);

/// What the model derives from a trace walked in `order`.
#[derive(Debug, Default, PartialEq)]
struct Model {
    clean: u64,
    /// Each episode's writes, first writer first.
    groups: Vec<Vec<Write>>,
    /// (stale write, the write right before it).
    stale: Vec<(Write, Write)>,
    restores: Vec<Write>,
}

fn id(e: &TraceEntry) -> Write {
    (e.worker, e.seq)
}

/// Replays `entries` in `order`; panics where the order does not fit the trace.
fn model(entries: &[TraceEntry], order: &[usize]) -> Model {
    let mut sorted = order.to_vec();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..entries.len()).collect::<Vec<_>>(),
        "not a permutation"
    );
    let mut counter = 0u64;
    // Every value the counter held, in turn; and where each worker's last write left it.
    let mut history = vec![0u64];
    let mut last_write: HashMap<u32, (u64, usize)> = HashMap::new();
    let mut m = Model::default();
    // Union of each collision write with the write before it.
    let mut group_of: Vec<Option<usize>> = vec![None; order.len()];
    for (at, &i) in order.iter().enumerate() {
        let e = &entries[i];
        assert_eq!(e.prev, counter, "write {:?} does not chain", id(e));
        let since = match last_write.get(&e.worker) {
            Some(&(seq, pos)) => {
                assert!(seq < e.seq, "worker {} out of its order", e.worker);
                pos
            }
            None => 0,
        };
        assert!(
            history[since..].contains(&e.read),
            "write {:?} read {} which was not on the counter since its previous write",
            id(e),
            e.read
        );
        let before = at.checked_sub(1).map(|b| id(&entries[order[b]]));
        if counter == e.read {
            m.clean += 1;
        } else if counter == e.read + 1 {
            let partner = before.expect("a collision has a partner");
            let g = match group_of[at - 1] {
                Some(g) => g,
                None => {
                    m.groups.push(vec![partner]);
                    m.groups.len() - 1
                }
            };
            m.groups[g].push(id(e));
            group_of[at] = Some(g);
        } else if counter > e.read {
            m.stale
                .push((id(e), before.expect("a stale write follows one")));
        } else {
            m.restores.push(id(e));
        }
        counter = e.read + 1;
        history.push(counter);
        last_write.insert(e.worker, (e.seq, history.len() - 1));
    }
    m
}

/// Checks `x` against the model; returns the number of collision writes checked.
fn check(entries: &[TraceEntry], x: &Explanation) -> usize {
    let m = model(entries, &x.order);
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
        assert_eq!(workers.len(), g.len(), "a worker twice in one group: {c:?}");
        assert_eq!(c.workers, workers);
        assert_eq!(c.lost, g.len() as u64 - 1);
        let read = entries.iter().find(|e| id(e) == g[0]).unwrap().read;
        assert_eq!(c.read, read);
    }
    let stale: Vec<(Write, Write)> = x
        .stale
        .iter()
        .map(|s| ((s.worker, s.seq), (s.overwrote.worker, s.overwrote.seq)))
        .collect();
    assert_eq!(stale, m.stale);
    let restores: Vec<Write> = x.restores.iter().map(|r| (r.worker, r.seq)).collect();
    assert_eq!(restores, m.restores);
    m.groups.iter().map(|g| g.len() - 1).sum()
}

/// Whether any order at all fits: every interleaving tried (small traces only).
fn some_order_fits(entries: &[TraceEntry]) -> bool {
    let mut lanes: HashMap<u32, Vec<&TraceEntry>> = HashMap::new();
    for e in entries {
        lanes.entry(e.worker).or_default().push(e);
    }
    let mut lanes: Vec<Vec<&TraceEntry>> = lanes.into_values().collect();
    for lane in &mut lanes {
        lane.sort_by_key(|e| e.seq);
    }
    fn go(
        lanes: &[Vec<&TraceEntry>],
        next: &mut [usize],
        since: &mut [usize],
        h: &mut Vec<u64>,
    ) -> bool {
        if lanes.iter().zip(next.iter()).all(|(l, &n)| n == l.len()) {
            return true;
        }
        for w in 0..lanes.len() {
            let Some(e) = lanes[w].get(next[w]) else {
                continue;
            };
            if e.prev != *h.last().unwrap() || !h[since[w]..].contains(&e.read) {
                continue;
            }
            let old = since[w];
            h.push(e.wrote);
            next[w] += 1;
            since[w] = h.len() - 1;
            if go(lanes, next, since, h) {
                return true;
            }
            since[w] = old;
            next[w] -= 1;
            h.pop();
        }
        false
    }
    let n = lanes.len();
    go(&lanes, &mut vec![0; n], &mut vec![0; n], &mut vec![0])
}

/// Workers that read, hold a window of some steps, then blindly swap in read + 1, as the
/// unlocked traced loop does. `schedule` picks who moves next; `windows` how long each waits.
fn simulate(procs: usize, iters: usize, schedule: &[usize], windows: &[usize]) -> Vec<TraceEntry> {
    let mut counter = 0u64;
    let mut pending: Vec<Option<(u64, usize)>> = vec![None; procs];
    let mut done = vec![0usize; procs];
    let mut entries = Vec::new();
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
            None => pending[w] = Some((counter, *hold.next().unwrap())),
            Some((read, 0)) => {
                let prev = std::mem::replace(&mut counter, read + 1);
                entries.push(TraceEntry {
                    worker: w as u32,
                    seq: done[w] as u64,
                    read,
                    wrote: read + 1,
                    prev,
                    // Clock times deliberately scrambled: the order must not come from them.
                    t_read_ns: clock,
                    t_write_ns: clock ^ 0x5,
                    step: None,
                });
                done[w] += 1;
            }
            Some((read, left)) => pending[w] = Some((read, left - 1)),
        }
    }
    entries
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn explanations_of_simulated_races_match_the_model(
        procs in 1usize..6,
        iters in 1usize..25,
        schedule in proptest::collection::vec(0usize..6, 1..200),
        windows in proptest::collection::vec(
            prop_oneof![4 => Just(0usize), 1 => 1usize..12],
            1..20,
        ),
        shuffle in any::<u64>(),
    ) {
        let mut entries = simulate(procs, iters, &schedule, &windows);
        // In any order of entries.
        let n = entries.len();
        for i in 0..n {
            entries.swap(i, (shuffle as usize).wrapping_mul(i + 7) % n);
        }
        let x = explain(&entries).expect("a simulated trace has an order");
        check(&entries, &x);
    }

    #[test]
    fn a_trace_is_refused_exactly_when_no_order_fits(
        procs in 2usize..4,
        iters in 1usize..4,
        schedule in proptest::collection::vec(0usize..4, 1..30),
        windows in proptest::collection::vec(0usize..3, 1..6),
        damage in any::<(usize, u64)>(),
    ) {
        let mut entries = simulate(procs, iters, &schedule, &windows);
        let at = damage.0 % entries.len();
        entries[at].prev = damage.1 % 6;
        match explain(&entries) {
            Ok(x) => {
                check(&entries, &x);
            }
            Err(_) => prop_assert!(!some_order_fits(&entries), "an order fits: {entries:?}"),
        }
    }
}

/// The raw entries and the explanation of a `--format json` run's traced trials.
fn traced(args: &[&str]) -> Vec<(Vec<TraceEntry>, serde_json::Value)> {
    let out = run(args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let n = |v: &serde_json::Value| v.as_u64().unwrap();
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let t = &r["traced"];
            let entries = t["entries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| TraceEntry {
                    worker: n(&e["worker"]) as u32,
                    seq: n(&e["seq"]),
                    read: n(&e["read"]),
                    wrote: n(&e["wrote"]),
                    prev: n(&e["prev"]),
                    t_read_ns: n(&e["t_read_ns"]),
                    t_write_ns: n(&e["t_write_ns"]),
                    step: None,
                })
                .collect();
            (entries, t["explanation"].clone())
        })
        .collect()
}

#[test]
fn real_traced_runs_of_every_racy_mode_and_window_match_the_model() {
    let mut collisions = 0;
    for window in ["1us", "yield", "0"] {
        for trial in 0..3 {
            let seed = trial.to_string();
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
                "--seed",
                &seed,
                "--trace",
                "--format",
                "json",
            ]);
            assert_eq!(runs.len(), 2);
            for (entries, printed) in runs {
                let x = explain(&entries).expect("a real trace has an order");
                collisions += check(&entries, &x);
                // What the json says is what the model checked.
                assert_eq!(printed, serde_json::to_value(&x).unwrap());
            }
        }
    }
    // Whether the runs collided at all depends on the machine; the checks above do not.
    eprintln!("{collisions} collision writes checked");
}

#[test]
fn per_access_with_yield_never_prints_a_group_of_one_worker() {
    let out = run(&[
        "-m",
        "per-access",
        "-p",
        "3",
        "-i",
        "50",
        "-w",
        "yield",
        "-t",
        "5",
        "--trace",
    ]);
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
fn the_simulated_races_include_stale_writes_and_restores() {
    // The property test above is only as good as its races: a fixed sample of schedules of
    // the same shape must produce every kind of write (deterministic: no OS involved).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = |m: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % m as u64) as usize
    };
    let (mut groups, mut stale, mut restores) = (0, 0, 0);
    for _ in 0..200 {
        let schedule: Vec<usize> = (0..1 + next(199)).map(|_| next(6)).collect();
        let windows: Vec<usize> = (0..1 + next(19))
            .map(|_| if next(5) < 4 { 0 } else { 1 + next(11) })
            .collect();
        let entries = simulate(1 + next(5), 1 + next(24), &schedule, &windows);
        let x = explain(&entries).unwrap();
        check(&entries, &x);
        groups += x.collisions.len();
        stale += x.stale.len();
        restores += x.restores.len();
    }
    assert!(
        groups > 0 && stale > 0 && restores > 0,
        "{groups} {stale} {restores}"
    );
    eprintln!("{groups} collision groups, {stale} stale writes, {restores} restores");
}
