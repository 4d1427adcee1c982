//! What this process knows to be in the database already, so that ingest skips writing it:
//! package ids (and whether each is flagged as installed by some host), and the ids of OS
//! groups/variants, domains and tags (rows no code deletes). Entries are added only after the
//! transaction that wrote them committed.
//!
//! Package rows are deleted only by `patchman clean`, which first bumps the settings value
//! `packages_generation`: a writer reads it in its transaction before it trusts the cache
//! (`sync`, which forgets everything after a bump) and again after it wrote its references,
//! and starts over if it moved (`StoreError::PackagesCleaned`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Mutex;

/// Bounded: when full it starts again empty, which costs a few redundant upserts.
#[derive(Debug, Default)]
pub struct KnownPackages {
    /// Each stored id, and whether its row is flagged `installed` (a refresh stores packages
    /// no host has; ingest flags the ones a host has).
    ids: Mutex<Ids>,
    /// The `packages_generation` the ids belong to.
    generation: std::sync::atomic::AtomicI64,
}

type Ids = HashMap<i64, bool, BuildHasherDefault<IdHasher>>;

/// The settings key `patchman clean` bumps before it deletes package rows.
pub const PACKAGES_GENERATION: &str = "packages_generation";

/// Package ids are already uniformly distributed hashes: use them as their own hash.
#[derive(Debug, Default)]
pub struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_i64(&mut self, i: i64) {
        self.0 = i as u64;
    }
}

const CAPACITY: usize = 4_000_000;

impl KnownPackages {
    /// The ids of `candidates` not known to be stored.
    pub fn unknown<I: IntoIterator<Item = i64>>(&self, candidates: I) -> Vec<i64> {
        let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        candidates.into_iter().filter(|id| !ids.contains_key(id)).collect()
    }

    /// The ids of `candidates` not known to be stored and flagged installed.
    pub fn not_installed<I: IntoIterator<Item = i64>>(&self, candidates: I) -> Vec<i64> {
        let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        candidates.into_iter().filter(|id| ids.get(id) != Some(&true)).collect()
    }

    /// Forgets every id if the database's `packages_generation` is not the one they belong to.
    pub fn sync(&self, generation: i64) {
        use std::sync::atomic::Ordering;
        if self.generation.load(Ordering::Acquire) != generation {
            let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
            ids.clear();
            self.generation.store(generation, Ordering::Release);
        }
    }

    /// These ids are stored (flagged installed or not: a flag already known is kept).
    pub fn remember(&self, stored: &[i64]) {
        let mut ids = self.room_for(stored.len());
        for id in stored {
            ids.entry(*id).or_insert(false);
        }
    }

    /// These ids are stored and flagged installed.
    pub fn remember_installed(&self, installed: &[i64]) {
        let mut ids = self.room_for(installed.len());
        ids.extend(installed.iter().map(|id| (*id, true)));
    }

    fn room_for(&self, more: usize) -> std::sync::MutexGuard<'_, Ids> {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        if ids.len() + more > CAPACITY {
            ids.clear();
        }
        ids
    }
}

/// Which small lookup table a name belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// An OS variant, keyed by "group\0variant" (the pair decides the row).
    OsVariant,
    Domain,
    Tag,
}

/// Ids of names in the small lookup tables.
#[derive(Debug, Default)]
pub struct KnownNames {
    ids: Mutex<HashMap<(NameKind, String), i64>>,
}

impl KnownNames {
    pub fn get(&self, kind: NameKind, name: &str) -> Option<i64> {
        let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        ids.get(&(kind, name.to_owned())).copied()
    }

    pub fn remember(&self, learned: &[(NameKind, String, i64)]) {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        if ids.len() > 100_000 {
            ids.clear();
        }
        for (kind, name, id) in learned {
            ids.insert((*kind, name.clone()), *id);
        }
    }
}
