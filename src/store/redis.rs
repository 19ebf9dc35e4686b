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
//!
//! A worker's `SET` is `XX KEEPTTL`: it never makes a key that vanished, and it keeps the TTL
//! the parent gives the key (Redis 6 or later); the parent's side is [`admin`]'s.

mod admin;
pub(super) use admin::{KEEP_ALIVE_EVERY, TTL, clean, create, drop_counter, join};

use std::time::Duration;

use redis::{Connection, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisError};

use super::probe::{self, Addr};
use super::{Attempt, Client, Db};
use crate::model::mode::InDatabase;

/// A parsed Redis URL.
#[derive(Debug, Clone)]
pub(super) struct Place {
    info: ConnectionInfo,
}

/// Parses `url` (its password already taken out, handed over as `password`); without one,
/// the password comes from REDISCLI_AUTH, as redis-cli's.
pub(super) fn parse(url: &str, shown: &str, password: Option<String>) -> Result<Place, String> {
    let (url, ca) = super::tls::redis_params(url, shown)?;
    let mut info = url
        .as_str()
        .into_connection_info()
        .map_err(|e| format!("--store {shown}: {e}"))?;
    if let Some(password) = password.or_else(|| std::env::var("REDISCLI_AUTH").ok()) {
        let settings = info.redis_settings().clone().set_password(password);
        info = info.set_redis_settings(settings);
    }
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

/// The client's words; for a connection the server closed at once, what the server says to a
/// new one: Redis at its `maxclients` answers a connection over the limit with "ERR max number
/// of clients reached" and closes it, which reaches a client that writes first as a reset or
/// an end of file, not as the server's words.
fn describe(e: &RedisError, place: &Place, timeout: Duration) -> String {
    let text = e.to_string();
    let closed = e.is_connection_dropped() || e.is_io_error() || text.contains("end of file");
    let words = match (closed, place.info.addr()) {
        (true, ConnectionAddr::Tcp(host, port)) => {
            probe::first_words(&Addr::Tcp(host.clone(), *port), timeout)
        }
        (true, ConnectionAddr::Unix(path)) => {
            probe::first_words(&Addr::Unix(path.clone()), timeout)
        }
        _ => None,
    };
    let full = words
        .as_deref()
        .unwrap_or(&text)
        .contains("max number of clients");
    if full {
        "the server refuses more clients (\"ERR max number of clients reached\"): racecount \
         opens one connection per worker (-p) and one of its own; run fewer workers, or raise \
         maxclients (CONFIG GET maxclients)"
            .to_string()
    } else {
        text
    }
}

struct RedisClient {
    conn: Connection,
    key: String,
    /// `--lock lease:TTL`: the lease's key (`k_lease`), and the hash of its tokens and the
    /// newest token the counter has seen (`k_fence`).
    lease_key: String,
    fence_key: String,
    /// Holdings taken without fencing, to tell this worker's holdings apart.
    holdings: u64,
}

pub(super) fn connect(place: &Place, db: &Db, index: u32) -> Result<Box<dyn Client>, String> {
    let mut conn = open(place, db.connect_timeout)
        .map_err(|e| describe(&e, place, Duration::from_millis(200)))?;
    // Named, so that CLIENT LIST shows whose connection this is.
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg(format!("{}_w{index}", db.name))
        .exec(&mut conn)
        .map_err(|e| e.to_string())?;
    Ok(Box::new(RedisClient {
        conn,
        key: db.name.clone(),
        lease_key: lease_key(&db.name),
        fence_key: fence_key(&db.name),
        holdings: 0,
    }))
}

/// The key of a counter's lease.
pub(super) fn lease_key(key: &str) -> String {
    format!("{key}_lease")
}

/// The hash of a counter's tokens (`tokens`) and the newest token it has seen (`fence`).
pub(super) fn fence_key(key: &str) -> String {
    format!("{key}_fence")
}

/// Takes the lease with `SET NX PX` and, only then, the next token: atomic, as a script.
const ACQUIRE_FENCED: &str = "\
if redis.call('SET', KEYS[1], 'taken', 'NX', 'PX', ARGV[1]) then
  local t = redis.call('HINCRBY', KEYS[2], 'tokens', 1)
  redis.call('SET', KEYS[1], t, 'XX', 'KEEPTTL')
  return t
end
return 0";

/// Gives the lease up only if it still holds this holding's value (redis.io's recipe).
const RELEASE: &str = "\
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

/// The counter, unless a newer token than ARGV[1] has been seen (-1); the token is recorded.
/// -2: the counter is gone.
const FENCED_READ: &str = "\
local f = tonumber(redis.call('HGET', KEYS[2], 'fence') or '0')
if f > tonumber(ARGV[1]) then return -1 end
redis.call('HSET', KEYS[2], 'fence', ARGV[1])
local v = redis.call('GET', KEYS[1])
if not v then return -2 end
return tonumber(v)";

/// Writes ARGV[1] unless a newer token than ARGV[2] has been seen (0); 1 written, 2 gone.
const FENCED_WRITE: &str = "\
local f = tonumber(redis.call('HGET', KEYS[2], 'fence') or '0')
if f > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[2], 'fence', ARGV[2])
if redis.call('SET', KEYS[1], ARGV[1], 'XX', 'KEEPTTL') then return 1 end
return 2";

/// `EVAL script 2 k1 k2 args…`.
fn eval(script: &str, keys: [&str; 2], args: &[u64]) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(2).arg(keys[0]).arg(keys[1]);
    for a in args {
        cmd.arg(*a);
    }
    cmd
}

