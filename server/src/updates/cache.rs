//! What the updater keeps in memory between recomputations: each repository's index (kept
//! while its revision stays the same) and the installed packages' rows (packages never
//! change: an id names one package forever).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use patchman_engine::hash::FxHashMap;
use patchman_engine::{HostInput, IndexedRepo, Pkg, RepoUse};

use super::{Prepared, UpdateResult};
use crate::store::{HostWork, UpdateStore};

/// Bounded: when full it starts again empty.
const MAX_PACKAGES: usize = 3_000_000;

#[derive(Default)]
pub(super) struct Caches {
    repos: Mutex<HashMap<i64, (i64, Arc<IndexedRepo>)>>,
    packages: Mutex<FxHashMap<i64, Arc<Pkg>>>,
}

impl Caches {
    /// Turns store rows into engine inputs, loading what the caches lack.
    pub(super) async fn inputs(&self, store: &dyn UpdateStore, works: Vec<HostWork>) -> UpdateResult<Vec<Prepared>> {
        let repo_ids: HashSet<i64> = works.iter().flat_map(|w| w.repos.iter().map(|r| r.0)).collect();
        self.refresh_repos(store, &repo_ids).await?;
        let wanted: Vec<i64> = {
            let cached = self.packages.lock().unwrap_or_else(|e| e.into_inner());
            let mut missing: Vec<i64> = works
                .iter()
                .flat_map(|w| w.package_ids.iter().copied())
                .filter(|id| !cached.contains_key(id))
                .collect();
            missing.sort_unstable();
            missing.dedup();
            missing
        };
        for chunk in wanted.chunks(20_000) {
            let loaded = store.packages_by_ids(chunk).await?;
            let mut cached = self.packages.lock().unwrap_or_else(|e| e.into_inner());
            if cached.len() + loaded.len() > MAX_PACKAGES {
                cached.clear();
            }
            cached.extend(loaded.into_iter().map(|p| (p.id, Arc::new(p))));
        }
        let repos = self.repos.lock().unwrap_or_else(|e| e.into_inner());
        let packages = self.packages.lock().unwrap_or_else(|e| e.into_inner());
        Ok(works
            .into_iter()
            .map(|work| {
                let installed: Vec<_> = work.package_ids.iter().filter_map(|id| packages.get(id).cloned()).collect();
                let uses: Vec<RepoUse> = work
                    .repos
                    .iter()
                    .filter_map(|(id, priority)| {
                        repos.get(id).map(|(_, r)| RepoUse { repo: r.clone(), priority: *priority })
                    })
                    .collect();
                // Revision 0: never refreshed, its contents unknown. A package the engine cannot
                // read (arch, gentoo) leaves the host's updates unknown too, and so does having
                // no packages at all (a host brought over by import-patchman, before it reports).
                let repos_known = !work.repos.is_empty()
                    && !work.package_ids.is_empty()
                    && installed.len() == work.package_ids.len()
                    && work.repos.iter().all(|(id, _)| repos.get(id).is_some_and(|(revision, _)| *revision > 0));
                let input = HostInput {
                    machine_arch: work.arch.clone(),
                    kernel: work.kernel.clone(),
                    installed,
                    enabled_modules: work.modules.clone(),
                };
                Prepared { work, input, repos: uses, repos_known }
            })
            .collect())
    }

    /// Loads the repositories that are new or whose revision moved on.
    async fn refresh_repos(&self, store: &dyn UpdateStore, wanted: &HashSet<i64>) -> UpdateResult<()> {
        if wanted.is_empty() {
            return Ok(());
        }
        let revisions: HashMap<i64, i64> = store.repo_revisions().await?.into_iter().collect();
        let stale: Vec<i64> = {
            let repos = self.repos.lock().unwrap_or_else(|e| e.into_inner());
            wanted
                .iter()
                .copied()
                .filter(|id| match (repos.get(id), revisions.get(id)) {
                    (Some((cached, _)), Some(now)) => cached != now,
                    (None, Some(_)) => true,
                    (_, None) => false, // disabled or gone: not used
                })
                .collect()
        };
        for id in stale {
            let Some((revision, data)) = store.repo_data(id).await? else { continue };
            let indexed = tokio::task::spawn_blocking(move || IndexedRepo::new(data)).await?;
            self.repos.lock().unwrap_or_else(|e| e.into_inner()).insert(id, (revision, Arc::new(indexed)));
        }
        Ok(())
    }
}
