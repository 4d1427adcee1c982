//! `/`: every host with its state, and the mirrors that are failing.

use axum::extract::State;
use axum::response::Html;
use serde::Serialize;

use crate::store::views::format_time;
use crate::web::{WebError, WebState, render};

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

pub async fn page(State(state): State<WebState>) -> Result<Html<String>, WebError> {
    let (hosts, repos) = tokio::try_join!(state.store.hosts(), state.store.repos())?;
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
    render::page(&state, "hosts", &page)
}
