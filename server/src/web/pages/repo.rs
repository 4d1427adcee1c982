//! `/repos/ID`: one repository: what it is, how its security flag was set, its mirrors with
//! their state (last success, failures, last error, Valid-Until), the OS groups that hold it
//! and a link to the hosts that use it; for administrators the forms of `repo_admin`.

use axum::extract::{Path, State};
use axum::response::Html;
use serde::Serialize;

use crate::store::views::RepoView;
use crate::web::format::{When, when};
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Mirror<'a> {
    id: i64,
    url: &'a str,
    enabled: bool,
    fail_count: i64,
    last_error: &'a str,
    last_success: When,
    valid_until_passed: bool,
    /// Whose signature its metadata carried, in words.
    trust: String,
    unverified: bool,
}

#[derive(Serialize)]
struct Page<'a> {
    repo: &'a RepoView,
    kind: &'static str,
    /// Kept as inventory only (arch, gentoo): not refreshed.
    inventory: bool,
    refreshed: When,
    stale: bool,
    /// Which of yes / no / auto the security flag is now.
    security_yes: bool,
    security_no: bool,
    security_auto: bool,
    mirrors: Vec<Mirror<'a>>,
    mirror_count: usize,
    hosts_href: String,
    updates_href: String,
    refreshing: bool,
}

pub async fn page(State(state): State<WebState>, Path(id): Path<i64>) -> Result<Html<String>, WebError> {
    let repos = state.store.repos().await?;
    let repo = repos.iter().find(|r| r.id == id).ok_or_else(|| no_repo(id))?;
    let clock = state.clock();
    let page = Page {
        kind: repo.kind.as_str(),
        inventory: !repo.kind.has_updates(),
        refreshed: when(repo.refreshed_at, clock.now_ms),
        stale: repo.stale(&clock),
        security_yes: repo.security_manual && repo.security,
        security_no: repo.security_manual && !repo.security,
        security_auto: !repo.security_manual,
        mirrors: repo
            .mirrors
            .iter()
            .map(|m| Mirror {
                id: m.id,
                url: &m.url,
                enabled: m.enabled,
                fail_count: m.fail_count,
                last_error: &m.last_error,
                last_success: when(m.last_success_at, clock.now_ms),
                valid_until_passed: m.valid_until_passed,
                trust: m.trust(),
                unverified: m.unverified(),
            })
            .collect(),
        mirror_count: repo.mirrors.len(),
        hosts_href: format!("/hosts?repo={id}"),
        updates_href: format!("/updates?repo={id}"),
        refreshing: state.refreshing.load(std::sync::atomic::Ordering::Relaxed),
        repo,
    };
    render::page(&state, "repo", &page)
}

pub fn no_repo(id: i64) -> WebError {
    WebError::NotFound(format!("no repository {id}"))
}
