//! The parent's side of a Redis counter: probe, connect, delete the keys of dead runs, create
//! the run's key with a TTL; reset, read, renew and delete it.
//!
//! The run's key carries a TTL ([`TTL`]) that the parent renews at every reset and, during a
//! long trial, every [`KEEP_ALIVE_EVERY`]: a run that dies leaves a key that expires by itself.
//! The parent's connection is named after the key (`CLIENT SETNAME`), so a run's key whose
//! name no connection bears belongs to a dead run and is deleted at once; keys with no TTL at
//! all are an older racecount's.

use std::collections::HashSet;
use std::time::Duration;

use redis::{Connection, ConnectionAddr};

use super::{Place, fence_key, lease_key, open, probe_request};
use crate::store::counter::{Admin, Made, Phase};
use crate::store::probe::{Addr, ask};
use crate::store::stale::{Cleaned, run_of};

/// How long a run's key outlives the last sign of life of its run.
pub(in crate::store) const TTL: Duration = Duration::from_secs(60);

/// How often a run renews its key's TTL while a trial runs.
pub(in crate::store) const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(20);

/// Probes and connects, every later command bounded by `timeout`.
fn connect_admin(place: &Place, timeout: Duration) -> Result<(Connection, String), String> {
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
    let conn = open(place, timeout).map_err(|e| {
        format!(
            "cannot connect to redis at {at}: {}",
            super::describe(&e, place, timeout)
        )
    })?;
    // Every later command is bounded too: a server that stops answering is an error.
    conn.set_read_timeout(Some(timeout))
        .and_then(|()| conn.set_write_timeout(Some(timeout)))
        .map_err(|e| format!("redis at {at}: {e}"))?;
    Ok((conn, at))
}

/// Connects, deletes the keys of dead runs and creates the run's key (`SET … NX`: never
/// overwrites a key of someone else's), with its TTL.
pub(in crate::store) fn create(
    place: &Place,
    name: &str,
    timeout: Duration,
    phase: &Phase,
) -> Result<Made, String> {
    let (mut conn, at) = connect_admin(place, timeout)?;
    phase.cleaning();
    // The run's sign of life for other runs' cleaning; a server that refuses CLIENT SETNAME
    // leaves only the TTL.
    let _ = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(name)
        .exec(&mut conn);
    let cleaned = clean_with(&mut conn);
    phase.creating();
    let created: Option<String> = redis::cmd("SET")
        .arg(name)
        .arg(0)
        .arg("NX")
        .arg("PX")
        .arg(TTL.as_millis() as u64)
        .query(&mut conn)
        .map_err(|e| format!("cannot create the counter key at redis {at}: {e}"))?;
    if created.is_none() {
        return Err(format!(
            "the key {name} already exists at redis {at}; racecount leaves it alone"
        ));
    }
    Ok(Made {
        admin: Box::new(RedisAdmin {
            conn,
            place: place.clone(),
            key: name.to_string(),
            at,
            timeout,
        }),
        cleaned,
        facts: Default::default(),
    })
}

/// `--clean`: connects and deletes the keys of dead runs.
pub(in crate::store) fn clean(place: &Place, timeout: Duration) -> Result<Cleaned, String> {
    let (mut conn, at) = connect_admin(place, timeout)?;
    let cleaned = clean_with(&mut conn);
    if cleaned.removed.is_empty() && cleaned.live == 0 && !cleaned.failed.is_empty() {
        return Err(format!("at redis {at}: {}", cleaned.failed.join("; ")));
    }
    Ok(cleaned)
}

/// The names of the connected clients, or `None` when the server will not list them.
fn client_names(conn: &mut Connection) -> Option<HashSet<String>> {
    let list: String = redis::cmd("CLIENT").arg("LIST").query(conn).ok()?;
    Some(
        list.lines()
            .filter_map(|line| {
                line.split(' ')
                    .find_map(|field| field.strip_prefix("name="))
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
            })
            .collect(),
    )
}

/// Every `racecount_*` key of the database, by SCAN.
fn run_keys(conn: &mut Connection) -> Result<Vec<String>, redis::RedisError> {
    let mut keys = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg("racecount_*")
            .arg("COUNT")
            .arg(1000)
            .query(conn)?;
        keys.extend(batch.into_iter().filter(|k| run_of(k).is_some()));
        if next == 0 {
            keys.sort();
            keys.dedup();
            return Ok(keys);
        }
        cursor = next;
    }
}

