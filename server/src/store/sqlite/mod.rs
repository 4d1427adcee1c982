//! The SQLite store: one file (WAL), one writer task that commits reports in batches
//! (`writer`), one connection for other writes, a few reader connections.

mod bulk;
mod ingest;
mod queries;
mod seen_digests;
mod writer;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::{mpsc, oneshot};

use super::known::KnownNames;
use super::{
    Credential, EnrollOutcome, Enrollment, IngestOutcome, IngestRejection, IngestStore, KnownPackages, PreparedReport,
    StoreError, StoreResult,
};

pub struct SqliteStore {
    /// Reports and unchanged touches go to the batching writer task.
    reports: mpsc::Sender<writer::Job>,
    /// One connection for the rare other writes (enrollment, settings, deletions).
    writer: SqlitePool,
    reader: SqlitePool,
    /// Shared with the batching writer.
    known: Arc<KnownPackages>,
    seen: seen_digests::SeenDigests,
}

/// How long a batch of reports may wait for SQLite's write lock (other writes: 10 s).
const REPORTS_WAIT_FOR_THE_LOCK_AT_MOST: Duration = Duration::from_secs(60);

/// How long a write other than a report's may wait for the write connection.
const WRITES_WAIT_AT_MOST: Duration = Duration::from_secs(300);

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
        // No pool tests a connection before handing it out: SQLite's is a file, and the test is
        // a round trip to the connection's worker thread before every statement's own.
        // Other writes (verdicts, repositories, jobs) need less cache than the reports' writer.
        // They queue for its one connection, and under a stream of reports each gets its turn
        // only every few seconds (`writer::give_others_their_turn`): a background pass behind a
        // dozen verdict saves waited past sqlx's 30 s default and failed. Each waits its turn;
        // a request's own timeout still bounds a web or gRPC caller.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(WRITES_WAIT_AT_MOST)
            .test_before_acquire(false)
            .connect_with(options.clone().pragma("cache_size", "-16384"))
            .await?;
        super::migrations::sqlite().run(&writer).await?;
        // The batching writer checkpoints nothing itself: a commit never waits for one. It may
        // wait longer than the other writes for SQLite's lock: a run of short transactions on
        // the other connection (an exposures pass over 100,000 hosts) kept it out for 10 s,
        // and a whole batch of reports failed where it could have waited.
        let batch_options =
            options.clone().pragma("wal_autocheckpoint", "0").busy_timeout(REPORTS_WAIT_FOR_THE_LOCK_AT_MOST);
        let batcher =
            SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_with(batch_options).await?;
        let known = Arc::new(KnownPackages::default());
        let reports = writer::spawn(batcher, writer.clone(), known.clone(), Arc::new(KnownNames::default()));
        // Readers share the operating system's page cache; a small cache of their own each.
        let reader_options = options.clone().read_only(true).pragma("cache_size", "-8192");
        let reader =
            SqlitePoolOptions::new().max_connections(4).test_before_acquire(false).connect_with(reader_options).await?;
        let checkpointer =
            SqlitePoolOptions::new().max_connections(1).connect_with(options.pragma("cache_size", "-1024")).await?;
        tokio::spawn(checkpoint_forever(checkpointer));
        Ok(Self { reports, writer, reader, known, seen: Default::default() })
    }

    async fn send<T>(&self, job: writer::Job, rx: oneshot::Receiver<StoreResult<T>>) -> StoreResult<T> {
        let stopped = || StoreError::WriterStopped;
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

super::forward::forward_roles!(SqliteStore { db: sqlx::Sqlite, read: reader, write: writer, known: known });

#[async_trait]
impl super::HealthStore for SqliteStore {
    async fn schema_versions(&self) -> StoreResult<(i64, i64)> {
        Ok((queries::schema_version(&self.reader).await?, super::migrations::sqlite_latest()))
    }

    async fn recompute_queue(&self) -> StoreResult<i64> {
        queries::recompute_queue(&self.reader).await
    }

    fn connections(&self) -> (u32, u32) {
        let open = self.reader.size() + self.writer.size();
        let idle = self.reader.num_idle() + self.writer.num_idle();
        (open.saturating_sub(idle as u32), open)
    }
}

#[async_trait]
impl IngestStore for SqliteStore {
    async fn enroll(&self, e: &Enrollment<'_>) -> StoreResult<EnrollOutcome> {
        queries::enroll(&self.writer, e, None).await
    }

    async fn enroll_with_key(
        &self,
        e: &Enrollment<'_>,
        key_hash: &crate::auth::TokenHash,
    ) -> StoreResult<EnrollOutcome> {
        queries::enroll(&self.writer, e, Some(key_hash)).await
    }

    async fn ingest(
        &self,
        credential: &Credential,
        report: PreparedReport,
        now_ms: i64,
    ) -> StoreResult<Result<IngestOutcome, IngestRejection>> {
        let (reply, rx) = oneshot::channel();
        let report = Arc::new(report);
        let job = writer::Job::Ingest { credential: credential.clone(), report: report.clone(), now: now_ms, reply };
        let result = self.send(job, rx).await;
        if let (Ok(Ok(IngestOutcome::Stored { .. })), Some(digest)) = (&result, &report.wire_digest) {
            // The host's stored state is now this report's: its next timer report is unchanged.
            self.seen.record(&report.report.hostname, digest, true);
        }
        drop(report); // the last reference, freed on this task's thread, not the writer's
        result
    }

    async fn touch_if_unchanged(
        &self,
        credential: &Credential,
        hostname: &str,
        wire_digest: &[u8; 16],
        generated_at: i64,
        now_ms: i64,
    ) -> StoreResult<Option<u32>> {
        // Most reports that are not unchanged are told apart here, on a reader, without a
        // turn of the one writer all reports queue for; the touch itself checks again. A
        // host found unchanged with this digest last time skips the question.
        if !self.seen.matches(hostname, wire_digest) {
            let same: Option<i64> = sqlx::query_scalar("SELECT 1 FROM hosts WHERE hostname = $1 AND wire_digest = $2")
                .bind(hostname)
                .bind(&wire_digest[..])
                .fetch_optional(&self.reader)
                .await?;
            if same.is_none() {
                return Ok(None);
            }
        }
        let (reply, rx) = oneshot::channel();
        let touch = writer::Touch {
            credential: credential.clone(),
            hostname: hostname.to_owned(),
            wire_digest: *wire_digest,
            generated_at,
            now: now_ms,
        };
        let touched = self.send(writer::Job::Touch { touch, reply }, rx).await;
        if let Ok(count) = &touched {
            self.seen.record(hostname, wire_digest, count.is_some());
        }
        touched
    }
}
