//! The leaf layer: plain types that every other layer shares — the settings and their
//! parameters, modes, lock kinds, windows, schedule strategies, `--pin`, trace entries, the
//! machine's figures, the store as shown, and units. Nothing here imports anything else from
//! the crate, probes the machine or does I/O, so any module can use it without a cycle.

pub mod lease;
pub mod lock;
pub mod machine;
pub mod mode;
pub mod pin;
pub mod schedule;
pub mod settings;
pub mod store;
pub mod trace;
pub mod units;
pub mod window;
pub mod words;
