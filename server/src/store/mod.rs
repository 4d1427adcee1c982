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
pub(crate) use self::input::{PackageRow, VerdictColumns};
pub use self::known::KnownPackages;
pub use self::records::{
    AuthKind, ClaimedJob, EnrollOutcome, HostEvent, HostWork, ImportLine, ImportSummary, IngestOutcome,
    IngestRejection, MirrorState, RefreshTarget, SessionRecord, UserRecord,
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
