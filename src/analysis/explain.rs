//! Turns a trial's trace into an account of every lost update. Pure: no I/O, no clock.
//!
//! Every traced write records the value it read (`read`), wrote (`read + 1`) and replaced
//! (`prev`), and — from the tags the writes put in the counter's word — the write its read saw
//! (`read_from`) and the write it replaced (`overwrote`). The writes form one chain, each
//! replacing the one before it; [`order::chain`] follows the recorded links (no clock and no
//! search: neither could settle the order, see there). Walked in that order, each write falls
//! in one class by `prev − read` ([`WriteKind`]):
//!
//! - `0`: a clean increment, nothing lost;
//! - `1`: a **collision**: it wrote `read + 1` over the `read + 1` that the write right before
//!   it (its partner) had written. One episode is the write that first wrote that value and
//!   the run of collision writes right after it: k writes, k − 1 updates lost;
//! - `≥ 2`: a **stale write**: it read `read`, others moved the counter on to `prev`
//!   meanwhile, and writing `read + 1` undid `prev − read` increments;
//! - `< 0`: a **restore**: the write before it (named, with its own class) had knocked the
//!   counter back below what this worker read, so writing `read + 1` brought `read − prev` of
//!   the undone increments back.
//!
//! Summed over a chain, `wrote − prev` telescopes to the final value, so collisions + stale −
//! restored = procs × iters − final holds by algebra once the chain holds: `trial` compares
//! it with the counter, which catches a trace that does not end where the counter did, and
//! nothing more. Every worker named is the one the links name; `tests/trace_oracle.rs`
//! compares them with the true order of a simulator that knows it.

mod held;
mod order;

use serde::Serialize;

pub use crate::model::trace::{TraceEntry, WriteRef};
pub use crate::results::Tally;

/// One trial's trace: every increment, worker by worker in each worker's order, and the
/// account of its lost updates (already checked to add up to procs × iters − total).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrialTrace {
    pub entries: Vec<TraceEntry>,
    pub explanation: Explanation,
}

impl TrialTrace {
    /// A kept trial's trace with its explanation; `None` when its writes fit no order (a run
    /// stops at such a trial, so a kept one always has an order).
    pub fn of(entries: &[TraceEntry]) -> Option<TrialTrace> {
        Some(TrialTrace {
            entries: entries.to_vec(),
            explanation: explain(entries).ok()?,
        })
    }
}

pub use held::{Change, changes};
pub use order::Unordered;

/// One collision episode: every write in it read `read` and wrote `read + 1`; the first
/// found `read` (or anything but `read + 1`) on the counter, each later one the `read + 1`
/// the write before it had written: `lost` (= writes − 1) updates gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collision {
    pub read: u64,
    /// The workers of `writes`, ascending (each appears once: a worker's next read comes
    /// after its own write, so it cannot collide with itself).
    pub workers: Vec<u32>,
    pub lost: u64,
    /// The writes of the episode in their real order; each one's partner is the one before.
    pub writes: Vec<WriteRef>,
}

/// A worker read `read`, waited, and wrote `read + 1` over the larger `prev`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleWrite {
    pub worker: u32,
    pub seq: u64,
    pub read: u64,
    pub prev: u64,
    pub waited_ns: u64,
    /// The write right before it, whose `prev` it replaced.
    pub overwrote: WriteRef,
    /// The write whose value it read (`None`: the initial 0).
    pub read_from: Option<WriteRef>,
}

impl StaleWrite {
    pub fn lost(&self) -> u64 {
        self.prev - self.read
    }
}

/// A worker read `read` and wrote `read + 1` over a smaller `prev`: the write before it had
/// knocked the counter back below what this worker read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restore {
    pub worker: u32,
    pub seq: u64,
    pub read: u64,
    pub prev: u64,
    /// The write whose `prev` it replaced, and what that write was.
    pub overwrote: WriteRef,
    pub overwrote_kind: WriteKind,
}

/// What a write did to the counter, by the value it replaced against the value it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WriteKind {
    /// It replaced what it read: nothing lost.
    Clean,
    /// It replaced `read + 1`, written by the write right before it from the same `read`.
    Collision,
    /// It replaced more than `read + 1`: the increments in between were undone.
    Stale,
    /// It replaced less than it read: undone increments came back.
    Restore,
}

