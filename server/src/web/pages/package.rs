//! `/packages`: package names by a substring, kind and arch, with how many versions of each
//! are known; `/packages?name=NAME`: one name: each version installed or offered, how many
//! hosts have it (linking to them) and which repositories offer it. "Which hosts have
//! openssl 3.0.7-27 installed, and from which repository?" in one page. Either downloads
//! with `&format=csv|json` (every name that matches, or every version of the one name).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::query::{PackageFilter, PageRequest};
use crate::store::views::{PackageNameView, PackageVersionView};
use crate::web::download::{Downloads, Export, Format, download};
use crate::web::format::link;
use crate::web::listing::Pager;
use crate::web::{WebError, WebState, render};

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
struct Name {
    row: PackageNameView,
    href: String,
}

#[derive(Serialize)]
struct Page {
    name: String,
    versions: Vec<Version>,
    search: String,
    deb: bool,
    rpm: bool,
    arch: String,
    listed: bool,
    total: u64,
    names: Vec<Name>,
    #[serde(flatten)]
    pager: Pager,
    #[serde(flatten)]
    downloads: Downloads,
}

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let format = Format::from_pairs(&pairs)?;
    let name = pairs.iter().rev().find(|(k, _)| k == "name").map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let rest = pairs.iter().filter(|(k, _)| k != "name").map(|(k, v)| (k.as_str(), v.as_str()));
    let filter = PackageFilter::from_pairs(rest).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let page_no = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "page")
        .map(|(_, v)| v.parse::<u32>().map_err(|_| WebError::BadRequest(format!("page: {v:?} is not a whole number"))))
        .transpose()?
        .unwrap_or(1)
        .max(1);
    let versions = if name.is_empty() { Vec::new() } else { state.store.package_versions(&name).await? };
    let listed = name.is_empty();
    let request = PageRequest { page: page_no, per_page: 200 };
    let names = if listed {
        state.store.package_names(&filter, format.slice(request)).await?
    } else {
        crate::query::Paged { total: 0, rows: Vec::new() }
    };
    let file = if listed { download(format, "packages", &names.rows) } else { download(format, &name, &versions) };
    if let Some(file) = file {
        return Ok(file);
    }
    let mut pairs_out = filter.to_pairs();
    if !listed {
        pairs_out = vec![("name", name.clone())];
    }
    let data = Page {
        versions: versions
            .into_iter()
            .map(|v| Version {
                hosts_href: link("/hosts", &[("package_name", name.clone()), ("package_evr", v.evr.clone())]),
                evr: v.evr,
                arch: v.arch,
                kind: v.kind.as_str(),
                hosts: v.hosts,
                repos: v.repos,
            })
            .collect(),
        name,
        search: filter.search.clone().unwrap_or_default(),
        deb: filter.kind.as_deref() == Some("deb"),
        rpm: filter.kind.as_deref() == Some("rpm"),
        arch: filter.arch.clone().unwrap_or_default(),
        listed,
        total: names.total,
        pager: Pager::new("/packages", &filter.to_pairs(), request, names.total),
        downloads: Downloads::new("/packages", &pairs_out),
        names: names
            .rows
            .into_iter()
            .map(|row| Name { href: link("/packages", &[("name", row.name.clone())]), row })
            .collect(),
    };
    Ok(render::page(&state, "package", &data)?.into_response())
}

impl Export for PackageNameView {
    const COLUMNS: &'static [&'static str] = &["name", "kind", "versions", "arches"];

    fn cells(&self) -> Vec<String> {
        vec![self.name.clone(), self.kind.as_str().to_owned(), self.versions.to_string(), self.arches.to_string()]
    }
}

impl Export for PackageVersionView {
    const COLUMNS: &'static [&'static str] = &["kind", "evr", "arch", "hosts", "repos"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.as_str().to_owned(),
            self.evr.clone(),
            self.arch.clone(),
            self.hosts.to_string(),
            self.repos.join(" "),
        ]
    }
}
