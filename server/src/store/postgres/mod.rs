//! The PostgreSQL store, for large fleets: any number of `patchman serve` processes share one
//! database. Each report is one transaction; the host's row lock orders reports of one host.

mod bulk;
mod ingest;
mod queries;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::ingest_flow;
use super::known::{KnownNames, KnownPackages};
use super::{
    EnrollOutcome, Enrollment, HostDetail, HostSummary, IngestOutcome, IngestRejection, Store, StoreError, StoreResult,
};
use crate::auth::TokenHash;
use crate::ingest::PreparedReport;

pub struct PgStore {
    pool: PgPool,
    known: KnownPackages,
    names: KnownNames,
}

/// How often a transaction that lost a deadlock or serialization race is tried again.
const RETRIES: usize = 5;

impl PgStore {
    /// Connects and applies pending migrations (under an advisory lock, so several servers
    /// starting at once apply them once).
    pub async fn open(url: &str, max_connections: u32) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("patchman");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        super::migrations::postgres().run(&pool).await?;
        Ok(Self { pool, known: KnownPackages::default(), names: KnownNames::default() })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// Whether another attempt of the same transaction can succeed: it lost a deadlock or a
/// serialization race, or hit a unique key another transaction was inserting.
fn retryable(err: &StoreError) -> bool {
    let StoreError::Db(sqlx::Error::Database(db)) = err else { return false };
    matches!(db.code().as_deref(), Some("40001" | "40P01" | "23505"))
}

#[async_trait]
impl Store for PgStore {
    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        queries::setting(&self.pool, key).await
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        queries::setting_or_insert(&self.pool, key, value).await
    }

    async fn enroll(&self, e: &Enrollment<'_>) -> StoreResult<EnrollOutcome> {
        let mut attempt = 0;
        loop {
            match queries::enroll(&self.pool, e).await {
                Err(err) if retryable(&err) && attempt < RETRIES => attempt += 1,
                other => return other,
            }
        }
    }

    async fn ingest(
        &self,
        token_hash: &TokenHash,
        report: PreparedReport,
        now_ms: i64,
    ) -> StoreResult<Result<IngestOutcome, IngestRejection>> {
        let mut attempt = 0;
        loop {
            let mut ops = ingest::PgIngest(self.pool.begin().await?);
            let result = ingest_flow::ingest(&mut ops, &self.known, &self.names, token_hash, &report, now_ms).await;
            let result = match result {
                Ok(Ok(ingested)) => ops.0.commit().await.map(|()| Ok(ingested)).map_err(StoreError::from),
                other => other,
            };
            match result {
                Ok(Ok(ingested)) => {
                    self.known.remember(&ingested.new_packages);
                    self.names.remember(&ingested.new_names);
                    return Ok(Ok(ingested.outcome));
                }
                Ok(Err(rejection)) => return Ok(Err(rejection)),
                Err(err) if retryable(&err) && attempt < RETRIES => {
                    attempt += 1;
                    tracing::debug!(%err, attempt, "retrying a report's transaction");
                }
                Err(err) => return Err(err),
            }
        }
    }

    async fn touch_if_unchanged(
        &self,
        token_hash: &TokenHash,
        hostname: &str,
        wire_digest: &[u8; 16],
        generated_at: i64,
        now_ms: i64,
    ) -> StoreResult<Option<u32>> {
        let mut tx = self.pool.begin().await?;
        // Only last-seen changes here: not worth waiting for the log flush of every report.
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        let count =
            queries::touch_if_unchanged(&mut tx, token_hash, hostname, wire_digest, generated_at, now_ms).await?;
        tx.commit().await?;
        Ok(count)
    }

    async fn hosts(&self) -> StoreResult<Vec<HostSummary>> {
        queries::list_hosts(&self.pool).await
    }

    async fn host(&self, hostname: &str) -> StoreResult<Option<HostDetail>> {
        queries::host_detail(&self.pool, hostname).await
    }

    async fn delete_host(&self, hostname: &str) -> StoreResult<bool> {
        queries::delete_host(&self.pool, hostname).await
    }

    async fn register_job(&self, name: &str, interval_ms: i64, first_due: i64) -> StoreResult<()> {
        queries::register_job(&self.pool, name, interval_ms, first_due).await
    }

    async fn claim_job(&self, owner: &str, now: i64, lease_ms: i64) -> StoreResult<Option<super::ClaimedJob>> {
        queries::claim_job(&self.pool, owner, now, lease_ms).await
    }

