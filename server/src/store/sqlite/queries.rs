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

/// What the engine needs of these hosts, the packages as ids (none unless `with_packages`).
/// One statement: one snapshot of each host's state version, packages, repositories (with
/// their revisions) and modules, and one round trip for a host after its report.
async fn host_state(pool: &Pool, host_ids: &[i64], with_packages: bool) -> StoreResult<Vec<crate::store::HostWork>> {
    type Row = (i64, i64, String, String, Option<Vec<u8>>, String, Option<String>, String);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT h.id, h.state_version, h.kernel, h.arch, \
         CASE WHEN $2 THEN (SELECT s.ids FROM host_package_sets s WHERE s.host_id = h.id) END, \
         (SELECT json_group_array(json_array(hr.repo_id, hr.priority, r.revision)) FROM host_repos hr \
          JOIN repos r ON r.id = hr.repo_id WHERE hr.host_id = h.id AND hr.enabled = 1 AND r.enabled = 1), \
         CASE WHEN h.use_host_repos = 0 THEN (SELECT json_group_array(json_array(gr.repo_id, r.kind, r.revision)) \
          FROM os_variants v JOIN os_group_repos gr ON gr.os_group_id = v.os_group_id JOIN repos r ON r.id = gr.repo_id \
          WHERE v.id = h.os_variant_id AND r.enabled = 1) END, \
         (SELECT json_group_array(json_array(m.name, m.stream)) FROM host_modules m WHERE m.host_id = h.id) \
         FROM hosts h WHERE h.id IN (SELECT value FROM json_each($1))",
    )
    .bind(super::bulk::ids_param(host_ids))
    .bind(with_packages)
    .fetch_all(pool)
    .await?;
    fn parse<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
        serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("a host's {what} as JSON: {e}")))
    }
    let mut works = Vec::with_capacity(rows.len());
    for (host_id, state_version, kernel, arch, packages, own, group, modules) in rows {
        let own: Vec<(i64, i64, i64)> = parse("repositories", &own)?;
        let mut repos: Vec<crate::store::UsedRepo> = own
            .into_iter()
            .map(|(id, priority, revision)| crate::store::UsedRepo { id, priority: priority as i32, revision })
            .collect();
        let group: Vec<(i64, i64, i64)> =
            group.as_deref().map_or(Ok(Vec::new()), |g| parse("group repositories", g))?;
        for (id, kind, revision) in group {
            add_group_repo(&mut repos, id, kind, revision);
        }
        works.push(crate::store::HostWork {
            host_id,
            state_version,
            kernel,
            arch,
            package_ids: super::bulk::unpack_ids(packages.as_deref().unwrap_or_default())?,
            modules: parse("modules", &modules)?,
            repos,
        });
    }
    Ok(works)
}
