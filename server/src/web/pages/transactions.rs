//! `/transactions`: what hosts installed, upgraded or removed, and when, newest first: the
//! hosts a host filter selects, and `package=` narrows it to transactions that changed a
//! package of that name; `?format=csv|json` downloads the same rows (in CSV a transaction's
//! changes share one cell, `action name arch old → new` joined by `; `).

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::store::views::{HostTransactionView, format_time};
use crate::web::download::{Downloads, Export, Format, download};
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
    #[serde(flatten)]
    downloads: Downloads,
}

pub async fn page(
    State(state): State<WebState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let HostQuery { filter, page, own: package, .. } = HostQuery::from_pairs(&pairs, "package")?;
    let format = Format::from_pairs(&pairs)?;
    let clock = state.clock();
    let list = state.store.transaction_list(&filter, package.as_deref(), format.slice(page), &clock).await?;
    if let Some(file) = download(format, "transactions", &list.rows) {
        return Ok(file);
    }
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
        downloads: Downloads::new("/transactions", &pairs_out),
    };
    Ok(render::page(&state, "transactions", &data)?.into_response())
}

impl Export for HostTransactionView {
    const COLUMNS: &'static [&'static str] = &["hostname", "transaction_id", "finished_at", "tool", "changes"];

    fn cells(&self) -> Vec<String> {
        let t = &self.transaction;
        let changes: Vec<String> = t
            .changes
            .iter()
            .map(|c| format!("{} {} {} {} → {}", c.action, c.name, c.arch, c.old_version, c.new_version))
            .collect();
        vec![
            self.hostname.clone(),
            t.transaction_id.clone(),
            format_time(t.finished_at),
            t.tool.clone(),
            changes.join("; "),
        ]
    }
}
