//! The parent's side of a MySQL counter: probe, connect, drop the tables of dead runs, take the
//! run's lock, create the table; reset, read and drop it.
//!
//! The run's lock is a named lock, `GET_LOCK(table, 0)`, taken before the table exists and held
//! by the parent's connection until it closes (the server frees it however racecount dies): a
//! `racecount_*` table whose lock is free belongs to a run that died, or to a racecount older
//! than these locks, and is dropped.

use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

use super::{Place, hint, where_};
use crate::model::store::Facts;
use crate::store::counter::{Admin, Made, Phase};
use crate::store::probe::ask;
use crate::store::stale::{Cleaned, is_run_name};

/// Probes and connects, every later statement bounded by `timeout`.
fn open(place: &Place, timeout: Duration) -> Result<Conn, String> {
    let (at, addr) = where_(&place.opts);
    let fail = |e: String| format!("cannot connect to mysql at {at}: {e}");
    // The server speaks first (its greeting): the probe sends nothing and waits for a byte.
    ask(&addr, b"", timeout).map_err(fail)?;
    let opts = OptsBuilder::from_opts(place.opts.clone())
        .tcp_connect_timeout(Some(timeout))
        .read_timeout(Some(timeout))
        .write_timeout(Some(timeout));
    let mut conn = Conn::new(opts).map_err(|e| fail(format!("{e}{}", hint(&e))))?;
    // A killed worker's connection may still hold a lock for a moment; never wait forever.
    let secs = timeout.as_secs().max(1);
    conn.query_drop(format!(
        "SET SESSION innodb_lock_wait_timeout = {secs}, lock_wait_timeout = {secs}"
    ))
    .map_err(|e| fail(e.to_string()))?;
    Ok(conn)
}

/// Connects, drops the tables of dead runs, takes this run's lock and creates its table.
pub(in crate::store) fn create(
    place: &Place,
    name: &str,
    timeout: Duration,
    shown: &str,
    phase: &Phase,
) -> Result<Made, String> {
    let mut conn = open(place, timeout)?;
    phase.cleaning();
    let cleaned = clean_with(&mut conn);
    let error = |what: &str, e: &mysql::Error| format!("{what} in {shown}: {e}{}", hint(e));
    let locked: Option<i64> = conn
        .exec_first("SELECT GET_LOCK(?, 0)", (name,))
        .map_err(|e| error("cannot take the run's lock", &e))?;
    if locked != Some(1) {
        return Err(format!(
            "the lock {name} in {shown} is held by another connection"
        ));
    }
    phase.creating();
    conn.query_drop(format!(
        "CREATE TABLE {name} (v BIGINT NOT NULL) ENGINE=InnoDB"
    ))
    .map_err(|e| error("cannot create the counter table", &e))?;
    let mut admin = MysqlAdmin {
        table: name.to_string(),
        shown: shown.to_string(),
        place: place.clone(),
        timeout,
        conn,
    };
    if let Err(e) = admin
        .conn
        .query_drop(format!("INSERT INTO {name} VALUES (0)"))
    {
        let _ = admin.remove();
        return Err(error("cannot create the counter table", &e));
    }
    let facts = Facts {
        isolation: admin.isolation(),
        journal_mode: None,
    };
    Ok(Made {
        admin: Box::new(admin),
        cleaned,
        facts,
    })
}

/// `--clean`: connects and drops the tables of dead runs.
pub(in crate::store) fn clean(
    place: &Place,
    timeout: Duration,
    shown: &str,
) -> Result<Cleaned, String> {
    let mut conn = open(place, timeout)?;
    clean_with(&mut conn).or_failed(&format!("in {shown}"))
}

/// Drops every `racecount_*` table of the URL's database whose lock is free.
fn clean_with(conn: &mut Conn) -> Cleaned {
    let mut cleaned = Cleaned::default();
    let tables: Result<Vec<String>, _> = conn.query(
        "SELECT table_name FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name LIKE 'racecount\\\\_%' ORDER BY 1",
    );
    let tables = match tables {
        Ok(tables) => tables,
        Err(e) => {
            cleaned.failed.push(format!("cannot list the tables: {e}"));
            return cleaned;
        }
    };
    for table in tables.into_iter().filter(|t| is_run_name(t)) {
        let free: Result<Option<i64>, _> = conn.exec_first("SELECT GET_LOCK(?, 0)", (&table,));
        match free {
            Ok(Some(1)) => {
                let dropped = conn.query_drop(format!("DROP TABLE IF EXISTS {table}"));
                let _ = conn.exec_drop("SELECT RELEASE_LOCK(?)", (&table,));
                match dropped {
                    Ok(()) => cleaned.removed.push(table),
                    Err(e) => cleaned.failed.push(format!("{table} ({e})")),
                }
            }
            Ok(_) => cleaned.live += 1,
            Err(e) => cleaned.failed.push(format!("{table} ({e})")),
        }
    }
    cleaned
}

/// Drops this run's table over a new connection (after the parent's was given up).
pub(in crate::store) fn drop_counter(
    place: &Place,
    name: &str,
    timeout: Duration,
) -> Result<(), String> {
    let mut conn = open(place, timeout)?;
    conn.query_drop(format!("DROP TABLE IF EXISTS {name}"))
        .map_err(|e| format!("cannot drop the table {name}: {e}"))
}

struct MysqlAdmin {
    table: String,
    shown: String,
    /// To connect again if the connection is lost (`KILL`, a restart).
    place: Place,
    timeout: Duration,
    conn: Conn,
}

impl MysqlAdmin {
    fn error(&self, what: &str, e: &mysql::Error) -> String {
        format!("{what} in {}: {e}", self.shown)
    }

    /// The level the workers' transactions run at: `--isolation` on top of this session's
    /// default, which theirs share ("REPEATABLE-READ" read as "repeatable read").
    fn isolation(&mut self) -> Option<String> {
        // MySQL 8 and MariaDB 11.1 name it transaction_isolation; older MariaDB tx_isolation.
        let level: Option<String> = self
            .conn
            .query_first("SELECT @@SESSION.transaction_isolation")
            .or_else(|_| self.conn.query_first("SELECT @@SESSION.tx_isolation"))
            .ok()
            .flatten();
        level.map(|l| l.to_lowercase().replace('-', " "))
    }
}

impl Admin for MysqlAdmin {
    fn reset(&mut self) -> Result<(), String> {
        let sql = format!("UPDATE {} SET v = 0", self.table);
        self.conn
            .query_drop(sql)
            .map_err(|e| self.error("cannot reset the counter", &e))
    }

    fn read(&mut self) -> Result<u64, String> {
        let sql = format!("SELECT v FROM {}", self.table);
        let v: Option<i64> = self
            .conn
            .query_first(sql)
            .map_err(|e| self.error("cannot read the counter", &e))?;
        v.map(|v| v as u64).ok_or_else(|| {
            format!(
                "the counter table {} in {} is empty",
                self.table, self.shown
            )
        })
    }

    fn remove(&mut self) -> Result<(), String> {
        let sql = format!("DROP TABLE IF EXISTS {}", self.table);
        let what = format!("cannot drop the table {}", self.table);
        match self.conn.query_drop(&sql) {
            Ok(()) => Ok(()),
            Err(e) if super::lost(&e) && !super::timed_out(&e) => {
                // The connection was killed under racecount: once more, on a new one.
                self.conn = open(&self.place, self.timeout)?;
                self.conn
                    .query_drop(&sql)
                    .map_err(|e| self.error(&what, &e))
            }
            Err(e) => Err(self.error(&what, &e)),
        }
    }
}
