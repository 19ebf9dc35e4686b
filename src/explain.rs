//! Turns a trial's trace into an account of every lost update. Pure: no I/O, no clock.
//!
//! Every traced write records the value it read (`read`), wrote (`read + 1`) and replaced
//! (`prev`). The writes happen in one order (a swap, or a store under the lock), and each
//! replaces what the one before it wrote, so summing `wrote − prev` over all writes telescopes
//! to the final total. Hence, exactly:
//!
//! ```text
//! procs × iters − final = Σ (prev − read)
//! ```
//!
//! Each write falls in one class by `prev − read`:
//!
//! - `0`: a clean increment, nothing lost;
//! - `1`: a **collision**: the write before it had also read `read` and written `read + 1`;
//!   k writers of the same value lose k − 1 updates;
//! - `≥ 2`: a **stale write**: it read `read`, others moved the counter on to `prev` meanwhile,
//!   and writing `read + 1` undid `prev − read` increments;
//! - `< 0`: a **restore**: a stale write had knocked the counter back below what this worker
//!   read, so writing `read + 1` brought `read − prev` of the undone increments back.
//!
//! Lost = collisions + stale − restored, in every trial, by construction; `trial` checks it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// One trial's trace: every increment, worker by worker in each worker's order, and the
/// account of its lost updates (already checked to add up to procs × iters − total).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrialTrace {
    pub entries: Vec<TraceEntry>,
    pub explanation: Explanation,
}

/// One traced increment, as the worker recorded it. Times are ns since the trial's first read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TraceEntry {
    pub worker: u32,
    /// 0-based increment number within the worker.
    pub seq: u64,
    /// The value the worker read.
    pub read: u64,
    /// The value it wrote.
    pub wrote: u64,
    /// The value its write replaced.
    pub prev: u64,
    pub t_read_ns: u64,
    pub t_write_ns: u64,
}

/// k workers read `read` and all wrote `read + 1`: `lost` (= k − 1) updates gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Collision {
    pub read: u64,
    /// Every worker that read `read` and wrote over `read` or `read + 1`, ascending.
    pub workers: Vec<u32>,
    pub lost: u64,
}

/// A worker read `read`, waited, and wrote `read + 1` over the larger `prev`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleWrite {
    pub worker: u32,
    pub seq: u64,
    pub read: u64,
    pub prev: u64,
    pub waited_ns: u64,
}

impl StaleWrite {
    pub fn lost(&self) -> u64 {
        self.prev - self.read
    }
}

/// A worker read `read` and wrote `read + 1` over a smaller `prev` left by a stale write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Restore {
    pub worker: u32,
    pub seq: u64,
    pub read: u64,
    pub prev: u64,
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
    /// By the value read, ascending.
    pub collisions: Vec<Collision>,
    /// In the order of their writes.
    pub stale: Vec<StaleWrite>,
    /// In the order of their writes.
    pub restores: Vec<Restore>,
}

/// The counts of an [`Explanation`], kept for every traced trial.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    pub collisions: u64,
    pub collision_lost: u64,
    pub stale: u64,
    pub stale_lost: u64,
    pub restores: u64,
    pub restored: u64,
}

