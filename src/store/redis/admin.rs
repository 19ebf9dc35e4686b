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
use crate::store::stale::{BOARD_PREFIX, Cleaned, board_of, is_joined, run_of};

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
            board: None,
            at,
            timeout,
        }),
        cleaned,
        facts: Default::default(),
    })
}

/// `--join`: connects, deletes the keys of dead runs, names the connection after the run's
/// counter (every host's is: the run is dead when none is) and makes the counter and the board
/// (with an epoch of its own) unless a host before this one made them, atomically.
pub(in crate::store) fn join(
    place: &Place,
    name: &str,
    timeout: Duration,
    phase: &Phase,
) -> Result<Made, String> {
    let (mut conn, at) = connect_admin(place, timeout)?;
    phase.cleaning();
    let cleaned = clean_with(&mut conn);
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(name)
        .exec(&mut conn)
        .map_err(|e| format!("cannot name the connection at redis {at}: {e}"))?;
    phase.creating();
    let board = board_of(name);
    let epoch = format!("{:016x}", rand::random::<u64>());
    redis::cmd("EVAL")
        .arg(MAKE_JOINED)
        .arg(3)
        .arg(&board)
        .arg(name)
        .arg(fence_key(name))
        .arg(&epoch)
        .arg(TTL.as_millis() as u64)
        .exec(&mut conn)
        .map_err(|e| format!("cannot make the run's keys at redis {at}: {e}"))?;
    Ok(Made {
        admin: Box::new(RedisAdmin {
            conn,
            place: place.clone(),
            key: name.to_string(),
            board: Some(board),
            at,
            timeout,
        }),
        cleaned,
        facts: Default::default(),
    })
}

