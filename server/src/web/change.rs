//! What every administrator's change on a page shares: a POST carrying the session's CSRF
//! token, checked first; a line in the audit log naming who changed what; an answer that
//! redirects (POST, redirect, GET).

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{Admin, WebError, WebState, check_csrf};
use crate::store::AuditEntry;

/// A form that carries nothing but its CSRF token.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

/// An administrator whose form carried the session's token.
pub struct Checked<'a> {
    state: &'a WebState,
    admin: &'a Admin,
}

impl<'a> Checked<'a> {
    pub fn new(state: &'a WebState, admin: &'a Admin, csrf: &str) -> Result<Self, WebError> {
        check_csrf(&admin.0, csrf)?;
        Ok(Self { state, admin })
    }

    /// Writes the audit line for a change made, then redirects to `to`.
    pub async fn done(&self, action: &str, target: &str, detail: &str, to: &str) -> Result<Response, WebError> {
        self.audit(action, target, detail).await?;
        Ok(see_other(to))
    }

    /// Writes the audit line for a change made.
    pub async fn audit(&self, action: &str, target: &str, detail: &str) -> Result<(), WebError> {
        let actor = format!("web:{}", self.admin.0.name);
        let entry = AuditEntry { at: crate::clock::now_ms(), actor: &actor, action, target, detail };
        Ok(self.state.accounts.audit(&entry).await?)
    }
}

pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// A yes/no form field, or a 400 that names it.
pub fn yes_no(field: &str, v: &str) -> Result<bool, WebError> {
    match v {
        "yes" => Ok(true),
        "no" => Ok(false),
        other => Err(WebError::BadRequest(format!("{field}: {other:?} is not yes or no"))),
    }
}