/// Deletes the keys whose run is gone: no connection bears their name (or, when the server
/// will not list its clients, they have no TTL, as an older racecount's).
fn clean_with(conn: &mut Connection) -> Cleaned {
    let mut cleaned = Cleaned::default();
    let alive = client_names(conn);
    let keys = match run_keys(conn) {
        Ok(keys) => keys,
        Err(e) => {
            cleaned.failed.push(format!("cannot list the keys: {e}"));
            return cleaned;
        }
    };
    for key in keys {
        // A lease's or a fence's key goes with its run's counter.
        let Some(run) = run_of(&key) else { continue };
        let dead = match &alive {
            Some(names) => !names.contains(run),
            None => {
                let ttl: i64 = redis::cmd("PTTL").arg(&key).query(conn).unwrap_or(0);
                ttl == -1
            }
        };
        if !dead {
            if run == key {
                cleaned.live += 1;
            }
            continue;
        }
        match redis::cmd("DEL").arg(&key).query::<u64>(conn) {
            Ok(1) if run != key => {}
            Ok(1) => cleaned.removed.push(key),
            // Gone meanwhile (expired): nothing was removed.
            Ok(_) => {}
            Err(e) => cleaned.failed.push(format!("{key} ({e})")),
        }
    }
    cleaned
}

/// Deletes this run's key over a new connection (after the parent's was given up).
pub(in crate::store) fn drop_counter(
    place: &Place,
    name: &str,
    timeout: Duration,
) -> Result<(), String> {
    let (mut conn, at) = connect_admin(place, timeout)?;
    redis::cmd("DEL")
        .arg(name)
        .arg(lease_key(name))
        .arg(fence_key(name))
        .exec(&mut conn)
        .map_err(|e| format!("cannot delete the key {name} at redis {at}: {e}"))
}

struct RedisAdmin {
    conn: Connection,
    /// To connect again if the connection is lost (`CLIENT KILL`, a restart).
    place: Place,
    key: String,
    at: String,
    timeout: Duration,
}

impl RedisAdmin {
    /// `SET`'s answer, or a message saying the key is gone (expired, or deleted by someone).
    fn gone(&self, what: &str) -> String {
        format!(
            "cannot {what} at redis {}: the key {} is gone (expired or deleted by someone else)",
            self.at, self.key
        )
    }
}

impl Admin for RedisAdmin {
    fn reset(&mut self) -> Result<(), String> {
        // XX: never makes a key that vanished; PX: renews its TTL.
        let done: Option<String> = redis::cmd("SET")
            .arg(&self.key)
            .arg(0)
            .arg("XX")
            .arg("PX")
            .arg(TTL.as_millis() as u64)
            .query(&mut self.conn)
            .map_err(|e| format!("cannot reset the counter at redis {}: {e}", self.at))?;
        done.ok_or_else(|| self.gone("reset the counter"))?;
        // A lease left by the last trial goes; the tokens and the fence stay (tokens only
        // grow), and live as long as the counter.
        redis::pipe()
            .cmd("DEL")
            .arg(lease_key(&self.key))
            .ignore()
            .cmd("PEXPIRE")
            .arg(fence_key(&self.key))
            .arg(TTL.as_millis() as u64)
            .ignore()
            .exec(&mut self.conn)
            .map_err(|e| format!("cannot reset the lease at redis {}: {e}", self.at))
    }

    fn read(&mut self) -> Result<u64, String> {
        let value: Option<u64> = redis::cmd("GET")
            .arg(&self.key)
            .query(&mut self.conn)
            .map_err(|e| format!("cannot read the counter at redis {}: {e}", self.at))?;
        value.ok_or_else(|| self.gone("read the counter"))
    }

    fn keep_alive(&mut self) -> Result<(), String> {
        let _ = redis::cmd("PEXPIRE")
            .arg(fence_key(&self.key))
            .arg(TTL.as_millis() as u64)
            .exec(&mut self.conn);
        let renewed: u64 = redis::cmd("PEXPIRE")
            .arg(&self.key)
            .arg(TTL.as_millis() as u64)
            .query(&mut self.conn)
            .map_err(|e| format!("cannot renew the key's TTL at redis {}: {e}", self.at))?;
        if renewed == 1 {
            Ok(())
        } else {
            Err(self.gone("renew the key's TTL"))
        }
    }

    fn remove(&mut self) -> Result<(), String> {
        let delete = |conn: &mut Connection, key: &str| {
            redis::cmd("DEL")
                .arg(key)
                .arg(lease_key(key))
                .arg(fence_key(key))
                .exec(conn)
        };
        let failed = |e: redis::RedisError| {
            format!(
                "cannot delete the key {} at redis {}: {e}",
                self.key, self.at
            )
        };
        match delete(&mut self.conn, &self.key) {
            Ok(()) => Ok(()),
            Err(e) if e.is_timeout() => Err(format!(
                "no answer from redis at {} within {} to DEL {}: not known whether it ran (a \
                 server that resumes runs it)",
                self.at,
                crate::model::units::format_nanos(self.timeout.as_nanos() as u64),
                self.key
            )),
            Err(e) if e.is_connection_dropped() || e.is_io_error() => {
                // The connection was killed under racecount: once more, on a new one.
                let (mut conn, _) = connect_admin(&self.place, self.timeout)?;
                delete(&mut conn, &self.key).map_err(failed)?;
                self.conn = conn;
                Ok(())
            }
            Err(e) => Err(failed(e)),
        }
    }
}
