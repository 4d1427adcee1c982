//! Every request, gRPC or HTTP, gets an id: the client's `x-request-id` when it sent a sane
//! one, else a new one (a per-process prefix and a counter). It names the request's span, so
//! every log line written while the request is handled carries it, and goes back in the
//! answer's `x-request-id`. The access log (`patchman_server::access`, at debug level) gives
//! one line per request; a server error is a warning.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

const HEADER: &str = "x-request-id";

pub async fn layer(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(new_id, str::to_owned);
    let span = tracing::info_span!("request", request_id = %id);
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let started = Instant::now();
    let mut res = next.run(req).instrument(span.clone()).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, value);
    }
    let status = res.status().as_u16();
    // A gRPC error answered at once carries its status in the headers.
    let grpc_status = res.headers().get("grpc-status").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let _entered = span.enter();
    if status >= 500 || matches!(grpc_status.as_str(), "13" | "14") {
        tracing::warn!(target: "patchman_server::access", %method, path, status, grpc_status, ms, "request failed");
    } else {
        tracing::debug!(target: "patchman_server::access", %method, path, status, grpc_status, ms, "request");
    }
    res
}

/// Up to 64 letters, digits, `-`, `_`, `.`: what a proxy or client id generator sends, and
/// nothing that could forge a log line.
fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

fn new_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let prefix = PREFIX.get_or_init(|| {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    });
    format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_unique_and_client_ids_are_checked() {
        assert_ne!(super::new_id(), super::new_id());
        assert!(super::acceptable("3f2a-17.b_c"));
        assert!(!super::acceptable("a\nb"));
        assert!(!super::acceptable(""));
        assert!(!super::acceptable(&"a".repeat(65)));
    }
}
