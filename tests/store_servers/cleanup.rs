//! Nothing left behind on the servers: a run killed with SIGKILL leaves its table or key, and
//! the next run removes it and says so; `--clean` lists what older runs left and touches
//! nothing else; a Redis key carries a TTL; a server that stops answering is said truly; and
//! the errors a user can fix say how (too many clients, no CREATE permission, no database).
//!
//! Every test here works in a namespace of its own (a PostgreSQL schema, a Redis database, a
//! MySQL database), because every run removes the dead runs' counters it sees at its start:
//! the other tests' runs would otherwise remove what these tests look for.

use super::*;

/// `store` moved to a namespace of its own, `tag`, made if missing: a schema on the search
/// path (PostgreSQL), a database number (Redis), a database (MySQL).
fn isolated(store: &str, tag: &str, redis_db: u32) -> String {
    let space = format!("racecount_test_{tag}");
    if store.starts_with("postgres") {
        pg().batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {space}"))
            .unwrap();
        format!("{store}&options=-csearch_path%3D{space}")
    } else if store.starts_with("mysql") {
        use mysql::prelude::Queryable;
        my().query_drop(format!("CREATE DATABASE IF NOT EXISTS {space}"))
            .unwrap();
        store.replacen("/racecount?", &format!("/{space}?"), 1)
    } else {
        format!("{store}?db={redis_db}")
    }
}

/// The racecount counters whose name starts with `prefix` in `store`'s namespace.
fn counters(store: &str, prefix: &str) -> Vec<String> {
    let like = format!("{prefix}%");
    if let Some(space) = store.split("search_path%3D").nth(1) {
        pg().query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 AND tablename LIKE $2",
            &[&space, &like],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    } else if store.starts_with("mysql") {
        use mysql::prelude::Queryable;
        let space = store.split('/').nth(3).unwrap().split('?').next().unwrap();
        my().exec(
            "SELECT table_name FROM information_schema.tables \
             WHERE table_schema = ? AND table_name LIKE ?",
            (space, like),
        )
        .unwrap()
    } else {
        let mut conn = redis::Client::open(store)
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query(&mut conn)
            .unwrap()
    }
}

fn thing(store: &str) -> &'static str {
    if store.starts_with("redis") {
        "key"
    } else {
        "table"
    }
}

