//! Ingest: from a validated report to a committed one. Protocol-agnostic: the gRPC service
//! (and later the Patchman-compatible upload) call `submit`.

mod fast_path;
mod prepare;
mod yum_vars;

use crate::auth::TokenHash;
use crate::report::Report;
use crate::store::{Digest, IngestOutcome, IngestRejection, IngestStore, StoreError};

pub use self::fast_path::{Peek, touch_if_unchanged};
pub use self::prepare::{os_names, prepare};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unknown host token")]
    UnknownToken,
    #[error("the token does not belong to host {hostname}")]
    WrongHost { hostname: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a report came in, beyond what it says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Arrival {
    /// The digest of the report's state as encoded on the wire, kept for the unchanged fast path.
    pub wire_digest: Option<Digest>,
    /// The report says nothing of the host's repositories (Patchman's hooks send none): the
    /// host keeps those it has.
    pub keep_repos: bool,
}

/// Stores a report sent with `token`; returns once it is committed.
pub async fn submit(
    store: &dyn IngestStore,
    token: &str,
    report: Report,
    arrival: Arrival,
    now_ms: i64,
) -> Result<IngestOutcome, IngestError> {
    let hostname = report.hostname.clone();
    let mut prepared = prepare(report);
    prepared.wire_digest = arrival.wire_digest;
    prepared.keep_repos = arrival.keep_repos;
    match store.ingest(&TokenHash::of(token), prepared, now_ms).await? {
        Ok(outcome) => Ok(outcome),
        Err(IngestRejection::UnknownToken) => Err(IngestError::UnknownToken),
        Err(IngestRejection::WrongHost { .. }) => Err(IngestError::WrongHost { hostname }),
    }
}
