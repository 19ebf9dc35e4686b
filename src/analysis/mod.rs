//! What the results mean: summary statistics and relative speed, and the explanation of every
//! lost update in a traced trial. Pure code: no I/O, no clock.

pub(crate) mod diagnosis;
pub mod explain;
pub(crate) mod overlap;
pub mod replay;
pub(crate) mod stats;
