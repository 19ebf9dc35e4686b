//! Which writes' increments each write undid or brought back, from the recorded links alone.
//!
//! After a write the counter's value is made of the write's own increment and those of the
//! write it read from, of the write that one read from, and so on back to the initial 0: its
//! *lineage*, one write at each value from 1 up. A write that read `read` (from write R) and
//! replaced `prev` (written by P) counts as the explanation counts it: a collision or a stale
//! write (`prev > read`) undid the `prev - read` increments of P's lineage above `read`, the
//! writes that had moved the counter from `read` to `prev`; a restore (`prev < read`) brought
//! back the `read - prev` increments of R's lineage above `prev`, writes a stale write had cut
//! off. Both are found by walking `read_from` links down from P or R: no value is matched
//! and no clock read.
//!
//! Once stale writes repeat values, two lineages can differ below `read` too (R and P's
//! ancestor at `read` being two writes of the same value). Those increments swap places, as
//! many each way, and a value cannot show it; they are left out, so that each write undoes or
//! brings back exactly as many increments as the explanation says it lost or restored.

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
/// in that order. `entries` must be an explained trace: every link names a write of it.
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
    order
        .iter()
        .map(|&i| {
            let e = &entries[i];
            Change {
                undid: above(e.overwrote, e.read),
                restored: above(e.read_from, e.prev),
            }
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
        // worker 1 writes 3 over the 1: a restore of worker 2's write. (Worker 1's first
        // write comes back too, in place of worker 0's: both wrote 1, a swap left out.)
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
        assert_eq!(truth[3].0, [w(0, 0)].into());
        assert_eq!(truth[3].1, [w(1, 0), w(2, 0)].into());
    }

    proptest! {
        /// Each write undoes (or brings back) exactly as many increments as it lost (or
        /// restored), and only increments the simulator's counter really lost (or regained)
        /// at that write.
        #[test]
        fn every_change_is_one_the_counter_made(
            events in proptest::collection::vec(0u32..5, 1..300),
        ) {
            let (entries, truth) = simulate(&events);
            let x = explain(&entries).unwrap();
            let c = changes(&entries, &x.order);
            for ((change, (undid, restored)), &i) in c.iter().zip(&truth).zip(&x.order) {
                let e = &entries[i];
                prop_assert_eq!(change.undid.len() as u64, e.prev.saturating_sub(e.read));
                prop_assert_eq!(change.restored.len() as u64, e.read.saturating_sub(e.prev));
                prop_assert!(names(&entries, &change.undid).is_subset(undid));
                prop_assert!(names(&entries, &change.restored).is_subset(restored));
            }
        }
    }
}
