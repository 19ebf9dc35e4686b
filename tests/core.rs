//! The lesson itself, driven through the binary as a user runs it.

mod common;
use common::*;

/// Every trial of the run `line` must total procs × iters exactly.
fn assert_exact(line: &str) {
    let out = run(&args(&format!("--format totals --check {line}")));
    assert_eq!(out.status.code(), Some(0), "{line}: {}", stderr(&out));
}

#[test]
fn mutex_and_atomic_are_exact_for_every_proc_count() {
    // 1..16 procs at the lesson's window, 20 trials each.
    let procs: Vec<String> = (1..=16).map(|p| p.to_string()).collect();
    let out = run(&args(&format!(
        "-m mutex,atomic -p {} -i 20 -t 20 -f tsv --check",
        procs.join(",")
    )));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // tsv's fields 2 and 9 are procs and total: each total must be procs × 20.
    let text = stdout(&out);
    let mut lines = 0;
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let procs: u64 = fields[1].parse().unwrap();
        assert_eq!(fields[8], (procs * 20).to_string(), "{line}");
        lines += 1;
    }
    assert_eq!(lines, 2 * 16 * 20);
}

#[test]
fn mutex_and_atomic_are_exact_at_100000_iters() {
    // No window, so the hardware race is all there is, and it is fierce at this length.
    assert_exact("-m mutex,atomic -p 1,2,4,16 -i 100000 -w 0 -t 2");
}

#[test]
fn unlocked_and_per_access_lose_updates_with_a_yield_window() {
    // Every trial loses, on any number of CPUs and beside busy loops: the odds are worked
    // out at YIELD_RACE.
    for mode in ["unlocked", "per-access"] {
        let out = run(&args(&format!("-m {mode} {YIELD_RACE} -t 3 -f totals")));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let totals = totals(&out);
        assert_eq!(totals.len(), 3);
        for t in totals {
            assert!(t < 400, "{mode}: a trial with 4 x 100 yields lost nothing");
        }
    }
}

#[test]
fn one_process_never_loses() {
    assert_exact("-m all -p 1 -i 1000 -t 10");
    assert_exact("-m unlocked,per-access -p 1 -i 200 -w yield -t 5");
}

#[test]
fn totals_format_prints_one_line_per_trial() {
    let out = run(&args("-m atomic -t 7 -f totals"));
    assert_eq!(stdout(&out), "200\n".repeat(7));
    // Only the total, also with several modes: its place never moves.
    let out = run(&args("-m unlocked,atomic -t 4 -f totals"));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 8);
    assert!(text.lines().all(|l| l.parse::<u64>().is_ok()), "{text}");
    assert!(text.ends_with("200\n200\n200\n200\n"), "{text}");
}

#[test]
fn check_exits_0_when_exact_and_1_when_updates_are_lost() {
    racecount()
        .args(args("-m mutex -t 5 --check"))
        .assert()
        .code(0);
    let lossy = format!("-m unlocked {YIELD_RACE} -t 2");
    let out = run(&args(&format!("{lossy} --check")));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("check failed: 2 of 2 trials lost updates"),
        "{}",
        stderr(&out)
    );
    // Without --check the same run succeeds: losing updates is the lesson, not an error.
    let out = run(&args(&lossy));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn human_output_shows_the_header_each_trial_and_the_summary() {
    let out = run(&args("-m mutex,atomic -t 3 --seed 5 --jitter 1us"));
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("racecount "), "{text}");
    assert!(
        text.contains("10 procs x 20 increments = 200 expected, 3 trials per mode\n"),
        "{text}"
    );
    assert!(text.contains("jitter up to 1us (seed 5)"), "{text}");
    let listed: Vec<&str> = text.lines().filter(|l| l.starts_with("mutex ")).collect();
    assert_eq!(
        listed[0].split_whitespace().collect::<Vec<_>>(),
        ["mutex", "200", "200", "200"]
    );
    let summary: Vec<&str> = text.lines().filter(|l| l.starts_with("atomic ")).collect();
    assert_eq!(summary.len(), 2, "{text}");
    let cols: Vec<&str> = summary[1].split_whitespace().collect();
    assert_eq!(
        &cols[1..6],
        ["200", "200", "200", "Never", "0.0%"],
        "{text}"
    );
    assert!(!text.contains('\x1b'), "colour escape in a pipe");
    assert!(stderr(&out).is_empty());
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() {
    let out = run(&args("-m atomic -t 2 --color always"));
    assert!(stdout(&out).contains("\x1b[32m"));
    let out = racecount()
        .args(args("-m atomic -t 2 --color auto"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\x1b'));
}

#[test]
fn pool_gives_the_same_exact_totals() {
    assert_exact("--pool -m mutex,atomic -p 1,4,16 -i 1000 -t 50");
    let out = run(&args(&format!(
        "--pool -m unlocked {YIELD_RACE} -t 3 -f totals"
    )));
    assert_eq!(totals(&out).len(), 3, "{}", stderr(&out));
    assert!(totals(&out).iter().all(|&t| t < 400));
    let out = run(&args("--pool -m atomic -t 2"));
    assert!(stdout(&out).contains("workers reused across trials (--pool)"));
}
