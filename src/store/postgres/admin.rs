//! The parent's side of a PostgreSQL counter: probe, connect, remove the tables of dead runs,
//! take the run's lock, create the table; reset, read and drop it.
//!
//! The run's lock is a session advisory lock whose key is made from the table's name
//! (`pg_try_advisory_lock`), taken before the table exists and held by the parent's session
//! until it ends: a `racecount_*` table whose lock anyone can take belongs to a run that died
//! (or to a racecount older than these locks), and is dropped. The server ends the session, and
//! so frees the lock, however racecount dies.

use std::time::Duration;

use super::{Place, describe, hint, probe, resolve, where_};
use crate::model::store::Facts;
use crate::store::counter::{Admin, Made, Phase};
use crate::store::stale::{Cleaned, board_of, run_of};

/// The advisory lock's key for the table `$1`: the first 64 bits of its name's MD5.
const KEY: &str = "('x' || left(md5($1), 16))::bit(64)::bigint";

/// Resolves, probes and connects: the parent's session, named after the run.
fn open(place: &mut Place, name: &str, timeout: Duration) -> Result<postgres::Client, String> {
    let at = where_(&place.config);
    let fail = |e: String| format!("cannot connect to postgres at {at}: {e}");
    resolve(&mut place.config).map_err(fail)?;
    place.config.connect_timeout(timeout);
    probe(&place.config, timeout).map_err(fail)?;
    let mut client = place
        .tls
        .connect(
            place
                .config
                .clone()
                .application_name(&format!("racecount {name}")),
        )
        .map_err(|e| fail(format!("{}{}", describe(&e), hint(&e))))?;
    // A killed worker's backend may still hold a lock for a moment; never wait forever.
    client
        .batch_execute(&format!(
            "SET lock_timeout = {}",
            timeout.as_millis().max(1000)
        ))
        .map_err(|e| fail(describe(&e)))?;
    Ok(client)
}

/// The counter's columns: its value, and for `--lock lease:TTL` the lease (`tokens`,
/// `lease_until`) and the newest token seen (`fence`).
const COUNTER_COLUMNS: &str = "v bigint NOT NULL, fence bigint NOT NULL DEFAULT 0, \
                               tokens bigint NOT NULL DEFAULT 0, lease_until timestamptz";

/// Connects and drops the tables of dead runs (what it dropped, or why it could not).
fn opened(
    place: &mut Place,
    name: &str,
    timeout: Duration,
    phase: &Phase,
) -> Result<(postgres::Client, Cleaned), String> {
    let mut client = open(place, name, timeout)?;
    phase.cleaning();
    let cleaned = clean_with(&mut client);
    Ok((client, cleaned))
}

/// How a failed statement of the parent's is said: what it tried, where, and the server's
/// words with a hint.
fn failure(shown: &str) -> impl Fn(&str, postgres::Error) -> String + '_ {
    move |what, e| format!("{what} in {shown}: {}{}", describe(&e), hint(&e))
}

/// The run's counter made: what the server says of itself, and what was cleaned on the way.
fn made(mut admin: PostgresAdmin, cleaned: Cleaned) -> Result<Made, String> {
    let facts = admin.facts()?;
    Ok(Made {
        admin: Box::new(admin),
        cleaned,
        facts,
    })
}

/// Connects, drops the tables of dead runs, takes this run's lock and creates its table.
pub(in crate::store) fn create(
    place: &mut Place,
    name: &str,
    timeout: Duration,
    shown: &str,
    phase: &Phase,
) -> Result<Made, String> {
    let (mut client, cleaned) = opened(place, name, timeout, phase)?;
    let error = failure(shown);
    let locked: bool = client
        .query_one(&format!("SELECT pg_try_advisory_lock({KEY})"), &[&name])
        .map_err(|e| error("cannot take the run's advisory lock", e))?
        .get(0);
    if !locked {
        return Err(format!(
            "the advisory lock of {name} in {shown} is held by another session"
        ));
    }
    phase.creating();
    client
        .batch_execute(&format!(
            "CREATE TABLE {name} ({COUNTER_COLUMNS}); INSERT INTO {name} (v) VALUES (0)"
        ))
        .map_err(|e| error("cannot create the counter table", e))?;
    let admin = PostgresAdmin {
        client,
        place: place.clone(),
        table: name.to_string(),
        board: None,
        shown: shown.to_string(),
        timeout,
    };
    made(admin, cleaned)
}

