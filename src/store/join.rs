//! `--join NAME --hosts N`: several racecounts run one run, meeting through the store and
//! nothing else — no other service, no clock shared between hosts.
//!
//! They meet on a board (a table `racecount_hosts_NAME` of field and value, or a Redis hash)
//! beside the run's counter (`racecount_join_NAME`):
//!
//! | field | written by | value |
//! |---|---|---|
//! | `settings` | the first host | the options every host must give alike; a host that gives others is refused (exit 2) |
//! | `host<i>` | host i, claiming slot i | "alpha pid 4211" |
//! | `beat<i>` | host i, every second or so | a count: a host whose count stops for --timeout is gone |
//! | `ready<i>` | host i | the trial whose workers are connected and waiting at its gate |
//! | `go` | host 0 | the trial whose counter it has just reset: every gate opens |
//! | `done<i>` | host i | the trial, its time, its retries and each worker's count |
//! | `abort` | the first host that fails | its slot and why; every host stops |
//! | `gone<i>`, `left<i>` | a host that saw i go silent; host i as it leaves | |
//!
//! Each host times only its own waits (a beat that has not changed for --timeout by its own
//! clock), so no two clocks are compared. The last host to leave removes the counter and the
//! board; if every host dies, each held the run's lock (PostgreSQL: a shared advisory lock;
//! Redis: a connection named after the counter), and the next run, or `--clean`, removes them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use super::{Counter, DbError};
use crate::model::settings::Settings;
use crate::model::units::{format_exact, format_nanos};
use crate::race::fork::interrupt;
use crate::race::runner::{TrialError, signal};
use crate::results::Cause;

/// How long a host waits for the others when `--timeout` is not given.
pub(crate) const DEFAULT_PATIENCE: Duration = Duration::from_secs(30);

/// The longest pause between two reads of the board while waiting.
const MOST_BETWEEN_READS: Duration = Duration::from_millis(10);

/// This host's place in a joined run.
pub(crate) struct Joined {
    pub(crate) slot: u32,
    pub(crate) hosts: u32,
    pub(crate) name: String,
    /// Every host, by slot: "alpha pid 4211".
    pub(crate) roster: Vec<String>,
    /// How long a host may be silent (or late) before the run ends.
    patience: Duration,
    /// Trials begun so far: every host runs the same trials in the same order.
    seq: u64,
    beats: u64,
    last_beat: Instant,
    /// Per slot: the last beat seen, and when it was first seen.
    seen: Vec<(String, Instant)>,
    /// Set once the run has stopped because of another host (its words are on the board).
    pub(crate) ended_by_other: bool,
    /// When the other hosts' connections were last looked for; `None` once the server would
    /// not say (then only their beats tell).
    looked: Option<Instant>,
}

/// One host's part of a trial, as it writes it to the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Part {
    pub(crate) elapsed_ns: u64,
    pub(crate) retries: u64,
    /// Each of its workers' completed increments.
    pub(crate) completed: Vec<u64>,
}

type Board = HashMap<String, String>;

/// What every host must give alike, as `(option, value)`.
fn terms(settings: &Settings) -> Vec<(&'static str, String)> {
    let hosts = settings.hosts();
    let list = |v: Vec<String>| v.join(",");
    vec![
        (
            "--procs",
            list(
                settings
                    .procs
                    .iter()
                    .map(|p| (p / hosts).to_string())
                    .collect(),
            ),
        ),
        (
            "--iters",
            list(settings.iters.iter().map(u64::to_string).collect()),
        ),
        (
            "--mode",
            list(
                settings
                    .modes
                    .iter()
                    .map(|m| m.name().to_string())
                    .collect(),
            ),
        ),
        (
            "--window",
            list(settings.windows.iter().map(|w| w.to_string()).collect()),
        ),
        ("--trials", settings.trials.to_string()),
        (
            "--lock",
            settings
                .lease
                .map_or("(the store's own)".into(), |l| l.to_string()),
        ),
        (
            "--stall",
            settings.stall.map_or("(none)".into(), |s| s.to_string()),
        ),
        (
            "--fencing",
            if settings.fencing { "on" } else { "off" }.into(),
        ),
        (
            "--isolation",
            settings
                .store
                .isolation
                .map_or("(the server's)".into(), |i| i.name().to_string()),
        ),
        ("--sleep", format_exact(settings.sleep_ns)),
        ("--jitter", format_exact(settings.jitter_ns)),
        ("--hosts", hosts.to_string()),
    ]
}

