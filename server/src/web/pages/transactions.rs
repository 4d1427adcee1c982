//! `/transactions`: what hosts installed, upgraded or removed, and when, newest first: the
//! hosts a host filter selects, and `package=` narrows it to transactions that changed a
//! package of that name.

use axum::extract::{Query, State};
use axum::response::Html;
use serde::Serialize;

use crate::store::views::HostTransactionView;
use crate::web::format::{When, when};
use crate::web::listing::{HostQuery, Pager};
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
    #[serde(flatten)]
    pager: Pager,
}

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Html<String>, WebError> {
    let HostQuery { filter, page, own: package, .. } = HostQuery::from_pairs(&pairs, "package")?;
    let clock = state.clock();
    let list = state.store.transaction_list(&filter, package.as_deref(), page, &clock).await?;
    let mut pairs_out = filter.to_pairs();
    if let Some(p) = &package {
        pairs_out.push(("package", p.clone()));
    }
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
        pager: Pager::new("/transactions", &pairs_out, page, list.total),
    };
    render::page(&state, "transactions", &data)
}
