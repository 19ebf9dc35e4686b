//! Turns a trial's trace into an account of every lost update. Pure: no I/O, no clock.
//!
//! Every traced write records the value it read (`read`), wrote (`read + 1`) and replaced
//! (`prev`). The writes happened in one order (swaps, or stores under the lock), each
//! replacing what the one before it wrote; [`order::rebuild`] recovers that order from the
//! values alone (the clock times cannot be trusted for it). Walked in that order, each write
//! falls in one class by `prev − read`:
//!
//! - `0`: a clean increment, nothing lost;
//! - `1`: a **collision**: it wrote `read + 1` over the `read + 1` that the write right before
//!   it (its partner) had written. One episode is the write that first wrote that value and
//!   the run of collision writes right after it: k writes, k − 1 updates lost;
//! - `≥ 2`: a **stale write**: it read `read`, others moved the counter on to `prev`
//!   meanwhile, and writing `read + 1` undid `prev − read` increments;
//! - `< 0`: a **restore**: a stale write had knocked the counter back below what this worker
//!   read, so writing `read + 1` brought `read − prev` of the undone increments back.
//!
//! Summed over a chain, `wrote − prev` telescopes to the final value, so collisions + stale −
//! restored = procs × iters − final holds by algebra once the chain holds: `trial` compares
//! it with the counter, which catches a trace that does not end where the counter did, and
//! nothing more. What names the right workers is the order, checked against an independent
//! model in `tests/trace_oracle.rs`.

mod order;

use std::collections::HashMap;

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

