//! `/advisories`: the security feeds' advisories, most severe first, filtered (host, CVE,
//! severity, exploited, exposed now, package, feed), with the feeds and whether they fail;
//! `?format=csv|json` downloads the same rows.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::query::{AdvisoryFilter, PageRequest};
use crate::store::views::format_time;
use crate::store::{AdvisoryView, FeedState};
use crate::web::download::{Downloads, Export, Format, download};
use crate::web::format::{FlagSelect, When, flag_select, when};
use crate::web::listing::Pager;
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Row<'a> {
    a: &'a AdvisoryView,
    href: String,
    severity: &'a str,
    /// The day it was issued (YYYY-MM-DD), "" when not known.
    issued: String,
    summary: String,
    /// The first CVEs, and how many more the advisory's page lists.
    cves: Vec<Link>,
    more_cves: usize,
}

#[derive(Serialize)]
pub(crate) struct Link {
    pub text: String,
    pub href: String,
}

#[derive(Serialize)]
struct Feed<'a> {
    f: &'a FeedState,
    read: When,
    failing: bool,
}

#[derive(Serialize)]
struct Severity {
    value: &'static str,
    selected: bool,
}

#[derive(Serialize)]
struct Page<'a> {
    total: u64,
    rows: Vec<Row<'a>>,
    feeds: Vec<Feed<'a>>,
    cve: String,
    package: String,
    host: String,
    severities: Vec<Severity>,
    flags: Vec<FlagSelect>,
    filtered: bool,
    #[serde(flatten)]
    pager: Pager,
    #[serde(flatten)]
    downloads: Downloads,
}

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let filter = AdvisoryFilter::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let page_no = pairs.iter().rev().find(|(k, _)| k == "page").and_then(|(_, v)| v.parse().ok()).unwrap_or(1u32);
    let page = PageRequest { page: page_no.max(1), per_page: 100 };
    let format = Format::from_pairs(&pairs)?;
    let (list, feeds) =
        tokio::try_join!(state.advisories.advisory_list(&filter, format.slice(page)), state.advisories.feed_states())?;
    if let Some(file) = download(format, "advisories", &list.rows) {
        return Ok(file);
    }
    let now = state.clock().now_ms;
    let pairs_out = filter.to_pairs();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let data = Page {
        total: list.total,
        rows: list
            .rows
            .iter()
            .map(|a| Row {
                href: format!("/advisories/{}", a.name),
                severity: if a.severity.is_empty() { "unrated" } else { &a.severity },
                issued: a.issued_at.map(|t| format_time(t)[..10].to_owned()).unwrap_or_default(),
                summary: shortened(&a.summary, 140),
                cves: cve_links(&a.cves[..a.cves.len().min(3)]),
                more_cves: a.cves.len().saturating_sub(3),
                a,
            })
            .collect(),
        feeds: feeds
            .iter()
            .map(|f| Feed { read: when(f.last_success_at, now), failing: f.fail_count > 0, f })
            .collect(),
        cve: text(&filter.cve),
        package: text(&filter.package),
        host: text(&filter.host),
        severities: ["critical", "high", "medium", "low", "unimportant", "unrated"]
            .into_iter()
            .map(|value| Severity { value, selected: filter.severity.as_deref() == Some(value) })
            .collect(),
        flags: vec![
            flag_select("exploited", "Known exploited", filter.exploited.then_some(true)),
            flag_select("exposed", "Exposing hosts now", filter.exposed.then_some(true)),
        ],
        filtered: filter != AdvisoryFilter::default(),
        pager: Pager::new("/advisories", &pairs_out, page, list.total),
        downloads: Downloads::new("/advisories", &pairs_out),
    };
    Ok(render::page(&state, "advisories", &data)?.into_response())
}

/// At most `max` characters, cut at a word with "…".
fn shortened(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{cut}…")
}

pub(crate) fn cve_links(cves: &[String]) -> Vec<Link> {
    cves.iter().map(|c| Link { text: c.clone(), href: format!("/cves/{c}") }).collect()
}

impl Export for AdvisoryView {
    const COLUMNS: &'static [&'static str] = &[
        "name",
        "feed",
        "kind",
        "severity",
        "issued_at",
        "withdrawn_at",
        "summary",
        "cves",
        "exploited",
        "hosts_exposed",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.feed.clone(),
            self.kind.clone(),
            self.severity.clone(),
            self.issued_at.map(format_time).unwrap_or_default(),
            self.withdrawn_at.map(format_time).unwrap_or_default(),
            self.summary.clone(),
            self.cves.join(" "),
            self.exploited.to_string(),
            self.hosts_exposed.to_string(),
        ]
    }
}
