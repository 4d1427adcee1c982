//! The one error type of page handlers: `?` turns a store or template failure into a
//! response, so a handler never matches errors by hand.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Nothing at this path (a host that does not exist): 404 with the message.
    #[error("{0}")]
    NotFound(String),
    /// A query parameter or form field that cannot be used: 400 naming it.
    #[error("{0}")]
    BadRequest(String),
    /// Not allowed: not signed in (for a form), a viewer on an administrator's page, a wrong
    /// CSRF token. 403 with the message.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Render(#[from] handlebars::RenderError),
    #[error(transparent)]
    Update(#[from] crate::updates::UpdateError),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, message) = match &self {
            Self::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
            Self::BadRequest(m) => (StatusCode::BAD_REQUEST, m.clone()),
            Self::Forbidden(m) => (StatusCode::FORBIDDEN, m.clone()),
            Self::Store(_) | Self::Render(_) | Self::Update(_) => {
                tracing::error!(err = %self, "cannot answer a web request");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error: see the server log".to_owned())
            }
        };
        // Plain markup, not the layout: rendering may be what failed.
        let body = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>patchman: {code}</title>\
             <link rel=\"stylesheet\" href=\"/static/patchman.css\"></head><body><main class=\"error\">\
             <h1>{code}</h1><p>{text}</p><p><a href=\"/\">patchman</a></p></main></body></html>",
            code = status.as_u16(),
            text = handlebars::html_escape(&message),
        );
        (status, Html(body)).into_response()
    }
}
