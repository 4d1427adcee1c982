//! The query layer's read models as `patchman.v1` messages, and the text filters of a request
//! as the query layer's filters. Nothing here asks the store.

use patchman_proto as pb;
use tonic::Status;

use crate::query::{Clock, HostFilter, HostSort, HostStatus, PackageFilter, QueryError, RepoFilter};
use crate::report::PackageKind;
use crate::store::views::{
    Dashboard, ErratumView, MirrorView, OsGroupView, PackageHostView, PackageNameView, PackageView, RepoView,
    UpdateView,
};
use crate::store::{HostDetail, HostSummary};

/// `key=value&key=value` (URL-encoded where needed) as pairs; the keys that choose order,
/// page or format belong to other fields of the request.
pub(super) fn pairs(field: &str, text: &str) -> Result<Vec<(String, String)>, Status> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(text.trim())
        .map_err(|e| Status::invalid_argument(format!("{field}: not key=value pairs joined by &: {e}")))?;
    if let Some((k, _)) = pairs.iter().find(|(k, _)| ["sort", "page", "per_page", "format"].contains(&k.as_str())) {
        return Err(Status::invalid_argument(format!(
            "{field}: {k} is not a filter (order_by and page_size are fields)"
        )));
    }
    Ok(pairs)
}

fn invalid(field: &str, e: QueryError) -> Status {
    Status::invalid_argument(format!("{field}.{e}"))
}

/// A request's host filter.
pub fn host_filter(field: &str, text: &str) -> Result<HostFilter, Status> {
    let pairs = pairs(field, text)?;
    let (filter, _, _) =
        HostFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|e| invalid(field, e))?;
    Ok(filter)
}

/// A request's `order_by` (`hostname`, `-security`, …).
pub fn host_sort(order_by: &str) -> Result<HostSort, Status> {
    if order_by.trim().is_empty() {
        return Ok(HostSort::default());
    }
    let (_, sort, _) = HostFilter::from_pairs([("sort", order_by.trim())])
        .map_err(|e| Status::invalid_argument(format!("order_by: {}", e.message)))?;
    Ok(sort)
}

pub fn repo_filter(text: &str) -> Result<RepoFilter, Status> {
    let pairs = pairs("filter", text)?;
    RepoFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|e| invalid("filter", e))
}

pub fn package_filter(search: &str, kind: &str, arch: &str) -> Result<PackageFilter, Status> {
    PackageFilter::from_pairs([("search", search), ("kind", kind), ("arch", arch)])
        .map_err(|e| Status::invalid_argument(e.to_string()))
}

pub fn status(s: HostStatus) -> pb::HostStatus {
    match s {
        HostStatus::Silent => pb::HostStatus::Silent,
        HostStatus::Unknown => pb::HostStatus::Unknown,
        HostStatus::Security => pb::HostStatus::Security,
        HostStatus::Bugfix => pb::HostStatus::Bugfix,
        HostStatus::UpToDate => pb::HostStatus::UpToDate,
    }
}

fn kind(k: PackageKind) -> pb::PackageKind {
    match k {
        PackageKind::Deb => pb::PackageKind::Deb,
        PackageKind::Rpm => pb::PackageKind::Rpm,
        PackageKind::Arch => pb::PackageKind::Arch,
        PackageKind::Gentoo => pb::PackageKind::Gentoo,
    }
}

pub fn host(h: &HostSummary, clock: &Clock) -> pb::HostInfo {
    pb::HostInfo {
        hostname: h.hostname.clone(),
        domain: h.domain.clone(),
        os_group: h.os_group.clone(),
        os_variant: h.os_variant.clone(),
        arch: h.arch.clone(),
        kernel: h.kernel.clone(),
        status: status(h.status_at(clock)) as i32,
        security_updates: h.security_updates,
        bugfix_updates: h.bugfix_updates,
        packages_in_no_repository: h.unknown_packages,
        package_count: h.package_count,
        repository_count: h.repo_count,
        reboot_required: h.reboot_required,
        reboot_reason: String::new(),
        tags: h.tags.clone(),
        last_report_ms: h.last_seen_at.unwrap_or(0),
        use_host_repos: false,
        client_version: String::new(),
        view_disagreements: h.view_disagreements,
        unauthenticated: h.unauthenticated,
        duplicate_packages: h.duplicate_packages > 0,
    }
}

pub fn host_detail(d: &HostDetail, clock: &Clock) -> pb::HostInfo {
    pb::HostInfo {
        reboot_reason: d.reboot_reason.clone(),
        use_host_repos: d.use_host_repos,
        client_version: d.client_version.clone(),
        ..host(&d.summary, clock)
    }
}

