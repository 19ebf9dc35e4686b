//! `--store redis://…`: the counter is a key holding an integer.
//!
//! | mode | each increment |
//! |---|---|
//! | unlocked | `GET`, window, `SET` read + 1 |
//! | per-access | `MULTI GET EXEC`, window, `MULTI SET EXEC`: each access its own transaction, as the page's per-access locks each access on its own |
//! | mutex | `WATCH`, `GET`, window, `MULTI SET EXEC`; an aborted `EXEC` (the key changed) is retried |
//! | atomic | window, `INCR` |
//!
//! Redis has no isolation levels; an `EXEC` that returns nil is Redis refusing a lost update
//! and counts as a retry.
//!
//! `rediss://` is Redis over TLS: the certificate is checked against the CA of `?cacert=PATH`
//! (racecount's own parameter, as `redis-cli --cacert`), else against Mozilla's root list built
//! into the binary (webpki-roots, as the MySQL client does): the client library would otherwise
//! load and parse the system's store on every connection, which made a trial of 10 forked
//! workers 5 times slower (20 against 100 ms). The client library's `#insecure` checks nothing.

use std::time::Duration;

use redis::{Connection, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisError};

use super::probe::{Addr, ask};
use super::url::Secret;
use super::{Admin, Attempt, Client, Db};
use crate::model::mode::InDatabase;

/// A parsed Redis URL.
#[derive(Debug, Clone)]
pub(super) struct Place {
    info: ConnectionInfo,
}

pub(super) fn parse(url: &str, shown: &str, secret: &Secret) -> Result<Place, String> {
    let (url, ca) = super::tls::redis_params(url, shown)?;
    let info = url
        .as_str()
        .into_connection_info()
        .map_err(|e| secret.scrub(&format!("--store {shown}: {e}")))?;
    let info = match ca {
        Some(pem) => with_ca(info, pem, shown)?,
        None => info,
    };
    Ok(Place { info })
}

/// The connection's TLS trusts the CA in `pem` (instead of the system's roots).
#[cfg(feature = "tls")]
fn with_ca(info: ConnectionInfo, pem: Vec<u8>, shown: &str) -> Result<ConnectionInfo, String> {
    let certificates = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    };
    redis::Client::build_with_tls(info, certificates)
        .map(|client| client.get_connection_info().clone())
        .map_err(|e| format!("--store {shown}: {e}"))
}

#[cfg(not(feature = "tls"))]
fn with_ca(_: ConnectionInfo, _: Vec<u8>, shown: &str) -> Result<ConnectionInfo, String> {
    Err(super::tls::missing(shown))
}

/// What the probe sends: an inline PING, which any Redis server answers (with PONG, or an
/// error asking for AUTH); on a TLS port an empty ClientHello, which a TLS server answers with
/// an alert (a PING there is met with a reset, not an answer).
fn probe_request(addr: &ConnectionAddr) -> &'static [u8] {
    match addr {
        ConnectionAddr::TcpTls { .. } => &[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00],
        _ => b"PING\r\n",
    }
}

fn open(place: &Place, timeout: Duration) -> Result<Connection, RedisError> {
    let client = redis::Client::open(place.info.clone())?;
    client.get_connection_with_timeout(timeout)
}

/// Connects and creates the run's key (`SET … NX`: never overwrites a key of someone else's).
pub(super) fn create(
    place: &Place,
    name: &str,
    timeout: Duration,
) -> Result<Box<dyn Admin>, String> {
    let at = place.info.addr().to_string();
    let addr = match place.info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => {
            Addr::Tcp(host.clone(), *port)
        }
        ConnectionAddr::Unix(path) => Addr::Unix(path.clone()),
        other => return Err(format!("redis at {at}: unsupported address {other:?}")),
    };
    ask(&addr, probe_request(place.info.addr()), timeout)
        .map_err(|e| format!("cannot connect to redis at {at}: {e}"))?;
    let mut conn =
        open(place, timeout).map_err(|e| format!("cannot connect to redis at {at}: {e}"))?;
    // Every later command is bounded too: a server that stops answering is an error.
    conn.set_read_timeout(Some(timeout))
        .and_then(|()| conn.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("redis at {at}: {e}"))?;
    let created: Option<String> = redis::cmd("SET")
        .arg(name)
        .arg(0)
        .arg("NX")
        .query(&mut conn)
        .map_err(|e| format!("cannot create the counter key at redis {at}: {e}"))?;
    if created.is_none() {
        return Err(format!(
            "the key {name} already exists at redis {at}; racecount leaves it alone"
        ));
    }
    Ok(Box::new(RedisAdmin {
        conn,
        key: name.to_string(),
        at,
    }))
}

