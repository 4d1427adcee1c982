//! `SubmitDigest`: a timer's report offered as its header and the digest of its state. When
//! the state is the host's last stored one the host is recorded as seen (the unchanged fast
//! path, as for a whole report); otherwise nothing is stored and the host is asked for the
//! report. Most timer reports repeat the host's state, so most hosts never send it again.

use patchman_proto as pb;
use tonic::{Request, Response, Status};

use super::{ReportApi, ack, bearer_token, peer_of, validate};
use crate::clock::now_ms;
use crate::ingest;
use crate::store::IngestOutcome;

impl ReportApi {
    /// SubmitDigest's answer; `submit_digest` counts it.
    pub(super) async fn answer_digest(
        &self,
        req: Request<pb::ReportDigest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        let sender = ingest::Sender::HostToken(bearer_token(&req)?);
        let now = now_ms();
        let peer = peer_of(&req);
        let offer = req.into_inner();
        let state_digest: [u8; 16] = offer.state_digest.as_slice().try_into().map_err(|_| {
            Status::invalid_argument(format!(
                "state_digest: must be 16 bytes (xxh3-128 of the report's state), not {}",
                offer.state_digest.len()
            ))
        })?;
        let host = offer.host.ok_or_else(|| Status::invalid_argument("host: is required"))?;
        let hostname = validate::hostname(&host.hostname).map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.check_cert(peer.as_ref(), &hostname)?;
        self.report_rate.admit(&hostname).map_err(Status::resource_exhausted)?;
        let peek = pb::ReportPeek {
            report_id: offer.report_id,
            generated_at_ms: offer.generated_at_ms,
            trigger: offer.trigger,
            hostname,
            has_transactions: false,
            state_digest,
        };
        let report_id = peek.report_id.clone();
        Ok(match self.unchanged(&sender, peek, now).await? {
            Some((report_id, package_count)) => ack(report_id, IngestOutcome::Unchanged { package_count }),
            None => Response::new(pb::SubmitResponse {
                report_id,
                outcome: pb::SubmitOutcome::SendReport as i32,
                package_count: 0,
            }),
        })
    }
}
