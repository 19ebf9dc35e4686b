//! The lesson's own settings: how often do 10 workers x 20 increments lose updates? A
//! statistical check of the machine as much as of racecount, so it is not part of
//! `cargo test`; run it on a quiet machine with two or more CPUs:
//!
//!     cargo test --release --test lesson -- --ignored
//!
//! Alone in this test binary: cargo runs test binaries one after another, so no other test's
//! workers compete for the cores while this one races. (Run beside the 100000-iteration
//! tests, a busy core serialises the 10 workers and the loss rate fell to 16/100 in one
//! measured run; beside 4 busy loops 14/50; on one CPU 0/50.)

mod common;
use common::*;

#[test]
#[ignore = "statistical, needs a quiet machine with 2 CPUs: cargo test --release --test lesson -- --ignored"]
fn the_lesson_loses_updates_at_its_own_settings() {
    // 10 procs x 20 iters, 1us window: measured on this project's quiet 2-core machine,
    // 290-299 of 300 trials lose updates (the C baseline: 283-294). Asserting half of 100
    // leaves a margin no quiet run comes near. On one CPU the workers run one after another.
    if !has_cpus(2, "the race at the lesson's settings") {
        return;
    }
    for mode in ["unlocked", "per-access"] {
        let out = run(&args(&format!("-m {mode} -p 10 -i 20 -t 100 -f totals")));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let totals = totals(&out);
        assert_eq!(totals.len(), 100);
        let lossy = totals.iter().filter(|&&t| t < 200).count();
        assert!(lossy >= 50, "{mode}: only {lossy}/100 trials lost updates");
    }
}
