//! `--join NAME --hosts N`: three racecount processes on this machine, each a host of one run
//! through PostgreSQL and through Redis; `--lock lease:TTL`, `--stall` and `--fencing` across
//! them; a host killed mid-run.

use super::*;

use std::process::{Child, Output};

/// A run name of this test process's own.
fn name(tag: &str) -> String {
    format!("{tag}{}", std::process::id())
}

/// Starts `hosts` racecounts joining the run `name` on `store` with `args`, json on stdout.
fn start_hosts(store: &str, name: &str, hosts: u32, args: &[&str]) -> Vec<Child> {
    (0..hosts).map(|_| host(store, name, hosts, args)).collect()
}

/// Starts one racecount joining the run `name` of `hosts` hosts.
fn host(store: &str, name: &str, hosts: u32, args: &[&str]) -> Child {
    let hosts = hosts.to_string();
    let mut all = vec!["--store", store, "--join", name, "--hosts", &hosts];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-f", "json"]);
    spawn(&all)
}

fn outputs(children: Vec<Child>) -> Vec<Output> {
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

fn docs(outputs: &[Output]) -> Vec<serde_json::Value> {
    outputs
        .iter()
        .map(|o| {
            assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
            serde_json::from_slice(&o.stdout).unwrap()
        })
        .collect()
}

/// Nothing of the run `name` is left in `store`.
fn assert_nothing_left(store: &str, name: &str) {
    if store.starts_with("postgres") {
        for prefix in ["racecount_join_", "racecount_hosts_"] {
            let left = pg_tables(&format!("{prefix}{name}"));
            assert!(left.is_empty(), "left in postgres: {left:?}");
        }
    } else {
        let left = redis_keys(&format!("racecount_join_{name}"));
        assert!(left.is_empty(), "left in redis: {left:?}");
        let left = redis_keys(&format!("racecount_hosts_{name}"));
        assert!(left.is_empty(), "left in redis: {left:?}");
    }
}

fn stores() -> [&'static str; 2] {
    [&servers().postgres, &servers().redis]
}

#[test]
fn three_hosts_print_the_same_totals_and_mutex_and_atomic_are_exact_across_them() {
    for store in stores() {
        let run = name("same");
        let args = [
            "-p",
            "3",
            "-i",
            "10",
            "-t",
            "3",
            "-m",
            "unlocked,mutex,atomic",
        ];
        let docs = docs(&outputs(start_hosts(store, &run, 3, &args)));
        for m in ["unlocked", "mutex", "atomic"] {
            let first = mode(&docs[0], m).totals;
            for doc in &docs[1..] {
                assert_eq!(mode(doc, m).totals, first, "{store} {m}: hosts disagree");
            }
        }
        for m in ["mutex", "atomic"] {
            let totals = mode(&docs[0], m).totals;
            assert_eq!(totals, [90, 90, 90], "{store} {m}: 3 hosts x 3 x 10");
        }
        // Each host's part adds up to the trial's: 3 hosts, each 3 workers x 10.
        let result = docs[0]["results"].as_array().unwrap()[0].clone();
        for trial in result["trials"].as_array().unwrap() {
            let hosts = trial["hosts"].as_array().unwrap();
            assert_eq!(hosts.len(), 3, "{trial}");
            for host in hosts {
                assert_eq!(host["completed"], 30, "{trial}");
            }
        }
        let roster = docs[0]["parameters"]["roster"].as_array().unwrap().len();
        assert_eq!(roster, 3);
        assert_nothing_left(store, &run);
    }
}

/// A lease of 20 ms and a stall of 400 ms at every increment, one worker on each of 3 hosts.
///
/// Without fencing a lost update is all but certain: while the holder stalls, its lease
/// expires after 20 ms and a waiting worker (polling every 5 ms at most) takes it and reads the
/// same value; the holder writes at 400 ms, the other after its own stall, both the same value.
/// Only a machine that kept every waiting worker off the CPU for the 380 ms between, at every
/// one of the increments of both trials, would lose nothing. With fencing, the reads record
/// the token, so the stalled holder's late write is refused and tried again: exact, and each
/// such refusal counted (the first increments of the trial meet one as surely as the lease
/// run loses one).
#[test]
fn a_lease_shorter_than_a_stall_loses_updates_across_hosts_and_fencing_makes_them_exact() {
    for store in stores() {
        let common = [
            "-p",
            "1",
            "-i",
            "3",
            "-t",
            "2",
            "-m",
            "mutex",
            "--lock",
            "lease:20ms",
            "--stall",
            "400ms",
        ];
        let lease = name("lease");
        let docs_lease = docs(&outputs(start_hosts(store, &lease, 3, &common)));
        let totals = mode(&docs_lease[0], "mutex").totals;
        assert!(
            totals.iter().any(|&t| t < 9),
            "{store}: lease lost nothing: {totals:?}"
        );
        assert_nothing_left(store, &lease);

        let fenced = name("fenced");
        let mut args = common.to_vec();
        args.push("--fencing");
        let docs_fenced = docs(&outputs(start_hosts(store, &fenced, 3, &args)));
        let m = mode(&docs_fenced[0], "mutex");
        assert_eq!(m.totals, [9, 9], "{store}: fencing not exact");
        assert!(m.retries.iter().sum::<u64>() >= 1, "{store}: {m:?}");
        for doc in &docs_fenced[1..] {
            assert_eq!(mode(doc, "mutex").retries, m.retries, "hosts disagree");
        }
        assert_nothing_left(store, &fenced);
    }
}

#[test]
fn a_host_killed_mid_run_ends_the_others_with_exit_3_naming_it_and_nothing_is_left() {
    for store in stores() {
        let run = name("kill");
        // Many short trials: a host spends most of its time at the gates, where it sees the
        // killed host's beat stop (a trial of its own never nears --timeout).
        let args = [
            "-p",
            "2",
            "-i",
            "5",
            "-t",
            "100000",
            "-m",
            "mutex",
            "--timeout",
            "4s",
        ];
        let mut children = start_hosts(store, &run, 3, &args);
        // Every host's workers connected and racing: the board says go.
        let board = format!("racecount_hosts_{run}");
        let going = eventually(30.0, || {
            if store.starts_with("postgres") {
                pg().query_opt(&format!("SELECT v FROM {board} WHERE k = 'go'"), &[])
                    .ok()
                    .flatten()
                    .is_some()
            } else {
                redis::cmd("HEXISTS")
                    .arg(&board)
                    .arg("go")
                    .query::<bool>(&mut rd())
                    .unwrap_or(false)
            }
        });
        assert!(going, "{store}: the run never started");
        let victim = children.remove(2);
        signal(victim.id(), Signal::SIGKILL);
        let pid = victim.id();
        drop(outputs(vec![victim]));
        for out in outputs(children) {
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(3), "{store}: {err}");
            let line = err.lines().find(|l| l.contains("error")).unwrap_or("");
            assert!(line.contains(&format!("pid {pid}")), "{store}: {err}");
            // Seen as its connection gone (at once) or its beat stopped (after --timeout).
            assert!(
                line.contains("connection to the store is gone")
                    || line.contains("no sign of life"),
                "{store}: {err}"
            );
        }
        assert_nothing_left(store, &run);
    }
}