#[test]
fn a_run_killed_with_sigkill_leaves_its_counter_and_the_next_run_removes_it_on_each_server() {
    let s = servers();
    for (store, db) in [(&s.postgres, 0), (&s.redis, 5), (&s.mysql, 0)] {
        let store = isolated(store, "killed", db);
        let args = long_run(&store, "mutex", "3");
        let mut child = spawn(&args);
        let pid = child.id();
        let prefix = format!("racecount_{pid}_");
        let started = || counters(&store, &prefix).len() == 1 && children_of(pid).len() == 3;
        assert!(eventually(30.0, started), "{store}: the run did not start");
        signal(pid, Signal::SIGKILL);
        child.wait().unwrap();
        let left = counters(&store, &prefix);
        assert_eq!(left.len(), 1, "{store}");
        if store.starts_with("redis") {
            // A key that nobody renews expires by itself.
            let mut conn = redis::Client::open(store.as_str())
                .unwrap()
                .get_connection()
                .unwrap();
            let ttl: i64 = redis::cmd("PTTL").arg(&left[0]).query(&mut conn).unwrap();
            assert!(ttl > 0 && ttl <= 60_000, "{ttl}");
        }
        let (out, doc) = run_json(&["--store", &store, "-m", "atomic", "-p", "2", "-i", "3"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{store}: {err}");
        assert_eq!(mode(&doc, "atomic").totals.len(), 10);
        assert!(
            err.contains(&format!("{} of dead runs from ", thing(&store)))
                && err.contains(&left[0]),
            "{store}: {err}"
        );
        assert!(counters(&store, &prefix).is_empty(), "{store}: left behind");
        assert!(counters(&store, "racecount_").is_empty(), "{store}");
    }
}

#[test]
fn clean_lists_what_older_runs_left_on_each_server_and_touches_nothing_else() {
    let s = servers();
    for (store, db) in [(&s.postgres, 0), (&s.redis, 6), (&s.mysql, 0)] {
        let store = isolated(store, "clean", db);
        // A run of a racecount that held no lock, and a name racecount never makes.
        let old = format!("racecount_{}_0123abcd", std::process::id());
        let other = "racecount_stock";
        if store.starts_with("postgres") {
            pg().batch_execute(&format!(
                "SET search_path = racecount_test_clean; CREATE TABLE {old} (v bigint); \
                 CREATE TABLE IF NOT EXISTS {other} (n int)"
            ))
            .unwrap();
        } else if store.starts_with("mysql") {
            use mysql::prelude::Queryable;
            my().query_drop(format!(
                "CREATE TABLE racecount_test_clean.{old} (v BIGINT); \
                 CREATE TABLE IF NOT EXISTS racecount_test_clean.{other} (n INT)"
            ))
            .unwrap();
        } else {
            let mut conn = redis::Client::open(store.as_str())
                .unwrap()
                .get_connection()
                .unwrap();
            redis::cmd("MSET")
                .arg(&old)
                .arg(7)
                .arg(other)
                .arg(41)
                .exec(&mut conn)
                .unwrap();
        }
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(["--store", &store, "--clean"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{store}: {}", stderr(&out));
        let listed = String::from_utf8_lossy(&out.stdout).into_owned();
        let shown = store.clone();
        assert_eq!(
            listed,
            format!("removed {} {old} from {shown}\n", thing(&store)),
            "{store}"
        );
        assert!(counters(&store, &old).is_empty(), "{store}");
        assert_eq!(counters(&store, other), [other], "{store}");
        let again = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args(["--store", &store, "--clean"])
            .output()
            .unwrap();
        assert!(again.stdout.is_empty());
        assert!(
            stderr(&again).contains("nothing to remove"),
            "{}",
            stderr(&again)
        );
        drop_other(&store, other);
    }
}

/// Removes the test's own `name` from `store`'s namespace.
fn drop_other(store: &str, name: &str) {
    if store.starts_with("postgres") {
        pg().batch_execute(&format!("DROP TABLE racecount_test_clean.{name}"))
            .unwrap();
    } else if store.starts_with("mysql") {
        use mysql::prelude::Queryable;
        my().query_drop(format!("DROP TABLE racecount_test_clean.{name}"))
            .unwrap();
    } else {
        let mut conn = redis::Client::open(store)
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("DEL").arg(name).exec(&mut conn).unwrap();
    }
}

/// A Redis server of the test's own, on a Unix socket in a scratch directory, with `extra`
/// options; stopped (and resumed first, if stopped) on drop.
pub(crate) struct PrivateRedis {
    _dir: Scratch,
    socket: String,
    pid: u32,
}

impl PrivateRedis {
    pub(crate) fn start(extra: &[&str]) -> PrivateRedis {
        let dir = Scratch::new("redis");
        let socket = dir.path("redis.sock");
        let pidfile = dir.path("redis.pid");
        let out = std::process::Command::new("redis-server")
            .args(["--port", "0", "--unixsocket", &socket, "--save", ""])
            .args([
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                &pidfile,
            ])
            .args(["--logfile", &dir.path("log"), "--dir", &dir.path("")])
            .args(extra)
            .output()
            .expect("redis-server runs");
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(eventually(10.0, || std::path::Path::new(&pidfile).exists()
            && std::path::Path::new(&socket).exists()));
        let pid = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        PrivateRedis {
            _dir: dir,
            socket,
            pid,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis+unix://{}", self.socket)
    }

    fn keys(&self) -> Vec<String> {
        let mut conn = redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap();
        redis::cmd("KEYS")
            .arg("racecount_*")
            .query(&mut conn)
            .unwrap()
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.pid as i32);
        let _ = nix::sys::signal::kill(pid, Signal::SIGCONT);
        let _ = nix::sys::signal::kill(pid, Signal::SIGTERM);
    }
}

/// Starts a long run on `redis`, waits until its workers are connected, then stops the server
/// (SIGSTOP): the run and the child.
fn run_then_stop_redis(redis: &PrivateRedis, timeout: &str) -> std::process::Child {
    let mut args = long_run(&redis.url(), "mutex", "3");
    args.extend(["--timeout".to_string(), timeout.to_string()]);
    let child = spawn(&args);
    let connected = || {
        let mut conn = redis::Client::open(redis.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut conn).unwrap();
        list.matches("_w").count() == 3
    };
    assert!(eventually(30.0, connected), "the workers did not connect");
    signal(redis.pid, Signal::SIGSTOP);
    child
}

#[test]
fn a_stopped_redis_is_said_truly_and_the_key_goes_once_it_resumes() {
    let redis = PrivateRedis::start(&[]);
    let child = run_then_stop_redis(&redis, "2s");
    let (status, err) = finish(child);
    assert_eq!(status, Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // The DEL may run when the server resumes: racecount says it does not know.
    assert!(err.contains("not known whether it ran"), "{err}");
    assert!(err.contains("expires by itself within 60 s"), "{err}");
    signal(redis.pid, Signal::SIGCONT);
    assert!(
        eventually(10.0, || redis.keys().is_empty()),
        "{:?}",
        redis.keys()
    );
}

#[test]
fn sigint_ends_a_cleanup_stuck_on_a_stopped_redis_at_once() {
    let redis = PrivateRedis::start(&[]);
    let child = run_then_stop_redis(&redis, "30s");
    let pid = child.id();
    // The first stops the trial; the removal then waits for the stopped server.
    signal(pid, Signal::SIGINT);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let sent = std::time::Instant::now();
    signal(pid, Signal::SIGINT);
    let (status, err) = finish(child);
    assert!(sent.elapsed().as_secs_f64() < 3.0, "{err}");
    assert_eq!(status, Some(130), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("interrupted while removing it: not known whether the key"),
        "{err}"
    );
}

#[test]
fn a_redis_at_its_maxclients_is_named_as_such() {
    let redis = PrivateRedis::start(&["--maxclients", "3"]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args([
            "--store",
            &redis.url(),
            "-m",
            "atomic",
            "-p",
            "5",
            "-t",
            "1",
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("the server refuses more clients"), "{err}");
    assert!(err.contains("maxclients"), "{err}");
    assert!(redis.keys().is_empty(), "{:?}", redis.keys());
}

#[test]
fn no_create_permission_and_no_database_say_what_to_do() {
    // PostgreSQL 15 grants nobody CREATE on public: the way out is a schema of the user's own.
    pg().batch_execute(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'racecount_test_nocreate') THEN \
             CREATE ROLE racecount_test_nocreate LOGIN; \
           END IF; \
         END $$; \
         CREATE SCHEMA IF NOT EXISTS racecount_test_own AUTHORIZATION racecount_test_nocreate",
    )
    .unwrap();
    let user = servers()
        .postgres
        .replacen("postgres@", "racecount_test_nocreate@", 1);
    let run = |store: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args([
                "--store", store, "-m", "atomic", "-p", "2", "-i", "3", "-t", "1",
            ])
            .output()
            .unwrap()
    };
    let out = run(&user);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("permission denied for schema public"), "{err}");
    assert!(err.contains("options=-csearch_path%3D"), "{err}");
    let own = format!("{user}&options=-csearch_path%3Dracecount_test_own");
    let out = run(&own);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for (store, words) in [
        (
            servers()
                .postgres
                .replacen("/postgres?", "/racecount_no_such_db?", 1),
            "does not exist (3D000); create it",
        ),
        (
            servers()
                .mysql
                .replacen("/racecount?", "/racecount_no_such_db?", 1),
            "Unknown database 'racecount_no_such_db'",
        ),
    ] {
        let out = run(&store);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(words), "{err}");
    }
}
