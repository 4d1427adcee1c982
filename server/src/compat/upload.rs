//! `POST /reports/upload/` (and `/patchman/reports/upload/`, where Patchman's Apache
//! configuration puts it): a protocol-1 upload, as `curl -F` (multipart) or as a plain form
//! sends it, with the host's token as `Authorization: Bearer …` (`patchman host token NAME`
//! issues one; `patchman-client.conf`'s `curl_options` sends it). The answer is 204, or with
//! `report=true` the plain-text summary Patchman gives; a refusal is one line that says why,
//! and nothing of a refused upload is stored.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::fields::Limits;
use crate::ingest::{self, IngestError};
use crate::store::{IngestOutcome, IngestStore};
use crate::updates::Updater;

use super::protocol1::{self, Upload};

/// What the upload route needs.
#[derive(Clone)]
pub struct UploadState {
    pub store: Arc<dyn IngestStore>,
    pub updater: Arc<Updater>,
    pub limits: Limits,
}

/// A refusal: its status and one line that says why.
struct Refusal {
    status: StatusCode,
    line: String,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut line = self.line;
        line.push('\n');
        (self.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response()
    }
}

fn refusal(status: StatusCode, line: impl Into<String>) -> Refusal {
    Refusal { status, line: line.into() }
}

fn refuse(status: StatusCode, line: impl Into<String>) -> Response {
    refusal(status, line).into_response()
}

pub async fn upload(State(state): State<UploadState>, request: Request) -> Response {
    let Some(token) = bearer(request.headers()) else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "a protocol-1 upload needs the host's token: send `Authorization: Bearer TOKEN` \
             (`patchman host token HOSTNAME` issues one)",
        );
    };
    let form = match read_form(request).await {
        Ok(form) => form,
        Err(refusal) => return refusal.into_response(),
    };
    let now = crate::clock::now_ms();
    // The same upload as the host's last: last-seen only, without reading it (as gRPC does).
    let digest = state_digest(&form);
    // A bad `report` value takes the full path, which names it.
    if protocol1::echo(&form) == Ok(false) {
        let peek = ingest::Peek {
            report_id: crate::auth::new_secret("p1_"),
            generated_at_ms: now,
            trigger: Some(crate::report::Trigger::Timer),
            hostname: form.get("host").cloned().unwrap_or_default(),
            has_transactions: false,
            state_digest: digest,
        };
        match ingest::touch_if_unchanged(&*state.store, &token, &peek, now).await {
            Ok(Some(_)) => return StatusCode::NO_CONTENT.into_response(),
            Ok(None) => {}
            Err(err) => {
                tracing::error!(%err, "cannot store a protocol-1 upload");
                return refuse(StatusCode::SERVICE_UNAVAILABLE, "the server could not store the report; send it again");
            }
        }
    }
    let upload = match protocol1::parse(&form, state.limits, crate::auth::new_secret("p1_"), now) {
        Ok(u) => u,
        Err(err) => return refuse(StatusCode::BAD_REQUEST, err.to_string()),
    };
    let summary = upload.echo.then(|| summary(&form, &upload));
    let hostname = upload.report.hostname.clone();
    // Its hooks run `patchman-client -n`: no repositories, and the host keeps its own.
    let arrival = ingest::Arrival { wire_digest: Some(digest), keep_repos: upload.report.repos.is_empty() };
    match ingest::submit(&*state.store, &token, upload.report, arrival, now).await {
        Ok(outcome) => {
            if matches!(outcome, IngestOutcome::Stored { .. }) {
                state.updater.notify();
            }
            match summary {
                Some(text) => {
                    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
                }
                None => StatusCode::NO_CONTENT.into_response(),
            }
        }
        Err(IngestError::UnknownToken) => refuse(StatusCode::UNAUTHORIZED, "unknown host token"),
        Err(IngestError::WrongHost { .. }) => {
            refuse(StatusCode::FORBIDDEN, format!("this token does not belong to host {hostname}"))
        }
        Err(IngestError::Store(err)) => {
            tracing::error!(%err, hostname, "cannot store a protocol-1 upload");
            refuse(StatusCode::SERVICE_UNAVAILABLE, "the server could not store the report; nothing of it was stored")
        }
    }
}

