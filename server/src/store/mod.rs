//! The store: the only module that speaks SQL. Narrow role traits (`roles.rs`) summed in
//! `Store`, one implementation per dialect, chosen by the database URL. What it is given to
//! write is in `input.rs`, what it answers in `records.rs` and `views.rs`.

/// `SET` terms for a change to what a host's updates depend on but not its installed
/// packages (its repositories, their contents, its OS group): the state version moves on (a
/// verdict being computed is not saved), and exposures that were current stay current (they
/// depend on the installed packages only). A literal, for `concat!`.
macro_rules! bump_keeping_exposures {
    () => {
        "state_version = state_version + 1, exposures_version = \
         CASE WHEN exposures_version = state_version THEN state_version + 1 ELSE exposures_version END"
    };
}

mod advisory_views;
pub mod copy;
mod forward;
mod host_sql;
mod host_view_sql;
mod ingest_flow;
mod input;
mod known;
mod migrations;
pub mod patchman_source;
mod portable;
mod portable_accounts;
mod portable_advisories;
mod portable_enrollment;
mod portable_events;
mod portable_hosts;
mod portable_import;
mod portable_ingest;
mod portable_os_groups;
mod portable_repos;
mod portable_updates;
pub mod postgres;
mod records;
mod roles;
pub mod sqlite;
mod verdict_diff;
pub mod views;

use std::sync::Arc;

pub use self::advisory_views::{
    AdvisoryDetail, AdvisoryPackageView, AdvisoryView, AffectedRow, CveDetail, ErratumExposure, ExploitedView,
    ExposedHostView, ExposureChanges, ExposureRecord, ExposureSummary, ExposureWork, FeedChange, FeedRead, FeedResult,
    FeedState, FixedHostView, HostExposureView,
};
pub use self::input::{
    AuditEntry, Credential, Digest, Digests, Enrollment, MirrorAttempt, MirrorResult, NameVerdictRecord, NewApiKey,
    NewEnrollmentKey, NewSession, NewUser, OrgGroup, OrgHost, OrgRepo, Organisation, PreparedPackage, PreparedRepo,
    PreparedReport, VerdictRecord,
};
pub(crate) use self::input::{CountChange, PackageRow, VerdictColumns};
pub use self::known::KnownPackages;
pub use self::records::{
    AuthKind, ClaimedJob, EnrollOutcome, HostEvent, HostWork, ImportLine, ImportSummary, IngestOutcome,
    IngestRejection, MirrorState, RefreshTarget, SessionRecord, UsedRepo, UserRecord,
};
pub use self::roles::{
    AccountStore, AdminStore, AdvisoryStore, HealthStore, HostQueries, IngestStore, JobStore, RepoStore, SettingsStore,
    Store, UpdateStore,
};
pub use self::views::{HostDetail, HostSummary};

pub type StoreResult<T> = Result<T, StoreError>;

/// How long host events are kept: a watcher may resume from a cursor this old.
pub const HOST_EVENTS_KEPT_MS: i64 = 7 * 86_400_000;

/// What `patchman clean` deleted (or, in a dry run, would delete).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CleanCounts {
    pub reports: u64,
    pub transactions: u64,
    pub repositories: u64,
    pub packages: u64,
}

/// What saving verdicts changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerdictChanges {
    /// Hosts whose verdict columns were written (verdicts of their current state).
    pub saved: usize,
    /// Hosts whose updates differ from what they had.
    pub hosts_changed: usize,
    /// (host, installed, candidate) pairs new, and gone.
    pub updates_added: usize,
    pub updates_removed: usize,
}