/// `--join`: connects, drops the tables of dead runs, takes the run's lock shared (every host
/// holds it: the run is dead when none does), and makes the counter and the board unless a
/// host before this one made them.
pub(in crate::store) fn join(
    place: &mut Place,
    name: &str,
    timeout: Duration,
    shown: &str,
    phase: &Phase,
) -> Result<Made, String> {
    let (mut client, cleaned) = opened(place, name, timeout, phase)?;
    let error = failure(shown);
    super::keep_alive(&mut client).map_err(|e| error("cannot set the session's keepalives", e))?;
    client
        .query_one(&format!("SELECT pg_advisory_lock_shared({KEY})"), &[&name])
        .map_err(|e| error("cannot take the run's advisory lock", e))?;
    phase.creating();
    let board = board_of(name);
    // One host at a time makes them (CREATE TABLE IF NOT EXISTS can fail when two race).
    client
        .batch_execute(&format!(
            "BEGIN; SELECT pg_advisory_xact_lock(('x' || left(md5('{board}'), 16))::bit(64)::bigint); \
             CREATE TABLE IF NOT EXISTS {name} ({COUNTER_COLUMNS}); \
             INSERT INTO {name} (v) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM {name}); \
             CREATE TABLE IF NOT EXISTS {board} (k text PRIMARY KEY, v text NOT NULL); COMMIT"
        ))
        .map_err(|e| error("cannot make the run's tables", e))?;
    let admin = PostgresAdmin {
        client,
        place: place.clone(),
        table: name.to_string(),
        board: Some(board),
        shown: shown.to_string(),
        timeout,
    };
    made(admin, cleaned)
}

/// `--clean`: connects and drops the tables of dead runs.
pub(in crate::store) fn clean(
    place: &Place,
    timeout: Duration,
    shown: &str,
) -> Result<Cleaned, String> {
    let mut place = place.clone();
    let mut client = open(&mut place, "clean", timeout)?;
    clean_with(&mut client).or_failed(&format!("in {shown}"))
}

/// Drops every `racecount_*` table in the schemas of the search path whose lock is free.
fn clean_with(client: &mut postgres::Client) -> Cleaned {
    let mut cleaned = Cleaned::default();
    let tables = client.query(
        "SELECT n.nspname::text, c.relname::text FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') AND c.relname LIKE 'racecount\\_%' \
         AND n.nspname = ANY (current_schemas(false)) ORDER BY 2",
        &[],
    );
    let tables = match tables {
        Ok(rows) => rows,
        Err(e) => {
            cleaned
                .failed
                .push(format!("cannot list the tables: {}", describe(&e)));
            return cleaned;
        }
    };
    for row in tables {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        // A joined run's board goes with its counter, under the counter's lock.
        let Some(run) = run_of(&table) else {
            continue;
        };
        let free = client
            .query_one(&format!("SELECT pg_try_advisory_lock({KEY})"), &[&run])
            .map(|r| r.get::<_, bool>(0));
        match free {
            Ok(true) => {
                let quoted = schema.replace('"', "\"\"");
                let dropped =
                    client.batch_execute(&format!("DROP TABLE IF EXISTS \"{quoted}\".{table}"));
                let _ = client.query_one(&format!("SELECT pg_advisory_unlock({KEY})"), &[&run]);
                match dropped {
                    Ok(()) if run != table => {}
                    Ok(()) => cleaned.removed.push(table),
                    Err(e) => cleaned.failed.push(format!("{table} ({})", describe(&e))),
                }
            }
            Ok(false) if run != table => {}
            Ok(false) => cleaned.live += 1,
            Err(e) => cleaned.failed.push(format!("{table} ({})", describe(&e))),
        }
    }
    cleaned
}

/// Drops this run's table over a new session (after the parent's was given up).
pub(in crate::store) fn drop_counter(
    place: &Place,
    name: &str,
    timeout: Duration,
) -> Result<(), String> {
    let mut place = place.clone();
    let mut client = open(&mut place, name, timeout)?;
    client
        .batch_execute(&format!("DROP TABLE IF EXISTS {name}, {}", board_of(name)))
        .map_err(|e| format!("cannot drop the table {name}: {}", describe(&e)))
}

struct PostgresAdmin {
    client: postgres::Client,
    /// To connect again if the session is lost (`pg_terminate_backend`, a restart).
    place: Place,
    table: String,
    /// A joined run's board (`racecount_hosts_NAME`: field, value).
    board: Option<String>,
    shown: String,
    timeout: Duration,
}