fn encode(terms: &[(&str, String)]) -> String {
    terms
        .iter()
        .map(|(o, v)| format!("{o} {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// This host as the others see it: "alpha pid 4211".
fn label() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "?".into());
    format!("{host} pid {}", std::process::id())
}

/// How the host in `slot` is named in messages: "host 2 (beta pid 4212)".
fn host(roster: &[String], slot: u32) -> String {
    match roster.get(slot as usize).filter(|l| !l.is_empty()) {
        Some(label) => format!("host {} ({label})", slot + 1),
        None => format!("host {}", slot + 1),
    }
}

impl Joined {
    /// Joins the run of `counter` (made or found by this host): checks the settings against
    /// the run's, claims a slot, and waits for every host to arrive, at most `patience`.
    pub(crate) fn join(
        counter: &mut Counter,
        settings: &Settings,
        patience: Duration,
    ) -> Result<Joined, DbError> {
        let Some(join) = &settings.join else {
            return Err(DbError::Failed("not a joined run".into()));
        };
        let (name, hosts) = (join.name.clone(), join.hosts);
        let mine = terms(settings);
        counter.put_new("settings", &encode(&mine))?;
        let board = read(counter, &name)?;
        let theirs = board.get("settings").cloned().unwrap_or_default();
        if theirs != encode(&mine) {
            return Err(DbError::Refused(difference(&name, &mine, &theirs, &board)));
        }
        let me = label();
        let mut slot = None;
        for i in 0..hosts {
            if counter.put_new(&format!("host{i}"), &me)? {
                slot = Some(i);
                break;
            }
        }
        let Some(slot) = slot else {
            let roster = roster_of(&board, hosts).join(", ");
            return Err(DbError::Refused(format!(
                "--join {name}: the run already has its {hosts} hosts ({roster}); give another \
                 name"
            )));
        };
        let now = Instant::now();
        let mut joined = Joined {
            slot,
            hosts,
            name,
            roster: Vec::new(),
            patience,
            seq: 0,
            beats: 0,
            last_beat: now,
            seen: vec![(String::new(), now); hosts as usize],
            ended_by_other: false,
            looked: Some(now),
        };
        // A server that will not name the connection leaves the others this host's beat.
        if let Ok(presence) = counter.presence() {
            counter.put(&format!("conn{slot}"), &presence)?;
        }
        match joined.arrive(counter) {
            Ok(roster) => {
                joined.roster = roster;
                let now = Instant::now();
                joined.seen = vec![(String::new(), now); hosts as usize];
                Ok(joined)
            }
            Err(e) => {
                let why = match &e {
                    DbError::Failed(m) | DbError::Refused(m) => m.clone(),
                    DbError::Interrupted { signal, .. } => {
                        format!("was interrupted by {}", signal.as_str())
                    }
                };
                joined.leave(counter, Some(&why));
                Err(e)
            }
        }
    }

    /// Waits until every slot is claimed; the roster by slot.
    fn arrive(&mut self, counter: &mut Counter) -> Result<Vec<String>, DbError> {
        let deadline = Instant::now() + self.patience;
        let mut pause = Duration::from_micros(500);
        loop {
            let board = read(counter, &self.name)?;
            if let Some(abort) = board.get("abort") {
                self.ended_by_other = true;
                return Err(DbError::Failed(self.aborted(abort, &board)));
            }
            let roster = roster_of(&board, self.hosts);
            if roster.iter().all(|l| !l.is_empty()) {
                return Ok(roster);
            }
            if Instant::now() >= deadline {
                let missing: Vec<String> = (0..self.hosts)
                    .filter(|&i| roster[i as usize].is_empty())
                    .map(|i| (i + 1).to_string())
                    .collect();
                let arrived: Vec<String> = (0..self.hosts)
                    .filter(|&i| !roster[i as usize].is_empty())
                    .map(|i| format!("{} {}", i + 1, roster[i as usize]))
                    .collect();
                return Err(DbError::Failed(format!(
                    "host{} {} of {} did not join {} within {} (joined: {})",
                    if missing.len() == 1 { "" } else { "s" },
                    missing.join(", "),
                    self.hosts,
                    self.name,
                    format_nanos(self.patience.as_nanos() as u64),
                    arrived.join(", ")
                )));
            }
            self.beat(counter)?;
            if let Some(s) = interrupt::pending() {
                return Err(DbError::Interrupted {
                    signal: s,
                    left: String::new(),
                });
            }
            std::thread::sleep(pause);
            pause = (pause * 3 / 2).min(MOST_BETWEEN_READS);
        }
    }

    /// How often a host beats: every second, or more often under a short --timeout.
    pub(crate) fn beat_every(&self) -> Duration {
        (self.patience / 4).min(Duration::from_secs(1))
    }

    /// Beats if it is time to.
    fn beat(&mut self, counter: &mut Counter) -> Result<(), DbError> {
        if self.last_beat.elapsed() < self.beat_every() && self.beats > 0 {
            return Ok(());
        }
        self.beats += 1;
        self.last_beat = Instant::now();
        counter.put(&format!("beat{}", self.slot), &self.beats.to_string())
    }

    /// During a trial, every [`Joined::beat_every`]: beats, and stops if another host has
    /// failed.
    pub(crate) fn tick(&mut self, counter: &mut Counter) -> Result<(), TrialError> {
        self.beat(counter).map_err(db_error)?;
        let board = read(counter, &self.name).map_err(db_error)?;
        self.check(counter, &board)
    }

    /// Stops when another host failed or has been silent too long (saying so on the board).
    fn check(&mut self, counter: &mut Counter, board: &Board) -> Result<(), TrialError> {
        if let Some(abort) = board.get("abort") {
            self.ended_by_other = true;
            return Err(TrialError::Failed(Cause::Host(self.aborted(abort, board))));
        }
        self.look_for_connections(counter, board)?;
        let now = Instant::now();
        for i in 0..self.hosts {
            if i == self.slot || board.contains_key(&format!("left{i}")) {
                continue;
            }
            let beat = board.get(&format!("beat{i}")).cloned().unwrap_or_default();
            let seen = &mut self.seen[i as usize];
            if seen.0 != beat {
                *seen = (beat, now);
            } else if now.duration_since(seen.1) > self.patience {
                let who = host(&self.roster, i);
                let _ = counter.put(&format!("gone{i}"), &(self.slot + 1).to_string());
                let message = format!(
                    "{who} gave no sign of life for {} (killed, stopped, or cut off from the \
                     store); the run {} ends on every host",
                    format_nanos(self.patience.as_nanos() as u64),
                    self.name
                );
                let _ = counter.put_new("abort", &format!("{} {message}", self.slot));
                return Err(TrialError::Failed(Cause::Host(message)));
            }
        }
        Ok(())
    }

    /// Every [`Joined::beat_every`]: a host whose connection to the server is gone (the server
    /// no longer lists it) and that has not left is gone — killed, or its machine lost — seen
    /// at once rather than after --timeout of silence. A server that will not list its
    /// connections is not asked again.
    fn look_for_connections(
        &mut self,
        counter: &mut Counter,
        board: &Board,
    ) -> Result<(), TrialError> {
        match self.looked {
            Some(at) if at.elapsed() >= self.beat_every() => self.looked = Some(Instant::now()),
            _ => return Ok(()),
        }
        let others: Vec<(u32, String)> = (0..self.hosts)
            .filter(|&i| i != self.slot && !board.contains_key(&format!("left{i}")))
            .filter_map(|i| board.get(&format!("conn{i}")).map(|c| (i, c.clone())))
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        let presences: Vec<String> = others.iter().map(|(_, c)| c.clone()).collect();
        let alive = match counter.alive(&presences) {
            Ok(alive) => alive,
            Err(DbError::Failed(_) | DbError::Refused(_)) => {
                self.looked = None;
                return Ok(());
            }
            Err(e) => return Err(db_error(e)),
        };
        let Some((gone, _)) = others
            .iter()
            .zip(&alive)
            .find(|(_, a)| !**a)
            .map(|(o, _)| o)
        else {
            return Ok(());
        };
        // It may have left between the two reads.
        let board = read(counter, &self.name).map_err(db_error)?;
        if board.contains_key(&format!("left{gone}")) {
            return Ok(());
        }
        let message = format!(
            "{}'s connection to the store is gone (killed, or cut off from the store); the run \
             {} ends on every host",
            host(&self.roster, *gone),
            self.name
        );
        let _ = counter.put(&format!("gone{gone}"), &(self.slot + 1).to_string());
        let _ = counter.put_new("abort", &format!("{} {message}", self.slot));
        Err(TrialError::Failed(Cause::Host(message)))
    }

    /// What the board's `abort` says, in words.
    fn aborted(&self, abort: &str, board: &Board) -> String {
        let (slot, why) = abort.split_once(' ').unwrap_or(("", abort));
        match slot.parse::<u32>() {
            Ok(_) if why.starts_with("host ") => why.to_string(),
            Ok(slot) => {
                let roster = roster_of(board, self.hosts);
                format!("{} {why}", host(&roster, slot))
            }
            Err(_) => why.to_string(),
        }
    }

    /// Waits on the board until `until` finds what it waits for, reading it again and again,
    /// beating, and watching for a failed or silent host and for signals.
    fn wait_for<T>(
        &mut self,
        counter: &mut Counter,
        mut until: impl FnMut(&Board) -> Option<T>,
    ) -> Result<T, TrialError> {
        let mut pause = Duration::from_micros(500);
        loop {
            let board = read(counter, &self.name).map_err(db_error)?;
            self.check(counter, &board)?;
            if let Some(found) = until(&board) {
                return Ok(found);
            }
            self.beat(counter).map_err(db_error)?;
            if let Some(s) = interrupt::pending() {
                return Err(TrialError::Interrupted(signal(s)));
            }
            std::thread::sleep(pause);
            pause = (pause * 3 / 2).min(MOST_BETWEEN_READS);
        }
    }

    /// This host's workers are connected and waiting: says so, and returns when every host's
    /// are and host 1 has reset the counter (host 1 does that here).
    pub(crate) fn start(&mut self, counter: &mut Counter) -> Result<(), TrialError> {
        let seq = self.seq;
        counter
            .put(&format!("ready{}", self.slot), &seq.to_string())
            .map_err(db_error)?;
        let at = |board: &Board, field: &str| {
            board
                .get(field)
                .and_then(|v| v.parse::<u64>().ok())
                .is_some_and(|n| n >= seq)
        };
        if self.slot == 0 {
            let hosts = self.hosts;
            self.wait_for(counter, |b| {
                (0..hosts)
                    .all(|i| at(b, &format!("ready{i}")))
                    .then_some(())
            })?;
            counter.reset().map_err(db_error)?;
            counter.put("go", &seq.to_string()).map_err(db_error)
        } else {
            self.wait_for(counter, |b| at(b, "go").then_some(()))
        }
    }

    /// This host's part of the trial: writes it, and returns every host's once all are done.
    pub(crate) fn finish(
        &mut self,
        counter: &mut Counter,
        part: &Part,
    ) -> Result<Vec<Part>, TrialError> {
        let seq = self.seq;
        let counts: Vec<String> = part.completed.iter().map(u64::to_string).collect();
        let value = format!(
            "{seq} {} {} {}",
            part.elapsed_ns,
            part.retries,
            counts.join(",")
        );
        counter
            .put(&format!("done{}", self.slot), &value)
            .map_err(db_error)?;
        let hosts = self.hosts;
        let parts = self.wait_for(counter, |b| {
            (0..hosts)
                .map(|i| b.get(&format!("done{i}")).and_then(|v| parse_part(v, seq)))
                .collect::<Option<Vec<Part>>>()
        })?;
        self.seq += 1;
        Ok(parts)
    }

    /// Leaves the run, saying `why` it failed (if it did and no host said so before); the
    /// last host to leave (every other has left, or was seen gone) lets `counter` be removed.
    pub(crate) fn leave(&mut self, counter: &mut Counter, why: Option<&str>) {
        if let Some(why) = why.filter(|_| !self.ended_by_other) {
            let _ = counter.put_new("abort", &format!("{} {why}", self.slot));
        }
        if counter
            .put(&format!("left{}", self.slot), &(self.slot + 1).to_string())
            .is_err()
        {
            return;
        }
        if let Ok(Some(board)) = counter.board() {
            let board: Board = board.into_iter().collect();
            let last = (0..self.hosts).all(|i| {
                !board.contains_key(&format!("host{i}"))
                    || board.contains_key(&format!("left{i}"))
                    || board.contains_key(&format!("gone{i}"))
            });
            counter.keep = !last;
        }
    }
}

/// The board, or an error when it is gone (removed by the other hosts, or expired).
fn read(counter: &mut Counter, name: &str) -> Result<Board, DbError> {
    match counter.board()? {
        Some(fields) => Ok(fields.into_iter().collect()),
        None => Err(DbError::Failed(format!(
            "the board of the run {name} is gone (removed by the other hosts after the run \
             ended, or by someone else)"
        ))),
    }
}

/// The roster by slot ("" where no host has arrived).
fn roster_of(board: &Board, hosts: u32) -> Vec<String> {
    (0..hosts)
        .map(|i| board.get(&format!("host{i}")).cloned().unwrap_or_default())
        .collect()
}

/// A host's part of trial `seq`, if that is what `value` holds.
fn parse_part(value: &str, seq: u64) -> Option<Part> {
    let mut words = value.split(' ');
    if words.next()?.parse::<u64>().ok()? != seq {
        return None;
    }
    let elapsed_ns = words.next()?.parse().ok()?;
    let retries = words.next()?.parse().ok()?;
    let completed = words
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|c| !c.is_empty())
        .map(|c| c.parse().ok())
        .collect::<Option<Vec<u64>>>()?;
    Some(Part {
        elapsed_ns,
        retries,
        completed,
    })
}

