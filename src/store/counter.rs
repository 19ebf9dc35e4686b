//! The run's counter, from the parent: made (after removing what dead runs left), reset
//! before every trial, read after it, kept alive, removed at the end — each call on a helper
//! thread ([`interruptible`]), so that a signal or a server that stops answering never holds
//! racecount longer than the connect timeout, and each message about removal says what is
//! known to have happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use super::stale::Cleaned;
use super::{Db, Kind};
use crate::model::store::Facts;
use crate::model::units::format_nanos;
use crate::race::fork::helper::{Abandoned, interruptible};

/// The parent's side of a store: the run's counter, over the parent's own connection.
pub(super) trait Admin: Send {
    fn reset(&mut self) -> Result<(), String>;
    fn read(&mut self) -> Result<u64, String>;
    /// Tells the database the run is alive (Redis: renews the key's TTL); most need nothing.
    fn keep_alive(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Removes the counter; reconnects once if the parent's connection was lost.
    fn remove(&mut self) -> Result<(), String>;

    /// A joined run's board (`--join`), where the hosts meet: sets `field` to `value`.
    fn put(&mut self, field: &str, value: &str) -> Result<(), String> {
        let _ = (field, value);
        Err(NO_BOARD.into())
    }

    /// Sets `field` only if it has no value yet; whether it did.
    fn put_new(&mut self, field: &str, value: &str) -> Result<bool, String> {
        let _ = (field, value);
        Err(NO_BOARD.into())
    }

    /// Every field of the board; `None` when the board is gone.
    fn board(&mut self) -> Result<Option<Vec<(String, String)>>, String> {
        Err(NO_BOARD.into())
    }

    /// What names this connection to the server (PostgreSQL: its backend's pid; Redis: its
    /// client id), for the other hosts to see it alive.
    fn presence(&mut self) -> Result<String, String> {
        Err(NO_BOARD.into())
    }

    /// Which of `presences` still have a connection to the server.
    fn alive(&mut self, presences: &[String]) -> Result<Vec<bool>, String> {
        let _ = presences;
        Err(NO_BOARD.into())
    }
}

const NO_BOARD: &str = "this store keeps no board of hosts";

/// What a store's `create` made: the parent's side of the counter, what it removed of dead
/// runs first, and what the database said about itself.
pub(super) struct Made {
    pub(super) admin: Box<dyn Admin>,
    pub(super) cleaned: Cleaned,
    pub(super) facts: Facts,
}

/// How far the making of a counter has got, told by the helper thread that makes it, so that
/// a signal meanwhile is said with what it may have left.
#[derive(Clone, Default)]
pub(super) struct Phase(Arc<AtomicU8>);

impl Phase {
    const CONNECTING: u8 = 0;
    const CLEANING: u8 = 1;
    const CREATING: u8 = 2;

    /// Connected: now removing what dead runs left.
    pub(super) fn cleaning(&self) {
        self.0.store(Self::CLEANING, Ordering::SeqCst);
    }

    /// About to create the run's table or key.
    pub(super) fn creating(&self) {
        self.0.store(Self::CREATING, Ordering::SeqCst);
    }

    /// What a signal at this point may have left in `db`.
    fn left(&self, db: &Db) -> String {
        match self.0.load(Ordering::SeqCst) {
            Self::CONNECTING => format!("nothing was made in {}", db.shown),
            Self::CLEANING => format!(
                "nothing of this run's was made in {} (it was removing what dead runs left)",
                db.shown
            ),
            _ => format!(
                "{} may have been made in {} before the signal; {}",
                db.thing_named(),
                db.shown,
                db.if_left()
            ),
        }
    }
}

/// Why a call of the parent's to the database stopped short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DbError {
    /// The database or the connection failed: one line, without the password.
    Failed(String),
    /// SIGINT, SIGTERM or SIGHUP arrived while racecount waited for the database; `left` says
    /// what that may have left in it (empty when nothing).
    Interrupted {
        signal: nix::sys::signal::Signal,
        left: String,
    },
    /// `--join`: the run of that name cannot take this host as asked (other settings, every
    /// host already there): bad input, exit 2; nothing of this host's was made.
    Refused(String),
}

/// Why the parent's connection was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gone {
    /// A signal came during a call: the server still answers, a new connection may remove.
    Signal,
    /// The server did not answer in time.
    Silent,
}

