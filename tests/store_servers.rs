//! `--store postgres://…`, `redis://…` and `mysql://…` against real servers, over Unix
//! sockets and over TLS.
//!
//! Built with `--features server-tests` (`.ci/run` does it). The servers come from the
//! RACECOUNT_TEST_* variables when all are set (`eval "$(.ci/services.sh start)"`); otherwise
//! these tests start their own with `.ci/services.sh start --owner PID`, which stops them when
//! the test process is gone; if that cannot be done (PostgreSQL, Redis or MariaDB not
//! installed), every test here fails and says how to fix it. None is skipped.
//!
//! Besides racecount's own tables and keys, which every test checks are gone, these tests
//! create the table `store_test_stock` (dropped again) and the role `racecount_test_limited`
//! (kept: a connection limit of 4, CREATE on schema public) in the PostgreSQL database, and the
//! MySQL user `racecount_test_pw` (kept: a password, rights on the URL's database).

mod store_common;
use store_common::*;

// More of the same binary, so that `--test store_servers` runs them all.
#[path = "store_servers/cleanup.rs"]
mod cleanup;
#[path = "store_servers/hosts.rs"]
mod hosts;
#[path = "store_servers/mariadb_tls.rs"]
mod mariadb_tls;
#[path = "store_servers/secrets.rs"]
mod secrets;

use std::sync::OnceLock;

use nix::sys::signal::Signal;

struct Servers {
    postgres: String,
    redis: String,
    mysql: String,
    /// The same servers on 127.0.0.1 over TLS, verified against `ca`.
    postgres_tls: String,
    redis_tls: String,
    mysql_tls: String,
    /// The CA's certificate (PEM) that signed every server's.
    ca: String,
}

/// The variables `.ci/services.sh start` exports, in the order of [`Servers`]'s fields (the
/// README test's list: its blocks name them).
use store_common::common::readme::SERVERS as VARS;

impl Servers {
    fn from(value: impl Fn(&str) -> Option<String>) -> Option<Servers> {
        let [
            postgres,
            redis,
            mysql,
            postgres_tls,
            redis_tls,
            mysql_tls,
            ca,
        ] = VARS.map(value);
        Some(Servers {
            postgres: postgres?,
            redis: redis?,
            mysql: mysql?,
            postgres_tls: postgres_tls?,
            redis_tls: redis_tls?,
            mysql_tls: mysql_tls?,
            ca: ca?,
        })
    }
}

fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Result<Servers, String>> = OnceLock::new();
    let servers = SERVERS.get_or_init(|| {
        if let Some(servers) = Servers::from(|name| std::env::var(name).ok()) {
            return Ok(servers);
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/services.sh");
        let out = std::process::Command::new("bash")
            .args([script, "start", "--owner", &std::process::id().to_string()])
            .output()
            .map_err(|e| format!("cannot run {script}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "the database tests need PostgreSQL, Redis and MariaDB, and {script} could \
                 not start them: {}\nInstall them (as root: .ci/services.sh install, i.e. \
                 apt-get install postgresql redis-server mariadb-server), or start servers and \
                 set {} (eval \"$(.ci/services.sh start)\").",
                String::from_utf8_lossy(&out.stderr).trim(),
                VARS.join(", ")
            ));
        }
        let exports = String::from_utf8_lossy(&out.stdout).into_owned();
        let value = |name: &str| -> Option<String> {
            exports.lines().find_map(|l| {
                let rest = l.strip_prefix(&format!("export {name}='"))?;
                Some(rest.strip_suffix('\'')?.to_string())
            })
        };
        Servers::from(value).ok_or_else(|| format!("{script} printed no URLs: {exports}"))
    });
    match servers {
        Ok(servers) => servers,
        Err(why) => panic!("{why}"),
    }
}

fn pg() -> postgres::Client {
    postgres::Client::connect(&servers().postgres, postgres::NoTls).unwrap()
}

