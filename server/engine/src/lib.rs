//! The update engine and version comparison: pure functions, no IO.

pub mod vercmp;
