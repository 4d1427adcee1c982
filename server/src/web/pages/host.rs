//! `/hosts/NAME`: one host: its state, its updates split into security and bugfix (each with
//! why), its packages (those found in no repository marked), repositories, reports and
//! transactions.

use axum::extract::{Path, State};
use axum::response::Html;
use serde::Serialize;

use crate::store::AuthKind;
use crate::store::views::{HostRepoView, ReportView, TransactionView, UpdateView, ViewDifference};
use crate::web::format::{When, when};
use crate::web::pages::dashboard::status_label;
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Package {
    name: String,
    evr: String,
    arch: String,
    in_no_repo: bool,
}

#[derive(Serialize)]
struct Tag<'a> {
    name: &'a str,
    href: String,
    /// Given by an administrator (reports do not change it).
    by_admin: bool,
}

#[derive(Serialize)]
struct Page<'a> {
    hostname: &'a str,
    status: &'static str,
    status_label: &'static str,
    os: &'a str,
    os_variant: &'a str,
    kernel: &'a str,
    arch: &'a str,
    domain: &'a str,
    reboot_required: bool,
    reboot_reason: &'a str,
    tags: Vec<Tag<'a>>,
    use_host_repos: bool,
    client_version: &'a str,
    last_seen: When,
    enrolled: When,
    updates_current: bool,
    /// With the advisories each fixes (as its erratum when the repository named none).
    security: Vec<UpdateView>,
    bugfix: Vec<UpdateView>,
    packages: Vec<Package>,
    not_in_repos: usize,
    repos: &'a [HostRepoView],
    reports: &'a [ReportView],
    transactions: &'a [TransactionView],
    /// How its last report proved who sent it, in words.
    reported_with: String,
    unauthenticated: bool,
    /// Its token in words: issued when, with which key, last used.
    token: String,
    /// The kinds of its packages that updates are not found for ("arch", "gentoo").
    inventory_only: Vec<&'static str>,
    /// The host says which updates its package manager offers.
    offered_known: bool,
    view_differences: &'a [ViewDifference],
    /// Packages installed twice where they cannot be ("name arch: evr, evr").
    duplicates: Vec<String>,
    /// The advisories it is exposed to, exploited and most severe first.
    exposures: Vec<Exposure<'a>>,
}

/// One advisory the host is exposed to, with every installed package it names.
#[derive(Serialize)]
struct Exposure<'a> {
    e: &'a crate::store::HostExposureView,
    href: String,
    severity: &'a str,
    /// The first CVEs, and how many more the advisory's page lists.
    cves: Vec<super::advisories::Link>,
    more_cves: usize,
    /// The installed packages it names ("libssl3, openssl").
    packages: String,
    /// The update that installs the fix, when the host's repositories offer one.
    fixed_by: String,
}

/// The update, naming the advisories it fixes when its repository named no erratum.
fn with_advisories(
    u: &UpdateView,
    exposures: &[crate::store::HostExposureView],
    kind: crate::report::PackageKind,
) -> UpdateView {
    let mut u = u.clone();
    if u.erratum.is_empty() {
        let mut names: Vec<&str> = exposures
            .iter()
            .filter(|e| {
                e.package == u.name
                    && !e.fixed.is_empty()
                    && !crate::advisories::exposure::is_older(kind, &u.available, &e.fixed)
            })
            .map(|e| e.advisory.as_str())
            .collect();
        names.sort_unstable();
        names.dedup();
        u.erratum = names.join(", ");
    }
    u
}

/// The update of `name` that reaches `fixed` ("" when none does, or no fix exists).
fn fixing_update(updates: &[UpdateView], kind: crate::report::PackageKind, name: &str, fixed: &str) -> String {
    if fixed.is_empty() {
        return String::new();
    }
    updates
        .iter()
        .find(|u| u.name == name && !crate::advisories::exposure::is_older(kind, &u.available, fixed))
        .map(|u| format!("{} from {}", u.available, u.repo))
        .unwrap_or_default()
}