fn rd() -> redis::Connection {
    redis::Client::open(servers().redis.as_str())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn my() -> mysql::Conn {
    mysql::Conn::new(mysql::Opts::from_url(&servers().mysql).unwrap()).unwrap()
}

/// Tables in the MySQL server whose name starts with `prefix`.
fn mysql_tables(prefix: &str) -> Vec<String> {
    use mysql::prelude::Queryable;
    my().exec(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE CONCAT(?, '%')",
        (prefix,),
    )
    .unwrap()
}

/// racecount's tables in PostgreSQL whose name starts with `prefix`.
fn pg_tables(prefix: &str) -> Vec<String> {
    pg().query(
        "SELECT tablename::text FROM pg_tables WHERE tablename LIKE $1 || '%'",
        &[&prefix],
    )
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

/// Redis keys whose name starts with `prefix`.
fn redis_keys(prefix: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query(&mut rd())
        .unwrap()
}

/// The run's counter name, from json's `counter` ("table NAME in URL").
fn counter_name(doc: &serde_json::Value) -> String {
    doc["parameters"]["counter"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

#[test]
fn postgres_transactions_alone_lose_updates_locks_and_atomic_updates_do_not() {
    let mut client = pg();
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS store_test_stock (n int); \
             TRUNCATE store_test_stock; INSERT INTO store_test_stock VALUES (41)",
        )
        .unwrap();
    let store = &servers().postgres;
    let mut args = vec!["--store", store];
    args.extend_from_slice(&LESSON);
    let (out, doc) = run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_mostly_lossy("unlocked", &mode(&doc, "unlocked"));
    // Read committed, the default: a transaction is not a lock.
    assert_mostly_lossy("per-access", &mode(&doc, "per-access"));
    assert_exact("mutex", &mode(&doc, "mutex"));
    assert_exact("atomic", &mode(&doc, "atomic"));
    assert!(pg_tables(&counter_name(&doc)).is_empty(), "counter left");
    let n: i32 = client
        .query_one("SELECT n FROM store_test_stock", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 41, "racecount touched a table not its own");
    client.batch_execute("DROP TABLE store_test_stock").unwrap();
}

#[test]
fn postgres_serializable_and_repeatable_read_refuse_the_lost_update_and_retries_are_counted() {
    let store = &servers().postgres;
    for level in ["serializable", "repeatable-read"] {
        let mut args = vec!["--store", store, "--isolation", level];
        args.extend_from_slice(&LESSON[..6]);
        args.extend(["-m", "per-access"]);
        let (out, doc) = run_json(&args);
        assert_eq!(out.status.code(), Some(0), "{level}: {}", stderr(&out));
        let m = mode(&doc, "per-access");
        assert_exact(level, &m);
        assert_refusals(level, &m);
        assert_eq!(doc["parameters"]["isolation"], level);
    }
}

#[test]
fn redis_get_then_set_loses_watch_multi_exec_and_incr_do_not() {
    let store = &servers().redis;
    let mut args = vec!["--store", store];
    args.extend_from_slice(&LESSON);
    let (out, doc) = run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_mostly_lossy("unlocked", &mode(&doc, "unlocked"));
    assert_mostly_lossy("per-access", &mode(&doc, "per-access"));
    let mutex = mode(&doc, "mutex");
    assert_exact("mutex", &mutex);
    assert_refusals("mutex", &mutex);
    assert_exact("atomic", &mode(&doc, "atomic"));
    assert!(redis_keys(&counter_name(&doc)).is_empty(), "counter left");
}

#[test]
fn a_password_never_shows_in_any_output() {
    // The test server trusts local connections, so a password in the URL is accepted unused.
    let store = servers()
        .postgres
        .replacen("postgres@", "postgres:s3cret-pw@", 1);
    assert!(store.contains("s3cret-pw"), "{store}");
    for format in ["human", "json", "csv", "markdown", "totals"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
            .args([
                "--store", &store, "-m", "atomic", "-p", "2", "-i", "3", "-t", "2",
            ])
            .args(["-f", format])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(!all.contains("s3cret"), "{format}: {all}");
        if format == "json" || format == "human" {
            assert!(all.contains("postgres:***@"), "{format}: {all}");
        }
    }
}

/// Starts a long run, waits until its workers are connected, does `stop`, and checks the
/// exit status, the message and that the counter is gone.
fn stopped_run(store: &str, stop: impl FnOnce(u32), code: i32, message: &[&str]) {
    stopped_run_with(store, &[], stop, code, message);
}

fn stopped_run_with(
    store: &str,
    extra: &[&str],
    stop: impl FnOnce(u32),
    code: i32,
    message: &[&str],
) {
    let mut args = long_run(store, "mutex", "3");
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let child = spawn(&args);
    let pid = child.id();
    let prefix = format!("racecount_{pid}_");
    let connected = || {
        if store.starts_with("mysql") {
            // MySQL connections carry no name: the counter moves once the gate is open, and
            // the gate opens when every worker is connected.
            use mysql::prelude::Queryable;
            let Some(table) = mysql_tables(&prefix).pop() else {
                return false;
            };
            let v: Option<i64> = my().query_first(format!("SELECT v FROM {table}")).unwrap();
            v.unwrap_or(0) > 0
        } else if store.starts_with("postgres") {
            let n: i64 = pg()
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1",
                    &[&format!("racecount {prefix}% w%")],
                )
                .unwrap()
                .get(0);
            n == 3
        } else {
            // The workers' connections (the parent's bears the key's name alone).
            let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut rd()).unwrap();
            list.lines()
                .filter(|l| l.contains(&format!(" name={prefix}")) && l.contains("_w"))
                .count()
                == 3
        }
    };
    assert!(eventually(30.0, connected), "the workers did not connect");
    stop(pid);
    let (status, err) = finish(child);
    assert_eq!(status, Some(code), "{err}");
    for m in message {
        assert!(err.contains(m), "{err}");
    }
    assert_eq!(err.lines().count(), 1, "{err}");
    if store.starts_with("mysql") {
        assert!(mysql_tables(&prefix).is_empty(), "table left behind");
    } else if store.starts_with("postgres") {
        assert!(pg_tables(&prefix).is_empty(), "table left behind");
    } else {
        assert!(redis_keys(&prefix).is_empty(), "key left behind");
    }
    assert!(children_of(pid).is_empty());
}

#[test]
fn ctrl_c_removes_the_counter_from_each_server() {
    for store in [&servers().postgres, &servers().redis, &servers().mysql] {
        stopped_run(
            store,
            |pid| signal(pid, Signal::SIGINT),
            130,
            &["interrupted by SIGINT"],
        );
    }
}

#[test]
fn a_dead_worker_fails_the_trial_and_removes_the_counter_from_each_server() {
    for store in [&servers().postgres, &servers().redis, &servers().mysql] {
        stopped_run(
            store,
            |pid| signal(children_of(pid)[0], Signal::SIGKILL),
            3,
            &["was killed by SIGKILL"],
        );
    }
}

#[test]
fn a_postgres_backend_killed_mid_trial_names_the_worker_and_the_error() {
    stopped_run(
        &servers().postgres,
        |pid| {
            let killed: Vec<postgres::Row> = pg()
                .query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1",
                    &[&format!(
                        "racecount {} w1",
                        pg_tables(&format!("racecount_{pid}_"))[0]
                    )],
                )
                .unwrap();
            assert_eq!(killed.len(), 1);
        },
        3,
        // The server's own words ("terminating connection due to administrator command") come
        // only when the kill lands while the worker waits for an answer; between statements
        // the client finds the connection closed.
        &[
            "worker 1 (pid",
            "lost its connection to postgres",
            "the other workers were stopped",
        ],
    );
}

