//! The store's roles: one narrow trait per consumer, `Store` their sum. A consumer takes the
//! trait it needs (`Arc<dyn JobStore>`, `&dyn UpdateStore`); `connect` gives the sum, which
//! converts to any of them. Both dialects implement `IngestStore` by hand (their transactions
//! differ); the other roles are forwarded to the portable queries by `forward_roles!`.

use async_trait::async_trait;

use crate::query::{Clock, HostFilter, HostSort, PackageFilter, PageRequest, Paged, RepoFilter};

use super::views::{
    ApiKeyView, AuditView, Dashboard, ErratumView, HostDetail, HostSummary, HostTransactionView, JobView, OsGroupView,
    PackageNameView, PackageVersionView, RepoView, UpdatePairView, UpdateView, UserView,
};
use super::{
    AuditEntry, ClaimedJob, Credential, EnrollOutcome, Enrollment, HostEvent, HostWork, ImportSummary, IngestOutcome,
    IngestRejection, MirrorAttempt, MirrorState, NewApiKey, NewSession, NewUser, Organisation, PreparedReport,
    RefreshTarget, SessionRecord, StoreResult, UserRecord, VerdictRecord,
};
use crate::accounts::SessionHash;
use crate::auth::TokenHash;
use crate::contents::RepoContents;

/// Everything: what `connect` returns and what the CLI and `serve` hand out in parts.
pub trait Store:
    SettingsStore
    + IngestStore
    + HostQueries
    + AdminStore
    + JobStore
    + RepoStore
    + UpdateStore
    + AccountStore
    + HealthStore
    + AdvisoryStore
{
}

impl<T> Store for T where
    T: SettingsStore
        + IngestStore
        + HostQueries
        + AdminStore
        + JobStore
        + RepoStore
        + UpdateStore
        + AccountStore
        + HealthStore
        + AdvisoryStore
{
}

/// What `/readyz` and `/metrics` ask of the database.
#[async_trait]
pub trait HealthStore: Send + Sync + 'static {
    /// The newest migration the database has, and the newest this build brings.
    async fn schema_versions(&self) -> StoreResult<(i64, i64)>;
    /// Hosts waiting for their updates to be recomputed.
    async fn recompute_queue(&self) -> StoreResult<i64>;
    /// Connections in use and open, over the store's pools.
    fn connections(&self) -> (u32, u32);
}

/// Site-wide values kept in the database (the generated enrollment key).
#[async_trait]
pub trait SettingsStore: Send + Sync + 'static {
    /// A value from the settings table.
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;
    /// Sets a value only if the key has none; returns the value the key has afterwards.
    async fn setting_or_insert(&self, key: &str, value: &str) -> StoreResult<String>;
}

