//! `--store mysql://…` (or `mariadb://…`): the counter is a one-row InnoDB table in a MySQL or
//! MariaDB database.
//!
//! | mode | each increment |
//! |---|---|
//! | unlocked | `SELECT v`, window, `UPDATE … SET v = ?` (read + 1), each in autocommit |
//! | per-access | `BEGIN`, `SELECT v`, window, `UPDATE … SET v = ?`, `COMMIT` |
//! | mutex | `BEGIN`, `SELECT v … FOR UPDATE`, window, `UPDATE`, `COMMIT` |
//! | atomic | window, `UPDATE … SET v = v + 1` |
//!
//! `--isolation` sets the session's level; without it the server's default applies, REPEATABLE
//! READ in InnoDB. Unlike PostgreSQL's, InnoDB's repeatable read does not refuse the write: an
//! `UPDATE` reads the latest committed row whatever the transaction's snapshot saw, so
//! per-access loses updates as unlocked does. Under SERIALIZABLE every `SELECT` in a
//! transaction takes a shared lock, two readers that both want to write deadlock, and InnoDB
//! rolls one back (1213). That, a lock wait timeout (1205) and MariaDB's "record has changed
//! since last read" (1020, with `innodb_snapshot_isolation`, on by default from 11.6) are the
//! database refusing a lost update: rolled back, tried again, counted as a retry.
//!
//! The URL is the client library's: `mysql://user[:password]@host[:port]/db`, and
//! `mysql://user@localhost/db?socket=/run/mysqld/mysqld.sock` for a Unix socket. That library
//! would move a loopback TCP connection to the server's socket by itself; racecount connects
//! the way the URL says. TLS: `ssl-mode=` and `ssl-ca=` ([`super::tls`]). The parent's side of
//! the counter (and the run's named lock) is [`admin`]'s.

mod admin;
pub(super) use admin::{clean, create, drop_counter};

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Statement};

use super::probe::Addr;
use super::tls::Verify;
use super::{Attempt, Client, Db};
use crate::model::mode::InDatabase;

/// A parsed MySQL URL.
#[derive(Debug, Clone)]
pub(super) struct Place {
    opts: Opts,
}

/// Parses `url` (its password already taken out, handed over as `password`); without one,
/// the password comes from MYSQL_PWD, as mysql's.
pub(super) fn parse(url: &str, shown: &str, password: Option<String>) -> Result<Place, String> {
    let (url, tls) = super::tls::mysql_params(url, shown)?;
    // The client library knows only mysql://.
    let url = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => format!("mysql://{rest}"),
        _ => url,
    };
    let opts = Opts::from_url(&url).map_err(|e| format!("--store {shown}: {e}"))?;
    if opts.get_db_name().is_none_or(str::is_empty) {
        return Err(format!(
            "--store {shown}: names no database; e.g. mysql://user@127.0.0.1:3306/db or \
             mysql://user@localhost/db?socket=/run/mysqld/mysqld.sock"
        ));
    }
    let password = password.or_else(|| std::env::var("MYSQL_PWD").ok());
    let mut builder = OptsBuilder::from_opts(opts.clone())
        .prefer_socket(false)
        .pass(password);
    if let Some((verify, ca)) = tls {
        if opts.get_socket().is_some() {
            return Err(format!(
                "--store {shown}: ssl-mode applies to TCP connections, not to a Unix socket"
            ));
        }
        builder = builder.ssl_opts(ssl_opts(verify, ca, shown)?);
    }
    Ok(Place {
        opts: builder.into(),
    })
}

#[cfg(feature = "tls")]
fn ssl_opts(
    verify: Verify,
    ca: Option<std::path::PathBuf>,
    _: &str,
) -> Result<mysql::SslOpts, String> {
    Ok(mysql::SslOpts::default()
        .with_root_cert_path(ca)
        .with_danger_skip_domain_validation(verify == Verify::Chain)
        .with_danger_accept_invalid_certs(verify == Verify::Nothing))
}

#[cfg(not(feature = "tls"))]
fn ssl_opts(
    _: Verify,
    _: Option<std::path::PathBuf>,
    shown: &str,
) -> Result<mysql::SslOpts, String> {
    Err(super::tls::missing(shown))
}

/// The server as `host:port` or the socket path, for messages and the probe.
fn where_(opts: &Opts) -> (String, Addr) {
    match opts.get_socket() {
        Some(path) => (path.to_string(), Addr::Unix(path.into())),
        None => {
            let host = opts.get_ip_or_hostname().into_owned();
            let port = opts.get_tcp_port();
            (format!("{host}:{port}"), Addr::Tcp(host, port))
        }
    }
}

/// A worker's connection and its prepared statements.
struct MysqlClient {
    conn: Conn,
    select: Statement,
    select_for_update: Statement,
    write: Statement,
    add: Statement,
}

