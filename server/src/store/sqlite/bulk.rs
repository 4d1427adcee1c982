//! SQLite's ways with many rows at once: lists travel as one JSON parameter, unpacked by
//! `json_each` (`jsonb_each` where rows are arrays: `->>` then reads each one without parsing
//! it again). Used by ingest, repository contents and the engine's verdicts; update rows,
//! the most numerous, are bound as parameters in full chunks.

use sqlx::SqliteConnection;

use crate::store::{PackageRow, StoreResult};

pub(super) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises to JSON")
}

/// The parameter for `id_list`.
pub(super) fn ids_param(ids: &[i64]) -> String {
    json(&ids)
}

/// The parameter for `text_list`.
pub(super) fn texts_param(texts: &[String]) -> String {
    json(&texts)
}

/// A subquery of one column `v`: the ids bound at parameter `n`.
pub(super) fn id_list(n: usize) -> String {
    format!("SELECT value AS v FROM json_each(${n})")
}

/// A subquery of one column `v`: the texts bound at parameter `n`.
pub(super) fn text_list(n: usize) -> String {
    format!("SELECT value AS v FROM json_each(${n})")
}

/// The parameter for `pair_list`.
pub(super) fn pairs_param(pairs: &[(i64, i64)]) -> String {
    json(&pairs)
}

/// A subquery of two columns `h`, `p`: the (id, id) pairs bound at parameter `n`.
pub(super) fn pair_list(n: usize) -> String {
    format!("SELECT j.value->>0 AS h, j.value->>1 AS p FROM jsonb_each(${n}) j")
}

/// A touch of the unchanged fast path with a host token, among several written at once.
#[derive(Clone, Copy)]
pub(super) struct TokenTouch<'a> {
    pub hostname: &'a str,
    pub wire_digest: &'a [u8; 16],
    pub token_hash: &'a crate::auth::TokenHash,
    pub generated_at: i64,
    pub now: i64,
}

