//! `--schedule`: races that replay the same on every machine, that cannot deadlock, that keep
//! the locked modes exact, and whose trace shows the order they were scheduled in.

mod common;
use common::*;

use nix::sys::signal::Signal;
use racecount::analysis::explain::{TraceEntry, explain};
use serde_json::Value;
use std::process::{Child, Command, Stdio};

const LESSON: &str = "-m unlocked -t 20 --schedule random --seed 7 --format totals";

/// Busy loops beside the test, ended when dropped.
struct BusyLoops(Vec<Child>);

impl BusyLoops {
    fn start(n: usize) -> BusyLoops {
        BusyLoops(
            (0..n)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdin(Stdio::null())
                        .spawn()
                        .expect("sh starts")
                })
                .collect(),
        )
    }
}

impl Drop for BusyLoops {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_totals_on_one_cpu_on_all_and_under_load() {
    let here = run(&args(LESSON));
    assert!(here.status.success(), "{}", stderr(&here));
    let totals = totals(&here);
    assert_eq!(totals.len(), 20);
    // The lesson's range, most of the time: the strategy's default is tuned for it.
    let in_range = totals.iter().filter(|t| (160..=188).contains(*t)).count();
    assert!(in_range >= 14, "{totals:?}");

    let pooled = run(&args(&format!("{LESSON} --pool")));
    assert_eq!(common::totals(&pooled), totals, "with --pool");

    let loaded = {
        let _busy = BusyLoops::start(4);
        run(&args(LESSON))
    };
    assert_eq!(common::totals(&loaded), totals, "beside 4 busy loops");

