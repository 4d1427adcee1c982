//! Twins: hosts whose engine input is the same (installed packages, enabled module streams,
//! kernel, machine architecture, and the same indexed repositories with the same priorities)
//! get the same verdict, so the engine runs once for each group of twins. Within a batch twins
//! are grouped; across the batches of a pass a `Memo` keeps the verdicts of inputs seen more
//! than once (a host from an image), and never those of one-off hosts. Cloud fleets are
//! mostly twins: hosts built from a few images.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use patchman_engine::{IndexedRepo, Verdict};
use xxhash_rust::xxh3::Xxh3;

use super::{Evaluated, Prepared};
use crate::store::HostWork;

/// Inputs remembered as seen once (16 bytes each) before the set starts over.
const MAX_SEEN: usize = 262_144;
/// Verdicts remembered (a verdict of ~100 updates is some 20 KB).
const MAX_VERDICTS: usize = 1_024;

/// What a host's verdict depends on, hashed. Repositories are told apart by their index's
/// address: every index a key names is held alive (by the batch, or by the memo entry), and
/// a new revision is a new index.
fn key(p: &Prepared) -> u128 {
    let mut h = Xxh3::new();
    let mut text = |s: &str| {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    text(&p.input.kernel);
    text(&p.input.machine_arch);
    for (module, stream) in &p.input.enabled_modules {
        text(module);
        text(stream);
    }
    h.update(&(p.input.enabled_modules.len() as u64).to_le_bytes());
    h.update(&(p.input.installed.len() as u64).to_le_bytes());
    for pkg in &p.input.installed {
        h.update(&pkg.id.to_le_bytes());
    }
    h.update(&(p.repos.len() as u64).to_le_bytes());
    for r in &p.repos {
        h.update(&(Arc::as_ptr(&r.repo) as usize as u64).to_le_bytes());
        h.update(&r.priority.to_le_bytes());
    }
    h.update(&[u8::from(p.repos_known)]);
    h.digest128()
}

/// A remembered verdict, with the repository indexes its key names (kept alive so that their
/// addresses cannot be reused by other indexes).
struct Remembered {
    _repos: Vec<Arc<IndexedRepo>>,
    verdict: Verdict,
    repos_known: bool,
}

/// Verdicts of inputs seen more than once, for one pass.
#[derive(Default)]
pub(super) struct Memo {
    seen: HashSet<u128>,
    verdicts: HashMap<u128, Remembered>,
}

impl Memo {
    pub(super) fn clear(&mut self) {
        self.seen.clear();
        self.verdicts.clear();
    }

    #[cfg(test)]
    pub(super) fn verdicts_len(&self) -> usize {
        self.verdicts.len()
    }
}

/// A batch split for the engine.
pub(super) struct Plan {
    /// One host of each group of twins the memo does not know: for the engine.
    pub unique: Vec<Prepared>,
    keys: Vec<u128>,
    /// Whether the batch had twins of `unique[i]`.
    twinned: Vec<bool>,
    /// The other hosts, each with the index in `unique` of the twin whose verdict it shares.
    twins: Vec<(HostWork, usize)>,
    /// Hosts whose verdict the memo had.
    remembered: Vec<Evaluated>,
}

pub(super) fn plan(inputs: Vec<Prepared>, memo: &Memo) -> Plan {
    let mut first: HashMap<u128, usize> = HashMap::with_capacity(inputs.len());
    let mut plan = Plan {
        unique: Vec::with_capacity(inputs.len()),
        keys: Vec::new(),
        twinned: Vec::new(),
        twins: Vec::new(),
        remembered: Vec::new(),
    };
    for p in inputs {
        let k = key(&p);
        if let Some(r) = memo.verdicts.get(&k) {
            plan.remembered.push(Evaluated { work: p.work, verdict: r.verdict.clone(), repos_known: r.repos_known });
        } else if let Some(&i) = first.get(&k) {
            plan.twinned[i] = true;
            plan.twins.push((p.work, i));
        } else {
            first.insert(k, plan.unique.len());
            plan.keys.push(k);
            plan.twinned.push(false);
            plan.unique.push(p);
        }
    }
    plan
}

impl Plan {
    /// The repository indexes of each host to evaluate (for the memo), taken before the
    /// engine consumes them.
    pub(super) fn repos(&self) -> Vec<Vec<Arc<IndexedRepo>>> {
        self.unique.iter().map(|p| p.repos.iter().map(|r| r.repo.clone()).collect()).collect()
    }

    /// Every host's verdict from the engine's (`evaluated[i]` for `unique[i]`, `None` where it
    /// panicked) and the memo's; remembers the verdicts of inputs now seen more than once.
    pub(super) fn finish(
        self,
        evaluated: Vec<Option<Evaluated>>,
        repos: Vec<Vec<Arc<IndexedRepo>>>,
        memo: &mut Memo,
    ) -> Vec<Evaluated> {
        let mut out = self.remembered;
        for (work, i) in self.twins {
            if let Some(e) = evaluated.get(i).and_then(Option::as_ref) {
                out.push(Evaluated { work, verdict: e.verdict.clone(), repos_known: e.repos_known });
            }
        }
        for ((e, k), (twinned, repos)) in evaluated.iter().zip(&self.keys).zip(self.twinned.iter().zip(repos)) {
            let Some(e) = e else { continue };
            if *twinned || memo.seen.contains(k) {
                if memo.verdicts.len() < MAX_VERDICTS {
                    let r = Remembered { _repos: repos, verdict: e.verdict.clone(), repos_known: e.repos_known };
                    memo.verdicts.insert(*k, r);
                }
            } else {
                if memo.seen.len() >= MAX_SEEN {
                    memo.seen.clear();
                }
                memo.seen.insert(*k);
            }
        }
        out.extend(evaluated.into_iter().flatten());
        out
    }
}
