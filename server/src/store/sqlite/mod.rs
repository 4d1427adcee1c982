//! The SQLite store: one file, one writer connection, a few reader connections (WAL).

mod hosts;
mod ingest;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::ingest_flow;
use super::{
    EnrollOutcome, Enrollment, HostDetail, HostSummary, IngestOutcome, IngestRejection, KnownPackages, Store,
    StoreResult,
};
use crate::auth::TokenHash;
use crate::ingest::PreparedReport;

pub struct SqliteStore {
    /// Exactly one connection: SQLite has one writer at a time, and queuing here is cheaper
    /// than retrying on SQLITE_BUSY.
    writer: SqlitePool,
    reader: SqlitePool,
    known: KnownPackages,
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
            .pragma("temp_store", "memory");
        let writer =
            SqlitePoolOptions::new().max_connections(1).min_connections(1).connect_with(options.clone()).await?;
        super::migrations::sqlite().run(&writer).await?;
        let reader = SqlitePoolOptions::new().max_connections(4).connect_with(options.read_only(true)).await?;
        Ok(Self { writer, reader, known: KnownPackages::default() })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let row =
            sqlx::query("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(&self.reader).await?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.writer)
            .await?;
        let row = sqlx::query("SELECT value FROM settings WHERE key = ?").bind(key).fetch_one(&self.writer).await?;
        Ok(row.get(0))
    }

    async fn enroll(&self, e: &Enrollment<'_>) -> StoreResult<EnrollOutcome> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let existing = sqlx::query(
            "SELECT h.id, h.machine_id, (SELECT count(*) FROM host_tokens t WHERE t.host_id = h.id) \
             FROM hosts h WHERE h.hostname = ?",
        )
        .bind(e.hostname)
        .fetch_optional(&mut *tx)
        .await?;
        let host_id: i64 = match existing {
            None => sqlx::query("INSERT INTO hosts (hostname, machine_id, enrolled_at) VALUES (?, ?, ?) RETURNING id")
                .bind(e.hostname)
                .bind(e.machine_id)
                .bind(e.now_ms)
                .fetch_one(&mut *tx)
                .await?
                .get(0),
            Some(row) => {
                let (id, machine_id, tokens): (i64, String, i64) = (row.get(0), row.get(1), row.get(2));
                let same_machine = !machine_id.is_empty() && machine_id == e.machine_id;
                if !(same_machine || tokens == 0) {
                    return Ok(EnrollOutcome::Conflict);
                }
                sqlx::query("DELETE FROM host_tokens WHERE host_id = ?").bind(id).execute(&mut *tx).await?;
                sqlx::query("UPDATE hosts SET machine_id = ? WHERE id = ?")
                    .bind(e.machine_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                id
            }
        };
        sqlx::query("INSERT INTO host_tokens (token_hash, host_id, created_at) VALUES (?, ?, ?)")
            .bind(&e.token_hash.0[..])
            .bind(host_id)
            .bind(e.now_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(EnrollOutcome::Enrolled)
    }

    async fn ingest(
        &self,
        token_hash: &TokenHash,
        report: &PreparedReport,
        now_ms: i64,
    ) -> StoreResult<Result<IngestOutcome, IngestRejection>> {
        let mut ops = ingest::SqliteIngest(self.writer.begin_with("BEGIN IMMEDIATE").await?);
        let result = ingest_flow::ingest(&mut ops, &self.known, token_hash, report, now_ms).await?;
        let ingested = match result {
            Ok(ingested) => ingested,
            Err(rejection) => return Ok(Err(rejection)),
        };
        ops.0.commit().await?;
        self.known.remember(&ingested.new_packages);
        Ok(Ok(ingested.outcome))
    }

    async fn hosts(&self) -> StoreResult<Vec<HostSummary>> {
        hosts::list(&self.reader).await
    }

    async fn host(&self, hostname: &str) -> StoreResult<Option<HostDetail>> {
        hosts::detail(&self.reader, hostname).await
    }

    async fn delete_host(&self, hostname: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM hosts WHERE hostname = ?").bind(hostname).execute(&self.writer).await?;
        Ok(done.rows_affected() > 0)
    }
}
