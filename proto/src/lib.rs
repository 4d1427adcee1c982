//! The patchman wire protocol, `patchman.v1`: generated message types, the client, and the
//! server side of `ReportService` (whose `Submit` receives a `RawReport`).
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
pub use raw::{RawReport, ReportPeek};