impl Tally {
    /// Net updates lost: collisions + stale writes − restored.
    pub fn lost(&self) -> i128 {
        i128::from(self.collision_lost) + i128::from(self.stale_lost) - i128::from(self.restored)
    }
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

/// Explains a trace (any order of entries).
pub fn explain(entries: &[TraceEntry]) -> Explanation {
    let mut by_time: Vec<&TraceEntry> = entries.iter().collect();
    by_time.sort_by_key(|e| (e.t_write_ns, e.worker, e.seq));
    let mut clean = 0;
    let mut collided: BTreeMap<u64, (Vec<u32>, u64)> = BTreeMap::new();
    let mut stale = Vec::new();
    let mut restores = Vec::new();
    for e in &by_time {
        match e.prev.cmp(&e.read) {
            std::cmp::Ordering::Equal => clean += 1,
            std::cmp::Ordering::Greater if e.prev - e.read == 1 => {
                collided.entry(e.read).or_default().1 += 1;
            }
            std::cmp::Ordering::Greater => stale.push(StaleWrite {
                worker: e.worker,
                seq: e.seq,
                read: e.read,
                prev: e.prev,
                waited_ns: e.t_write_ns.saturating_sub(e.t_read_ns),
            }),
            std::cmp::Ordering::Less => restores.push(Restore {
                worker: e.worker,
                seq: e.seq,
                read: e.read,
                prev: e.prev,
            }),
        }
    }
    // The members of a collision: everyone who read that value and wrote over it or over the
    // same value + 1 (the first writer found `read`, the others found `read + 1`).
    for e in entries {
        if let Some((workers, _)) = collided.get_mut(&e.read)
            && (e.prev == e.read || e.prev == e.read + 1)
        {
            workers.push(e.worker);
        }
    }
    let collisions = collided
        .into_iter()
        .map(|(read, (mut workers, lost))| {
            workers.sort_unstable();
            workers.dedup();
            Collision {
                read,
                workers,
                lost,
            }
        })
        .collect();
    Explanation {
        writes: entries.len() as u64,
        clean,
        collisions,
        stale,
        restores,
    }
}

/// One lost update for the picture: the write whose increment was undone (`victim`) and the
/// write that overwrote it (`by`), as indices into the entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overwrite {
    pub victim: usize,
    pub by: usize,
}

