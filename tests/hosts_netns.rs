//! `--join` with the hosts in network namespaces of their own: each with its own address on a
//! bridge, talking to a PostgreSQL and a Redis that listen on the bridge's address (started
//! here by `.ci/services.sh start --listen`). Every packet goes between addresses of this
//! machine and namespaces this test makes.
//!
//! Needs root (namespaces, a bridge): `.ci/run` runs it, as root, with
//! `cargo test --features server-tests --test hosts_netns -- --ignored`. Where the machine does
//! not allow it, it fails and says why; it is never skipped when asked to run.

mod common;
use common::*;

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

/// Runs a command as root would, failing the test with what it said.
fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output();
    match out {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "{} failed: {}; this test needs root and network namespaces (ip netns, veth, \
             bridge): run it as root, as .ci/run does",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("cannot run {}: {e} (iproute2's ip is needed)", args[0]),
    }
}

/// A bridge with the servers' address and three namespaces on it, removed when dropped.
struct Net {
    bridge: String,
    namespaces: Vec<String>,
    /// The bridge's address, where the servers listen.
    at: String,
    services: Option<String>,
}

impl Net {
    fn up() -> Net {
        let id = std::process::id() % 10_000;
        // A /24 that no interface of this machine has.
        let taken = String::from_utf8_lossy(
            &Command::new("ip")
                .args(["-4", "-o", "addr"])
                .output()
                .expect("ip runs")
                .stdout,
        )
        .into_owned();
        let net = (10..250)
            .map(|n| format!("10.{}.{n}", 200 + id % 50))
            .find(|net| !taken.contains(&format!("{net}.")))
            .expect("a free /24");
        let mut this = Net {
            bridge: format!("rcbr{id}"),
            namespaces: Vec::new(),
            at: format!("{net}.1"),
            services: None,
        };
        sh(&["ip", "link", "add", &this.bridge, "type", "bridge"]);
        sh(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", this.at),
            "dev",
            &this.bridge,
        ]);
        sh(&["ip", "link", "set", &this.bridge, "up"]);
        for h in 1..=3 {
            let ns = format!("rc{id}h{h}");
            let (outer, inner) = (format!("rc{id}v{h}"), format!("rc{id}p{h}"));
            sh(&["ip", "netns", "add", &ns]);
            this.namespaces.push(ns.clone());
            sh(&[
                "ip", "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ]);
            sh(&["ip", "link", "set", &inner, "netns", &ns]);
            sh(&["ip", "link", "set", &outer, "master", &this.bridge, "up"]);
            let addr = format!("{net}.{}/24", 10 + h);
            sh(&["ip", "-n", &ns, "addr", "add", &addr, "dev", &inner]);
            sh(&["ip", "-n", &ns, "link", "set", &inner, "up"]);
            sh(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
        }
        this
    }

    /// Starts PostgreSQL and Redis listening on the bridge too: their URLs there.
    fn servers(&mut self) -> (String, String) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/services.sh");
        let owner = std::process::id().to_string();
        let out = Command::new("bash")
            .args([script, "start", "--owner", &owner, "--listen", &self.at])
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "{script} start --listen {} failed: {}",
            self.at,
            String::from_utf8_lossy(&out.stderr)
        );
        let exports = String::from_utf8_lossy(&out.stdout).into_owned();
        let value = |name: &str| {
            exports
                .lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}='")))
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or_else(|| panic!("{script} printed no {name}: {exports}"))
                .to_string()
        };
        self.services = Some(value("RACECOUNT_SERVICES_DIR"));
        (
            value("RACECOUNT_TEST_POSTGRES_AT"),
            value("RACECOUNT_TEST_REDIS_AT"),
        )
    }

    /// Cuts namespace `h` (0-based) off the bridge: its link goes down.
    fn cut(&self, h: usize) {
        let outer = format!("rc{}v{}", std::process::id() % 10_000, h + 1);
        sh(&["ip", "link", "set", &outer, "down"]);
    }

    /// Puts namespace `h`'s link back up, and waits (10 s at most) until it reaches `store`
    /// again: the neighbour it failed to reach while cut off is forgotten first, or its next
    /// connection would meet "No route to host".
    fn mend(&self, h: usize, store: &str) {
        let outer = format!("rc{}v{}", std::process::id() % 10_000, h + 1);
        sh(&["ip", "link", "set", &outer, "up"]);
        sh(&["ip", "-n", &self.namespaces[h], "neigh", "flush", "all"]);
        let port: String = store
            .split(&format!("{}:", self.at))
            .nth(1)
            .unwrap_or_default()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let reach = format!(": </dev/tcp/{}/{port}", self.at);
        let since = Instant::now();
        while since.elapsed() < Duration::from_secs(10) {
            let reached = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.namespaces[h],
                    "timeout",
                    "1",
                    "bash",
                    "-c",
                ])
                .arg(&reach)
                .status()
                .is_ok_and(|s| s.success());
            if reached {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{}: {store} unreachable 10 s after the link came back",
            self.namespaces[h]
        );
    }

    /// racecount run inside namespace `h` (0-based) with `args`.
    fn host(&self, h: usize, args: &[&str]) -> Child {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.namespaces[h],
                env!("CARGO_BIN_EXE_racecount"),
            ])
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ip netns exec runs")
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(dir) = &self.services {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/services.sh");
            let _ = Command::new("bash")
                .args([script, "stop"])
                .env("RACECOUNT_SERVICES_DIR", dir)
                .output();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
    }
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn totals(doc: &serde_json::Value, mode: &str) -> Vec<u64> {
    doc["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mode"] == mode)
        .unwrap_or_else(|| panic!("no {mode} in {doc}"))["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["total"].as_u64().unwrap())
        .collect()
}