/// Margin over the connect timeout for one call (a reset, a read, a removal).
const CALL_MARGIN: Duration = Duration::from_secs(1);

/// The run's counter. Dropping it removes it, whatever stopped the run.
pub(crate) struct Counter {
    db: Db,
    admin: Option<Box<dyn Admin>>,
    gone: Option<Gone>,
    removed: bool,
    facts: Facts,
    /// `--join`: this host's place in the joined run, once it has joined.
    pub(crate) joined: Option<super::join::Joined>,
    /// A joined run's counter that another host removes (or the next run, if none is left).
    pub(crate) keep: bool,
}

impl Counter {
    /// Connects, removes the counters of dead runs, and makes this run's (with, for SQLite,
    /// the file if it was missing). `Cleaned` says what was removed first.
    pub(crate) fn create(db: &Db) -> Result<(Counter, Cleaned), DbError> {
        let mut db = db.clone();
        // Probe, connect, clean, create: each bounded by the connect timeout on its own.
        let limit = db.connect_timeout * 3 + CALL_MARGIN;
        let phase = Phase::default();
        let work = {
            let (mut db, phase) = (db.clone(), phase.clone());
            move || {
                let made = super::make(&mut db, &phase);
                (db, made)
            }
        };
        match interruptible(limit, work) {
            Ok((resolved, Ok(mut made))) => {
                db = resolved;
                // The workers' sessions set it on top of the default the parent's reported.
                if let Some(level) = db.isolation {
                    made.facts.isolation = Some(level.sql().to_lowercase());
                }
                let keep = db.joined;
                let counter = Counter {
                    db,
                    admin: Some(made.admin),
                    gone: None,
                    removed: false,
                    facts: made.facts,
                    joined: None,
                    keep,
                };
                Ok((counter, made.cleaned))
            }
            Ok((_, Err(message))) => Err(DbError::Failed(message)),
            Err(Abandoned::Signal(signal)) => Err(DbError::Interrupted {
                signal,
                left: phase.left(&db),
            }),
            Err(why) => Err(DbError::Failed(format!(
                "{} while making the counter",
                given_up(why, &db.shown, limit)
            ))),
        }
    }

    /// The store as the workers connect to it (host names already resolved).
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// What the database said about itself when the counter was made.
    pub(crate) fn facts(&self) -> &Facts {
        &self.facts
    }

    /// Sets the counter to 0 before a trial.
    pub(crate) fn reset(&mut self) -> Result<(), DbError> {
        self.call("reset the counter", |admin| admin.reset())
    }

    /// The counter's value after a trial: the real total.
    pub(crate) fn read_total(&mut self) -> Result<u64, DbError> {
        self.call("read the counter", |admin| admin.read())
    }

    /// Whether [`keep_alive`](Self::keep_alive) does anything for this store.
    pub(crate) fn expires(&self) -> bool {
        self.db.kind == Kind::Redis
    }

    /// Tells the database the run is alive, during a long wait (Redis: the key's TTL).
    pub(crate) fn keep_alive(&mut self) -> Result<(), DbError> {
        if !self.expires() {
            return Ok(());
        }
        self.call("renew the key's TTL", |admin| admin.keep_alive())
    }

    /// Sets `field` of a joined run's board.
    pub(crate) fn put(&mut self, field: &str, value: &str) -> Result<(), DbError> {
        let (field, value) = (field.to_string(), value.to_string());
        self.call("write the board of hosts", move |admin| {
            admin.put(&field, &value)
        })
    }

    /// Sets `field` only if it has no value yet; whether it did.
    pub(crate) fn put_new(&mut self, field: &str, value: &str) -> Result<bool, DbError> {
        let (field, value) = (field.to_string(), value.to_string());
        self.call("write the board of hosts", move |admin| {
            admin.put_new(&field, &value)
        })
    }

    /// Every field of the board, or `None` when it is gone.
    pub(crate) fn board(&mut self) -> Result<Option<Vec<(String, String)>>, DbError> {
        self.call("read the board of hosts", |admin| admin.board())
    }

    /// What names the parent's connection to the server.
    pub(crate) fn presence(&mut self) -> Result<String, DbError> {
        self.call("name the connection", |admin| admin.presence())
    }

    /// Which of `presences` are still connected.
    pub(crate) fn alive(&mut self, presences: &[String]) -> Result<Vec<bool>, DbError> {
        let presences = presences.to_vec();
        self.call("list the connections", move |admin| admin.alive(&presences))
    }

