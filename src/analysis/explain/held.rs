//! Which writes' increments each write took off the counter or put back, counted as the
//! explanation counts them.
//!
//! The counter at value v is v increments, one at each value from 1 to v, each held by the
//! write that put it there. Walked in the real order (the chain of `overwrote` links), a write
//! that read `r` and replaced `p`:
//!
//! - `p >= r` (a clean write, a collision, a stale write): the writes holding `r + 1 ..= p`
//!   lose their increments (for a collision, its partner: the write it replaced; for a stale
//!   write, the `p - r` writes that moved the counter on while it waited), and it holds
//!   `r + 1`;
//! - `p < r` (a restore): it puts back the `r - p` increments at `p + 1 ..= r` that the value
//!   it read was made of (the writes of its read's lineage: the write it read from, the write
//!   that one read from, and so on, down the `read_from` links), each of which a stale write
//!   had taken off; and it holds `r + 1`.
//!
//! So after every write, the writes that hold nothing number writes so far − the counter's
//! value: after the last, procs × iters − total, each taken off by a named write. Values say
//! only where an increment sits; the order, what each write replaced and what each read saw
//! are the links'. (Increments are interchangeable: once stale writes repeat values, another
//! accounting could hand the same counts to other writes of the same value. This one keeps
//! every count the explanation gives, at every step.)

use std::collections::HashMap;

use crate::model::trace::{TraceEntry, WriteRef};

/// What one write did to the increments the counter holds, besides adding its own: indices
/// into the trace's entries, lowest value first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    /// The writes whose increments it took off the counter: `prev - read` of them.
    pub undid: Vec<usize>,
    /// The writes whose increments it put back: `read - prev` of them.
    pub restored: Vec<usize>,
}

