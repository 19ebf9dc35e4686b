//! The real order of a trial's writes, rebuilt from the values they replaced.
//!
//! A traced write's clock time is read after its swap (or store under the lock), outside any
//! lock: two writes a few hundred ns apart can carry reversed times, so the clock is no order.
//! The values are. Every write is one step of a single chain on the counter:
//!
//! - the first write replaced 0, and each later one replaced (`prev`) the value the write
//!   right before it wrote;
//! - each worker's writes come in its own `seq` order;
//! - what a worker read (`read`) was on the counter at some point between its own previous
//!   write (or the start) and this write: a load cannot see an older value than its own last
//!   write, nor a newer one than the write that follows it (cache coherence; with a lock,
//!   the lock's order).
//!
//! [`rebuild`] finds an order that satisfies all three by a depth-first search. At each step
//! the candidates are the workers whose next write fits the counter's current value; the one
//! stamped earliest by the clock is tried first (then the lowest-numbered worker), the others
//! kept to try if that leads to a dead end. A greedy pick can dead-end: after a stale write
//! knocks the counter back, values repeat, and a write that fits by its value can be one that
//! really came later, stranding another. The clock decides nothing the values decide; where
//! they leave a choice (two collision writes of one value, say, or two writes of one value in
//! two episodes), it picks the order nearest to the stamps, which without it would be
//! arbitrary (measured with lowest-worker-first instead: in traces whose clock order itself
//! fits the values, the order found put writes up to 0.76 ms away from it).
//!
//! States proven to lead nowhere are remembered and not searched twice, and the search undoes
//! at most [`MAX_UNDONE`] steps in all, so it always ends. The order found is the same every
//! time for the same trace: the first in that order of preference.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::analysis::explain::TraceEntry;

/// Most placements the search may undo before it gives up. Measured on 2 cores over 820 real
/// traces (`benches/trace_check.py`), the most undone was 6,126, at 2 × 20000 with no window.
pub(super) const MAX_UNDONE: u64 = 1_000_000;

/// Why no order was found: the trace is corrupted (or, for [`Unordered::GaveUp`], too
/// ambiguous to settle within the search's bound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unordered {
    /// No order fits: at best `placed` of `writes` writes chain up, leaving the counter at
    /// `value`, which no remaining write replaced.
    Inconsistent {
        placed: usize,
        writes: usize,
        value: u64,
    },
    /// The search undid [`MAX_UNDONE`] steps without finding an order.
    GaveUp { writes: usize },
}

impl fmt::Display for Unordered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unordered::Inconsistent {
                placed,
                writes,
                value,
            } => write!(
                f,
                "the trace is inconsistent: its writes chain up to {placed} of {writes} at best, \
                 and no remaining write replaced the value {value} left there"
            ),
            Unordered::GaveUp { writes } => write!(
                f,
                "no order of the trace's {writes} writes found within {MAX_UNDONE} search steps"
            ),
        }
    }
}

/// One placed write: what to restore when it is undone, and the other candidates left.
struct Frame {
    lane: usize,
    since: usize,
    value: u64,
    others: Vec<usize>,
}

struct Search<'e> {
    entries: &'e [TraceEntry],
    /// Entry indices of each worker, in `seq` order; lanes by ascending worker number.
    lanes: Vec<Vec<usize>>,
    /// Next unplaced write of each lane.
    next: Vec<usize>,
    /// Position (1-based) of each lane's last placed write; 0 before its first.
    since: Vec<usize>,
    order: Vec<usize>,
    value: u64,
    /// For each value, the positions at which the counter took it (0: the start, for 0).
    taken: HashMap<u64, Vec<usize>>,
    frames: Vec<Frame>,
}

