//! `POST /reports/upload/` (and `/patchman/reports/upload/`, where Patchman's Apache
//! configuration puts it): a protocol-1 upload, as `curl -F` (multipart) or as a plain form
//! sends it, with the host's token or an API key (`sender.rs`; `patchman-client.conf`'s
//! `curl_options` sends the header). The answer is 204, or with
//! `report=true` the plain-text summary Patchman gives; a refusal is one line that says why,
//! and nothing of a refused upload is stored.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::ingest::Arrival;

use super::protocol1::{self, Upload};
use super::refusal::Refusal;
use super::submit::{self, UploadState};

pub async fn upload(State(state): State<UploadState>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (response, result) = match answer(&state, request).await {
        Ok(answered) => answered,
        Err(refusal) => {
            let label = refusal.label();
            (refusal.text(), label)
        }
    };
    crate::metrics::report("protocol1", result, started.elapsed());
    response
}

async fn answer(state: &UploadState, request: Request) -> Result<(Response, &'static str), Refusal> {
    let peer = request.extensions().get::<ConnectInfo<crate::tls::Peer>>().map(|c| c.0.clone());
    let sender = super::sender::sender(&state.trust, request.headers(), peer.as_ref())?;
    let form = read_form(request).await?;
    submit::admit(state, form.get("host").map(String::as_str).unwrap_or_default())?;
    let now = crate::clock::now_ms();
    // The same upload as the host's last: last-seen only, without reading it (as gRPC does).
    // A bad `report` value takes the full path, which names it.
    let digest = state_digest(&form);
    if protocol1::echo(&form) == Ok(false) {
        let hostname = form.get("host").map(String::as_str).unwrap_or_default();
        if submit::unchanged(state, &sender, hostname, digest, now).await? {
            return Ok((StatusCode::NO_CONTENT.into_response(), "unchanged"));
        }
    }
    let upload = protocol1::parse(&form, state.limits, crate::auth::new_secret("p1_"), now)
        .map_err(|e| Refusal::invalid(vec![e]))?;
    let summary = upload.echo.then(|| summary(&form, &upload));
    // Its hooks run `patchman-client -n`: no repositories, and the host keeps its own.
    let arrival = Arrival { wire_digest: Some(digest), keep_repos: upload.report.repos.is_empty() };
    let outcome = submit::store(state, &sender, upload.report, arrival, now).await?;
    let response = match summary {
        Some(text) => (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    };
    Ok((response, crate::ingest::outcome_label(outcome)))
}

/// A digest of the upload's fields but `report` (whether to echo is no state of the host),
/// in name order: equal digests, equal state.
fn state_digest(form: &HashMap<String, String>) -> crate::store::Digest {
    let mut names: Vec<&String> = form.keys().filter(|k| *k != "report").collect();
    names.sort();
    submit::digest("protocol 1", names.into_iter().flat_map(|name| [name.as_bytes(), form[name].as_bytes()]))
}

/// The form's fields by name, from `multipart/form-data` (what `curl -F` sends) or
/// `application/x-www-form-urlencoded`; every value must be UTF-8.
async fn read_form(request: Request) -> Result<HashMap<String, String>, Refusal> {
    let kind = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let mime = kind.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let too_large = |e: &dyn std::fmt::Display| {
        Refusal::new(StatusCode::PAYLOAD_TOO_LARGE, format!("the upload cannot be read whole: {e}"))
    };
    let mut form = HashMap::new();
    match mime.as_str() {
        "multipart/form-data" => {
            let mut parts = Multipart::from_request(request, &()).await.map_err(|e| {
                Refusal::new(StatusCode::BAD_REQUEST, format!("the body is not multipart/form-data: {e}"))
            })?;
            loop {
                let field = match parts.next_field().await {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Err(too_large(&e)),
                    Err(e) => {
                        return Err(Refusal::new(
                            StatusCode::BAD_REQUEST,
                            format!("the multipart body is broken: {e}"),
                        ));
                    }
                };
                let name = field.name().unwrap_or("").to_owned();
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        too_large(&e)
                    } else {
                        Refusal::new(StatusCode::BAD_REQUEST, format!("{name}: cannot be read: {e}"))
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
                    Refusal::new(e.status(), e.body_text())
                }
            })?;
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, format!("the form cannot be read: {e}")))?;
            form.extend(pairs);
        }
        "" => {
            return Err(Refusal::new(StatusCode::BAD_REQUEST, "the upload has no Content-Type: send it with curl -F"));
        }
        other => {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("{other} is not multipart/form-data (protocol 2's JSON goes to /api/report/)"),
            ));
        }
    }
    if form.is_empty() {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, "the upload has no fields"));
    }
    Ok(form)
}

fn utf8(name: &str, bytes: &[u8]) -> Result<String, Refusal> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let at = bytes[..e.utf8_error().valid_up_to()].iter().filter(|b| **b == b'\n').count() + 1;
        Refusal::new(StatusCode::BAD_REQUEST, format!("{name} line {at}: is not UTF-8"))
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
