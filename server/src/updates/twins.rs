//! Twins: hosts whose engine input is the same (installed packages, enabled module streams,
//! kernel, machine architecture, and the same indexed repositories with the same priorities)
//! get the same verdict, so the engine runs once for each group of twins in a batch. Cloud
//! fleets are mostly twins: hosts built from a few images.

use std::collections::HashMap;
use std::sync::Arc;

use xxhash_rust::xxh3::Xxh3;

use super::Prepared;
use crate::store::HostWork;

/// What a host's verdict depends on, hashed. Repositories are told apart by their index's
/// address: within a batch every index is held alive, and a new revision is a new index.
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

/// The hosts to evaluate, one of each group of twins, and the others: each with the index
/// (in the first list) of the twin whose verdict it shares.
pub(super) fn split(inputs: Vec<Prepared>) -> (Vec<Prepared>, Vec<(HostWork, usize)>) {
    let mut first: HashMap<u128, usize> = HashMap::with_capacity(inputs.len());
    let (mut unique, mut twins) = (Vec::with_capacity(inputs.len()), Vec::new());
    for p in inputs {
        match first.get(&key(&p)) {
            Some(&i) => twins.push((p.work, i)),
            None => {
                first.insert(key(&p), unique.len());
                unique.push(p);
            }
        }
    }
    (unique, twins)
}
