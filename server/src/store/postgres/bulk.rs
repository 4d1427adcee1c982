//! PostgreSQL's ways with many rows at once: arrays unpacked by `unnest`. Used by ingest,
//! repository contents and the engine's verdicts.

use sqlx::PgConnection;

use crate::store::{PackageRow, StoreResult};

/// The parameter for `id_list`.
pub(super) fn ids_param(ids: &[i64]) -> Vec<i64> {
    ids.to_vec()
}

/// The parameter for `pair_list`: the pairs, flattened.
pub(super) fn pairs_param(pairs: &[(i64, i64)]) -> Vec<i64> {
    pairs.iter().flat_map(|(a, b)| [*a, *b]).collect()
}

/// A subquery of two columns `h`, `p`: the (id, id) pairs bound (flattened) at parameter `n`.
pub(super) fn pair_list(n: usize) -> String {
    format!(
        "SELECT x.a[2 * i - 1] AS h, x.a[2 * i] AS p FROM (SELECT ${n}::bigint[] AS a) x \
         CROSS JOIN generate_series(1, cardinality(x.a) / 2) AS i"
    )
}

/// The parameter for `text_list`.
pub(super) fn texts_param(texts: &[String]) -> Vec<String> {
    texts.to_vec()
}

/// A subquery of one column `v`: the ids bound at parameter `n`.
pub(super) fn id_list(n: usize) -> String {
    format!("SELECT unnest(${n}::bigint[]) AS v")
}

/// A subquery of one column `v`: the texts bound at parameter `n`.
pub(super) fn text_list(n: usize) -> String {
    format!("SELECT unnest(${n}::text[]) AS v")
}

