//! `forward_roles!(Type { db: Database, read: field, write: field, known: field })`: the role
//! traits other than `IngestStore`, implemented for a dialect by calling its portable query
//! of the same name (`queries::name`) with the pool it reads from, the pool it writes with, or
//! the writer and its package cache.

macro_rules! forward_roles {
    ($store:ty { db: $db:ty, read: $read:ident, write: $write:ident, known: $known:ident }) => {
        impl $store {
            fn read(&self) -> &sqlx::Pool<$db> {
                &self.$read
            }

            fn write(&self) -> &sqlx::Pool<$db> {
                &self.$write
            }

            fn known(&self) -> &$crate::store::KnownPackages {
                &self.$known
            }
        }

        $crate::store::forward::forward_roles!(@role $store, SettingsStore {
            read setting(key: &str) -> Option<String>;
            write setting_or_insert(key: &str, value: &str) -> String;
        });
        $crate::store::forward::forward_roles!(@role $store, HostQueries {
            read hosts() -> Vec<$crate::store::HostSummary>;
            read host(hostname: &str) -> Option<$crate::store::HostDetail>;
            read host_id(hostname: &str) -> Option<i64>;
            read host_update_list(hostname: &str) -> Option<($crate::store::HostSummary, Vec<$crate::store::views::UpdateView>)>;
            read report_history(hostname: &str) -> Option<Vec<$crate::store::views::ReportView>>;
            read report_transactions(hostname: &str, report_id: &str) -> Vec<$crate::store::views::TransactionView>;
            read repos() -> Vec<$crate::store::views::RepoView>;
            read repo_list(filter: &$crate::query::RepoFilter, clock: &$crate::query::Clock) -> Vec<$crate::store::views::RepoView>;
            read update_list(
                filter: &$crate::query::HostFilter,
                package: Option<&str>,
                page: $crate::query::PageRequest,
                clock: &$crate::query::Clock
            ) -> $crate::query::Paged<$crate::store::views::UpdatePairView>;
            read transaction_list(
                filter: &$crate::query::HostFilter,
                package: Option<&str>,
                page: $crate::query::PageRequest,
                clock: &$crate::query::Clock
            ) -> $crate::query::Paged<$crate::store::views::HostTransactionView>;
            read errata(page: $crate::query::PageRequest) -> $crate::query::Paged<$crate::store::views::ErratumView>;
            read os_groups() -> Vec<$crate::store::views::OsGroupView>;
            read host_list(
                filter: &$crate::query::HostFilter,
                sort: &$crate::query::HostSort,
                page: $crate::query::PageRequest,
                clock: &$crate::query::Clock
            ) -> $crate::query::Paged<$crate::store::HostSummary>;
            read dashboard(clock: &$crate::query::Clock) -> $crate::store::views::Dashboard;
            read package_versions(name: &str) -> Vec<$crate::store::views::PackageVersionView>;
            read host_events_after(after: i64, limit: i64) -> Vec<$crate::store::HostEvent>;
            read host_event_bounds() -> (i64, i64);
            read host_summaries(hostnames: &[String]) -> Vec<$crate::store::HostSummary>;
            read package_hosts(
                name: &str,
                evr: Option<&str>,
                filter: &$crate::query::HostFilter,
                page: $crate::query::PageRequest,
                clock: &$crate::query::Clock
            ) -> $crate::store::views::PackageHosts;
            read package_names(
                filter: &$crate::query::PackageFilter,
                page: $crate::query::PageRequest
            ) -> $crate::query::Paged<$crate::store::views::PackageNameView>;
        });
        $crate::store::forward::forward_roles!(@role $store, AdminStore {
            write import_organisation(org: &$crate::store::Organisation, now: i64) -> $crate::store::ImportSummary;
            write delete_host(hostname: &str) -> bool;
            write set_use_host_repos(hostname: &str, own_only: bool) -> bool;
            write set_host_tag(hostname: &str, tag: &str, present: bool) -> bool;
            write set_os_group_repo(group: &str, repo_id: i64, member: bool) -> bool;
            write set_os_variant_group(variant: &str, group: &str) -> bool;
            write set_repo_security(repo_id: i64, security: Option<bool>) -> bool;
            write set_repo_enabled(repo_id: i64, enabled: bool) -> bool;
            write set_mirror_enabled(mirror_id: i64, enabled: bool) -> bool;
            write link_repos(keep: i64, gone: i64) -> bool;
        });
        $crate::store::forward::forward_roles!(@role $store, JobStore {
            write record_silent_hosts(since: i64, until: i64, now: i64) -> u64;
            write register_job(name: &str, interval_ms: i64, first_due: i64) -> ();
            write claim_job(owner: &str, now: i64, lease_ms: i64) -> Option<$crate::store::ClaimedJob>;
            write renew_job(name: &str, owner: &str, until: i64) -> bool;
            write finish_job(job: &$crate::store::ClaimedJob, owner: &str, now: i64, next_due: i64) -> bool;
            read jobs() -> Vec<$crate::store::views::JobView>;
            write prune_reports(keep: i64, transactions_before: i64) -> u64;
            write clean(keep: i64, transactions_before: i64, dry_run: bool) -> $crate::store::CleanCounts;
        });
        $crate::store::forward::forward_roles!(@role $store, RepoStore {
            read refresh_targets(only: Option<i64>) -> Vec<$crate::store::RefreshTarget>;
            write record_mirror(attempt: &$crate::store::MirrorAttempt<'_>) -> bool;
            write set_repo_release(repo_id: i64, origin: &str, label: &str, codename: &str, security: bool) -> ();
            write add_found_mirrors(repo_id: i64, urls: &[String], now_ms: i64) -> Vec<$crate::store::MirrorState>;
            known replace_repo_contents(repo_id: i64, contents: &$crate::contents::RepoContents, now_ms: i64) -> bool;
            read duplicate_repos() -> Vec<(i64, i64)>;
            write merge_repos(keep: i64, gone: i64) -> ();
        });
        $crate::store::forward::forward_roles!(@role $store, UpdateStore {
            read repo_data(repo_id: i64) -> Option<(i64, patchman_engine::RepoData)>;
            read packages_by_ids(ids: &[i64]) -> Vec<patchman_engine::Pkg>;
            read host_work(host_ids: &[i64]) -> Vec<$crate::store::HostWork>;
            read stale_hosts(after: i64, limit: i64) -> Vec<i64>;
            write mark_stale(host_ids: Option<&[i64]>) -> u64;
            write save_verdicts(verdicts: &[$crate::store::VerdictRecord<'_>], now_ms: i64) -> $crate::store::VerdictChanges;
            read stale_name_hosts(after: i64, limit: i64) -> Vec<i64>;
            read stale_name_work(host_ids: &[i64]) -> Vec<$crate::store::HostWork>;
            write save_name_verdicts(verdicts: &[$crate::store::NameVerdictRecord<'_>], now_ms: i64) -> $crate::store::VerdictChanges;
        });
        $crate::store::forward::forward_roles!(@role $store, AdvisoryStore {
            read exposure_summary() -> $crate::store::ExposureSummary;
            read feed_states() -> Vec<$crate::store::FeedState>;
            write record_feed(read: &$crate::store::FeedRead<'_>) -> $crate::store::FeedChange;
            write mark_exposures_stale(host_ids: Option<&[i64]>) -> u64;
            read exposure_stale_hosts(after: i64, limit: i64) -> Vec<i64>;
            read affected_rows(release: &str) -> Vec<$crate::store::AffectedRow>;
            read relevant_packages(release: &str) -> Vec<$crate::advisories::exposure::Installed>;
            read exposure_work(host_ids: &[i64], with_packages: bool) -> Vec<$crate::store::ExposureWork>;
            write save_exposures(records: &[$crate::store::ExposureRecord], scope: Option<&[i64]>) -> $crate::store::ExposureChanges;
            read affected_rows_of(advisory_ids: &[i64]) -> Vec<(String, $crate::store::AffectedRow)>;
            read packages_named(names: &[String]) -> Vec<$crate::advisories::exposure::Installed>;
            read host_packages_among(host_ids: &[i64], package_ids: &[i64]) -> Vec<(i64, i64)>;
            read advisory_list(
                filter: &$crate::query::AdvisoryFilter,
                page: $crate::query::PageRequest
            ) -> $crate::query::Paged<$crate::store::AdvisoryView>;
            read advisory_detail(name: &str, clock: &$crate::query::Clock) -> Option<$crate::store::AdvisoryDetail>;
            read cve_detail(cve: &str, clock: &$crate::query::Clock) -> Option<$crate::store::CveDetail>;
            read host_exposures(hostname: &str) -> Option<Vec<$crate::store::HostExposureView>>;
            read exposure_windows(
                from_ms: i64,
                to_ms: i64,
                clock: &$crate::query::Clock
            ) -> Vec<$crate::advisories::windows::Window>;
        });
        $crate::store::forward::forward_roles!(@role $store, AccountStore {
            write add_user(user: &$crate::store::NewUser<'_>) -> bool;
            write set_password(name: &str, password_hash: &str, now: i64) -> bool;
            write delete_user(name: &str) -> bool;
            read users() -> Vec<$crate::store::views::UserView>;
            read user_by_name(name: &str) -> Option<$crate::store::UserRecord>;
            read user_count() -> i64;
            write create_session(session: &$crate::store::NewSession<'_>) -> ();
            read session(id_hash: &$crate::accounts::SessionHash) -> Option<$crate::store::SessionRecord>;
            write touch_session(id_hash: &$crate::accounts::SessionHash, now: i64) -> bool;
            write delete_session(id_hash: &$crate::accounts::SessionHash) -> bool;
            write delete_user_sessions(name: &str) -> u64;
            write audit(entry: &$crate::store::AuditEntry<'_>) -> ();
            read audit_log(limit: i64) -> Vec<$crate::store::views::AuditView>;
            write add_api_key(key: &$crate::store::NewApiKey<'_>) -> bool;
            read api_keys() -> Vec<$crate::store::views::ApiKeyView>;
            write delete_api_key(name: &str) -> bool;
            write api_token(key_hash: &$crate::auth::TokenHash, now: i64) -> Option<(String, $crate::auth::ApiRole)>;
            write add_enrollment_key(key: &$crate::store::NewEnrollmentKey<'_>) -> bool;
            read enrollment_keys() -> Vec<$crate::store::views::EnrollmentKeyView>;
            write delete_enrollment_key(name: &str) -> bool;
            write set_default_enrollment_key(key_hash: &$crate::auth::TokenHash, now: i64) -> ();
            write revoke_host_tokens(hostname: &str) -> Option<u64>;
        });
    };
    (@role $store:ty, $role:ident { $($conn:ident $name:ident ($($arg:ident : $ty:ty),*) -> $ret:ty;)* }) => {
        #[async_trait::async_trait]
        impl $crate::store::$role for $store {
            $(
                async fn $name(&self, $($arg: $ty),*) -> $crate::store::StoreResult<$ret> {
                    $crate::store::forward::forward_roles!(@call self, $conn, $name, $($arg),*)
                }
            )*
        }
    };
    (@call $self:ident, read, $name:ident, $($arg:ident),*) => { queries::$name($self.read(), $($arg),*).await };
    (@call $self:ident, write, $name:ident, $($arg:ident),*) => { queries::$name($self.write(), $($arg),*).await };
    (@call $self:ident, known, $name:ident, $($arg:ident),*) => {
        queries::$name($self.write(), $self.known(), $($arg),*).await
    };
}

pub(crate) use forward_roles;
