//! libreport: the host side of patchman.
//!
//! `collect` reads the host's state (packages, repositories, OS, kernel, reboot state) from
//! files under a root directory; `model` holds it as plain values; `transport` sends it to
//! the server (the only module that knows protobuf); `state` keeps the host token.
pub mod collect;
pub mod model;
pub mod state;
pub mod transport;
