//! `--store postgres://…`: the counter is a one-row table in a PostgreSQL database.
//!
//! | mode | each increment |
//! |---|---|
//! | unlocked | `SELECT v`, window, `UPDATE … SET v = $1` (read + 1), each in autocommit |
//! | per-access | `BEGIN`, `SELECT v`, window, `UPDATE … SET v = $1`, `COMMIT` |
//! | mutex | `BEGIN`, `SELECT v … FOR UPDATE`, window, `UPDATE`, `COMMIT` |
//! | atomic | window, `UPDATE … SET v = v + 1` |
//!
//! `--isolation` sets the session's `default_transaction_isolation`. A serialization failure
//! (40001) or a deadlock (40P01) is PostgreSQL refusing a lost update: rolled back, tried
//! again, counted as a retry. Read committed, the default, refuses nothing, so per-access
//! loses updates as unlocked does: a transaction is not a lock.
//!
//! The parent resolves host names before it forks (so that no resolver thread of the client's
//! runtime is alive then, and workers need no DNS), and checks that the server answers, within
//! the connect timeout, before it connects: the client's own timeout covers only the TCP
//! connect, not a server that accepts and then says nothing.
//!
//! TLS (`sslmode=`, `sslrootcert=`) is [`super::postgres_tls`]'s; the parent's side of the
//! counter (and the run's advisory lock) is [`admin`]'s.

mod admin;
mod pgpass;
pub(super) use admin::{clean, create, drop_counter, join};

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use postgres::Statement;
use postgres::config::Host;
use postgres::error::SqlState;

use super::probe::{Addr, ask};
use super::{Attempt, Client, Db};
use crate::model::mode::InDatabase;

/// A parsed PostgreSQL URL.
#[derive(Debug, Clone)]
pub(super) struct Place {
    config: postgres::Config,
    tls: super::postgres_tls::Tls,
}

/// Parses `url` (its password already taken out, handed over as `password`); without one,
/// the password comes from PGPASSWORD or the password file, as libpq's.
pub(super) fn parse(
    url: &str,
    shown: &str,
    password: Option<String>,
    notes: &mut Vec<String>,
) -> Result<Place, String> {
    let (url, tls) = super::postgres_tls::parse(url, shown)?;
    let mut config: postgres::Config = libpq_hosts(&url)
        .parse()
        .map_err(|e: postgres::Error| format!("--store {shown}: {e}"))?;
    let hosts = config.get_hosts();
    if hosts.is_empty() {
        return Err(format!(
            "--store {shown}: names no host; e.g. postgres://user@127.0.0.1:5432/db or \
             postgres://user@/db?host=/run/postgresql for a socket directory"
        ));
    }
    // Host names are resolved before any fork (see `resolve`), which needs every host to be
    // a TCP host or every one a socket directory.
    if hosts.iter().any(|h| matches!(h, Host::Tcp(_)))
        && hosts.iter().any(|h| matches!(h, Host::Unix(_)))
    {
        return Err(format!(
            "--store {shown}: mixes TCP hosts and socket directories; give one kind"
        ));
    }
    let password = match password {
        Some(password) => Some(password),
        None => {
            let (found, warning) = pgpass::password(&config);
            notes.extend(warning);
            found
        }
    };
    if let Some(password) = password {
        config.password(password);
    }
    Ok(Place { config, tls })
}

/// As libpq reads a URL, a `host=` query parameter replaces the host of the authority
/// (`postgres://u@localhost/db?host=/run/postgresql` means the socket directory alone); the
/// client library would try both.
fn libpq_hosts(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let query_has_host = rest
        .split_once('?')
        .is_some_and(|(_, q)| q.split('&').any(|p| p.starts_with("host=")));
    if !query_has_host {
        return url.to_string();
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let user = authority.rsplit_once('@').map_or("", |(u, _)| u);
    let user = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    format!("{scheme}://{user}{tail}")
}

/// The first host as `host:port` or the socket path, for messages.
fn where_(config: &postgres::Config) -> String {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(Host::Tcp(host)) => format!("{host}:{port}"),
        Some(Host::Unix(dir)) => format!("{}/.s.PGSQL.{port}", dir.display()),
        None => "?".into(),
    }
}

