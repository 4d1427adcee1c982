//! What an administrator changes on a host's page: its tags, whether it uses only its own
//! repositories, a recompute of its updates, deleting it. Each goes through the same store
//! functions as the CLI (see `change` for the CSRF check, audit line and redirect).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use crate::web::change::{Checked, CsrfForm, yes_no};
use crate::web::{Admin, WebError, WebState};

#[derive(Deserialize)]
pub struct UseHostReposForm {
    #[serde(default)]
    csrf: String,
    /// "yes": its own repositories only; "no": also its OS group's.
    own_only: String,
}

#[derive(Deserialize)]
pub struct TagForm {
    #[serde(default)]
    csrf: String,
    tag: String,
    /// `add` or `remove`.
    action: String,
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
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let own_only = yes_no("own_only", &form.own_only)?;
    let name = name.to_ascii_lowercase();
    if !state.admin.set_use_host_repos(&name, own_only).await? {
        return Err(no_host(&name));
    }
    state.updater.notify();
    change.done("host.use_host_repos", &name, &form.own_only, &format!("/hosts/{name}")).await
}

pub async fn recompute(
    State(state): State<WebState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let name = name.to_ascii_lowercase();
    let id = state.store.host_id(&name).await?.ok_or_else(|| no_host(&name))?;
    state.updater.recompute(&[id]).await?;
    change.done("host.recompute", &name, "", &format!("/hosts/{name}")).await
}

pub async fn delete(
    State(state): State<WebState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let name = name.to_ascii_lowercase();
    if !state.admin.delete_host(&name).await? {
        return Err(no_host(&name));
    }
    change.done("host.delete", &name, "", "/hosts").await
}

pub async fn tag(
    State(state): State<WebState>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<TagForm>,
) -> Result<Response, WebError> {
    let change = Checked::new(&state, &admin, &form.csrf)?;
    let present = match form.action.as_str() {
        "add" => true,
        "remove" => false,
        other => return Err(WebError::BadRequest(format!("action: {other:?} is not add or remove"))),
    };
    let tag = crate::fields::tag("tag", &form.tag).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let name = name.to_ascii_lowercase();
    if !state.admin.set_host_tag(&name, &tag, present).await? {
        return Err(no_host(&name));
    }
    let action = if present { "host.tag" } else { "host.untag" };
    change.done(action, &name, &tag, &format!("/hosts/{name}")).await
}
