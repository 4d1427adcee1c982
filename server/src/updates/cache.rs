//! What the updater keeps in memory between recomputations: each repository's index (kept
//! while its revision stays the same) and the installed packages' rows (packages never
//! change: an id names one package forever). Both together stay within a budget in bytes:
//! past it, packages are evicted (any of them: each is one query away), then indexes the
//! current batch does not use. A batch holds its own references, so eviction never takes
//! anything from a batch being prepared.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use patchman_engine::hash::FxHashMap;
use patchman_engine::{HostInput, IndexedRepo, Pkg, RepoUse};

use super::{Prepared, UpdateResult};
use crate::store::{HostWork, UpdateStore};

/// Packages read from the store per query.
const CHUNK: usize = 20_000;
/// The budget when none is configured.
pub const DEFAULT_BUDGET_BYTES: usize = 256 << 20;

pub(super) struct Caches {
    budget: usize,
    repos: Mutex<RepoCache>,
    packages: Mutex<PackageCache>,
}

#[derive(Default)]
struct RepoCache {
    /// Repository id → (revision, index, its bytes).
    map: HashMap<i64, (i64, Arc<IndexedRepo>, usize)>,
    bytes: usize,
}

#[derive(Default)]
struct PackageCache {
    map: FxHashMap<i64, Arc<Pkg>>,
    bytes: usize,
}

/// A hash map entry's own cost beside the package: key, pointer, reference counts, spare room.
const ENTRY_BYTES: usize = 48;

impl Caches {
    pub(super) fn new(budget: usize) -> Self {
        Self { budget, repos: Mutex::default(), packages: Mutex::default() }
    }

    /// Bytes held now: (repository indexes, installed packages).
    pub(super) fn bytes(&self) -> (usize, usize) {
        (lock(&self.repos).bytes, lock(&self.packages).bytes)
    }