impl PostgresAdmin {
    fn error(&self, what: &str, e: &postgres::Error) -> String {
        format!("{what} in {}: {}", self.shown, describe(e))
    }

    /// The level the workers' transactions run at: their sessions start as this one does,
    /// and set `--isolation` on top.
    fn facts(&mut self) -> Result<Facts, String> {
        let level: String = self
            .client
            .query_one("SHOW default_transaction_isolation", &[])
            .map_err(|e| self.error("cannot read the isolation level", &e))?
            .get(0);
        Ok(Facts {
            isolation: Some(level),
            journal_mode: None,
        })
    }
}

impl Admin for PostgresAdmin {
    fn reset(&mut self) -> Result<(), String> {
        // A lease left by the last trial ends; tokens only grow, and the fence with them.
        let sql = format!("UPDATE {} SET v = 0, lease_until = NULL", self.table);
        self.client
            .batch_execute(&sql)
            .map_err(|e| self.error("cannot reset the counter", &e))
    }

    fn read(&mut self) -> Result<u64, String> {
        let sql = format!("SELECT v FROM {}", self.table);
        let row = self
            .client
            .query_one(&sql, &[])
            .map_err(|e| self.error("cannot read the counter", &e))?;
        Ok(row.get::<_, i64>(0) as u64)
    }

    fn put(&mut self, field: &str, value: &str) -> Result<(), String> {
        let board = self.board.clone().unwrap_or_default();
        let sql = format!(
            "INSERT INTO {board} (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = $2"
        );
        self.client
            .execute(&sql, &[&field, &value])
            .map(drop)
            .map_err(|e| self.error("cannot write the board of hosts", &e))
    }

    fn put_new(&mut self, field: &str, value: &str) -> Result<bool, String> {
        let board = self.board.clone().unwrap_or_default();
        let sql = format!("INSERT INTO {board} (k, v) VALUES ($1, $2) ON CONFLICT DO NOTHING");
        self.client
            .execute(&sql, &[&field, &value])
            .map(|n| n == 1)
            .map_err(|e| self.error("cannot write the board of hosts", &e))
    }

    fn board(&mut self) -> Result<Option<Vec<(String, String)>>, String> {
        let board = self.board.clone().unwrap_or_default();
        match self.client.query(&format!("SELECT k, v FROM {board}"), &[]) {
            Ok(rows) => Ok(Some(rows.iter().map(|r| (r.get(0), r.get(1))).collect())),
            Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => Ok(None),
            Err(e) => Err(self.error("cannot read the board of hosts", &e)),
        }
    }

    fn presence(&mut self) -> Result<String, String> {
        self.client
            .query_one("SELECT pg_backend_pid()", &[])
            .and_then(|r| r.try_get::<_, i32>(0))
            .map(|pid| pid.to_string())
            .map_err(|e| self.error("cannot read the session's pid", &e))
    }

    fn alive(&mut self, presences: &[String]) -> Result<Vec<bool>, String> {
        let pids: Vec<i32> = presences.iter().filter_map(|p| p.parse().ok()).collect();
        let live: Vec<i32> = self
            .client
            .query(
                "SELECT pid FROM pg_stat_activity WHERE pid = ANY($1)",
                &[&pids],
            )
            .and_then(|rows| rows.iter().map(|r| r.try_get(0)).collect())
            .map_err(|e| self.error("cannot list the sessions", &e))?;
        Ok(presences
            .iter()
            .map(|p| p.parse().is_ok_and(|pid: i32| live.contains(&pid)))
            .collect())
    }

    fn remove(&mut self) -> Result<(), String> {
        let mut sql = format!("DROP TABLE IF EXISTS {}", self.table);
        if let Some(board) = &self.board {
            sql.push_str(&format!(", {board}"));
        }
        let what = format!("cannot drop the table {}", self.table);
        match self.client.batch_execute(&sql) {
            Ok(()) => Ok(()),
            Err(_) if self.client.is_closed() => {
                // The session was ended under racecount: once more, on a new one.
                self.client = open(&mut self.place, &self.table, self.timeout)?;
                self.client
                    .batch_execute(&sql)
                    .map_err(|e| self.error(&what, &e))
            }
            Err(e) => Err(self.error(&what, &e)),
        }
    }
}
