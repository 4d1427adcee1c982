//! A refused upload: its status and why, in one line for protocol 1 (plain text, as curl
//! prints it) or as protocol 2's JSON (`{"status": "error", "errors": {FIELD: [WHY]}}`, or
//! `"detail"` when no field is to blame). Nothing of a refused upload is stored.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::fields::ValidationError;
use crate::ingest::IngestError;

#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    /// The fields to blame, each with why (protocol 2 names every bad field at once).
    pub fields: Vec<ValidationError>,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into(), fields: Vec::new() }
    }

    /// 400 naming the fields.
    pub fn invalid(fields: Vec<ValidationError>) -> Self {
        let message = fields.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        Self { status: StatusCode::BAD_REQUEST, message, fields }
    }

    /// What ingest refused, or could not store.
    pub fn from_ingest(err: IngestError, what: &str) -> Self {
        let status = match &err {
            IngestError::UnknownToken | IngestError::UnknownKey => StatusCode::UNAUTHORIZED,
            IngestError::WrongHost { .. } | IngestError::HostHasToken { .. } | IngestError::HostNeedsKey { .. } => {
                StatusCode::FORBIDDEN
            }
            IngestError::Store(store) => {
                tracing::error!(err = %store, what, "cannot store an upload");
                return Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server could not store the report; nothing of it was stored, send it again",
                );
            }
        };
        Self::new(status, err.to_string())
    }

    /// What metrics call it: `rejected_<why>`, or `failed` when the server could not store.
    pub fn label(&self) -> &'static str {
        match self.status {
            StatusCode::BAD_REQUEST => "rejected_invalid",
            StatusCode::UNAUTHORIZED => "rejected_unauthenticated",
            StatusCode::FORBIDDEN => "rejected_forbidden",
            StatusCode::PAYLOAD_TOO_LARGE => "rejected_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "rejected_media_type",
            _ => "failed",
        }
    }

    /// Protocol 1's answer: the reason as one line of text.
    pub fn text(self) -> Response {
        let mut line = self.message;
        line.push('\n');
        (self.status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response()
    }

    /// Protocol 2's answer: JSON, naming each bad field.
    pub fn json(self) -> Response {
        let body = if self.fields.is_empty() {
            serde_json::json!({ "status": "error", "detail": self.message })
        } else {
            let errors: serde_json::Map<String, serde_json::Value> = self
                .fields
                .into_iter()
                .map(|f| (f.field, serde_json::Value::Array(vec![serde_json::Value::String(f.message)])))
                .collect();
            serde_json::json!({ "status": "error", "errors": errors })
        };
        (self.status, axum::Json(body)).into_response()
    }
}
