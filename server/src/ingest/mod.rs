//! Ingest: from a validated report to a committed one. Protocol-agnostic: the gRPC service
//! and the Patchman-compatible uploads call `submit`.

mod fast_path;
mod prepare;
mod yum_vars;

use std::net::IpAddr;

use crate::auth::TokenHash;
use crate::report::Report;
use crate::store::{Credential, Digest, IngestOutcome, IngestRejection, IngestStore, StoreError};

pub use self::fast_path::{Peek, touch_if_unchanged};
pub use self::prepare::{is_security_repo, os_names, prepare};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("unknown host token")]
    UnknownToken,
    #[error("the token does not belong to host {hostname}")]
    WrongHost { hostname: String },
    #[error("unknown, revoked or expired API key")]
    UnknownKey,
    #[error("host {hostname} has a token of its own: only that token may report for it")]
    HostHasToken { hostname: String },
    #[error("host {hostname} reports with an API key: an upload without one may not change it")]
    HostNeedsKey { hostname: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who sends a report, as a front door read it.
#[derive(Clone, PartialEq, Eq)]
pub enum Sender {
    /// A host token: gRPC's, or one `patchman host token` gave a host that runs Patchman's client.
    HostToken(String),
    /// An API key (`patchman api-key create`), for any host without a token of its own.
    ApiKey(String),
    /// No credential, from this address in a network an administrator listed.
    Network(IpAddr),
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::HostToken(_) => f.write_str("HostToken(..)"),
            Self::ApiKey(_) => f.write_str("ApiKey(..)"),
            Self::Network(address) => write!(f, "Network({address})"),
        }
    }
}

impl Sender {
    /// What the store checks: the secrets' hashes, or the address.
    pub fn credential(&self) -> Credential {
        match self {
            Self::HostToken(token) => Credential::Host(TokenHash::of(token)),
            Self::ApiKey(key) => Credential::ApiKey(TokenHash::of(key)),
            Self::Network(address) => Credential::Network(address.to_string()),
        }
    }
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

/// A report's outcome as metrics and logs name it.
pub fn outcome_label(outcome: IngestOutcome) -> &'static str {
    match outcome {
        IngestOutcome::Stored { .. } => "stored",
        IngestOutcome::Unchanged { .. } => "unchanged",
        IngestOutcome::Duplicate { .. } => "duplicate",
        IngestOutcome::Superseded { .. } => "superseded",
    }
}

/// Stores a report `sender` sent; returns once it is committed.
pub async fn submit(
    store: &dyn IngestStore,
    sender: &Sender,
    report: Report,
    arrival: Arrival,
    now_ms: i64,
) -> Result<IngestOutcome, IngestError> {
    let hostname = report.hostname.clone();
    let mut prepared = prepare(report);
    prepared.wire_digest = arrival.wire_digest;
    prepared.keep_repos = arrival.keep_repos;
    match store.ingest(&sender.credential(), prepared, now_ms).await? {
        Ok(outcome) => Ok(outcome),
        Err(IngestRejection::UnknownToken) => Err(IngestError::UnknownToken),
        Err(IngestRejection::WrongHost { .. }) => Err(IngestError::WrongHost { hostname }),
        Err(IngestRejection::UnknownKey) => Err(IngestError::UnknownKey),
        Err(IngestRejection::HostHasToken) => Err(IngestError::HostHasToken { hostname }),
        Err(IngestRejection::HostNeedsKey) => Err(IngestError::HostNeedsKey { hostname }),
    }
}
