//! The doors of Patchman's own clients: protocol 1 (`patchman-client`'s multipart upload to
//! `/reports/upload/`). They read the upload into a domain `Report` and hand it to the same
//! ingest as gRPC; no other part of the server knows these formats.

pub mod protocol1;
mod quoted;
mod upload;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;

pub use upload::UploadState;

/// The upload routes, with bodies limited to `max_bytes` (the gRPC message limit).
pub fn router(state: UploadState, max_bytes: usize) -> Router {
    Router::new()
        .route("/reports/upload/", post(upload::upload))
        .route("/patchman/reports/upload/", post(upload::upload))
        .layer(DefaultBodyLimit::max(max_bytes))
        .with_state(state)
}
