//! `--lock`, `--threads` and `--pin`, driven through the binary: every correct lock is exact,
//! the broken ones lose where the odds say they must, and bad combinations are refused.

mod common;
use common::*;

/// The kinds that exclude on every machine, but Peterson's (2 procs only).
const CORRECT: &str = "pthread,robust,sem,spin,ticket,flock,bakery";

/// Runs `line` with `--check -f tsv` and asserts that every trial totals procs × iters,
/// reading each row's procs and total from their columns (`procs` is unused: every row says
/// its own), and that `trials` rows came.
fn assert_exact(line: &str, _procs: u64, iters: u64, trials: usize) {
    let out = run(&args(&format!("-f tsv --check {line}")));
    assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr(&out));
    let text = stdout(&out);
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (procs_at, total_at) = (column("procs"), column("total"));
    let mut count = 0;
    for l in rows {
        let fields: Vec<&str> = l.split('\t').collect();
        let procs: u64 = fields[procs_at].parse().unwrap();
        let total: u64 = fields[total_at].parse().unwrap();
        assert_eq!(total, procs * iters, "{line}: {l}");
        count += 1;
    }
    assert_eq!(count, trials, "{line}: {text}");
}

#[test]
fn every_correct_lock_is_exact_for_every_proc_count() {
    let procs: Vec<String> = (1..=16).map(|p| p.to_string()).collect();
    assert_exact(
        &format!(
            "-m mutex --lock {CORRECT} -p {} -i 20 -t 5",
            procs.join(",")
        ),
        0,
        20,
        7 * 16 * 5,
    );
    assert_exact("-m mutex --lock peterson -p 2 -i 20 -t 20", 2, 20, 20);
}

#[test]
fn every_correct_lock_is_exact_at_100000_iters_without_a_window() {
    // The fiercest race: nothing but the lock between the hardware and the counter.
    assert_exact(
        &format!("-m mutex --lock {CORRECT},peterson -p 2 -i 100000 -w 0 -t 1"),
        2,
        100_000,
        8,
    );
    // 16 workers at 10,000 for the locks that let the running worker take them again.
    assert_exact(
        "-m mutex --lock pthread,robust,sem,spin,flock -p 16 -i 10000 -w 0 -t 1",
        16,
        10_000,
        5,
    );
    // The fair ones hand the lock to the next in line, who with 16 workers on 2 CPUs is
    // often asleep: each hand-over is a futex wake of exactly that worker, and costs a
    // scheduling decision (4-6 us), so 3,000 each: 48,000 hand-overs.
    assert_exact(
        "-m mutex --lock ticket,bakery -p 16 -i 3000 -w 0 -t 1",
        16,
        3_000,
        2,
    );
}

#[test]
fn private_loses_like_unlocked_with_a_yield_window() {
    // Each worker locks its own copy of the mutex: it never blocks, so the odds worked out
    // at YIELD_RACE hold as for unlocked (every trial loses, on any number of CPUs).
    for mode in ["mutex", "per-access"] {
        let out = run(&args(&format!(
            "-m {mode} --lock private {YIELD_RACE} -t 3 -f totals"
        )));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let totals = totals(&out);
        assert_eq!(totals.len(), 3);
        assert!(totals.iter().all(|&t| t < 400), "{mode}: {totals:?}");
    }
}

#[test]
fn private_says_why_it_protects_nothing() {
    let out = run(&args("-m mutex --lock pthread,private -p 2 -i 5 -t 2"));
    let text = stdout(&out);
    // Prose is wrapped to the width: read it as one line.
    let prose = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        prose.contains("private: the mutex was made in ordinary memory before fork, so each worker locks its own copy"),
        "{text}"
    );
    assert!(text.contains("mutex/private"), "{text}");
}