/// Inserts packages not stored yet, in id order (concurrent writers lock rows in the same
/// order), and flags them `installed` if a host has them (flagging the stored ones too, in the
/// same order); returns the id of a stored package whose content differs from the one given
/// with the same id (a hash collision), if any.
pub(super) async fn upsert_packages(
    conn: &mut PgConnection,
    packages: &[PackageRow<'_>],
    installed: bool,
) -> StoreResult<Option<i64>> {
    let mut rows: Vec<&PackageRow> = packages.iter().collect();
    rows.sort_by_key(|r| r.id);
    let id: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let kind: Vec<i64> = rows.iter().map(|r| r.package.kind as i64).collect();
    let name: Vec<&str> = rows.iter().map(|r| r.package.name.as_str()).collect();
    let epoch: Vec<i64> = rows.iter().map(|r| i64::from(r.package.epoch)).collect();
    let version: Vec<&str> = rows.iter().map(|r| r.package.version.as_str()).collect();
    let release: Vec<&str> = rows.iter().map(|r| r.package.release.as_str()).collect();
    let arch: Vec<&str> = rows.iter().map(|r| r.package.arch.as_str()).collect();
    let source_name: Vec<&str> = rows.iter().map(|r| r.source_name).collect();
    let source_version: Vec<&str> = rows.iter().map(|r| r.source_version).collect();
    let inserted = sqlx::query(
        "INSERT INTO packages (id, kind, name, epoch, version, release, arch, source_name, source_version, installed) \
         SELECT *, $10 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], \
         $7::text[], $8::text[], $9::text[]) ON CONFLICT (id) DO NOTHING",
    )
    .bind(&id)
    .bind(&kind)
    .bind(&name)
    .bind(&epoch)
    .bind(&version)
    .bind(&release)
    .bind(&arch)
    .bind(&source_name)
    .bind(&source_version)
    .bind(installed)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == rows.len() as u64 {
        return Ok(None); // every row is new: none can differ from a stored one
    }
    if installed {
        sqlx::query("UPDATE packages SET installed = true WHERE id = ANY($1) AND NOT installed")
            .bind(&id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(sqlx::query_scalar(
        "SELECT p.id FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::text[], \
         $7::text[]) AS j(id, kind, name, epoch, version, release, arch) JOIN packages p ON p.id = j.id \
         WHERE (p.kind, p.name, p.epoch, p.version, p.release, p.arch) \
         IS DISTINCT FROM (j.kind, j.name, j.epoch, j.version, j.release, j.arch) LIMIT 1",
    )
    .bind(&id)
    .bind(&kind)
    .bind(&name)
    .bind(&epoch)
    .bind(&version)
    .bind(&release)
    .bind(&arch)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The installed package ids of each host.
pub(super) async fn host_package_ids(conn: &mut PgConnection, host_ids: &[i64]) -> StoreResult<Vec<(i64, Vec<i64>)>> {
    Ok(sqlx::query_as(
        "SELECT host_id, array_agg(package_id) FROM host_packages WHERE host_id = ANY($1) GROUP BY host_id",
    )
    .bind(host_ids)
    .fetch_all(&mut *conn)
    .await?)
}

/// The (host, package) pairs of `ids` installed on the hosts that use repository `repo_id`
/// (by `host_packages_by_package`).
pub(super) async fn installed_among(
    conn: &mut PgConnection,
    repo_id: i64,
    ids: &[i64],
) -> StoreResult<Vec<(i64, i64)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT h.id, hp.package_id FROM host_packages hp JOIN hosts h ON h.id = hp.host_id \
         WHERE hp.package_id = ANY($3) AND {}",
        crate::store::portable_repos::USES_REPO
    );
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(repo_id).bind(false).bind(ids).fetch_all(&mut *conn).await?)
}

/// The stored update rows of these hosts.
pub(super) async fn stored_updates(
    conn: &mut PgConnection,
    host_ids: &[i64],
) -> StoreResult<Vec<crate::store::verdict_diff::StoredUpdate>> {
    Ok(sqlx::query_as(
        "SELECT host_id, installed_id, candidate_id, repo_id, security, kind, erratum, reason \
         FROM host_updates WHERE host_id = ANY($1)",
    )
    .bind(host_ids)
    .fetch_all(&mut *conn)
    .await?)
}

/// Writes the updates of many hosts: (host id, update).
pub(super) async fn insert_host_updates(
    conn: &mut PgConnection,
    updates: &[(i64, &patchman_engine::Update)],
) -> StoreResult<()> {
    if updates.is_empty() {
        return Ok(());
    }
    let host: Vec<i64> = updates.iter().map(|(h, _)| *h).collect();
    let installed: Vec<i64> = updates.iter().map(|(_, u)| u.installed).collect();
    let candidate: Vec<i64> = updates.iter().map(|(_, u)| u.candidate).collect();
    let repo: Vec<i64> = updates.iter().map(|(_, u)| u.repo).collect();
    let security: Vec<bool> = updates.iter().map(|(_, u)| u.security).collect();
    let kind: Vec<i64> = updates.iter().map(|(_, u)| crate::store::verdict_diff::kind_code(u)).collect();
    let erratum: Vec<&str> = updates.iter().map(|(_, u)| u.erratum.as_deref().unwrap_or("")).collect();
    let reason: Vec<&str> = updates.iter().map(|(_, u)| u.reason.as_str()).collect();
    sqlx::query(
        "INSERT INTO host_updates (host_id, installed_id, candidate_id, repo_id, security, kind, erratum, reason) \
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::boolean[], $6::bigint[], \
         $7::text[], $8::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(&host)
    .bind(&installed)
    .bind(&candidate)
    .bind(&repo)
    .bind(&security)
    .bind(&kind)
    .bind(&erratum)
    .bind(&reason)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes (host id, package id) pairs of packages found in no repository.
pub(super) async fn insert_host_unknown(conn: &mut PgConnection, pairs: &[(i64, i64)]) -> StoreResult<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    let host: Vec<i64> = pairs.iter().map(|p| p.0).collect();
    let package: Vec<i64> = pairs.iter().map(|p| p.1).collect();
    sqlx::query(
        "INSERT INTO host_unknown_packages (host_id, package_id) SELECT * FROM unnest($1::bigint[], $2::bigint[]) \
         ON CONFLICT DO NOTHING",
    )
    .bind(&host)
    .bind(&package)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Locks these hosts' rows in id order, first thing in a transaction that saves what was
/// computed for them: its later statements would take them in whatever order a join visits
/// them, and two servers saving (or one saving verdicts, another exposures) then deadlock.
pub(super) async fn lock_hosts(conn: &mut PgConnection, host_ids: &[i64]) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM hosts WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE")
        .bind(host_ids)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets the verdict columns of each host still at the state its verdict was computed from;
/// returns how many were set.
pub(super) async fn set_host_verdicts(
    conn: &mut PgConnection,
    rows: &[crate::store::VerdictColumns<'_>],
    now: i64,
) -> StoreResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let id: Vec<i64> = rows.iter().map(|r| r.host_id).collect();
    let sv: Vec<i64> = rows.iter().map(|r| r.state_version).collect();
    let digest: Vec<&[u8]> = rows.iter().map(|r| &r.digest[..]).collect();
    let security: Vec<i64> = rows.iter().map(|r| r.security).collect();
    let bugfix: Vec<i64> = rows.iter().map(|r| r.bugfix).collect();
    let unknown: Vec<i64> = rows.iter().map(|r| r.unknown).collect();
    let reboot: Vec<&str> = rows.iter().map(|r| r.reboot).collect();
    let known: Vec<bool> = rows.iter().map(|r| r.known).collect();
    let duplicates: Vec<i64> = rows.iter().map(|r| r.duplicates).collect();
    let sql = format!(
        "UPDATE hosts h SET updates_stale = false, updates_computed_at = $8, updates_digest = v.digest, \
         security_update_count = v.security, bugfix_update_count = v.bugfix, unknown_package_count = v.unknown, \
         kernel_reboot_reason = v.reboot, updates_known = v.known, duplicate_package_count = v.duplicates, \
         view_disagreements = {} \
         FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], \
         $9::boolean[], $10::bigint[]) AS v(id, sv, digest, security, bugfix, unknown, reboot, known, duplicates) \
         WHERE h.id = v.id AND h.state_version = v.sv",
        crate::store::host_view_sql::disagreements("h")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&id)
        .bind(&sv)
        .bind(&digest)
        .bind(&security)
        .bind(&bugfix)
        .bind(&unknown)
        .bind(&reboot)
        .bind(now)
        .bind(&known)
        .bind(&duplicates)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// A names-only save's counts: each host's counts move by its change (its digest is no longer
/// that of a whole verdict); returns the hosts updated.
pub(super) async fn add_host_counts(
    conn: &mut PgConnection,
    rows: &[crate::store::CountChange],
    now: i64,
) -> StoreResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let id: Vec<i64> = rows.iter().map(|r| r.host_id).collect();
    let security: Vec<i64> = rows.iter().map(|r| r.security).collect();
    let bugfix: Vec<i64> = rows.iter().map(|r| r.bugfix).collect();
    let unknown: Vec<i64> = rows.iter().map(|r| r.unknown).collect();
    let sql = format!(
        "UPDATE hosts h SET updates_digest = NULL, updates_computed_at = $5, \
         security_update_count = h.security_update_count + v.security, \
         bugfix_update_count = h.bugfix_update_count + v.bugfix, \
         unknown_package_count = h.unknown_package_count + v.unknown, view_disagreements = {} \
         FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS v(id, security, bugfix, unknown) \
         WHERE h.id = v.id",
        crate::store::host_view_sql::disagreements("h")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&id)
        .bind(&security)
        .bind(&bugfix)
        .bind(&unknown)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// The stale names' packages of these hosts (that have any), one row a host.
pub(super) async fn stale_marks(pool: &sqlx::PgPool, host_ids: &[i64]) -> StoreResult<Vec<(i64, Vec<i64>)>> {
    Ok(sqlx::query_as(
        "SELECT host_id, array_agg(package_id) FROM host_stale_packages WHERE host_id = ANY($1) GROUP BY host_id",
    )
    .bind(host_ids)
    .fetch_all(pool)
    .await?)
}

/// Writes exposures: (host id, advisory id, package id, fixed version).
pub(super) async fn insert_exposures(conn: &mut PgConnection, rows: &[(i64, i64, i64, &str)]) -> StoreResult<()> {
    for chunk in rows.chunks(50_000) {
        let host: Vec<i64> = chunk.iter().map(|r| r.0).collect();
        let advisory: Vec<i64> = chunk.iter().map(|r| r.1).collect();
        let package: Vec<i64> = chunk.iter().map(|r| r.2).collect();
        let fixed: Vec<&str> = chunk.iter().map(|r| r.3).collect();
        sqlx::query(
            "INSERT INTO host_exposures (host_id, advisory_id, package_id, fixed) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[])",
        )
        .bind(&host)
        .bind(&advisory)
        .bind(&package)
        .bind(&fixed)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Opens exposure windows: (host id, advisory id, opened at).
pub(super) async fn insert_windows(conn: &mut PgConnection, rows: &[(i64, i64, i64)]) -> StoreResult<()> {
    for chunk in rows.chunks(50_000) {
        let host: Vec<i64> = chunk.iter().map(|r| r.0).collect();
        let advisory: Vec<i64> = chunk.iter().map(|r| r.1).collect();
        let opened: Vec<i64> = chunk.iter().map(|r| r.2).collect();
        sqlx::query(
            "INSERT INTO exposure_windows (host_id, advisory_id, opened_at) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])",
        )
        .bind(&host)
        .bind(&advisory)
        .bind(&opened)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
