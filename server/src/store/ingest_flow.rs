//! How a report is stored, written once for every dialect: authenticate, recognise
//! duplicates, stale and unchanged reports, then write only the sections that changed. Each
//! dialect supplies the primitive statements (`IngestOps`) inside its own transaction.

use async_trait::async_trait;

use super::known::{KnownNames, NameKind};
use super::{AuthKind, Credential, IngestOutcome, IngestRejection, KnownPackages, PackageRow, StoreError, StoreResult};
use crate::auth::TokenHash;
use crate::report::{ModuleStream, OfferedUpdate, RepoUrl, Report, Transaction};
use crate::store::{Digest, PreparedRepo, PreparedReport};

/// The host a report is for, as far as ingest needs it.
#[derive(Debug)]
pub(crate) struct HostRow {
    pub id: i64,
    pub hostname: String,
    pub last_generated_at: Option<i64>,
    pub package_count: u32,
    /// packages, repos, modules, meta.
    pub digests: [Option<Vec<u8>>; 4],
    /// Whether a report with this report's id was stored before.
    pub report_seen: bool,
    /// The host has a token of its own.
    pub has_token: bool,
    /// How its last report was authenticated (`hosts.auth_kind`, `auth_detail`).
    pub auth_kind: i64,
    pub auth_detail: String,
    /// It has rows in `host_offered_updates`.
    pub offered_known: bool,
}