/// The unchanged fast path's statement for many host-token touches at once: each host whose
/// token, wire digest and generation time match gets its last-seen time. Returns the package
/// count of each host touched, by host name; the host names must differ.
pub(super) async fn touch_many(
    conn: &mut SqliteConnection,
    touches: &[TokenTouch<'_>],
) -> StoreResult<std::collections::HashMap<String, i64>> {
    let rows: Vec<_> =
        touches.iter().map(|t| (t.hostname, hex(t.wire_digest), hex(&t.token_hash.0), t.generated_at, t.now)).collect();
    let touched: Vec<(String, i64)> = sqlx::query_as(
        "UPDATE hosts SET last_seen_at = v.now, last_generated_at = v.generated_at \
         FROM (SELECT j.value->>0 AS hostname, unhex(j.value->>1) AS digest, unhex(j.value->>2) AS token, \
               j.value->>3 AS generated_at, j.value->>4 AS now FROM jsonb_each($1) j) v \
         WHERE hosts.hostname = v.hostname AND hosts.wire_digest = v.digest \
         AND coalesce(hosts.last_generated_at, 0) <= v.generated_at \
         AND hosts.id = (SELECT t.host_id FROM host_tokens t WHERE t.token_hash = v.token) \
         RETURNING hosts.hostname, hosts.package_count",
    )
    .bind(json(&rows))
    .fetch_all(&mut *conn)
    .await?;
    if !touched.is_empty() {
        let names: Vec<&str> = touched.iter().map(|(h, _)| h.as_str()).collect();
        let now = touches.iter().map(|t| t.now).max().unwrap_or_default();
        sqlx::query("INSERT INTO host_events (hostname, at, deleted) SELECT value, $2, 0 FROM json_each($1)")
            .bind(json(&names))
            .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(touched.into_iter().collect())
}

/// Nothing to lock: SQLite's one writer at a time already orders the transactions that save
/// what was computed for hosts (PostgreSQL locks the rows in id order).
pub(super) async fn lock_hosts(_conn: &mut SqliteConnection, _host_ids: &[i64]) -> StoreResult<()> {
    Ok(())
}

/// Inserts packages not stored yet, and flags them `installed` if a host has them (flagging
/// the stored ones too); returns the id of a stored package whose content differs from the
/// one given with the same id (a hash collision), if any.
pub(super) async fn upsert_packages(
    conn: &mut SqliteConnection,
    packages: &[PackageRow<'_>],
    installed: bool,
) -> StoreResult<Option<i64>> {
    let rows: Vec<_> = packages
        .iter()
        .map(|r| {
            let p = r.package;
            (r.id, p.kind as i64, &p.name, p.epoch, &p.version, &p.release, &p.arch, r.source_name, r.source_version)
        })
        .collect();
    let rows = json(&rows);
    let inserted = sqlx::query(
        "INSERT INTO packages (id, kind, name, epoch, version, release, arch, source_name, source_version, installed) \
         SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, j.value->>6, \
         j.value->>7, j.value->>8, $2 FROM jsonb_each($1) j WHERE true ON CONFLICT (id) DO NOTHING",
    )
    .bind(&rows)
    .bind(installed)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if inserted == packages.len() as u64 {
        return Ok(None); // every row is new: none can differ from a stored one
    }
    if installed {
        sqlx::query(
            "UPDATE packages SET installed = $2 WHERE installed = $3 AND id IN (SELECT j.value->>0 FROM jsonb_each($1) j)",
        )
        .bind(&rows)
        .bind(true)
        .bind(false)
        .execute(&mut *conn)
        .await?;
    }
    Ok(sqlx::query_scalar(
        "SELECT p.id FROM jsonb_each($1) j JOIN packages p ON p.id = j.value->>0 \
         WHERE p.kind <> j.value->>1 OR p.name <> j.value->>2 OR p.epoch <> j.value->>3 \
         OR p.version <> j.value->>4 OR p.release <> j.value->>5 OR p.arch <> j.value->>6 LIMIT 1",
    )
    .bind(&rows)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The installed package ids of each host (that has any).
pub(super) async fn host_package_ids(
    conn: &mut SqliteConnection,
    host_ids: &[i64],
) -> StoreResult<Vec<(i64, Vec<i64>)>> {
    let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT host_id, ids FROM host_package_sets WHERE host_id IN (SELECT value FROM json_each($1)) AND length(ids) > 0",
    )
    .bind(ids_param(host_ids))
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(|(h, set)| Ok((h, unpack_ids(&set)?))).collect()
}

/// The stale names' packages of these hosts (that have any), one row a host: sqlx hands
/// SQLite's rows over at ~3 µs each, ~5 marks a host.
pub(super) async fn stale_marks(pool: &sqlx::SqlitePool, host_ids: &[i64]) -> StoreResult<Vec<(i64, Vec<i64>)>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT host_id, json_group_array(package_id) FROM host_stale_packages \
         WHERE host_id IN (SELECT value FROM json_each($1)) GROUP BY host_id",
    )
    .bind(ids_param(host_ids))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(host, ids)| {
            let ids = serde_json::from_str(&ids)
                .map_err(|e| crate::store::StoreError::Corrupt(format!("host {host}'s stale packages as JSON: {e}")))?;
            Ok((host, ids))
        })
        .collect()
}

/// The (host, package) pairs of `ids` installed on the hosts that use repository `repo_id`.
/// Each such host's packed set is read once and looked up in memory: probing each id's
/// (host, package) key cost ~0.5 µs an id and host, ~1 M probes a repository at 100,000 hosts.
pub(super) async fn installed_among(
    conn: &mut SqliteConnection,
    repo_id: i64,
    ids: &[i64],
) -> StoreResult<Vec<(i64, i64)>> {
    use futures_util::TryStreamExt as _;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut wanted = ids.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let sql = format!(
        "SELECT h.id, s.ids FROM hosts h JOIN host_package_sets s ON s.host_id = h.id WHERE {}",
        crate::store::portable_repos::USES_REPO
    );
    let mut rows = sqlx::query_as::<_, (i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql)).bind(repo_id).bind(false).fetch(conn);
    let mut pairs = Vec::new();
    while let Some((host, set)) = rows.try_next().await? {
        pairs.extend(packed_among(&set, &wanted)?.map(|id| (host, id)));
    }
    Ok(pairs)
}

/// The ids of `wanted` (sorted) that the packed set `set` holds, read in place: a merge of
/// the two sorted lists (ingest packs a host's ids sorted), a few ns an id where a hash
/// lookup of each unpacked id cost ~20. A set found out of order is looked up id by id.
fn packed_among<'a>(set: &'a [u8], wanted: &'a [i64]) -> StoreResult<impl Iterator<Item = i64> + 'a> {
    let ids = packed_ids(set)?;
    let sorted = ids.clone().zip(ids.clone().skip(1)).all(|(a, b)| a < b);
    let mut next = 0;
    Ok(ids.filter(move |id| {
        if !sorted {
            return wanted.binary_search(id).is_ok();
        }
        while next < wanted.len() && wanted[next] < *id {
            next += 1;
        }
        next < wanted.len() && wanted[next] == *id
    }))
}

/// A host's package ids as `host_package_sets` keeps them: 8 bytes each, big-endian (what
/// its migration's `printf('%016x')` gives).
pub(super) fn pack_ids(ids: &[i64]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_be_bytes()).collect()
}