#[test]
fn a_redis_connection_killed_mid_trial_names_the_worker_and_the_error() {
    stopped_run(
        &servers().redis,
        |pid| {
            assert_eq!(kill_redis_worker(pid, 1), 1);
        },
        3,
        &[
            "worker 1 (pid",
            "lost its connection to redis",
            "the other workers were stopped",
        ],
    );
}

#[test]
fn a_worker_that_cannot_connect_is_named_with_the_servers_words() {
    // A role that may hold 4 connections: the parent's and 3 workers' of 6.
    pg().batch_execute(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'racecount_test_limited') THEN \
             CREATE ROLE racecount_test_limited LOGIN CONNECTION LIMIT 4; \
           END IF; \
         END $$; \
         GRANT CREATE ON SCHEMA public TO racecount_test_limited",
    )
    .unwrap();
    let store = servers()
        .postgres
        .replacen("postgres@", "racecount_test_limited@", 1);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_racecount"))
        .args([
            "--store", &store, "-m", "atomic", "-p", "6", "-i", "5", "-t", "1",
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(") could not connect to postgres://"), "{err}");
    assert!(err.contains("too many connections for role"), "{err}");
    assert!(pg_tables("racecount_").iter().all(|t| {
        // Other tests' runs may be alive; none of this run's role may be left.
        let owner: String = pg()
            .query_one(
                "SELECT tableowner::text FROM pg_tables WHERE tablename = $1",
                &[t],
            )
            .map(|r| r.get(0))
            .unwrap_or_default();
        owner != "racecount_test_limited"
    }));
}

