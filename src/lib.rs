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
pub mod error;
pub mod explain;
#[allow(unsafe_code)]
pub mod fork;
pub mod machine;
pub mod mode;
#[allow(unsafe_code)]
pub mod page;
pub mod progress;
pub mod render;
pub mod results;
pub mod run;
pub mod stats;
pub mod store;
pub mod trial;
pub mod worker;