/// For every write that lost updates (`prev > read`), one [`Overwrite`] per update lost: for
/// each value in `read + 1 ..= prev`, the last write of that value before it (by the clock;
/// timestamps taken a few ns apart may misorder two writes, so this is for drawing only).
/// `overwrites(e).len()` is collisions + stale losses exactly.
pub fn overwrites(entries: &[TraceEntry]) -> Vec<Overwrite> {
    let mut writers: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by_key(|&i| (entries[i].t_write_ns, entries[i].worker, entries[i].seq));
    for &i in &order {
        writers.entry(entries[i].wrote).or_default().push(i);
    }
    let mut found = Vec::new();
    for (by, e) in entries.iter().enumerate() {
        for value in e.read + 1..=e.prev {
            let Some(candidates) = writers.get(&value) else {
                continue;
            };
            let before = candidates
                .iter()
                .rev()
                .find(|&&i| i != by && entries[i].t_write_ns <= e.t_write_ns);
            let victim = before.or_else(|| candidates.iter().find(|&&i| i != by));
            if let Some(&victim) = victim {
                found.push(Overwrite { victim, by });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// (worker, read, prev, t_read, t_write)
    fn trace(rows: &[(u32, u64, u64, u64, u64)]) -> Vec<TraceEntry> {
        let mut seq: HashMap<u32, u64> = HashMap::new();
        rows.iter()
            .map(|&(worker, read, prev, t_read_ns, t_write_ns)| {
                let s = seq.entry(worker).or_default();
                *s += 1;
                TraceEntry {
                    worker,
                    seq: *s - 1,
                    read,
                    wrote: read + 1,
                    prev,
                    t_read_ns,
                    t_write_ns,
                }
            })
            .collect()
    }

    #[test]
    fn clean_increments_lose_nothing() {
        let t = trace(&[(0, 0, 0, 0, 1), (1, 1, 1, 2, 3), (0, 2, 2, 4, 5)]);
        let x = explain(&t);
        assert_eq!((x.writes, x.clean, x.lost()), (3, 3, 0));
        assert!(x.collisions.is_empty() && x.stale.is_empty() && x.restores.is_empty());
        assert!(overwrites(&t).is_empty());
    }

    #[test]
    fn two_workers_reading_the_same_value_lose_one() {
        // Workers 3 and 7 both read 0 and wrote 1; then worker 3 reads 1 and writes 2.
        let t = trace(&[(3, 0, 0, 0, 10), (7, 0, 1, 1, 11), (3, 1, 1, 12, 13)]);
        let x = explain(&t);
        assert_eq!(
            x.collisions,
            [Collision {
                read: 0,
                workers: vec![3, 7],
                lost: 1
            }]
        );
        assert_eq!((x.clean, x.lost()), (2, 1));
        assert_eq!(overwrites(&t), [Overwrite { victim: 0, by: 1 }]);
    }

    #[test]
    fn three_way_collision_loses_two() {
        let t = trace(&[(0, 0, 0, 0, 5), (1, 0, 1, 1, 6), (2, 0, 1, 2, 7)]);
        let x = explain(&t);
        assert_eq!(x.collisions[0].workers, [0, 1, 2]);
        assert_eq!(x.collisions[0].lost, 2);
        assert_eq!(x.lost(), 2);
    }

    #[test]
    fn a_stale_write_undoes_what_others_did_meanwhile() {
        // Worker 2 reads 0 and stalls; worker 0 counts 0 → 3; worker 2 writes 1 over 3.
        let t = trace(&[
            (2, 0, 3, 0, 8_100),
            (0, 0, 0, 100, 200),
            (0, 1, 1, 300, 400),
            (0, 2, 2, 500, 600),
        ]);
        let x = explain(&t);
        assert_eq!(
            x.stale,
            [StaleWrite {
                worker: 2,
                seq: 0,
                read: 0,
                prev: 3,
                waited_ns: 8_100
            }]
        );
        assert_eq!(x.lost(), 3);
        let over = overwrites(&t);
        let mut victims: Vec<usize> = over.iter().map(|o| o.victim).collect();
        victims.sort();
        assert_eq!(victims, [1, 2, 3]);
        assert!(over.iter().all(|o| o.by == 0));
    }

    #[test]
    fn a_write_after_a_knock_back_restores() {
        // 0 → 1 → 2 → 3 by worker 0; worker 1 read 3 then stalls; worker 2 (read 0) writes 1
        // over 3 (stale, 3 lost); worker 1 writes 4 over 1 (restores 3): net loss 1 of 5.
        let t = trace(&[
            (0, 0, 0, 0, 1),
            (0, 1, 1, 2, 3),
            (0, 2, 2, 4, 5),
            (2, 0, 3, 0, 7),
            (1, 3, 1, 6, 9),
        ]);
        let x = explain(&t);
        assert_eq!(x.tally().stale_lost, 3);
        assert_eq!(
            x.restores,
            [Restore {
                worker: 1,
                seq: 0,
                read: 3,
                prev: 1
            }]
        );
        assert_eq!(x.lost(), 1);
    }

    /// Simulates workers that read, then later blindly swap in read + 1, in a random
    /// interleaving, exactly as the unlocked traced loop does.
    fn simulate(procs: usize, iters: usize, schedule: &[usize]) -> (Vec<TraceEntry>, u64) {
        let mut counter = 0u64;
        let mut pending: Vec<Option<(u64, u64)>> = vec![None; procs];
        let mut done = vec![0usize; procs];
        let mut entries = Vec::new();
        let mut clock = 0u64;
        let mut pick = schedule.iter().cycle();
        while done.iter().any(|&d| d < iters) {
            let w = *pick.next().unwrap() % procs;
            let w = (0..procs)
                .map(|k| (w + k) % procs)
                .find(|&k| done[k] < iters)
                .unwrap();
            clock += 1;
            match pending[w].take() {
                None => pending[w] = Some((counter, clock)),
                Some((read, t_read)) => {
                    let prev = std::mem::replace(&mut counter, read + 1);
                    entries.push(TraceEntry {
                        worker: w as u32,
                        seq: done[w] as u64,
                        read,
                        wrote: read + 1,
                        prev,
                        t_read_ns: t_read,
                        t_write_ns: clock,
                    });
                    done[w] += 1;
                }
            }
        }
        (entries, counter)
    }

    proptest! {
        #[test]
        fn explained_losses_equal_expected_minus_final(
            procs in 1usize..6,
            iters in 1usize..30,
            schedule in proptest::collection::vec(0usize..6, 1..200),
        ) {
            let (entries, total) = simulate(procs, iters, &schedule);
            let x = explain(&entries);
            prop_assert_eq!(x.lost(), (procs * iters) as i128 - i128::from(total));
            let t = x.tally();
            prop_assert_eq!(
                overwrites(&entries).len() as u64,
                t.collision_lost + t.stale_lost
            );
            prop_assert_eq!(
                x.clean + t.collision_lost + t.stale + t.restores,
                x.writes
            );
        }
    }
}