    let one_cpu = racecount_on_one_cpu().args(args(LESSON)).output().unwrap();
    assert_eq!(common::totals(&one_cpu), totals, "on one CPU");
}

#[test]
fn another_seed_gives_another_race() {
    let a = totals(&run(&args(
        "-m unlocked -t 10 --schedule random --seed 1 --format totals",
    )));
    let b = totals(&run(&args(
        "-m unlocked -t 10 --schedule random --seed 2 --format totals",
    )));
    assert_ne!(a, b);
}

#[test]
fn worst_ends_at_two_and_at_one_with_one_increment_each() {
    for (line, expected) in [
        (
            "--schedule worst -p 10 -i 20 -m unlocked -t 1 --format totals",
            2,
        ),
        (
            "--schedule worst -p 3 -i 2 -m per-access -t 1 --format totals",
            2,
        ),
        (
            "--schedule worst -p 10 -i 1 -m unlocked -t 1 --format totals",
            1,
        ),
    ] {
        let out = run(&args(line));
        assert_eq!(totals(&out), [expected], "{line}: {}", stderr(&out));
    }
}

#[test]
fn lockstep_counts_one_increment_per_round() {
    // Everyone reads the same value, then everyone writes it + 1: 4 increments count 1.
    let out = run(&args(
        "--schedule lockstep -p 4 -i 5 -m unlocked -t 2 --format totals",
    ));
    assert_eq!(totals(&out), [5, 5]);
}

#[test]
fn every_strategy_finishes_and_the_locked_modes_stay_exact() {
    for strategy in ["random", "pct:3", "lockstep", "worst", "serial"] {
        for procs in 1..=8u64 {
            let line = format!(
                "--schedule {strategy} -p {procs} -i 5 -t 2 -m all --format totals --seed 3 \
                 --timeout 60s"
            );
            let out = run(&args(&line));
            assert!(out.status.success(), "{line}: {}", stderr(&out));
            let text = stdout(&out);
            assert_eq!(text.lines().count(), 8, "{line}");
            for row in text.lines() {
                let total: u64 = row.split_whitespace().last().unwrap().parse().unwrap();
                if row.starts_with("mutex") || row.starts_with("atomic") {
                    assert_eq!(total, procs * 5, "{line}: {row}");
                } else {
                    assert!((1..=procs * 5).contains(&total), "{line}: {row}");
                }
            }
        }
    }
}

#[test]
fn serial_never_loses() {
    let out = run(&args("--schedule serial -m all -t 3 --check"));
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_trace_shows_the_order_the_schedule_gave() {
    for mode in ["unlocked", "per-access"] {
        let out = run(&args(&format!(
            "--schedule random --switch 0.4 --seed 11 -p 4 -i 10 -t 1 -m {mode} --trace \
             --format json"
        )));
        assert!(out.status.success(), "{}", stderr(&out));
        let doc: Value = serde_json::from_str(&stdout(&out)).unwrap();
        let raw = doc["results"][0]["traced"]["entries"].clone();
        let mut entries: Vec<TraceEntry> = serde_json::from_value(raw).unwrap();
        // The clock reversed: under a schedule it follows the steps, and the order must come
        // from the counter's links, not from it.
        for e in &mut entries {
            e.t_read_ns = u64::MAX - e.t_read_ns;
            e.t_write_ns = u64::MAX - e.t_write_ns;
        }
        let steps: Vec<u64> = entries.iter().map(|e| e.step.unwrap()).collect();
        let explanation = explain(&entries).expect("a scheduled trace has an order");
        let rebuilt: Vec<u64> = explanation.order.iter().map(|&i| steps[i]).collect();
        let mut scheduled = rebuilt.clone();
        scheduled.sort_unstable();
        assert_eq!(
            rebuilt, scheduled,
            "{mode}: rebuilt order against step numbers"
        );
        assert!(
            explanation.lost() > 0,
            "{mode}: switch 0.4 at 4 x 10 loses (seed 11)"
        );
    }
}

#[test]
fn a_worker_killed_mid_schedule_is_named_and_nothing_is_left() {
    let run = Running::start("--schedule lockstep -m unlocked -p 3 -i 100000000 -t 1");
    let victim = *run.workers(3).iter().max().unwrap();
    signal(victim, Signal::SIGKILL);
    let end = run.end();
    assert_eq!(end.code, Some(3), "{}", end.stderr);
    assert!(
        end.stderr
            .contains(&format!("(pid {victim}) was killed by SIGKILL")),
        "{}",
        end.stderr
    );
}

#[test]
fn ctrl_c_mid_schedule_stops_every_worker() {
    let run = Running::start("--schedule random -m unlocked -p 3 -i 100000000 -t 1");
    run.workers(3);
    run.signal(Signal::SIGINT);
    let end = run.end();
    assert!(
        end.stderr.contains("interrupted by SIGINT"),
        "{}",
        end.stderr
    );
}

#[test]
fn a_schedule_too_long_for_the_timeout_is_bounded() {
    let out = run(&args(
        "--schedule random -m mutex -p 2 -i 100000000 -t 1 --timeout 300ms",
    ));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unfinished workers"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_schedules_are_refused_before_anything_runs() {
    for (line, says) in [
        (
            "--schedule fair",
            "invalid value 'fair' for '--schedule <STRATEGY>': expected random",
        ),
        ("--schedule pct:0", "pct's depth"),
        (
            "--schedule lockstep --switch 0.5",
            "--switch goes with --schedule random",
        ),
        ("--schedule random --switch 2", "from 0 to 1"),
        (
            "--schedule random -w yield",
            "--window has no effect under --schedule",
        ),
    ] {
        let out = run(&args(line));
        assert_eq!(out.status.code(), Some(2), "{line}");
        let err = stderr(&out);
        assert!(err.contains(says), "{line}: {err}");
        assert_eq!(err.lines().count(), 1, "{line}: {err}");
    }
}

#[test]
fn on_one_cpu_a_run_that_loses_little_says_why() {
    // One increment each with no window: on one CPU a loss needs a preemption between two
    // adjacent instructions, so (practically) every trial is exact and the note must appear.
    let line = "-m unlocked -p 2 -i 1 -w 0 -t 10 --color never";
    let human = racecount_on_one_cpu().args(args(line)).output().unwrap();
    let text = stdout(&human);
    assert!(text.contains("1 CPU available to racecount"), "{text}");
    assert!(text.contains("only 1 CPU"), "{text}");
    assert!(text.contains("--schedule random"), "{text}");
    let json = racecount_on_one_cpu()
        .args(args(&format!("{line} --format json")))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert_eq!(doc["diagnosis"]["cause"], "one-cpu");
    assert_eq!(doc["load"]["cpus"], 1);
    let totals = racecount_on_one_cpu()
        .args(args(&format!("{line} --format totals")))
        .output()
        .unwrap();
    assert_eq!(
        stdout(&totals).lines().count(),
        10,
        "totals stays silent: {}",
        stdout(&totals)
    );
}

#[test]
fn every_correct_lock_stays_exact_under_every_strategy() {
    for strategy in ["random", "pct:2", "lockstep", "worst"] {
        let line = format!(
            "--schedule {strategy} -m mutex --lock pthread,robust,sem,spin,ticket,flock,bakery \
             -p 4 -i 5 -t 2 --check --seed 5 --timeout 60s"
        );
        let out = run(&args(&line));
        assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr(&out));
        let two = format!(
            "--schedule {strategy} -m mutex --lock peterson -p 2 -i 5 -t 2 --check --seed 5"
        );
        let out = run(&args(&two));
        assert_eq!(out.status.code(), Some(0), "{two}: {}", stderr(&out));
    }
}

#[test]
fn locks_a_schedule_would_misrepresent_are_refused() {
    for (line, says) in [
        (
            "--schedule random -m mutex --lock peterson-nofence -p 2",
            "full barriers",
        ),
        (
            "--schedule random -m mutex --lock private",
            "protects nothing",
        ),
    ] {
        let out = run(&args(line));
        assert_eq!(out.status.code(), Some(2), "{line}");
        assert!(stderr(&out).contains(says), "{line}: {}", stderr(&out));
    }
}