/// The statements ingest needs that read the same in every dialect, implemented once by
/// `portable_ingest::shared_ingest_ops!`.
#[async_trait]
pub(crate) trait SharedIngestOps: Send {
    /// The token's host, locked against concurrent ingests of the same host, and whether it
    /// sent `report_id` before.
    async fn host_by_token(&mut self, token_hash: &TokenHash, report_id: &str) -> StoreResult<Option<HostRow>>;
    /// The host of this name, locked as `host_by_token` locks it.
    async fn host_by_name(&mut self, hostname: &str, report_id: &str) -> StoreResult<Option<HostRow>>;
    /// A new host without a token, reported with `auth`; its id, or `None` when another
    /// transaction created it meanwhile.
    async fn create_host(&mut self, hostname: &str, auth: (AuthKind, &str), now: i64) -> StoreResult<Option<i64>>;
    /// The name of the API key with this hash if it is valid now (its last use recorded).
    async fn api_key_name(&mut self, key_hash: &TokenHash, now: i64) -> StoreResult<Option<String>>;
    async fn set_auth(&mut self, host_id: i64, auth: (AuthKind, &str)) -> StoreResult<()>;
    /// Records that the host's status may have changed (the watch stream's events).
    async fn record_event(&mut self, hostname: &str, now: i64) -> StoreResult<()>;
    /// Refreshes last-seen; with `applied`, also the generation time and wire digest of the
    /// state the host now has (an unchanged report).
    async fn touch(&mut self, host_id: i64, now: i64, applied: Option<(i64, Option<&[u8]>)>) -> StoreResult<()>;
    /// Inserts packages that are not stored yet; returns the id of a stored package whose
    /// content differs from the one given with the same id (a hash collision), if any.
    async fn upsert_packages(&mut self, packages: &[PackageRow<'_>]) -> StoreResult<Option<i64>>;
    async fn create_repo(&mut self, repo: &PreparedRepo, arch: &str, now: i64) -> StoreResult<i64>;
    async fn delete_repo(&mut self, repo_id: i64) -> StoreResult<()>;
    async fn update_host(&mut self, host_id: i64, update: &HostUpdate<'_>) -> StoreResult<()>;
    async fn insert_report(&mut self, host_id: i64, rep: &PreparedReport, now: i64, row: ReportRow) -> StoreResult<()>;
}

/// The statements ingest needs, run inside one open transaction: the shared ones, and those
/// each dialect writes its own way (bulk rows as JSON or arrays, name upserts).
#[async_trait]
pub(crate) trait IngestOps: SharedIngestOps {
    /// `known::PACKAGES_GENERATION`, as this transaction sees it.
    async fn packages_generation(&mut self) -> StoreResult<i64>;
    /// Stores a transaction record unless the host sent it before.
    async fn insert_transaction(&mut self, host_id: i64, t: &Transaction, now: i64) -> StoreResult<()>;
    /// The host's installed package ids.
    async fn host_package_ids(&mut self, host_id: i64) -> StoreResult<Vec<i64>>;
    async fn remove_host_packages(&mut self, host_id: i64, ids: &[i64]) -> StoreResult<()>;
    async fn add_host_packages(&mut self, host_id: i64, ids: &[i64]) -> StoreResult<()>;
    /// The host's whole installed set (sorted), after its links changed, for a dialect that
    /// also keeps it packed in one row (SQLite: `host_package_sets`).
    async fn keep_package_set(&mut self, _host_id: i64, _ids: &[i64]) -> StoreResult<()> {
        Ok(())
    }
    /// For each list of URLs, the repository that owns one of them (the lowest id), if any.
    async fn repos_by_urls(&mut self, url_lists: &[&[RepoUrl]]) -> StoreResult<Vec<Option<i64>>>;
    /// Adds the URLs no repository owns yet as mirrors of the repository given with each.
    async fn add_mirrors(&mut self, mirrors: &[(i64, &RepoUrl)], now: i64) -> StoreResult<()>;
    /// Links exactly these (repo, priority) pairs to the host, keeping `enabled` on links
    /// that stay.
    /// `fresh`: the host has never had any (nothing to delete).
    async fn set_host_repos(&mut self, host_id: i64, links: &[(i64, i32)], fresh: bool) -> StoreResult<()>;
    async fn set_host_modules(&mut self, host_id: i64, modules: &[ModuleStream], fresh: bool) -> StoreResult<()>;
    /// The id of the OS variant, creating it and its group as needed.
    async fn upsert_os(&mut self, group: &str, variant: &str) -> StoreResult<i64>;
    async fn upsert_domain(&mut self, name: &str) -> StoreResult<i64>;
    /// The ids of these tags, creating the missing ones.
    async fn upsert_tags(&mut self, tags: &[String]) -> StoreResult<Vec<i64>>;
    async fn set_host_tags(&mut self, host_id: i64, tag_ids: &[i64], fresh: bool) -> StoreResult<()>;
    /// Replaces the updates the host's package manager offers; `fresh`: it has none stored.
    async fn set_offered_updates(&mut self, host_id: i64, updates: &[OfferedUpdate], fresh: bool) -> StoreResult<()>;
}

/// `repos_by_urls`'s answer from (list index, repository id) rows.
pub(crate) fn owners_by_index(lists: usize, rows: Vec<(i64, i64)>) -> Vec<Option<i64>> {
    let mut owners = vec![None; lists];
    for (i, repo_id) in rows {
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| owners.get_mut(i)) {
            *slot = Some(repo_id);
        }
    }
    owners
}

/// What `reports` records of a report besides the report itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReportRow {
    /// `REPORT_STORED` or `REPORT_SUPERSEDED`.
    pub outcome: i64,
    pub added: u32,
    pub removed: u32,
}

/// The host columns a stored report sets.
pub(crate) struct HostUpdate<'a> {
    pub rep: &'a PreparedReport,
    /// The repositories' digest to keep: the report's, or the host's own when it keeps them.
    pub repos_digest: Option<&'a [u8]>,
    pub os_variant_id: i64,
    pub domain_id: Option<i64>,
    pub now: i64,
}

/// What the caller must do after committing.
#[derive(Debug)]
pub(crate) struct Ingested {
    pub outcome: IngestOutcome,
    /// Packages written or flagged installed by this transaction: remember them once it
    /// committed.
    pub new_packages: Vec<i64>,
    /// Names looked up or written by this transaction: remember them once it committed.
    pub new_names: Vec<(NameKind, String, i64)>,
}

