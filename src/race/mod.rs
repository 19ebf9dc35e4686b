//! The race itself: the shared page and its counter, the workers and the ways they increment
//! it (modes, windows, pauses), forking them, one trial, and the run of every trial.

#[allow(unsafe_code)]
pub(crate) mod fork;
pub mod lock;
pub mod mode;
#[allow(unsafe_code)]
pub mod page;
pub(crate) mod pause;
pub mod pin;
pub(crate) mod run;
pub(crate) mod schedule;
pub mod trial;
pub mod window;
pub mod worker;
