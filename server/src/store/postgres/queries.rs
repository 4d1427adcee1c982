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

/// What the engine needs of these hosts, the packages as ids (none unless `with_packages`).
///
/// The hosts' state versions are read first: what is read after them is at least as new, so
/// a verdict computed from a state that moved on meanwhile is dropped when saved, never saved
/// for the newer state. The rest is read at once, on as many connections (one host after its
/// report waits for one round trip, not four).
async fn host_state(pool: &Pool, host_ids: &[i64], with_packages: bool) -> StoreResult<Vec<crate::store::HostWork>> {
    let hosts = host_rows(pool, host_ids).await?;
    let packages = async {
        if !with_packages {
            return Ok(std::collections::HashMap::new());
        }
        let mut conn = pool.acquire().await?;
        Ok::<_, StoreError>(super::bulk::host_package_ids(&mut conn, host_ids).await?.into_iter().collect())
    };
    let (packages, (repos, modules)) = tokio::try_join!(packages, host_settings(pool, host_ids))?;
    Ok(assemble(hosts, packages, repos, modules))
}

/// (id, state_version, kernel, arch) of these hosts.
async fn host_rows(pool: &Pool, host_ids: &[i64]) -> StoreResult<Vec<(i64, i64, String, String)>> {
    let sql = format!("SELECT id, state_version, kernel, arch FROM hosts WHERE id IN ({})", id_list(1));
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids_param(host_ids)).fetch_all(pool).await?)
}

/// The repositories (with priorities and revisions) and enabled module streams of
/// these hosts, by host; the three queries at once.
#[allow(clippy::type_complexity)]
async fn host_settings(
    pool: &Pool,
    host_ids: &[i64],
) -> StoreResult<(
    std::collections::HashMap<i64, Vec<crate::store::UsedRepo>>,
    std::collections::HashMap<i64, Vec<(String, String)>>,
)> {
    let ids = ids_param(host_ids);
    let sql = format!(
        "SELECT hr.host_id, hr.repo_id, hr.priority, r.revision FROM host_repos hr JOIN repos r ON r.id = hr.repo_id \
         WHERE hr.enabled = $2 AND r.enabled = $2 AND hr.host_id IN ({})",
        id_list(1)
    );
    let own = sqlx::query_as::<_, (i64, i64, i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(&ids).bind(true).fetch_all(pool);
    // Hosts that do not use only their own repositories also use their OS group's.
    let sql = format!(
        "SELECT h.id, gr.repo_id, r.kind, r.revision FROM hosts h JOIN os_variants v ON v.id = h.os_variant_id \
         JOIN os_group_repos gr ON gr.os_group_id = v.os_group_id JOIN repos r ON r.id = gr.repo_id \
         WHERE h.use_host_repos = $2 AND r.enabled = $3 AND h.id IN ({})",
        id_list(1)
    );
    let group = sqlx::query_as::<_, (i64, i64, i64, i64)>(sqlx::AssertSqlSafe(sql))
        .bind(&ids)
        .bind(false)
        .bind(true)
        .fetch_all(pool);
    let sql = format!("SELECT host_id, name, stream FROM host_modules WHERE host_id IN ({})", id_list(1));
    let modules = sqlx::query_as::<_, (i64, String, String)>(sqlx::AssertSqlSafe(sql)).bind(&ids).fetch_all(pool);
    let (own, group, modules) = tokio::try_join!(own, group, modules)?;

    let mut repos: std::collections::HashMap<i64, Vec<crate::store::UsedRepo>> = std::collections::HashMap::new();
    for (h, id, priority, revision) in own {
        repos.entry(h).or_default().push(crate::store::UsedRepo { id, priority: priority as i32, revision });
    }
    for (h, id, kind, revision) in group {
        add_group_repo(repos.entry(h).or_default(), id, kind, revision);
    }
    let mut enabled: std::collections::HashMap<i64, Vec<(String, String)>> = std::collections::HashMap::new();
    for (h, m, s) in modules {
        enabled.entry(h).or_default().push((m, s));
    }
    Ok((repos, enabled))
}

/// Each host's `HostWork` from its row, installed package ids and settings.
fn assemble(
    hosts: Vec<(i64, i64, String, String)>,
    mut packages: std::collections::HashMap<i64, Vec<i64>>,
    mut repos: std::collections::HashMap<i64, Vec<crate::store::UsedRepo>>,
    mut enabled: std::collections::HashMap<i64, Vec<(String, String)>>,
) -> Vec<crate::store::HostWork> {
    hosts
        .into_iter()
        .map(|(host_id, state_version, kernel, arch)| crate::store::HostWork {
            host_id,
            state_version,
            kernel,
            arch,
            package_ids: packages.remove(&host_id).unwrap_or_default(),
            modules: enabled.remove(&host_id).unwrap_or_default(),
            repos: repos.remove(&host_id).unwrap_or_default(),
        })
        .collect()
}
