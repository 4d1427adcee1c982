//! Finding updates: feeds the pure engine from the store and saves its verdicts. Keeps the
//! repositories' lookup indexes in memory (rebuilt when a repository's revision changes) and
//! the packages hosts have installed, so a host's recomputation after its report reads only
//! that host's rows.

mod cache;
mod twins;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use patchman_engine::{HostInput, PackageMemo, RepoUse, Verdict, evaluate_with};
use tokio::sync::Notify;
use xxhash_rust::xxh3::Xxh3;

use self::cache::Caches;
use crate::clock::now_ms;
use crate::store::{HostWork, NameVerdictRecord, StoreError, UpdateStore, VerdictRecord};

pub use self::cache::DEFAULT_BUDGET_BYTES as DEFAULT_CACHE_BYTES;

/// Hosts recomputed per round trip to the store.
const BATCH: usize = 250;
/// Passes over the stale hosts before giving up on hosts that keep changing.
const MAX_PASSES: usize = 100;
/// Tries of a save that lost a race, after the first.
const SAVE_ATTEMPTS: usize = 3;

/// Why a recomputation stopped. Hosts it did not save stay stale and are tried again.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a recomputation task stopped: {0}")]
    Task(#[from] tokio::task::JoinError),
}

pub type UpdateResult<T> = Result<T, UpdateError>;

/// What a recomputation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Hosts computed.
    pub hosts: usize,
    /// Engine runs: twins (hosts with the same input) share one.
    pub evaluated: usize,
    /// Of them, hosts whose verdict was saved (computed from their current state).
    pub saved: usize,
    /// Updates the computed hosts need.
    pub updates: usize,
    /// Hosts whose updates changed, and the updates added and removed.
    pub hosts_changed: usize,
    pub updates_added: usize,
    pub updates_removed: usize,
    /// Of the hosts computed, those computed for their stale names only (a repository's set
    /// difference touched them).
    pub names_only: usize,
}

/// What a pass computes: hosts stale as a whole, or hosts' stale names only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Hosts,
    Names,
}

/// The engine as the updater runs it (a test can put a failing one in its place).
type Engine = fn(&HostInput, &[RepoUse], &mut PackageMemo) -> Verdict;

/// Bytes one remembered package outcome takes, roughly (key, flag, an update and its reason).
const OUTCOME_BYTES: usize = 256;

/// What evaluations share: twins' verdicts within a pass, and per engine thread the
/// outcomes of installed packages per context (kept across passes; bounded).
#[derive(Default)]
struct Memos {
    twins: Mutex<twins::Memo>,
    packages: Vec<Mutex<PackageMemo>>,
}

pub struct Updater {
    store: Arc<dyn UpdateStore>,
    caches: Caches,
    /// Twins' verdicts across the batches of a pass (cleared when a pass starts), and the
    /// engine threads' remembered package outcomes.
    memo: Arc<Memos>,
    wake: Notify,
    /// When set, the hosts' exposures to advisories are computed after each recomputation
    /// (their state changed, so their exposures are stale too).
    exposures: Option<Arc<dyn crate::store::AdvisoryStore>>,
}

impl Updater {
    pub fn new(store: Arc<dyn UpdateStore>) -> Arc<Self> {
        Self::build(store, None, cache::DEFAULT_BUDGET_BYTES)
    }

    /// An updater that also computes stale hosts' exposures after each recomputation.
    pub fn with_exposures(store: Arc<dyn UpdateStore>, advisories: Arc<dyn crate::store::AdvisoryStore>) -> Arc<Self> {
        Self::build(store, Some(advisories), cache::DEFAULT_BUDGET_BYTES)
    }

    /// An updater whose caches (repository indexes and installed packages) hold at most
    /// `cache_bytes`, computing exposures too when given their store.
    pub fn build(
        store: Arc<dyn UpdateStore>,
        exposures: Option<Arc<dyn crate::store::AdvisoryStore>>,
        cache_bytes: usize,
    ) -> Arc<Self> {
        // Three quarters of the budget for the caches, a quarter for remembered outcomes.
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let outcomes = (cache_bytes / 4 / OUTCOME_BYTES / threads).max(1);
        let memo = Arc::new(Memos {
            twins: Mutex::default(),
            packages: (0..threads).map(|_| Mutex::new(PackageMemo::new(outcomes))).collect(),
        });
        Arc::new(Self { store, caches: Caches::new(cache_bytes / 4 * 3), memo, wake: Notify::new(), exposures })
    }