impl Search<'_> {
    fn head(&self, lane: usize) -> Option<&TraceEntry> {
        self.lanes[lane]
            .get(self.next[lane])
            .map(|&i| &self.entries[i])
    }

    /// Whether `read` was on the counter since the lane's previous write.
    fn seen(&self, lane: usize, read: u64) -> bool {
        self.taken
            .get(&read)
            .and_then(|at| at.last())
            .is_some_and(|&at| at >= self.since[lane])
    }

    fn candidates(&self) -> Vec<usize> {
        (0..self.lanes.len())
            .filter(|&lane| {
                self.head(lane)
                    .is_some_and(|e| e.prev == self.value && self.seen(lane, e.read))
            })
            .collect()
    }

    fn place(&mut self, lane: usize, others: Vec<usize>) {
        let index = self.lanes[lane][self.next[lane]];
        self.frames.push(Frame {
            lane,
            since: self.since[lane],
            value: self.value,
            others,
        });
        self.order.push(index);
        self.next[lane] += 1;
        self.since[lane] = self.order.len();
        self.value = self.entries[index].wrote;
        self.taken
            .entry(self.value)
            .or_default()
            .push(self.order.len());
    }

    fn undo(&mut self, frame: &Frame) {
        if let Some(at) = self.taken.get_mut(&self.value) {
            at.pop();
        }
        self.order.pop();
        self.next[frame.lane] -= 1;
        self.since[frame.lane] = frame.since;
        self.value = frame.value;
    }

    /// What decides the rest of the search: where each lane stands, the counter, and which
    /// lanes' next reads have already been on the counter.
    fn state(&self) -> Vec<u64> {
        let mut key: Vec<u64> = self.next.iter().map(|&n| n as u64).collect();
        key.push(self.value);
        for lane in 0..self.lanes.len() {
            key.push(u64::from(
                self.head(lane).is_some_and(|e| self.seen(lane, e.read)),
            ));
        }
        key
    }
}

/// One order of `entries` (as indices into it) that fits the chain of values, or why none
/// was found.
pub(super) fn rebuild(entries: &[TraceEntry]) -> Result<Vec<usize>, Unordered> {
    let mut by_worker: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for (i, e) in entries.iter().enumerate() {
        by_worker.entry(e.worker).or_default().push(i);
    }
    let mut lanes: Vec<Vec<usize>> = by_worker.into_values().collect();
    for lane in &mut lanes {
        lane.sort_by_key(|&i| entries[i].seq);
    }
    let count = lanes.len();
    let mut search = Search {
        entries,
        lanes,
        next: vec![0; count],
        since: vec![0; count],
        order: Vec::with_capacity(entries.len()),
        value: 0,
        taken: HashMap::from([(0, vec![0])]),
        frames: Vec::with_capacity(entries.len()),
    };
    let mut dead: HashSet<Vec<u64>> = HashSet::new();
    let mut undone = 0u64;
    let (mut best, mut best_value) = (0, 0);
    while search.order.len() < entries.len() {
        let mut candidates = if !dead.is_empty() && dead.contains(&search.state()) {
            Vec::new()
        } else {
            search.candidates()
        };
        if !candidates.is_empty() {
            candidates.sort_by_key(|&lane| search.head(lane).map(|e| (e.t_write_ns, e.worker)));
            let first = candidates.remove(0);
            search.place(first, candidates);
            continue;
        }
        if search.order.len() >= best {
            (best, best_value) = (search.order.len(), search.value);
        }
        // A dead end: undo placements back to the last one with an untried alternative.
        dead.insert(search.state());
        loop {
            let Some(mut frame) = search.frames.pop() else {
                return Err(Unordered::Inconsistent {
                    placed: best,
                    writes: entries.len(),
                    value: best_value,
                });
            };
            search.undo(&frame);
            undone += 1;
            if undone > MAX_UNDONE {
                return Err(Unordered::GaveUp {
                    writes: entries.len(),
                });
            }
            if frame.others.is_empty() {
                dead.insert(search.state());
                continue;
            }
            let lane = frame.others.remove(0);
            search.place(lane, std::mem::take(&mut frame.others));
            break;
        }
    }
    Ok(search.order)
}