pub(super) fn unpack_ids(set: &[u8]) -> StoreResult<Vec<i64>> {
    Ok(packed_ids(set)?.collect())
}

/// The ids of a packed set, read in place; an error for a length no whole number of ids fits.
fn packed_ids(set: &[u8]) -> StoreResult<impl Iterator<Item = i64> + Clone + '_> {
    if !set.len().is_multiple_of(8) {
        return Err(crate::store::StoreError::Corrupt(format!("a host's package set of {} bytes", set.len())));
    }
    Ok(set.chunks_exact(8).map(|b| i64::from_be_bytes(b.try_into().unwrap_or_default())))
}

const INSERT_UPDATES: &str =
    "INSERT INTO host_updates (host_id, installed_id, candidate_id, repo_id, security, kind, erratum, reason)";

/// Update rows an insert binds as parameters (8 a row, within SQLite's 32,766).
const UPDATES_PER_INSERT: usize = 1_000;

/// Writes the updates of many hosts: (host id, update). Full chunks of rows are bound as
/// parameters to one prepared statement: parsing them from JSON text (two 19-digit ids a row)
/// was a third of the time of writing a full recomputation's 12 M rows. The rest (all of a
/// single host's rows) goes as JSON: preparing a statement for its row count would cost more
/// than parsing them.
pub(super) async fn insert_host_updates(
    conn: &mut SqliteConnection,
    updates: &[(i64, &patchman_engine::Update)],
) -> StoreResult<()> {
    static BOUND: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let bound = BOUND.get_or_init(|| {
        let rows = vec!["(?,?,?,?,?,?,?,?)"; UPDATES_PER_INSERT].join(",");
        format!("{INSERT_UPDATES} VALUES {rows} ON CONFLICT DO NOTHING")
    });
    let mut chunks = updates.chunks_exact(UPDATES_PER_INSERT);
    for chunk in &mut chunks {
        let mut insert = sqlx::query(sqlx::AssertSqlSafe(bound.as_str()));
        for (host, u) in chunk {
            insert = insert
                .bind(*host)
                .bind(u.installed)
                .bind(u.candidate)
                .bind(u.repo)
                .bind(u.security)
                .bind(crate::store::verdict_diff::kind_code(u))
                .bind(u.erratum.as_deref().unwrap_or(""))
                .bind(u.reason.as_str());
        }
        insert.execute(&mut *conn).await?;
    }
    let rest = chunks.remainder();
    if rest.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = rest
        .iter()
        .map(|(host, u)| {
            let kind = crate::store::verdict_diff::kind_code(u);
            (host, u.installed, u.candidate, u.repo, u.security, kind, u.erratum.as_deref().unwrap_or(""), &u.reason)
        })
        .collect();
    // jsonb_each: each row's array stays SQLite's binary JSON, which `->>` reads without
    // parsing it again (json_each hands it over as text: 8 parses a row).
    let sql = format!(
        "{INSERT_UPDATES} SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, \
         j.value->>6, j.value->>7 FROM jsonb_each($1) j WHERE true ON CONFLICT DO NOTHING"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json(&rows)).execute(&mut *conn).await?;
    Ok(())
}

/// The stored update rows of these hosts. Each host's rows come as one JSON array: sqlx hands
/// SQLite's rows over one by one (a copy of every value and a channel send each), which cost
/// ~5 µs a row against ~1 µs for SQLite to read it.
pub(super) async fn stored_updates(
    conn: &mut SqliteConnection,
    host_ids: &[i64],
) -> StoreResult<Vec<crate::store::verdict_diff::StoredUpdate>> {
    let hosts: Vec<(i64, String)> = sqlx::query_as(
        "SELECT host_id, json_group_array(json_array(installed_id, candidate_id, repo_id, security, kind, erratum, reason)) \
         FROM host_updates WHERE host_id IN (SELECT value FROM json_each($1)) GROUP BY host_id",
    )
    .bind(json(&host_ids))
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for (host, rows) in hosts {
        let rows: Vec<(i64, i64, i64, i64, i64, String, String)> = serde_json::from_str(&rows)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("host {host}'s update rows as JSON: {e}")))?;
        out.extend(rows.into_iter().map(|(installed, candidate, repo, security, kind, erratum, reason)| {
            (host, installed, candidate, repo, security != 0, kind, erratum, reason)
        }));
    }
    Ok(out)
}