/// What hosts write: enrollment and reports. Authentication and the write are one transaction.
#[async_trait]
pub trait IngestStore: Send + Sync + 'static {
    /// Enrolls without a key (the CLI's `host token`, tests).
    async fn enroll(&self, enrollment: &Enrollment<'_>) -> StoreResult<EnrollOutcome>;
    /// Enrolls with an enrollment key (by its hash): refused when it is unknown, expired or
    /// used up; else one use is counted, and the key's tags are given to the host, in the
    /// same transaction.
    async fn enroll_with_key(&self, enrollment: &Enrollment<'_>, key_hash: &TokenHash) -> StoreResult<EnrollOutcome>;

    /// Authenticates the credential for the report's hostname and, if it may write that host,
    /// stores the report in one transaction: all of it or nothing.
    async fn ingest(
        &self,
        credential: &Credential,
        report: PreparedReport,
        now_ms: i64,
    ) -> StoreResult<Result<IngestOutcome, IngestRejection>>;

    /// Refreshes last-seen of host `hostname` if the credential may write it and last did,
    /// its last applied state had this wire digest and was generated no later than
    /// `generated_at`; returns the host's package count then, `None` otherwise (the caller
    /// takes the full path).
    async fn touch_if_unchanged(
        &self,
        credential: &Credential,
        hostname: &str,
        wire_digest: &[u8; 16],
        generated_at: i64,
        now_ms: i64,
    ) -> StoreResult<Option<u32>>;
}

/// Read models for pages and listings.
#[async_trait]
pub trait HostQueries: Send + Sync + 'static {
    async fn hosts(&self) -> StoreResult<Vec<HostSummary>>;
    async fn host(&self, hostname: &str) -> StoreResult<Option<HostDetail>>;
    async fn host_id(&self, hostname: &str) -> StoreResult<Option<i64>>;
    /// A host's summary and updates, without the rest of its detail.
    async fn host_update_list(&self, hostname: &str) -> StoreResult<Option<(HostSummary, Vec<UpdateView>)>>;
    /// A host's kept reports, newest first; None when there is no such host.
    async fn report_history(&self, hostname: &str) -> StoreResult<Option<Vec<super::views::ReportView>>>;
    /// The transactions that arrived with one report of a host.
    async fn report_transactions(
        &self,
        hostname: &str,
        report_id: &str,
    ) -> StoreResult<Vec<super::views::TransactionView>>;
    /// Every repository with its mirrors and their state.
    async fn repos(&self) -> StoreResult<Vec<RepoView>>;
    /// The repositories `filter` selects, by name.
    async fn repo_list(&self, filter: &RepoFilter, clock: &Clock) -> StoreResult<Vec<RepoView>>;
    /// The outstanding (installed → available) pairs of the hosts `filter` selects (and of
    /// one package name), with how many hosts need each: security first, then most hosts.
    async fn update_list(
        &self,
        filter: &HostFilter,
        package: Option<&str>,
        page: PageRequest,
        clock: &Clock,
    ) -> StoreResult<Paged<UpdatePairView>>;
    async fn os_groups(&self) -> StoreResult<Vec<OsGroupView>>;
    /// The transactions of the hosts `filter` selects (and that changed a package of this
    /// name), newest first.
    async fn transaction_list(
        &self,
        filter: &HostFilter,
        package: Option<&str>,
        page: PageRequest,
        clock: &Clock,
    ) -> StoreResult<Paged<HostTransactionView>>;
    /// Errata (advisories) the repositories offer, newest first.
    async fn errata(&self, page: PageRequest) -> StoreResult<Paged<ErratumView>>;
    /// One page of the hosts `filter` selects, in `sort` order, and how many it selects.
    async fn host_list(
        &self,
        filter: &HostFilter,
        sort: &HostSort,
        page: PageRequest,
        clock: &Clock,
    ) -> StoreResult<Paged<HostSummary>>;
    /// What needs attention, in counts.
    async fn dashboard(&self, clock: &Clock) -> StoreResult<Dashboard>;
    /// The versions of a package name installed or offered, with host counts and repositories.
    async fn package_versions(&self, name: &str) -> StoreResult<Vec<PackageVersionView>>;
    /// Changes of hosts' status after `after`, oldest first (the watch stream's source).
    async fn host_events_after(&self, after: i64, limit: i64) -> StoreResult<Vec<HostEvent>>;
    /// The oldest kept event's sequence number and the newest's (0 when there are none).
    async fn host_event_bounds(&self) -> StoreResult<(i64, i64)>;
    /// The hosts of these names (those that exist), as lists show them.
    async fn host_summaries(&self, hostnames: &[String]) -> StoreResult<Vec<HostSummary>>;
    /// The hosts that have a package of this name (at `evr`: a release also
    /// matches its dotted extensions), by host name, each with the repositories of the host
    /// that offer what it has.
    async fn package_hosts(
        &self,
        name: &str,
        evr: Option<&str>,
        filter: &HostFilter,
        page: PageRequest,
        clock: &Clock,
    ) -> StoreResult<super::views::PackageHosts>;
    /// The package names `filter` selects, by name, with how many versions of each are known.
    async fn package_names(&self, filter: &PackageFilter, page: PageRequest) -> StoreResult<Paged<PackageNameView>>;
}

