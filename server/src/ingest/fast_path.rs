//! The unchanged-report fast path: a report whose state is byte for byte that of the host's
//! last applied report only refreshes last-seen, without being decoded. Any front door that
//! can digest a report's state before decoding it offers it here first; when the answer is
//! `None` it takes the full path (`submit`), which says what is wrong if anything is.

use super::Sender;
use crate::fields;
use crate::report::Trigger;
use crate::store::{Digest, IngestStore, StoreResult};

/// What a front door read from a report before decoding it.
#[derive(Debug, Clone)]
pub struct Peek {
    pub report_id: String,
    pub generated_at_ms: i64,
    /// `None` when the wire value is not a trigger.
    pub trigger: Option<Trigger>,
    pub hostname: String,
    pub has_transactions: bool,
    /// Digest of the report's state fields as encoded on the wire.
    pub state_digest: Digest,
}

/// The host's package count when the report changed nothing and was recorded as seen;
/// `None` when it must take the full path (it fails a field rule the full path would reject
/// with a clear error, carries transactions to store, or its state differs).
pub async fn touch_if_unchanged(
    store: &dyn IngestStore,
    sender: &Sender,
    peek: &Peek,
    now_ms: i64,
) -> StoreResult<Option<u32>> {
    if peek.has_transactions || peek.trigger.is_none() || fields::report_id(peek.report_id.clone()).is_err() {
        return Ok(None);
    }
    let (Ok(hostname), Ok(generated_at)) =
        (fields::hostname(&peek.hostname), fields::generated_at(peek.generated_at_ms, now_ms))
    else {
        return Ok(None);
    };
    store.touch_if_unchanged(&sender.credential(), &hostname, &peek.state_digest, generated_at, now_ms).await
}
