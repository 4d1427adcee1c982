//! Exposures: reads the security feeds into the store (`feeds.rs`) and computes, for every
//! host whose exposures are stale, which advisories its installed packages are exposed to.
//! A host's exposures are stale when its state changed since they were computed, or when a
//! feed changed an advisory naming a package it has installed.

pub mod feeds;

use std::collections::HashMap;
use std::sync::Arc;

use crate::advisories::Fix;
use crate::advisories::exposure::{Entry, Installed, ReleaseIndex, exposures};
use crate::report::PackageKind;
use crate::store::{AdvisoryStore, ExposureRecord, ExposureWork, FeedChange, StoreResult};

/// Hosts per round trip to the store.
const BATCH: i64 = 500;

/// What a computation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ExposureStats {
    pub hosts: u64,
    pub saved: u64,
    /// Exposures (host, advisory, package) found.
    pub exposures: u64,
    pub windows_opened: u64,
    pub windows_closed: u64,
}

/// A release's index and the packages it may name, by id.
struct Release {
    index: ReleaseIndex,
    packages: HashMap<i64, Installed>,
}

/// Computes the exposures of every stale host, in passes until none is left (a host whose
/// state changes meanwhile is computed again; at most 10 passes).
pub async fn recompute_stale(store: &dyn AdvisoryStore) -> StoreResult<ExposureStats> {
    let mut stats = ExposureStats::default();
    let mut releases: HashMap<String, Arc<Release>> = HashMap::new();
    for _ in 0..10 {
        let mut after = 0;
        let mut saved_in_pass = 0;
        loop {
            let ids = store.exposure_stale_hosts(after, BATCH).await?;
            let Some(&last) = ids.last() else { break };
            after = last;
            let pass = batch(store, &ids, &mut releases).await?;
            saved_in_pass += pass.saved;
            stats.add(pass);
        }
        if saved_in_pass == 0 {
            break;
        }
    }
    Ok(stats)
}

async fn batch(
    store: &dyn AdvisoryStore,
    ids: &[i64],
    releases: &mut HashMap<String, Arc<Release>>,
) -> StoreResult<ExposureStats> {
    // The hosts' releases first: a host of a release no advisory names is saved with no
    // exposures without reading its packages (a site without feeds pays one query a batch).
    let mut by_release: HashMap<String, Vec<ExposureWork>> = HashMap::new();
    for w in store.exposure_work(ids, false).await? {
        by_release.entry(w.release.clone()).or_default().push(w);
    }
    let mut records = Vec::with_capacity(ids.len());
    for (name, mut works) in by_release {
        let release = match releases.get(&name) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(load_release(store, &name).await?);
                releases.insert(name.clone(), r.clone());
                r
            }
        };
        if !release.index.is_empty() {
            let host_ids: Vec<i64> = works.iter().map(|w| w.host_id).collect();
            works = store.exposure_work(&host_ids, true).await?;
        }
        // Matching is a hash lookup per installed package: cheap enough for the async thread.
        records.extend(works.into_iter().map(|w| {
            let installed: Vec<Installed> =
                w.package_ids.iter().filter_map(|id| release.packages.get(id)).cloned().collect();
            ExposureRecord {
                host_id: w.host_id,
                state_version: w.state_version,
                since_ms: w.since_ms,
                exposures: exposures(&release.index, &installed),
            }
        }));
    }
    let found = records.iter().map(|r| r.exposures.len() as u64).sum();
    let changes = save(store, &records, None).await?;
    Ok(ExposureStats {
        hosts: records.len() as u64,
        saved: changes.saved,
        exposures: found,
        windows_opened: changes.opened,
        windows_closed: changes.closed,
    })
}

/// After a feed change: the exposures of the hosts it marked (`change.scoped_hosts`) to the
/// advisories it brought, and nothing else; their other exposures stay as they were. Hosts
/// it cannot finish stay stale and are computed in full by `recompute_stale`.
pub async fn apply_feed_change(store: &dyn AdvisoryStore, change: &FeedChange) -> StoreResult<ExposureStats> {
    let mut stats = ExposureStats::default();
    if change.scoped_hosts.is_empty() || change.advisories.is_empty() {
        return Ok(stats);
    }
    let rows = store.affected_rows_of(&change.advisories).await?;
    let mut indexes: HashMap<String, ReleaseIndex> = HashMap::new();
    let mut names: Vec<String> = Vec::new();
    for (release, row) in rows {
        let Some(kind) = PackageKind::from_i64(row.kind) else { continue };
        names.push(row.package.clone());
        let entry = Entry { advisory_id: row.advisory_id, kind, fix: Fix::from_parts(row.status, row.fixed) };
        indexes.entry(release).or_default().add(row.package, entry);
    }
    names.sort_unstable();
    names.dedup();
    let packages: HashMap<i64, Installed> =
        store.packages_named(&names).await?.into_iter().map(|p| (p.package_id, p)).collect();
    let package_ids: Vec<i64> = packages.keys().copied().collect();
    let empty = ReleaseIndex::default();
    for ids in change.scoped_hosts.chunks(BATCH as usize * 4) {
        let works = store.exposure_work(ids, false).await?;
        let mut installed: HashMap<i64, Vec<Installed>> = HashMap::new();
        for (host, package) in store.host_packages_among(ids, &package_ids).await? {
            if let Some(p) = packages.get(&package) {
                installed.entry(host).or_default().push(p.clone());
            }
        }
        let records: Vec<ExposureRecord> = works
            .into_iter()
            .map(|w| ExposureRecord {
                host_id: w.host_id,
                state_version: w.state_version,
                since_ms: w.since_ms,
                exposures: exposures(
                    indexes.get(&w.release).unwrap_or(&empty),
                    installed.get(&w.host_id).map_or(&[][..], Vec::as_slice),
                ),
            })
            .collect();
        let found = records.iter().map(|r| r.exposures.len() as u64).sum();
        let changes = save(store, &records, Some(&change.advisories)).await?;
        stats.add(ExposureStats {
            hosts: records.len() as u64,
            saved: changes.saved,
            exposures: found,
            windows_opened: changes.opened,
            windows_closed: changes.closed,
        });
    }
    Ok(stats)
}

async fn load_release(store: &dyn AdvisoryStore, release: &str) -> StoreResult<Release> {
    if release.is_empty() {
        return Ok(Release { index: ReleaseIndex::default(), packages: HashMap::new() });
    }
    let mut index = ReleaseIndex::default();
    for row in store.affected_rows(release).await? {
        let Some(kind) = PackageKind::from_i64(row.kind) else { continue };
        let entry = Entry { advisory_id: row.advisory_id, kind, fix: Fix::from_parts(row.status, row.fixed) };
        index.add(row.package, entry);
    }
    let packages = if index.is_empty() { Vec::new() } else { store.relevant_packages(release).await? };
    Ok(Release { index, packages: packages.into_iter().map(|p| (p.package_id, p)).collect() })
}

impl ExposureStats {
    fn add(&mut self, o: ExposureStats) {
        self.hosts += o.hosts;
        self.saved += o.saved;
        self.exposures += o.exposures;
        self.windows_opened += o.windows_opened;
        self.windows_closed += o.windows_closed;
    }
}

/// Saves exposures; a save that lost a race (another server saving, a refresh marking the
/// same hosts) was rolled back whole and is tried again.
async fn save(
    store: &dyn AdvisoryStore,
    records: &[ExposureRecord],
    scope: Option<&[i64]>,
) -> StoreResult<crate::store::ExposureChanges> {
    crate::store::retry_transient(3, || store.save_exposures(records, scope)).await
}
