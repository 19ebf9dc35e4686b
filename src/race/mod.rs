//! The race itself: the shared page and its counter, forking workers and watching them, the
//! code the workers run (`child`), and the runners that make one trial of each kind.

pub(crate) mod child;
#[allow(unsafe_code)]
pub(crate) mod fork;
pub mod job;
#[allow(unsafe_code)]
pub mod page;
pub mod runner;