#[test]
fn peterson_at_other_than_2_procs_is_refused_before_forking() {
    let out = run(&args("-m mutex --lock peterson -p 3"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("racecount: error: --lock peterson works with exactly 2 procs"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn threads_are_exact_with_every_correct_lock_and_private() {
    // In one process the private mutex is one mutex, shared: it excludes.
    assert_exact(
        "-m mutex,atomic --lock pthread,robust,sem,spin,ticket,bakery,private \
         --threads -p 1,4,16 -i 200 -t 2",
        0,
        200,
        8 * 3 * 2,
    );
    assert_exact(
        "-m mutex --lock peterson --threads -p 2 -i 100000 -w 0 -t 1",
        2,
        100_000,
        1,
    );
}

#[test]
fn threads_lose_updates_as_processes_do() {
    // The same schedule run by threads and by processes loses the same updates: the threads
    // race on the same page as the processes do. (Not a free race: YIELD_RACE's odds assume
    // the yields reach the other workers, and in .ci/run, beside this file's lock tests, a
    // free threaded trial once ended exact: its workers' yields went to the other test's
    // processes while its siblings waited on the other CPU.)
    let line = "-m unlocked -p 4 -i 100 --schedule random --seed 1 -t 3 -f totals";
    let threads = run(&args(&format!("{line} --threads")));
    let processes = run(&args(line));
    assert_eq!(threads.status.code(), Some(0), "{}", stderr(&threads));
    assert_eq!(processes.status.code(), Some(0), "{}", stderr(&processes));
    let lost = totals(&threads);
    assert!(lost.iter().all(|&t| t < 400), "{lost:?}");
    assert_eq!(lost, totals(&processes));
}

#[test]
fn threads_say_so_in_every_format() {
    let json = stdout(&run(&args("-m mutex --threads -p 2 -i 5 -t 1 -f json")));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["parameters"]["workers"], "threads");
    assert_eq!(doc["results"][0]["workers"], "threads");
    assert_eq!(doc["results"][0]["lock"], "pthread");
    let csv = stdout(&run(&args("-m mutex --threads -p 2 -i 5 -t 1 -f csv")));
    assert!(
        csv.lines()
            .nth(1)
            .unwrap()
            .contains(",pthread,threads,none,"),
        "{csv}"
    );
    let human = stdout(&run(&args("-m mutex --threads -p 2 -i 5 -t 1")));
    assert!(
        human.contains("2 threads x 5 increments") && human.contains("threads of one process"),
        "{human}"
    );
}

#[test]
fn a_thread_that_cannot_finish_ends_the_run_at_the_timeout() {
    let out = run(&args(
        "-m atomic,unlocked --threads -p 1 -w 0 -i 18446744073709551615 --timeout 300ms",
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("unfinished workers: 0 (tid "), "{err}");
    assert!(err.contains("a thread cannot be killed"), "{err}");
}

#[test]
fn pin_same_with_a_yield_window_loses_every_trial() {
    // All on one CPU: the one-CPU case of YIELD_RACE's odds.
    let out = run(&args(&format!(
        "-m unlocked --pin same {YIELD_RACE} -t 3 -f totals"
    )));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(totals(&out).iter().all(|&t| t < 400));
}

#[test]
fn pin_shows_in_the_header_and_json_and_refuses_a_cpu_racecount_may_not_use() {
    let cpus = usable_cpus();
    let human = stdout(&run(&args("-m atomic --pin spread -p 2 -i 5 -t 1")));
    assert!(
        human.contains("workers pinned round robin to CPUs 0"),
        "{human}"
    );
    let json = stdout(&run(&args("-m atomic --pin same -p 2 -i 5 -t 1 -f json")));
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["parameters"]["pin"], "same");
    assert_eq!(doc["parameters"]["pin_cpus"].as_array().unwrap().len(), 1);
    let out = run(&args(&format!("-m atomic --pin {}", cpus + 1000)));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("is not one racecount may use"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_flock_file_is_gone_after_the_run() {
    let dir = std::env::temp_dir().join(format!("racecount-flock-{}", unique_seed()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = racecount()
        .env("TMPDIR", &dir)
        .args(args(
            "-m mutex --lock flock -p 4 -i 50 -t 3 -f totals --check",
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    std::fs::remove_dir(&dir).unwrap();
}

/// The fenceless Peterson, measured: `cargo test --test locks -- --ignored`. Store buffering
/// lets both workers in; how often depends on the machine (see README, "Locks").
#[test]
#[ignore = "statistical: how often depends on the machine"]
fn peterson_without_fences_loses_updates_at_a_million() {
    let out = run(&args(
        "-m mutex --lock peterson-nofence -p 2 -i 1000000 -w 0 -t 10 -f totals",
    ));
    assert!(totals(&out).iter().any(|&t| t < 2_000_000));
}
