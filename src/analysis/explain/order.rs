//! The real order of a trial's writes, as the counter recorded it.
//!
//! Under `--trace` every write put its own tag in the counter's word beside the value and
//! swapped it in; the swap returned the word it replaced, so each write knows its exact
//! predecessor (`overwrote`), and each read the write it saw (`read_from`). The writes form one
//! chain from the initial 0: [`chain`] follows it. No clock and no search are involved — clocks
//! cannot order writes a few hundred ns apart, and values alone leave several orders open once
//! stale writes and restores repeat a value (measured on the values-only search this replaced:
//! in traces of `-p 3 -i 5 -w yield` up to 16 orders fitted the values).
//!
//! What the chain must satisfy, and is checked here, since a corrupted trace must not be
//! explained: exactly one write replaced the initial value; no two writes replaced the same
//! one; every write replaced a write of the trace, and the value it recorded replacing is the
//! value that write wrote; every read saw a write of the trace, and the value it recorded is
//! that write's; each worker's writes come in its own `seq` order; and the chain, followed
//! from the start, reaches every write.

use std::collections::HashMap;
use std::fmt;

use crate::model::trace::{TraceEntry, WriteRef};

/// Why the recorded links do not form one chain: the trace is corrupted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unordered {
    /// Not exactly one write replaced the initial value (`starts` did).
    Starts { starts: usize },
    /// Two writes both replaced `write`.
    Forked { write: WriteRef },
    /// A write (`by`) names one (`missing`) that is not in the trace.
    Missing { by: WriteRef, missing: WriteRef },
    /// A write or read recorded a value that is not what the write it names wrote.
    Mismatch { by: WriteRef, names: WriteRef },
    /// A worker's writes are out of its own order, at `write`.
    OutOfOrder { write: WriteRef },
    /// Followed from the start, the chain reaches `reached` of `writes` writes.
    Broken { reached: usize, writes: usize },
    /// The first write read a value no write had stored yet.
    ReadAhead { write: WriteRef },
}

impl fmt::Display for Unordered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = |r: &WriteRef| format!("worker {} seq {}", r.worker, r.seq);
        match self {
            Unordered::Starts { starts } => write!(
                f,
                "{starts} writes replaced the counter's initial 0, where exactly one did"
            ),
            Unordered::Forked { write } => {
                write!(f, "two writes both replaced the write of {}", w(write))
            }
            Unordered::Missing { by, missing } => write!(
                f,
                "the write of {} names a write of {} that is not in the trace",
                w(by),
                w(missing)
            ),
            Unordered::Mismatch { by, names } => write!(
                f,
                "the write of {} recorded a value that the write of {} did not write",
                w(by),
                w(names)
            ),
            Unordered::OutOfOrder { write } => {
                write!(
                    f,
                    "the write of {} comes before its worker's earlier one",
                    w(write)
                )
            }
            Unordered::Broken { reached, writes } => write!(
                f,
                "the chain of writes from the start reaches {reached} of {writes} writes"
            ),
            Unordered::ReadAhead { write } => write!(
                f,
                "the first write, of {}, read a value no write had stored yet",
                w(write)
            ),
        }
    }
}

/// The writes in the order the counter took them, as indices into `entries` (in any order),
/// or why the recorded links do not form one chain.
pub(super) fn chain(entries: &[TraceEntry]) -> Result<Vec<usize>, Unordered> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let index: HashMap<WriteRef, usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (WriteRef::of(e), i))
        .collect();
    let mut next: HashMap<usize, usize> = HashMap::with_capacity(entries.len());
    let mut starts = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let me = WriteRef::of(e);
        check_source(entries, &index, me, e.read_from, e.read)?;
        match e.overwrote {
            None => {
                check_source(entries, &index, me, None, e.prev)?;
                starts.push(i);
            }
            Some(p) => {
                let before = check_source(entries, &index, me, Some(p), e.prev)?;
                if let Some(before) = before
                    && next.insert(before, i).is_some()
                {
                    return Err(Unordered::Forked { write: p });
                }
            }
        }
    }
    let [start] = starts[..] else {
        return Err(Unordered::Starts {
            starts: starts.len(),
        });
    };
    let mut order = Vec::with_capacity(entries.len());
    let mut at = Some(start);
    let mut done: HashMap<u32, u64> = HashMap::new();
    while let Some(i) = at {
        let e = &entries[i];
        if order.len() == entries.len() {
            break;
        }
        if done.get(&e.worker).is_some_and(|&last| last >= e.seq) {
            return Err(Unordered::OutOfOrder {
                write: WriteRef::of(e),
            });
        }
        done.insert(e.worker, e.seq);
        order.push(i);
        at = next.get(&i).copied();
    }
    if order.len() != entries.len() {
        return Err(Unordered::Broken {
            reached: order.len(),
            writes: entries.len(),
        });
    }
    Ok(order)
}

/// Checks that `source` (a write, or the initial value for `None`) is in the trace and wrote
/// `value`; returns its index.
fn check_source(
    entries: &[TraceEntry],
    index: &HashMap<WriteRef, usize>,
    by: WriteRef,
    source: Option<WriteRef>,
    value: u64,
) -> Result<Option<usize>, Unordered> {
    let Some(source) = source else {
        return if value == 0 {
            Ok(None)
        } else {
            Err(Unordered::Mismatch { by, names: by })
        };
    };
    let Some(&at) = index.get(&source) else {
        return Err(Unordered::Missing {
            by,
            missing: source,
        });
    };
    if entries[at].wrote != value {
        return Err(Unordered::Mismatch { by, names: source });
    }
    Ok(Some(at))
}
