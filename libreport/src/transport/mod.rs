//! Talking to the server: enroll once, then submit reports. gRPC over HTTP/2 (tonic), over
//! TLS for an `https://` server (rustls; the system's trust store unless a CA file is given).

mod convert;

use std::time::Duration;

use patchman_proto as pb;
use pb::report_service_client::ReportServiceClient;
use std::path::PathBuf;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::model::Report;

pub use self::convert::report as to_proto;

/// How long to wait for the server: a host must never hang on a dead server.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(5), request: Duration::from_secs(60) }
    }
}

/// TLS settings for an `https://` server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// Trust only the CAs in this PEM file (default: the system's trust store).
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM chain) and its key, for servers that ask for one.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// How to reach the server.
#[derive(Debug, Clone, Default)]
pub struct Link {
    pub timeouts: Timeouts,
    pub tls: TlsFiles,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("invalid server URL {url:?}: {message}")]
    BadUrl { url: String, message: String },
    /// A TLS file that cannot be read or used: kept as a transient failure (the report waits
    /// in the spool until the configuration is fixed).
    #[error("TLS settings: {0}")]
    TlsFiles(String),
    #[error("cannot reach the server at {url}: {message}")]
    Unreachable { url: String, message: String },
    /// The server answered with an error: retrying the same report will not help unless the
    /// code is one of `TRANSIENT_CODES`.
    #[error("the server refused: {code:?}: {message}")]
    Refused { code: tonic::Code, message: String },
}

/// Answers after which the same report is kept in the spool and sent again later: the server
/// is overloaded, restarting, or failed to store it (nothing was stored). Every other code
/// (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED, …) means this report will never be
/// accepted as it is.
pub const TRANSIENT_CODES: &[tonic::Code] = &[
    tonic::Code::Unavailable,
    tonic::Code::DeadlineExceeded,
    tonic::Code::ResourceExhausted,
    tonic::Code::Internal,
    tonic::Code::Unknown,
    tonic::Code::Aborted,
];

impl SendError {
    /// Whether sending the same thing later may succeed (keep it in the spool).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::BadUrl { .. } => false,
            Self::Unreachable { .. } | Self::TlsFiles(_) => true,
            Self::Refused { code, .. } => TRANSIENT_CODES.contains(code),
        }
    }
}

/// The server's acknowledgement of a committed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub outcome: &'static str,
    pub package_count: u32,
}

fn read(path: &std::path::Path, what: &str) -> Result<Vec<u8>, SendError> {
    std::fs::read(path).map_err(|e| SendError::TlsFiles(format!("cannot read {what} {}: {e}", path.display())))
}

/// The TLS configuration for an https:// server.
fn client_tls(files: &TlsFiles) -> Result<ClientTlsConfig, SendError> {
    let mut tls = ClientTlsConfig::new();
    tls = match &files.ca_file {
        Some(ca) => tls.ca_certificate(Certificate::from_pem(read(ca, "ca_file")?)),
        None => tls.with_native_roots(),
    };
    match (&files.client_cert, &files.client_key) {
        (Some(cert), Some(key)) => {
            tls = tls.identity(Identity::from_pem(read(cert, "client_cert")?, read(key, "client_key")?));
        }
        (None, None) => {}
        _ => return Err(SendError::TlsFiles("client_cert and client_key go together: set both or neither".into())),
    }
    Ok(tls)
}

async fn connect(server: &str, link: &Link) -> Result<ReportServiceClient<Channel>, SendError> {
    let url = server.trim_end_matches('/');
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| SendError::BadUrl { url: server.to_owned(), message: e.to_string() })?
        .connect_timeout(link.timeouts.connect)
        .timeout(link.timeouts.request)
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        endpoint = endpoint.tls_config(client_tls(&link.tls)?).map_err(|e| SendError::TlsFiles(source_chain(&e)))?;
    } else if !url.starts_with("http://") {
        return Err(SendError::BadUrl {
            url: server.to_owned(),
            message: "the URL must start with http:// or https://".into(),
        });
    }
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| SendError::Unreachable { url: server.to_owned(), message: source_chain(&e) })?;
    Ok(ReportServiceClient::new(channel).max_decoding_message_size(1 << 20))
}

fn refused(status: tonic::Status) -> SendError {
    if status.code() == tonic::Code::Unavailable {
        return SendError::Unreachable { url: String::new(), message: status.message().to_owned() };
    }
    SendError::Refused { code: status.code(), message: status.message().to_owned() }
}

fn source_chain(err: &dyn std::error::Error) -> String {
    let mut s = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        // Some errors repeat their source in their own text.
        let text = e.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        cur = e.source();
    }
    s
}

/// Exchanges the site's enrollment key for this host's own token.
pub async fn enroll(
    server: &str,
    key: &str,
    hostname: &str,
    machine_id: &str,
    link: &Link,
) -> Result<String, SendError> {
    let mut client = connect(server, link).await?;
    let req = pb::EnrollRequest {
        enrollment_key: key.to_owned(),
        host: Some(pb::Host { hostname: hostname.to_owned(), machine_id: machine_id.to_owned() }),
    };
    let resp = client.enroll(req).await.map_err(refused)?;
    Ok(resp.into_inner().host_token)
}

/// Sends one report; returns once the server has committed it (or found it unchanged).
///
/// A report without transactions (a timer's, or the first after enrolling) is offered first
/// as its digest (`SubmitDigest`): when the host's state is what the server last stored, the
/// state is not sent at all. When the server asks for it, or predates that call, the whole
/// report follows.
pub async fn submit(server: &str, token: &str, report: &Report, link: &Link) -> Result<Ack, SendError> {
    let mut client = connect(server, link).await?;
    let report = to_proto(report);
    let value: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().map_err(|_| {
        SendError::BadUrl { url: server.to_owned(), message: "the host token is not valid text".into() }
    })?;
    if report.transactions.is_empty() {
        let mut req = tonic::Request::new(report.to_digest());
        req.metadata_mut().insert("authorization", value.clone());
        match client.submit_digest(req).await {
            Ok(ack) if ack.get_ref().outcome == pb::SubmitOutcome::Unchanged as i32 => {
                return Ok(Ack { outcome: "unchanged", package_count: ack.get_ref().package_count });
            }
            Ok(_) => {}                                                      // the server asks for the report
            Err(status) if status.code() == tonic::Code::Unimplemented => {} // an older server
            Err(status) => return Err(refused(status)),
        }
    }
    let mut req = tonic::Request::new(report);
    req.metadata_mut().insert("authorization", value);
    let ack = client.submit(req).await.map_err(refused)?.into_inner();
    let outcome = match pb::SubmitOutcome::try_from(ack.outcome) {
        Ok(pb::SubmitOutcome::Stored) => "stored",
        Ok(pb::SubmitOutcome::Unchanged) => "unchanged",
        Ok(pb::SubmitOutcome::Duplicate) => "duplicate",
        Ok(pb::SubmitOutcome::Superseded) => "superseded",
        _ => "acknowledged",
    };
    Ok(Ack { outcome, package_count: ack.package_count })
}

/// Runs a future on a small single-threaded runtime: for callers that are not async (the
/// command line, the apt hook, the Python module).
pub fn block_on<F: std::future::Future>(fut: F) -> std::io::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(rt.block_on(fut))
}