impl super::Lease for RedisClient {
    fn acquire(&mut self, ttl: Duration, fenced: bool) -> Result<Option<u64>, Attempt> {
        let ms = ttl.as_millis().max(1) as u64;
        if fenced {
            let token: u64 = eval(ACQUIRE_FENCED, [&self.lease_key, &self.fence_key], &[ms])
                .query(&mut self.conn)
                .map_err(attempt)?;
            return Ok((token > 0).then_some(token));
        }
        // Without fencing, any value that names this holding: the process and a count.
        self.holdings += 1;
        let holding = u64::from(std::process::id()) << 32 | (self.holdings & 0xffff_ffff);
        let set: Option<String> = redis::cmd("SET")
            .arg(&self.lease_key)
            .arg(holding)
            .arg("NX")
            .arg("PX")
            .arg(ms)
            .query(&mut self.conn)
            .map_err(attempt)?;
        Ok(set.map(|_| holding))
    }

    fn release(&mut self, token: u64) -> Result<(), Attempt> {
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(RELEASE).arg(1).arg(&self.lease_key).arg(token);
        cmd.exec(&mut self.conn).map_err(attempt)
    }

    fn read(&mut self, fence: Option<u64>) -> Result<u64, Attempt> {
        let Some(token) = fence else {
            return self.get().map_err(attempt);
        };
        let value: i64 = eval(FENCED_READ, [&self.key, &self.fence_key], &[token])
            .query(&mut self.conn)
            .map_err(attempt)?;
        match value {
            -1 => Err(Attempt::Fenced),
            v if v < 0 => Err(vanished()),
            v => Ok(v as u64),
        }
    }

    fn write(&mut self, value: u64, fence: Option<u64>) -> Result<(), Attempt> {
        let Some(token) = fence else {
            return match self.set(value).map_err(attempt)? {
                true => Ok(()),
                false => Err(vanished()),
            };
        };
        let done: i64 = eval(FENCED_WRITE, [&self.key, &self.fence_key], &[value, token])
            .query(&mut self.conn)
            .map_err(attempt)?;
        match done {
            0 => Err(Attempt::Fenced),
            1 => Ok(()),
            _ => Err(vanished()),
        }
    }
}

/// What a worker's write is: `SET k v XX KEEPTTL`, which keeps the parent's TTL and never makes
/// a key that vanished (nil then).
fn set_command(key: &str, value: u64) -> redis::Cmd {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value).arg("XX").arg("KEEPTTL");
    cmd
}

/// A failed try, when the write found no key.
fn vanished() -> Attempt {
    Attempt::Failed("redis: the counter key is gone (expired or deleted by someone else)".into())
}

impl RedisClient {
    fn get(&mut self) -> Result<u64, RedisError> {
        redis::cmd("GET").arg(&self.key).query(&mut self.conn)
    }

    /// SET XX KEEPTTL; `Ok(false)` when the key is gone.
    fn set(&mut self, value: u64) -> Result<bool, RedisError> {
        let done: Option<String> = set_command(&self.key, value).query(&mut self.conn)?;
        Ok(done.is_some())
    }

    /// MULTI SET … EXEC: `None` when EXEC was aborted (a WATCHed key changed), else whether
    /// the key was there to set.
    fn set_in_transaction(&mut self, value: u64) -> Result<Option<bool>, RedisError> {
        let mut pipe = redis::pipe();
        pipe.atomic().add_command(set_command(&self.key, value));
        let done: Option<(Option<String>,)> = pipe.query(&mut self.conn)?;
        Ok(done.map(|(set,)| set.is_some()))
    }
}

impl Client for RedisClient {
    fn increment(&mut self, shape: InDatabase, hold: &mut dyn FnMut()) -> Result<(), Attempt> {
        let written = match shape {
            InDatabase::ReadThenWrite => {
                let v = self.get().map_err(attempt)?;
                hold();
                self.set(v + 1).map_err(attempt)?
            }
            InDatabase::OneTransaction => {
                let (v,): (u64,) = redis::pipe()
                    .atomic()
                    .cmd("GET")
                    .arg(&self.key)
                    .query(&mut self.conn)
                    .map_err(attempt)?;
                hold();
                // Not WATCHed: EXEC always runs.
                self.set_in_transaction(v + 1).map_err(attempt)? == Some(true)
            }
            InDatabase::Locked => {
                redis::cmd("WATCH")
                    .arg(&self.key)
                    .exec(&mut self.conn)
                    .map_err(attempt)?;
                let v = self.get().map_err(attempt)?;
                hold();
                // EXEC answers nil when the watched key changed since WATCH: refused.
                match self.set_in_transaction(v + 1).map_err(attempt)? {
                    None => return Err(Attempt::Refused),
                    Some(set) => set,
                }
            }
            InDatabase::Add => {
                hold();
                redis::cmd("INCR")
                    .arg(&self.key)
                    .exec(&mut self.conn)
                    .map_err(attempt)?;
                true
            }
            InDatabase::Leased { .. } => {
                return Err(Attempt::Failed(
                    "a leased increment runs through lease()".into(),
                ));
            }
        };
        if written { Ok(()) } else { Err(vanished()) }
    }

    fn lease(&mut self) -> Option<&mut dyn super::Lease> {
        Some(self)
    }
}

fn attempt(e: RedisError) -> Attempt {
    if e.is_connection_dropped() || e.is_io_error() {
        Attempt::Failed(format!("lost its connection to redis: {e}"))
    } else {
        Attempt::Failed(format!("redis: {e}"))
    }
}
