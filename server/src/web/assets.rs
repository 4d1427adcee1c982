//! Embedded files: the templates (read by `render`) and `web/static/` (served here).

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../web/"]
pub(super) struct Assets;

pub async fn asset(Path(path): Path<String>) -> Response {
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
    ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=3600")], file.data).into_response()
}
