//! The patchman wire protocol, `patchman.v1`: generated message types, clients, the query
//! services' servers, and the server side of `ReportService` (whose `Submit` receives a
//! `RawReport`).
pub mod codec;
mod raw;

#[allow(clippy::all, clippy::pedantic, missing_docs)]
mod generated {
    tonic::include_proto!("patchman.v1");
}

/// The server side of `patchman.v1.ReportService`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod report_service_server {
    include!(concat!(env!("OUT_DIR"), "/patchman.v1.ReportService.rs"));
    pub use report_service_server::*;
}

pub use generated::*;

/// The encoded `FileDescriptorSet` of `patchman.v1`, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/patchman_descriptor.bin"));
pub use raw::{RawReport, ReportPeek};