#[test]
fn a_late_host_with_other_settings_is_refused_naming_the_difference() {
    for store in stores() {
        let run = name("differ");
        let first = vec![host(
            store,
            &run,
            2,
            &["-p", "3", "-t", "1", "--timeout", "5s"],
        )];
        let board = format!("racecount_hosts_{run}");
        let joined = eventually(20.0, || {
            if store.starts_with("postgres") {
                pg().query_opt(&format!("SELECT v FROM {board} WHERE k = 'host0'"), &[])
                    .ok()
                    .flatten()
                    .is_some()
            } else {
                redis::cmd("HEXISTS")
                    .arg(&board)
                    .arg("host0")
                    .query::<bool>(&mut rd())
                    .unwrap_or(false)
            }
        });
        assert!(joined, "{store}: the first host never joined");
        let late = outputs(vec![host(store, &run, 2, &["-p", "4", "-t", "1"])]);
        let err = stderr(&late[0]);
        assert_eq!(late[0].status.code(), Some(2), "{store}: {err}");
        assert!(
            err.contains("--procs 4") && err.contains("--procs 3"),
            "{err}"
        );
        // The first host waits for a second that never comes: exit 3, naming the missing one.
        let first = outputs(first);
        let err = stderr(&first[0]);
        assert_eq!(first[0].status.code(), Some(3), "{store}: {err}");
        assert!(err.contains("did not join"), "{store}: {err}");
        assert_nothing_left(store, &run);
    }
}