#[test]
fn pooled_workers_on_each_server_lose_and_keep_updates_as_forked_ones_do() {
    for store in [&servers().postgres, &servers().redis, &servers().mysql] {
        let mut args = vec!["--store", store, "--pool"];
        args.extend_from_slice(&LESSON);
        let (out, doc) = run_json(&args);
        assert_eq!(out.status.code(), Some(0), "{store}: {}", stderr(&out));
        assert_mostly_lossy("unlocked", &mode(&doc, "unlocked"));
        assert_mostly_lossy("per-access", &mode(&doc, "per-access"));
        assert_exact("mutex", &mode(&doc, "mutex"));
        assert_exact("atomic", &mode(&doc, "atomic"));
    }
}

#[test]
fn a_pooled_redis_connection_killed_mid_trial_names_the_worker() {
    stopped_run_with(
        &servers().redis,
        &["--pool"],
        |pid| {
            kill_redis_worker(pid, 2);
        },
        3,
        &["worker 2 (pid", "lost its connection to redis"],
    );
}

/// Kills worker `w`'s Redis connection of racecount run `pid` (found by the client name the
/// worker gives it) and returns how many clients Redis killed.
fn kill_redis_worker(pid: u32, w: u32) -> u64 {
    let key = redis_keys(&format!("racecount_{pid}_"))[0].clone();
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut rd()).unwrap();
    let id = list
        .lines()
        .find(|l| l.contains(&format!(" name={key}_w{w} ")))
        .and_then(|l| l.strip_prefix("id="))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_else(|| panic!("worker {w} not in {list}"))
        .to_string();
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(&id)
        .query(&mut rd())
        .unwrap()
}

/// The README's commands that need PostgreSQL or Redis, run against these servers and
/// compared with what the README shows (the rules: tests/common/readme.rs).
#[test]
fn the_readme_database_examples_print_what_the_readme_shows() {
    use store_common::common::readme;
    let s = servers();
    let values = [
        &s.postgres,
        &s.redis,
        &s.mysql,
        &s.postgres_tls,
        &s.redis_tls,
        &s.mysql_tls,
        &s.ca,
    ];
    let env: Vec<(String, String)> = VARS
        .iter()
        .zip(values)
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect();
    let (blocks, _) = readme::runnable(&readme::SERVERS);
    assert!(
        blocks.len() >= 3,
        "only {} README blocks need a server: is README.md parsed?",
        blocks.len()
    );
    let failures = readme::check_blocks(blocks, &env);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A run on each server on an 80 x 24 terminal, as a person runs it: it ends, exits 0 and
/// prints its report (a progress bar with a database store once made every such run fail).
#[test]
fn a_run_on_each_server_in_a_terminal_completes() {
    use store_common::common::terminal::OnTerminal;
    let s = servers();
    for url in [&s.postgres, &s.redis, &s.mysql] {
        let run = OnTerminal::spawn(&["--store", url, "-p", "4", "-i", "5", "-t", "2"], "pty");
        let (status, text) = run.finish(60.0);
        assert!(status.success(), "{status:?}: {text}");
        assert!(text.contains("lost updates:"), "{text}");
        assert!(!text.contains("error"), "{text}");
    }
}