pub fn installed(p: &PackageView, in_no_repository: bool) -> pb::InstalledPackage {
    pb::InstalledPackage {
        name: p.name.clone(),
        evr: p.evr.clone(),
        arch: p.arch.clone(),
        kind: kind(p.kind) as i32,
        source_name: p.source_name.clone(),
        in_no_repository,
    }
}

pub fn update(u: &UpdateView) -> pb::Update {
    pb::Update {
        name: u.name.clone(),
        arch: u.arch.clone(),
        installed_evr: u.installed.clone(),
        available_name: u.available_name.clone(),
        available_evr: u.available.clone(),
        security: u.security,
        kernel: u.kernel,
        repository: u.repo.clone(),
        reason: u.reason.clone(),
        erratum: u.erratum.clone(),
    }
}

pub fn package_name(p: &PackageNameView) -> pb::PackageName {
    pb::PackageName { name: p.name.clone(), kind: kind(p.kind) as i32, versions: p.versions, arches: p.arches }
}

pub fn package_host(p: &PackageHostView) -> pb::PackageHost {
    pb::PackageHost {
        hostname: p.hostname.clone(),
        evr: p.evr.clone(),
        arch: p.arch.clone(),
        repositories: p.repos.clone(),
    }
}

pub fn mirror(repo_id: i64, m: &MirrorView) -> pb::Mirror {
    pb::Mirror {
        id: m.id,
        repository_id: repo_id,
        url: m.url.clone(),
        enabled: m.enabled,
        fail_count: m.fail_count,
        last_error: m.last_error.clone(),
        last_success_ms: m.last_success_at.unwrap_or(0),
        valid_until_passed: m.valid_until_passed,
        verified_by: m.verified_by.clone().unwrap_or_default(),
        metadata_verified: m.verified_by.as_deref().is_some_and(|v| !v.is_empty()),
    }
}

pub fn repository(r: &RepoView, clock: &Clock) -> pb::RepositoryInfo {
    pb::RepositoryInfo {
        id: r.id,
        kind: kind(r.kind) as i32,
        name: r.name.clone(),
        key: r.repo_key.clone(),
        security: r.security,
        security_manual: r.security_manual,
        enabled: r.enabled,
        package_count: r.package_count,
        host_count: r.host_count,
        os_groups: r.os_groups.clone(),
        refreshed_ms: r.refreshed_at.unwrap_or(0),
        failing: r.failing(),
        stale: r.stale(clock),
        mirrors: r.mirrors.iter().map(|m| mirror(r.id, m)).collect(),
        auth_required: r.auth_required,
    }
}

pub fn os_group(g: &OsGroupView) -> pb::OsGroup {
    pb::OsGroup {
        name: g.name.clone(),
        variants: g.variants.clone(),
        host_count: g.host_count,
        repository_ids: g.repos.iter().map(|r| r.id).collect(),
        repository_names: g.repos.iter().map(|r| r.name.clone()).collect(),
    }
}

pub fn erratum(e: &ErratumView) -> pb::Erratum {
    pb::Erratum {
        name: e.name.clone(),
        kind: e.kind.clone(),
        severity: e.severity.clone(),
        issued_ms: e.issued_at.unwrap_or(0),
        title: e.title.clone(),
        cves: e.cves.clone(),
        package_count: e.packages,
        host_count: e.hosts,
    }
}

pub fn summary(d: &Dashboard) -> pb::Summary {
    pb::Summary {
        hosts: d.hosts,
        by_status: d.by_status.iter().map(|(s, n)| pb::StatusCount { status: status(*s) as i32, hosts: *n }).collect(),
        hosts_with_security_updates: d.with_security,
        hosts_needing_reboot: d.reboot_required,
        hosts_without_repositories: d.without_repos,
        hosts_with_packages_in_no_repository: d.with_unknown_packages,
        packages_in_no_repository: d.unknown_packages,
        updates: d.updates,
        repositories: d.repos,
        repositories_unused: d.repos_unused,
        repositories_not_refreshed: d.repos_not_refreshed,
        repositories_past_valid_until: d.repos_past_valid_until,
        mirrors_failing: d.mirrors_failing,
        mirrors_disabled: d.mirrors_disabled,
        os_variants_without_group_repositories: d.os_variants_without_group_repos,
        hosts_view_disagrees: d.view_disagrees,
        hosts_unauthenticated: d.unauthenticated,
        hosts_with_duplicate_packages: d.duplicate_packages,
        repositories_unverified: d.repos_unverified,
    }
}
