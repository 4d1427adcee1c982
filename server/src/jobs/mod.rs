//! Background jobs, claimed through the database: of any number of servers sharing one
//! database, exactly one runs each due job. The holder renews its lease while the job runs;
//! a job whose holder died is taken over when the lease expires.

mod kinds;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use self::kinds::{
    Probe, PruneReports, RecomputeStale, RefreshAdvisories, RefreshNewRepos, RefreshRepos, SilenceEvents,
};
use crate::clock::now_ms;
use crate::shutdown::Stopping;
use crate::store::{ClaimedJob, JobStore};

/// One kind of background work.
#[async_trait]
pub trait Job: Send + Sync {
    fn name(&self) -> &'static str;
    fn interval(&self) -> Duration;
    async fn run(&self, store: &dyn JobStore) -> anyhow::Result<()>;
}

/// How the scheduler of one server behaves.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// This server's name in leases: unique among the servers sharing the database.
    pub owner: String,
    /// How long a claim lasts without renewal.
    pub lease: Duration,
    /// How often to look for due jobs.
    pub poll: Duration,
}

impl SchedulerConfig {
    pub fn new(lease: Duration) -> Self {
        Self { owner: owner_name(), lease, poll: Duration::from_secs(1).min(lease / 3) }
    }
}

/// "<host>:<pid>:<random>": unique per process, readable in `patchman jobs`.
pub fn owner_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let mut salt = [0u8; 4];
    let _ = getrandom::fill(&mut salt);
    format!("{}:{}:{:08x}", host.trim(), std::process::id(), u32::from_le_bytes(salt))
}

/// Registers the jobs and runs them when due, until the process ends.
/// Runs due jobs until `stopping` is set; a job running then finishes first (or is abandoned
/// with the process at the end of the grace period: its transactions roll back, its lease
/// lapses and another server takes it over).
pub async fn run(store: Arc<dyn JobStore>, jobs: Vec<Arc<dyn Job>>, config: SchedulerConfig, stopping: Stopping) {
    for job in &jobs {
        let interval = job.interval().as_millis() as i64;
        if let Err(err) = store.register_job(job.name(), interval, now_ms()).await {
            tracing::error!(%err, job = job.name(), "cannot register job");
        }
    }
    let mut tick = tokio::time::interval(config.poll);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop = stopping.clone();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.wait() => return,
        }
        // Run everything that is due before sleeping again.
        while !stopping.is_set() {
            let claimed = match store.claim_job(&config.owner, now_ms(), config.lease.as_millis() as i64).await {
                Ok(Some(claimed)) => claimed,
                Ok(None) => break,
                Err(err) => {
                    tracing::warn!(%err, "cannot claim a job");
                    break;
                }
            };
            let Some(job) = jobs.iter().find(|j| j.name() == claimed.name) else {
                // A job another version of the server knows: leave it to that server.
                tracing::debug!(job = claimed.name, "claimed a job this server does not know");
                break;
            };
            run_one(&*store, &**job, &claimed, &config).await;
        }
    }
}

async fn run_one(store: &dyn JobStore, job: &dyn Job, claimed: &ClaimedJob, config: &SchedulerConfig) {
    let started = std::time::Instant::now();
    tracing::info!(job = job.name(), attempt = claimed.attempt, "job started");
    let renew_every = config.lease / 3;
    let work = job.run(store);
    tokio::pin!(work);
    let outcome = loop {
        tokio::select! {
            outcome = &mut work => break outcome,
            () = tokio::time::sleep(renew_every) => {
                let until = now_ms() + config.lease.as_millis() as i64;
                match store.renew_job(&claimed.name, &config.owner, until).await {
                    Ok(true) => {}
                    Ok(false) => tracing::warn!(job = job.name(), "lost the job's lease; another server takes over"),
                    Err(err) => tracing::warn!(%err, job = job.name(), "cannot renew the job's lease"),
                }
            }
        }
    };
    if let Err(err) = &outcome {
        tracing::error!(err = format!("{err:#}"), job = job.name(), "job failed; it runs again when next due");
    }
    let now = now_ms();
    let next = next_due(claimed.due_at, claimed.interval_ms, now);
    match store.finish_job(claimed, &config.owner, now, next).await {
        Ok(true) => tracing::info!(job = job.name(), ms = started.elapsed().as_millis() as u64, "job finished"),
        Ok(false) => tracing::warn!(job = job.name(), "finished after losing the lease; the new owner records it"),
        Err(err) => tracing::error!(%err, job = job.name(), "cannot record the job's end"),
    }
}

/// The first due time after `now` on the job's cadence: runs missed while every server was
/// down are not made up.
pub fn next_due(due_at: i64, interval_ms: i64, now: i64) -> i64 {
    let interval = interval_ms.max(1);
    let behind = (now - due_at).max(0);
    due_at + (behind / interval + 1) * interval
}

#[cfg(test)]
mod tests {
    use super::next_due;

    #[test]
    fn the_cadence_is_kept_and_missed_runs_are_skipped() {
        assert_eq!(next_due(1_000, 100, 1_050), 1_100);
        assert_eq!(next_due(1_000, 100, 1_000), 1_100);
        assert_eq!(next_due(1_000, 100, 1_350), 1_400);
        assert_eq!(next_due(1_000, 100, 900), 1_100, "a clock behind the due time still moves on");
    }
}
