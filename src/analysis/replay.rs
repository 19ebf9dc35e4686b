//! `--replay`: from a recorded trace, the steps that run the same interleaving again, and how
//! a replayed trace compares with the recorded one. Pure.
//!
//! The recorded links say all that matters: the writes' chain (each write right after the one
//! it replaced) and each read's source. A replay that puts every read right after the write it
//! saw, before that write's successor, and every write at its place in the chain, makes each
//! read see what it saw and each write replace what it replaced — the same values, the same
//! links, the same lost updates. Cache coherence makes that order always exist for a real
//! trace: a worker's read cannot see a write older than its own previous write, and its write
//! comes after the write it read; a trace where it does not is refused.

use std::collections::HashMap;
use std::fmt;

use super::explain::{Unordered, explain};
use crate::model::mode::{Mode, Step};
use crate::model::trace::{TraceEntry, WriteRef};

/// Why a trace cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotReplayable {
    /// Its links do not form one chain.
    Unordered(Unordered),
    /// A worker's read comes, in the only order that gives it its value, before its own
    /// previous write or after its own write.
    Incoherent { write: WriteRef },
}

impl fmt::Display for NotReplayable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReplayable::Unordered(why) => write!(f, "{why}"),
            NotReplayable::Incoherent { write } => write!(
                f,
                "worker {} seq {} read a value from outside its own increments' order",
                write.worker, write.seq
            ),
        }
    }
}

/// One event of the replay: a worker's read or write of its increment `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Event {
    Read(WriteRef),
    Write(WriteRef),
}

/// Which worker takes each step, in order, to replay `entries` in `mode`.
pub fn script(entries: &[TraceEntry], mode: Mode) -> Result<Vec<u32>, NotReplayable> {
    let order = explain(entries).map_err(NotReplayable::Unordered)?.order;
    let events = events(entries, &order, mode);
    check_program_order(&events)?;
    let mut steps = Vec::with_capacity(events.len() * 3);
    for event in events {
        let (worker, part) = match event {
            Event::Read(w) => (w.worker, read_and_write_steps(mode).0),
            Event::Write(w) => (w.worker, read_and_write_steps(mode).1),
        };
        steps.extend(std::iter::repeat_n(worker, part.len()));
    }
    Ok(steps)
}

/// Reads right after the write they saw (those of the initial value first), writes in the
/// chain's order. An atomic add is one event, at its write.
fn events(entries: &[TraceEntry], order: &[usize], mode: Mode) -> Vec<Event> {
    let mut reads_of: HashMap<Option<WriteRef>, Vec<WriteRef>> = HashMap::new();
    if mode != Mode::Atomic {
        for e in entries {
            reads_of
                .entry(e.read_from)
                .or_default()
                .push(WriteRef::of(e));
        }
        for reads in reads_of.values_mut() {
            reads.sort_by_key(|r| (r.worker, r.seq));
        }
    }
    let mut events = Vec::with_capacity(entries.len() * 2);
    let reads = |events: &mut Vec<Event>, source: Option<WriteRef>| {
        events.extend(
            reads_of
                .get(&source)
                .into_iter()
                .flatten()
                .map(|&r| Event::Read(r)),
        );
    };
    reads(&mut events, None);
    for &i in order {
        let me = WriteRef::of(&entries[i]);
        events.push(Event::Write(me));
        reads(&mut events, Some(me));
    }
    events
}

/// Each worker's events must come read, write, read, write... in its own `seq` order.
fn check_program_order(events: &[Event]) -> Result<(), NotReplayable> {
    // Per worker: the next seq expected, and whether its read of it came already.
    let mut at: HashMap<u32, (u64, bool)> = HashMap::new();
    for event in events {
        let (w, is_read) = match *event {
            Event::Read(w) => (w, true),
            Event::Write(w) => (w, false),
        };
        let (seq, read) = at.entry(w.worker).or_insert((0, false));
        let fine = match (is_read, *read) {
            (true, false) => w.seq == *seq,
            (false, true) => w.seq == *seq,
            // An atomic add reads as it writes: a write without a read of its own.
            (false, false) => w.seq == *seq,
            (true, true) => false,
        };
        if !fine {
            return Err(NotReplayable::Incoherent { write: w });
        }
        if is_read {
            *read = true;
        } else {
            *seq += 1;
            *read = false;
        }
    }
    Ok(())
}