    async fn renew_job(&self, name: &str, owner: &str, until: i64) -> StoreResult<bool> {
        queries::renew_job(&self.pool, name, owner, until).await
    }

    async fn finish_job(&self, job: &super::ClaimedJob, owner: &str, now: i64, next_due: i64) -> StoreResult<bool> {
        queries::finish_job(&self.pool, job, owner, now, next_due).await
    }

    async fn jobs(&self) -> StoreResult<Vec<super::views::JobView>> {
        queries::jobs(&self.pool).await
    }

    async fn prune_reports(&self, keep: i64, transactions_before: i64) -> StoreResult<u64> {
        queries::prune_reports(&self.pool, keep, transactions_before).await
    }

    async fn repo_revisions(&self) -> StoreResult<Vec<(i64, i64)>> {
        queries::repo_revisions(&self.pool).await
    }

    async fn repo_data(&self, repo_id: i64) -> StoreResult<Option<(i64, patchman_engine::RepoData)>> {
        queries::repo_data(&self.pool, repo_id).await
    }

    async fn packages_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<patchman_engine::Pkg>> {
        queries::packages_by_ids(&self.pool, ids).await
    }

    async fn host_work(&self, host_ids: &[i64]) -> StoreResult<Vec<super::HostWork>> {
        queries::host_work(&self.pool, host_ids).await
    }

    async fn repos(&self) -> StoreResult<Vec<super::views::RepoView>> {
        queries::repos(&self.pool).await
    }

    async fn stale_hosts(&self, after: i64, limit: i64) -> StoreResult<Vec<i64>> {
        queries::stale_hosts(&self.pool, after, limit).await
    }

    async fn mark_stale(&self, host_ids: Option<&[i64]>) -> StoreResult<u64> {
        queries::mark_stale(&self.pool, host_ids).await
    }

    async fn host_id(&self, hostname: &str) -> StoreResult<Option<i64>> {
        queries::host_id(&self.pool, hostname).await
    }

    async fn save_verdicts(&self, verdicts: &[super::VerdictRecord<'_>], now_ms: i64) -> StoreResult<usize> {
        queries::save_verdicts(&self.pool, verdicts, now_ms).await
    }

    async fn replace_repo_contents(
        &self,
        repo_id: i64,
        contents: &crate::contents::RepoContents,
        now_ms: i64,
    ) -> StoreResult<bool> {
        queries::replace_repo_contents(&self.pool, &self.known, repo_id, contents, now_ms).await
    }

    async fn refresh_targets(&self, only: Option<i64>) -> StoreResult<Vec<super::RefreshTarget>> {
        queries::refresh_targets(&self.pool, only).await
    }

    async fn record_mirror(&self, attempt: &super::MirrorAttempt<'_>) -> StoreResult<bool> {
        queries::record_mirror(&self.pool, attempt).await
    }

    async fn set_repo_release(
        &self,
        repo_id: i64,
        origin: &str,
        label: &str,
        codename: &str,
        security: bool,
    ) -> StoreResult<()> {
        queries::set_repo_release(&self.pool, repo_id, origin, label, codename, security).await
    }

    async fn set_repo_security(&self, repo_id: i64, security: Option<bool>) -> StoreResult<bool> {
        queries::set_repo_security(&self.pool, repo_id, security).await
    }

    async fn os_groups(&self) -> StoreResult<Vec<super::views::OsGroupView>> {
        queries::os_groups(&self.pool).await
    }

    async fn set_os_group_repo(&self, group: &str, repo_id: i64, member: bool) -> StoreResult<bool> {
        queries::set_os_group_repo(&self.pool, group, repo_id, member).await
    }

    async fn set_use_host_repos(&self, hostname: &str, own_only: bool) -> StoreResult<bool> {
        queries::set_use_host_repos(&self.pool, hostname, own_only).await
    }

    async fn enable_mirror(&self, mirror_id: i64) -> StoreResult<bool> {
        queries::enable_mirror(&self.pool, mirror_id).await
    }

    async fn add_found_mirrors(
        &self,
        repo_id: i64,
        urls: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<super::MirrorState>> {
        queries::add_found_mirrors(&self.pool, repo_id, urls, now_ms).await
    }

    async fn merge_repos(&self, keep: i64, gone: i64) -> StoreResult<()> {
        queries::merge_repos(&self.pool, keep, gone).await
    }

    async fn duplicate_repos(&self) -> StoreResult<Vec<(i64, i64)>> {
        queries::duplicate_repos(&self.pool).await
    }
}