impl WriteKind {
    /// The kind of write `e`.
    pub fn of(e: &TraceEntry) -> WriteKind {
        match e.prev.cmp(&e.read) {
            std::cmp::Ordering::Equal => WriteKind::Clean,
            std::cmp::Ordering::Greater if e.prev == e.read + 1 => WriteKind::Collision,
            std::cmp::Ordering::Greater => WriteKind::Stale,
            std::cmp::Ordering::Less => WriteKind::Restore,
        }
    }
}

impl Restore {
    pub fn restored(&self) -> u64 {
        self.read - self.prev
    }
}

/// What one trial's trace says about its lost updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Writes traced (procs × iters).
    pub writes: u64,
    /// Writes that replaced exactly the value they had read.
    pub clean: u64,
    /// Episodes, in the real order of their writes.
    pub collisions: Vec<Collision>,
    /// In the real order of their writes.
    pub stale: Vec<StaleWrite>,
    /// In the real order of their writes.
    pub restores: Vec<Restore>,
    /// The rebuilt order of the writes, as indices into the trace's entries.
    #[serde(skip)]
    pub order: Vec<usize>,
}

impl Explanation {
    pub fn tally(&self) -> Tally {
        Tally {
            collisions: self.collisions.len() as u64,
            collision_lost: self.collisions.iter().map(|c| c.lost).sum(),
            stale: self.stale.len() as u64,
            stale_lost: self.stale.iter().map(StaleWrite::lost).sum(),
            restores: self.restores.len() as u64,
            restored: self.restores.iter().map(Restore::restored).sum(),
        }
    }

    /// Net updates lost; equals procs × iters − final total.
    pub fn lost(&self) -> i128 {
        self.tally().lost()
    }
}

/// Explains a trace (any order of entries) along the chain its writes recorded, or says why
/// the recorded links do not form one.
pub fn explain(entries: &[TraceEntry]) -> Result<Explanation, Unordered> {
    let order = order::chain(entries)?;
    let mut clean = 0;
    let mut collisions: Vec<Collision> = Vec::new();
    let mut stale = Vec::new();
    let mut restores = Vec::new();
    // Whether the last write was a collision, so that the next one joins its episode.
    let mut in_episode = false;
    for (at, &i) in order.iter().enumerate() {
        let e = &entries[i];
        // The chain puts each write right after the one it replaced.
        let before = at.checked_sub(1).map(|b| &entries[order[b]]);
        let kind = WriteKind::of(e);
        match (kind, before) {
            (WriteKind::Clean, _) => clean += 1,
            (WriteKind::Collision, Some(partner)) => match collisions.last_mut() {
                Some(c) if in_episode => {
                    c.writes.push(WriteRef::of(e));
                    c.lost += 1;
                }
                _ => collisions.push(Collision {
                    read: e.read,
                    workers: Vec::new(),
                    lost: 1,
                    writes: vec![WriteRef::of(partner), WriteRef::of(e)],
                }),
            },
            (WriteKind::Stale, Some(before)) => stale.push(StaleWrite {
                worker: e.worker,
                seq: e.seq,
                read: e.read,
                prev: e.prev,
                waited_ns: e.t_write_ns.saturating_sub(e.t_read_ns),
                overwrote: WriteRef::of(before),
                read_from: e.read_from,
            }),
            (WriteKind::Restore, Some(before)) => restores.push(Restore {
                worker: e.worker,
                seq: e.seq,
                read: e.read,
                prev: e.prev,
                overwrote: WriteRef::of(before),
                overwrote_kind: WriteKind::of(before),
            }),
            // The first write replaced the initial 0, and nothing but 0 was there to read.
            (WriteKind::Collision | WriteKind::Stale | WriteKind::Restore, None) => {
                return Err(Unordered::ReadAhead {
                    write: WriteRef::of(e),
                });
            }
        }
        in_episode = kind == WriteKind::Collision;
    }
    for c in &mut collisions {
        c.workers = c.writes.iter().map(|w| w.worker).collect();
        c.workers.sort_unstable();
        c.workers.dedup();
    }
    Ok(Explanation {
        writes: entries.len() as u64,
        clean,
        collisions,
        stale,
        restores,
        order,
    })
}

/// One lost update for the picture: the write whose increment was undone (`victim`) and the
/// write that overwrote it (`by`), as indices into the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    pub victim: usize,
    pub by: usize,
}

