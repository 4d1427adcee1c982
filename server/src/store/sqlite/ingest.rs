//! Storing one report in SQLite: authenticate, then write only the sections that changed, all
//! in one `BEGIN IMMEDIATE` transaction. Bulk rows travel as one JSON parameter each and are
//! unpacked by `json_each`, so a report costs a handful of statements, not one per package.

use sqlx::{Row, Sqlite, SqlitePool, Transaction};

use crate::auth::TokenHash;
use crate::ingest::{Digest, PreparedRepo, PreparedReport};
use crate::store::{IngestOutcome, IngestRejection, KnownPackages, StoreError, StoreResult};

type Tx = Transaction<'static, Sqlite>;

struct HostRow {
    id: i64,
    hostname: String,
    last_generated_at: Option<i64>,
    package_count: u32,
    digests: [Option<Vec<u8>>; 4],
}

pub(super) async fn ingest(
    pool: &SqlitePool,
    known: &KnownPackages,
    token_hash: &TokenHash,
    rep: &PreparedReport,
    now: i64,
) -> StoreResult<Result<IngestOutcome, IngestRejection>> {
    let r = &rep.report;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let Some(host) = host_by_token(&mut tx, token_hash).await? else {
        return Ok(Err(IngestRejection::UnknownToken));
    };
    if host.hostname != r.hostname {
        return Ok(Err(IngestRejection::WrongHost { token_host: host.hostname }));
    }
    let seen = sqlx::query("SELECT 1 FROM reports WHERE host_id = ? AND report_id = ?")
        .bind(host.id)
        .bind(&r.report_id)
        .fetch_optional(&mut *tx)
        .await?;
    if seen.is_some() {
        return Ok(Ok(IngestOutcome::Duplicate { package_count: host.package_count }));
    }
    insert_transactions(&mut tx, host.id, rep, now).await?;

    if host.last_generated_at.is_some_and(|g| g > r.generated_at_ms) {
        touch(&mut tx, host.id, now, None).await?;
        tx.commit().await?;
        return Ok(Ok(IngestOutcome::Superseded { package_count: host.package_count }));
    }
    let d = &rep.digests;
    let same = |i: usize, digest: &Digest| host.digests[i].as_deref() == Some(&digest[..]);
    let changed = [!same(0, &d.packages), !same(1, &d.repos), !same(2, &d.modules), !same(3, &d.meta)];
    if !changed.contains(&true) {
        touch(&mut tx, host.id, now, Some(r.generated_at_ms)).await?;
        tx.commit().await?;
        return Ok(Ok(IngestOutcome::Unchanged { package_count: host.package_count }));
    }

    let (mut added, mut removed, mut new_packages) = (0, 0, Vec::new());
    if changed[0] {
        new_packages = upsert_packages(&mut tx, known, rep).await?;
        (added, removed) = replace_host_packages(&mut tx, host.id, rep).await?;
    }
    if changed[1] {
        replace_host_repos(&mut tx, host.id, &rep.repos, &r.arch, now).await?;
    }
    if changed[2] {
        replace_host_modules(&mut tx, host.id, rep).await?;
    }
    update_host(&mut tx, host.id, rep, now).await?;
    let package_count = rep.packages.len() as u32;
    sqlx::query(
        "INSERT INTO reports (host_id, report_id, generated_at, received_at, trigger, client_version, \
         package_count, added, removed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(host.id)
    .bind(&r.report_id)
    .bind(r.generated_at_ms)
    .bind(now)
    .bind(r.trigger as i64)
    .bind(&r.client_version)
    .bind(i64::from(package_count))
    .bind(i64::from(added))
    .bind(i64::from(removed))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    known.remember(&new_packages);
    Ok(Ok(IngestOutcome::Stored { package_count, added, removed }))
}

async fn host_by_token(tx: &mut Tx, token_hash: &TokenHash) -> StoreResult<Option<HostRow>> {
    let row = sqlx::query(
        "SELECT h.id, h.hostname, h.last_generated_at, h.package_count, h.packages_digest, h.repos_digest, \
         h.modules_digest, h.meta_digest FROM host_tokens t JOIN hosts h ON h.id = t.host_id WHERE t.token_hash = ?",
    )
    .bind(&token_hash.0[..])
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|row| HostRow {
        id: row.get(0),
        hostname: row.get(1),
        last_generated_at: row.get(2),
        package_count: row.get::<i64, _>(3) as u32,
        digests: [row.get(4), row.get(5), row.get(6), row.get(7)],
    }))
}