/// Writes (host id, package id) pairs of packages found in no repository.
pub(super) async fn insert_host_unknown(conn: &mut SqliteConnection, pairs: &[(i64, i64)]) -> StoreResult<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO host_unknown_packages (host_id, package_id) \
         SELECT j.value->>0, j.value->>1 FROM jsonb_each($1) j WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(json(&pairs))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets the verdict columns of each host still at the state its verdict was computed from;
/// returns how many were set.
pub(super) async fn set_host_verdicts(
    conn: &mut SqliteConnection,
    rows: &[crate::store::VerdictColumns<'_>],
    now: i64,
) -> StoreResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.host_id,
                r.state_version,
                hex(&r.digest),
                r.security,
                r.bugfix,
                r.unknown,
                r.reboot,
                r.known,
                r.duplicates,
            )
        })
        .collect();
    let sql = format!(
        "UPDATE hosts SET updates_stale = 0, updates_computed_at = $2, updates_digest = unhex(v.digest), \
         security_update_count = v.security, bugfix_update_count = v.bugfix, unknown_package_count = v.unknown, \
         kernel_reboot_reason = v.reboot, updates_known = v.known, duplicate_package_count = v.duplicates, \
         view_disagreements = {} \
         FROM (SELECT j.value->>0 AS id, j.value->>1 AS sv, j.value->>2 AS digest, j.value->>3 AS security, \
         j.value->>4 AS bugfix, j.value->>5 AS unknown, j.value->>6 AS reboot, j.value->>7 AS known, \
         j.value->>8 AS duplicates FROM jsonb_each($1) j) v \
         WHERE hosts.id = v.id AND hosts.state_version = v.sv",
        crate::store::host_view_sql::disagreements("hosts")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json(&rows)).bind(now).execute(&mut *conn).await?;
    Ok(done.rows_affected())
}

/// A names-only save's counts: each host's counts move by its change (its digest is no longer
/// that of a whole verdict); returns the hosts updated.
pub(super) async fn add_host_counts(
    conn: &mut SqliteConnection,
    rows: &[crate::store::CountChange],
    now: i64,
) -> StoreResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let rows: Vec<_> = rows.iter().map(|r| (r.host_id, r.security, r.bugfix, r.unknown)).collect();
    let sql = format!(
        "UPDATE hosts SET updates_digest = NULL, updates_computed_at = $2, \
         security_update_count = security_update_count + v.security, \
         bugfix_update_count = bugfix_update_count + v.bugfix, \
         unknown_package_count = unknown_package_count + v.unknown, view_disagreements = {} \
         FROM (SELECT j.value->>0 AS id, j.value->>1 AS security, j.value->>2 AS bugfix, j.value->>3 AS unknown \
         FROM jsonb_each($1) j) v WHERE hosts.id = v.id",
        crate::store::host_view_sql::disagreements("hosts")
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json(&rows)).bind(now).execute(&mut *conn).await?;
    Ok(done.rows_affected())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes exposures: (host id, advisory id, package id, fixed version).
pub(super) async fn insert_exposures(conn: &mut SqliteConnection, rows: &[(i64, i64, i64, &str)]) -> StoreResult<()> {
    for chunk in rows.chunks(50_000) {
        sqlx::query(
            "INSERT INTO host_exposures (host_id, advisory_id, package_id, fixed) \
             SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3 FROM jsonb_each($1) j",
        )
        .bind(json(&chunk))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Opens exposure windows: (host id, advisory id, opened at).
pub(super) async fn insert_windows(conn: &mut SqliteConnection, rows: &[(i64, i64, i64)]) -> StoreResult<()> {
    for chunk in rows.chunks(50_000) {
        sqlx::query(
            "INSERT INTO exposure_windows (host_id, advisory_id, opened_at) \
             SELECT j.value->>0, j.value->>1, j.value->>2 FROM jsonb_each($1) j",
        )
        .bind(json(&chunk))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{pack_ids, packed_among};

    #[test]
    fn packed_among_finds_the_wanted_ids_of_sorted_and_unsorted_sets() {
        let wanted = [3, 9, 40, 1_000_000_007];
        let sorted = pack_ids(&[1, 3, 4, 9, 10, 1_000_000_007]);
        assert_eq!(packed_among(&sorted, &wanted).unwrap().collect::<Vec<_>>(), [3, 9, 1_000_000_007]);
        // A set written in another order (not by ingest) is still read right.
        let unsorted = pack_ids(&[40, 1, 9, 2]);
        assert_eq!(packed_among(&unsorted, &wanted).unwrap().collect::<Vec<_>>(), [40, 9]);
        assert_eq!(packed_among(&[], &wanted).unwrap().count(), 0);
        assert!(packed_among(&[0; 9], &wanted).is_err(), "a set of a length no id fits");
    }
}