/// What administrators change by hand. Each change that can move a verdict marks the hosts
/// it touches for recomputation.
#[async_trait]
pub trait AdminStore: Send + Sync + 'static {
    /// Deletes a host with everything that belongs to it; false if there is none.
    async fn delete_host(&self, hostname: &str) -> StoreResult<bool>;
    /// Gives a host a tag its reports do not remove (`present`), or takes one away (a tag
    /// the host reports comes back with its next changed report); false when unknown. `tag`
    /// must pass `fields::tag`.
    async fn set_host_tag(&self, hostname: &str, tag: &str, present: bool) -> StoreResult<bool>;
    /// Whether the host finds updates in its own repositories only; false when unknown.
    async fn set_use_host_repos(&self, hostname: &str, own_only: bool) -> StoreResult<bool>;
    /// Adds a repository to an OS group (`member`) or takes it out; false when either is
    /// unknown. The group's hosts that use its repositories are marked for recomputation.
    async fn set_os_group_repo(&self, group: &str, repo_id: i64, member: bool) -> StoreResult<bool>;
    /// Moves an OS variant into a group (made if new); reports no longer change it. The
    /// variant's hosts that use their group's repositories are recomputed; false when the
    /// variant is unknown.
    async fn set_os_variant_group(&self, variant: &str, group: &str) -> StoreResult<bool>;
    /// Sets a repository's security flag by hand, or (`None`) gives it back to its metadata.
    async fn set_repo_security(&self, repo_id: i64, security: Option<bool>) -> StoreResult<bool>;
    /// Enables or disables a repository: a disabled one is neither refreshed nor used to
    /// find updates. The hosts that use it are marked for recomputation; false when unknown.
    async fn set_repo_enabled(&self, repo_id: i64, enabled: bool) -> StoreResult<bool>;
    /// Makes repository `gone` part of `keep` (the same repository under other mirrors; its
    /// hosts are recomputed); false unless both exist and differ.
    async fn link_repos(&self, keep: i64, gone: i64) -> StoreResult<bool>;
    /// Enables a mirror (its failures forgotten) or disables it; false when unknown.
    async fn set_mirror_enabled(&self, mirror_id: i64, enabled: bool) -> StoreResult<bool>;
    /// Brings over an organisation from another installation in one transaction, keeping
    /// what exists; says what it brought and what it skipped.
    async fn import_organisation(&self, org: &Organisation, now: i64) -> StoreResult<ImportSummary>;
}

/// Background jobs claimed through the database with leases.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// Declares a job (or updates its interval), first due at `first_due` if it is new.
    async fn register_job(&self, name: &str, interval_ms: i64, first_due: i64) -> StoreResult<()>;
    /// Claims a due job whose lease is free or expired, for `lease_ms`.
    async fn claim_job(&self, owner: &str, now: i64, lease_ms: i64) -> StoreResult<Option<ClaimedJob>>;
    /// Extends a held lease until `until`; false when it was lost.
    async fn renew_job(&self, name: &str, owner: &str, until: i64) -> StoreResult<bool>;
    /// Records the run finished and schedules the next at `next_due`; false when the lease
    /// was lost (the new owner finishes it).
    async fn finish_job(&self, job: &ClaimedJob, owner: &str, now: i64, next_due: i64) -> StoreResult<bool>;
    async fn jobs(&self) -> StoreResult<Vec<JobView>>;
    /// Records an event for each host whose last report fell out of the silence threshold
    /// in (`since`, `until`]; returns how many.
    async fn record_silent_hosts(&self, since: i64, until: i64, now: i64) -> StoreResult<u64>;
    /// Keeps the newest `keep` report rows per host and transactions finished after
    /// `transactions_before`; returns how many rows were deleted.
    async fn prune_reports(&self, keep: i64, transactions_before: i64) -> StoreResult<u64>;
    /// Deletes (unless `dry_run`) old reports and transactions, unused repositories and the
    /// packages nothing refers to; what it deleted.
    async fn clean(&self, keep: i64, transactions_before: i64, dry_run: bool) -> StoreResult<super::CleanCounts>;
}

/// What the refresh writes: mirrors' answers and repositories' contents.
#[async_trait]
pub trait RepoStore: Send + Sync + 'static {
    /// Enabled repositories (all, or one) with their mirrors, best first.
    async fn refresh_targets(&self, only: Option<i64>) -> StoreResult<Vec<RefreshTarget>>;
    /// Records a mirror attempt; true when the mirror is now disabled.
    async fn record_mirror(&self, attempt: &MirrorAttempt<'_>) -> StoreResult<bool>;
    /// What an apt repository's (In)Release says of it.
    async fn set_repo_release(
        &self,
        repo_id: i64,
        origin: &str,
        label: &str,
        codename: &str,
        security: bool,
    ) -> StoreResult<()>;
    /// Adds the baseurls a mirrorlist or metalink named as mirrors; returns them.
    async fn add_found_mirrors(&self, repo_id: i64, urls: &[String], now_ms: i64) -> StoreResult<Vec<MirrorState>>;
    /// Replaces what a repository offers; true when something changed (the hosts using it
    /// are then marked for recomputation).
    async fn replace_repo_contents(&self, repo_id: i64, contents: &RepoContents, now_ms: i64) -> StoreResult<bool>;
    /// Repositories that are the same one: (keep, gone) pairs.
    async fn duplicate_repos(&self) -> StoreResult<Vec<(i64, i64)>>;
    /// Makes `gone` part of `keep`.
    async fn merge_repos(&self, keep: i64, gone: i64) -> StoreResult<()>;
}

