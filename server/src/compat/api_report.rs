//! `POST /api/report/` (and `/patchman/api/report/`): a protocol-2 upload, `patchman-client
//! -p 2`'s JSON with `Authorization: Api-Key …` (or a host token, `sender.rs`). The answer is
//! 202 with Patchman's JSON once the report is committed, or the refusal as JSON naming each
//! bad field; nothing of a refused upload is stored.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ingest::Arrival;
use crate::store::IngestOutcome;

use super::protocol2;
use super::refusal::Refusal;
use super::submit::{self, UploadState};

pub async fn upload(State(state): State<UploadState>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (response, result) = match answer(&state, request).await {
        Ok(answered) => answered,
        Err(refusal) => {
            let label = refusal.label();
            (refusal.json(), label)
        }
    };
    crate::metrics::report("protocol2", result, started.elapsed());
    response
}

async fn answer(state: &UploadState, request: Request) -> Result<(Response, &'static str), Refusal> {
    let peer = request.extensions().get::<ConnectInfo<crate::tls::Peer>>().map(|c| c.0.clone());
    let sender = super::sender::sender(&state.trust, request.headers(), peer.as_ref())?;
    let kind = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime != "application/json" {
        let what = if mime.is_empty() { "no Content-Type".to_owned() } else { mime };
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("{what}: protocol 2 sends application/json (protocol 1's form goes to /reports/upload/)"),
        ));
    }
    let body = Bytes::from_request(request, &()).await.map_err(|e| {
        let status = if e.status() == StatusCode::PAYLOAD_TOO_LARGE { e.status() } else { StatusCode::BAD_REQUEST };
        Refusal::new(status, format!("the upload cannot be read whole: {}", e.body_text()))
    })?;
    let now = crate::clock::now_ms();
    let report_id = crate::auth::new_secret("p2_");
    // The same body as the host's last: last-seen only, without reading it.
    let digest = submit::digest("protocol 2", [&body[..]]);
    let quick = quick_hostname(&body);
    if let Some(hostname) = &quick {
        submit::admit(state, hostname)?;
        if submit::unchanged(state, &sender, hostname, digest, now).await? {
            return Ok((accepted(&report_id, "unchanged: the host's last report said the same"), "unchanged"));
        }
    }
    let report = protocol2::parse(&body, state.limits, report_id.clone(), now).map_err(Refusal::invalid)?;
    if quick.is_none() {
        submit::admit(state, &report.hostname)?;
    }
    let arrival = Arrival { wire_digest: Some(digest), keep_repos: report.repos.is_empty() };
    let outcome = submit::store(state, &sender, report, arrival, now).await?;
    let message = match outcome {
        IngestOutcome::Stored { .. } => "stored",
        IngestOutcome::Unchanged { .. } => "unchanged: the host's last report said the same",
        IngestOutcome::Duplicate { .. } => "already stored",
        IngestOutcome::Superseded { .. } => "older than the host's last report: not applied",
    };
    Ok((accepted(&report_id, message), crate::ingest::outcome_label(outcome)))
}

/// Patchman's answer to an accepted report.
fn accepted(report_id: &str, message: &str) -> Response {
    let body = serde_json::json!({ "status": "accepted", "report_id": report_id, "message": message });
    (StatusCode::ACCEPTED, axum::Json(body)).into_response()
}

/// The body's `hostname`, found without reading the rest, for the unchanged fast path:
/// `patchman-client` writes it near the start. A wrong guess costs nothing: the touch only
/// happens for the host whose last applied body had this very digest, which names it.
fn quick_hostname(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"hostname\"";
    let at = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = body[at..].trim_ascii_start().strip_prefix(b":")?.trim_ascii_start().strip_prefix(b"\"")?;
    let end = rest.iter().position(|b| *b == b'"' || *b == b'\\')?;
    (rest[end] == b'"').then(|| String::from_utf8(rest[..end].to_vec()).ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::quick_hostname;

    #[test]
    fn the_hostname_is_found_without_reading_the_body() {
        let h = |b: &str| quick_hostname(b.as_bytes());
        assert_eq!(
            h(r#"{"protocol": 2, "hostname": "web01.example.org", "packages": []}"#).as_deref(),
            Some("web01.example.org")
        );
        assert_eq!(h(r#"{"hostname":"a"}"#).as_deref(), Some("a"));
        assert_eq!(h(r#"{"hostname": "a\"b"}"#), None, "escapes take the full path");
        assert_eq!(h(r#"{"host": "a"}"#), None);
        assert_eq!(h(r#"{"hostname": 7}"#), None);
    }
}
