//! `/packages?name=NAME`: one package name: each version installed or offered, how many
//! hosts have it (linking to them) and which repositories offer it. "Which hosts have
//! openssl 3.0.7-27 installed, and from which repository?" in one page.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};

use crate::web::format::link;
use crate::web::{WebError, WebState, render};

#[derive(Deserialize)]
pub struct PackageQuery {
    #[serde(default)]
    name: String,
}

#[derive(Serialize)]
struct Version {
    evr: String,
    arch: String,
    kind: &'static str,
    hosts: i64,
    hosts_href: String,
    repos: Vec<String>,
}

#[derive(Serialize)]
struct Page {
    name: String,
    versions: Vec<Version>,
}

pub async fn page(State(state): State<WebState>, Query(q): Query<PackageQuery>) -> Result<Html<String>, WebError> {
    let name = q.name.trim().to_owned();
    let versions = if name.is_empty() { Vec::new() } else { state.store.package_versions(&name).await? };
    let versions = versions
        .into_iter()
        .map(|v| Version {
            hosts_href: link("/hosts", &[("package_name", name.clone()), ("package_evr", v.evr.clone())]),
            evr: v.evr,
            arch: v.arch,
            kind: v.kind.as_str(),
            hosts: v.hosts,
            repos: v.repos,
        })
        .collect();
    render::page(&state, "package", &Page { name, versions })
}