/// `mode`'s steps (`Mode::steps`) split into a read's and a write's: the read's end after the
/// read, with the unlock that follows it (`per-access`); a mode that does not read apart
/// (`atomic`) has only the write's.
fn read_and_write_steps(mode: Mode) -> (&'static [Step], &'static [Step]) {
    let steps = mode.steps();
    let end = steps
        .iter()
        .position(|&s| s == Step::Read)
        .map_or(0, |read| {
            read + 1 + usize::from(steps.get(read + 1) == Some(&Step::Unlock))
        });
    steps.split_at(end)
}

/// How many writes of `replayed` read, wrote or replaced other than in `recorded` (0: the
/// same interleaving), writes missing from either counted too.
pub fn differences(recorded: &[TraceEntry], replayed: &[TraceEntry]) -> u64 {
    let key = |e: &TraceEntry| (e.read, e.prev, e.read_from, e.overwrote);
    let replayed: HashMap<WriteRef, _> =
        replayed.iter().map(|e| (WriteRef::of(e), key(e))).collect();
    let mut differ = recorded.len().abs_diff(replayed.len()) as u64;
    for e in recorded {
        if replayed.get(&WriteRef::of(e)) != Some(&key(e)) {
            differ += 1;
        }
    }
    differ
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A traced race: `events` are worker numbers, a worker's first event a read, its next a
    /// write (the fixture's simulator, the one the output tests use), without its times: a
    /// replay runs at other times, and what must come back is the order.
    fn run(events: &[u32]) -> Vec<TraceEntry> {
        let mut entries = crate::output::fixture::race(events).0;
        for e in &mut entries {
            (e.t_read_ns, e.t_write_ns) = (0, 0);
        }
        entries
    }

    #[test]
    fn an_unlocked_script_puts_reads_after_the_write_they_saw() {
        // 0 and 1 read 0; 0 writes 1; 1 writes 1 over it (a collision).
        let t = run(&[0, 1, 0, 1]);
        assert_eq!(script(&t, Mode::Unlocked).unwrap(), [0, 1, 0, 1]);
        // Replaying the script's events on a model gives the same trace back.
        let again = run(&script(&t, Mode::Unlocked).unwrap());
        assert_eq!(differences(&t, &again), 0);
    }

    #[test]
    fn a_stale_write_and_a_restore_come_back_the_same() {
        let t = run(&[2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 3, 1, 3, 2]);
        let again = run(&script(&t, Mode::Unlocked).unwrap());
        assert_eq!(differences(&t, &again), 0);
        assert_eq!(explain(&t).unwrap().stale, explain(&again).unwrap().stale);
    }

    #[test]
    fn per_access_and_mutex_steps_take_the_lock() {
        let t = run(&[0, 0, 1, 1]);
        assert_eq!(script(&t, Mode::Mutex).unwrap(), [0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(script(&t, Mode::PerAccess).unwrap().len(), 12);
        assert_eq!(script(&t, Mode::Atomic).unwrap(), [0, 1]);
    }

    #[test]
    fn a_read_of_the_future_is_refused() {
        // Worker 0's second read claims the initial 0, older than its own first write.
        let mut t = run(&[0, 0, 0, 0]);
        t[1].read_from = None;
        t[1].read = 0;
        assert_eq!(
            script(&t, Mode::Unlocked),
            Err(NotReplayable::Incoherent {
                write: WriteRef { worker: 0, seq: 1 }
            })
        );
    }

    #[test]
    fn a_changed_link_is_a_difference() {
        let t = run(&[0, 1, 0, 1]);
        let mut other = t.clone();
        other[1].overwrote = None;
        assert_eq!(differences(&t, &other), 1);
        assert_eq!(differences(&t, &t[..1]), 2);
    }
}
