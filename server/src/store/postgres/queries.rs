//! The portable queries (`store/portable.rs`), for PostgreSQL.

type Db = sqlx::Postgres;
const BEGIN_WRITE: &str = "BEGIN";

/// SKIP LOCKED: servers claiming at the same moment each get a different job, or none.
const CLAIM_JOB: &str = "UPDATE jobs SET lease_owner = $1, lease_until = $3 \
     WHERE name = (SELECT name FROM jobs WHERE due_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
     ORDER BY due_at, name LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING name, due_at, interval_ms";

/// `clean` keeps writers of package references out until it commits (see `store::known`).
const LOCK_PACKAGE_REFERENCES: &str = "LOCK TABLE host_packages, repo_packages, erratum_packages, module_packages, host_unknown_packages, host_updates IN SHARE MODE";

/// Marks take the hosts they make stale in id order first, as saves do (`bulk::lock_hosts`):
/// an update through a join takes rows in the join's order, and two orders deadlock.
const LOCK_HOSTS_IN_ORDER: &str = " ORDER BY id FOR NO KEY UPDATE";

crate::store::portable::portable_queries!();
crate::store::portable_updates::portable_update_queries!();
crate::store::portable_repos::portable_repo_queries!();
crate::store::portable_advisories::portable_advisory_queries!();
crate::store::portable_ingest::portable_ingest_queries!(host_row_lock = " FOR UPDATE OF h");
crate::store::portable_os_groups::portable_os_group_queries!();
crate::store::portable_hosts::portable_host_queries!(package_index = true);
crate::store::portable_accounts::portable_account_queries!();
crate::store::portable_enrollment::portable_enrollment_queries!();
crate::store::portable_import::portable_import_queries!();
crate::store::portable_events::portable_event_queries!();

/// What the engine needs of these hosts; the packages as ids.
///
/// The hosts' state versions are read first: what is read after them is at least as new, so
/// a verdict computed from a state that moved on meanwhile is dropped when saved, never saved
/// for the newer state. The rest is read at once, on as many connections (one host after its
/// report waits for one round trip, not four).
pub(super) async fn host_work(pool: &Pool, host_ids: &[i64]) -> StoreResult<Vec<crate::store::HostWork>> {
    let hosts = host_rows(pool, host_ids).await?;
    let packages = async {
        let mut conn = pool.acquire().await?;
        Ok::<_, StoreError>(super::bulk::host_package_ids(&mut conn, host_ids).await?.into_iter().collect())
    };
    let (packages, (repos, modules)) = tokio::try_join!(packages, host_settings(pool, host_ids))?;
    Ok(assemble(hosts, packages, repos, modules))
}