/// The host `credential` may write this report for, locked for the transaction, and how
/// the credential is recorded on it. A host token writes its own host; an API key or a listed
/// network writes a host without a token of its own, created when new.
async fn authenticate<O: IngestOps>(
    ops: &mut O,
    credential: &Credential,
    r: &Report,
    now: i64,
) -> StoreResult<Result<(HostRow, AuthKind, String), IngestRejection>> {
    let (kind, detail) = match credential {
        Credential::Host(hash) => {
            let Some(host) = ops.host_by_token(hash, &r.report_id).await? else {
                return Ok(Err(IngestRejection::UnknownToken));
            };
            if host.hostname != r.hostname {
                return Ok(Err(IngestRejection::WrongHost { token_host: host.hostname }));
            }
            return Ok(Ok((host, AuthKind::HostToken, String::new())));
        }
        Credential::ApiKey(hash) => match ops.api_key_name(hash, now).await? {
            Some(name) => (AuthKind::ApiKey, name),
            None => return Ok(Err(IngestRejection::UnknownKey)),
        },
        Credential::Network(address) => (AuthKind::Network, address.clone()),
    };
    // Twice at most: a host another report created meanwhile is found the second time.
    for _ in 0..2 {
        match ops.host_by_name(&r.hostname, &r.report_id).await? {
            Some(host) if host.has_token => return Ok(Err(IngestRejection::HostHasToken)),
            Some(host) if kind == AuthKind::Network && host.auth_kind == AuthKind::ApiKey as i64 => {
                return Ok(Err(IngestRejection::HostNeedsKey));
            }
            Some(host) => return Ok(Ok((host, kind, detail))),
            None => {
                let Some(id) = ops.create_host(&r.hostname, (kind, &detail), now).await? else { continue };
                let host = HostRow {
                    id,
                    hostname: r.hostname.clone(),
                    last_generated_at: None,
                    package_count: 0,
                    digests: [None, None, None, None],
                    report_seen: false,
                    has_token: false,
                    auth_kind: kind as i64,
                    auth_detail: detail.clone(),
                    offered_known: false,
                };
                return Ok(Ok((host, kind, detail)));
            }
        }
    }
    Err(StoreError::Corrupt(format!("host {} is neither found nor created", r.hostname)))
}

