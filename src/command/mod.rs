//! The command line: options as clap sees them, and the validated configuration they become,
//! checked once before anything is forked.

mod checks;
pub mod cli;
pub(crate) mod completion;
pub mod config;
pub mod error;
pub(crate) mod estimate;
mod lease;
pub(crate) mod manual;
pub(crate) mod replay;
