//! What an administrator changes on a host's page: whether it uses only its own
//! repositories, a recompute of its updates, deleting it. Each is a POST with the session's
//! CSRF token, goes through the same store functions as the CLI, is written to the audit log,
//! and answers with a redirect (POST, redirect, GET).

use axum::Form;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::store::AuditEntry;
use crate::web::{Admin, WebError, WebState, check_csrf};

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Deserialize)]
pub struct UseHostReposForm {
    #[serde(default)]
    csrf: String,
    /// "yes": its own repositories only; "no": also its OS group's.
    own_only: String,
}

fn see_other(to: &str) -> Response {
    (axum::http::StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

async fn audit(state: &WebState, admin: &Admin, action: &str, host: &str, detail: &str) -> Result<(), WebError> {
    let actor = format!("web:{}", admin.0.name);
    let entry = AuditEntry { at: crate::clock::now_ms(), actor: &actor, action, target: host, detail };
    Ok(state.accounts.audit(&entry).await?)
}

fn no_host(name: &str) -> WebError {
    WebError::NotFound(format!("no host named {name}"))
}

pub async fn use_host_repos(
    State(state): State<WebState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<UseHostReposForm>,
) -> Result<Response, WebError> {
    check_csrf(&admin.0, &form.csrf)?;
    let own_only = match form.own_only.as_str() {
        "yes" => true,
        "no" => false,
        other => return Err(WebError::BadRequest(format!("own_only: {other:?} is not yes or no"))),
    };
    let name = name.to_ascii_lowercase();
    if !state.admin.set_use_host_repos(&name, own_only).await? {
        return Err(no_host(&name));
    }
    audit(&state, &admin, "host.use_host_repos", &name, &form.own_only).await?;
    state.updater.notify();
    Ok(see_other(&format!("/hosts/{name}")))
}

pub async fn recompute(
    State(state): State<WebState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    check_csrf(&admin.0, &form.csrf)?;
    let name = name.to_ascii_lowercase();
    let id = state.store.host_id(&name).await?.ok_or_else(|| no_host(&name))?;
    state.updater.recompute(&[id]).await?;
    audit(&state, &admin, "host.recompute", &name, "").await?;
    Ok(see_other(&format!("/hosts/{name}")))
}

pub async fn delete(
    State(state): State<WebState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    check_csrf(&admin.0, &form.csrf)?;
    let name = name.to_ascii_lowercase();
    if !state.admin.delete_host(&name).await? {
        return Err(no_host(&name));
    }
    audit(&state, &admin, "host.delete", &name, "").await?;
    Ok(see_other("/hosts"))
}
