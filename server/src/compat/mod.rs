//! The doors of Patchman's own clients: protocol 1 (`patchman-client`'s multipart upload to
//! `/reports/upload/`) and protocol 2 (its JSON to `/api/report/`). They read who sent the
//! upload (`sender`) and the upload into a domain `Report` (`values` holds the rules both
//! share) and hand it to the same ingest as gRPC; no other part of the server knows these
//! formats.

mod api_report;
pub mod import;
mod json;
pub mod protocol1;
pub mod protocol2;
mod quoted;
mod refusal;
mod sender;
mod submit;
mod upload;
mod values;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

pub use sender::Trust;
pub use submit::UploadState;

/// The upload routes, with bodies limited to `max_bytes` (the gRPC message limit). Each is
/// also under `/patchman/`, where Patchman's Apache configuration puts them.
pub fn router(state: UploadState, max_bytes: usize) -> Router {
    Router::new()
        .route("/reports/upload/", post(upload::upload))
        .route("/patchman/reports/upload/", post(upload::upload))
        .route("/api/report/", post(api_report::upload))
        .route("/patchman/api/report/", post(api_report::upload))
        .layer(DefaultBodyLimit::max(max_bytes))
        .with_state(state)
}
