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
    Credential, EnrollOutcome, Enrollment, IngestOutcome, IngestRejection, IngestStore, PreparedReport, StoreError,
    StoreResult,
};

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
        // The tables the read side joins are hot in memory or on SSD: with the default random
        // page cost (4, spinning disks) the planner scans all packages to join a host's 1,200.
        let options =
            PgConnectOptions::from_str(url)?.application_name("patchman").options([("random_page_cost", "1.1")]);
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
    if matches!(err, StoreError::PackagesCleaned) || err.is_transient() {
        return true;
    }
    let StoreError::Db(sqlx::Error::Database(db)) = err else { return false };
    db.code().as_deref() == Some("23505")
}

super::forward::forward_roles!(PgStore { db: sqlx::Postgres, read: pool, write: pool, known: known });

#[async_trait]
impl super::HealthStore for PgStore {
    async fn schema_versions(&self) -> StoreResult<(i64, i64)> {
        Ok((queries::schema_version(&self.pool).await?, super::migrations::postgres_latest()))
    }

    async fn recompute_queue(&self) -> StoreResult<i64> {
        queries::recompute_queue(&self.pool).await
    }

    fn connections(&self) -> (u32, u32) {
        let open = self.pool.size();
        (open.saturating_sub(self.pool.num_idle() as u32), open)
    }
}

impl PgStore {
    async fn enroll_retrying(
        &self,
        e: &Enrollment<'_>,
        key_hash: Option<&crate::auth::TokenHash>,
    ) -> StoreResult<EnrollOutcome> {
        let mut attempt = 0;
        loop {
            match queries::enroll(&self.pool, e, key_hash).await {
                Err(err) if retryable(&err) && attempt < RETRIES => attempt += 1,
                other => return other,
            }
        }
    }
}

#[async_trait]
impl IngestStore for PgStore {
    async fn enroll(&self, e: &Enrollment<'_>) -> StoreResult<EnrollOutcome> {
        self.enroll_retrying(e, None).await
    }

    async fn enroll_with_key(
        &self,
        e: &Enrollment<'_>,
        key_hash: &crate::auth::TokenHash,
    ) -> StoreResult<EnrollOutcome> {
        self.enroll_retrying(e, Some(key_hash)).await
    }

    async fn ingest(
        &self,
        credential: &Credential,
        report: PreparedReport,
        now_ms: i64,
    ) -> StoreResult<Result<IngestOutcome, IngestRejection>> {
        let mut attempt = 0;
        loop {
            let mut ops = ingest::PgIngest(self.pool.begin().await?);
            let result = ingest_flow::ingest(&mut ops, &self.known, &self.names, credential, &report, now_ms).await;
            let result = match result {
                Ok(Ok(ingested)) => ops.0.commit().await.map(|()| Ok(ingested)).map_err(StoreError::from),
                other => other,
            };
            match result {
                Ok(Ok(ingested)) => {
                    self.known.remember_installed(&ingested.new_packages);
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
        credential: &Credential,
        hostname: &str,
        wire_digest: &[u8; 16],
        generated_at: i64,
        now_ms: i64,
    ) -> StoreResult<Option<u32>> {
        let mut tx = self.pool.begin().await?;
        // Only last-seen changes here: not worth waiting for the log flush of every report.
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
        let count =
            queries::touch_if_unchanged(&mut tx, credential, hostname, wire_digest, generated_at, now_ms).await?;
        tx.commit().await?;
        Ok(count)
    }
}