/// Resolves every TCP host to an address the workers connect to directly: the client library
/// would resolve a name on a thread of its runtime, and the parent must have no other thread
/// when it forks (the store trial checks it).
fn resolve(config: &mut postgres::Config) -> Result<(), String> {
    let hosts = config.get_hosts().to_vec();
    if !hosts.iter().all(|h| matches!(h, Host::Tcp(_))) {
        return Ok(());
    }
    let ports = config.get_ports().to_vec();
    let mut addrs: Vec<IpAddr> = Vec::new();
    for (i, host) in hosts.iter().enumerate() {
        let Host::Tcp(name) = host else { continue };
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let addr = (name.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve {name}: {e}"))?
            .next()
            .ok_or_else(|| format!("cannot resolve {name}: no address"))?;
        addrs.push(addr.ip());
    }
    for ip in addrs {
        config.hostaddr(ip);
    }
    Ok(())
}

/// Sends an SSLRequest, whose one-byte answer any PostgreSQL server gives at once, to each
/// host in turn until one answers (the client tries them in the same order).
fn probe(config: &postgres::Config, timeout: Duration) -> Result<(), String> {
    const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];
    let ports = config.get_ports();
    let mut first_error = None;
    for (i, host) in config.get_hosts().iter().enumerate() {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let addr = match (host, config.get_hostaddrs().get(i)) {
            (_, Some(ip)) => Addr::Ip(SocketAddr::new(*ip, port)),
            (Host::Unix(dir), None) => Addr::Unix(dir.join(format!(".s.PGSQL.{port}"))),
            (Host::Tcp(name), None) => Addr::Tcp(name.clone(), port),
        };
        match ask(&addr, &SSL_REQUEST, timeout) {
            Ok(()) => return Ok(()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// A joined run's sessions (`--join`): the server probes a host's connections after a second of
/// silence and ends them after three more unanswered, or once what it sent has gone
/// unacknowledged for 4 s (`tcp_user_timeout`, PostgreSQL 12 and later; older servers keep
/// only the probes), so that a host cut off from the server (its sessions idle in a
/// transaction, holding the row's lock) lets the others go on and remove the run's tables.
/// Ignored on a Unix socket.
pub(super) fn keep_alive(client: &mut postgres::Client) -> Result<(), postgres::Error> {
    client.batch_execute(
        "SET tcp_keepalives_idle = 1; SET tcp_keepalives_interval = 1; \
         SET tcp_keepalives_count = 3",
    )?;
    // Its own statement: an older server's refusal undoes nothing else.
    let _ = client.batch_execute("SET tcp_user_timeout = 4000");
    Ok(())
}

/// A worker's connection and its prepared statements.
struct PostgresClient {
    client: postgres::Client,
    select: Statement,
    select_for_update: Statement,
    write: Statement,
    add: Statement,
    table: String,
    /// `--lock lease:TTL`'s statements, prepared when first needed.
    leased: Option<Leased>,
}

/// The statements of a lease in the counter's row: `tokens` counts the holdings, `lease_until`
/// is when the current one expires by the server's clock, `fence` the newest token seen.
struct Leased {
    acquire: Statement,
    release: Statement,
    read: Statement,
    write: Statement,
}

impl Leased {
    fn prepare(client: &mut postgres::Client, t: &str) -> Result<Leased, postgres::Error> {
        Ok(Leased {
            acquire: client.prepare(&format!(
                "UPDATE {t} SET tokens = tokens + 1, \
                 lease_until = clock_timestamp() + $1::bigint * interval '1 microsecond' \
                 WHERE lease_until IS NULL OR lease_until <= clock_timestamp() RETURNING tokens"
            ))?,
            release: client.prepare(&format!(
                "UPDATE {t} SET lease_until = NULL WHERE tokens = $1"
            ))?,
            read: client.prepare(&format!(
                "UPDATE {t} SET fence = $1 WHERE fence <= $1 RETURNING v"
            ))?,
            write: client.prepare(&format!(
                "UPDATE {t} SET v = $1, fence = $2 WHERE fence <= $2"
            ))?,
        })
    }
}

pub(super) fn connect(place: &Place, db: &Db, index: u32) -> Result<Box<dyn Client>, String> {
    let mut client = place
        .tls
        .connect(
            place
                .config
                .clone()
                .application_name(&format!("racecount {} w{index}", db.name)),
        )
        .map_err(|e| format!("{}{}", describe(&e), hint(&e)))?;
    if let Some(level) = db.isolation {
        client
            .batch_execute(&format!(
                "SET default_transaction_isolation = '{}'",
                level.sql().to_lowercase()
            ))
            .map_err(|e| describe(&e))?;
    }
    if db.joined {
        keep_alive(&mut client).map_err(|e| describe(&e))?;
    }
    let table = &db.name;
    let mut prepare = |sql: String| client.prepare(&sql).map_err(|e| describe(&e));
    let select = prepare(format!("SELECT v FROM {table}"))?;
    let select_for_update = prepare(format!("SELECT v FROM {table} FOR UPDATE"))?;
    let write = prepare(format!("UPDATE {table} SET v = $1"))?;
    let add = prepare(format!("UPDATE {table} SET v = v + 1"))?;
    Ok(Box::new(PostgresClient {
        client,
        select,
        select_for_update,
        write,
        add,
        table: table.clone(),
        leased: None,
    }))
}

impl PostgresClient {
    fn read(&mut self, lock: bool) -> Result<i64, postgres::Error> {
        let statement = if lock {
            &self.select_for_update
        } else {
            &self.select
        };
        Ok(self.client.query_one(statement, &[])?.get(0))
    }

    fn write(&mut self, value: i64) -> Result<(), postgres::Error> {
        self.client.execute(&self.write, &[&value]).map(drop)
    }

    /// BEGIN, read (FOR UPDATE when `lock`), window, write, COMMIT; rolled back on error.
    fn transaction(&mut self, lock: bool, hold: &mut dyn FnMut()) -> Result<(), Attempt> {
        let mut steps = || -> Result<(), postgres::Error> {
            self.client.batch_execute("BEGIN")?;
            let v = self.read(lock)?;
            hold();
            self.write(v + 1)?;
            self.client.batch_execute("COMMIT")
        };
        let result = steps();
        if result.is_err() && !self.client.is_closed() {
            let _ = self.client.batch_execute("ROLLBACK");
        }
        result.map_err(|e| self.attempt(e))
    }

    fn attempt(&self, e: postgres::Error) -> Attempt {
        let refused = e.code().is_some_and(|code| {
            *code == SqlState::T_R_SERIALIZATION_FAILURE || *code == SqlState::T_R_DEADLOCK_DETECTED
        });
        if refused {
            Attempt::Refused
        } else if self.client.is_closed() {
            Attempt::Failed(format!("lost its connection to postgres: {}", describe(&e)))
        } else {
            Attempt::Failed(format!("postgres: {}", describe(&e)))
        }
    }
}

impl Client for PostgresClient {
    fn increment(&mut self, shape: InDatabase, hold: &mut dyn FnMut()) -> Result<(), Attempt> {
        match shape {
            InDatabase::ReadThenWrite => {
                let v = self.read(false).map_err(|e| self.attempt(e))?;
                hold();
                self.write(v + 1).map_err(|e| self.attempt(e))
            }
            InDatabase::OneTransaction => self.transaction(false, hold),
            InDatabase::Locked => self.transaction(true, hold),
            InDatabase::Add => {
                hold();
                let add = self.add.clone();
                self.client
                    .execute(&add, &[])
                    .map(drop)
                    .map_err(|e| self.attempt(e))
            }
            InDatabase::Leased { .. } => Err(Attempt::Failed(
                "a leased increment runs through lease()".into(),
            )),
        }
    }

    fn lease(&mut self) -> Option<&mut dyn super::Lease> {
        Some(self)
    }
}

impl PostgresClient {
    /// The lease's statements, prepared on first use.
    fn leased(&mut self) -> Result<&Leased, Attempt> {
        if self.leased.is_none() {
            let prepared = Leased::prepare(&mut self.client, &self.table);
            self.leased = Some(prepared.map_err(|e| self.attempt(e))?);
        }
        self.leased
            .as_ref()
            .ok_or_else(|| Attempt::Failed("no lease statements".into()))
    }
}

impl super::Lease for PostgresClient {
    fn acquire(&mut self, ttl: Duration, _fenced: bool) -> Result<Option<u64>, Attempt> {
        let statement = self.leased()?.acquire.clone();
        let micros = i64::try_from(ttl.as_micros()).unwrap_or(i64::MAX);
        let row = self
            .client
            .query_opt(&statement, &[&micros])
            .map_err(|e| self.attempt(e))?;
        Ok(row.map(|r| r.get::<_, i64>(0) as u64))
    }

    fn release(&mut self, token: u64) -> Result<(), Attempt> {
        let statement = self.leased()?.release.clone();
        self.client
            .execute(&statement, &[&(token as i64)])
            .map(drop)
            .map_err(|e| self.attempt(e))
    }

    fn read(&mut self, fence: Option<u64>) -> Result<u64, Attempt> {
        let Some(token) = fence else {
            return self
                .read(false)
                .map(|v| v as u64)
                .map_err(|e| self.attempt(e));
        };
        let statement = self.leased()?.read.clone();
        let row = self
            .client
            .query_opt(&statement, &[&(token as i64)])
            .map_err(|e| self.attempt(e))?;
        row.map(|r| r.get::<_, i64>(0) as u64)
            .ok_or(Attempt::Fenced)
    }

    fn write(&mut self, value: u64, fence: Option<u64>) -> Result<(), Attempt> {
        let Some(token) = fence else {
            return PostgresClient::write(self, value as i64).map_err(|e| self.attempt(e));
        };
        let statement = self.leased()?.write.clone();
        let written = self
            .client
            .execute(&statement, &[&(value as i64), &(token as i64)])
            .map_err(|e| self.attempt(e))?;
        if written == 0 {
            Err(Attempt::Fenced)
        } else {
            Ok(())
        }
    }
}

/// The server's own words for a database error ("FATAL: terminating connection due to
/// administrator command (57P01)"), else the client's, with its cause.
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
    }
    match std::error::Error::source(e) {
        Some(cause) if !e.to_string().contains(&cause.to_string()) => format!("{e}: {cause}"),
        _ => e.to_string(),
    }
}

/// What to do about the errors a user can fix, after the server's words: too many
/// connections, no CREATE permission, no such database.
fn hint(e: &postgres::Error) -> String {
    let Some(code) = e.code() else {
        return String::new();
    };
    if *code == SqlState::TOO_MANY_CONNECTIONS {
        "; racecount opens one connection per worker (-p) and one of its own: run fewer \
         workers, or raise max_connections (or the role's CONNECTION LIMIT)"
            .into()
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        "; racecount creates its table in the first schema of the search path, and \
         PostgreSQL 15 grants no CREATE on public: GRANT CREATE ON SCHEMA public TO the user, \
         or name a schema the user owns in the URL: ?options=-csearch_path%3Dmyschema"
            .into()
    } else if *code == SqlState::INVALID_CATALOG_NAME {
        "; create it (createdb NAME) or name another database in the URL".into()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_parameter_replaces_the_authority_host_as_in_libpq() {
        assert_eq!(
            libpq_hosts("postgres://ann:pw@localhost:5433/db?host=/run/pg&x=1"),
            "postgres://ann:pw@/db?host=/run/pg&x=1"
        );
        assert_eq!(
            libpq_hosts("postgres://ann@127.0.0.1/db"),
            "postgres://ann@127.0.0.1/db"
        );
        let place = parse(
            "postgres://ann@localhost/db?host=/run/pg",
            "",
            Some("pw".into()),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(place.config.get_hosts().len(), 1);
        assert!(
            parse(
                "postgres://ann@h1,%2Frun%2Fpg/db",
                "x",
                None,
                &mut Vec::new()
            )
            .is_err()
        );
    }
}
