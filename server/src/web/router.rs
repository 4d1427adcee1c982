//! Which path is which page. Every route but the static files passes the guard; all but
//! `/login` need a session.

use axum::Router;
use axum::routing::{get, post};

use super::{WebState, assets, guard, pages};

pub fn router(state: WebState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::dashboard::page))
        .route("/hosts", get(pages::hosts::page))
        .route("/hosts/bulk", post(pages::hosts_bulk::apply))
        .route("/hosts/{hostname}", get(pages::host::page))
        .route("/hosts/{hostname}/use-host-repos", post(pages::host_admin::use_host_repos))
        .route("/hosts/{hostname}/recompute", post(pages::host_admin::recompute))
        .route("/hosts/{hostname}/tags", post(pages::host_admin::tag))
        .route("/hosts/{hostname}/delete", post(pages::host_admin::delete))
        .route("/repos", get(pages::repos::page))
        .route("/repos/refresh", post(pages::repo_admin::refresh_all))
        .route("/repos/{id}", get(pages::repo::page))
        .route("/repos/{id}/security", post(pages::repo_admin::security))
        .route("/repos/{id}/enabled", post(pages::repo_admin::enabled))
        .route("/repos/{id}/link", post(pages::repo_admin::link))
        .route("/repos/{id}/refresh", post(pages::repo_admin::refresh_one))
        .route("/mirrors/{id}/enabled", post(pages::repo_admin::mirror_enabled))
        .route("/updates", get(pages::updates::page))
        .route("/os-groups", get(pages::os_groups::page))
        .route("/os-groups/repos", post(pages::os_groups::set_repo))
        .route("/os-groups/variants", post(pages::os_groups::move_variant))
        .route("/transactions", get(pages::transactions::page))
        .route("/errata", get(pages::errata::page))
        .route("/advisories", get(pages::advisories::page))
        .route("/advisories/{name}", get(pages::advisory::advisory))
        .route("/cves/{cve}", get(pages::advisory::cve))
        .route("/time-to-patch", get(pages::time_to_patch::page))
        .route("/packages", get(pages::package::page))
        .route("/audit", get(pages::audit::page))
        .route("/login", get(pages::login::form).post(pages::login::sign_in))
        .route("/logout", post(pages::logout::sign_out))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard::guard));
    Router::new()
        .route("/static/{*path}", get(assets::asset))
        // Browsers ask for it on every site; there is none, and no sign-in is needed to say so.
        .route("/favicon.ico", get(|| async { axum::http::StatusCode::NO_CONTENT }))
        .merge(pages)
        .with_state(state)
}
