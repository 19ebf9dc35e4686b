//! The command line: options as clap sees them, and the validated configuration they become,
//! checked once before anything is forked.

mod checks;
pub mod cli;
pub mod completion;
pub mod config;
pub mod error;
pub mod estimate;
pub mod manual;