    /// Bytes the caches hold now: (repository indexes, installed packages).
    pub fn cache_bytes(&self) -> (usize, usize) {
        self.caches.bytes()
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
            self.recompute_exposures().await;
        }
    }

    /// Recomputes every host marked stale, in passes over the hosts in id order, then the
    /// stale names of the others. Within a pass the next batch loads and the previous one
    /// saves while the engine runs on the current one. A host whose state changes while it is
    /// computed stays stale for the next pass.
    pub async fn recompute_stale(&self) -> UpdateResult<Stats> {
        let started = Instant::now();
        let mut total = Stats::default();
        for scope in [Scope::Hosts, Scope::Names] {
            for _ in 0..MAX_PASSES {
                let pass = self.pass(scope).await?;
                total.add(pass);
                if pass.hosts == 0 || pass.saved == 0 {
                    break;
                }
            }
        }
        if total.hosts > 0 {
            crate::metrics::observe("patchman_recompute_duration_seconds", &[], started.elapsed());
            crate::metrics::count("patchman_recomputed_hosts_total", &[], total.hosts as u64);
        }
        Ok(total)
    }

    /// Computes the exposures of hosts whose state changed (when this updater does that).
    pub async fn recompute_exposures(&self) {
        let Some(store) = &self.exposures else { return };
        match crate::exposures::recompute_stale(&**store).await {
            Ok(stats) if stats.hosts > 0 => tracing::debug!(?stats, "computed exposures"),
            Ok(_) => {}
            Err(err) => tracing::error!(%err, "cannot compute exposures"),
        }
    }

    /// Recomputes every host.
    pub async fn recompute_all(&self) -> UpdateResult<Stats> {
        self.store.mark_stale(None).await?;
        self.recompute_stale().await
    }

    /// Recomputes these hosts now and saves their verdicts.
    pub async fn recompute(&self, host_ids: &[i64]) -> UpdateResult<Stats> {
        let started = Instant::now();
        let inputs = self.load(host_ids).await?;
        let verdicts = evaluate_blocking(inputs, self.memo.clone()).await?;
        let stats = save(&*self.store, verdicts, Scope::Hosts).await?;
        tracing::debug!(?stats, ms = started.elapsed().as_millis() as u64, "recomputed updates");
        Ok(stats)
    }

    async fn pass(&self, scope: Scope) -> UpdateResult<Stats> {
        self.memo.twins.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let mut total = Stats::default();
        let mut after = 0;
        let mut saving: Option<tokio::task::JoinHandle<UpdateResult<Stats>>> = None;
        let mut batch = self.next_batch(scope, &mut after).await?;
        while !batch.is_empty() {
            let evaluating = evaluate_blocking(batch, self.memo.clone());
            let (verdicts, next) = tokio::join!(evaluating, self.next_batch(scope, &mut after));
            let (verdicts, next) = (verdicts?, next?);
            if let Some(previous) = saving.take() {
                total.add(joined(previous.await)?);
            }
            let store = self.store.clone();
            saving = Some(tokio::spawn(async move { save(&*store, verdicts, scope).await }));
            batch = next;
        }
        if let Some(last) = saving {
            total.add(joined(last.await)?);
        }
        Ok(total)
    }

    /// The next stale hosts (or hosts with stale names) after `after`, ready for the engine;
    /// moves `after` past them.
    async fn next_batch(&self, scope: Scope, after: &mut i64) -> UpdateResult<Vec<Prepared>> {
        let ids = match scope {
            Scope::Hosts => self.store.stale_hosts(*after, BATCH as i64).await?,
            Scope::Names => self.store.stale_name_hosts(*after, BATCH as i64).await?,
        };
        let Some(&last) = ids.last() else { return Ok(Vec::new()) };
        *after = last;
        match scope {
            Scope::Hosts => self.load(&ids).await,
            Scope::Names => {
                let works = self.store.stale_name_work(&ids).await?;
                self.caches.inputs(&*self.store, works).await
            }
        }
    }

    async fn load(&self, host_ids: &[i64]) -> UpdateResult<Vec<Prepared>> {
        let works = self.store.host_work(host_ids).await?;
        self.caches.inputs(&*self.store, works).await
    }
}

impl Stats {
    fn add(&mut self, other: Stats) {
        self.hosts += other.hosts;
        self.evaluated += other.evaluated;
        self.saved += other.saved;
        self.updates += other.updates;
        self.hosts_changed += other.hosts_changed;
        self.updates_added += other.updates_added;
        self.updates_removed += other.updates_removed;
        self.names_only += other.names_only;
    }
}

fn joined<T>(r: Result<UpdateResult<T>, tokio::task::JoinError>) -> UpdateResult<T> {
    r?
}

/// One host's verdict, and whether every repository it uses was known when it was computed.
pub(crate) struct Evaluated {
    pub work: HostWork,
    pub verdict: Verdict,
    pub repos_known: bool,
}

