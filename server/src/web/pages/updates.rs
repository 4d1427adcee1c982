//! `/updates`: every outstanding (installed → available) pair of the hosts a host filter
//! selects, with how many hosts need it, security first; `package=` narrows it to one
//! package name; `?format=csv|json` downloads the same rows.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::views::UpdatePairView;
use crate::web::download::{Downloads, Export, Format, download};
use crate::web::format::{Hidden, hidden, link};
use crate::web::listing::{HostQuery, Pager};
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Row<'a> {
    pair: &'a UpdatePairView,
    package_href: String,
    hosts_href: String,
}

#[derive(Serialize)]
struct Page<'a> {
    total: u64,
    rows: Vec<Row<'a>>,
    package: String,
    tag: String,
    os_group: String,
    os_variant: String,
    hidden: Vec<Hidden>,
    filtered: bool,
    #[serde(flatten)]
    pager: Pager,
    #[serde(flatten)]
    downloads: Downloads,
}

/// The fields the form shows as inputs.
const FORM_FIELDS: &[&str] = &["package", "tag", "os_group", "os_variant"];

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let HostQuery { filter, page, own: package, .. } = HostQuery::from_pairs(&pairs, "package")?;
    let format = Format::from_pairs(&pairs)?;
    let clock = state.clock();
    let list = state.store.update_list(&filter, package.as_deref(), format.slice(page), &clock).await?;
    if let Some(file) = download(format, "updates", &list.rows) {
        return Ok(file);
    }
    let mut pairs_out = filter.to_pairs();
    if let Some(p) = &package {
        pairs_out.push(("package", p.clone()));
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows = list
        .rows
        .iter()
        .map(|u| {
            let mut hosts = filter.to_pairs();
            hosts.retain(|(k, _)| *k != "package_name" && *k != "package_evr");
            hosts.push(("package_name", u.name.clone()));
            hosts.push(("package_evr", u.installed.clone()));
            Row {
                pair: u,
                package_href: link("/packages", &[("name", u.name.clone())]),
                hosts_href: link("/hosts", &hosts),
            }
        })
        .collect();
    let data = Page {
        total: list.total,
        rows,
        package: package.clone().unwrap_or_default(),
        tag: text(&filter.tag),
        os_group: text(&filter.os_group),
        os_variant: text(&filter.os_variant),
        hidden: hidden(&pairs_out, FORM_FIELDS),
        filtered: !pairs_out.is_empty(),
        pager: Pager::new("/updates", &pairs_out, page, list.total),
        downloads: Downloads::new("/updates", &pairs_out),
    };
    Ok(render::page(&state, "updates", &data)?.into_response())
}

impl Export for UpdatePairView {
    const COLUMNS: &'static [&'static str] =
        &["kind", "name", "arch", "installed", "available", "security", "hosts", "repo"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.as_str().to_owned(),
            self.name.clone(),
            self.arch.clone(),
            self.installed.clone(),
            self.available.clone(),
            self.security.to_string(),
            self.hosts.to_string(),
            self.repo.clone(),
        ]
    }
}
