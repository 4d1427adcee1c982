//! `/repos`: the repositories a filter selects (kind, security, enabled, failing mirrors, not
//! refreshed lately, past Valid-Until, unused, a search of names and mirror URLs), with their
//! package and host counts; `?format=csv|json` downloads the same rows.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::query::{Clock, RepoFilter};
use crate::store::views::RepoView;
use crate::web::download::{Downloads, Export, Format, download};
use crate::web::format::{FlagSelect, Hidden, When, flag_select, hidden, when};
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Row {
    id: i64,
    href: String,
    name: String,
    kind: &'static str,
    security: bool,
    security_manual: bool,
    enabled: bool,
    mirrors: usize,
    failing: bool,
    stale: bool,
    packages: i64,
    hosts: i64,
    hosts_href: String,
    refreshed: When,
}

#[derive(Serialize)]
struct Page {
    rows: Vec<Row>,
    search: String,
    deb: bool,
    rpm: bool,
    flags: Vec<FlagSelect>,
    /// Filter fields the form has no input for (from a dashboard link), kept on submit.
    hidden: Vec<Hidden>,
    total: usize,
    filtered: bool,
    #[serde(flatten)]
    downloads: Downloads,
    refreshing: bool,
}

/// The filter fields the form shows as inputs.
const FORM_FIELDS: &[&str] = &["search", "kind", "security", "enabled", "failing", "stale", "unused"];

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let filter = RepoFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let format = Format::from_pairs(&pairs)?;
    let clock = state.clock();
    let repos = state.store.repo_list(&filter, &clock).await?;
    if format != Format::Html {
        let rows: Vec<RepoExport> = repos.iter().map(|r| export(r, &clock)).collect();
        if let Some(file) = download(format, "repositories", &rows) {
            return Ok(file);
        }
    }
    let pairs_out = filter.to_pairs();
    let data = Page {
        search: filter.search.clone().unwrap_or_default(),
        deb: filter.kind.as_deref() == Some("deb"),
        rpm: filter.kind.as_deref() == Some("rpm"),
        flags: vec![
            flag_select("security", "Security", filter.security),
            flag_select("enabled", "Enabled", filter.enabled),
            flag_select("failing", "Failing mirrors", filter.failing),
            flag_select("stale", "Not refreshed lately", filter.stale),
            flag_select("unused", "Unused", filter.unused),
        ],
        hidden: hidden(&pairs_out, FORM_FIELDS),
        total: repos.len(),
        filtered: filter != RepoFilter::default(),
        downloads: Downloads::new("/repos", &pairs_out),
        refreshing: state.refreshing.load(std::sync::atomic::Ordering::Relaxed),
        rows: repos.iter().map(|r| row(r, &clock)).collect(),
    };
    Ok(render::page(&state, "repos", &data)?.into_response())
}

fn row(r: &RepoView, clock: &Clock) -> Row {
    Row {
        id: r.id,
        href: format!("/repos/{}", r.id),
        name: r.name.clone(),
        kind: r.kind.as_str(),
        security: r.security,
        security_manual: r.security_manual,
        enabled: r.enabled,
        mirrors: r.mirrors.len(),
        failing: r.failing(),
        stale: r.stale(clock),
        packages: r.package_count,
        hosts: r.host_count,
        hosts_href: format!("/hosts?repo={}", r.id),
        refreshed: when(r.refreshed_at, clock.now_ms),
    }
}

#[derive(Serialize)]
struct RepoExport<'a> {
    id: i64,
    name: &'a str,
    kind: &'static str,
    security: bool,
    enabled: bool,
    failing: bool,
    stale: bool,
    packages: i64,
    hosts: i64,
    mirrors: Vec<&'a str>,
    refreshed: String,
}

impl Export for RepoExport<'_> {
    const COLUMNS: &'static [&'static str] =
        &["id", "name", "kind", "security", "enabled", "failing", "stale", "packages", "hosts", "mirrors", "refreshed"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.to_string(),
            self.name.to_owned(),
            self.kind.to_owned(),
            self.security.to_string(),
            self.enabled.to_string(),
            self.failing.to_string(),
            self.stale.to_string(),
            self.packages.to_string(),
            self.hosts.to_string(),
            self.mirrors.join(" "),
            self.refreshed.clone(),
        ]
    }
}

fn export<'a>(r: &'a RepoView, clock: &Clock) -> RepoExport<'a> {
    RepoExport {
        id: r.id,
        name: &r.name,
        kind: r.kind.as_str(),
        security: r.security,
        enabled: r.enabled,
        failing: r.failing(),
        stale: r.stale(clock),
        packages: r.package_count,
        hosts: r.host_count,
        mirrors: r.mirrors.iter().map(|m| m.url.as_str()).collect(),
        refreshed: r.refreshed_at.map(crate::store::views::format_time).unwrap_or_default(),
    }
}