/// The hosts' verdicts, and how many times the engine ran for them.
async fn evaluate_blocking(inputs: Vec<Prepared>, memo: Arc<Memos>) -> UpdateResult<(Vec<Evaluated>, usize)> {
    Ok(tokio::task::spawn_blocking(move || evaluate_all(inputs, evaluate_with, &memo)).await?)
}

/// Saves verdicts computed from the hosts' state (skipped for hosts whose state moved on).
async fn save(
    store: &dyn UpdateStore,
    (verdicts, evaluated): (Vec<Evaluated>, usize),
    scope: Scope,
) -> UpdateResult<Stats> {
    let records: Vec<VerdictRecord> = verdicts
        .iter()
        .map(|e| VerdictRecord {
            host_id: e.work.host_id,
            state_version: e.work.state_version,
            digest: digest(&e.verdict),
            verdict: &e.verdict,
            repos_known: e.repos_known,
        })
        .collect();
    let names: Vec<NameVerdictRecord> = match scope {
        Scope::Hosts => Vec::new(),
        Scope::Names => records
            .iter()
            .zip(&verdicts)
            .map(|(record, e)| NameVerdictRecord { record: record.clone(), packages: &e.work.package_ids })
            .collect(),
    };
    // A save that lost a race (two servers saving, or a refresh marking the same hosts) was
    // rolled back whole and is tried again; verdicts of states that moved on are skipped then.
    let changes = crate::store::retry_transient(SAVE_ATTEMPTS, || async {
        match scope {
            Scope::Hosts => store.save_verdicts(&records, now_ms()).await,
            Scope::Names => store.save_name_verdicts(&names, now_ms()).await,
        }
    })
    .await?;
    let updates = verdicts.iter().map(|e| e.verdict.updates.len()).sum();
    Ok(Stats {
        hosts: verdicts.len(),
        evaluated,
        saved: changes.saved,
        updates,
        hosts_changed: changes.hosts_changed,
        updates_added: changes.updates_added,
        updates_removed: changes.updates_removed,
        names_only: if scope == Scope::Names { verdicts.len() } else { 0 },
    })
}

/// One host ready for the engine.
pub(crate) struct Prepared {
    pub work: HostWork,
    pub input: HostInput,
    pub repos: Vec<RepoUse>,
    /// The host uses repositories and every one has been refreshed at least once: only then
    /// does "found in no repository" mean something (before, every package would be).
    pub repos_known: bool,
}

/// Runs the engine (`eval`) over every host, on every core, once for each group of twins
/// (none for twins whose verdict `memo` has); returns the verdicts and the number of engine
/// runs. A host whose evaluation panics is logged and left out (with its twins): it keeps no
/// verdict, stays stale and is tried again later, and is never shown as up to date.
fn evaluate_all(inputs: Vec<Prepared>, eval: Engine, memo: &Memos) -> (Vec<Evaluated>, usize) {
    let mut plan = twins::plan(inputs, &memo.twins.lock().unwrap_or_else(|e| e.into_inner()));
    let repos = plan.repos();
    let unique = std::mem::take(&mut plan.unique);
    let runs = unique.len();
    let evaluated = evaluate_each(unique, eval, &memo.packages);
    (plan.finish(evaluated, repos, &mut memo.twins.lock().unwrap_or_else(|e| e.into_inner())), runs)
}

/// Batches of at most this many hosts are evaluated on the calling thread.
const INLINE_HOSTS: usize = 4;

/// The engine's verdict for each host, in order (`None` where it panicked).
fn evaluate_each(inputs: Vec<Prepared>, eval: Engine, memos: &[Mutex<PackageMemo>]) -> Vec<Option<Evaluated>> {
    // One memo per engine thread (`Updater::build`): as many threads.
    let threads = memos.len().max(1).min(inputs.len().max(1));
    let chunk = inputs.len().div_ceil(threads).max(1);
    let mut slots: Vec<Vec<Prepared>> = Vec::new();
    let mut rest = inputs;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        slots.push(rest);
        rest = tail;
    }
    if let [part] = &mut slots[..]
        && part.len() <= INLINE_HOSTS
    {
        // A host after its report: no thread to start, and it is waited for, not background.
        let part = std::mem::take(part);
        // Any engine thread's memo that no running recomputation holds now.
        let mut memo = memos.iter().find_map(|m| match m.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        });
        let mut own = PackageMemo::new(4_096);
        let memo = memo.as_deref_mut().unwrap_or(&mut own);
        return part.into_iter().map(|p| evaluate_one(p, eval, memo)).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .into_iter()
            .enumerate()
            .map(|(i, part)| {
                scope.spawn(move || {
                    yield_to_reports();
                    // Each thread its own memo; one taken by another recomputation running
                    // now (a host after its report) is not waited for.
                    let mut own = None;
                    let mut taken = memos.get(i).and_then(|m| match m.try_lock() {
                        Ok(guard) => Some(guard),
                        Err(std::sync::TryLockError::Poisoned(e)) => Some(e.into_inner()),
                        Err(std::sync::TryLockError::WouldBlock) => None,
                    });
                    let memo = match taken.as_deref_mut() {
                        Some(m) => m,
                        None => own.insert(PackageMemo::new(4_096)),
                    };
                    part.into_iter().map(|p| evaluate_one(p, eval, memo)).collect::<Vec<_>>()
                })
            })
            .collect();
        // `evaluate_one` catches every panic, so a thread cannot end in one.
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    })
}

