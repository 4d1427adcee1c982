//! The gRPC edge: `patchman.v1.ReportService` (hosts), `QueryService` and `AdminService`
//! (integrations, `query.rs`, `admin.rs`, `watch.rs`). Protobuf types stop here.

pub mod admin;
mod advisories;
mod api_auth;
mod convert;
mod digest;
pub mod json_api;
pub mod oversize;
mod paging;
pub mod query;
pub mod validate;
pub mod watch;

use std::sync::Arc;

use patchman_proto as pb;
use pb::report_service_server::{ReportService, ReportServiceServer};
use tonic::{Request, Response, Status};

use crate::auth::{self, TokenHash};
use crate::clock::now_ms;
use crate::ingest::{self, IngestError};
use crate::store::{EnrollOutcome, Enrollment, IngestOutcome, IngestStore};
use crate::updates::Updater;

pub struct ReportApi {
    store: Arc<dyn IngestStore>,
    updater: Arc<Updater>,
    limits: validate::Limits,
    enroll_limits: Arc<crate::limits::EnrollLimits>,
    report_rate: Arc<crate::limits::ReportRate>,
    /// `[tls] client_cert_names_host`: the connection's client certificate must name the host.
    cert_names_host: bool,
}

impl ReportApi {
    pub fn new(
        store: Arc<dyn IngestStore>,
        updater: Arc<Updater>,
        limits: validate::Limits,
        enroll_limits: Arc<crate::limits::EnrollLimits>,
        report_rate: Arc<crate::limits::ReportRate>,
    ) -> Self {
        Self { store, updater, limits, enroll_limits, report_rate, cert_names_host: false }
    }

    /// Accepts a host's reports and enrollment only over a connection whose client
    /// certificate names that host.
    pub fn client_cert_names_host(mut self, on: bool) -> Self {
        self.cert_names_host = on;
        self
    }

    fn check_cert(&self, peer: Option<&crate::tls::Peer>, hostname: &str) -> Result<(), Status> {
        if !self.cert_names_host {
            return Ok(());
        }
        match peer.and_then(|p| p.cert.as_deref()) {
            Some(cert) if crate::tls::cert_names_host(cert, hostname) => Ok(()),
            Some(_) => Err(Status::permission_denied(format!(
                "the client certificate does not name host {hostname} (no subjectAltName DNS entry for it)"
            ))),
            None => Err(Status::unauthenticated("this server requires a client certificate that names the host")),
        }
    }

    pub fn into_service(self, max_message_bytes: usize) -> ReportServiceServer<Self> {
        ReportServiceServer::new(self).max_decoding_message_size(max_message_bytes)
    }

    /// The fast path (`ingest::touch_if_unchanged`), offered the report's peek.
    async fn unchanged(
        &self,
        sender: &ingest::Sender,
        peek: pb::ReportPeek,
        now: i64,
    ) -> Result<Option<(String, u32)>, Status> {
        let peek = ingest::Peek {
            report_id: peek.report_id,
            generated_at_ms: peek.generated_at_ms,
            trigger: validate::trigger(peek.trigger).ok(),
            hostname: peek.hostname,
            has_transactions: peek.has_transactions,
            state_digest: peek.state_digest,
        };
        match ingest::touch_if_unchanged(&*self.store, sender, &peek, now).await {
            Ok(count) => Ok(count.map(|count| (peek.report_id, count))),
            Err(err) => Err(storage_failed(&err, &peek.report_id)),
        }
    }

    /// Submit's answer; `submit` counts it.
    async fn answer(&self, req: Request<pb::RawReport>) -> Result<Response<pb::SubmitResponse>, Status> {
        let sender = ingest::Sender::HostToken(bearer_token(&req)?);
        let now = now_ms();
        let peer = peer_of(&req);
        let raw = req.into_inner();
        let peeked = raw.peek();
        let wire_digest = peeked.as_ref().map(|p| p.state_digest);
        let admitted = peeked.is_some();
        if let Some(peek) = peeked {
            self.check_cert(peer.as_ref(), &peek.hostname)?;
            self.report_rate.admit(&peek.hostname.to_ascii_lowercase()).map_err(Status::resource_exhausted)?;
            if let Some((report_id, package_count)) = self.unchanged(&sender, peek, now).await? {
                return Ok(ack(report_id, IngestOutcome::Unchanged { package_count }));
            }
        }
        let decoded = raw.decode().map_err(|e| Status::invalid_argument(format!("malformed message: {e}")))?;
        let report =
            validate::report(decoded, self.limits, now).map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.check_cert(peer.as_ref(), &report.hostname)?;
        if !admitted {
            self.report_rate.admit(&report.hostname).map_err(Status::resource_exhausted)?;
        }
        let report_id = report.report_id.clone();
        let report_hostname = report.hostname.clone();
        let outcome =
            ingest::submit(&*self.store, &sender, report, ingest::Arrival { wire_digest, keep_repos: false }, now)
                .await
                .map_err(|err| match err {
                    IngestError::UnknownToken => {
                        let source = peer.as_ref().map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string());
                        tracing::warn!(%source, hostname = %report_hostname, "report refused: unknown host token");
                        Status::unauthenticated("unknown host token: enroll the host again")
                    }
                    IngestError::WrongHost { hostname } => {
                        Status::permission_denied(format!("this token does not belong to host {hostname}"))
                    }
                    // Only site credentials (Patchman's uploads) meet these.
                    err @ (IngestError::UnknownKey
                    | IngestError::HostHasToken { .. }
                    | IngestError::HostNeedsKey { .. }) => Status::permission_denied(err.to_string()),
                    IngestError::Store(err) => storage_failed(&err, &report_id),
                })?;
        if matches!(outcome, IngestOutcome::Stored { .. }) {
            // The host's state changed: its updates are recomputed right after the ack.
            self.updater.notify();
        }
        Ok(ack(report_id, outcome))
    }
}