/// The first setting in which this host differs from the run's.
fn difference(name: &str, mine: &[(&str, String)], theirs: &str, board: &Board) -> String {
    let theirs: HashMap<&str, &str> = theirs.lines().filter_map(|l| l.split_once(' ')).collect();
    let first = roster_of(board, 64)
        .into_iter()
        .find(|l| !l.is_empty())
        .map_or(String::new(), |l| format!(", as its first host {l} gave"));
    let options: Vec<&str> = mine.iter().map(|(o, _)| *o).collect();
    for (option, value) in mine {
        let other = theirs
            .get(option)
            .copied()
            .unwrap_or("(another racecount's)");
        if other != value {
            return format!(
                "--join {name}: this host gives {option} {value}, the run has {option} \
                 {other}{first}; every host of a run gives the same {}",
                options.join(", ")
            );
        }
    }
    format!("--join {name}: the run was started by another version of racecount")
}

/// A call to the board that stopped short, as a trial's error.
fn db_error(e: DbError) -> TrialError {
    match e {
        DbError::Failed(message) | DbError::Refused(message) => {
            TrialError::Failed(Cause::Host(message))
        }
        DbError::Interrupted { signal: s, .. } => TrialError::Interrupted(signal(s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_reads_back_only_for_its_trial() {
        let part = parse_part("3 1500 2 20,19", 3).unwrap();
        assert_eq!(part.completed, [20, 19]);
        assert_eq!((part.elapsed_ns, part.retries), (1500, 2));
        assert_eq!(parse_part("2 1500 2 20,19", 3), None);
    }
}