/// A digest of the upload's fields but `report` (whether to echo is no state of the host),
/// in name order, in a domain of its own: equal digests, equal state.
fn state_digest(form: &HashMap<String, String>) -> crate::store::Digest {
    let mut names: Vec<&String> = form.keys().filter(|k| *k != "report").collect();
    names.sort();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(b"patchman protocol 1\0");
    for name in names {
        for part in [name.as_bytes(), form[name].as_bytes()] {
            h.update(&(part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    h.digest128().to_le_bytes()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The form's fields by name, from `multipart/form-data` (what `curl -F` sends) or
/// `application/x-www-form-urlencoded`; every value must be UTF-8.
async fn read_form(request: Request) -> Result<HashMap<String, String>, Refusal> {
    let kind = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mime = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let too_large = |e: &dyn std::fmt::Display| {
        refusal(StatusCode::PAYLOAD_TOO_LARGE, format!("the upload cannot be read whole: {e}"))
    };
    let mut form = HashMap::new();
    match mime.as_str() {
        "multipart/form-data" => {
            let mut parts = Multipart::from_request(request, &())
                .await
                .map_err(|e| refusal(StatusCode::BAD_REQUEST, format!("the body is not multipart/form-data: {e}")))?;
            loop {
                let field = match parts.next_field().await {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(&e)),
                    Err(e) => {
                        return Err(refusal(StatusCode::BAD_REQUEST, format!("the multipart body is broken: {e}")));
                    }
                };
                let name = field.name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large(&e)
                    } else {
                        refusal(StatusCode::BAD_REQUEST, format!("{name}: cannot be read: {e}"))
                    }
                })?;
                form.insert(name.clone(), utf8(&name, &bytes)?);
            }
        }
        "application/x-www-form-urlencoded" => {
            let body = Bytes::from_request(request, &()).await.map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large(&e)
                } else {
                    refusal(e.status(), e.body_text())
                }
            })?;
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| refusal(StatusCode::BAD_REQUEST, format!("the form cannot be read: {e}")))?;
            form.extend(pairs);
        }
        "" => return Err(refusal(StatusCode::BAD_REQUEST, "the upload has no Content-Type: send it with curl -F")),
        other => {
            return Err(refusal(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("{other} is not multipart/form-data (protocol 2's JSON goes to /api/report/)"),
            ));
        }
    }
    if form.is_empty() {
        return Err(refusal(StatusCode::BAD_REQUEST, "the upload has no fields"));
    }
    Ok(form)
}

fn utf8(name: &str, bytes: &[u8]) -> Result<String, Refusal> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = bytes[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        refusal(StatusCode::BAD_REQUEST, format!("{name} line {at}: is not UTF-8"))
    })
}

/// The text Patchman answers `report=true` with: what was submitted.
fn summary(form: &HashMap<String, String>, upload: &Upload) -> String {
    let r = &upload.report;
    let get = |k: &str| form.get(k).map(|v| v.trim()).unwrap_or("");
    let mut out = String::from("The following data has been submitted for processing:\n\n");
    for (label, value) in [
        ("host", r.hostname.as_str()),
        ("os", get("os")),
        ("kernel", r.kernel.as_str()),
        ("report", "true"),
        ("tags", get("tags")),
        ("protocol", "1"),
        ("reboot", get("reboot")),
    ] {
        out.push_str(&format!("{:<9} {value}\n", format!("{label}:")));
    }
    out.push_str("\nrepos:\n");
    for line in get("repos").lines().filter(|l| !l.trim().is_empty()) {
        out.push_str(&format!(" {}\n", line.trim()));
    }
    out.push_str("\npackages:\n");
    for p in &r.packages {
        let p = &p.package;
        let epoch = if p.epoch == 0 { String::new() } else { p.epoch.to_string() };
        out.push_str(&format!(
            " {} | {epoch} | {} | {} | {} | {} |\n",
            p.name,
            p.version,
            p.release,
            p.arch,
            p.kind.as_str()
        ));
    }
    out
}