/// `reports.outcome` of a report whose state was applied.
pub const REPORT_STORED: i64 = 1;
/// `reports.outcome` of a report that arrived after a newer one of its host.
pub const REPORT_SUPERSEDED: i64 = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL scheme {0:?}: use sqlite:// or postgres://")]
    UnsupportedScheme(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("package id {0} is already used by another package (hash collision)")]
    PackageIdCollision(i64),
    #[error("unexpected data in the database: {0}")]
    Corrupt(String),
    #[error("the database writer stopped")]
    WriterStopped,
    #[error("package rows were cleaned while this transaction ran; it starts over")]
    PackagesCleaned,
    #[error("the transaction of this report failed: {0}")]
    BatchFailed(String),
    #[error("the target database is not empty (table {0} has rows)")]
    TargetNotEmpty(String),
    #[error("{0}")]
    Unsupported(String),
    #[error("copy-db does not know table {0}")]
    UnknownTable(String),
    #[error("copy-db does not know column {column} of table {table}")]
    UnknownColumn { table: String, column: String },
}

impl StoreError {
    /// The transaction lost a race that another attempt can win: a PostgreSQL deadlock or
    /// serialization failure (the transaction was rolled back whole), or SQLite's lock still
    /// taken when the busy timeout ran out.
    pub fn is_transient(&self) -> bool {
        let StoreError::Db(sqlx::Error::Database(db)) = self else { return false };
        matches!(db.code().as_deref(), Some("40001" | "40P01" | "5" | "6" | "517"))
    }
}

/// Runs a write again, up to `retries` more times, while it fails for a transient reason
/// (`StoreError::is_transient`): it was rolled back whole, so another attempt starts afresh.
pub async fn retry_transient<T, F, Fut>(retries: usize, mut write: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StoreResult<T>>,
{
    let mut attempt = 0;
    loop {
        match write().await {
            Err(err) if err.is_transient() && attempt < retries => attempt += 1,
            other => return other,
        }
    }
}

/// Opens (and creates, for SQLite) the database and applies pending migrations.
pub async fn connect(url: &str) -> StoreResult<Arc<dyn Store>> {
    connect_with(url, 16).await
}

/// As `connect`, with at most `max_connections` connections to PostgreSQL.
pub async fn connect_with(url: &str, max_connections: u32) -> StoreResult<Arc<dyn Store>> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" => Ok(Arc::new(sqlite::SqliteStore::open(url).await?)),
        "postgres" | "postgresql" => Ok(Arc::new(postgres::PgStore::open(url, max_connections).await?)),
        other => Err(StoreError::UnsupportedScheme(other.to_owned())),
    }
}

#[cfg(test)]
mod retry_tests {
    use std::borrow::Cow;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::{StoreError, retry_transient};

    /// A database error with only a code, as a driver reports one.
    #[derive(Debug)]
    struct Coded(&'static str);

    impl std::fmt::Display for Coded {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "code {}", self.0)
        }
    }
    impl std::error::Error for Coded {}
    impl sqlx::error::DatabaseError for Coded {
        fn message(&self) -> &str {
            self.0
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> sqlx::error::ErrorKind {
            sqlx::error::ErrorKind::Other
        }
    }

    fn failed(code: &'static str) -> StoreError {
        StoreError::Db(sqlx::Error::Database(Box::new(Coded(code))))
    }

    #[tokio::test]
    async fn deadlocks_and_busy_locks_are_tried_again_other_errors_are_not() {
        assert!(failed("40P01").is_transient() && failed("40001").is_transient() && failed("5").is_transient());
        assert!(!failed("23505").is_transient() && !StoreError::PackagesCleaned.is_transient());

        let calls = AtomicUsize::new(0);
        let answer = retry_transient(3, || async {
            match calls.fetch_add(1, Ordering::Relaxed) {
                0 | 1 => Err(failed("40P01")),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(answer.unwrap(), 2, "won on the third attempt");

        calls.store(0, Ordering::Relaxed);
        let answer: super::StoreResult<()> = retry_transient(3, || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(failed("40P01"))
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(calls.load(Ordering::Relaxed), 4, "the first attempt and three more");

        calls.store(0, Ordering::Relaxed);
        let answer: super::StoreResult<()> = retry_transient(3, || async {
            calls.fetch_add(1, Ordering::Relaxed);
            Err(failed("23503"))
        })
        .await;
        assert!(answer.is_err());
        assert_eq!(calls.load(Ordering::Relaxed), 1, "a lasting error is not tried again");
    }
}