/// The updater's input and output: stale hosts, their state, repositories, verdicts.
#[async_trait]
pub trait UpdateStore: Send + Sync + 'static {
    /// A repository as the engine needs it, with its revision.
    async fn repo_data(&self, repo_id: i64) -> StoreResult<Option<(i64, patchman_engine::RepoData)>>;
    /// The packages with these ids that the engine reads (deb, rpm); others are left out.
    async fn packages_by_ids(&self, ids: &[i64]) -> StoreResult<Vec<patchman_engine::Pkg>>;
    /// What the updater needs of each host, in no particular order; hosts that are gone are left out.
    async fn host_work(&self, host_ids: &[i64]) -> StoreResult<Vec<HostWork>>;
    /// Hosts whose updates need computing with ids above `after`, lowest ids first.
    async fn stale_hosts(&self, after: i64, limit: i64) -> StoreResult<Vec<i64>>;
    /// Marks hosts (all, or these) for recomputation.
    async fn mark_stale(&self, host_ids: Option<&[i64]>) -> StoreResult<u64>;
    /// Saves verdicts computed from the hosts' current state; returns how many were saved.
    async fn save_verdicts(&self, verdicts: &[VerdictRecord<'_>], now_ms: i64) -> StoreResult<super::VerdictChanges>;
    /// Hosts with stale names (a repository's set difference touched packages of those names
    /// they have installed) and not stale as a whole, with ids above `after`, lowest first.
    async fn stale_name_hosts(&self, after: i64, limit: i64) -> StoreResult<Vec<i64>>;
    /// `host_work` with only each host's installed packages of its stale names.
    async fn stale_name_work(&self, host_ids: &[i64]) -> StoreResult<Vec<HostWork>>;
    /// Saves verdicts computed from `stale_name_work`: the rows of the hosts' stale names are
    /// replaced, the others kept; dropped for a host whose state moved on.
    async fn save_name_verdicts(
        &self,
        verdicts: &[super::NameVerdictRecord<'_>],
        now_ms: i64,
    ) -> StoreResult<super::VerdictChanges>;
}

/// Web UI accounts, their sign-in sessions, the audit log of administrators' changes, and
/// the API keys of Patchman's clients.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Adds a user; false when the name is taken.
    async fn add_user(&self, user: &NewUser<'_>) -> StoreResult<bool>;
    /// Replaces a user's password hash and ends every session of the user; false when there
    /// is no such user.
    async fn set_password(&self, name: &str, password_hash: &str, now: i64) -> StoreResult<bool>;
    /// Deletes a user and (by cascade) their sessions; false when there is none.
    async fn delete_user(&self, name: &str) -> StoreResult<bool>;
    /// Every user, by name.
    async fn users(&self) -> StoreResult<Vec<UserView>>;
    async fn user_by_name(&self, name: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_count(&self) -> StoreResult<i64>;
    async fn create_session(&self, session: &NewSession<'_>) -> StoreResult<()>;
    /// The session with this id hash and its user, expired or not (the caller decides).
    async fn session(&self, id_hash: &SessionHash) -> StoreResult<Option<SessionRecord>>;
    /// Sets a session's last-seen time; false when it is gone.
    async fn touch_session(&self, id_hash: &SessionHash, now: i64) -> StoreResult<bool>;
    async fn delete_session(&self, id_hash: &SessionHash) -> StoreResult<bool>;
    /// Ends every session of a user; returns how many there were.
    async fn delete_user_sessions(&self, name: &str) -> StoreResult<u64>;
    async fn audit(&self, entry: &AuditEntry<'_>) -> StoreResult<()>;
    /// The newest `limit` audit lines, newest first.
    async fn audit_log(&self, limit: i64) -> StoreResult<Vec<AuditView>>;
    /// Stores an API key for Patchman's clients' uploads; false when the name is taken.
    async fn add_api_key(&self, key: &NewApiKey<'_>) -> StoreResult<bool>;
    /// Every API key, by name.
    async fn api_keys(&self) -> StoreResult<Vec<ApiKeyView>>;
    /// Revokes an API key; false when there is none of that name.
    async fn delete_api_key(&self, name: &str) -> StoreResult<bool>;
    /// The name and role of the valid API token with this hash (its use recorded).
    async fn api_token(&self, key_hash: &TokenHash, now: i64) -> StoreResult<Option<(String, crate::auth::ApiRole)>>;
    /// Stores an enrollment key; false when the name is taken.
    async fn add_enrollment_key(&self, key: &super::NewEnrollmentKey<'_>) -> StoreResult<bool>;
    async fn enrollment_keys(&self) -> StoreResult<Vec<super::views::EnrollmentKeyView>>;
    /// Revokes an enrollment key; false when there is none. Revoking `default` also forgets
    /// the generated key, so that it is not made again at the next start.
    async fn delete_enrollment_key(&self, name: &str) -> StoreResult<bool>;
    /// Makes the entry `default` hold this key (the configured or generated one).
    async fn set_default_enrollment_key(&self, key_hash: &TokenHash, now: i64) -> StoreResult<()>;
    /// Invalidates a host's token at once; None when there is no such host, else how many
    /// tokens it had.
    async fn revoke_host_tokens(&self, hostname: &str) -> StoreResult<Option<u64>>;
}

/// Security feeds and exposures: what the feed refresh writes, what the exposure worker reads
/// and saves, and the advisory, CVE and time-to-patch questions.
#[async_trait]
pub trait AdvisoryStore: Send + Sync + 'static {
    /// Hosts exposed, hosts exposed to known-exploited CVEs, failing feeds.
    async fn exposure_summary(&self) -> StoreResult<super::ExposureSummary>;
    /// Every feed and what its last read found.
    async fn feed_states(&self) -> StoreResult<Vec<super::FeedState>>;
    /// Records a feed's read; new contents replace the feed's advisories as a difference.
    async fn record_feed(&self, read: &super::FeedRead<'_>) -> StoreResult<super::FeedChange>;
    /// Marks hosts (all, or these) for their exposures to be computed again.
    async fn mark_exposures_stale(&self, host_ids: Option<&[i64]>) -> StoreResult<u64>;
    /// Hosts whose exposures were not computed for their current state, above `after`.
    async fn exposure_stale_hosts(&self, after: i64, limit: i64) -> StoreResult<Vec<i64>>;
    /// The entries of a release's advisories that expose hosts (not withdrawn, affected).
    async fn affected_rows(&self, release: &str) -> StoreResult<Vec<super::AffectedRow>>;
    /// The packages an entry of a release may name.
    async fn relevant_packages(&self, release: &str) -> StoreResult<Vec<crate::advisories::exposure::Installed>>;
    /// The hosts' releases, states and (`with_packages`) installed package ids.
    async fn exposure_work(&self, host_ids: &[i64], with_packages: bool) -> StoreResult<Vec<super::ExposureWork>>;
    /// Saves exposures computed from the hosts' current state; windows open and close. With a
    /// scope (the advisories a feed change brought), only those advisories' exposures are
    /// compared and written, for hosts still marked `SCOPED_STALE`.
    async fn save_exposures(
        &self,
        records: &[super::ExposureRecord],
        scope: Option<&[i64]>,
    ) -> StoreResult<super::ExposureChanges>;
    /// The entries of these advisories (with their release), for a scoped computation.
    async fn affected_rows_of(&self, advisory_ids: &[i64]) -> StoreResult<Vec<(String, super::AffectedRow)>>;
    /// The packages with these names or (deb) source names.
    async fn packages_named(&self, names: &[String]) -> StoreResult<Vec<crate::advisories::exposure::Installed>>;
    /// (host, package) pairs of these hosts among these packages.
    async fn host_packages_among(&self, host_ids: &[i64], package_ids: &[i64]) -> StoreResult<Vec<(i64, i64)>>;
    async fn advisory_list(
        &self,
        filter: &crate::query::AdvisoryFilter,
        page: PageRequest,
    ) -> StoreResult<Paged<super::AdvisoryView>>;
    async fn advisory_detail(&self, name: &str, clock: &Clock) -> StoreResult<Option<super::AdvisoryDetail>>;
    async fn cve_detail(&self, cve: &str, clock: &Clock) -> StoreResult<Option<super::CveDetail>>;
    /// What a host is exposed to now; `None` when there is no such host.
    async fn host_exposures(&self, hostname: &str) -> StoreResult<Option<Vec<super::HostExposureView>>>;
    /// Exposure windows overlapping [`from_ms`, `to_ms`).
    async fn exposure_windows(
        &self,
        from_ms: i64,
        to_ms: i64,
        clock: &Clock,
    ) -> StoreResult<Vec<crate::advisories::windows::Window>>;
}