fn reported_with(kind: AuthKind, detail: &str) -> String {
    match kind {
        AuthKind::NotYet => "not reported yet".to_owned(),
        AuthKind::HostToken => "its own host token".to_owned(),
        AuthKind::ApiKey => format!("API key {detail}"),
        AuthKind::Network => format!("no credentials, from {detail} (a network allowed to report without)"),
    }
}

pub async fn page(State(state): State<WebState>, Path(hostname): Path<String>) -> Result<Html<String>, WebError> {
    let name = hostname.to_ascii_lowercase();
    let host = state.store.host(&name).await?.ok_or_else(|| WebError::NotFound(format!("no host named {name}")))?;
    let exposures = state.advisories.host_exposures(&name).await?.unwrap_or_default();
    let kind_of = |package: &str| {
        host.packages.iter().find(|p| p.name == package).map_or(crate::report::PackageKind::Deb, |p| p.kind)
    };
    let clock = state.clock();
    let s = &host.summary;
    let status = s.status_at(&clock);
    let unknown: std::collections::HashSet<&str> = host.packages_not_in_repos.iter().map(String::as_str).collect();
    let packages = host
        .packages
        .iter()
        .map(|p| Package {
            in_no_repo: unknown.contains(format!("{} {} {}", p.name, p.evr, p.arch).as_str()),
            name: p.name.clone(),
            evr: p.evr.clone(),
            arch: p.arch.clone(),
        })
        .collect();
    let page = Page {
        hostname: &s.hostname,
        status: status.as_str(),
        status_label: status_label(status),
        os: if host.os_pretty_name.is_empty() { &s.os_variant } else { &host.os_pretty_name },
        os_variant: &s.os_variant,
        kernel: &s.kernel,
        arch: &s.arch,
        domain: &s.domain,
        reboot_required: s.reboot_required,
        reboot_reason: &host.reboot_reason,
        tags: s
            .tags
            .iter()
            .map(|t| Tag {
                name: t,
                href: crate::web::format::link("/hosts", &[("tag", t.clone())]),
                by_admin: host.admin_tags.contains(t),
            })
            .collect(),
        use_host_repos: host.use_host_repos,
        client_version: &host.client_version,
        last_seen: when(s.last_seen_at, clock.now_ms),
        enrolled: when(Some(host.enrolled_at), clock.now_ms),
        updates_current: s.updates_current && s.updates_known,
        security: host
            .updates
            .iter()
            .filter(|u| u.security)
            .map(|u| with_advisories(u, &exposures, kind_of(&u.name)))
            .collect(),
        bugfix: host
            .updates
            .iter()
            .filter(|u| !u.security)
            .map(|u| with_advisories(u, &exposures, kind_of(&u.name)))
            .collect(),
        packages,
        not_in_repos: host.packages_not_in_repos.len(),
        repos: &host.repos,
        reports: &host.reports,
        transactions: &host.transactions,
        reported_with: reported_with(host.reported_with.kind, &host.reported_with.detail),
        unauthenticated: host.reported_with.kind == AuthKind::Network,
        token: crate::store::views::HostTokenView::describe(host.token.as_ref()),
        inventory_only: {
            let mut kinds: Vec<&'static str> =
                host.packages.iter().filter(|p| !p.kind.has_updates()).map(|p| p.kind.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            kinds
        },
        offered_known: host.offered_known,
        view_differences: &host.view_differences,
        duplicates: host.duplicate_packages(),
        exposures: exposures
            .chunk_by(|a, b| a.advisory == b.advisory && a.feed == b.feed)
            .map(|group| {
                let e = &group[0];
                let names: Vec<&str> = group.iter().map(|g| g.package.as_str()).collect();
                Exposure {
                    href: format!("/advisories/{}", e.advisory),
                    severity: if e.severity.is_empty() { "unrated" } else { &e.severity },
                    cves: super::advisories::cve_links(&e.cves[..e.cves.len().min(3)]),
                    more_cves: e.cves.len().saturating_sub(3),
                    packages: names.join(", "),
                    fixed_by: fixing_update(&host.updates, kind_of(&e.package), &e.package, &e.fixed),
                    e,
                }
            })
            .collect(),
    };
    render::page(&state, "host", &page)
}