    /// Runs `f` on the parent's connection, on the helper thread.
    fn call<T: Send + 'static>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut dyn Admin) -> Result<T, String> + Send + 'static,
    ) -> Result<T, DbError> {
        let Some(mut admin) = self.admin.take() else {
            return Err(DbError::Failed(format!(
                "cannot {what}: the connection to {} was given up",
                self.db.shown
            )));
        };
        let limit = self.db.connect_timeout + CALL_MARGIN;
        match interruptible(limit, move || {
            let result = f(&mut *admin);
            (admin, result)
        }) {
            Ok((admin, result)) => {
                self.admin = Some(admin);
                result.map_err(DbError::Failed)
            }
            Err(Abandoned::Signal(signal)) => {
                self.gone = Some(Gone::Signal);
                Err(DbError::Interrupted {
                    signal,
                    left: String::new(),
                })
            }
            Err(why) => {
                self.gone = Some(Gone::Silent);
                Err(DbError::Failed(format!(
                    "{} to {what}",
                    given_up(why, &self.db.shown, limit)
                )))
            }
        }
    }

    /// Removes the counter (and a SQLite file racecount created), once. Its error says what
    /// is known to be left, and what becomes of it.
    pub(crate) fn remove(&mut self) -> Result<(), DbError> {
        if self.removed || self.keep {
            return Ok(());
        }
        self.removed = true;
        let thing = self.db.thing_named();
        let shown = self.db.shown.clone();
        let unsure = |why: String, db: &Db| {
            format!(
                "{why}: not known whether {thing} was removed from {shown}; {}",
                db.if_left()
            )
        };
        let result = match self.gone {
            None => self.call(&format!("remove {thing}"), |admin| admin.remove()),
            Some(Gone::Signal) => self.remove_anew(),
            Some(Gone::Silent) => {
                return Err(DbError::Failed(format!(
                    "{thing} was not removed from {shown}: the server stopped answering; {}",
                    self.db.if_left()
                )));
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(DbError::Interrupted { signal, .. }) => Err(DbError::Interrupted {
                signal,
                left: unsure("interrupted while removing it".into(), &self.db),
            }),
            Err(DbError::Failed(why) | DbError::Refused(why))
                if self.gone == Some(Gone::Silent) =>
            {
                Err(DbError::Failed(unsure(why, &self.db)))
            }
            Err(DbError::Failed(why) | DbError::Refused(why)) => {
                Err(DbError::Failed(format!("{why}; {}", self.db.if_left())))
            }
        }
    }

    /// After a call abandoned to a signal: removes the counter over a new connection.
    fn remove_anew(&mut self) -> Result<(), DbError> {
        let db = self.db.clone();
        let limit = self.db.connect_timeout * 2 + CALL_MARGIN;
        match interruptible(limit, move || super::drop_counter(&db)) {
            Ok(result) => result.map_err(DbError::Failed),
            Err(Abandoned::Signal(signal)) => Err(DbError::Interrupted {
                signal,
                left: String::new(),
            }),
            Err(why) => {
                self.gone = Some(Gone::Silent);
                Err(DbError::Failed(given_up(why, &self.db.shown, limit)))
            }
        }
    }
}

impl Drop for Counter {
    fn drop(&mut self) {
        let _ = self.remove();
    }
}

/// Removes the counters dead runs left in `db`'s database (`--clean`).
pub(crate) fn clean(db: &Db) -> Result<Cleaned, DbError> {
    let limit = db.connect_timeout * 3 + CALL_MARGIN;
    let work = {
        let db = db.clone();
        move || super::clean_stale(&db)
    };
    match interruptible(limit, work) {
        Ok(result) => result.map_err(DbError::Failed),
        Err(Abandoned::Signal(signal)) => Err(DbError::Interrupted {
            signal,
            left: String::new(),
        }),
        Err(why) => Err(DbError::Failed(given_up(why, &db.shown, limit))),
    }
}

/// A call given up for want of an answer, or because the client failed, in words.
fn given_up(why: Abandoned, shown: &str, limit: Duration) -> String {
    match why {
        Abandoned::Panicked => format!("the client of {shown} failed (a bug in it)"),
        Abandoned::TimedOut | Abandoned::Signal(_) => format!(
            "no answer from {shown} within {}",
            format_nanos(limit.as_nanos() as u64)
        ),
    }
}
