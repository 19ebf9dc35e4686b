//! Ctrl-C, SIGTERM and SIGHUP during a run: every worker is killed and reaped, the finished
//! trials are printed, and racecount dies by the signal, so that the shell reports 128 + the
//! signal and a shell loop around it stops.

mod common;
use common::*;

use nix::sys::signal::Signal;

/// Starts a long mutex run in totals format, waits for two finished trials, sends `signals`;
/// returns how it ended (no process left, checked) and every total it printed.
fn interrupt(signals: &[Signal]) -> (Ended, Vec<String>) {
    // 20000 trials of at least 20 ms: long enough, and under the 10 minutes that racecount
    // would announce on stderr.
    let mut run = Running::start("-m mutex -p 4 -i 5 -w 1ms -t 20000 -f totals");
    let mut lines = vec![run.line(), run.line()];
    for &s in signals {
        run.signal(s);
    }
    let end = run.end();
    lines.extend(end.stdout.lines().map(str::to_string));
    (end, lines)
}

fn assert_clean_stop(signals: &[Signal], code: i32, name: &str) {
    let (end, lines) = interrupt(signals);
    assert_eq!(end.signal, Some(signals[0] as i32), "{}", end.stderr);
    assert_eq!(end.shell_status(), code);
    assert!(lines.len() >= 2);
    assert!(
        lines.iter().all(|l| l == "20"),
        "a finished trial's total is wrong: {lines:?}"
    );
    assert_eq!(
        end.stderr,
        format!("racecount: interrupted by {name}; every worker was stopped\n")
    );
}

#[test]
fn ctrl_c_stops_cleanly_with_130() {
    assert_clean_stop(&[Signal::SIGINT], 130, "SIGINT");
}

#[test]
fn sigterm_stops_cleanly_with_143() {
    assert_clean_stop(&[Signal::SIGTERM], 143, "SIGTERM");
}

#[test]
fn sighup_stops_cleanly_with_129() {
    assert_clean_stop(&[Signal::SIGHUP], 129, "SIGHUP");
}

#[test]
fn a_second_ctrl_c_while_cleaning_up_leaves_nothing_behind() {
    let (end, _) = interrupt(&[Signal::SIGINT, Signal::SIGINT, Signal::SIGINT]);
    assert_eq!(end.shell_status(), 130);
}

#[test]
fn interrupted_human_output_shows_what_finished() {
    let run = Running::start("-m mutex -p 2 -i 1 -w 20s -t 5");
    run.workers(2);
    run.signal(Signal::SIGINT);
    let end = run.end();
    assert_eq!(end.shell_status(), 130);
    assert!(
        end.stdout
            .contains("interrupted by SIGINT: no trial finished"),
        "{}",
        end.stdout
    );
}

/// The workers sit in a process group of their own, apart from racecount's: a Ctrl-C at the
/// terminal reaches racecount alone, and racecount waits for them on that group.
#[test]
fn the_workers_have_their_own_process_group() {
    let run = Running::start("-m mutex -p 3 -i 1 -w 20s -t 1");
    let workers = run.workers(3);
    let group_of = |pid: u32| nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(pid as i32)));
    let theirs: Vec<_> = workers.iter().map(|&w| group_of(w).unwrap()).collect();
    let ours = group_of(run.pid()).unwrap();
    assert!(theirs.iter().all(|&g| g == theirs[0]), "{theirs:?}");
    assert_ne!(theirs[0], ours);
    assert!(
        workers.contains(&(theirs[0].as_raw() as u32)),
        "led by a worker"
    );
    run.signal(Signal::SIGINT);
    assert_eq!(run.end().shell_status(), 130);
}

/// What Ctrl-C at a terminal does: SIGINT to the whole foreground process group, here bash
/// and the racecount it is running (the workers sit in their own group). bash ends the loop
/// only if racecount died by SIGINT; had it exited 130, bash would start it again forever.
#[test]
fn ctrl_c_stops_a_shell_loop() {
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    let seed = unique_seed();
    let script = format!(
        "while '{}' -m mutex -p 2 -i 1 -w 1ms -t 1000000 -f totals >/dev/null 2>&1; do :; done",
        env!("CARGO_BIN_EXE_racecount")
    );
    // env resets SIGINT to its default: a non-interactive bash cannot undo an ignored SIGINT
    // it inherits (as under `cargo test &`), and then would not stop for it.
    let mut shell = std::process::Command::new("env")
        .args(["--default-signal=INT", "bash", "-c", &script])
        .env(MARKER, &seed)
        .process_group(0)
        .spawn()
        .expect("bash starts");
    let bash = shell.id();
    // Whatever happens below, the loop does not outlive the test.
    let _guard = KillGroup(bash);
    // racecount has forked its workers: its handlers are installed.
    let started = eventually(PATIENCE_SECS, || {
        children_of(bash)
            .iter()
            .any(|&racecount| !children_of(racecount).is_empty())
    });
    assert!(started, "racecount did not start under bash");
    // The marker finds bash and racecount: the check at the end can fail.
    assert!(
        processes_with(&seed).len() >= 2,
        "{:?}",
        processes_with(&seed)
    );
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(bash as i32), Signal::SIGINT).unwrap();
    let stopped = eventually(PATIENCE_SECS, || matches!(shell.try_wait(), Ok(Some(_))));
    assert!(stopped, "the shell loop went on after Ctrl-C");
    let status = shell.wait().unwrap();
    assert_eq!(status.signal(), Some(Signal::SIGINT as i32), "{status:?}");
    assert!(eventually(PATIENCE_SECS, || processes_with(&seed).is_empty()));
}

/// Kills a process group (SIGKILL) when dropped, also when a test panics.
struct KillGroup(u32);

impl Drop for KillGroup {
    fn drop(&mut self) {
        let group = nix::unistd::Pid::from_raw(self.0 as i32);
        let _ = nix::sys::signal::killpg(group, Signal::SIGKILL);
    }
}
