//! `/`: what needs attention. Every item is a count that links to the list behind it; an
//! item with nothing to report is quiet. A bar of hosts by status, drawn as inline SVG.

use axum::extract::State;
use axum::response::Html;
use serde::Serialize;

use crate::query::HostStatus;
use crate::web::{WebError, WebState, render};

#[derive(Serialize)]
struct Item {
    count: i64,
    text: &'static str,
    href: String,
    /// Worth a look (count > 0 of something that needs attention).
    alert: bool,
}

#[derive(Serialize)]
struct Segment {
    status: &'static str,
    label: &'static str,
    count: i64,
    href: String,
    /// Where the segment starts and how wide it is, in percent of the bar.
    x: String,
    width: String,
}

#[derive(Serialize)]
struct MirrorRow {
    repo: String,
    url: String,
    disabled: bool,
    fail_count: i64,
    last_error: String,
}

#[derive(Serialize)]
struct Page {
    hosts: i64,
    unknown_packages: i64,
    repos: i64,
    updates: i64,
    items: Vec<Item>,
    segments: Vec<Segment>,
    failing_mirrors: Vec<MirrorRow>,
}

pub fn status_label(s: HostStatus) -> &'static str {
    s.label()
}

pub async fn page(State(state): State<WebState>) -> Result<Html<String>, WebError> {
    let clock = state.clock();
    let (d, repos, exposure) =
        tokio::try_join!(state.store.dashboard(&clock), state.store.repos(), state.advisories.exposure_summary())?;
    let status = |s: HostStatus| d.by_status.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
    let item =
        |count: i64, text: &'static str, href: &str| Item { count, text, href: href.to_owned(), alert: count > 0 };
    let items = vec![
        item(d.with_security, "hosts with security updates", "/hosts?has_security=true"),
        item(
            exposure.hosts_exploited,
            "hosts exposed to known-exploited vulnerabilities",
            "/advisories?exploited=true&exposed=true",
        ),
        item(exposure.hosts_exposed, "hosts exposed to security advisories", "/advisories?exposed=true"),
        item(status(HostStatus::Bugfix), "hosts with bugfix updates only", "/hosts?status=bugfix"),
        item(d.reboot_required, "hosts needing a reboot", "/hosts?reboot_required=true"),
        item(status(HostStatus::Silent), "hosts that stopped reporting", "/hosts?status=silent"),
        item(status(HostStatus::Unknown), "hosts whose updates are unknown", "/hosts?status=unknown"),
        item(d.without_repos, "hosts with no repositories", "/hosts?has_repos=false"),
        item(d.with_unknown_packages, "hosts with packages found in no repository", "/hosts?has_unknown_packages=true"),
        item(
            d.view_disagrees,
            "hosts whose package manager sees other updates than the server",
            "/hosts?view_disagrees=true",
        ),
        item(d.unauthenticated, "hosts reporting without credentials", "/hosts?unauthenticated=true"),
        item(d.duplicate_packages, "hosts with a package installed twice", "/hosts?duplicate_packages=true"),
        item(d.mirrors_failing + d.mirrors_disabled, "mirrors failing or disabled", "/repos?failing=true"),
        item(exposure.feeds_failing, "advisory feeds failing", "/advisories#feeds"),
        item(d.repos_not_refreshed, "repositories not refreshed lately", "/repos?stale=true"),
        item(d.repos_past_valid_until, "repositories past Valid-Until", "/repos?past_valid_until=true"),
        item(d.repos_unverified, "repositories whose metadata is not verified", "/repos?unverified=true"),
        item(d.repos_unused, "repositories no host uses", "/repos?unused=true"),
        item(d.os_variants_without_group_repos, "OS variants whose group has no repositories", "/os-groups"),
    ];
    let mut x = 0.0;
    let total = d.hosts.max(1) as f64;
    let segments = HostStatus::ALL
        .iter()
        .rev()
        .map(|s| {
            let count = status(*s);
            let width = count as f64 * 100.0 / total;
            let seg = Segment {
                status: s.as_str(),
                label: status_label(*s),
                count,
                href: format!("/hosts?status={}", s.as_str()),
                x: format!("{x:.2}"),
                width: format!("{width:.2}"),
            };
            x += width;
            seg
        })
        .collect();
    let failing_mirrors = repos
        .into_iter()
        .flat_map(|r| {
            let repo = r.name;
            r.mirrors.into_iter().filter(|m| !m.enabled || m.fail_count > 0).map(move |m| MirrorRow {
                repo: repo.clone(),
                url: m.url,
                disabled: !m.enabled,
                fail_count: m.fail_count,
                last_error: m.last_error,
            })
        })
        .collect();
    let page = Page {
        hosts: d.hosts,
        unknown_packages: d.unknown_packages,
        repos: d.repos,
        updates: d.updates,
        items,
        segments,
        failing_mirrors,
    };
    render::page(&state, "dashboard", &page)
}
