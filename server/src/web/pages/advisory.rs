//! `/advisories/NAME` and `/cves/CVE`: one advisory (its CVEs, fixed versions per release,
//! hosts exposed and hosts fixed) and one CVE (known exploited?, the advisories and errata
//! naming it, its hosts).

use axum::extract::{Path, State};
use axum::response::Html;
use serde::Serialize;

use super::advisories::{Link, cve_links};
use crate::store::{AdvisoryDetail, AdvisoryView, CveDetail, ExposedHostView, FixedHostView};
use crate::web::format::{When, when};
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Exposed<'a> {
    e: &'a ExposedHostView,
    host_href: String,
    advisory_href: String,
    since: When,
}

#[derive(Serialize)]
struct Fixed<'a> {
    f: &'a FixedHostView,
    host_href: String,
    exposed_days: String,
    fixed: When,
}

#[derive(Serialize)]
struct AdvisoryRow<'a> {
    a: &'a AdvisoryView,
    href: String,
    severity: &'a str,
}

#[derive(Serialize)]
struct AdvisoryPage<'a> {
    d: &'a AdvisoryDetail,
    severity: &'a str,
    issued: When,
    cves: Vec<Link>,
    exposed: Vec<Exposed<'a>>,
    exposed_count: usize,
    fixed: Vec<Fixed<'a>>,
    fixed_count: usize,
}

#[derive(Serialize)]
struct CvePage<'a> {
    d: &'a CveDetail,
    severity: &'a str,
    advisories: Vec<AdvisoryRow<'a>>,
    exposed: Vec<Exposed<'a>>,
    exposed_count: usize,
    fixed: Vec<Fixed<'a>>,
    fixed_count: usize,
}

/// Exposures are per installed package: a host with three binaries of one source counts once.
fn distinct_hosts(rows: &[ExposedHostView]) -> usize {
    rows.iter().map(|e| e.hostname.as_str()).collect::<std::collections::HashSet<_>>().len()
}

fn or_unrated(s: &str) -> &str {
    if s.is_empty() { "unrated" } else { s }
}

fn exposed(rows: &[ExposedHostView], now: i64) -> Vec<Exposed<'_>> {
    rows.iter()
        .map(|e| Exposed {
            host_href: format!("/hosts/{}", e.hostname),
            advisory_href: format!("/advisories/{}", e.advisory),
            since: when(e.since, now),
            e,
        })
        .collect()
}

fn fixed(rows: &[FixedHostView], now: i64) -> Vec<Fixed<'_>> {
    rows.iter()
        .map(|f| Fixed {
            host_href: format!("/hosts/{}", f.hostname),
            exposed_days: format!("{:.1}", (f.fixed_at - f.opened_at).max(0) as f64 / 86_400_000.0),
            fixed: when(Some(f.fixed_at), now),
            f,
        })
        .collect()
}

pub async fn advisory(State(state): State<WebState>, Path(name): Path<String>) -> Result<Html<String>, WebError> {
    let clock = state.clock();
    let Some(d) = state.advisories.advisory_detail(&name, &clock).await? else {
        return Err(WebError::NotFound(format!("there is no advisory named {name}")));
    };
    let data = AdvisoryPage {
        severity: or_unrated(&d.advisory.severity),
        issued: when(d.advisory.issued_at, clock.now_ms),
        cves: cve_links(&d.advisory.cves),
        exposed: exposed(&d.exposed, clock.now_ms),
        exposed_count: distinct_hosts(&d.exposed),
        fixed: fixed(&d.fixed, clock.now_ms),
        fixed_count: d.fixed.len(),
        d: &d,
    };
    render::page(&state, "advisory", &data)
}

pub async fn cve(State(state): State<WebState>, Path(cve): Path<String>) -> Result<Html<String>, WebError> {
    let clock = state.clock();
    let cve = cve.to_ascii_uppercase();
    if !crate::advisories::is_cve(&cve) {
        return Err(WebError::BadRequest(format!("cve: {cve:?} is not a CVE id (CVE-YYYY-NNNN)")));
    }
    let Some(d) = state.advisories.cve_detail(&cve, &clock).await? else {
        return Err(WebError::NotFound(format!("no advisory, erratum or catalogue entry names {cve}")));
    };
    let data = CvePage {
        severity: or_unrated(&d.severity),
        advisories: d
            .advisories
            .iter()
            .map(|a| AdvisoryRow { href: format!("/advisories/{}", a.name), severity: or_unrated(&a.severity), a })
            .collect(),
        exposed: exposed(&d.exposed, clock.now_ms),
        exposed_count: distinct_hosts(&d.exposed),
        fixed: fixed(&d.fixed, clock.now_ms),
        fixed_count: d.fixed.len(),
        d: &d,
    };
    render::page(&state, "cve", &data)
}
