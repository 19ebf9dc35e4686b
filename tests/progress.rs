//! The live output in a terminal: the header at once, a progress bar within about a second
//! that moves during a long trial, cleared on Ctrl-C. racecount runs on a pseudo-terminal
//! ([`common::terminal`]), so stderr is a terminal as it is for a user.

mod common;
use common::terminal::OnTerminal;
use common::*;

use nix::sys::signal::Signal;

#[test]
fn the_bar_appears_and_moves_during_the_first_trial_and_ctrl_c_clears_it() {
    let marker = unique_seed();
    // One trial of 200 increments, each after a 100 ms sleep: at least 20 s, however fast the
    // machine. The test waits for 2 s of it.
    let mut run = OnTerminal::start("-m atomic -p 1 -i 200 --sleep 100ms -t 1", &marker);
    let header = eventually(PATIENCE_SECS, || {
        run.text().contains("racecount 0.1.0: 1 proc")
    });
    assert!(header, "no header: {:?}", run.text());
    // The bar's elapsed time ticks to 2s while the trial runs.
    let ticking = eventually(2.0 * PATIENCE_SECS, || run.text().contains("2s elapsed"));
    let text = run.text();
    assert!(ticking, "no bar ticking to 2s: {text:?}");
    assert!(run.running(), "the trial ended first: {text:?}");
    assert!(text.contains("trial 0/1, 0/1 in all"), "{text:?}");
    assert!(text.contains("1s elapsed"), "{text:?}");
    assert!(
        !text.contains("lost updates"),
        "results before the trial ended: {text:?}"
    );
    // The position comes from the workers' slots: the bar has moved off its start.
    let last_bar = text.rsplit("\r\x1b[2K").next().unwrap();
    assert!(last_bar.contains("[="), "{last_bar:?}");

    signal(run.child.id(), Signal::SIGINT);
    let status = run.child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(Signal::SIGINT as i32)
    );
    assert!(eventually(PATIENCE_SECS, || run
        .text()
        .contains("every worker was stopped")));
    let text = run.text();
    // The last bar was cleared (line erased) before the interruption was reported.
    let (before, _) = text.split_once("interrupted by SIGINT").unwrap();
    assert!(before.ends_with("\r\x1b[2K"), "bar not cleared: {text:?}");
    assert!(eventually(PATIENCE_SECS, || processes_with(&marker).is_empty()));
}

#[test]
fn a_short_run_shows_no_bar() {
    let mut run = OnTerminal::start("-m atomic -p 1 -i 1 -t 1", &unique_seed());
    assert!(eventually(PATIENCE_SECS, || !run.running()));
    assert!(eventually(PATIENCE_SECS, || run
        .text()
        .contains("lost updates")));
    let text = run.text();
    assert!(!text.contains("ETA"), "{text:?}");
}

/// The README's database command, as a person runs it: stderr a terminal, so the bar is on.
/// Store workers connect after fork, which needs a parent with no other thread: the bar must
/// not start one (it did, and every such run failed with "racecount has 2 threads").
#[cfg(feature = "sqlite")]
#[test]
fn a_sqlite_run_in_a_terminal_completes() {
    let dir = std::env::temp_dir().join(format!("racecount-pty-{}", unique_seed()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("lesson.db");
    let line = format!("--store sqlite:{} -p 4 -i 5 -t 2", db.display());
    let run = OnTerminal::start(&line, &unique_seed());
    let (status, text) = run.finish(6.0 * PATIENCE_SECS);
    assert!(status.success(), "{status:?}: {text:?}");
    assert!(!text.contains("error"), "{text:?}");
    for mode in ["unlocked", "per-access", "mutex", "atomic"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(mode)),
            "no {mode} row: {text:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