pub(super) fn connect(place: &Place, db: &Db, index: u32) -> Result<Box<dyn Client>, String> {
    let _ = index; // MySQL has no application name in its handshake.
    let opts =
        OptsBuilder::from_opts(place.opts.clone()).tcp_connect_timeout(Some(db.connect_timeout));
    let mut conn = Conn::new(opts).map_err(|e| format!("{e}{}", hint(&e)))?;
    if let Some(level) = db.isolation {
        conn.query_drop(format!(
            "SET SESSION TRANSACTION ISOLATION LEVEL {}",
            level.sql()
        ))
        .map_err(|e| e.to_string())?;
    }
    let table = &db.name;
    let mut prepare = |sql: String| conn.prep(sql).map_err(|e| e.to_string());
    let select = prepare(format!("SELECT v FROM {table}"))?;
    let select_for_update = prepare(format!("SELECT v FROM {table} FOR UPDATE"))?;
    let write = prepare(format!("UPDATE {table} SET v = ?"))?;
    let add = prepare(format!("UPDATE {table} SET v = v + 1"))?;
    Ok(Box::new(MysqlClient {
        conn,
        select,
        select_for_update,
        write,
        add,
    }))
}

impl MysqlClient {
    fn read(&mut self, lock: bool) -> Result<i64, mysql::Error> {
        let statement = if lock {
            &self.select_for_update
        } else {
            &self.select
        };
        let v: Option<i64> = self.conn.exec_first(statement, ())?;
        Ok(v.unwrap_or(0))
    }

    fn write(&mut self, value: i64) -> Result<(), mysql::Error> {
        self.conn.exec_drop(&self.write, (value,))
    }

    /// BEGIN, read (FOR UPDATE when `lock`), window, write, COMMIT; rolled back on error.
    fn transaction(&mut self, lock: bool, hold: &mut dyn FnMut()) -> Result<(), Attempt> {
        let mut steps = || -> Result<(), mysql::Error> {
            self.conn.query_drop("BEGIN")?;
            let v = self.read(lock)?;
            hold();
            self.write(v + 1)?;
            self.conn.query_drop("COMMIT")
        };
        let result = steps();
        if let Err(e) = &result
            && !lost(e)
        {
            let _ = self.conn.query_drop("ROLLBACK");
        }
        result.map_err(attempt)
    }
}

impl Client for MysqlClient {
    fn increment(&mut self, shape: InDatabase, hold: &mut dyn FnMut()) -> Result<(), Attempt> {
        match shape {
            InDatabase::ReadThenWrite => {
                let v = self.read(false).map_err(attempt)?;
                hold();
                self.write(v + 1).map_err(attempt)
            }
            InDatabase::OneTransaction => self.transaction(false, hold),
            InDatabase::Locked => self.transaction(true, hold),
            InDatabase::Add => {
                hold();
                self.conn.exec_drop(&self.add, ()).map_err(attempt)
            }
            // Refused before the run: this store has no lease.
            InDatabase::Leased { .. } => Err(Attempt::Failed("no lease in this store".into())),
        }
    }
}

/// Deadlock, lock wait timeout, record changed since last read: InnoDB refusing a lost update.
const REFUSALS: [u16; 3] = [1213, 1205, 1020];

/// Whether the connection is gone: an I/O error (the library's "server disconnected" too), the server gone away or lost (2006, 2013),
/// the connection killed (1927, MariaDB) or the server shutting down (1053).
fn lost(e: &mysql::Error) -> bool {
    match e {
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) => true,
        mysql::Error::MySqlError(e) => [2006, 2013, 1927, 1053].contains(&e.code),
        _ => false,
    }
}

/// Whether the error is a read or write that timed out (the server said nothing).
fn timed_out(e: &mysql::Error) -> bool {
    matches!(e, mysql::Error::IoError(io) if matches!(
        io.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ))
}

/// What to do about the errors a user can fix, after the server's words: too many connections
/// (1040), no CREATE permission (1044, 1142), no such database (1049).
fn hint(e: &mysql::Error) -> &'static str {
    let mysql::Error::MySqlError(e) = e else {
        return "";
    };
    match e.code {
        1040 => {
            "; racecount opens one connection per worker (-p) and one of its own: run fewer \
             workers, or raise max_connections"
        }
        1044 | 1142 => {
            "; racecount creates its table in the URL's database: GRANT CREATE, DROP, SELECT, \
             INSERT, UPDATE ON db.* TO the user, or name a database the user may create in"
        }
        1049 => "; create it (CREATE DATABASE name) or name another database in the URL",
        _ => "",
    }
}

fn attempt(e: mysql::Error) -> Attempt {
    match &e {
        mysql::Error::MySqlError(me) if REFUSALS.contains(&me.code) => Attempt::Refused,
        _ if lost(&e) => Attempt::Failed(format!("lost its connection to mysql: {e}")),
        _ => Attempt::Failed(format!("mysql: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_names_a_database_and_may_name_a_socket() {
        let place = parse(
            "mariadb://ann@localhost/app?socket=/run/mysqld/mysqld.sock",
            "x",
            None,
        )
        .unwrap();
        assert_eq!(place.opts.get_socket(), Some("/run/mysqld/mysqld.sock"));
        assert!(!place.opts.get_prefer_socket());
        assert_eq!(where_(&place.opts).0, "/run/mysqld/mysqld.sock");
        let err = parse("mysql://ann@h", "mysql://ann@h", None).unwrap_err();
        assert!(err.contains("names no database"), "{err}");
        let err = parse("mysql://ann@h/db?socket=/s&ssl-mode=required", "x", None);
        assert!(err.is_err());
    }
}
