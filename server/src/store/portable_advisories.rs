//! Advisories, written once for both dialects (see `portable.rs`): a feed's read applied as a
//! difference (new, changed and withdrawn advisories; the hosts they concern marked), the
//! exposure worker's input and output (current exposures and their windows), and the advisory,
//! CVE and time-to-patch questions. Expanded after `portable_queries!` and
//! `portable_update_queries!` in the same module, it uses their imports.

macro_rules! portable_advisory_queries {
    () => {
        use crate::advisories::{Advisory, Fix, release_of_variant};
        use crate::store::advisory_views::{
            AdvisoryDetail, AdvisoryPackageView, AdvisoryView, AffectedRow, CveDetail, ErratumExposure, ExploitedView,
            ExposedHostView, ExposureChanges, ExposureRecord, ExposureWork, FeedChange, FeedRead, FeedResult, FeedState,
            ExposureSummary, FixedHostView, HostExposureView,
        };

        /// The dashboard's advisory counts.
        pub(super) async fn exposure_summary(pool: &Pool) -> StoreResult<ExposureSummary> {
            let hosts_exposed: i64 =
                sqlx::query_scalar("SELECT count(DISTINCT host_id) FROM host_exposures").fetch_one(pool).await?;
            let hosts_exploited: i64 = sqlx::query_scalar(
                "SELECT count(DISTINCT he.host_id) FROM host_exposures he \
                 JOIN advisory_cves c ON c.advisory_id = he.advisory_id JOIN known_exploited k ON k.cve = c.cve",
            )
            .fetch_one(pool)
            .await?;
            let feeds_failing: i64 =
                sqlx::query_scalar("SELECT count(*) FROM advisory_feeds WHERE fail_count > 0").fetch_one(pool).await?;
            Ok(ExposureSummary { hosts_exposed, hosts_exploited, feeds_failing })
        }

        /// A value of a multi-row insert.
        enum Val<'a> {
            I(i64),
            OptI(Option<i64>),
            T(&'a str),
            Bytes(&'a [u8]),
            Bool(bool),
        }

        /// `head` ("INSERT INTO t (a, b)") with rows of `width` values, in statements of at most
        /// 4,000 parameters.
        async fn insert_rows(
            conn: &mut <Db as sqlx::Database>::Connection,
            head: &str,
            width: usize,
            rows: &[Vec<Val<'_>>],
        ) -> StoreResult<()> {
            use std::fmt::Write as _;
            for chunk in rows.chunks((4_000 / width).max(1)) {
                let mut sql = String::with_capacity(head.len() + chunk.len() * width * 5);
                sql.push_str(head);
                sql.push_str(" VALUES ");
                let mut n = 0;
                for (i, _) in chunk.iter().enumerate() {
                    sql.push_str(if i == 0 { "(" } else { ", (" });
                    for j in 0..width {
                        n += 1;
                        let _ = write!(sql, "{}${n}", if j == 0 { "" } else { ", " });
                    }
                    sql.push(')');
                }
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for row in chunk {
                    for v in row {
                        q = match v {
                            Val::I(x) => q.bind(*x),
                            Val::OptI(x) => q.bind(*x),
                            Val::T(s) => q.bind(*s),
                            Val::Bytes(b) => q.bind(*b),
                            Val::Bool(b) => q.bind(*b),
                        };
                    }
                }
                q.execute(&mut *conn).await?;
            }
            Ok(())
        }

        /// Every feed and what its last read found.
        pub(super) async fn feed_states(pool: &Pool) -> StoreResult<Vec<FeedState>> {
            let rows = sqlx::query(
                "SELECT name, kind, location, last_attempt_at, last_success_at, fail_count, last_error, checksum, etag, \
                 last_modified, record_count FROM advisory_feeds ORDER BY name",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(FeedState {
                        name: r.try_get("name")?,
                        kind: r.try_get("kind")?,
                        location: r.try_get("location")?,
                        last_attempt_at: r.try_get("last_attempt_at")?,
                        last_success_at: r.try_get("last_success_at")?,
                        fail_count: r.try_get("fail_count")?,
                        last_error: r.try_get("last_error")?,
                        checksum: r.try_get("checksum")?,
                        etag: r.try_get("etag")?,
                        last_modified: r.try_get("last_modified")?,
                        record_count: r.try_get("record_count")?,
                    })
                })
                .collect()
        }

        /// Records a feed's read; new contents replace the feed's advisories as a difference in
        /// one transaction (a failed read changes nothing but the feed's failure count).
        pub(super) async fn record_feed(pool: &Pool, read: &FeedRead<'_>) -> StoreResult<FeedChange> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let feed_id: i64 = sqlx::query_scalar(
                "INSERT INTO advisory_feeds (name, kind, location) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, location = excluded.location RETURNING id",
            )
            .bind(read.name)
            .bind(read.kind)
            .bind(read.location)
            .fetch_one(&mut *tx)
            .await?;
            let now = read.now_ms;
            let mut change = FeedChange::default();
            match &read.result {
                FeedResult::Failed(message) => {
                    sqlx::query(
                        "UPDATE advisory_feeds SET last_attempt_at = $2, fail_count = fail_count + 1, last_error = $3 WHERE id = $1",
                    )
                    .bind(feed_id)
                    .bind(now)
                    .bind(*message)
                    .execute(&mut *tx)
                    .await?;
                }
                FeedResult::Unchanged { etag, last_modified } => {
                    sqlx::query(
                        "UPDATE advisory_feeds SET last_attempt_at = $2, last_success_at = $2, fail_count = 0, last_error = '', \
                         etag = coalesce($3, etag), last_modified = coalesce($4, last_modified) WHERE id = $1",
                    )
                    .bind(feed_id)
                    .bind(now)
                    .bind(*etag)
                    .bind(*last_modified)
                    .execute(&mut *tx)
                    .await?;
                }
                FeedResult::New { contents, checksum, etag, last_modified } => {
                    let record_count = if read.kind == "kev" {
                        replace_exploited(&mut tx, &contents.exploited).await?;
                        contents.exploited.len() as i64
                    } else {
                        change = replace_advisories(&mut tx, feed_id, &contents.advisories, now).await?;
                        contents.advisories.iter().filter(|a| a.withdrawn_ms.is_none()).count() as i64
                    };
                    sqlx::query(
                        "UPDATE advisory_feeds SET last_attempt_at = $2, last_success_at = $2, fail_count = 0, last_error = '', \
                         checksum = $3, etag = $4, last_modified = $5, record_count = $6 WHERE id = $1",
                    )
                    .bind(feed_id)
                    .bind(now)
                    .bind(*checksum)
                    .bind(*etag)
                    .bind(*last_modified)
                    .bind(record_count)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
            Ok(change)
        }

        async fn replace_exploited(
            tx: &mut sqlx::Transaction<'static, Db>,
            exploited: &[crate::advisories::KnownExploited],
        ) -> StoreResult<()> {
            sqlx::query("DELETE FROM known_exploited").execute(&mut **tx).await?;
            let rows: Vec<Vec<Val>> = exploited
                .iter()
                .map(|k| vec![Val::T(&k.cve), Val::T(&k.name), Val::OptI(k.added_ms), Val::Bool(k.ransomware)])
                .collect();
            insert_rows(&mut **tx, "INSERT INTO known_exploited (cve, name, added_at, ransomware)", 4, &rows).await
        }

        /// The feed's advisories become `advisories`: new ones inserted, changed ones rewritten,
        /// those no longer given withdrawn (their open windows closed as withdrawn). The hosts
        /// running a release with an installed package a changed entry names are marked.
        async fn replace_advisories(
            tx: &mut sqlx::Transaction<'static, Db>,
            feed_id: i64,
            advisories: &[Advisory],
            now: i64,
        ) -> StoreResult<FeedChange> {
            let existing: Vec<(i64, String, Vec<u8>, Option<i64>)> =
                sqlx::query_as("SELECT id, name, digest, withdrawn_at FROM advisories WHERE feed_id = $1")
                    .bind(feed_id)
                    .fetch_all(&mut **tx)
                    .await?;
            let mut by_name: HashMap<&str, (i64, &[u8], Option<i64>)> =
                existing.iter().map(|(id, name, digest, w)| (name.as_str(), (*id, digest.as_slice(), *w))).collect();
            let mut change = FeedChange::default();
            // (release, package) pairs whose entries changed.
            let mut touched: std::collections::BTreeSet<(String, String)> = std::collections::BTreeSet::new();
            let mut fresh: Vec<(&Advisory, [u8; 16])> = Vec::new();
            let mut rewrite: Vec<(i64, &Advisory, [u8; 16])> = Vec::new();
            let mut withdrawn_now: Vec<i64> = Vec::new();
            for a in advisories {
                let digest = a.digest();
                match by_name.remove(a.name.as_str()) {
                    None => fresh.push((a, digest)),
                    Some((id, old, withdrawn_at)) => {
                        let was_withdrawn = withdrawn_at.is_some();
                        if old != digest.as_slice() || was_withdrawn != a.withdrawn_ms.is_some() {
                            rewrite.push((id, a, digest));
                            if a.withdrawn_ms.is_some() && !was_withdrawn {
                                withdrawn_now.push(id);
                            }
                        }
                    }
                }
            }
            let gone: Vec<i64> = by_name.values().filter(|(_, _, w)| w.is_none()).map(|(id, _, _)| *id).collect();
            withdrawn_now.extend(&gone);
            // Old entries of rewritten and withdrawn advisories.
            let old_ids: Vec<i64> = rewrite.iter().map(|(id, _, _)| *id).chain(gone.iter().copied()).collect();
            if !old_ids.is_empty() {
                let sql = format!("SELECT release, package FROM advisory_packages WHERE advisory_id IN ({})", id_list(1));
                let old: Vec<(String, String)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids_param(&old_ids)).fetch_all(&mut **tx).await?;
                touched.extend(old);
            }
            if !gone.is_empty() {
                let sql = format!("UPDATE advisories SET withdrawn_at = $2 WHERE id IN ({})", id_list(1));
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(&gone)).bind(now).execute(&mut **tx).await?;
            }
            if !withdrawn_now.is_empty() {
                let sql = format!(
                    "UPDATE exposure_windows SET closed_at = $2, closed_by = 'withdrawn' WHERE closed_at IS NULL AND advisory_id IN ({})",
                    id_list(1)
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(&withdrawn_now)).bind(now).execute(&mut **tx).await?;
                let sql = format!("DELETE FROM host_exposures WHERE advisory_id IN ({})", id_list(1));
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(&withdrawn_now)).execute(&mut **tx).await?;
            }
            for (id, a, digest) in &rewrite {
                sqlx::query(
                    "UPDATE advisories SET kind = $2, severity = $3, summary = $4, issued_at = $5, updated_at = $6, \
                     withdrawn_at = $7, refs = $8, digest = $9 WHERE id = $1",
                )
                .bind(*id)
                .bind(&a.kind)
                .bind(&a.severity)
                .bind(&a.summary)
                .bind(a.issued_ms)
                .bind(a.updated_ms)
                .bind(a.withdrawn_ms)
                .bind(a.references.join("\n"))
                .bind(digest.as_slice())
                .execute(&mut **tx)
                .await?;
            }
            let rewritten: Vec<i64> = rewrite.iter().map(|(id, _, _)| *id).collect();
            if !rewritten.is_empty() {
                for table in ["advisory_cves", "advisory_packages"] {
                    let sql = format!("DELETE FROM {table} WHERE advisory_id IN ({})", id_list(1));
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(&rewritten)).execute(&mut **tx).await?;
                }
            }
            let refs: Vec<String> = fresh.iter().map(|(a, _)| a.references.join("\n")).collect();
            let rows: Vec<Vec<Val>> = fresh
                .iter()
                .zip(&refs)
                .map(|((a, digest), refs)| {
                    vec![
                        Val::I(feed_id),
                        Val::T(&a.name),
                        Val::T(&a.kind),
                        Val::T(&a.severity),
                        Val::T(&a.summary),
                        Val::OptI(a.issued_ms),
                        Val::OptI(a.updated_ms),
                        Val::OptI(a.withdrawn_ms),
                        Val::T(refs),
                        Val::Bytes(digest.as_slice()),
                    ]
                })
                .collect();
            insert_rows(
                &mut **tx,
                "INSERT INTO advisories (feed_id, name, kind, severity, summary, issued_at, updated_at, withdrawn_at, refs, digest)",
                10,
                &rows,
            )
            .await?;
            let mut ids: HashMap<String, i64> = HashMap::new();
            if !fresh.is_empty() {
                let all: Vec<(i64, String)> = sqlx::query_as("SELECT id, name FROM advisories WHERE feed_id = $1")
                    .bind(feed_id)
                    .fetch_all(&mut **tx)
                    .await?;
                ids = all.into_iter().map(|(id, name)| (name, id)).collect();
            }
            let written: Vec<(i64, &Advisory)> = rewrite
                .iter()
                .map(|(id, a, _)| (*id, *a))
                .chain(fresh.iter().filter_map(|(a, _)| Some((*ids.get(&a.name)?, *a))))
                .collect();
            let mut cve_rows = Vec::new();
            let mut package_rows = Vec::new();
            for (id, a) in &written {
                for c in &a.cves {
                    cve_rows.push(vec![Val::I(*id), Val::T(&c.id), Val::T(&c.severity)]);
                }
                for p in &a.affected {
                    let (status, fixed) = p.fix.to_parts();
                    package_rows.push(vec![
                        Val::I(*id),
                        Val::T(&p.release),
                        Val::I(p.kind as i64),
                        Val::T(&p.package),
                        Val::I(status),
                        Val::T(fixed),
                    ]);
                    if a.withdrawn_ms.is_none() {
                        touched.insert((p.release.clone(), p.package.clone()));
                    }
                }
            }
            insert_rows(&mut **tx, "INSERT INTO advisory_cves (advisory_id, cve, severity)", 3, &cve_rows).await?;
            insert_rows(
                &mut **tx,
                "INSERT INTO advisory_packages (advisory_id, release, kind, package, status, fixed)",
                6,
                &package_rows,
            )
            .await?;
            change.added = fresh.len() as u64;
            change.changed = rewrite.len() as u64;
            change.withdrawn = withdrawn_now.len() as u64;
            change.advisories = written.iter().map(|(id, _)| *id).collect();
            let (marked, scoped) = mark_release_packages(tx, &touched).await?;
            change.hosts_marked = marked;
            change.scoped_hosts = scoped;
            Ok(change)
        }

        /// Marks the hosts running one of the releases with an installed package (or its source)
        /// of the names given for it; a release with very many names marks all its hosts.
        /// Hosts whose exposures were current become `SCOPED_STALE` (returned: only the
        /// changed advisories need computing for them); hosts never computed stay as they are.
        async fn mark_release_packages(
            tx: &mut sqlx::Transaction<'static, Db>,
            touched: &std::collections::BTreeSet<(String, String)>,
        ) -> StoreResult<(u64, Vec<i64>)> {
            if touched.is_empty() {
                return Ok((0, Vec::new()));
            }
            let variants: Vec<(i64, String)> =
                sqlx::query_as("SELECT id, name FROM os_variants").fetch_all(&mut **tx).await?;
            let mut by_release: HashMap<&str, Vec<String>> = HashMap::new();
            for (release, package) in touched {
                by_release.entry(release.as_str()).or_default().push(package.clone());
            }
            let mut scoped = Vec::new();
            let mut marked = 0;
            for (release, names) in by_release {
                let variant_ids: Vec<i64> =
                    variants.iter().filter(|(_, v)| release_of_variant(v) == release).map(|(id, _)| *id).collect();
                if variant_ids.is_empty() {
                    continue;
                }
                if names.len() > 2_000 {
                    // Most of a release changed (a first import): every host in full.
                    let sql = format!(
                        "UPDATE hosts SET exposures_version = -1 WHERE exposures_version <> -1 AND os_variant_id IN ({})",
                        id_list(1)
                    );
                    let done =
                        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(&variant_ids)).execute(&mut **tx).await?;
                    marked += done.rows_affected();
                    continue;
                }
                let sql = format!(
                    "UPDATE hosts SET exposures_version = $4 WHERE exposures_version = state_version \
                     AND os_variant_id IN ({}) \
                     AND EXISTS (SELECT 1 FROM host_packages hp WHERE hp.host_id = hosts.id AND hp.package_id IN \
                     (SELECT p.id FROM packages p WHERE p.name IN ({}) OR p.source_name IN ({}))) RETURNING id",
                    id_list(1),
                    text_list(2),
                    text_list(3)
                );
                let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(ids_param(&variant_ids))
                    .bind(texts_param(&names))
                    .bind(texts_param(&names))
                    .bind(crate::store::advisory_views::SCOPED_STALE)
                    .fetch_all(&mut **tx)
                    .await?;
                marked += ids.len() as u64;
                scoped.extend(ids);
            }
            scoped.sort_unstable();
            scoped.dedup();
            Ok((marked, scoped))
        }

        /// The entries (release, package, kind, status, fixed) of these advisories, for a
        /// scoped computation.
        pub(super) async fn affected_rows_of(pool: &Pool, advisory_ids: &[i64]) -> StoreResult<Vec<(String, AffectedRow)>> {
            let sql = format!(
                "SELECT ap.release, ap.advisory_id, ap.package, ap.kind, ap.status, ap.fixed FROM advisory_packages ap \
                 JOIN advisories a ON a.id = ap.advisory_id WHERE a.withdrawn_at IS NULL AND ap.status <> 2 \
                 AND ap.advisory_id IN ({})",
                id_list(1)
            );
            let rows: Vec<(String, i64, String, i64, i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids_param(advisory_ids)).fetch_all(pool).await?;
            Ok(rows
                .into_iter()
                .map(|(release, advisory_id, package, kind, status, fixed)| {
                    (release, AffectedRow { advisory_id, package, kind, status, fixed })
                })
                .collect())
        }

        /// The packages named (by name, or for deb by source name) `names`.
        pub(super) async fn packages_named(
            pool: &Pool,
            names: &[String],
        ) -> StoreResult<Vec<crate::advisories::exposure::Installed>> {
            let sql = format!(
                "SELECT p.id, p.kind, p.name, p.epoch, p.version, p.release, p.source_name, p.source_version FROM packages p \
                 WHERE p.name IN ({}) OR p.source_name IN ({})",
                text_list(1),
                text_list(2)
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(texts_param(names))
                .bind(texts_param(names))
                .fetch_all(pool)
                .await?;
            installed_rows(&rows)
        }

        fn installed_rows(
            rows: &[<Db as sqlx::Database>::Row],
        ) -> StoreResult<Vec<crate::advisories::exposure::Installed>> {
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let Some(kind) = PackageKind::from_i64(r.try_get("kind")?) else { continue };
                out.push(crate::advisories::exposure::Installed {
                    package_id: r.try_get("id")?,
                    kind,
                    name: r.try_get("name")?,
                    epoch: u32::try_from(r.try_get::<i64, _>("epoch")?).unwrap_or(0),
                    version: r.try_get("version")?,
                    release: r.try_get("release")?,
                    source_name: r.try_get("source_name")?,
                    source_version: r.try_get("source_version")?,
                });
            }
            Ok(out)
        }

        /// (host, package) pairs of these hosts among these packages.
        pub(super) async fn host_packages_among(
            pool: &Pool,
            host_ids: &[i64],
            package_ids: &[i64],
        ) -> StoreResult<Vec<(i64, i64)>> {
            if host_ids.is_empty() || package_ids.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!(
                "SELECT host_id, package_id FROM host_packages WHERE host_id IN ({}) AND package_id IN ({})",
                id_list(1),
                id_list(2)
            );
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ids_param(host_ids))
                .bind(ids_param(package_ids))
                .fetch_all(pool)
                .await?)
        }

        /// Marks hosts (all, or these) for their exposures to be computed again.
        pub(super) async fn mark_exposures_stale(pool: &Pool, host_ids: Option<&[i64]>) -> StoreResult<u64> {
            let done = match host_ids {
                None => sqlx::query("UPDATE hosts SET exposures_version = -1").execute(pool).await?,
                Some(ids) => {
                    let sql = format!("UPDATE hosts SET exposures_version = -1 WHERE id IN ({})", id_list(1));
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(ids)).execute(pool).await?
                }
            };
            Ok(done.rows_affected())
        }

        /// Hosts whose exposures were not computed for their current state, above `after`.
        pub(super) async fn exposure_stale_hosts(pool: &Pool, after: i64, limit: i64) -> StoreResult<Vec<i64>> {
            Ok(sqlx::query_scalar(
                "SELECT id FROM hosts WHERE exposures_version <> state_version AND id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        }

        /// The entries of a release's advisories that are not withdrawn.
        pub(super) async fn affected_rows(pool: &Pool, release: &str) -> StoreResult<Vec<AffectedRow>> {
            let rows: Vec<(i64, String, i64, i64, String)> = sqlx::query_as(
                "SELECT ap.advisory_id, ap.package, ap.kind, ap.status, ap.fixed FROM advisory_packages ap \
                 JOIN advisories a ON a.id = ap.advisory_id WHERE ap.release = $1 AND a.withdrawn_at IS NULL AND ap.status <> 2",
            )
            .bind(release)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(advisory_id, package, kind, status, fixed)| AffectedRow { advisory_id, package, kind, status, fixed })
                .collect())
        }

        /// The packages an entry of a release may name (by name, or for deb by source name).
        pub(super) async fn relevant_packages(
            pool: &Pool,
            release: &str,
        ) -> StoreResult<Vec<crate::advisories::exposure::Installed>> {
            let rows = sqlx::query(
                "SELECT p.id, p.kind, p.name, p.epoch, p.version, p.release, p.source_name, p.source_version FROM packages p \
                 WHERE p.name IN (SELECT ap.package FROM advisory_packages ap WHERE ap.release = $1) \
                 OR p.source_name IN (SELECT ap.package FROM advisory_packages ap WHERE ap.release = $1 AND ap.kind = 1)",
            )
            .bind(release)
            .fetch_all(pool)
            .await?;
            installed_rows(&rows)
        }

        /// The hosts' releases, states and (`with_packages`) installed package ids.
        pub(super) async fn exposure_work(
            pool: &Pool,
            host_ids: &[i64],
            with_packages: bool,
        ) -> StoreResult<Vec<ExposureWork>> {
            let sql = format!(
                "SELECT h.id, h.state_version, coalesce(v.name, '') AS variant, \
                 coalesce(h.last_generated_at, h.last_seen_at, h.enrolled_at) AS since \
                 FROM hosts h LEFT JOIN os_variants v ON v.id = h.os_variant_id WHERE h.id IN ({})",
                id_list(1)
            );
            let mut conn = pool.acquire().await?;
            let hosts: Vec<(i64, i64, String, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids_param(host_ids)).fetch_all(&mut *conn).await?;
            let mut installed: HashMap<i64, Vec<i64>> = if with_packages {
                super::bulk::host_package_ids(&mut conn, host_ids).await?.into_iter().collect()
            } else {
                HashMap::new()
            };
            Ok(hosts
                .into_iter()
                .map(|(host_id, state_version, variant, since_ms)| ExposureWork {
                    host_id,
                    state_version,
                    release: release_of_variant(&variant),
                    since_ms,
                    package_ids: installed.remove(&host_id).unwrap_or_default(),
                })
                .collect())
        }

        /// Saves exposures computed from the hosts' current state (skipping hosts whose state
        /// moved on), writing only what changed: exposures added and removed, windows opened at
        /// the later of the advisory's publication and the state's report, windows closed as
        /// fixed when that state no longer has them.
        pub(super) async fn save_exposures(
            pool: &Pool,
            records: &[ExposureRecord],
            scope: Option<&[i64]>,
        ) -> StoreResult<ExposureChanges> {
            use std::collections::{BTreeSet, HashSet};
            let mut changes = ExposureChanges::default();
            if records.is_empty() {
                return Ok(changes);
            }
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let ids: Vec<i64> = records.iter().map(|r| r.host_id).collect();
            super::bulk::lock_hosts(&mut tx, &ids).await?;
            let sql = format!("SELECT id, state_version, exposures_version FROM hosts WHERE id IN ({})", id_list(1));
            let versions: HashMap<i64, (i64, i64)> = sqlx::query_as::<_, (i64, i64, i64)>(sqlx::AssertSqlSafe(sql))
                .bind(ids_param(&ids))
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .map(|(id, state, exposures)| (id, (state, exposures)))
                .collect();
            // A scoped computation (`scope`: the advisories a feed change brought) compares and
            // writes only those advisories' exposures and windows.
            let in_scope = match scope {
                Some(_) => format!(" AND advisory_id IN ({})", id_list(2)),
                None => " AND $2 = $2".to_owned(),
            };
            let scope_param = ids_param(scope.unwrap_or(&[]));
            let sql = format!(
                "SELECT host_id, advisory_id, package_id, fixed FROM host_exposures WHERE host_id IN ({}){in_scope}",
                id_list(1)
            );
            let mut before: HashMap<i64, HashSet<(i64, i64, String)>> = HashMap::new();
            for (h, a, p, f) in sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(sql))
                .bind(ids_param(&ids))
                .bind(scope_param.clone())
                .fetch_all(&mut *tx)
                .await?
            {
                before.entry(h).or_default().insert((a, p, f));
            }
            let sql = format!(
                "SELECT host_id, advisory_id FROM exposure_windows WHERE closed_at IS NULL AND host_id IN ({}){in_scope}",
                id_list(1)
            );
            let mut open: HashMap<i64, BTreeSet<i64>> = HashMap::new();
            for (h, a) in sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql))
                .bind(ids_param(&ids))
                .bind(scope_param.clone())
                .fetch_all(&mut *tx)
                .await?
            {
                open.entry(h).or_default().insert(a);
            }
            let advisory_ids: Vec<i64> = {
                let mut v: Vec<i64> = records.iter().flat_map(|r| r.exposures.iter().map(|e| e.advisory_id)).collect();
                v.sort_unstable();
                v.dedup();
                v
            };
            let mut issued: HashMap<i64, Option<i64>> = HashMap::new();
            if !advisory_ids.is_empty() {
                let sql = format!("SELECT id, issued_at FROM advisories WHERE id IN ({})", id_list(1));
                issued = sqlx::query_as::<_, (i64, Option<i64>)>(sqlx::AssertSqlSafe(sql))
                    .bind(ids_param(&advisory_ids))
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect();
            }
            let empty_set = HashSet::new();
            let empty_open = BTreeSet::new();
            let mut inserts: Vec<(i64, &crate::advisories::exposure::Exposure)> = Vec::new();
            let mut opening: Vec<(i64, i64, i64)> = Vec::new();
            let mut saved: Vec<(i64, i64)> = Vec::new();
            for rec in records {
                match versions.get(&rec.host_id) {
                    Some((state, _)) if *state != rec.state_version => continue,
                    Some((_, exposures)) if scope.is_some() && *exposures != crate::store::advisory_views::SCOPED_STALE => {
                        continue;
                    }
                    None => continue,
                    Some(_) => {}
                }
                let was = before.get(&rec.host_id).unwrap_or(&empty_set);
                let now_set: HashSet<(i64, i64, String)> =
                    rec.exposures.iter().map(|e| (e.advisory_id, e.package_id, e.fixed.clone())).collect();
                for (a, p, f) in was.difference(&now_set) {
                    let _ = f;
                    sqlx::query("DELETE FROM host_exposures WHERE host_id = $1 AND advisory_id = $2 AND package_id = $3")
                        .bind(rec.host_id)
                        .bind(*a)
                        .bind(*p)
                        .execute(&mut *tx)
                        .await?;
                }
                for e in &rec.exposures {
                    if !was.contains(&(e.advisory_id, e.package_id, e.fixed.clone())) {
                        inserts.push((rec.host_id, e));
                    }
                }
                let now_exposed: BTreeSet<i64> = rec.exposures.iter().map(|e| e.advisory_id).collect();
                let was_open = open.get(&rec.host_id).unwrap_or(&empty_open);
                for a in now_exposed.difference(was_open) {
                    let at = issued.get(a).copied().flatten().map_or(rec.since_ms, |i| i.max(rec.since_ms));
                    opening.push((rec.host_id, *a, at));
                }
                let closing: Vec<i64> = was_open.difference(&now_exposed).copied().collect();
                if !closing.is_empty() {
                    let sql = format!(
                        "UPDATE exposure_windows SET closed_at = CASE WHEN opened_at > $2 THEN opened_at ELSE $2 END, \
                         closed_by = 'fixed' WHERE host_id = $1 AND closed_at IS NULL AND advisory_id IN ({})",
                        id_list(3)
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(rec.host_id)
                        .bind(rec.since_ms)
                        .bind(ids_param(&closing))
                        .execute(&mut *tx)
                        .await?;
                    changes.closed += closing.len() as u64;
                }
                saved.push((rec.host_id, rec.state_version));
            }
            // Rows whose fixed version changed were deleted above and come back here.
            let rows: Vec<(i64, i64, i64, &str)> =
                inserts.iter().map(|(h, e)| (*h, e.advisory_id, e.package_id, e.fixed.as_str())).collect();
            super::bulk::insert_exposures(&mut tx, &rows).await?;
            super::bulk::insert_windows(&mut tx, &opening).await?;
            // A scoped computation completes only hosts still marked for it.
            let only_scoped = if scope.is_some() { " AND exposures_version = $3" } else { " AND $3 = $3" };
            let sql = format!("UPDATE hosts SET exposures_version = $2 WHERE id = $1 AND state_version = $2{only_scoped}");
            for (host_id, state_version) in &saved {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(*host_id)
                    .bind(*state_version)
                    .bind(crate::store::advisory_views::SCOPED_STALE)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            changes.saved = saved.len() as u64;
            changes.opened = opening.len() as u64;
            Ok(changes)
        }

        const ADVISORY_VIEW: &str = "SELECT a.id, a.name, f.name AS feed, a.kind, a.severity, a.summary, a.issued_at, a.withdrawn_at, \
             (SELECT count(DISTINCT he.host_id) FROM host_exposures he WHERE he.advisory_id = a.id) AS hosts_exposed, \
             (SELECT count(*) FROM advisory_cves c JOIN known_exploited k ON k.cve = c.cve WHERE c.advisory_id = a.id) AS exploited \
             FROM advisories a JOIN advisory_feeds f ON f.id = a.feed_id";

        /// The CVEs of these advisories, sorted.
        async fn cves_of(
            conn: &mut <Db as sqlx::Database>::Connection,
            ids: &[i64],
        ) -> StoreResult<HashMap<i64, Vec<String>>> {
            let mut cves: HashMap<i64, Vec<String>> = HashMap::new();
            if ids.is_empty() {
                return Ok(cves);
            }
            let sql = format!("SELECT advisory_id, cve FROM advisory_cves WHERE advisory_id IN ({}) ORDER BY cve", id_list(1));
            for (id, cve) in
                sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql)).bind(ids_param(ids)).fetch_all(&mut *conn).await?
            {
                cves.entry(id).or_default().push(cve);
            }
            Ok(cves)
        }

        async fn advisory_views(
            conn: &mut <Db as sqlx::Database>::Connection,
            rows: Vec<<Db as sqlx::Database>::Row>,
        ) -> StoreResult<Vec<AdvisoryView>> {
            let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
            let mut cves = cves_of(&mut *conn, &ids).await?;
            rows.iter()
                .map(|r| {
                    let id: i64 = r.try_get("id")?;
                    Ok(AdvisoryView {
                        name: r.try_get("name")?,
                        feed: r.try_get("feed")?,
                        kind: r.try_get("kind")?,
                        severity: r.try_get("severity")?,
                        summary: r.try_get("summary")?,
                        issued_at: r.try_get("issued_at")?,
                        withdrawn_at: r.try_get("withdrawn_at")?,
                        cves: cves.remove(&id).unwrap_or_default(),
                        exploited: r.try_get::<i64, _>("exploited")? > 0,
                        hosts_exposed: r.try_get("hosts_exposed")?,
                    })
                })
                .collect()
        }

        /// Advisories, most severe and newest first.
        pub(super) async fn advisory_list(
            pool: &Pool,
            filter: &crate::query::AdvisoryFilter,
            page: crate::query::PageRequest,
        ) -> StoreResult<crate::query::Paged<AdvisoryView>> {
            let mut conn = pool.acquire().await?;
            let mut conds = vec!["1 = 1".to_owned()];
            let mut texts: Vec<String> = Vec::new();
            fn param(v: &str, texts: &mut Vec<String>) -> String {
                texts.push(v.to_owned());
                format!("${}", texts.len() + 2)
            }
            if let Some(host) = &filter.host {
                let p = param(host, &mut texts);
                conds.push(format!(
                    "a.id IN (SELECT he.advisory_id FROM host_exposures he JOIN hosts h ON h.id = he.host_id WHERE h.hostname = {p})"
                ));
            }
            if let Some(cve) = &filter.cve {
                let p = param(cve, &mut texts);
                conds.push(format!("a.id IN (SELECT c.advisory_id FROM advisory_cves c WHERE c.cve = {p})"));
            }
            if let Some(sev) = &filter.severity {
                let p = param(if sev == "unrated" { "" } else { sev }, &mut texts);
                conds.push(format!("a.severity = {p}"));
            }
            if let Some(pkg) = &filter.package {
                let p = param(pkg, &mut texts);
                conds.push(format!("a.id IN (SELECT ap.advisory_id FROM advisory_packages ap WHERE ap.package = {p})"));
            }
            if let Some(feed) = &filter.feed {
                let p = param(feed, &mut texts);
                conds.push(format!("f.name = {p}"));
            }
            if filter.exploited {
                conds.push(
                    "a.id IN (SELECT c.advisory_id FROM advisory_cves c JOIN known_exploited k ON k.cve = c.cve)".to_owned(),
                );
            }
            if filter.exposed {
                conds.push("a.id IN (SELECT he.advisory_id FROM host_exposures he)".to_owned());
            }
            let cond = conds.join(" AND ");
            let count_sql = format!(
                "SELECT count(*) FROM advisories a JOIN advisory_feeds f ON f.id = a.feed_id WHERE {cond} AND $1 = $1 AND $2 = $2"
            );
            let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(count_sql)).bind(0i64).bind(0i64);
            for t in &texts {
                q = q.bind(t.as_str());
            }
            let total = q.fetch_one(&mut *conn).await?;
            let sql = format!(
                "{ADVISORY_VIEW} WHERE {cond} ORDER BY (CASE a.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 \
                 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 WHEN 'unimportant' THEN 4 ELSE 5 END), \
                 (CASE WHEN a.issued_at IS NULL THEN 1 ELSE 0 END), a.issued_at DESC, a.name LIMIT $1 OFFSET $2"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(i64::from(page.per_page)).bind(page.offset() as i64);
            for t in &texts {
                q = q.bind(t.as_str());
            }
            let rows = q.fetch_all(&mut *conn).await?;
            Ok(crate::query::Paged { total: total as u64, rows: advisory_views(&mut conn, rows).await? })
        }

        const EXPOSED_HOSTS: &str = "SELECT h.hostname, a.name AS advisory, p.name AS package, p.epoch, p.version, p.release, \
             he.fixed, h.last_seen_at, (SELECT w.opened_at FROM exposure_windows w WHERE w.host_id = he.host_id \
             AND w.advisory_id = he.advisory_id AND w.closed_at IS NULL) AS since \
             FROM host_exposures he JOIN hosts h ON h.id = he.host_id JOIN packages p ON p.id = he.package_id \
             JOIN advisories a ON a.id = he.advisory_id";

        fn exposed_hosts(
            rows: &[<Db as sqlx::Database>::Row],
            clock: &crate::query::Clock,
        ) -> StoreResult<Vec<ExposedHostView>> {
            rows.iter()
                .map(|r| {
                    let epoch: i64 = r.try_get("epoch")?;
                    let version: String = r.try_get("version")?;
                    let release: String = r.try_get("release")?;
                    let last_seen: Option<i64> = r.try_get("last_seen_at")?;
                    Ok(ExposedHostView {
                        hostname: r.try_get("hostname")?,
                        advisory: r.try_get("advisory")?,
                        package: r.try_get("package")?,
                        installed: format_evr(u32::try_from(epoch).unwrap_or(0), &version, &release),
                        fixed: r.try_get("fixed")?,
                        since: r.try_get("since")?,
                        silent: last_seen.is_none_or(|t| t < clock.silent_before()),
                    })
                })
                .collect()
        }

        const FIXED_HOSTS: &str = "SELECT h.hostname, a.name AS advisory, w.opened_at, w.closed_at FROM exposure_windows w \
             JOIN hosts h ON h.id = w.host_id JOIN advisories a ON a.id = w.advisory_id \
             WHERE w.closed_by = 'fixed' AND NOT EXISTS (SELECT 1 FROM exposure_windows o WHERE o.host_id = w.host_id \
             AND o.advisory_id = w.advisory_id AND o.closed_at IS NULL)";

        fn fixed_hosts(rows: Vec<(String, String, i64, i64)>) -> Vec<FixedHostView> {
            let mut seen = std::collections::HashSet::new();
            rows.into_iter()
                .filter(|(h, a, _, _)| seen.insert((h.clone(), a.clone())))
                .map(|(hostname, advisory, opened_at, fixed_at)| FixedHostView { hostname, advisory, opened_at, fixed_at })
                .collect()
        }

        /// An advisory (the first feed's, when two feeds use the name), its packages and hosts.
        pub(super) async fn advisory_detail(
            pool: &Pool,
            name: &str,
            clock: &crate::query::Clock,
        ) -> StoreResult<Option<AdvisoryDetail>> {
            let mut conn = pool.acquire().await?;
            let sql = format!("{ADVISORY_VIEW} WHERE a.name = $1 ORDER BY f.name LIMIT 1");
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(name).fetch_optional(&mut *conn).await? else {
                return Ok(None);
            };
            let id: i64 = row.try_get("id")?;
            let advisory = advisory_views(&mut conn, vec![row]).await?.remove(0);
            let refs: String =
                sqlx::query_scalar("SELECT refs FROM advisories WHERE id = $1").bind(id).fetch_one(&mut *conn).await?;
            let packages: Vec<(String, String, i64, String)> = sqlx::query_as(
                "SELECT release, package, status, fixed FROM advisory_packages WHERE advisory_id = $1 ORDER BY release, package",
            )
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
            let sql = format!("{EXPOSED_HOSTS} WHERE he.advisory_id = $1 ORDER BY h.hostname, p.name");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(&mut *conn).await?;
            let exposed = exposed_hosts(&rows, clock)?;
            let sql = format!("{FIXED_HOSTS} AND w.advisory_id = $1 ORDER BY h.hostname, w.closed_at DESC");
            let fixed: Vec<(String, String, i64, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(&mut *conn).await?;
            Ok(Some(AdvisoryDetail {
                advisory,
                references: refs.lines().map(str::to_owned).collect(),
                packages: packages
                    .into_iter()
                    .map(|(release, package, status, fixed)| AdvisoryPackageView {
                        release,
                        package,
                        status: match Fix::from_parts(status, String::new()) {
                            Fix::Version(_) => "fixed",
                            Fix::NoFixYet => "no fix yet",
                            Fix::NotAffected => "not affected",
                        },
                        fixed,
                    })
                    .collect(),
                exposed,
                fixed: fixed_hosts(fixed),
            }))
        }

        /// A CVE: the advisories and errata naming it, the hosts exposed and those fixed.
        pub(super) async fn cve_detail(
            pool: &Pool,
            cve: &str,
            clock: &crate::query::Clock,
        ) -> StoreResult<Option<CveDetail>> {
            let mut conn = pool.acquire().await?;
            let sql = format!(
                "{ADVISORY_VIEW} WHERE a.id IN (SELECT advisory_id FROM advisory_cves WHERE cve = $1) ORDER BY a.name, f.name"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cve).fetch_all(&mut *conn).await?;
            let advisories = advisory_views(&mut conn, rows).await?;
            let errata_rows: Vec<(String, String)> = sqlx::query_as(
                "SELECT e.name, e.severity FROM errata e JOIN erratum_cves c ON c.erratum_id = e.id WHERE c.cve = $1 ORDER BY e.name",
            )
            .bind(cve)
            .fetch_all(&mut *conn)
            .await?;
            let exploited: Option<(String, Option<i64>, bool)> =
                sqlx::query_as("SELECT name, added_at, ransomware FROM known_exploited WHERE cve = $1")
                    .bind(cve)
                    .fetch_optional(&mut *conn)
                    .await?;
            if advisories.is_empty() && errata_rows.is_empty() && exploited.is_none() {
                return Ok(None);
            }
            let mut errata = Vec::new();
            for (name, severity) in errata_rows {
                let hosts: Vec<String> = sqlx::query_scalar(
                    "SELECT DISTINCT h.hostname FROM host_updates u JOIN hosts h ON h.id = u.host_id WHERE u.erratum = $1 ORDER BY h.hostname",
                )
                .bind(&name)
                .fetch_all(&mut *conn)
                .await?;
                errata.push(ErratumExposure { erratum: name, severity: crate::advisories::normalise_severity(&severity), hosts });
            }
            let sql = format!(
                "{EXPOSED_HOSTS} WHERE he.advisory_id IN (SELECT advisory_id FROM advisory_cves WHERE cve = $1) ORDER BY h.hostname, a.name, p.name"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cve).fetch_all(&mut *conn).await?;
            let exposed = exposed_hosts(&rows, clock)?;
            let sql = format!(
                "{FIXED_HOSTS} AND w.advisory_id IN (SELECT advisory_id FROM advisory_cves WHERE cve = $1) ORDER BY h.hostname, w.closed_at DESC"
            );
            let fixed: Vec<(String, String, i64, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(cve).fetch_all(&mut *conn).await?;
            let severity = advisories
                .iter()
                .map(|a| a.severity.clone())
                .chain(errata.iter().map(|e| e.severity.clone()))
                .min_by_key(|s| crate::advisories::severity_rank(s))
                .unwrap_or_default();
            Ok(Some(CveDetail {
                cve: cve.to_owned(),
                severity,
                exploited: exploited.map(|(name, added_at, ransomware)| ExploitedView { name, added_at, ransomware }),
                advisories,
                errata,
                exposed,
                fixed: fixed_hosts(fixed),
            }))
        }

        /// What a host is exposed to now; `None` when there is no such host.
        pub(super) async fn host_exposures(pool: &Pool, hostname: &str) -> StoreResult<Option<Vec<HostExposureView>>> {
            let mut conn = pool.acquire().await?;
            let Some(host_id): Option<i64> =
                sqlx::query_scalar("SELECT id FROM hosts WHERE hostname = $1").bind(hostname).fetch_optional(&mut *conn).await?
            else {
                return Ok(None);
            };
            let rows = sqlx::query(
                "SELECT a.id, a.name, f.name AS feed, a.severity, p.name AS package, p.epoch, p.version, p.release, he.fixed, \
                 (SELECT count(*) FROM advisory_cves c JOIN known_exploited k ON k.cve = c.cve WHERE c.advisory_id = a.id) AS exploited, \
                 (SELECT w.opened_at FROM exposure_windows w WHERE w.host_id = he.host_id AND w.advisory_id = he.advisory_id \
                 AND w.closed_at IS NULL) AS since \
                 FROM host_exposures he JOIN advisories a ON a.id = he.advisory_id JOIN advisory_feeds f ON f.id = a.feed_id \
                 JOIN packages p ON p.id = he.package_id WHERE he.host_id = $1",
            )
            .bind(host_id)
            .fetch_all(&mut *conn)
            .await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
            let cves = cves_of(&mut *conn, &ids).await?;
            let mut out = rows
                .iter()
                .map(|r| {
                    let id: i64 = r.try_get("id")?;
                    let epoch: i64 = r.try_get("epoch")?;
                    let version: String = r.try_get("version")?;
                    let release: String = r.try_get("release")?;
                    Ok(HostExposureView {
                        advisory: r.try_get("name")?,
                        feed: r.try_get("feed")?,
                        severity: r.try_get("severity")?,
                        cves: cves.get(&id).cloned().unwrap_or_default(),
                        exploited: r.try_get::<i64, _>("exploited")? > 0,
                        package: r.try_get("package")?,
                        installed: format_evr(u32::try_from(epoch).unwrap_or(0), &version, &release),
                        fixed: r.try_get("fixed")?,
                        since: r.try_get("since")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            // Known exploited first, then those a published version fixes, then by severity.
            out.sort_by(|a, b| {
                b.exploited
                    .cmp(&a.exploited)
                    .then(a.fixed.is_empty().cmp(&b.fixed.is_empty()))
                    .then(crate::advisories::severity_rank(&a.severity).cmp(&crate::advisories::severity_rank(&b.severity)))
                    .then(a.advisory.cmp(&b.advisory))
                    .then(a.package.cmp(&b.package))
            });
            Ok(Some(out))
        }

        /// Every exposure window open before `to_ms` and not closed before `from_ms`, with its
        /// host's OS group and whether the host has fallen silent. Withdrawn advisories' windows
        /// are left out.
        pub(super) async fn exposure_windows(
            pool: &Pool,
            from_ms: i64,
            to_ms: i64,
            clock: &crate::query::Clock,
        ) -> StoreResult<Vec<crate::advisories::windows::Window>> {
            let rows: Vec<(String, String, String, String, i64, Option<i64>, Option<i64>)> = sqlx::query_as(
                "SELECT h.hostname, coalesce(g.name, '') AS os_group, a.severity, a.name, w.opened_at, w.closed_at, h.last_seen_at \
                 FROM exposure_windows w JOIN hosts h ON h.id = w.host_id JOIN advisories a ON a.id = w.advisory_id \
                 LEFT JOIN os_variants v ON v.id = h.os_variant_id LEFT JOIN os_groups g ON g.id = v.os_group_id \
                 WHERE w.closed_by <> 'withdrawn' AND w.opened_at < $2 AND (w.closed_at IS NULL OR w.closed_at >= $1) \
                 ORDER BY w.opened_at",
            )
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(hostname, group, severity, advisory, opened_ms, closed_ms, last_seen)| {
                    crate::advisories::windows::Window {
                        hostname,
                        group,
                        severity,
                        advisory,
                        opened_ms,
                        closed_ms,
                        silent: closed_ms.is_none() && last_seen.is_none_or(|t| t < clock.silent_before()),
                    }
                })
                .collect())
        }
    };
}

pub(crate) use portable_advisory_queries;
