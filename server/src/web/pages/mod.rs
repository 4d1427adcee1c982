//! One file per page. A page handler reads through `WebState`'s store, builds the
//! template's data and returns `render::page(…)`.

pub mod advisories;
pub mod advisory;
pub mod audit;
pub mod dashboard;
pub mod errata;
pub mod host;
pub mod host_admin;
pub mod hosts;
pub mod hosts_bulk;
pub mod login;
pub mod logout;
pub mod os_groups;
pub mod package;
pub mod repo;
pub mod repo_admin;
pub mod repos;
pub mod time_to_patch;
pub mod transactions;
pub mod updates;

use super::WebError;

/// Any path no page answers.
pub async fn not_found(uri: axum::http::Uri) -> WebError {
    WebError::NotFound(format!("there is no page at {}", uri.path()))
}
