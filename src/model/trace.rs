//! A traced increment as a worker recorded it: the raw facts a trace is made of.

use serde::Serialize;

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
    /// Under `--schedule`, the write's step number in the trial (from 1): the scheduled order.
    pub step: Option<u64>,
}

/// One write, by worker and its 0-based increment number within the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