/// Lowers the calling engine thread's priority (nice 10). Recomputation is background work:
/// when reports arrive while it runs, the report writer, whose acknowledgements hosts wait
/// for, gets the cores first; on an idle machine nothing changes. The thread ends with its
/// evaluation, so nothing else runs at this priority.
fn yield_to_reports() {
    // On Linux a thread id names that one thread here, not the whole process.
    if let Err(err) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 10) {
        tracing::debug!(%err, "cannot lower an engine thread's priority");
    }
}

fn evaluate_one(p: Prepared, eval: Engine, memo: &mut PackageMemo) -> Option<Evaluated> {
    let run = std::panic::AssertUnwindSafe(|| eval(&p.input, &p.repos, memo));
    match std::panic::catch_unwind(run) {
        Ok(mut verdict) => {
            if !p.repos_known {
                verdict.not_in_repos.clear();
            }
            Some(Evaluated { work: p.work, verdict, repos_known: p.repos_known })
        }
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(
                host_id = p.work.host_id,
                panic = why,
                "the engine panicked on this host; it stays stale and is tried again later"
            );
            None
        }
    }
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
    // Only when there are some, so that verdicts without them keep their digests.
    if !v.duplicates.is_empty() {
        h.update(b"|duplicates");
        for id in &v.duplicates {
            h.update(&id.to_le_bytes());
        }
    }
    h.update(v.reboot.as_deref().unwrap_or("").as_bytes());
    h.digest128().to_le_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(host_id: i64, kernel: &str) -> Prepared {
        let work = HostWork {
            host_id,
            state_version: 1,
            kernel: kernel.to_owned(),
            arch: "x86_64".to_owned(),
            package_ids: Vec::new(),
            modules: Vec::new(),
            repos: Vec::new(),
        };
        let input = HostInput {
            machine_arch: work.arch.clone(),
            kernel: work.kernel.clone(),
            installed: Vec::new(),
            enabled_modules: Vec::new(),
        };
        Prepared { work, input, repos: Vec::new(), repos_known: false }
    }

    fn panics_on_one_kernel(input: &HostInput, repos: &[RepoUse], memo: &mut PackageMemo) -> Verdict {
        assert_ne!(input.kernel, "6.1.0-boom", "a bug in the engine");
        evaluate_with(input, repos, memo)
    }

    #[test]
    fn a_panicking_host_gets_no_verdict_and_the_others_keep_theirs() {
        let inputs: Vec<Prepared> =
            (1..=40).map(|id| prepared(id, if id == 17 { "6.1.0-boom" } else { "6.1.0-1" })).collect();
        let (verdicts, runs) = evaluate_all(inputs, panics_on_one_kernel, &Memos::default());
        let ids: Vec<i64> = verdicts.iter().map(|e| e.work.host_id).collect();
        assert_eq!(ids.len(), 39, "{ids:?}");
        assert_eq!(runs, 2, "39 twins and the one that panics");
        assert!(!ids.contains(&17), "the host whose evaluation panicked must stay without a verdict");
    }

    #[test]
    fn twins_in_later_batches_take_the_remembered_verdict_once_seen_twice() {
        let memo = Memos::default();
        let runs: Vec<usize> = (1..=4)
            .map(|id| {
                let (verdicts, runs) = evaluate_all(vec![prepared(id, "6.1.0-1")], evaluate_with, &memo);
                assert_eq!(verdicts.iter().map(|e| e.work.host_id).collect::<Vec<_>>(), [id]);
                runs
            })
            .collect();
        assert_eq!(runs, [1, 1, 0, 0], "seen once, seen twice (remembered), then taken from the memo");
        // A one-off input is never remembered.
        assert_eq!(evaluate_all(vec![prepared(9, "6.1.0-9")], evaluate_with, &memo).1, 1);
        assert_eq!(evaluate_all(vec![prepared(10, "6.1.0-10")], evaluate_with, &memo).1, 1);
        assert_eq!(memo.twins.lock().unwrap().verdicts_len(), 1);
    }
}
