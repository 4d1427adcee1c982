//! What the updater keeps in memory between recomputations: each repository's index (kept
//! while its revision stays the same) and the installed packages' rows (packages never
//! change: an id names one package forever). Both together stay within a budget in bytes:
//! past it, packages are evicted (any of them: each is one query away), then indexes the
//! current batch does not use. A batch holds its own references, so eviction never takes
//! anything from a batch being prepared.

use std::collections::HashMap;
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
        // The newest revision any host of the batch was read with, of each repository.
        let mut wanted: HashMap<i64, i64> = HashMap::new();
        for r in works.iter().flat_map(|w| w.repos.iter()) {
            let revision = wanted.entry(r.id).or_default();
            *revision = (*revision).max(r.revision);
        }
        let repos = self.repos_for(store, &wanted).await?;
        // The hosts' packages as the cache has them; those it lacks are read from the store,
        // and then the lists are made again in the hosts' order (the cold path).
        let (mut installed, mut missing) = self.cached_installed(&works, &FxHashMap::default());
        if !missing.is_empty() {
            missing.sort_unstable();
            missing.dedup();
            let mut loaded: FxHashMap<i64, Arc<Pkg>> = FxHashMap::default();
            for chunk in missing.chunks(CHUNK) {
                let batch: Vec<Arc<Pkg>> = store.packages_by_ids(chunk).await?.into_iter().map(Arc::new).collect();
                loaded.extend(batch.iter().map(|p| (p.id, p.clone())));
                let room = self.budget.saturating_sub(lock(&self.repos).bytes);
                lock(&self.packages).add(batch, room);
            }
            installed = self.cached_installed(&works, &loaded).0;
        }
        Ok(works
            .into_iter()
            .zip(installed)
            .map(|(work, installed)| {
                let uses: Vec<RepoUse> = work
                    .repos
                    .iter()
                    .filter_map(|u| repos.get(&u.id).map(|r| RepoUse { repo: r.clone(), priority: u.priority }))
                    .collect();
                // Revision 0: never refreshed, its contents unknown. A package the engine cannot
                // read (arch, gentoo) leaves the host's updates unknown too, and so does having
                // no packages at all (a host brought over by import-patchman, before it reports).
                let repos_known = !work.repos.is_empty()
                    && !work.package_ids.is_empty()
                    && installed.len() == work.package_ids.len()
                    && work.repos.iter().all(|u| u.revision > 0 && repos.contains_key(&u.id));
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

    /// Each host's installed packages found in the cache or in `loaded`, in the host's order,
    /// and the ids found in neither.
    fn cached_installed(
        &self,
        works: &[HostWork],
        loaded: &FxHashMap<i64, Arc<Pkg>>,
    ) -> (Vec<Vec<Arc<Pkg>>>, Vec<i64>) {
        let cached = lock(&self.packages);
        let mut missing = Vec::new();
        let installed = works
            .iter()
            .map(|w| {
                let mut list = Vec::with_capacity(w.package_ids.len());
                for id in &w.package_ids {
                    match cached.map.get(id).or_else(|| loaded.get(id)) {
                        Some(p) => list.push(p.clone()),
                        None => missing.push(*id),
                    }
                }
                list
            })
            .collect();
        (installed, missing)
    }

    /// The indexes of these repositories (enabled ones) at least at these revisions (as the
    /// hosts were read), loading those that are new or older; past the budget, indexes no one
    /// asked for now are dropped.
    async fn repos_for(
        &self,
        store: &dyn UpdateStore,
        wanted: &HashMap<i64, i64>,
    ) -> UpdateResult<HashMap<i64, Arc<IndexedRepo>>> {
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let stale: Vec<i64> = {
            let repos = lock(&self.repos);
            wanted
                .iter()
                .filter(|(id, revision)| repos.map.get(id).is_none_or(|(cached, _, _)| cached < revision))
                .map(|(id, _)| *id)
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
        Ok(wanted.keys().filter_map(|id| repos.map.get(id).map(|(_, index, _)| (*id, index.clone()))).collect())
    }
}

impl RepoCache {
    fn evict_except(&mut self, keep: &HashMap<i64, i64>, budget: usize) {
        let drop: Vec<i64> = self.map.keys().copied().filter(|id| !keep.contains_key(id)).collect();
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
