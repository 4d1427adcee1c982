//! The web edge: HTTP pages on the same port as gRPC. Templates and static files live in
//! `web/` at the top of the repository and are embedded in the binary; they hold no logic.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use handlebars::Handlebars;
use rust_embed::RustEmbed;
use serde::Serialize;

use crate::store::HostQueries;
use crate::store::views::format_time;

#[derive(RustEmbed)]
#[folder = "../web/"]
struct Assets;

#[derive(Clone)]
pub struct WebState {
    store: Arc<dyn HostQueries>,
    templates: Arc<Handlebars<'static>>,
}

impl WebState {
    pub fn new(store: Arc<dyn HostQueries>) -> anyhow::Result<Self> {
        Ok(Self { store, templates: Arc::new(templates()?) })
    }
}

/// Every template under `web/templates/`, registered by file stem, strict mode on.
pub fn templates() -> anyhow::Result<Handlebars<'static>> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    for path in Assets::iter().filter(|p| p.starts_with("templates/") && p.ends_with(".hbs")) {
        let file = Assets::get(&path).ok_or_else(|| anyhow::anyhow!("embedded template {path} vanished"))?;
        let text = std::str::from_utf8(&file.data)?;
        let name = path.trim_start_matches("templates/").trim_end_matches(".hbs");
        hb.register_template_string(name, text)?;
    }
    Ok(hb)
}

pub fn router(state: WebState) -> Router {
    Router::new().route("/", get(hosts)).route("/static/{*path}", get(asset)).with_state(state)
}

#[derive(Serialize)]
struct HostRow {
    hostname: String,
    os_variant: String,
    arch: String,
    kernel: String,
    package_count: i64,
    repo_count: i64,
    reboot_required: bool,
    tags: String,
    last_seen: String,
}

/// A mirror that failed its last refreshes, or was disabled after too many.
#[derive(Serialize)]
struct MirrorRow {
    repo: String,
    url: String,
    disabled: bool,
    fail_count: i64,
    last_error: String,
}

#[derive(Serialize)]
struct HostsPage {
    count: usize,
    hosts: Vec<HostRow>,
    failing_mirrors: Vec<MirrorRow>,
}

async fn hosts(State(state): State<WebState>) -> Response {
    let (hosts, repos) = match tokio::try_join!(state.store.hosts(), state.store.repos()) {
        Ok(both) => both,
        Err(err) => return internal_error(&err),
    };
    let failing_mirrors = repos
        .into_iter()
        .flat_map(|r| {
            let repo = r.name;
            r.mirrors.into_iter().filter(|m| !m.enabled || m.fail_count > 0).map(move |m| MirrorRow {
                repo: repo.clone(),
                url: m.url,
                disabled: !m.enabled,
                fail_count: m.fail_count,
                last_error: m.last_error,
            })
        })
        .collect();
    let page = HostsPage {
        failing_mirrors,
        count: hosts.len(),
        hosts: hosts
            .into_iter()
            .map(|h| HostRow {
                last_seen: h.last_seen_at.map(format_time).unwrap_or_else(|| "never".to_owned()),
                tags: h.tags.join(", "),
                hostname: h.hostname,
                os_variant: h.os_variant,
                arch: h.arch,
                kernel: h.kernel,
                package_count: h.package_count,
                repo_count: h.repo_count,
                reboot_required: h.reboot_required,
            })
            .collect(),
    };
    render(&state, "hosts", &page)
}

fn render<T: Serialize>(state: &WebState, template: &str, data: &T) -> Response {
    match state.templates.render(template, data) {
        Ok(html) => Html(html).into_response(),
        Err(err) => internal_error(&err),
    }
}

fn internal_error(err: &dyn std::fmt::Display) -> Response {
    tracing::error!(%err, "cannot render page");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error: see the server log").into_response()
}

async fn asset(Path(path): Path<String>) -> Response {
    let Some(file) = Assets::get(&format!("static/{path}")) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mime = match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    };
    ([(header::CONTENT_TYPE, mime)], file.data).into_response()
}
