//! The patchman wire protocol, `patchman.v1`: generated message and service types.
pub mod codec;

#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    tonic::include_proto!("patchman.v1");
}

pub use generated::*;