pub(crate) async fn ingest<O: IngestOps>(
    ops: &mut O,
    known: &KnownPackages,
    names: &KnownNames,
    credential: &Credential,
    rep: &PreparedReport,
    now: i64,
) -> StoreResult<Result<Ingested, IngestRejection>> {
    let r = &rep.report;
    let (host, auth_kind, auth_detail) = match authenticate(ops, credential, r, now).await? {
        Ok(found) => found,
        Err(rejection) => return Ok(Err(rejection)),
    };
    if (host.auth_kind, host.auth_detail.as_str()) != (auth_kind as i64, auth_detail.as_str()) {
        ops.set_auth(host.id, (auth_kind, &auth_detail)).await?;
    }
    let done = |outcome| Ok(Ok(Ingested { outcome, new_packages: Vec::new(), new_names: Vec::new() }));
    if host.report_seen {
        return done(IngestOutcome::Duplicate { package_count: host.package_count });
    }
    for t in &r.transactions {
        ops.insert_transaction(host.id, t, now).await?;
    }
    if host.last_generated_at.is_some_and(|g| g > r.generated_at_ms) {
        ops.touch(host.id, now, None).await?;
        ops.record_event(&host.hostname, now).await?;
        let row = ReportRow { outcome: super::REPORT_SUPERSEDED, added: 0, removed: 0 };
        ops.insert_report(host.id, rep, now, row).await?;
        return done(IngestOutcome::Superseded { package_count: host.package_count });
    }
    let d = &rep.digests;
    let same = |i: usize, digest: &Digest| host.digests[i].as_deref() == Some(&digest[..]);
    let changed =
        [!same(0, &d.packages), !rep.keep_repos && !same(1, &d.repos), !same(2, &d.modules), !same(3, &d.meta)];
    if !changed.contains(&true) {
        let wire = rep.wire_digest.as_ref().map(|d| &d[..]);
        ops.touch(host.id, now, Some((r.generated_at_ms, wire))).await?;
        ops.record_event(&host.hostname, now).await?;
        return done(IngestOutcome::Unchanged { package_count: host.package_count });
    }

    let (mut added, mut removed, mut new_packages) = (0, 0, Vec::new());
    let mut generation = None;
    if changed[0] {
        let g = ops.packages_generation().await?;
        known.sync(g);
        new_packages = known.not_installed(rep.packages.iter().map(|p| p.id));
        // A host's first state: it has no package rows to diff against.
        let mut current = if host.digests[0].is_none() { Vec::new() } else { ops.host_package_ids(host.id).await? };
        current.sort_unstable();
        let wanted: Vec<i64> = rep.packages.iter().map(|p| p.id).collect(); // sorted by prepare()
        let (add, remove) = sorted_difference(&current, &wanted);
        if !remove.is_empty() {
            ops.remove_host_packages(host.id, &remove).await?;
        }
        if !add.is_empty() {
            ops.add_host_packages(host.id, &add).await?;
            generation = Some(g);
        }
        ops.keep_package_set(host.id, &wanted).await?;
        (added, removed) = (add.len() as u32, remove.len() as u32);
    }
    if changed[1] {
        let url_lists: Vec<&[RepoUrl]> = rep.repos.iter().map(|r| &r.reported.urls[..]).collect();
        let owners = ops.repos_by_urls(&url_lists).await?;
        let mut links = Vec::with_capacity(rep.repos.len());
        for (repo, owner) in rep.repos.iter().zip(owners) {
            let id = match owner {
                Some(id) => id,
                None => create_repo(ops, repo, &r.arch, now).await?,
            };
            links.push((id, repo.reported.priority));
        }
        let all: Vec<(i64, &RepoUrl)> = links
            .iter()
            .zip(&rep.repos)
            .flat_map(|((id, _), repo)| repo.reported.urls.iter().map(|u| (*id, u)))
            .collect();
        ops.add_mirrors(&all, now).await?;
        ops.set_host_repos(host.id, &links, host.digests[1].is_none()).await?;
    }
    if changed[2] {
        ops.set_host_modules(host.id, &r.modules, host.digests[2].is_none()).await?;
    }
    let mut new_names = Vec::new();
    let os_key = format!("{}\0{}", rep.os_group, rep.os_variant);
    let os_variant_id = match names.get(NameKind::OsVariant, &os_key) {
        Some(id) => id,
        None => {
            let id = ops.upsert_os(&rep.os_group, &rep.os_variant).await?;
            new_names.push((NameKind::OsVariant, os_key, id));
            id
        }
    };
    let domain_id = match (rep.domain.as_str(), names.get(NameKind::Domain, &rep.domain)) {
        ("", _) => None,
        (_, Some(id)) => Some(id),
        (d, None) => {
            let id = ops.upsert_domain(d).await?;
            new_names.push((NameKind::Domain, d.to_owned(), id));
            Some(id)
        }
    };
    let repos_digest = if rep.keep_repos { host.digests[1].as_deref() } else { Some(&d.repos[..]) };
    ops.update_host(host.id, &HostUpdate { rep, repos_digest, os_variant_id, domain_id, now }).await?;
    if changed[3] {
        let cached: Vec<Option<i64>> = r.tags.iter().map(|t| names.get(NameKind::Tag, t)).collect();
        let tag_ids = if cached.iter().all(Option::is_some) {
            cached.into_iter().flatten().collect()
        } else {
            let ids = ops.upsert_tags(&r.tags).await?;
            new_names.extend(r.tags.iter().zip(&ids).map(|(t, id)| (NameKind::Tag, t.clone(), *id)));
            ids
        };
        ops.set_host_tags(host.id, &tag_ids, host.digests[3].is_none()).await?;
        if host.offered_known || !r.offered_updates.is_empty() {
            ops.set_offered_updates(host.id, &r.offered_updates, !host.offered_known).await?;
        }
    }
    ops.insert_report(host.id, rep, now, ReportRow { outcome: super::REPORT_STORED, added, removed }).await?;
    ops.record_event(&host.hostname, now).await?;
    // New package rows last: on PostgreSQL a report inserting the same new package waits for
    // this transaction to end, so they are held from here to the commit only. (Package ids
    // have no foreign key: the links above may be written first.)
    upsert_new_packages(ops, rep, &new_packages).await?;
    // A clean that committed before the links were written may have deleted a package the
    // cache vouched for: start over with the cache forgotten.
    if let Some(g) = generation
        && ops.packages_generation().await? != g
    {
        return Err(StoreError::PackagesCleaned);
    }
    let package_count = rep.packages.len() as u32;
    Ok(Ok(Ingested { outcome: IngestOutcome::Stored { package_count, added, removed }, new_packages, new_names }))
}

