//! `patchman import-patchman`: a Patchman 4 installation's organisation (as
//! `store::patchman_source` reads it) turned into this server's: repositories keyed and named
//! as a report of the same host names them, OS releases as OS groups named as ingest names
//! them (so the hosts' next reports land in them), hosts with their tags, repositories and
//! `host_repos_only`. Whatever cannot be read is skipped with why; the store keeps what exists.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::ingest::{is_security_repo, os_names};
use crate::report::{Os, UrlKind};
use crate::store::patchman_source::{PatchmanData, PmRepo};
use crate::store::{ImportSummary, OrgGroup, OrgHost, OrgRepo, Organisation, PreparedRepo};

use super::values::{self, At, RepoValues};

/// The organisation to write, and what was skipped on the way.
pub fn organisation(data: &PatchmanData) -> (Organisation, ImportSummary) {
    let mut skipped = ImportSummary::default();
    let mut org = Organisation::default();
    // Patchman's repository id → index into `org.repos`.
    let mut repo_index: HashMap<i64, usize> = HashMap::new();
    for repo in &data.repos {
        match org_repo(repo, data) {
            Ok(r) => {
                repo_index.insert(repo.id, org.repos.len());
                org.repos.push(r);
            }
            Err(why) => skipped.skipped("repository", &repo.name, why),
        }
    }

    // OS groups as ingest names them, from the variants' names (what the clients send).
    let variant_os: HashMap<i64, (String, String)> =
        data.variants.iter().map(|v| (v.id, group_and_variant(&v.name))).collect();
    let mut groups: BTreeMap<String, (BTreeSet<String>, BTreeSet<usize>)> = BTreeMap::new();
    for release in &data.releases {
        let mut names: Vec<String> = data
            .variants
            .iter()
            .filter(|v| v.release_id == Some(release.id))
            .map(|v| {
                let (group, variant) = variant_os[&v.id].clone();
                groups.entry(group.clone()).or_default().0.insert(variant);
                group
            })
            .collect();
        if names.is_empty() {
            names.push(group_and_variant(&release.name).0);
        }
        for group in names {
            let entry = groups.entry(group).or_default();
            for (_, repo_id) in data.release_repos.iter().filter(|(r, _)| *r == release.id) {
                if let Some(&i) = repo_index.get(repo_id) {
                    entry.1.insert(i);
                }
            }
        }
    }
    for v in data.variants.iter().filter(|v| v.release_id.is_none()) {
        let (group, variant) = variant_os[&v.id].clone();
        groups.entry(group).or_default().0.insert(variant);
    }
    org.groups = groups
        .into_iter()
        .map(|(name, (variants, repos))| OrgGroup {
            name,
            variants: variants.into_iter().collect(),
            repos: repos.into_iter().collect(),
        })
        .collect();

    for host in &data.hosts {
        let hostname = match crate::fields::hostname(&host.hostname) {
            Ok(h) => h,
            Err(e) => {
                skipped.skipped("host", &host.hostname, e.message);
                continue;
            }
        };
        let mut tags = Vec::new();
        for (_, tag) in data.host_tags.iter().filter(|(h, _)| *h == host.id) {
            match crate::fields::tag("tag", tag) {
                Ok(t) => tags.push(t),
                Err(e) => skipped.skipped("tag", format!("{hostname}: {tag}"), e.message),
            }
        }
        let repos = data
            .host_repos
            .iter()
            .filter(|hr| hr.host_id == host.id)
            .filter_map(|hr| {
                let i = *repo_index.get(&hr.repo_id)?;
                // Patchman keeps higher as preferred, so yum's priorities are negated there.
                let kind = org.repos[i].repo.reported.kind;
                let priority = if kind == crate::report::PackageKind::Rpm { -hr.priority } else { hr.priority };
                Some((i, priority.clamp(-100_000, 100_000) as i32, hr.enabled))
            })
            .collect();
        org.hosts.push(OrgHost {
            hostname,
            domain: if host.domain == "unknown" { String::new() } else { host.domain.clone() },
            os: host.variant_id.and_then(|id| variant_os.get(&id).cloned()),
            arch: host.arch.clone(),
            kernel: host.kernel.clone(),
            use_host_repos: host.host_repos_only,
            tags,
            last_seen_at: host.last_report_ms,
            repos,
        });
    }
    (org, skipped)
}

/// ("Ubuntu 22.04", "Ubuntu 22.04.4") from Patchman's "Ubuntu 22.04.4 LTS": the names ingest
/// gives a report whose OS string this is. A name that is no OS string stays as it is.
fn group_and_variant(name: &str) -> (String, String) {
    match values::os(name) {
        Ok(os) => os_names(&os),
        Err(_) => (name.to_owned(), name.to_owned()),
    }
}

/// A repository as a report of one of its hosts would create it, or why it cannot be.
fn org_repo(repo: &PmRepo, data: &PatchmanData) -> Result<OrgRepo, String> {
    let mirrors: Vec<_> = data.mirrors.iter().filter(|m| m.repo_id == repo.id).collect();
    if mirrors.is_empty() {
        return Err("it has no mirrors: a report names it again with its URLs".to_owned());
    }
    let kind = match repo.repotype.as_str() {
        "D" => "deb",
        "R" => "rpm",
        "A" => "arch",
        "G" => "gentoo",
        other => return Err(format!("type {other:?} is not deb, rpm, arch or gentoo")),
    };
    let raw_id = repo.repo_id.as_deref().unwrap_or("");
    // The client puts the OS's CPE name before yum's id: `cpe:/o:rocky:rocky:9::baseos-appstream`.
    let cpe = match raw_id.strip_prefix("cpe:") {
        Some(_) => {
            let last = raw_id.rfind(':').map_or(0, |i| i + 1);
            raw_id[last..].find('-').map(|dash| raw_id[..last + dash].to_owned()).unwrap_or_default()
        }
        None => String::new(),
    };
    let os = Os { cpe_name: cpe, ..Os::default() };
    let at = At::Item { field: "repository", index: repo.id as usize };
    // deb: one URL names the repository; the others are more mirrors of it.
    let urls: Vec<&str> =
        if kind == "deb" { vec![mirrors[0].url.as_str()] } else { mirrors.iter().map(|m| m.url.as_str()).collect() };
    let values = RepoValues { kind, name: &repo.name, id: raw_id, priority: None, urls };
    let mut reported = values::repo(at, values, &os, &repo.arch).map_err(|e| e.message)?;
    let mut enabled = Vec::new();
    if kind == "deb" {
        for m in &mirrors[1..] {
            let url = crate::fields::url("url", &m.url).map_err(|e| e.message)?;
            reported.urls.push(crate::report::RepoUrl { url, kind: UrlKind::Apt });
        }
    }
    for (u, m) in reported.urls.iter_mut().zip(&mirrors) {
        // Patchman knows a mirrorlist by fetching it; its flag is the better word.
        if m.mirrorlist && u.kind == UrlKind::Baseurl {
            u.kind = UrlKind::Mirrorlist;
        }
        enabled.push(m.enabled && m.refresh);
    }
    let arch = if reported.architecture.is_empty() { repo.arch.clone() } else { reported.architecture.clone() };
    let display_name = if reported.name.is_empty() { reported.repo_id.clone() } else { reported.name.clone() };
    let by_name = is_security_repo(&reported);
    Ok(OrgRepo {
        repo: PreparedRepo { display_name, security: repo.security, reported },
        arch,
        security_manual: repo.security != by_name,
        enabled: repo.enabled,
        auth_required: repo.auth_required,
        mirrors_enabled: enabled,
    })
}
