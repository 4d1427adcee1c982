//! `/hosts`: the hosts a filter selects (the filter lives in the URL: bookmark it, share
//! it), sorted and paged on the server; `?format=csv` and `?format=json` download the same
//! query's rows.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::query::{HostFilter, HostStatus};
use crate::store::HostSummary;
use crate::web::download::{Downloads, Export, Format, download};
use crate::web::format::{Hidden, When, hidden, link, when};
use crate::web::listing::Pager;
use crate::web::pages::dashboard::status_label;
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Row {
    hostname: String,
    href: String,
    os_variant: String,
    kernel: String,
    security: i64,
    bugfix: i64,
    reboot: bool,
    tags: Vec<String>,
    last_seen: When,
    status: &'static str,
    status_label: &'static str,
}

#[derive(Serialize)]
struct Option_ {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Serialize)]
struct Page {
    total: u64,
    rows: Vec<Row>,
    /// The filter's fields as the form shows them.
    search: String,
    tag: String,
    os_variant: String,
    arch: String,
    package_name: String,
    package_evr: String,
    statuses: Vec<Option_>,
    /// The filter's fields the form has no input for (from a dashboard link), kept when it
    /// is submitted.
    hidden: Vec<Hidden>,
    #[serde(flatten)]
    pager: Pager,
    /// Links: the downloads.
    #[serde(flatten)]
    downloads: Downloads,
    filtered: bool,
    /// The filter as a query string, for the bulk form's "all that match".
    query: String,
}

/// The filter fields the form shows as inputs.
const FORM_FIELDS: &[&str] = &["search", "status", "tag", "os_variant", "arch", "package_name", "package_evr"];

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let (filter, sort, page) = HostFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let format = Format::from_pairs(&pairs)?;
    let clock = state.clock();
    // A download is the whole selection, not one page of it.
    let list = state.store.host_list(&filter, &sort, format.slice(page), &clock).await?;
    let rows: Vec<HostExport> =
        if format == Format::Html { Vec::new() } else { list.rows.iter().map(|h| export(h, &clock)).collect() };
    if let Some(file) = download(format, "hosts", &rows) {
        return Ok(file);
    }
    let mut pairs_out = filter.to_pairs();
    if sort != Default::default() {
        let s = if sort.descending { format!("-{}", sort.key.as_str()) } else { sort.key.as_str().to_owned() };
        pairs_out.push(("sort", s));
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let data = Page {
        total: list.total,
        search: text(&filter.search),
        tag: text(&filter.tag),
        os_variant: text(&filter.os_variant),
        arch: text(&filter.arch),
        package_name: text(&filter.package_name),
        package_evr: text(&filter.package_evr),
        statuses: HostStatus::ALL
            .iter()
            .map(|s| Option_ { value: s.as_str(), label: status_label(*s), selected: filter.status == Some(*s) })
            .collect(),
        pager: Pager::new("/hosts", &pairs_out, page, list.total),
        downloads: Downloads::new("/hosts", &pairs_out),
        filtered: filter != HostFilter::default(),
        query: link("", &filter.to_pairs()).trim_start_matches('?').to_owned(),
        hidden: hidden(&pairs_out, FORM_FIELDS),
        rows: list.rows.iter().map(|h| row(h, &clock)).collect(),
    };
    Ok(render::page(&state, "hosts", &data)?.into_response())
}

fn row(h: &HostSummary, clock: &crate::query::Clock) -> Row {
    let status = h.status_at(clock);
    Row {
        hostname: h.hostname.clone(),
        href: format!("/hosts/{}", h.hostname),
        os_variant: h.os_variant.clone(),
        kernel: h.kernel.clone(),
        security: h.security_updates,
        bugfix: h.bugfix_updates,
        reboot: h.reboot_required,
        tags: h.tags.clone(),
        last_seen: when(h.last_seen_at, clock.now_ms),
        status: status.as_str(),
        status_label: status_label(status),
    }
}

/// The rows a download carries, the same in CSV and JSON.
#[derive(Serialize)]
struct HostExport<'a> {
    hostname: &'a str,
    status: &'static str,
    os_variant: &'a str,
    arch: &'a str,
    kernel: &'a str,
    security_updates: i64,
    bugfix_updates: i64,
    reboot_required: bool,
    tags: String,
    last_seen: String,
}

impl Export for HostExport<'_> {
    const COLUMNS: &'static [&'static str] = &[
        "hostname",
        "status",
        "os_variant",
        "arch",
        "kernel",
        "security_updates",
        "bugfix_updates",
        "reboot_required",
        "tags",
        "last_seen",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.hostname.to_owned(),
            self.status.to_owned(),
            self.os_variant.to_owned(),
            self.arch.to_owned(),
            self.kernel.to_owned(),
            self.security_updates.to_string(),
            self.bugfix_updates.to_string(),
            self.reboot_required.to_string(),
            self.tags.clone(),
            self.last_seen.clone(),
        ]
    }
}

fn export<'a>(h: &'a HostSummary, clock: &crate::query::Clock) -> HostExport<'a> {
    HostExport {
        hostname: &h.hostname,
        status: h.status_at(clock).as_str(),
        os_variant: &h.os_variant,
        arch: &h.arch,
        kernel: &h.kernel,
        security_updates: h.security_updates,
        bugfix_updates: h.bugfix_updates,
        reboot_required: h.reboot_required,
        tags: h.tags.join(" "),
        last_seen: h.last_seen_at.map(crate::store::views::format_time).unwrap_or_default(),
    }
}
