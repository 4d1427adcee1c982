//! libreport: the host side of patchman.
//!
//! `collect` reads the host's state (packages, repositories, OS, kernel, reboot state) from
//! files under a root directory; `model` holds it as plain values; `transport` sends it to
//! the server (the only module that knows protobuf); `state` keeps the host token; `spool`
//! keeps what is not delivered yet; `hooks` is what package-manager hooks share.
pub mod collect;
pub mod fuzzing;
pub mod hooks;
pub mod model;
pub mod spool;
pub mod state;
pub mod transport;
