//! The lesson's own settings, alone in this test binary: cargo runs test binaries one after
//! another, so no other test's workers compete for the two cores while this one races.
//! (Run beside the 100000-iteration tests, a busy core serialises the 10 workers and the loss
//! rate fell to 16/100 in one measured run.)

mod common;
use common::*;

#[test]
fn the_lesson_loses_updates_at_its_own_settings() {
    // 10 procs x 20 iters, 1us window: measured on this project's 2-core machine, 290-299 of
    // 300 trials lose updates (the C baseline: 283-294). Asserting half of 100 leaves a margin
    // no run comes near. It needs two cores: on one, workers run one after another.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(
        cpus >= 2,
        "the race at the lesson's settings needs 2 cores, this has {cpus}"
    );
    for mode in ["unlocked", "per-access"] {
        let out = run(&[
            "-m", mode, "-p", "10", "-i", "20", "-t", "100", "-f", "totals",
        ]);
        let totals = totals(&out);
        assert_eq!(totals.len(), 100);
        let lossy = totals.iter().filter(|&&t| t < 200).count();
        assert!(lossy >= 50, "{mode}: only {lossy}/100 trials lost updates");
        assert!(totals.iter().all(|&t| t <= 200));
    }
}
