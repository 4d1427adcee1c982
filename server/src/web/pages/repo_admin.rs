//! What an administrator changes on a repository's page: its security flag (yes, no, or
//! from its metadata), enabled or not, a mirror enabled or not, another repository linked
//! into it (the same repository under other mirrors), a refresh now (of it or of all). Each
//! goes through the same store functions as `patchman repo …` (see `change`).

use std::sync::atomic::Ordering;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::repo::no_repo;
use crate::refresh::Progress;
use crate::web::change::{Checked, CsrfForm, yes_no};
use crate::web::{Admin, WebError, WebState};

#[derive(Deserialize)]
pub struct SecurityForm {
    #[serde(default)]
    csrf: String,
    /// `yes`, `no`, or `auto` (from the repository's metadata).
    flag: String,
}

#[derive(Deserialize)]
pub struct EnabledForm {
    #[serde(default)]
    csrf: String,
    /// `yes` or `no`.
    enabled: String,
}

#[derive(Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
    /// The id of the repository that becomes part of this one.
    other: String,
}

pub async fn security(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<SecurityForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let flag = match form.flag.as_str() {
        "auto" => None,
        other => Some(yes_no("flag", other).map_err(|_| bad_flag(other))?),
    };
    if !state.admin.set_repo_security(id, flag).await? {
        return Err(no_repo(id));
    }
    state.updater.notify();
    change.done("repo.security", &id.to_string(), &form.flag, &format!("/repos/{id}")).await
}

fn bad_flag(v: &str) -> WebError {
    WebError::BadRequest(format!("flag: {v:?} is not yes, no or auto"))
}

pub async fn enabled(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<EnabledForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let enabled = yes_no("enabled", &form.enabled)?;
    if !state.admin.set_repo_enabled(id, enabled).await? {
        return Err(no_repo(id));
    }
    state.updater.notify();
    change.done("repo.enabled", &id.to_string(), &form.enabled, &format!("/repos/{id}")).await
}

pub async fn mirror_enabled(
    State(state): State<WebState>,
    admin: Admin,
    Path(mirror): Path<i64>,
    Form(form): Form<EnabledForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let enabled = yes_no("enabled", &form.enabled)?;
    let repo = state
        .store
        .repos()
        .await?
        .into_iter()
        .find(|r| r.mirrors.iter().any(|m| m.id == mirror))
        .ok_or_else(|| WebError::NotFound(format!("no mirror {mirror}")))?;
    if !state.admin.set_mirror_enabled(mirror, enabled).await? {
        return Err(WebError::NotFound(format!("no mirror {mirror}")));
    }
    change.done("mirror.enabled", &mirror.to_string(), &form.enabled, &format!("/repos/{}#mirrors", repo.id)).await
}

pub async fn link(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<LinkForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let other: i64 = form
        .other
        .trim()
        .parse()
        .map_err(|_| WebError::BadRequest(format!("other: {:?} is not a repository id", form.other)))?;
    if other == id {
        return Err(WebError::BadRequest("other: a repository cannot be linked into itself".to_owned()));
    }
    if !state.admin.link_repos(id, other).await? {
        return Err(WebError::NotFound(format!("repositories {id} and {other} must both exist")));
    }
    state.updater.notify();
    change.done("repo.link", &id.to_string(), &other.to_string(), &format!("/repos/{id}")).await
}

/// Starts a refresh of one repository in the background (a refresh can take minutes); the
/// page says it is running until it is done, then the updater recomputes what changed.
pub async fn refresh_one(
    State(state): State<WebState>,
    admin: Admin,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    if !state.store.repos().await?.iter().any(|r| r.id == id) {
        return Err(no_repo(id));
    }
    start_refresh(&state, Some(id));
    change.done("repo.refresh", &id.to_string(), "", &format!("/repos/{id}")).await
}

pub async fn refresh_all(
    State(state): State<WebState>,
    admin: Admin,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    start_refresh(&state, None);
    change.done("repo.refresh", "all", "", "/repos").await
}

/// One refresh started from the web at a time; a second request while it runs is a no-op.
fn start_refresh(state: &WebState, only: Option<i64>) {
    if state.refreshing.swap(true, Ordering::AcqRel) {
        return;
    }
    let (refresher, updater, flag) = (state.refresher.clone(), state.updater.clone(), state.refreshing.clone());
    tokio::spawn(async move {
        match refresher.run(only, false, &Progress::Log).await {
            Ok(summary) => tracing::info!(
                repos = summary.repos,
                changed = summary.changed,
                failed = summary.failed.len(),
                "refresh started from the web finished"
            ),
            Err(err) => tracing::error!(%err, "refresh started from the web failed"),
        }
        updater.notify();
        flag.store(false, Ordering::Release);
    });
}