/// Every namespace reaches the bridge's address, and nothing else is there to reach.
fn reachable_only_through_the_bridge(net: &Net) {
    for ns in &net.namespaces {
        let routes = Command::new("ip")
            .args(["-n", ns, "route"])
            .output()
            .unwrap()
            .stdout;
        let routes = String::from_utf8_lossy(&routes);
        assert!(
            !routes.contains("default"),
            "{ns} has a default route: {routes}"
        );
    }
}

#[test]
#[ignore = "needs root and network namespaces: .ci/run runs it with --ignored"]
fn hosts_in_namespaces_of_their_own_run_one_run_and_a_killed_or_cut_off_one_ends_it() {
    let mut net = Net::up();
    let (postgres, redis) = net.servers();
    reachable_only_through_the_bridge(&net);
    for store in [&postgres, &redis] {
        one_run_on_three_hosts(&net, store);
        a_killed_host_is_seen_at_once(&net, store);
        a_host_cut_off_ends_the_run_on_every_host(&net, store);
    }
}

/// Three hosts, one run: every host reports the same totals, exact under a lock.
fn one_run_on_three_hosts(net: &Net, store: &str) {
    let run = format!("ns{}", std::process::id());
    let args = [
        "--store",
        store,
        "--join",
        &run,
        "--hosts",
        "3",
        "-p",
        "3",
        "-i",
        "10",
        "-t",
        "3",
        "-m",
        "unlocked,mutex,atomic",
        "-f",
        "json",
    ];
    let children: Vec<Child> = (0..3).map(|h| net.host(h, &args)).collect();
    let outs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let said: Vec<String> = outs.iter().map(stderr).collect();
    assert!(
        outs.iter().all(|o| o.status.code() == Some(0)),
        "{store}: {said:#?}"
    );
    let docs: Vec<serde_json::Value> = outs.iter().map(json).collect();
    for mode in ["unlocked", "mutex", "atomic"] {
        for doc in &docs[1..] {
            assert_eq!(totals(doc, mode), totals(&docs[0], mode), "{store} {mode}");
        }
    }
    assert_eq!(totals(&docs[0], "mutex"), [90, 90, 90], "{store}");
    assert_eq!(totals(&docs[0], "atomic"), [90, 90, 90], "{store}");
}

/// A long joined run of three hosts named `run`, under a mutex, 4 s of patience, `more`
/// options.
fn long_run(net: &Net, store: &str, run: &str, more: &[&str]) -> Vec<Child> {
    let mut args = vec![
        "--store",
        store,
        "--join",
        run,
        "--hosts",
        "3",
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
    args.extend(more);
    (0..3).map(|h| net.host(h, &args)).collect()
}

/// A host killed mid-run: its connection closes, so the others stop at once, exit 3 naming
/// it, and nothing is left.
fn a_killed_host_is_seen_at_once(net: &Net, store: &str) {
    let mut children = long_run(net, store, &format!("nskill{}", std::process::id()), &[]);
    // `ip netns exec` execs racecount: the child is racecount itself.
    std::thread::sleep(Duration::from_secs(3));
    let victim = children.remove(2);
    let pid = victim.id();
    signal(pid, Signal::SIGKILL);
    drop(victim.wait_with_output());
    for child in children {
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{store}: {err}");
        assert!(err.contains(&format!("pid {pid}")), "{store}: {err}");
        assert!(
            err.contains("connection to the store is gone"),
            "{store}: {err}"
        );
    }
    assert_nothing_left(store);
}

/// The network between one host and the store cut mid-run: every host ends with exit 3, the
/// others naming it (its beat stopped, or the server ended its sessions), itself as the
/// server stops answering; and nothing is left.
///
/// Under a lease: with the store's own lock, a host cut off while its worker holds the row's
/// lock (`SELECT … FOR UPDATE`) stops the others' workers until the server ends that session
/// (about 4 s), so they may end first as "not finished after --timeout", none of them seeing
/// it gone, and the counter and board are left for the next run or `--clean`. A lease expires.
fn a_host_cut_off_ends_the_run_on_every_host(net: &Net, store: &str) {
    let run = format!("nscut{}", std::process::id());
    let children = long_run(net, store, &run, &["--lock", "lease:50ms"]);
    std::thread::sleep(Duration::from_secs(3));
    let cut = children[2].id();
    net.cut(2);
    let since = Instant::now();
    for (h, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{store} host {h}: {err}");
        let expected = if h < 2 {
            format!("pid {cut}")
        } else {
            "no answer from".to_string()
        };
        assert!(err.contains(&expected), "{store} host {h}: {err}");
    }
    // Each of the cut host's calls to the store waits --timeout (4 s) at most.
    assert!(
        since.elapsed() < Duration::from_secs(45),
        "{store}: {since:?}"
    );
    net.mend(2, store);
    assert_nothing_left(store);
}

/// `--clean` finds nothing of a run left in `store`.
fn assert_nothing_left(store: &str) {
    let clean = Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args(["--store", store, "--clean"])
        .output()
        .unwrap();
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(
        stderr(&clean).contains("nothing to remove"),
        "{store}: the run left something: {}{}",
        stdout(&clean),
        stderr(&clean)
    );
}
