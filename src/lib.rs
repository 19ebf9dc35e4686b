//! racecount: forked workers racing on one counter in a shared page.
//!
//! Data flows one way: [`cli`] options → validated [`config`] → [`run`] of [`trial`]s →
//! [`results`] → one [`render`]er per output format.
//!
//! `unsafe` code lives only in [`page`] (the shared mapping and its lock) and [`fork`]
//! (forking, reaping, signals).

#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]

pub mod app;
pub mod cli;
pub mod config;
pub mod duration;
pub mod exit;
mod explain;
#[allow(unsafe_code)]
mod fork;
mod machine;
pub mod mode;
mod overlap;
#[allow(unsafe_code)]
pub mod page;
mod pause;
mod progress;
mod render;
mod results;
mod run;
mod schedule;
mod stats;
pub mod trial;
pub mod window;
pub mod worker;
