//! The portable queries (`store/portable.rs`), for SQLite.

type Db = sqlx::Sqlite;
/// Takes the write lock at once, so a transaction never fails to upgrade from reading.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// One job at a time holds SQLite's write lock: no row locking needed.
const CLAIM_JOB: &str = "UPDATE jobs SET lease_owner = $1, lease_until = $3 \
     WHERE name = (SELECT name FROM jobs WHERE due_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
     ORDER BY due_at, name LIMIT 1) RETURNING name, due_at, interval_ms";

/// SQLite's write lock (`BEGIN_WRITE`) already keeps every writer out during `clean`.
const LOCK_PACKAGE_REFERENCES: &str = "";

/// One writer at a time: no row locks, no order to keep.
const LOCK_HOSTS_IN_ORDER: &str = "";

crate::store::portable::portable_queries!();
crate::store::portable_updates::portable_update_queries!();
crate::store::portable_repos::portable_repo_queries!();
crate::store::portable_advisories::portable_advisory_queries!();
crate::store::portable_ingest::portable_ingest_queries!(host_row_lock = "");
crate::store::portable_os_groups::portable_os_group_queries!();
crate::store::portable_hosts::portable_host_queries!(package_index = false);
crate::store::portable_accounts::portable_account_queries!();
crate::store::portable_enrollment::portable_enrollment_queries!();
crate::store::portable_import::portable_import_queries!();
crate::store::portable_events::portable_event_queries!();
