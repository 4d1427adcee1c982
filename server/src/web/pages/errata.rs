//! `/errata`: the errata (advisories) the repositories offer, newest first, with their CVEs
//! and how many hosts need an update they name.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};

use crate::query::PageRequest;
use crate::store::views::ErratumView;
use crate::web::format::{When, when};
use crate::web::listing::Pager;
use crate::web::{WebError, WebState, render};

#[derive(Deserialize)]
pub struct ErrataQuery {
    #[serde(default)]
    page: Option<u32>,
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
}

pub async fn page(State(state): State<WebState>, Query(q): Query<ErrataQuery>) -> Result<Html<String>, WebError> {
    let page = PageRequest { page: q.page.unwrap_or(1).max(1), per_page: 100 };
    let list = state.store.errata(page).await?;
    let now = state.clock().now_ms;
    let data = Page {
        total: list.total,
        rows: list
            .rows
            .iter()
            .map(|e| Row { issued: when(e.issued_at, now), security: e.kind.eq_ignore_ascii_case("security"), e })
            .collect(),
        pager: Pager::new("/errata", &[], page, list.total),
    };
    render::page(&state, "errata", &data)
}