/// A submission's answer, counted in `/metrics` under its door with its outcome and time.
async fn counted(
    door: &'static str,
    answer: impl std::future::Future<Output = Result<Response<pb::SubmitResponse>, Status>>,
) -> Result<Response<pb::SubmitResponse>, Status> {
    let started = std::time::Instant::now();
    let answer = answer.await;
    let result = match &answer {
        Ok(response) => submit_label(response.get_ref().outcome),
        Err(status) => status_label(status),
    };
    crate::metrics::report(door, result, started.elapsed());
    answer
}

fn submit_label(outcome: i32) -> &'static str {
    match pb::SubmitOutcome::try_from(outcome) {
        Ok(pb::SubmitOutcome::Stored) => "stored",
        Ok(pb::SubmitOutcome::Unchanged) => "unchanged",
        Ok(pb::SubmitOutcome::Duplicate) => "duplicate",
        Ok(pb::SubmitOutcome::Superseded) => "superseded",
        Ok(pb::SubmitOutcome::SendReport) => "send_report",
        _ => "unknown",
    }
}

fn status_label(status: &Status) -> &'static str {
    match status.code() {
        tonic::Code::InvalidArgument => "rejected_invalid",
        tonic::Code::Unauthenticated => "rejected_unauthenticated",
        tonic::Code::PermissionDenied => "rejected_forbidden",
        _ => "failed",
    }
}

fn storage_failed(err: &dyn std::fmt::Display, report_id: &str) -> Status {
    tracing::error!(%err, report_id, "cannot store report");
    Status::internal("the server could not store the report; nothing of it was stored")
}

fn peer_of<T>(req: &Request<T>) -> Option<crate::tls::Peer> {
    req.extensions().get::<axum::extract::ConnectInfo<crate::tls::Peer>>().map(|c| c.0.clone())
}

fn bearer_token<T>(req: &Request<T>) -> Result<String, Status> {
    let value = req
        .metadata()
        .get("authorization")
        .ok_or_else(|| Status::unauthenticated("no host token: send `authorization: Bearer <token>` (enroll first)"))?;
    let value = value.to_str().map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
    auth::bearer(value)
        .map(str::to_owned)
        .ok_or_else(|| Status::unauthenticated("the authorization header is not `Bearer <token>`"))
}

fn ack(report_id: String, outcome: IngestOutcome) -> Response<pb::SubmitResponse> {
    let kind = match outcome {
        IngestOutcome::Stored { .. } => pb::SubmitOutcome::Stored,
        IngestOutcome::Unchanged { .. } => pb::SubmitOutcome::Unchanged,
        IngestOutcome::Duplicate { .. } => pb::SubmitOutcome::Duplicate,
        IngestOutcome::Superseded { .. } => pb::SubmitOutcome::Superseded,
    };
    Response::new(pb::SubmitResponse { report_id, outcome: kind as i32, package_count: outcome.package_count() })
}

#[tonic::async_trait]
impl ReportService for ReportApi {
    async fn submit(&self, req: Request<pb::RawReport>) -> Result<Response<pb::SubmitResponse>, Status> {
        counted("grpc", self.answer(req)).await
    }

    async fn submit_digest(&self, req: Request<pb::ReportDigest>) -> Result<Response<pb::SubmitResponse>, Status> {
        counted("grpc_digest", self.answer_digest(req)).await
    }

    async fn enroll(&self, req: Request<pb::EnrollRequest>) -> Result<Response<pb::EnrollResponse>, Status> {
        let peer = peer_of(&req);
        let source = peer.as_ref().map_or_else(|| "unknown".to_owned(), |p| p.ip().to_string());
        let req = req.into_inner();
        let key_hash = TokenHash::of(req.enrollment_key.trim());
        self.enroll_limits.admit(&source, &key_hash.hex()).map_err(|why| {
            tracing::warn!(%source, "enrollment refused: {why}");
            Status::resource_exhausted(why)
        })?;
        let host = req.host.ok_or_else(|| Status::invalid_argument("host: is required"))?;
        let hostname = validate::hostname(&host.hostname).map_err(|e| Status::invalid_argument(e.to_string()))?;
        self.check_cert(peer.as_ref(), &hostname)?;
        let machine_id = validate::machine_id(&host.machine_id).map_err(|e| Status::invalid_argument(e.to_string()))?;
        let token = auth::new_host_token();
        let enrollment = Enrollment {
            hostname: &hostname,
            machine_id: &machine_id,
            token_hash: &TokenHash::of(&token),
            now_ms: now_ms(),
        };
        match self.store.enroll_with_key(&enrollment, &key_hash).await {
            Ok(EnrollOutcome::Enrolled) => {
                tracing::info!(hostname, %source, "host enrolled");
                Ok(Response::new(pb::EnrollResponse { host_token: token, hostname }))
            }
            Ok(EnrollOutcome::KeyRefused(why)) => {
                // The source and the reason; never the key.
                tracing::warn!(hostname, %source, "enrollment refused: {why}");
                self.enroll_limits.failed(&source);
                Err(Status::permission_denied(why))
            }
            Ok(EnrollOutcome::Conflict) => Err(Status::already_exists(format!(
                "host {hostname} is already enrolled from another machine; an administrator can run \
                 `patchman host delete {hostname}` to let it enroll again"
            ))),
            Err(err) => {
                tracing::error!(%err, hostname, "cannot enroll host");
                Err(Status::internal("the server could not enroll the host"))
            }
        }
    }
}
