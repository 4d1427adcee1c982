//! The store: the only module that speaks SQL. One `Store` trait, one implementation per
//! dialect, chosen by the database URL.

pub mod copy;
mod ingest_flow;
mod known;
mod migrations;
mod portable;
mod portable_ingest;
mod portable_os_groups;
mod portable_repos;
mod portable_updates;
pub mod postgres;
pub mod sqlite;
pub mod views;

use std::sync::Arc;

use async_trait::async_trait;

pub use self::known::KnownPackages;
pub use self::views::{HostDetail, HostSummary};
use crate::auth::TokenHash;
use crate::ingest::PreparedReport;

pub type StoreResult<T> = Result<T, StoreError>;

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
}

/// What happened to a report that the host was allowed to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The host's state changed and was written.
    Stored { package_count: u32, added: u32, removed: u32 },
    /// Same state as before: only last-seen was refreshed.
    Unchanged { package_count: u32 },
    /// This report id was stored before.
    Duplicate { package_count: u32 },
    /// A report generated later is already applied; only transactions were kept.
    Superseded { package_count: u32 },
}

impl IngestOutcome {
    pub fn package_count(self) -> u32 {
        match self {
            Self::Stored { package_count, .. }
            | Self::Unchanged { package_count }
            | Self::Duplicate { package_count }
            | Self::Superseded { package_count } => package_count,
        }
    }
}

/// Why a report was refused before anything was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestRejection {
    /// The token belongs to no host.
    UnknownToken,
    /// The token belongs to another host.
    WrongHost { token_host: String },
}

/// A package row to write: the package, its id, and (for deb) its source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PackageRow<'a> {
    pub id: i64,
    pub package: &'a crate::report::Package,
    pub source_name: &'a str,
    pub source_version: &'a str,
}

/// What the engine needs of one host, with its packages as ids (the caller resolves them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostWork {
    pub host_id: i64,
    /// The version of the state this was read from: a verdict is saved only for it.
    pub state_version: i64,
    pub kernel: String,
    pub arch: String,
    pub package_ids: Vec<i64>,
    /// Enabled module streams.
    pub modules: Vec<(String, String)>,
    /// The repositories whose packages count for the host, with the host's priority.
    pub repos: Vec<(i64, i32)>,
}

/// A verdict to save for a host, with the state version it was computed from.
#[derive(Debug, Clone)]
pub struct VerdictRecord<'a> {
    pub host_id: i64,
    pub state_version: i64,
    /// Digest of the verdict: an unchanged verdict rewrites no rows.
    pub digest: [u8; 16],
    pub verdict: &'a patchman_engine::Verdict,
}

/// What `hosts` keeps of a verdict.
pub(crate) struct VerdictColumns<'a> {
    pub host_id: i64,
    pub state_version: i64,
    pub digest: [u8; 16],
    pub security: i64,
    pub bugfix: i64,
    pub unknown: i64,
    pub reboot: &'a str,
}

/// A repository to refresh and its mirrors, best first.
#[derive(Debug, Clone)]
pub struct RefreshTarget {
    pub repo_id: i64,
    pub kind: crate::report::PackageKind,
    pub name: String,
    pub repo_key: String,
    pub mirrors: Vec<MirrorState>,
}

/// A mirror and what its last good refresh saw.
#[derive(Debug, Clone)]
pub struct MirrorState {
    pub id: i64,
    pub url: String,
    pub kind: crate::report::UrlKind,
    pub enabled: bool,
    pub fail_count: i64,
    pub checksum: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The result of trying one mirror.
#[derive(Debug, Clone)]
pub struct MirrorAttempt<'a> {
    pub mirror_id: i64,
    pub ok: bool,
    /// Why it failed; empty on success.
    pub error: &'a str,
    /// On success: the metadata's checksum (unchanged metadata keeps the stored one).
    pub checksum: Option<&'a str>,
    pub etag: Option<&'a str>,
    pub last_modified: Option<&'a str>,
    pub valid_until_passed: bool,
    pub max_failures: i64,
    pub now: i64,
}

/// A due job this process now holds the lease of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub name: String,
    /// The due time of this run: with the name, it identifies the run.
    pub due_at: i64,
    pub interval_ms: i64,
    /// 1 for a first attempt; more when taking over from an owner whose lease expired.
    pub attempt: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollOutcome {
    /// A new host, or a known host re-enrolling from the same machine: the token is stored.
    Enrolled,
    /// The hostname is enrolled from another machine.
    Conflict,
}

