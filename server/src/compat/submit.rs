//! What both of Patchman's doors do with an upload once they have read who sent it: the
//! unchanged fast path (a digest of the upload equal to the host's last: one update of
//! last-seen, nothing parsed), else the same ingest as a gRPC report, answered after commit.

use std::sync::Arc;

use crate::fields::Limits;
use crate::ingest::{self, Arrival, Sender};
use crate::report::{Report, Trigger};
use crate::store::{Digest, IngestOutcome, IngestStore};
use crate::updates::Updater;

use super::refusal::Refusal;
use super::sender::Trust;

/// What the upload routes need.
#[derive(Clone)]
pub struct UploadState {
    pub store: Arc<dyn IngestStore>,
    pub updater: Arc<Updater>,
    pub limits: Limits,
    pub trust: Arc<Trust>,
    pub rate: Arc<crate::limits::ReportRate>,
}

/// Whether the host may report now (`[limits] reports_per_minute_per_host`): 429 if not.
pub fn admit(state: &UploadState, hostname: &str) -> Result<(), Refusal> {
    state
        .rate
        .admit(&hostname.trim().to_ascii_lowercase())
        .map_err(|why| Refusal::new(axum::http::StatusCode::TOO_MANY_REQUESTS, why))
}

/// Whether the upload is the host's last one again (then its last-seen was refreshed).
pub async fn unchanged(
    state: &UploadState,
    sender: &Sender,
    hostname: &str,
    digest: Digest,
    now: i64,
) -> Result<bool, Refusal> {
    let peek = ingest::Peek {
        report_id: crate::auth::new_secret("pm_"),
        generated_at_ms: now,
        trigger: Some(Trigger::Timer),
        hostname: hostname.to_owned(),
        has_transactions: false,
        state_digest: digest,
    };
    match ingest::touch_if_unchanged(&*state.store, sender, &peek, now).await {
        Ok(found) => Ok(found.is_some()),
        Err(err) => Err(Refusal::from_ingest(err.into(), "unchanged upload")),
    }
}

/// Stores the report; returns once it is committed.
pub async fn store(
    state: &UploadState,
    sender: &Sender,
    report: Report,
    arrival: Arrival,
    now: i64,
) -> Result<IngestOutcome, Refusal> {
    let outcome = ingest::submit(&*state.store, sender, report, arrival, now)
        .await
        .map_err(|e| Refusal::from_ingest(e, "upload"))?;
    if matches!(outcome, IngestOutcome::Stored { .. }) {
        state.updater.notify();
    }
    Ok(outcome)
}

/// A digest of an upload's state in a domain of its own (`protocol`): the parts in order,
/// each with its length.
pub fn digest<'a>(protocol: &str, parts: impl IntoIterator<Item = &'a [u8]>) -> Digest {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(b"patchman ");
    h.update(protocol.as_bytes());
    h.update(b"\0");
    for part in parts {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.digest128().to_le_bytes()
}