async fn touch(tx: &mut Tx, host_id: i64, now: i64, generated_at: Option<i64>) -> StoreResult<()> {
    sqlx::query("UPDATE hosts SET last_seen_at = ?, last_generated_at = coalesce(?, last_generated_at) WHERE id = ?")
        .bind(now)
        .bind(generated_at)
        .bind(host_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_transactions(tx: &mut Tx, host_id: i64, rep: &PreparedReport, now: i64) -> StoreResult<()> {
    for t in &rep.report.transactions {
        let inserted = sqlx::query(
            "INSERT INTO transactions (host_id, transaction_id, finished_at, received_at, tool) VALUES (?, ?, ?, ?, ?) \
             ON CONFLICT (host_id, transaction_id) DO NOTHING RETURNING id",
        )
        .bind(host_id)
        .bind(&t.transaction_id)
        .bind(t.finished_at_ms)
        .bind(now)
        .bind(&t.tool)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = inserted else { continue };
        let id: i64 = row.get(0);
        let changes: Vec<_> = t
            .changes
            .iter()
            .enumerate()
            .map(|(seq, c)| (seq, c.action as i64, &c.name, &c.arch, &c.old_version, &c.new_version))
            .collect();
        sqlx::query(
            "INSERT INTO transaction_changes (transaction_id, seq, action, name, arch, old_version, new_version) \
             SELECT ?, j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5 FROM json_each(?) j",
        )
        .bind(id)
        .bind(json(&changes))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Writes the packages this process has not seen stored yet; returns their ids.
async fn upsert_packages(tx: &mut Tx, known: &KnownPackages, rep: &PreparedReport) -> StoreResult<Vec<i64>> {
    let unknown = known.unknown(rep.packages.iter().map(|p| p.id));
    if unknown.is_empty() {
        return Ok(unknown);
    }
    let mut rows = Vec::with_capacity(unknown.len());
    let mut wanted = unknown.iter().peekable();
    for p in &rep.packages {
        if wanted.peek() == Some(&&p.id) {
            wanted.next();
            let (pkg, i) = (&p.installed.package, &p.installed);
            rows.push((
                p.id,
                pkg.kind as i64,
                &pkg.name,
                pkg.epoch,
                &pkg.version,
                &pkg.release,
                &pkg.arch,
                &i.source_name,
                &i.source_version,
            ));
        }
    }
    let rows = json(&rows);
    sqlx::query(
        "INSERT INTO packages (id, kind, name, epoch, version, release, arch, source_name, source_version) \
         SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, j.value->>6, \
         j.value->>7, j.value->>8 FROM json_each(?) j WHERE true ON CONFLICT (id) DO NOTHING",
    )
    .bind(&rows)
    .execute(&mut **tx)
    .await?;
    // A hash collision would silently merge two packages: prove it did not happen.
    let clash = sqlx::query(
        "SELECT p.id FROM json_each(?) j JOIN packages p ON p.id = j.value->>0 \
         WHERE p.kind <> j.value->>1 OR p.name <> j.value->>2 OR p.epoch <> j.value->>3 \
         OR p.version <> j.value->>4 OR p.release <> j.value->>5 OR p.arch <> j.value->>6 LIMIT 1",
    )
    .bind(&rows)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(row) = clash {
        return Err(StoreError::PackageIdCollision(row.get(0)));
    }
    Ok(unknown)
}

/// Applies the difference between the stored and the reported package sets.
async fn replace_host_packages(tx: &mut Tx, host_id: i64, rep: &PreparedReport) -> StoreResult<(u32, u32)> {
    let mut current: Vec<i64> = sqlx::query_scalar("SELECT package_id FROM host_packages WHERE host_id = ?")
        .bind(host_id)
        .fetch_all(&mut **tx)
        .await?;
    current.sort_unstable();
    let wanted: Vec<i64> = rep.packages.iter().map(|p| p.id).collect(); // sorted by prepare()
    let (added, removed) = sorted_difference(&current, &wanted);
    if !removed.is_empty() {
        sqlx::query("DELETE FROM host_packages WHERE host_id = ? AND package_id IN (SELECT value FROM json_each(?))")
            .bind(host_id)
            .bind(json(&removed))
            .execute(&mut **tx)
            .await?;
    }
    if !added.is_empty() {
        sqlx::query("INSERT INTO host_packages (host_id, package_id) SELECT ?, value FROM json_each(?)")
            .bind(host_id)
            .bind(json(&added))
            .execute(&mut **tx)
            .await?;
    }
    Ok((added.len() as u32, removed.len() as u32))
}

/// (in `wanted` only, in `current` only), both inputs sorted.
pub(crate) fn sorted_difference(current: &[i64], wanted: &[i64]) -> (Vec<i64>, Vec<i64>) {
    let (mut added, mut removed) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < current.len() || j < wanted.len() {
        match (current.get(i), wanted.get(j)) {
            (Some(c), Some(w)) if c == w => (i, j) = (i + 1, j + 1),
            (Some(c), Some(w)) if c < w => (removed.push(*c), i += 1).1,
            (Some(_), Some(w)) | (None, Some(w)) => (added.push(*w), j += 1).1,
            (Some(c), None) => (removed.push(*c), i += 1).1,
            (None, None) => unreachable!("loop condition"),
        }
    }
    (added, removed)
}

/// Finds or creates each repository by its URLs, then links exactly these to the host,
/// keeping the administrator's `enabled` choice on links that stay.
async fn replace_host_repos(
    tx: &mut Tx,
    host_id: i64,
    repos: &[PreparedRepo],
    host_arch: &str,
    now: i64,
) -> StoreResult<()> {
    let mut links: Vec<(i64, i32)> = Vec::with_capacity(repos.len());
    for repo in repos {
        let r = &repo.reported;
        let urls: Vec<(&str, i64)> = r.urls.iter().map(|u| (u.url.as_str(), u.kind as i64)).collect();
        let urls = json(&urls);
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT m.repo_id FROM json_each(?) j JOIN mirrors m ON m.url = j.value->>0 ORDER BY m.repo_id LIMIT 1",
        )
        .bind(&urls)
        .fetch_optional(&mut **tx)
        .await?;
        let repo_id = match existing {
            Some(id) => id,
            None => {
                // rpm repositories have no architecture of their own: they serve the host's.
                let arch = if r.architecture.is_empty() { host_arch } else { &r.architecture };
                sqlx::query_scalar(
                    "INSERT INTO repos (kind, repo_key, name, suite, component, arch, security, created_at) \
                     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                )
                .bind(r.kind as i64)
                .bind(&r.repo_id)
                .bind(&repo.display_name)
                .bind(&r.suite)
                .bind(&r.component)
                .bind(arch)
                .bind(repo.security)
                .bind(now)
                .fetch_one(&mut **tx)
                .await?
            }
        };
        sqlx::query(
            "INSERT INTO mirrors (repo_id, url, url_kind, created_at) SELECT ?, j.value->>0, j.value->>1, ? \
             FROM json_each(?) j WHERE true ON CONFLICT (url) DO NOTHING",
        )
        .bind(repo_id)
        .bind(now)
        .bind(&urls)
        .execute(&mut **tx)
        .await?;
        links.push((repo_id, r.priority));
    }
    let ids: Vec<i64> = links.iter().map(|l| l.0).collect();
    sqlx::query("DELETE FROM host_repos WHERE host_id = ? AND repo_id NOT IN (SELECT value FROM json_each(?))")
        .bind(host_id)
        .bind(json(&ids))
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO host_repos (host_id, repo_id, priority) SELECT ?, j.value->>0, j.value->>1 FROM json_each(?) j \
         WHERE true ON CONFLICT (host_id, repo_id) DO UPDATE SET priority = excluded.priority",
    )
    .bind(host_id)
    .bind(json(&links))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn replace_host_modules(tx: &mut Tx, host_id: i64, rep: &PreparedReport) -> StoreResult<()> {
    sqlx::query("DELETE FROM host_modules WHERE host_id = ?").bind(host_id).execute(&mut **tx).await?;
    let modules: Vec<_> = rep.report.modules.iter().map(|m| (&m.name, &m.stream, m.profiles.join(","))).collect();
    sqlx::query(
        "INSERT INTO host_modules (host_id, name, stream, profiles) \
         SELECT ?, j.value->>0, j.value->>1, j.value->>2 FROM json_each(?) j WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(host_id)
    .bind(json(&modules))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn update_host(tx: &mut Tx, host_id: i64, rep: &PreparedReport, now: i64) -> StoreResult<()> {
    let r = &rep.report;
    let group_id: i64 = upsert_name(tx, UPSERT_OS_GROUP, &rep.os_group).await?;
    let variant_id: i64 = sqlx::query_scalar(
        "INSERT INTO os_variants (name, os_group_id) VALUES (?, ?) \
         ON CONFLICT (name) DO UPDATE SET os_group_id = excluded.os_group_id RETURNING id",
    )
    .bind(&rep.os_variant)
    .bind(group_id)
    .fetch_one(&mut **tx)
    .await?;
    let domain_id = match rep.domain.as_str() {
        "" => None,
        d => Some(upsert_name(tx, UPSERT_DOMAIN, d).await?),
    };
    let d = &rep.digests;
    sqlx::query(
        "UPDATE hosts SET machine_id = ?, domain_id = ?, os_variant_id = ?, os_id = ?, os_pretty_name = ?, \
         os_cpe_name = ?, os_codename = ?, arch = ?, kernel = ?, reboot_required = ?, reboot_reason = ?, \
         reboot_packages = ?, client_version = ?, package_count = ?, last_seen_at = ?, last_generated_at = ?, \
         last_changed_at = ?, packages_digest = ?, repos_digest = ?, modules_digest = ?, meta_digest = ? WHERE id = ?",
    )
    .bind(&r.machine_id)
    .bind(domain_id)
    .bind(variant_id)
    .bind(&r.os.id)
    .bind(&r.os.pretty_name)
    .bind(&r.os.cpe_name)
    .bind(&r.os.codename)
    .bind(&r.arch)
    .bind(&r.kernel)
    .bind(r.reboot.required)
    .bind(&r.reboot.reason)
    .bind(r.reboot.packages.join(" "))
    .bind(&r.client_version)
    .bind(rep.packages.len() as i64)
    .bind(now)
    .bind(r.generated_at_ms)
    .bind(now)
    .bind(&d.packages[..])
    .bind(&d.repos[..])
    .bind(&d.modules[..])
    .bind(&d.meta[..])
    .bind(host_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM host_tags WHERE host_id = ?").bind(host_id).execute(&mut **tx).await?;
    for tag in &r.tags {
        let tag_id = upsert_name(tx, UPSERT_TAG, tag).await?;
        sqlx::query("INSERT INTO host_tags (host_id, tag_id) VALUES (?, ?)")
            .bind(host_id)
            .bind(tag_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

const UPSERT_OS_GROUP: &str =
    "INSERT INTO os_groups (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";
const UPSERT_DOMAIN: &str =
    "INSERT INTO domains (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";
const UPSERT_TAG: &str =
    "INSERT INTO tags (name) VALUES (?) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";

/// The id of a name in a (id, name UNIQUE) table, inserting it if needed: `sql` is one of
/// the `UPSERT_*` statements.
async fn upsert_name(tx: &mut Tx, sql: &'static str, name: &str) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(sql).bind(name).fetch_one(&mut **tx).await?)
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("plain data serialises to JSON")
}

#[cfg(test)]
mod tests {
    use super::sorted_difference;

    #[test]
    fn difference_of_sorted_sets() {
        assert_eq!(sorted_difference(&[1, 3, 5], &[1, 2, 5, 6]), (vec![2, 6], vec![3]));
        assert_eq!(sorted_difference(&[], &[1]), (vec![1], vec![]));
        assert_eq!(sorted_difference(&[1, 2], &[]), (vec![], vec![1, 2]));
        assert_eq!(sorted_difference(&[4], &[4]), (vec![], vec![]));
    }
}