/// A host that asks to enroll, with the hash of the token it will receive.
#[derive(Debug, Clone)]
pub struct Enrollment<'a> {
    pub hostname: &'a str,
    pub machine_id: &'a str,
    pub token_hash: &'a TokenHash,
    pub now_ms: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A value from the settings table.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a value only if the key has none; returns the value the key has afterwards.
    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String>;

    async fn enroll(&self, enrollment: &Enrollment<'_>) -> StoreResult<EnrollOutcome>;

    /// Authenticates the token against the report's hostname and, if it matches, stores the
    /// report in one transaction: all of it or nothing.
    async fn ingest(
        &self,
        token_hash: &TokenHash,
        report: PreparedReport,
        now_ms: i64,
    ) -> StoreResult<Result<IngestOutcome, IngestRejection>>;

    /// Refreshes last-seen of the token's host if it is `hostname`, its last applied state
    /// had this wire digest and was generated no later than `generated_at`; returns the
    /// host's package count then, `None` otherwise (the caller takes the full path).
    async fn touch_if_unchanged(
        &self,
        token_hash: &TokenHash,
        hostname: &str,
        wire_digest: &[u8; 16],
        generated_at: i64,
        now_ms: i64,
    ) -> StoreResult<Option<u32>>;

    async fn hosts(&self) -> StoreResult<Vec<HostSummary>>;
    async fn host(&self, hostname: &str) -> StoreResult<Option<HostDetail>>;
    /// Deletes a host with everything that belongs to it; false if there is none.
    async fn delete_host(&self, hostname: &str) -> StoreResult<bool>;

    /// Declares a job (or updates its interval), first due at `first_due` if it is new.
    async fn register_job(&self, name: &str, interval_ms: i64, first_due: i64) -> StoreResult<()>;
    /// Claims a due job whose lease is free or expired, for `lease_ms`.
    async fn claim_job(&self, owner: &str, now: i64, lease_ms: i64) -> StoreResult<Option<ClaimedJob>>;
    /// Extends a held lease until `until`; false when it was lost.
    async fn renew_job(&self, name: &str, owner: &str, until: i64) -> StoreResult<bool>;
    /// Records the run finished and schedules the next at `next_due`; false when the lease
    /// was lost (the new owner finishes it).
    async fn finish_job(&self, job: &ClaimedJob, owner: &str, now: i64, next_due: i64) -> StoreResult<bool>;
    async fn jobs(&self) -> StoreResult<Vec<views::JobView>>;
    /// Keeps the newest `keep` report rows per host and transactions finished after
    /// `transactions_before`; returns how many rows were deleted.
    async fn prune_reports(&self, keep: i64, transactions_before: i64) -> StoreResult<u64>;

    /// (repository id, revision) of every enabled repository.
    async fn repo_revisions(&self) -> StoreResult<Vec<(i64, i64)>>;
    /// A repository as the engine needs it, with its revision.
    async fn repo_data(&self, repo_id: i64) -> StoreResult<Option<(i64, patchman_engine::RepoData)>>;
    async fn packages_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<patchman_engine::Pkg>>;
    async fn host_work(&self, host_ids: &[i64]) -> StoreResult<Vec<HostWork>>;
    async fn repos(&self) -> StoreResult<Vec<views::RepoView>>;
    async fn refresh_targets(&self, only: Option<i64>) -> StoreResult<Vec<RefreshTarget>>;
    /// Records a mirror attempt; true when the mirror is now disabled.
    async fn record_mirror(&self, attempt: &MirrorAttempt<'_>) -> StoreResult<bool>;
    async fn set_repo_release(
        &self,
        repo_id: i64,
        origin: &str,
        label: &str,
        codename: &str,
        security: bool,
    ) -> StoreResult<()>;
    /// Sets a repository's security flag by hand, or (`None`) gives it back to its metadata.
    async fn set_repo_security(&self, repo_id: i64, security: Option<bool>) -> StoreResult<bool>;
    /// Enables a disabled mirror again, its failures forgotten.
    async fn enable_mirror(&self, mirror_id: i64) -> StoreResult<bool>;
    async fn add_found_mirrors(&self, repo_id: i64, urls: &[String], now_ms: i64) -> StoreResult<Vec<MirrorState>>;
    async fn os_groups(&self) -> StoreResult<Vec<views::OsGroupView>>;
    /// Adds a repository to an OS group (`member`) or takes it out; false when either is
    /// unknown. The group's hosts that use its repositories are marked for recomputation.
    async fn set_os_group_repo(&self, group: &str, repo_id: i64, member: bool) -> StoreResult<bool>;
    /// Whether the host finds updates in its own repositories only; false when unknown.
    async fn set_use_host_repos(&self, hostname: &str, own_only: bool) -> StoreResult<bool>;
    /// Makes `gone` part of `keep`.
    async fn merge_repos(&self, keep: i64, gone: i64) -> StoreResult<()>;
    /// Repositories that are the same one: (keep, gone) pairs.
    async fn duplicate_repos(&self) -> StoreResult<Vec<(i64, i64)>>;
    /// Hosts whose updates need computing with ids above `after`, lowest ids first.
    async fn stale_hosts(&self, after: i64, limit: i64) -> StoreResult<Vec<i64>>;
    /// Marks hosts (all, or these) for recomputation.
    async fn mark_stale(&self, host_ids: Option<&[i64]>) -> StoreResult<u64>;
    async fn host_id(&self, hostname: &str) -> StoreResult<Option<i64>>;
    /// Saves verdicts computed from the hosts' current state; returns how many were saved.
    async fn save_verdicts(&self, verdicts: &[VerdictRecord<'_>], now_ms: i64) -> StoreResult<usize>;
    /// Replaces what a repository offers; true when something changed (the hosts using it
    /// are then marked for recomputation).
    async fn replace_repo_contents(
        &self,
        repo_id: i64,
        contents: &crate::contents::RepoContents,
        now_ms: i64,
    ) -> StoreResult<bool>;
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
