//! Finding updates: feeds the pure engine from the store and saves its verdicts. Keeps the
//! repositories' lookup indexes in memory (rebuilt when a repository's revision changes) and
//! the packages hosts have installed, so a host's recomputation after its report reads only
//! that host's rows.

mod cache;

use std::sync::Arc;
use std::time::Instant;

use patchman_engine::{HostInput, RepoUse, Verdict, evaluate};
use tokio::sync::Notify;
use xxhash_rust::xxh3::Xxh3;

use self::cache::Caches;
use crate::ingest::now_ms;
use crate::store::{HostWork, Store, StoreResult, VerdictRecord};

/// Hosts recomputed per round trip to the store.
const BATCH: usize = 1_000;

/// What a recomputation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub hosts: usize,
    pub saved: usize,
    pub updates: usize,
}

pub struct Updater {
    store: Arc<dyn Store>,
    caches: Caches,
    wake: Notify,
}

impl Updater {
    pub fn new(store: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Self { store, caches: Caches::default(), wake: Notify::new() })
    }

    /// Asks the background worker to recompute stale hosts soon (after a report changed one).
    pub fn notify(&self) {
        self.wake.notify_one();
    }

    /// Recomputes stale hosts whenever notified, until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            self.wake.notified().await;
            if let Err(err) = self.recompute_stale().await {
                tracing::error!(%err, "cannot recompute updates");
            }
        }
    }

    /// Recomputes every host marked stale.
    pub async fn recompute_stale(&self) -> StoreResult<Stats> {
        let mut total = Stats::default();
        // A host whose state changes while it is computed stays stale: a few rounds at most.
        for _ in 0..10_000 {
            let ids = self.store.stale_hosts(BATCH as i64).await?;
            if ids.is_empty() {
                break;
            }
            let stats = self.recompute(&ids).await?;
            total.hosts += stats.hosts;
            total.saved += stats.saved;
            total.updates += stats.updates;
        }
        Ok(total)
    }

    /// Recomputes every host.
    pub async fn recompute_all(&self) -> StoreResult<Stats> {
        self.store.mark_stale(None).await?;
        self.recompute_stale().await
    }

    /// Recomputes these hosts now and saves their verdicts.
    pub async fn recompute(&self, host_ids: &[i64]) -> StoreResult<Stats> {
        let started = Instant::now();
        let works = self.store.host_work(host_ids).await?;
        let inputs = self.caches.inputs(&*self.store, works).await?;
        let hosts = inputs.len();
        let verdicts = tokio::task::spawn_blocking(move || evaluate_all(inputs))
            .await
            .map_err(|e| crate::store::StoreError::Corrupt(format!("the engine stopped: {e}")))?;
        let records: Vec<VerdictRecord> = verdicts
            .iter()
            .map(|(work, verdict)| VerdictRecord {
                host_id: work.host_id,
                state_version: work.state_version,
                digest: digest(verdict),
                verdict,
            })
            .collect();
        let saved = self.store.save_verdicts(&records, now_ms()).await?;
        let updates = verdicts.iter().map(|(_, v)| v.updates.len()).sum();
        tracing::debug!(hosts, saved, updates, ms = started.elapsed().as_millis() as u64, "recomputed updates");
        Ok(Stats { hosts, saved, updates })
    }
}

/// One host ready for the engine.
pub(crate) struct Prepared {
    pub work: HostWork,
    pub input: HostInput,
    pub repos: Vec<RepoUse>,
}

/// Runs the engine over every host, on every core.
fn evaluate_all(inputs: Vec<Prepared>) -> Vec<(HostWork, Verdict)> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(inputs.len().max(1));
    let chunk = inputs.len().div_ceil(threads).max(1);
    let mut slots: Vec<Vec<Prepared>> = Vec::new();
    let mut rest = inputs;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        slots.push(rest);
        rest = tail;
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .into_iter()
            .map(|part| {
                scope.spawn(move || {
                    part.into_iter()
                        .map(|p| {
                            let verdict = evaluate(&p.input, &p.repos);
                            (p.work, verdict)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// What a verdict says, hashed: an unchanged verdict rewrites nothing.
fn digest(v: &Verdict) -> [u8; 16] {
    let mut h = Xxh3::new();
    for u in &v.updates {
        h.update(&u.installed.to_le_bytes());
        h.update(&u.candidate.to_le_bytes());
        h.update(&u.repo.to_le_bytes());
        h.update(&[u8::from(u.security), u.kind as u8]);
        h.update(u.erratum.as_deref().unwrap_or("").as_bytes());
        h.update(&[0]);
        h.update(u.reason.as_bytes());
        h.update(&[0]);
    }
    h.update(b"|");
    for id in &v.not_in_repos {
        h.update(&id.to_le_bytes());
    }
    h.update(v.reboot.as_deref().unwrap_or("").as_bytes());
    h.digest128().to_le_bytes()
}
