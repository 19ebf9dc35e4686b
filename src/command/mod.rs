//! The command line: options as clap sees them, durations, and the validated configuration
//! they become, checked once before anything is forked.

pub mod cli;
pub mod completion;
pub mod config;
pub mod duration;
pub mod estimate;
pub mod manual;
