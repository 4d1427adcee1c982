//! `/errata`: the errata (advisories) the repositories offer, newest first, with their CVEs
//! and how many hosts need an update they name; `?format=csv|json` downloads the same rows.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::query::PageRequest;
use crate::store::views::{ErratumView, format_time};
use crate::web::download::{Downloads, Export, Format, download};
use crate::web::format::{When, when};
use crate::web::listing::Pager;
use crate::web::{WebError, WebState, render};

#[derive(Deserialize)]
pub struct ErrataQuery {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    format: Option<String>,
}

#[derive(Serialize)]
struct Row<'a> {
    e: &'a ErratumView,
    issued: When,
    security: bool,
}

#[derive(Serialize)]
struct Page<'a> {
    total: u64,
    rows: Vec<Row<'a>>,
    #[serde(flatten)]
    pager: Pager,
    #[serde(flatten)]
    downloads: Downloads,
}

pub async fn page(State(state): State<WebState>, Query(q): Query<ErrataQuery>) -> Result<Response, WebError> {
    let page = PageRequest { page: q.page.unwrap_or(1).max(1), per_page: 100 };
    let format = Format::from_pairs(&[("format".to_owned(), q.format.unwrap_or_default())])?;
    let list = state.store.errata(format.slice(page)).await?;
    if let Some(file) = download(format, "errata", &list.rows) {
        return Ok(file);
    }
    let now = state.clock().now_ms;
    let data = Page {
        total: list.total,
        rows: list
            .rows
            .iter()
            .map(|e| Row { issued: when(e.issued_at, now), security: e.kind.eq_ignore_ascii_case("security"), e })
            .collect(),
        pager: Pager::new("/errata", &[], page, list.total),
        downloads: Downloads::new("/errata", &[]),
    };
    Ok(render::page(&state, "errata", &data)?.into_response())
}

impl Export for ErratumView {
    const COLUMNS: &'static [&'static str] =
        &["name", "kind", "severity", "issued_at", "title", "cves", "packages", "hosts"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.name.clone(),
            self.kind.clone(),
            self.severity.clone(),
            self.issued_at.map(format_time).unwrap_or_default(),
            self.title.clone(),
            self.cves.join(" "),
            self.packages.to_string(),
            self.hosts.to_string(),
        ]
    }
}