    /// Turns store rows into engine inputs, loading what the caches lack.
    pub(super) async fn inputs(&self, store: &dyn UpdateStore, works: Vec<HostWork>) -> UpdateResult<Vec<Prepared>> {
        let repo_ids: HashSet<i64> = works.iter().flat_map(|w| w.repos.iter().map(|r| r.0)).collect();
        let repos = self.repos_for(store, &repo_ids).await?;
        // This batch's packages: those cached now, then the others from the store.
        let mut found: FxHashMap<i64, Arc<Pkg>> = FxHashMap::default();
        let mut missing: Vec<i64> = Vec::new();
        {
            let cached = lock(&self.packages);
            for id in works.iter().flat_map(|w| w.package_ids.iter()) {
                match cached.map.get(id) {
                    Some(p) => {
                        found.entry(*id).or_insert_with(|| p.clone());
                    }
                    None => missing.push(*id),
                }
            }
        }
        missing.sort_unstable();
        missing.dedup();
        for chunk in missing.chunks(CHUNK) {
            let loaded: Vec<Arc<Pkg>> = store.packages_by_ids(chunk).await?.into_iter().map(Arc::new).collect();
            for p in &loaded {
                found.insert(p.id, p.clone());
            }
            let room = self.budget.saturating_sub(lock(&self.repos).bytes);
            lock(&self.packages).add(loaded, room);
        }
        Ok(works
            .into_iter()
            .map(|work| {
                let installed: Vec<_> = work.package_ids.iter().filter_map(|id| found.get(id).cloned()).collect();
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

    /// The indexes of these repositories (enabled ones), loading those that are new or whose
    /// revision moved on; past the budget, indexes no one asked for now are dropped.
    async fn repos_for(
        &self,
        store: &dyn UpdateStore,
        wanted: &HashSet<i64>,
    ) -> UpdateResult<HashMap<i64, (i64, Arc<IndexedRepo>)>> {
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let revisions: HashMap<i64, i64> = store.repo_revisions().await?.into_iter().collect();
        let stale: Vec<i64> = {
            let repos = lock(&self.repos);
            wanted
                .iter()
                .copied()
                .filter(|id| match (repos.map.get(id), revisions.get(id)) {
                    (Some((cached, _, _)), Some(now)) => cached != now,
                    (None, Some(_)) => true,
                    (_, None) => false, // disabled or gone: not used
                })
                .collect()
        };
        for id in stale {
            let Some((revision, data)) = store.repo_data(id).await? else { continue };
            let indexed = tokio::task::spawn_blocking(move || IndexedRepo::new(data)).await?;
            let bytes = indexed.approx_bytes();
            let mut repos = lock(&self.repos);
            if let Some((_, _, old)) = repos.map.insert(id, (revision, Arc::new(indexed), bytes)) {
                repos.bytes -= old;
            }
            repos.bytes += bytes;
        }
        let mut repos = lock(&self.repos);
        if repos.bytes > self.budget {
            repos.evict_except(wanted, self.budget);
            // The packages give way to the indexes a batch needs.
            let room = self.budget.saturating_sub(repos.bytes);
            lock(&self.packages).shrink_to(room);
        }
        Ok(wanted
            .iter()
            .filter(|id| revisions.contains_key(id))
            .filter_map(|id| repos.map.get(id).map(|(rev, index, _)| (*id, (*rev, index.clone()))))
            .collect())
    }
}

impl RepoCache {
    fn evict_except(&mut self, keep: &HashSet<i64>, budget: usize) {
        let drop: Vec<i64> = self.map.keys().copied().filter(|id| !keep.contains(id)).collect();
        for id in drop {
            if self.bytes <= budget {
                break;
            }
            if let Some((_, _, bytes)) = self.map.remove(&id) {
                self.bytes -= bytes;
            }
        }
    }
}

impl PackageCache {
    /// Adds packages; past `room` bytes, evicts down to three quarters of it first.
    fn add(&mut self, loaded: Vec<Arc<Pkg>>, room: usize) {
        let adding: usize = loaded.iter().map(|p| p.approx_bytes() + ENTRY_BYTES).sum();
        if self.bytes + adding > room {
            self.shrink_to((room * 3 / 4).saturating_sub(adding));
        }
        for p in loaded {
            if self.bytes + p.approx_bytes() + ENTRY_BYTES > room {
                break;
            }
            self.bytes += p.approx_bytes() + ENTRY_BYTES;
            self.map.insert(p.id, p);
        }
    }

    /// Evicts packages (in no particular order) until at most `bytes` are held.
    fn shrink_to(&mut self, bytes: usize) {
        if self.bytes <= bytes {
            return;
        }
        let mut held = self.bytes;
        self.map.retain(|_, p| {
            if held <= bytes {
                return true;
            }
            held -= p.approx_bytes() + ENTRY_BYTES;
            false
        });
        self.bytes = held;
        self.map.shrink_to_fit();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchman_engine::Kind;

    fn pkg(id: i64) -> Arc<Pkg> {
        Arc::new(Pkg {
            id,
            kind: Kind::Deb,
            name: format!("package-{id}").into(),
            epoch: 0,
            version: "1.0".into(),
            release: "1".into(),
            arch: "amd64".into(),
        })
    }

    #[test]
    fn packages_stay_within_their_room_and_count_their_bytes() {
        let mut cache = PackageCache::default();
        let each = pkg(1).approx_bytes() + ENTRY_BYTES;
        let room = each * 100;
        for round in 0..10 {
            cache.add((round * 40..round * 40 + 40).map(pkg).collect(), room);
            assert!(cache.bytes <= room, "round {round}: {} > {room}", cache.bytes);
            let counted: usize = cache.map.values().map(|p| p.approx_bytes() + ENTRY_BYTES).sum();
            assert_eq!(cache.bytes, counted);
        }
        assert!(cache.map.len() >= 40, "the newest chunk stays: {}", cache.map.len());
        assert!(cache.map.contains_key(&399));
        cache.shrink_to(each * 10);
        assert!(cache.map.len() <= 10 && cache.bytes <= each * 10);
    }
}
