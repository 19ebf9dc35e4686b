//! A traced increment as a worker recorded it: the raw facts a trace is made of.

use serde::{Deserialize, Serialize};

use super::lock::Lock;
use super::mode::Mode;
use super::settings::Params;

/// One traced increment, as the worker recorded it. Times are ns since the trial's first read.
///
/// `read_from` and `overwrote` are what the counter itself said: each write carried its own
/// tag into the counter's word, the read saw the tag of the write it read, and the write's
/// swap returned the tag of the write it replaced. `None` is the counter's initial 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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
    /// The write whose value the read saw.
    pub read_from: Option<WriteRef>,
    /// The write this write replaced: its exact predecessor in the counter's order.
    pub overwrote: Option<WriteRef>,
    pub t_read_ns: u64,
    pub t_write_ns: u64,
    /// Under `--schedule`, the write's step number in the trial (from 1): the scheduled order.
    pub step: Option<u64>,
}

/// One write, by worker and its 0-based increment number within the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WriteRef {
    pub worker: u32,
    pub seq: u64,
}

impl WriteRef {
    /// The write that `e` records.
    pub fn of(e: &TraceEntry) -> WriteRef {
        WriteRef {
            worker: e.worker,
            seq: e.seq,
        }
    }
}

impl WriteRef {
    /// The write a counter tag names (1 + worker × iters + seq), for a trial of `iters`
    /// increments per worker; `None` for tag 0, the initial value.
    pub fn from_tag(tag: u64, iters: u64) -> Option<WriteRef> {
        let number = tag.checked_sub(1)?;
        Some(WriteRef {
            worker: u32::try_from(number / iters.max(1)).unwrap_or(u32::MAX),
            seq: number % iters.max(1),
        })
    }
}

/// A recorded traced trial to run again (`--replay FILE[:TRIAL]`): what ran, what it ended at,
/// every write as recorded, and the steps that replay it, worker by worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Replay {
    /// The file it came from, as given.
    pub file: String,
    /// Its 1-based trial number in that run.
    pub trial: u64,
    pub mode: Mode,
    pub lock: Option<Lock>,
    pub params: Params,
    /// The counter's final value in the recorded trial.
    pub total: u64,
    pub entries: Vec<TraceEntry>,
    /// Which worker takes each step of the replay, in order.
    pub script: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_each_write_once() {
        assert_eq!(WriteRef::from_tag(0, 20), None);
        assert_eq!(
            WriteRef::from_tag(1, 20),
            Some(WriteRef { worker: 0, seq: 0 })
        );
        assert_eq!(
            WriteRef::from_tag(20, 20),
            Some(WriteRef { worker: 0, seq: 19 })
        );
        assert_eq!(
            WriteRef::from_tag(21, 20),
            Some(WriteRef { worker: 1, seq: 0 })
        );
    }
}
