//! `/audit`: who changed what, newest first (administrators only), as `patchman audit`.

use axum::extract::State;
use axum::response::Html;
use serde::Serialize;

use crate::store::views::AuditView;
use crate::web::{Admin, WebError, WebState, render};

#[derive(Serialize)]
struct Page {
    entries: Vec<AuditView>,
}

pub async fn page(State(state): State<WebState>, _admin: Admin) -> Result<Html<String>, WebError> {
    let entries = state.accounts.audit_log(500).await?;
    render::page(&state, "audit", &Page { entries })
}
