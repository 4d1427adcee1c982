//! The SQLite store: one file (WAL), one writer task that commits reports in batches
//! (`writer`), one connection for other writes, a few reader connections.

mod bulk;
mod ingest;
mod queries;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{mpsc, oneshot};

use super::known::KnownNames;
use super::{
    EnrollOutcome, Enrollment, HostDetail, HostSummary, IngestOutcome, IngestRejection, KnownPackages, Store,
    StoreError, StoreResult,
};
use crate::auth::TokenHash;
use crate::ingest::PreparedReport;

pub struct SqliteStore {
    /// Reports and unchanged touches go to the batching writer task.
    reports: mpsc::Sender<writer::Job>,
    /// One connection for the rare other writes (enrollment, settings, deletions).
    writer: SqlitePool,
    reader: SqlitePool,
    /// Shared with the batching writer.
    known: Arc<KnownPackages>,
}

impl SqliteStore {
    /// Opens `sqlite://path`, creating the file on first use, and applies migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true)
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory")
            .pragma("journal_size_limit", "67108864");
        // Other writes (verdicts, repositories, jobs) need less cache than the reports' writer.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone().pragma("cache_size", "-16384"))
            .await?;
        super::migrations::sqlite().run(&writer).await?;
        // The batching writer checkpoints nothing itself: a commit never waits for one.
        let batch_options = options.clone().pragma("wal_autocheckpoint", "0");
        let batcher =
            SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_with(batch_options).await?;
        let known = Arc::new(KnownPackages::default());
        let reports = writer::spawn(batcher, known.clone(), Arc::new(KnownNames::default()));
        // Readers share the operating system's page cache; a small cache of their own each.
        let reader_options = options.clone().read_only(true).pragma("cache_size", "-8192");
        let reader = SqlitePoolOptions::new().max_connections(4).connect_with(reader_options).await?;
        let checkpointer =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.pragma("cache_size", "-1024")).await?;
        tokio::spawn(checkpoint_forever(checkpointer));
        Ok(Self { reports, writer, reader, known })
    }

    async fn send<T>(&self, job: writer::Job, rx: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
        let stopped = || StoreError::Corrupt("the database writer stopped".to_owned());
        self.reports.send(job).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

/// Copies the write-ahead log back into the database file once a second, off the writer's
/// path (the writer has automatic checkpoints off, so a commit never waits for one).
async fn checkpoint_forever(pool: SqlitePool) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        // PASSIVE never blocks the writer.
        if let Err(err) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
            tracing::warn!(%err, "WAL checkpoint failed");
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        queries::setting(&self.reader, key).await
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        queries::setting_or_insert(&self.writer, key, value).await
    }

    async fn enroll(&self, e: &Enrollment<'_>) -> StoreResult<EnrollOutcome> {
        queries::enroll(&self.writer, e).await
    }

    async fn ingest(
        &self,
        token_hash: &TokenHash,
        report: PreparedReport,
        now_ms: i64,
    ) -> StoreResult<Result<IngestOutcome, IngestRejection>> {
        let (reply, rx) = oneshot::channel();
        let job = writer::Job::Ingest { token_hash: *token_hash, report: Box::new(report), now: now_ms, reply };
        self.send(job, rx).await
    }

    async fn touch_if_unchanged(
        &self,
        token_hash: &TokenHash,
        hostname: &str,
        wire_digest: &[u8; 16],
        generated_at: i64,
        now_ms: i64,
    ) -> StoreResult<Option<u32>> {
        let (reply, rx) = oneshot::channel();
        let touch = writer::Touch {
            token_hash: *token_hash,
            hostname: hostname.to_owned(),
            wire_digest: *wire_digest,
            generated_at,
            now: now_ms,
        };
        self.send(writer::Job::Touch { touch, reply }, rx).await
    }

    async fn hosts(&self) -> StoreResult<Vec<HostSummary>> {
        queries::list_hosts(&self.reader).await
    }

    async fn host(&self, hostname: &str) -> StoreResult<Option<HostDetail>> {
        queries::host_detail(&self.reader, hostname).await
    }

    async fn delete_host(&self, hostname: &str) -> StoreResult<bool> {
        queries::delete_host(&self.writer, hostname).await
    }

    async fn register_job(&self, name: &str, interval_ms: i64, first_due: i64) -> StoreResult<()> {
        queries::register_job(&self.writer, name, interval_ms, first_due).await
    }

    async fn claim_job(&self, owner: &str, now: i64, lease_ms: i64) -> StoreResult<Option<super::ClaimedJob>> {
        queries::claim_job(&self.writer, owner, now, lease_ms).await
    }

    async fn renew_job(&self, name: &str, owner: &str, until: i64) -> StoreResult<bool> {
        queries::renew_job(&self.writer, name, owner, until).await
    }

    async fn finish_job(&self, job: &super::ClaimedJob, owner: &str, now: i64, next_due: i64) -> StoreResult<bool> {
        queries::finish_job(&self.writer, job, owner, now, next_due).await
    }

    async fn jobs(&self) -> StoreResult<Vec<super::views::JobView>> {
        queries::jobs(&self.reader).await
    }

    async fn prune_reports(&self, keep: i64, transactions_before: i64) -> StoreResult<u64> {
        queries::prune_reports(&self.writer, keep, transactions_before).await
    }

    async fn repo_revisions(&self) -> StoreResult<Vec<(i64, i64)>> {
        queries::repo_revisions(&self.reader).await
    }

    async fn repo_data(&self, repo_id: i64) -> StoreResult<Option<(i64, patchman_engine::RepoData)>> {
        queries::repo_data(&self.reader, repo_id).await
    }

    async fn packages_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<patchman_engine::Pkg>> {
        queries::packages_by_ids(&self.reader, ids).await
    }

    async fn host_work(&self, host_ids: &[i64]) -> StoreResult<Vec<super::HostWork>> {
        queries::host_work(&self.reader, host_ids).await
    }

    async fn repos(&self) -> StoreResult<Vec<super::views::RepoView>> {
        queries::repos(&self.reader).await
    }

    async fn stale_hosts(&self, after: i64, limit: i64) -> StoreResult<Vec<i64>> {
        queries::stale_hosts(&self.reader, after, limit).await
    }

    async fn mark_stale(&self, host_ids: Option<&[i64]>) -> StoreResult<u64> {
        queries::mark_stale(&self.writer, host_ids).await
    }

    async fn host_id(&self, hostname: &str) -> StoreResult<Option<i64>> {
        queries::host_id(&self.reader, hostname).await
    }

    async fn save_verdicts(&self, verdicts: &[super::VerdictRecord<'_>], now_ms: i64) -> StoreResult<usize> {
        queries::save_verdicts(&self.writer, verdicts, now_ms).await
    }

    async fn replace_repo_contents(
        &self,
        repo_id: i64,
        contents: &crate::contents::RepoContents,
        now_ms: i64,
    ) -> StoreResult<bool> {
        queries::replace_repo_contents(&self.writer, &self.known, repo_id, contents, now_ms).await
    }

    async fn refresh_targets(&self, only: Option<i64>) -> StoreResult<Vec<super::RefreshTarget>> {
        queries::refresh_targets(&self.reader, only).await
    }

    async fn record_mirror(&self, attempt: &super::MirrorAttempt<'_>) -> StoreResult<bool> {
        queries::record_mirror(&self.writer, attempt).await
    }

    async fn set_repo_release(
        &self,
        repo_id: i64,
        origin: &str,
        label: &str,
        codename: &str,
        security: bool,
    ) -> StoreResult<()> {
        queries::set_repo_release(&self.writer, repo_id, origin, label, codename, security).await
    }

    async fn set_repo_security(&self, repo_id: i64, security: Option<bool>) -> StoreResult<bool> {
        queries::set_repo_security(&self.writer, repo_id, security).await
    }

    async fn os_groups(&self) -> StoreResult<Vec<super::views::OsGroupView>> {
        queries::os_groups(&self.reader).await
    }

    async fn set_os_group_repo(&self, group: &str, repo_id: i64, member: bool) -> StoreResult<bool> {
        queries::set_os_group_repo(&self.writer, group, repo_id, member).await
    }

    async fn set_use_host_repos(&self, hostname: &str, own_only: bool) -> StoreResult<bool> {
        queries::set_use_host_repos(&self.writer, hostname, own_only).await
    }

    async fn enable_mirror(&self, mirror_id: i64) -> StoreResult<bool> {
        queries::enable_mirror(&self.writer, mirror_id).await
    }

    async fn add_found_mirrors(
        &self,
        repo_id: i64,
        urls: &[String],
        now_ms: i64,
    ) -> StoreResult<Vec<super::MirrorState>> {
        queries::add_found_mirrors(&self.writer, repo_id, urls, now_ms).await
    }

    async fn merge_repos(&self, keep: i64, gone: i64) -> StoreResult<()> {
        queries::merge_repos(&self.writer, keep, gone).await
    }

    async fn duplicate_repos(&self) -> StoreResult<Vec<(i64, i64)>> {
        queries::duplicate_repos(&self.reader).await
    }
}
