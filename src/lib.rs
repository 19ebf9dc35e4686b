//! racecount: forked workers racing on one counter in a shared page.
//!
//! The modules are layers, each importing only the layers before it (the order is written
//! once, in `tests/layers.rs`, which checks every `use crate::` line; see ARCHITECTURE.md):
//!
//! - [`model`]: plain types every layer shares (settings, modes, locks, windows, trace
//!   entries, units); imports nothing from the crate;
//! - [`probe`]: what racecount reads off the machine, once, before a run;
//! - `results`: what the trials did, as plain data;
//! - [`analysis`]: what the results mean: statistics, the trace's explanation;
//! - [`race`]: the race itself: the shared page, forking, the child's code, the runners;
//! - [`store`]: the counter in a database, behind the same runner interface;
//! - `run`: every trial of every group, through one runner;
//! - `output`: one renderer per output format, the progress bar, extra files;
//! - [`command`]: the command line, validated once into a config;
//! - [`app`]: the wiring, and the one place errors become a line and an exit status.
//!
//! `unsafe` code lives only in `race::page` (the shared mapping) and `race::fork` (forking,
//! reaping, signals), and in the few files of `race::child` that call the C library on the
//! page's locks.

#![deny(unsafe_code)]
#![warn(unreachable_pub)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod analysis;
pub mod app;
pub mod command;
pub mod exit;
pub mod model;
mod output;
pub mod probe;
pub mod race;
mod results;
mod run;
pub(crate) mod store;
