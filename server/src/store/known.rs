//! Package ids this process knows to be in the database, so that a report whose packages are
//! all known writes no package rows. Ids are added only after the transaction that wrote them
//! committed.

use std::collections::HashSet;
use std::sync::Mutex;

/// Bounded: when full it starts again empty, which costs a few redundant upserts.
#[derive(Debug, Default)]
pub struct KnownPackages {
    ids: Mutex<HashSet<i64>>,
}

const CAPACITY: usize = 4_000_000;

impl KnownPackages {
    /// The ids of `candidates` not known to be stored.
    pub fn unknown<I: IntoIterator<Item = i64>>(&self, candidates: I) -> Vec<i64> {
        let ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        candidates.into_iter().filter(|id| !ids.contains(id)).collect()
    }

    pub fn remember(&self, stored: &[i64]) {
        let mut ids = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        if ids.len() + stored.len() > CAPACITY {
            ids.clear();
        }
        ids.extend(stored.iter().copied());
    }
}
