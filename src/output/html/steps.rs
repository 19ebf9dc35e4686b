//! A traced trial's writes for the page's step-through, from the links the trace recorded:
//! the real order is the explanation's (the chain of `overwrote` links), each write names the
//! step it read from and the step it replaced by those links, and the increments it undid or
//! brought back come from `explain::changes` (walked down `read_from`). No value is matched
//! and no clock compared here; times only place the marks on the axis.

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::explain::{TrialTrace, WriteKind, WriteRef, changes};
use crate::output::explanation::Sentence;
use crate::output::scale::write_times;

/// [`Step`]'s fields, in the order of its rows.
pub(super) const STEP_FIELDS: [&str; 14] = [
    "worker",
    "seq",
    "read",
    "wrote",
    "prev",
    "t_read_ns",
    "t_write_ns",
    "read_from",
    "replaced",
    "kind",
    "undid",
    "restored",
    "lost_by",
    "sentence",
];

/// One write, at its place in the real order; serialized as a row of [`STEP_FIELDS`]. Every
/// index is a step: an index into the race's `writes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Step {
    pub worker: u32,
    /// 0-based increment number within the worker.
    pub seq: u64,
    pub read: u64,
    pub wrote: u64,
    /// The value it replaced.
    pub prev: u64,
    pub t_read_ns: u64,
    /// Where to draw it: its clock time, or later where a write before it in the real order
    /// was stamped later.
    pub t_write_ns: u64,
    /// The step whose value it read (its `read_from`); `None` for the initial 0.
    pub read_from: Option<usize>,
    /// The step whose value it replaced (its `overwrote`); `None` for the initial 0.
    pub replaced: Option<usize>,
    pub kind: WriteKind,
    /// The steps whose increments it took off the counter (`prev - read` of them).
    pub undid: Vec<usize>,
    /// The steps whose increments it put back (`read - prev` of them).
    pub restored: Vec<usize>,
    /// The step that took this write's increment off the counter for good (never put back);
    /// `None` when it counted in the total.
    pub lost_by: Option<usize>,
    /// Index into the sentences of the one about this write: its own, or for the first write
    /// of a collision episode, the episode's line.
    pub sentence: Option<usize>,
}

impl Serialize for Step {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let row = (
            self.worker,
            self.seq,
            self.read,
            self.wrote,
            self.prev,
            self.t_read_ns,
            self.t_write_ns,
            self.read_from,
            self.replaced,
            self.kind,
            &self.undid,
            &self.restored,
            self.lost_by,
            self.sentence,
        );
        row.serialize(serializer)
    }
}

/// The writes of `trace` in their real order, each with the writes it read and replaced, the
/// increments it undid and brought back, which write undid its own for good, and which of
/// `said` is about it.
pub(super) fn steps(trace: &TrialTrace, said: &[Sentence]) -> Vec<Step> {
    let (entries, order) = (&trace.entries, &trace.explanation.order);
    let mut step_of_entry = vec![0; entries.len()];
    for (step, &i) in order.iter().enumerate() {
        step_of_entry[i] = step;
    }
    let step_of: HashMap<WriteRef, usize> = order
        .iter()
        .enumerate()
        .map(|(step, &i)| (WriteRef::of(&entries[i]), step))
        .collect();
    let link = |w: Option<WriteRef>| w.and_then(|w| step_of.get(&w).copied());
    let drawn = write_times(entries, order);
    let mut steps: Vec<Step> = order
        .iter()
        .zip(changes(entries, order))
        .map(|(&i, change)| {
            let e = &entries[i];
            let to_steps = |v: Vec<usize>| v.into_iter().map(|i| step_of_entry[i]).collect();
            Step {
                worker: e.worker,
                seq: e.seq,
                read: e.read,
                wrote: e.wrote,
                prev: e.prev,
                t_read_ns: e.t_read_ns,
                t_write_ns: drawn[i],
                read_from: link(e.read_from),
                replaced: link(e.overwrote),
                kind: WriteKind::of(e),
                undid: to_steps(change.undid),
                restored: to_steps(change.restored),
                lost_by: None,
                sentence: None,
            }
        })
        .collect();
    for by in 0..steps.len() {
        for v in steps[by].undid.clone() {
            steps[v].lost_by = Some(by);
        }
        for v in steps[by].restored.clone() {
            steps[v].lost_by = None;
        }
    }
    attach(&mut steps, said, |w| step_of.get(w).copied());
    steps
}

/// Gives each write the index of its sentence: the one of its own kind that names it;
/// then, for an episode's first write (which has none), the episode's line: its increment is
/// the one the collisions overwrote.
fn attach(steps: &mut [Step], said: &[Sentence], step_of: impl Fn(&WriteRef) -> Option<usize>) {
    for (index, sentence) in said.iter().enumerate() {
        for step in sentence.writes.iter().filter_map(&step_of) {
            if sentence.about == Some(steps[step].kind) {
                steps[step].sentence = Some(index);
            }
        }
    }
    for (index, sentence) in said.iter().enumerate() {
        if sentence.about == Some(WriteKind::Collision) {
            for step in sentence.writes.iter().filter_map(&step_of) {
                steps[step].sentence.get_or_insert(index);
            }
        }
    }
}
