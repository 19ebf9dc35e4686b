//! racecount: forked workers racing on one counter in a shared page.
//!
//! The folders follow the data, which flows one way (see ARCHITECTURE.md):
//!
//! - [`command`]: the command line ([`command::cli`]) validated once into a
//!   [`command::config::Config`];
//! - [`race`]: the race itself: the shared [`race::page`], the [`race::worker`]s that
//!   increment it, forking them (`race::fork`), each [`race::trial`] and the run of all (`race::run`);
//! - `results`: what the trials did, as plain data;
//! - [`analysis`]: what the results mean: statistics, the trace's explanation;
//! - `output`: one renderer per output format, the progress bar, extra files.
//!
//! `unsafe` code lives only in [`race::page`] (the shared mapping, its lock, the schedule's
//! turns) and `race::fork` (forking, reaping, signals).

#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod analysis;
pub mod app;
pub mod command;
pub mod exit;
pub mod machine;
mod output;
pub mod race;
mod results;
pub mod store;
