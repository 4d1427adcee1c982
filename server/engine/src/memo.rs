//! What a verdict owes to one installed package alone, remembered across hosts: within one
//! context (the same repository indexes in the same order with the same priorities, the same
//! machine architecture and, where repositories have module streams, the same enabled
//! streams), an installed package always gets the same candidate and the same "found in no
//! repository" answer. Hosts of one OS variant share most of their packages, so most of a
//! host's packages cost one lookup here instead of a search of every repository.

use std::sync::Arc;

use crate::evaluate::RepoUse;
use crate::hash::FxHashMap;
use crate::index::IndexedRepo;
use crate::model::{HostInput, Update};

/// One package's part of a verdict: whether a repository offers its name for its arch, and
/// its update.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub offered: bool,
    pub update: Option<Update>,
}

/// A context, exactly (no hash stands for it): the indexes by address (each is held alive by
/// the context's entry, so an address cannot be reused while it is a key), their priorities,
/// the machine's architecture, and the enabled streams when any repository has streams.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Context {
    repos: Vec<(usize, i32)>,
    machine_arch: Box<str>,
    modules: Option<Vec<(String, String)>>,
}

struct Entries {
    _repos: Vec<Arc<IndexedRepo>>,
    outcomes: FxHashMap<i64, Outcome>,
}

/// Remembered outcomes, per context, up to a number of entries (then it starts again empty).
pub struct PackageMemo {
    /// Contexts by their slot in `slots`.
    index: FxHashMap<Context, usize>,
    slots: Vec<Entries>,
    /// Moves on each time the memo starts again: older `ContextId`s name nothing.
    generation: u64,
    entries: usize,
    max_entries: usize,
}

/// A host's context in the memo: looked up once per host, then each package is one probe.
pub(crate) struct ContextId {
    slot: usize,
    generation: u64,
    key: Context,
    repos: Vec<Arc<IndexedRepo>>,
}

impl PackageMemo {
    pub fn new(max_entries: usize) -> Self {
        Self { index: FxHashMap::default(), slots: Vec::new(), generation: 0, entries: 0, max_entries }
    }

    /// Outcomes remembered now.
    pub fn len(&self) -> usize {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// This host's context, ready for `get` and `put`.
    pub(crate) fn context(&mut self, host: &HostInput, repos: &[RepoUse]) -> ContextId {
        let with_modules = repos.iter().any(|r| !r.repo.data.modules.is_empty());
        let key = Context {
            repos: repos.iter().map(|r| (Arc::as_ptr(&r.repo) as usize, r.priority)).collect(),
            machine_arch: host.machine_arch.as_str().into(),
            modules: with_modules.then(|| host.enabled_modules.clone()),
        };
        let repos: Vec<Arc<IndexedRepo>> = repos.iter().map(|r| r.repo.clone()).collect();
        let slot = self.slot_of(&key, &repos);
        ContextId { slot, generation: self.generation, key, repos }
    }

    fn slot_of(&mut self, key: &Context, repos: &[Arc<IndexedRepo>]) -> usize {
        if let Some(&slot) = self.index.get(key) {
            return slot;
        }
        self.slots.push(Entries { _repos: repos.to_vec(), outcomes: FxHashMap::default() });
        self.index.insert(key.clone(), self.slots.len() - 1);
        self.slots.len() - 1
    }

    pub(crate) fn get(&self, context: &ContextId, package: i64) -> Option<&Outcome> {
        if context.generation != self.generation {
            return None;
        }
        self.slots[context.slot].outcomes.get(&package)
    }

    pub(crate) fn put(&mut self, context: &mut ContextId, package: i64, outcome: Outcome) {
        if self.entries >= self.max_entries {
            // Start again: every context goes (and the indexes they held alive).
            self.index.clear();
            self.slots.clear();
            self.generation += 1;
            self.entries = 0;
        }
        if context.generation != self.generation {
            context.slot = self.slot_of(&context.key, &context.repos);
            context.generation = self.generation;
        }
        if self.slots[context.slot].outcomes.insert(package, outcome).is_none() {
            self.entries += 1;
        }
    }
}