/// Makes a joined run's board (KEYS[1], with the epoch ARGV[1]), counter and fence unless the
/// board is there; each with the TTL ARGV[2].
const MAKE_JOINED: &str = "\
if redis.call('HSETNX', KEYS[1], 'epoch', ARGV[1]) == 1 then
  redis.call('SET', KEYS[2], 0, 'PX', ARGV[2])
  redis.call('HSET', KEYS[3], 'fence', 0, 'tokens', 0)
  redis.call('PEXPIRE', KEYS[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 1";

/// `--clean`: connects and deletes the keys of dead runs.
pub(in crate::store) fn clean(place: &Place, timeout: Duration) -> Result<Cleaned, String> {
    let (mut conn, at) = connect_admin(place, timeout)?;
    clean_with(&mut conn).or_failed(&format!("at redis {at}"))
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
///
/// A joined run's keys are deleted only if its board still has the epoch read before the
/// clients were listed: a run that made its board anew meanwhile (its first host named its
/// connection after this listing) keeps it.
fn clean_with(conn: &mut Connection) -> Cleaned {
    let mut cleaned = Cleaned::default();
    let keys = match run_keys(conn) {
        Ok(keys) => keys,
        Err(e) => {
            cleaned.failed.push(format!("cannot list the keys: {e}"));
            return cleaned;
        }
    };
    let epochs: Vec<(String, String)> = keys
        .iter()
        .filter_map(|k| run_of(k))
        .filter(|run| is_joined(run))
        .map(|run| {
            let board = board_of(&run);
            let epoch: Option<String> = redis::cmd("HGET")
                .arg(&board)
                .arg("epoch")
                .query(conn)
                .unwrap_or(None);
            (run, epoch.unwrap_or_default())
        })
        .collect();
    let alive = client_names(conn);
    // A board last: a joined run's other keys are deleted while it still holds its epoch.
    let mut keys = keys;
    keys.sort_by_key(|k| k.starts_with(BOARD_PREFIX));
    for key in keys {
        // A lease's, a fence's or a board's key goes with its run's counter.
        let Some(run) = run_of(&key) else { continue };
        let dead = match &alive {
            Some(names) => !names.contains(&run),
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
        let deleted = match epochs.iter().find(|(r, _)| *r == run) {
            Some((_, epoch)) => redis::cmd("EVAL")
                .arg(DELETE_IF_EPOCH)
                .arg(2)
                .arg(board_of(&run))
                .arg(&key)
                .arg(epoch)
                .query::<u64>(conn),
            None => redis::cmd("DEL").arg(&key).query::<u64>(conn),
        };
        match deleted {
            Ok(1) if run != key => {}
            Ok(1) => cleaned.removed.push(key),
            // Gone meanwhile (expired), or a joined run's made anew: nothing was removed.
            Ok(_) => {}
            Err(e) => cleaned.failed.push(format!("{key} ({e})")),
        }
    }
    cleaned
}

/// Deletes KEYS[2] if the board KEYS[1] has the epoch ARGV[1] ("" for no board).
const DELETE_IF_EPOCH: &str = "\
if (redis.call('HGET', KEYS[1], 'epoch') or '') == ARGV[1] then
  return redis.call('DEL', KEYS[2])
end
return 0";

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
        .arg(board_of(name))
        .exec(&mut conn)
        .map_err(|e| format!("cannot delete the key {name} at redis {at}: {e}"))
}

struct RedisAdmin {
    conn: Connection,
    /// To connect again if the connection is lost (`CLIENT KILL`, a restart).
    place: Place,
    key: String,
    /// A joined run's board: a hash of field and value.
    board: Option<String>,
    at: String,
    timeout: Duration,
}

impl RedisAdmin {
    /// What went wrong as `what` was done: a server that stopped answering (the read timeout)
    /// is said so, not as the socket's "Resource temporarily unavailable".
    fn failed(&self, what: &str, e: &redis::RedisError) -> String {
        if e.is_timeout() {
            format!(
                "no answer from redis at {} within {} to {what}",
                self.at,
                crate::model::units::format_nanos(self.timeout.as_nanos() as u64)
            )
        } else {
            format!("cannot {what} at redis {}: {e}", self.at)
        }
    }

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
            .map_err(|e| self.failed("reset the counter", &e))?;
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
            .map_err(|e| self.failed("reset the lease", &e))
    }

    fn read(&mut self) -> Result<u64, String> {
        let value: Option<u64> = redis::cmd("GET")
            .arg(&self.key)
            .query(&mut self.conn)
            .map_err(|e| self.failed("read the counter", &e))?;
        value.ok_or_else(|| self.gone("read the counter"))
    }

    fn keep_alive(&mut self) -> Result<(), String> {
        let _ = redis::cmd("PEXPIRE")
            .arg(fence_key(&self.key))
            .arg(TTL.as_millis() as u64)
            .exec(&mut self.conn);
        if let Some(board) = &self.board {
            let _ = redis::cmd("PEXPIRE")
                .arg(board)
                .arg(TTL.as_millis() as u64)
                .exec(&mut self.conn);
        }
        let renewed: u64 = redis::cmd("PEXPIRE")
            .arg(&self.key)
            .arg(TTL.as_millis() as u64)
            .query(&mut self.conn)
            .map_err(|e| self.failed("renew the key's TTL", &e))?;
        if renewed == 1 {
            Ok(())
        } else {
            Err(self.gone("renew the key's TTL"))
        }
    }

    fn put(&mut self, field: &str, value: &str) -> Result<(), String> {
        let board = self.board.clone().unwrap_or_default();
        redis::cmd("HSET")
            .arg(&board)
            .arg(field)
            .arg(value)
            .exec(&mut self.conn)
            .map_err(|e| self.failed("write the board of hosts", &e))
    }

    fn put_new(&mut self, field: &str, value: &str) -> Result<bool, String> {
        let board = self.board.clone().unwrap_or_default();
        redis::cmd("HSETNX")
            .arg(&board)
            .arg(field)
            .arg(value)
            .query::<u64>(&mut self.conn)
            .map(|n| n == 1)
            .map_err(|e| self.failed("write the board of hosts", &e))
    }

    fn presence(&mut self) -> Result<String, String> {
        redis::cmd("CLIENT")
            .arg("ID")
            .query::<u64>(&mut self.conn)
            .map(|id| id.to_string())
            .map_err(|e| self.failed("read the client id", &e))
    }

    fn alive(&mut self, presences: &[String]) -> Result<Vec<bool>, String> {
        let list: String = redis::cmd("CLIENT")
            .arg("LIST")
            .query(&mut self.conn)
            .map_err(|e| self.failed("list the clients", &e))?;
        let ids: HashSet<&str> = list
            .lines()
            .filter_map(|l| l.split(' ').find_map(|f| f.strip_prefix("id=")))
            .collect();
        Ok(presences.iter().map(|p| ids.contains(p.as_str())).collect())
    }

    fn board(&mut self) -> Result<Option<Vec<(String, String)>>, String> {
        let board = self.board.clone().unwrap_or_default();
        let fields: Vec<(String, String)> = redis::cmd("HGETALL")
            .arg(&board)
            .query(&mut self.conn)
            .map_err(|e| self.failed("read the board of hosts", &e))?;
        Ok((!fields.is_empty()).then_some(fields))
    }

    fn remove(&mut self) -> Result<(), String> {
        let board = self.board.clone();
        let delete = |conn: &mut Connection, key: &str| {
            redis::cmd("DEL")
                .arg(key)
                .arg(lease_key(key))
                .arg(fence_key(key))
                .arg(board.as_deref().unwrap_or(key))
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
