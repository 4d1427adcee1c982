//! The jobs a server runs.

use std::time::Duration;

use async_trait::async_trait;

use super::Job;
use crate::clock::now_ms;
use crate::store::JobStore;

/// Keeps the newest report rows of each host and recent transactions.
pub struct PruneReports {
    pub interval: Duration,
    pub keep_per_host: i64,
    pub keep_transactions: Duration,
}

#[async_trait]
impl Job for PruneReports {
    fn name(&self) -> &'static str {
        "prune-reports"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, store: &dyn JobStore) -> anyhow::Result<()> {
        let before = now_ms() - self.keep_transactions.as_millis() as i64;
        let deleted = store.prune_reports(self.keep_per_host, before).await?;
        tracing::info!(deleted, "pruned old reports and transactions");
        Ok(())
    }
}

/// Records an event for each host that fell silent (its last report older than the silence
/// threshold): nothing is written when a host stops reporting, but its status changes, and
/// watchers of the query API must hear of it. Each run looks back two intervals, so a late
/// run misses nothing (a host may be announced twice: an event says "look again").
pub struct SilenceEvents {
    pub interval: Duration,
    pub silent_after: Duration,
}

#[async_trait]
impl Job for SilenceEvents {
    fn name(&self) -> &'static str {
        "silence-events"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, store: &dyn JobStore) -> anyhow::Result<()> {
        let now = now_ms();
        let until = now - self.silent_after.as_millis() as i64;
        let since = until - 2 * self.interval.as_millis() as i64;
        let fell_silent = store.record_silent_hosts(since, until, now).await?;
        if fell_silent > 0 {
            tracing::info!(fell_silent, "hosts fell silent");
        }
        Ok(())
    }
}

/// Does nothing for a while: a visible way to check that jobs are shared out between servers
/// and taken over after a crash. Off unless configured.
pub struct Probe {
    pub interval: Duration,
    pub duration: Duration,
}

#[async_trait]
impl Job for Probe {
    fn name(&self) -> &'static str {
        "probe"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, _store: &dyn JobStore) -> anyhow::Result<()> {
        tokio::time::sleep(self.duration).await;
        Ok(())
    }
}

/// Recomputes hosts left stale: by a server that stopped before it got to them, or by a
/// repository refresh. Reports normally trigger their host's recomputation at once.
pub struct RecomputeStale {
    pub interval: Duration,
    pub updater: std::sync::Arc<crate::updates::Updater>,
}

#[async_trait]
impl Job for RecomputeStale {
    fn name(&self) -> &'static str {
        "recompute-stale"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, _store: &dyn JobStore) -> anyhow::Result<()> {
        let stats = self.updater.recompute_stale().await?;
        if stats.hosts > 0 {
            tracing::info!(hosts = stats.hosts, updates = stats.updates, "recomputed stale hosts");
        }
        self.updater.recompute_exposures().await;
        Ok(())
    }
}

/// Refreshes the repositories that were never refreshed (first named by a report), soon
/// after they appear, so that their hosts' updates become known within minutes instead of
/// at the next full refresh.
pub struct RefreshNewRepos {
    pub interval: Duration,
    pub refresher: crate::refresh::Refresher,
    pub updater: std::sync::Arc<crate::updates::Updater>,
}

#[async_trait]
impl Job for RefreshNewRepos {
    fn name(&self) -> &'static str {
        "refresh-new-repos"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, _store: &dyn JobStore) -> anyhow::Result<()> {
        let summary = self.refresher.run_new(&crate::refresh::Progress::Log).await?;
        if summary.repos > 0 {
            tracing::info!(
                repos = summary.repos,
                changed = summary.changed,
                failed = summary.failed.len(),
                "refreshed new repositories"
            );
        }
        if summary.changed > 0 || summary.merged > 0 {
            self.updater.notify();
        }
        Ok(())
    }
}

/// Refreshes every repository, then lets the updater recompute the hosts of changed ones.
pub struct RefreshRepos {
    pub interval: Duration,
    pub refresher: crate::refresh::Refresher,
    pub updater: std::sync::Arc<crate::updates::Updater>,
}

#[async_trait]
impl Job for RefreshRepos {
    fn name(&self) -> &'static str {
        "refresh-repos"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, _store: &dyn JobStore) -> anyhow::Result<()> {
        let summary = self.refresher.run(None, false, &crate::refresh::Progress::Log).await?;
        tracing::info!(
            repos = summary.repos,
            changed = summary.changed,
            failed = summary.failed.len(),
            merged = summary.merged,
            "refreshed repositories"
        );
        if summary.changed > 0 || summary.merged > 0 {
            self.updater.notify();
        }
        Ok(())
    }
}

/// Reads the security feeds, then computes the exposures of the hosts they concern.
pub struct RefreshAdvisories {
    pub interval: Duration,
    pub refresher: crate::exposures::feeds::FeedRefresher,
    pub store: std::sync::Arc<dyn crate::store::AdvisoryStore>,
}

#[async_trait]
impl Job for RefreshAdvisories {
    fn name(&self) -> &'static str {
        "refresh-advisories"
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    async fn run(&self, _store: &dyn JobStore) -> anyhow::Result<()> {
        let outcomes = self.refresher.run(&*self.store, None).await?;
        let stats = crate::exposures::recompute_stale(&*self.store).await?;
        tracing::info!(
            feeds = outcomes.len(),
            failed = outcomes.iter().filter(|o| o.status == "failed").count(),
            hosts = stats.hosts,
            exposures = stats.exposures,
            "refreshed advisories"
        );
        Ok(())
    }
}
