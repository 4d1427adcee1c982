//! Exposures: reads the security feeds into the store (`feeds.rs`) and computes, for every
//! host whose exposures are stale, which advisories its installed packages are exposed to.
//! A host's exposures are stale when its state changed since they were computed, or when a
//! feed changed an advisory naming a package it has installed.

pub mod feeds;

use std::collections::HashMap;
use std::sync::Arc;

use crate::advisories::Fix;
use crate::advisories::exposure::{Entry, ReleaseIndex, exposures};
use crate::clock::now_ms;
use crate::report::PackageKind;
use crate::store::{AdvisoryStore, ExposureRecord, StoreResult};

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

/// A release's index and the package ids it may name.
struct Release {
    index: ReleaseIndex,
    relevant: Vec<i64>,
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
    // First the hosts' releases, then each release's hosts with the packages it may name.
    let mut by_release: HashMap<String, Vec<i64>> = HashMap::new();
    for w in store.exposure_work(ids, &[]).await? {
        by_release.entry(w.release).or_default().push(w.host_id);
    }
    let mut records = Vec::with_capacity(ids.len());
    for (name, host_ids) in by_release {
        let release = match releases.get(&name) {
            Some(r) => r.clone(),
            None => {
                let r = Arc::new(load_release(store, &name).await?);
                releases.insert(name.clone(), r.clone());
                r
            }
        };
        let works = store.exposure_work(&host_ids, &release.relevant).await?;
        // Matching is a hash lookup per installed package: cheap enough for the async thread.
        records.extend(works.into_iter().map(|w| ExposureRecord {
            host_id: w.host_id,
            state_version: w.state_version,
            since_ms: w.since_ms,
            exposures: exposures(&release.index, &w.installed),
        }));
    }
    let found = records.iter().map(|r| r.exposures.len() as u64).sum();
    let changes = store.save_exposures(&records, now_ms()).await?;
    Ok(ExposureStats {
        hosts: records.len() as u64,
        saved: changes.saved,
        exposures: found,
        windows_opened: changes.opened,
        windows_closed: changes.closed,
    })
}

async fn load_release(store: &dyn AdvisoryStore, release: &str) -> StoreResult<Release> {
    if release.is_empty() {
        return Ok(Release { index: ReleaseIndex::default(), relevant: Vec::new() });
    }
    let mut index = ReleaseIndex::default();
    for row in store.affected_rows(release).await? {
        let Some(kind) = PackageKind::from_i64(row.kind) else { continue };
        let entry = Entry { advisory_id: row.advisory_id, kind, fix: Fix::from_parts(row.status, row.fixed) };
        index.add(row.package, entry);
    }
    let relevant = if index.is_empty() { Vec::new() } else { store.relevant_packages(release).await? };
    Ok(Release { index, relevant })
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