/// Every increment a write took off the counter ([`changes`]' `undid`), as an
/// [`Overwrite`], in the order of `order` (the explanation's). For a collision that is its
/// partner; for a stale write, the writes that moved the counter on while it waited.
pub fn overwrites(entries: &[TraceEntry], order: &[usize]) -> Vec<Overwrite> {
    changes(entries, order)
        .into_iter()
        .zip(order)
        .flat_map(|(change, &by)| {
            change
                .undid
                .into_iter()
                .map(move |victim| Overwrite { victim, by })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A traced race: `events` are worker numbers, a worker's first event a read, its next a
    /// write (the fixture's simulator, the one the output tests use).
    fn run(events: &[u32]) -> Vec<TraceEntry> {
        crate::output::fixture::race(events).0
    }

    fn w(worker: u32, seq: u64) -> WriteRef {
        WriteRef { worker, seq }
    }

    #[test]
    fn clean_increments_lose_nothing() {
        let x = explain(&run(&[0, 0, 1, 1, 0, 0])).unwrap();
        assert_eq!((x.writes, x.clean, x.lost()), (3, 3, 0));
        assert!(x.collisions.is_empty() && x.stale.is_empty() && x.restores.is_empty());
    }

    #[test]
    fn two_workers_reading_the_same_value_lose_one() {
        // Workers 3 and 7 both read 0; 3 writes 1, then 7 writes 1 over it.
        let t = run(&[3, 7, 3, 7, 3, 3]);
        let x = explain(&t).unwrap();
        assert_eq!(
            x.collisions,
            [Collision {
                read: 0,
                workers: vec![3, 7],
                lost: 1,
                writes: vec![w(3, 0), w(7, 0)],
            }]
        );
        assert_eq!((x.clean, x.lost()), (2, 1));
        assert_eq!(overwrites(&t, &x.order), [Overwrite { victim: 0, by: 1 }]);
    }

    #[test]
    fn three_way_collision_loses_two() {
        let x = explain(&run(&[0, 1, 2, 0, 1, 2])).unwrap();
        assert_eq!(x.collisions[0].writes, [w(0, 0), w(1, 0), w(2, 0)]);
        assert_eq!(x.collisions[0].lost, 2);
    }

    #[test]
    fn a_stale_write_names_the_write_it_overwrote_and_the_one_it_read() {
        // Worker 2 reads 0 and stalls; worker 0 counts 0 → 3; worker 2 writes 1 over 3.
        let t = run(&[2, 0, 0, 0, 0, 0, 0, 2]);
        let x = explain(&t).unwrap();
        assert_eq!(
            x.stale,
            [StaleWrite {
                worker: 2,
                seq: 0,
                read: 0,
                prev: 3,
                waited_ns: 7_500,
                overwrote: w(0, 2),
                read_from: None,
            }]
        );
        let over = overwrites(&t, &x.order);
        let mut victims: Vec<usize> = over.iter().map(|o| o.victim).collect();
        victims.sort();
        assert_eq!(victims, [0, 1, 2]);
    }

    #[test]
    fn a_restore_names_the_write_that_knocked_the_counter_back_and_what_it_was() {
        // Worker 0 counts to 3; worker 1 reads 3 and stalls; worker 2 (which read 0) writes 1
        // over 3: stale; worker 1 writes 4 over it: a restore over a stale write.
        let x = explain(&run(&[2, 0, 0, 0, 0, 0, 0, 1, 2, 1])).unwrap();
        assert_eq!(x.restores.len(), 1);
        let r = &x.restores[0];
        assert_eq!((r.worker, r.read, r.prev, r.restored()), (1, 3, 1, 2));
        assert_eq!((r.overwrote, r.overwrote_kind), (w(2, 0), WriteKind::Stale));
    }

    #[test]
    fn a_restore_over_a_restore_says_so() {
        // The value a restore writes over can be another restore's, not a stale write's.
        // Worker 3 reads 0; worker 0 counts to 2; worker 1 reads 2; worker 0 counts to 4;
        // worker 2 reads 4; worker 3 writes 1 over 4 (stale); worker 1 writes 3 over 1 (a
        // restore); worker 2 writes 5 over 1's 3: a restore over a restore.
        let events = [3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 3, 1, 2];
        let x = explain(&run(&events)).unwrap();
        let kinds: Vec<(u32, WriteKind)> = x
            .restores
            .iter()
            .map(|r| (r.worker, r.overwrote_kind))
            .collect();
        assert_eq!(kinds, [(1, WriteKind::Stale), (2, WriteKind::Restore)]);
        assert_eq!(x.restores[1].overwrote, w(1, 0));
    }

    #[test]
    fn the_clock_plays_no_part() {
        let t = run(&[2, 0, 1, 0, 1, 2, 0, 0, 1, 1]);
        let mut scrambled = t.clone();
        for (i, e) in scrambled.iter_mut().enumerate() {
            e.t_read_ns = 1000 - i as u64 * 7;
            e.t_write_ns = e.t_read_ns + 1;
        }
        scrambled.reverse();
        let (a, b) = (explain(&t).unwrap(), explain(&scrambled).unwrap());
        assert_eq!(
            (a.collisions, a.stale, a.clean),
            (b.collisions, b.stale, b.clean)
        );
        let names = |x: &Explanation, t: &[TraceEntry]| -> Vec<WriteRef> {
            x.order.iter().map(|&i| WriteRef::of(&t[i])).collect()
        };
        assert_eq!(
            names(&explain(&t).unwrap(), &t),
            names(&explain(&scrambled).unwrap(), &scrambled)
        );
    }

    #[test]
    fn the_same_values_in_two_orders_name_two_different_writes() {
        // Workers 0 and 1 both read 1 and write 2 (in two orders); worker 2 read 0 and writes
        // 1 over the last 2: the values are the same both times, and only the links tell whose
        // write the stale one overwrote.
        let first = explain(&run(&[2, 0, 0, 0, 1, 0, 1, 2])).unwrap();
        let second = explain(&run(&[2, 0, 0, 1, 0, 1, 0, 2])).unwrap();
        assert_eq!(first.stale[0].overwrote, w(1, 0));
        assert_eq!(second.stale[0].overwrote, w(0, 1));
    }

    #[test]
    fn links_that_do_not_chain_are_refused() {
        let good = run(&[0, 1, 0, 1, 0, 0]);
        assert!(explain(&good).is_ok());
        let mut forked = good.clone();
        forked[2].overwrote = forked[1].overwrote;
        forked[2].prev = forked[1].prev;
        assert!(matches!(explain(&forked), Err(Unordered::Forked { .. })));
        let mut missing = good.clone();
        missing[1].overwrote = Some(w(9, 9));
        assert!(matches!(explain(&missing), Err(Unordered::Missing { .. })));
        let mut mismatch = good.clone();
        mismatch[1].prev += 1;
        assert!(matches!(
            explain(&mismatch),
            Err(Unordered::Mismatch { .. })
        ));
        let mut two_starts = good.clone();
        two_starts[1].overwrote = None;
        two_starts[1].prev = 0;
        assert!(matches!(
            explain(&two_starts),
            Err(Unordered::Starts { starts: 2 })
        ));
        let mut cycle = good;
        cycle[0].overwrote = Some(w(0, 1));
        cycle[0].prev = 2;
        assert!(explain(&cycle).is_err());
    }

    proptest! {
        /// The order explained is the order the counter took the writes in, and every write a
        /// collision, stale write or restore names is the one right before it in that order:
        /// here the simulator knows the true order (the order it made the writes in).
        #[test]
        fn every_named_write_is_the_true_predecessor(
            events in proptest::collection::vec(0u32..5, 1..300),
        ) {
            let t = run(&events);
            let x = explain(&t).unwrap();
            let truth: Vec<WriteRef> = t.iter().map(WriteRef::of).collect();
            let order: Vec<WriteRef> = x.order.iter().map(|&i| WriteRef::of(&t[i])).collect();
            prop_assert_eq!(&order, &truth);
            let before = |me: WriteRef| {
                let at = truth.iter().position(|&r| r == me).unwrap();
                truth[at - 1]
            };
            for c in &x.collisions {
                for pair in c.writes.windows(2) {
                    prop_assert_eq!(before(pair[1]), pair[0]);
                }
            }
            for s in &x.stale {
                prop_assert_eq!(before(w(s.worker, s.seq)), s.overwrote);
            }
            for r in &x.restores {
                prop_assert_eq!(before(w(r.worker, r.seq)), r.overwrote);
            }
        }
    }
}