/// Inserts the report's packages the cache does not know as stored and flagged installed
/// (sorted by id, as `prepare` left them), and flags them; a stored package with one of their
/// ids but other content is a hash collision.
async fn upsert_new_packages<O: IngestOps>(ops: &mut O, rep: &PreparedReport, new: &[i64]) -> StoreResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    let mut wanted = new.iter().peekable();
    let rows: Vec<PackageRow> = rep
        .packages
        .iter()
        .filter(|p| wanted.next_if(|id| **id == p.id).is_some())
        .map(|p| {
            let i = rep.installed(*p);
            PackageRow { id: p.id, package: &i.package, source_name: &i.source_name, source_version: &i.source_version }
        })
        .collect();
    match ops.upsert_packages(&rows).await? {
        Some(id) => Err(StoreError::PackageIdCollision(id)),
        None => Ok(()),
    }
}

/// A new repository for URLs no repository owns. When two writers create the same new
/// repository at once, the loser's copy owns no mirror and is dropped for the winner's.
async fn create_repo<O: IngestOps>(ops: &mut O, repo: &PreparedRepo, host_arch: &str, now: i64) -> StoreResult<i64> {
    let urls = &repo.reported.urls;
    // rpm repositories have no architecture of their own: they serve the host's.
    let arch = if repo.reported.architecture.is_empty() { host_arch } else { &repo.reported.architecture };
    let created = ops.create_repo(repo, arch, now).await?;
    let mirrors: Vec<(i64, &RepoUrl)> = urls.iter().map(|u| (created, u)).collect();
    ops.add_mirrors(&mirrors, now).await?;
    match ops.repos_by_urls(&[urls]).await?.pop().flatten() {
        Some(owner) if owner != created => {
            ops.delete_repo(created).await?;
            Ok(owner)
        }
        _ => Ok(created),
    }
}

/// (in `wanted` only, in `current` only); both inputs sorted.
pub(crate) fn sorted_difference(current: &[i64], wanted: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    loop {
        match (current.get(i), wanted.get(j)) {
            (Some(c), Some(w)) if c == w => (i, j) = (i + 1, j + 1),
            (Some(c), Some(w)) if c < w => (removed.push(*c), i += 1).1,
            (_, Some(w)) => (added.push(*w), j += 1).1,
            (Some(c), None) => (removed.push(*c), i += 1).1,
            (None, None) => return (added, removed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::sorted_difference;

    #[test]
    fn difference_of_sorted_sets() {
        assert_eq!(sorted_difference(&[1, 3, 5], &[1, 2, 5, 6]), (vec![2, 6], vec![3]));
        assert_eq!(sorted_difference(&[], &[1]), (vec![1], vec![]));
        assert_eq!(sorted_difference(&[1, 2], &[]), (vec![], vec![1, 2]));
        assert_eq!(sorted_difference(&[4], &[4]), (vec![], vec![]));
    }
}
