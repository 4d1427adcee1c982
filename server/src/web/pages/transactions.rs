//! `/transactions`: what hosts installed, upgraded or removed, and when, newest first: the
//! hosts a host filter selects, and `package=` narrows it to transactions that changed a
//! package of that name.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::Serialize;

use crate::query::HostFilter;
use crate::store::views::HostTransactionView;
use crate::web::format::{When, link, when};
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Row<'a> {
    t: &'a HostTransactionView,
    host_href: String,
    finished: When,
}

#[derive(Serialize)]
struct Page<'a> {
    total: u64,
    rows: Vec<Row<'a>>,
    package: String,
    tag: String,
    search: String,
    filtered: bool,
    prev: String,
    next: String,
    page: u32,
    pages: u64,
}

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let package = pairs.iter().rev().find(|(k, _)| k == "package").map(|(_, v)| v.trim().to_owned());
    let package = package.filter(|p| !p.is_empty());
    let host_pairs = pairs.iter().filter(|(k, _)| k != "package").map(|(k, v)| (k.as_str(), v.as_str()));
    let (filter, _sort, page) = HostFilter::from_pairs(host_pairs).map_err(|e| WebError::BadRequest(e.to_string()))?;
    let clock = state.clock();
    let list = state.store.transaction_list(&filter, package.as_deref(), page, &clock).await?;
    let mut pairs_out = filter.to_pairs();
    if let Some(p) = &package {
        pairs_out.push(("package", p.clone()));
    }
    let page_link = |n: u32| {
        let mut p = pairs_out.clone();
        p.push(("page", n.to_string()));
        link("/transactions", &p)
    };
    let pages = list.total.div_ceil(u64::from(page.per_page)).max(1);
    let data = Page {
        total: list.total,
        rows: list
            .rows
            .iter()
            .map(|t| Row {
                host_href: format!("/hosts/{}", t.hostname),
                finished: when(Some(t.transaction.finished_at), clock.now_ms),
                t,
            })
            .collect(),
        package: package.clone().unwrap_or_default(),
        tag: filter.tag.clone().unwrap_or_default(),
        search: filter.search.clone().unwrap_or_default(),
        filtered: !pairs_out.is_empty(),
        prev: if page.page > 1 { page_link(page.page - 1) } else { String::new() },
        next: if u64::from(page.page) < pages { page_link(page.page + 1) } else { String::new() },
        page: page.page,
        pages,
    };
    render::page(&state, "transactions", &data)
}