struct RedisAdmin {
    conn: Connection,
    key: String,
    at: String,
}

impl Admin for RedisAdmin {
    fn reset(&mut self) -> Result<(), String> {
        redis::cmd("SET")
            .arg(&self.key)
            .arg(0)
            .exec(&mut self.conn)
            .map_err(|e| format!("cannot reset the counter at redis {}: {e}", self.at))
    }

    fn read(&mut self) -> Result<u64, String> {
        redis::cmd("GET")
            .arg(&self.key)
            .query(&mut self.conn)
            .map_err(|e| format!("cannot read the counter at redis {}: {e}", self.at))
    }

    fn remove(&mut self) -> Result<(), String> {
        redis::cmd("DEL")
            .arg(&self.key)
            .exec(&mut self.conn)
            .map_err(|e| {
                format!(
                    "cannot delete the key {} at redis {} (delete it by hand): {e}",
                    self.key, self.at
                )
            })
    }
}

struct RedisClient {
    conn: Connection,
    key: String,
}

pub(super) fn connect(place: &Place, db: &Db, index: u32) -> Result<Box<dyn Client>, String> {
    let mut conn = open(place, db.connect_timeout).map_err(|e| e.to_string())?;
    // Named, so that CLIENT LIST shows whose connection this is.
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(format!("{}_w{index}", db.name))
        .exec(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(RedisClient {
        conn,
        key: db.name.clone(),
    }))
}

impl RedisClient {
    fn get(&mut self) -> Result<u64, RedisError> {
        redis::cmd("GET").arg(&self.key).query(&mut self.conn)
    }

    fn set(&mut self, value: u64) -> Result<(), RedisError> {
        redis::cmd("SET")
            .arg(&self.key)
            .arg(value)
            .exec(&mut self.conn)
    }
}

impl Client for RedisClient {
    fn increment(&mut self, shape: InDatabase, hold: &mut dyn FnMut()) -> Result<(), Attempt> {
        let result = match shape {
            InDatabase::ReadThenWrite => self.get().and_then(|v| {
                hold();
                self.set(v + 1)
            }),
            InDatabase::OneTransaction => {
                let read: Result<(u64,), _> = redis::pipe()
                    .atomic()
                    .cmd("GET")
                    .arg(&self.key)
                    .query(&mut self.conn);
                read.and_then(|(v,)| {
                    hold();
                    redis::pipe()
                        .atomic()
                        .cmd("SET")
                        .arg(&self.key)
                        .arg(v + 1)
                        .ignore()
                        .exec(&mut self.conn)
                })
            }
            InDatabase::Locked => {
                let watched = redis::cmd("WATCH")
                    .arg(&self.key)
                    .exec(&mut self.conn)
                    .and_then(|()| self.get());
                let v = match watched {
                    Ok(v) => v,
                    Err(e) => return Err(attempt(e)),
                };
                hold();
                // EXEC answers nil when the watched key changed since WATCH: refused.
                let done: Result<Option<(String,)>, _> = redis::pipe()
                    .atomic()
                    .cmd("SET")
                    .arg(&self.key)
                    .arg(v + 1)
                    .query(&mut self.conn);
                match done {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => return Err(Attempt::Refused),
                    Err(e) => Err(e),
                }
            }
            InDatabase::Add => {
                hold();
                redis::cmd("INCR").arg(&self.key).exec(&mut self.conn)
            }
        };
        result.map_err(attempt)
    }
}

fn attempt(e: RedisError) -> Attempt {
    if e.is_connection_dropped() || e.is_io_error() {
        Attempt::Failed(format!("lost its connection to redis: {e}"))
    } else {
        Attempt::Failed(format!("redis: {e}"))
    }
}