/// Explains a trace (any order of entries), or says why its writes fit no order.
pub fn explain(entries: &[TraceEntry]) -> Result<Explanation, Unordered> {
    let order = order::rebuild(entries)?;
    let mut clean = 0;
    let mut collisions: Vec<Collision> = Vec::new();
    let mut stale = Vec::new();
    let mut restores = Vec::new();
    // Whether the last write was a collision, so that the next one joins its episode.
    let mut in_episode = false;
    for (at, &i) in order.iter().enumerate() {
        let e = &entries[i];
        let before = at.checked_sub(1).map(|b| &entries[order[b]]);
        let collided = e.prev == e.read + 1;
        match e.prev.cmp(&e.read) {
            std::cmp::Ordering::Equal => clean += 1,
            std::cmp::Ordering::Greater if collided => {
                let partner = before.expect("a write that replaced read + 1 follows another");
                match collisions.last_mut() {
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
                }
            }
            std::cmp::Ordering::Greater => stale.push(StaleWrite {
                worker: e.worker,
                seq: e.seq,
                read: e.read,
                prev: e.prev,
                waited_ns: e.t_write_ns.saturating_sub(e.t_read_ns),
                overwrote: WriteRef::of(before.expect("a write that replaced prev > 0 follows")),
            }),
            std::cmp::Ordering::Less => restores.push(Restore {
                worker: e.worker,
                seq: e.seq,
                read: e.read,
                prev: e.prev,
            }),
        }
        in_episode = collided;
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

/// For every write that lost updates (`prev > read`), one [`Overwrite`] per update lost: for
/// each value in `read + 1 ..= prev`, the last write of that value before it in `order` (the
/// rebuilt order of [`Explanation::order`]). For a collision that is its partner.
pub fn overwrites(entries: &[TraceEntry], order: &[usize]) -> Vec<Overwrite> {
    let mut last: HashMap<u64, usize> = HashMap::new();
    let mut found = Vec::new();
    for &by in order {
        let e = &entries[by];
        for value in e.read + 1..=e.prev {
            if let Some(&victim) = last.get(&value) {
                found.push(Overwrite { victim, by });
            }
        }
        last.insert(e.wrote, by);
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
                    step: None,
                }
            })
            .collect()
    }

    #[test]
    fn clean_increments_lose_nothing() {
        let t = trace(&[(0, 0, 0, 0, 1), (1, 1, 1, 2, 3), (0, 2, 2, 4, 5)]);
        let x = explain(&t).unwrap();
        assert_eq!((x.writes, x.clean, x.lost()), (3, 3, 0));
        assert!(x.collisions.is_empty() && x.stale.is_empty() && x.restores.is_empty());
        assert!(overwrites(&t, &x.order).is_empty());
    }

    #[test]
    fn two_workers_reading_the_same_value_lose_one() {
        // Workers 3 and 7 both read 0 and wrote 1; then worker 3 reads 1 and writes 2.
        let t = trace(&[(3, 0, 0, 0, 10), (7, 0, 1, 1, 11), (3, 1, 1, 12, 13)]);
        let x = explain(&t).unwrap();
        assert_eq!(
            x.collisions,
            [Collision {
                read: 0,
                workers: vec![3, 7],
                lost: 1,
                writes: vec![
                    WriteRef { worker: 3, seq: 0 },
                    WriteRef { worker: 7, seq: 0 }
                ],
            }]
        );
        assert_eq!((x.clean, x.lost()), (2, 1));
        assert_eq!(overwrites(&t, &x.order), [Overwrite { victim: 0, by: 1 }]);
    }

    #[test]
    fn three_way_collision_loses_two() {
        let t = trace(&[(0, 0, 0, 0, 5), (1, 0, 1, 1, 6), (2, 0, 1, 2, 7)]);
        let x = explain(&t).unwrap();
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
        let x = explain(&t).unwrap();
        assert_eq!(
            x.stale,
            [StaleWrite {
                worker: 2,
                seq: 0,
                read: 0,
                prev: 3,
                waited_ns: 8_100,
                overwrote: WriteRef { worker: 0, seq: 2 },
            }]
        );
        assert_eq!(x.lost(), 3);
        let over = overwrites(&t, &x.order);
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
        let x = explain(&t).unwrap();
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

    #[test]
    fn the_order_comes_from_the_values_not_the_clock() {
        // Worker 1's write is stamped first, but it replaced the 1 that worker 0 wrote: the
        // collision pairs them, and the stale write after names worker 1's write.
        let t = trace(&[
            (0, 0, 0, 0, 900),
            (1, 0, 1, 0, 100),
            (2, 0, 1, 0, 950),
            (0, 1, 1, 950, 990),
        ]);
        let x = explain(&t).unwrap();
        assert_eq!(
            x.collisions[0].writes,
            [
                WriteRef { worker: 0, seq: 0 },
                WriteRef { worker: 1, seq: 0 },
                WriteRef { worker: 2, seq: 0 }
            ]
        );
        assert_eq!(x.order, [0, 1, 2, 3]);
    }

    #[test]
    fn collisions_of_one_value_in_two_episodes_are_two_groups() {
        // Workers 0 and 1 collide on 1 -> 2; worker 0 counts on to 3; worker 2, which read 0
        // at the start, knocks it back to 1; worker 0 counts 1 -> 2 again and worker 1's next
        // write (it read 1 after the knock-back) collides with it.
        let t = trace(&[
            (0, 0, 0, 0, 1),
            (0, 1, 1, 1, 2),
            (1, 1, 2, 1, 3),
            (0, 2, 2, 3, 4),
            (2, 0, 3, 0, 5),
            (0, 1, 1, 5, 6),
            (1, 1, 2, 5, 7),
        ]);
        let x = explain(&t).unwrap();
        let groups: Vec<(u64, &[u32], u64)> = x
            .collisions
            .iter()
            .map(|c| (c.read, &c.workers[..], c.lost))
            .collect();
        assert_eq!(groups, [(1, &[0, 1][..], 1), (1, &[0, 1][..], 1)]);
        assert_eq!(x.stale[0].overwrote, WriteRef { worker: 0, seq: 2 });
        assert_eq!(x.lost(), 7 - 2);
    }

    #[test]
    fn a_trace_whose_values_do_not_chain_is_refused() {
        // Nothing ever wrote the 5 that worker 1 claims to have replaced.
        let t = trace(&[(0, 0, 0, 0, 1), (1, 1, 5, 2, 3)]);
        assert_eq!(
            explain(&t),
            Err(Unordered::Inconsistent {
                placed: 1,
                writes: 2,
                value: 1
            })
        );
    }

    #[test]
    fn a_worker_cannot_collide_with_its_own_write() {
        // Worker 0 wrote 2, then read 1 again: only after worker 1 knocked the counter back.
        // Its write of 2 over 2 fits right after its own write of 2 by the values alone, but
        // its read puts it after the knock-back, colliding with worker 2.
        let t = trace(&[
            (0, 0, 0, 0, 1),
            (0, 1, 1, 1, 2),
            (1, 0, 2, 0, 3),
            (2, 1, 1, 1, 4),
            (0, 1, 2, 2, 5),
        ]);
        let x = explain(&t).unwrap();
        assert_eq!(x.collisions.len(), 1);
        assert_eq!(
            x.collisions[0].writes,
            [
                WriteRef { worker: 2, seq: 0 },
                WriteRef { worker: 0, seq: 2 }
            ]
        );
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
                        step: None,
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
            let x = explain(&entries).unwrap();
            prop_assert_eq!(x.lost(), (procs * iters) as i128 - i128::from(total));
            prop_assert_eq!(entries[x.order[x.order.len() - 1]].wrote, total);
            for c in &x.collisions {
                prop_assert!(c.workers.len() >= 2 && c.workers.len() == c.writes.len());
            }
            let t = x.tally();
            prop_assert_eq!(
                overwrites(&entries, &x.order).len() as u64,
                t.collision_lost + t.stale_lost
            );
            prop_assert_eq!(
                x.clean + t.collision_lost + t.stale + t.restores,
                x.writes
            );
        }
    }
}