/// The change each write of `order` (the explanation's order, indices into `entries`) made,
/// in that order. `entries` must be an explained trace: each write replaced the value the
/// write before it in `order` wrote, and every link names a write of it.
pub fn changes(entries: &[TraceEntry], order: &[usize]) -> Vec<Change> {
    let index: HashMap<WriteRef, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (WriteRef::of(e), i))
        .collect();
    let at = |w: Option<WriteRef>| w.and_then(|w| index.get(&w).copied());
    // The writes of `from`'s lineage that wrote more than `floor`, lowest first. Each link
    // goes down one value in an explained trace; one that does not ends the walk.
    let above = |from: Option<WriteRef>, floor: u64| {
        let mut found = Vec::new();
        let mut next = at(from);
        while let Some(i) = next.filter(|&i| entries[i].wrote > floor) {
            found.push(i);
            next = at(entries[i].read_from).filter(|&p| entries[p].wrote < entries[i].wrote);
        }
        found.reverse();
        found
    };
    // The write holding each value of the counter: `held[v - 1]` holds v.
    let mut held: Vec<usize> = Vec::new();
    order
        .iter()
        .map(|&i| {
            let e = &entries[i];
            let read = usize::try_from(e.read).unwrap_or(usize::MAX);
            let change = if e.prev >= e.read {
                Change {
                    undid: held.split_off(read.min(held.len())),
                    restored: Vec::new(),
                }
            } else {
                let restored = above(e.read_from, e.prev);
                held.extend(&restored);
                Change {
                    undid: Vec::new(),
                    restored,
                }
            };
            held.push(i);
            change
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    use super::*;
    use crate::analysis::explain::explain;

    type Held = HashSet<WriteRef>;

    /// A counter that knows which increments it holds: each write stores `read + 1` and the
    /// set its read saw plus itself. `events` are worker numbers, a worker's first event a
    /// read, its next a write. Returns the trace and, per write in the real order, the
    /// increments it took off and put back (the truth the links must give).
    fn simulate(events: &[u32]) -> (Vec<TraceEntry>, Vec<(Held, Held)>) {
        let mut counter: (u64, Option<WriteRef>, Held) = (0, None, Held::new());
        let mut pending: HashMap<u32, (u64, Option<WriteRef>, Held)> = HashMap::new();
        let mut seq: HashMap<u32, u64> = HashMap::new();
        let (mut entries, mut truth) = (Vec::new(), Vec::new());
        for (t, &w) in (0u64..).zip(events) {
            let Some((read, read_from, mut held)) = pending.remove(&w) else {
                pending.insert(w, counter.clone());
                continue;
            };
            let s = seq.entry(w).or_default();
            let me = WriteRef { worker: w, seq: *s };
            *s += 1;
            let undid: Held = counter.2.difference(&held).copied().collect();
            let restored: Held = held.difference(&counter.2).copied().collect();
            held.insert(me);
            let (prev, overwrote, _) = std::mem::replace(&mut counter, (read + 1, Some(me), held));
            truth.push((undid, restored));
            entries.push(TraceEntry {
                worker: w,
                seq: me.seq,
                read,
                wrote: read + 1,
                prev,
                read_from,
                overwrote,
                t_read_ns: t,
                t_write_ns: t,
                step: None,
            });
        }
        (entries, truth)
    }

    fn names(entries: &[TraceEntry], indices: &[usize]) -> Held {
        indices.iter().map(|&i| WriteRef::of(&entries[i])).collect()
    }

    #[test]
    fn a_stale_write_undoes_the_writes_after_the_one_it_read_and_a_restore_brings_them_back() {
        // Workers 0 and 1 read 0; worker 1 writes 1, worker 2 reads it and writes 2; worker 1
        // reads the 2; worker 0 writes 1 over it (a stale write: worker 1's and 2's undone);
        // worker 1 writes 3 over the 1: a restore of worker 2's write, which it read.
        let (entries, truth) = simulate(&[0, 1, 1, 2, 2, 1, 0, 1]);
        let x = explain(&entries).unwrap();
        assert_eq!((x.stale.len(), x.restores.len()), (1, 1));
        let c = changes(&entries, &x.order);
        let w = |worker, seq| WriteRef { worker, seq };
        // Lowest value first.
        assert_eq!(c[2].undid, [x.order[0], x.order[1]]);
        assert!(c[2].restored.is_empty());
        assert!(c[3].undid.is_empty());
        assert_eq!(names(&entries, &c[3].restored), [w(2, 0)].into());
        // The counter's own account gives worker 1's first write back in place of worker 0's
        // (both wrote 1): interchangeable increments, and the same counts.
        assert_eq!(truth[3].0, [w(0, 0)].into());
        assert_eq!(truth[3].1, [w(1, 0), w(2, 0)].into());
    }

    proptest! {
        /// Each write takes off (or puts back) as many increments as it lost (or restored), a
        /// collision its partner's; it puts back only writes that held nothing; and after
        /// each write the writes holding nothing number writes so far − the counter's value.
        #[test]
        fn every_count_of_the_explanation_at_every_step(
            events in proptest::collection::vec(0u32..5, 1..300),
        ) {
            let (entries, _) = simulate(&events);
            let x = explain(&entries).unwrap();
            let c = changes(&entries, &x.order);
            let mut off: HashSet<usize> = HashSet::new();
            for (step, (change, &i)) in c.iter().zip(&x.order).enumerate() {
                let e = &entries[i];
                prop_assert_eq!(change.undid.len() as u64, e.prev.saturating_sub(e.read));
                prop_assert_eq!(change.restored.len() as u64, e.read.saturating_sub(e.prev));
                if e.prev == e.read + 1 {
                    prop_assert_eq!(change.undid[0], x.order[step - 1]);
                }
                for r in &change.restored {
                    prop_assert!(off.remove(r), "{r} put back, but it held a value");
                }
                for u in &change.undid {
                    prop_assert!(off.insert(*u), "{u} taken off twice");
                }
                prop_assert_eq!(off.len() as u64, step as u64 + 1 - e.wrote);
            }
        }
    }
}
