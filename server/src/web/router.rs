//! Which path is which page. Every route but the static files passes the guard.

use axum::Router;
use axum::routing::get;

use super::{WebState, assets, guard, pages};

pub fn router(state: WebState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::dashboard::page))
        .route("/hosts", get(pages::hosts::page))
        .route("/hosts/{hostname}", get(pages::host::page))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard));
    Router::new().route("/static/{*path}", get(assets::asset)).merge(pages).with_state(state)
}
