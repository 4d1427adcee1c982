//! Queries written once for both dialects: plain SQL with `$n` parameters, no
//! dialect-specific functions. `portable_queries!` expands them inside each dialect's module,
//! where `Db` names that dialect's `sqlx::Database` and `BEGIN_WRITE` its write-transaction
//! statement.

macro_rules! portable_queries {
    () => {
        use std::collections::HashMap;

        use sqlx::Row as _;

        use crate::report::{ChangeAction, PackageKind, Trigger};
        use patchman_engine::format_evr;
        use crate::store::views::{
            ChangeView, HostDetail, HostRepoView, HostSummary, ModuleView, PackageView, ReportView, TransactionView,
        };
        use crate::store::{EnrollOutcome, Enrollment, StoreError, StoreResult};

        type Pool = sqlx::Pool<Db>;

        const SUMMARY: &str = "SELECT h.id, h.hostname, coalesce(d.name, '') AS domain, coalesce(g.name, '') AS os_group, \
             coalesce(v.name, '') AS os_variant, h.arch, h.kernel, h.package_count, \
             (SELECT count(*) FROM host_repos hr WHERE hr.host_id = h.id) AS repo_count, h.reboot_required, \
             h.last_seen_at, h.machine_id, h.os_id, h.os_pretty_name, h.os_cpe_name, h.reboot_reason, \
             h.use_host_repos, h.client_version, h.enrolled_at, h.last_changed_at, h.security_update_count, \
             h.bugfix_update_count, h.unknown_package_count, h.updates_stale, h.kernel_reboot_reason, h.updates_known, \
             h.view_disagreements, h.auth_kind, h.auth_detail, h.offered_known, h.duplicate_package_count \
             FROM hosts h LEFT JOIN domains d ON d.id = h.domain_id \
             LEFT JOIN os_variants v ON v.id = h.os_variant_id LEFT JOIN os_groups g ON g.id = v.os_group_id";

        fn summary(row: &<Db as sqlx::Database>::Row, tags: Vec<String>) -> StoreResult<HostSummary> {
            Ok(HostSummary {
                hostname: row.try_get("hostname")?,
                domain: row.try_get("domain")?,
                os_group: row.try_get("os_group")?,
                os_variant: row.try_get("os_variant")?,
                arch: row.try_get("arch")?,
                kernel: row.try_get("kernel")?,
                package_count: row.try_get("package_count")?,
                repo_count: row.try_get("repo_count")?,
                reboot_required: row.try_get::<bool, _>("reboot_required")?
                    || !row.try_get::<String, _>("kernel_reboot_reason")?.is_empty(),
                tags,
                last_seen_at: row.try_get("last_seen_at")?,
                security_updates: row.try_get("security_update_count")?,
                bugfix_updates: row.try_get("bugfix_update_count")?,
                unknown_packages: row.try_get("unknown_package_count")?,
                updates_current: !row.try_get::<bool, _>("updates_stale")?,
                updates_known: row.try_get("updates_known")?,
                view_disagreements: row.try_get("view_disagreements")?,
                unauthenticated: row.try_get::<i64, _>("auth_kind")? == crate::store::AuthKind::Network as i64,
                duplicate_packages: row.try_get("duplicate_package_count")?,
            })
        }

        /// Tag names per host id (all hosts, or one).
        async fn tags(pool: &Pool, host_id: Option<i64>) -> StoreResult<HashMap<i64, Vec<String>>> {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT ht.host_id, t.name FROM host_tags ht JOIN tags t ON t.id = ht.tag_id \
                 WHERE $1 IS NULL OR ht.host_id = $1 ORDER BY t.name",
            )
            .bind(host_id)
            .fetch_all(pool)
            .await?;
            let mut out: HashMap<i64, Vec<String>> = HashMap::new();
            for (host, tag) in rows {
                out.entry(host).or_default().push(tag);
            }
            Ok(out)
        }

        /// The tags an administrator gave the host (reports do not change them).
        async fn admin_tags(pool: &Pool, host_id: i64) -> StoreResult<Vec<String>> {
            Ok(sqlx::query_scalar(
                "SELECT t.name FROM host_tags ht JOIN tags t ON t.id = ht.tag_id \
                 WHERE ht.host_id = $1 AND ht.by_admin = $2 ORDER BY t.name",
            )
            .bind(host_id)
            .bind(true)
            .fetch_all(pool)
            .await?)
        }

        pub(super) async fn hosts(pool: &Pool) -> StoreResult<Vec<HostSummary>> {
            let sql = format!("{SUMMARY} ORDER BY h.hostname");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
            let mut tags = tags(pool, None).await?;
            rows.iter().map(|r| summary(r, tags.remove(&r.try_get::<i64, _>("id")?).unwrap_or_default())).collect()
        }

        /// A host's summary and its updates only (`ListHostUpdates`): no packages, reports or
        /// transactions read.
        pub(super) async fn host_update_list(
            pool: &Pool,
            hostname: &str,
        ) -> StoreResult<Option<(HostSummary, Vec<crate::store::views::UpdateView>)>> {
            let sql = format!("{SUMMARY} WHERE h.hostname = $1");
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hostname).fetch_optional(pool).await? else {
                return Ok(None);
            };
            let host_id: i64 = row.try_get("id")?;
            let (mut tags, updates) = tokio::try_join!(tags(pool, Some(host_id)), host_updates(pool, host_id))?;
            Ok(Some((summary(&row, tags.remove(&host_id).unwrap_or_default())?, updates)))
        }

        pub(super) async fn host(pool: &Pool, hostname: &str) -> StoreResult<Option<HostDetail>> {
            let sql = format!("{SUMMARY} WHERE h.hostname = $1");
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hostname).fetch_optional(pool).await? else {
                return Ok(None);
            };
            let host_id: i64 = row.try_get("id")?;
            let offered_known: bool = row.try_get("offered_known")?;
            // The sections are independent reads: asked at once, on the pool's connections.
            let (tags, admin_tags, packages, updates, packages_not_in_repos, repos, modules, reports, transactions, view_differences, token) = tokio::try_join!(
                tags(pool, Some(host_id)),
                admin_tags(pool, host_id),
                host_packages(pool, host_id),
                host_updates(pool, host_id),
                host_unknown_packages(pool, host_id),
                host_repos(pool, host_id),
                host_modules(pool, host_id),
                host_reports(pool, host_id, 10),
                host_transactions(pool, host_id),
                async { if offered_known { view_differences(pool, host_id).await } else { Ok(Vec::new()) } },
                host_token(pool, host_id),
            )?;
            let tags = { let mut tags = tags; tags.remove(&host_id).unwrap_or_default() };
            Ok(Some(HostDetail {
                summary: summary(&row, tags)?,
                admin_tags,
                machine_id: row.try_get("machine_id")?,
                os_id: row.try_get("os_id")?,
                os_pretty_name: row.try_get("os_pretty_name")?,
                os_cpe_name: row.try_get("os_cpe_name")?,
                reboot_reason: {
                    let host: String = row.try_get("reboot_reason")?;
                    let kernel: String = row.try_get("kernel_reboot_reason")?;
                    [host, kernel].into_iter().filter(|r| !r.is_empty()).collect::<Vec<_>>().join("; ")
                },
                use_host_repos: row.try_get("use_host_repos")?,
                client_version: row.try_get("client_version")?,
                enrolled_at: row.try_get("enrolled_at")?,
                last_changed_at: row.try_get("last_changed_at")?,
                packages,
                updates,
                packages_not_in_repos,
                repos,
                modules,
                reports,
                transactions,
                reported_with: crate::store::views::ReportedWith {
                    kind: crate::store::AuthKind::from_i64(row.try_get("auth_kind")?),
                    detail: row.try_get("auth_detail")?,
                },
                offered_known,
                view_differences,
                token,
            }))
        }

        /// The host's token: when it was issued, with which enrollment key, and when it was last
        /// used (the host's last report, when that report came with this token).
        async fn host_token(pool: &Pool, host_id: i64) -> StoreResult<Option<crate::store::views::HostTokenView>> {
            let row: Option<(i64, String, Option<i64>, i64)> = sqlx::query_as(
                "SELECT t.created_at, h.enrolled_with, h.last_seen_at, h.auth_kind FROM host_tokens t \
                 JOIN hosts h ON h.id = t.host_id WHERE t.host_id = $1 ORDER BY t.created_at DESC LIMIT 1",
            )
            .bind(host_id)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(issued_at, enrolled_with, last_seen, auth_kind)| crate::store::views::HostTokenView {
                issued_at,
                enrolled_with,
                last_used_at: last_seen.filter(|&t| {
                    t >= issued_at && crate::store::AuthKind::from_i64(auth_kind) == crate::store::AuthKind::HostToken
                }),
            }))
        }

        /// Where the host's own view of its updates and the verdict differ (`host_view_sql`):
        /// what the host offers that the verdict does not match, then what the server finds
        /// that the host offers nothing for; one line per package and arch.
        async fn view_differences(pool: &Pool, host_id: i64) -> StoreResult<Vec<crate::store::views::ViewDifference>> {
            use crate::store::host_view_sql;
            let read = |sql: String| async move {
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(host_id).fetch_all(pool).await?;
                rows.iter()
                    .map(|r| {
                        let evr = format_evr(r.try_get::<i64, _>("epoch")? as u32, &r.try_get::<String, _>("version")?, &r.try_get::<String, _>("release")?);
                        let kind = if r.try_get("security")? { "security" } else { "bugfix" };
                        Ok((r.try_get::<String, _>("name")?, r.try_get::<String, _>("arch")?, format!("{evr} ({kind})")))
                    })
                    .collect::<StoreResult<Vec<(String, String, String)>>>()
            };
            let (offered, found) = tokio::try_join!(read(host_view_sql::offered_unmatched()), read(host_view_sql::found_unoffered()))?;
            let mut out: Vec<crate::store::views::ViewDifference> = Vec::new();
            for (name, arch, host) in offered {
                // What the server finds for it, if anything, to show beside.
                let server = sqlx::query(
                    "SELECT c.epoch, c.version, c.release, u.security FROM host_updates u JOIN packages c ON c.id = u.candidate_id \
                     WHERE u.host_id = $1 AND u.kind = 1 AND c.name = $2 AND ($3 = '' OR c.arch = $3) ORDER BY c.id LIMIT 1",
                )
                .bind(host_id)
                .bind(&name)
                .bind(&arch)
                .fetch_optional(pool)
                .await?
                .map(|r| -> StoreResult<String> {
                    let evr = format_evr(r.try_get::<i64, _>("epoch")? as u32, &r.try_get::<String, _>("version")?, &r.try_get::<String, _>("release")?);
                    Ok(format!("{evr} ({})", if r.try_get("security")? { "security" } else { "bugfix" }))
                })
                .transpose()?;
                out.push(crate::store::views::ViewDifference { name, arch, host: Some(host), server });
            }
            for (name, arch, server) in found {
                if !out.iter().any(|d| d.name == name && d.arch == arch) {
                    out.push(crate::store::views::ViewDifference { name, arch, host: None, server: Some(server) });
                }
            }
            Ok(out)
        }

        fn kind(v: i64) -> StoreResult<PackageKind> {
            PackageKind::from_i64(v).ok_or_else(|| StoreError::Corrupt(format!("package kind {v}")))
        }

        async fn host_packages(pool: &Pool, host_id: i64) -> StoreResult<Vec<PackageView>> {
            let rows = sqlx::query(
                "SELECT p.name, p.epoch, p.version, p.release, p.arch, p.kind, p.source_name FROM host_packages hp \
                 JOIN packages p ON p.id = hp.package_id WHERE hp.host_id = $1 \
                 ORDER BY p.name, p.arch, p.epoch, p.version, p.release",
            )
            .bind(host_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let epoch: i64 = r.try_get("epoch")?;
                    let version: String = r.try_get("version")?;
                    let release: String = r.try_get("release")?;
                    Ok(PackageView {
                        name: r.try_get("name")?,
                        evr: format_evr(epoch as u32, &version, &release),
                        epoch,
                        version,
                        release,
                        arch: r.try_get("arch")?,
                        kind: kind(r.try_get("kind")?)?,
                        source_name: r.try_get("source_name")?,
                    })
                })
                .collect()
        }

        async fn host_repos(pool: &Pool, host_id: i64) -> StoreResult<Vec<HostRepoView>> {
            let rows = sqlx::query(
                "SELECT r.id, r.name, r.kind, r.repo_key, hr.priority, hr.enabled, r.security \
                 FROM host_repos hr JOIN repos r ON r.id = hr.repo_id WHERE hr.host_id = $1 ORDER BY r.name, r.id",
            )
            .bind(host_id)
            .fetch_all(pool)
            .await?;
            let urls: Vec<(i64, String)> = sqlx::query_as(
                "SELECT m.repo_id, m.url FROM host_repos hr JOIN mirrors m ON m.repo_id = hr.repo_id \
                 WHERE hr.host_id = $1 ORDER BY m.id",
            )
            .bind(host_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let id: i64 = r.try_get("id")?;
                    Ok(HostRepoView {
                        id,
                        name: r.try_get("name")?,
                        kind: kind(r.try_get("kind")?)?,
                        repo_key: r.try_get("repo_key")?,
                        priority: r.try_get("priority")?,
                        enabled: r.try_get("enabled")?,
                        security: r.try_get("security")?,
                        urls: urls.iter().filter(|(repo, _)| *repo == id).map(|(_, u)| u.clone()).collect(),
                    })
                })
                .collect()
        }

        async fn host_modules(pool: &Pool, host_id: i64) -> StoreResult<Vec<ModuleView>> {
            let rows: Vec<(String, String, String)> = sqlx::query_as(
                "SELECT name, stream, profiles FROM host_modules WHERE host_id = $1 ORDER BY name, stream",
            )
            .bind(host_id)
            .fetch_all(pool)
            .await?;
            Ok(rows.into_iter().map(|(name, stream, profiles)| ModuleView { name, stream, profiles }).collect())
        }

        /// A host's reports, newest first, as many as kept (`patchman report list`).
        pub(super) async fn report_history(pool: &Pool, hostname: &str) -> StoreResult<Option<Vec<ReportView>>> {
            let Some(id) = host_id(pool, hostname).await? else { return Ok(None) };
            Ok(Some(host_reports(pool, id, i64::MAX).await?))
        }

        /// The transactions that arrived with a report of the host (`patchman report show`).
        pub(super) async fn report_transactions(
            pool: &Pool,
            hostname: &str,
            report_id: &str,
        ) -> StoreResult<Vec<TransactionView>> {
            let ids: Vec<i64> = sqlx::query_scalar(
                "SELECT t.id FROM transactions t JOIN hosts h ON h.id = t.host_id \
                 JOIN reports r ON r.host_id = h.id AND r.received_at = t.received_at \
                 WHERE h.hostname = $1 AND r.report_id = $2 ORDER BY t.finished_at, t.id",
            )
            .bind(hostname)
            .bind(report_id)
            .fetch_all(pool)
            .await?;
            Ok(transactions_by_id(pool, &ids).await?.into_iter().map(|(_, t)| t).collect())
        }

        async fn host_reports(pool: &Pool, host_id: i64, limit: i64) -> StoreResult<Vec<ReportView>> {
            let rows = sqlx::query(
                "SELECT report_id, generated_at, received_at, trigger, package_count, added, removed, outcome \
                 FROM reports WHERE host_id = $1 ORDER BY received_at DESC, id DESC LIMIT $2",
            )
            .bind(host_id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(ReportView {
                        report_id: r.try_get("report_id")?,
                        generated_at: r.try_get("generated_at")?,
                        received_at: r.try_get("received_at")?,
                        trigger: Trigger::from_i64(r.try_get("trigger")?).map_or("unknown", Trigger::as_str).to_owned(),
                        package_count: r.try_get("package_count")?,
                        added: r.try_get("added")?,
                        removed: r.try_get("removed")?,
                        superseded: r.try_get::<i64, _>("outcome")? == crate::store::REPORT_SUPERSEDED,
                    })
                })
                .collect()
        }

        async fn host_transactions(pool: &Pool, host_id: i64) -> StoreResult<Vec<TransactionView>> {
            let ids: Vec<i64> =
                sqlx::query_scalar("SELECT id FROM transactions WHERE host_id = $1 ORDER BY finished_at, id")
                    .bind(host_id)
                    .fetch_all(pool)
                    .await?;
            Ok(transactions_by_id(pool, &ids).await?.into_iter().map(|(_, t)| t).collect())
        }

        /// These transactions with their changes and host names, in the order of `ids`.
        pub(super) async fn transactions_by_id(pool: &Pool, ids: &[i64]) -> StoreResult<Vec<(String, TransactionView)>> {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT t.id, h.hostname, t.transaction_id, t.finished_at, t.tool, c.action, c.name, c.arch, \
                 c.old_version, c.new_version FROM transactions t JOIN hosts h ON h.id = t.host_id \
                 LEFT JOIN transaction_changes c ON c.transaction_id = t.id WHERE t.id IN ({}) ORDER BY t.id, c.seq",
                list.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in ids {
                q = q.bind(*id);
            }
            let rows = q.fetch_all(pool).await?;
            let mut by_id: HashMap<i64, (String, TransactionView)> = HashMap::new();
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                if !by_id.contains_key(&id) {
                    let t = TransactionView {
                        transaction_id: r.try_get("transaction_id")?,
                        finished_at: r.try_get("finished_at")?,
                        tool: r.try_get("tool")?,
                        changes: Vec::new(),
                    };
                    by_id.insert(id, (r.try_get("hostname")?, t));
                }
                let Some(action) = r.try_get::<Option<i64>, _>("action")? else { continue };
                if let Some((_, t)) = by_id.get_mut(&id) {
                    t.changes.push(ChangeView {
                        action: ChangeAction::from_i64(action).map_or("unknown", ChangeAction::as_str).to_owned(),
                        name: r.try_get("name")?,
                        arch: r.try_get("arch")?,
                        old_version: r.try_get("old_version")?,
                        new_version: r.try_get("new_version")?,
                    });
                }
            }
            Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
        }

        /// Errata, newest first, with their CVEs, package counts and how many hosts need an
        /// update they name.
        pub(super) async fn errata(
            pool: &Pool,
            page: crate::query::PageRequest,
        ) -> StoreResult<crate::query::Paged<crate::store::views::ErratumView>> {
            let total: i64 = sqlx::query_scalar("SELECT count(*) FROM errata").fetch_one(pool).await?;
            let rows = sqlx::query(
                "SELECT e.id, e.name, e.kind, e.severity, e.issued_at, e.title, \
                 (SELECT count(*) FROM erratum_packages ep WHERE ep.erratum_id = e.id) AS packages FROM errata e \
                 ORDER BY (CASE WHEN e.issued_at IS NULL THEN 1 ELSE 0 END), e.issued_at DESC, e.name LIMIT $1 OFFSET $2",
            )
            .bind(i64::from(page.per_page))
            .bind(page.offset() as i64)
            .fetch_all(pool)
            .await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
            let names: Vec<String> = rows.iter().map(|r| r.try_get("name")).collect::<Result<_, _>>()?;
            let mut cves: HashMap<i64, Vec<String>> = HashMap::new();
            let mut hosts: HashMap<String, i64> = HashMap::new();
            if !ids.is_empty() {
                let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "SELECT erratum_id, cve FROM erratum_cves WHERE erratum_id IN ({}) ORDER BY cve",
                    list.join(", ")
                );
                let mut q = sqlx::query_as::<_, (i64, String)>(sqlx::AssertSqlSafe(sql));
                for id in &ids {
                    q = q.bind(*id);
                }
                for (id, cve) in q.fetch_all(pool).await? {
                    cves.entry(id).or_default().push(cve);
                }
                let sql = format!(
                    "SELECT erratum, count(DISTINCT host_id) AS hosts FROM host_updates WHERE erratum IN ({}) GROUP BY erratum",
                    list.join(", ")
                );
                let mut q = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
                for name in &names {
                    q = q.bind(name.clone());
                }
                hosts = q.fetch_all(pool).await?.into_iter().collect();
            }
            let rows = rows
                .iter()
                .map(|r| {
                    let id: i64 = r.try_get("id")?;
                    let name: String = r.try_get("name")?;
                    Ok(crate::store::views::ErratumView {
                        hosts: hosts.get(&name).copied().unwrap_or(0),
                        name,
                        kind: r.try_get("kind")?,
                        severity: r.try_get("severity")?,
                        issued_at: r.try_get("issued_at")?,
                        title: r.try_get("title")?,
                        cves: cves.remove(&id).unwrap_or_default(),
                        packages: r.try_get("packages")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(crate::query::Paged { total: total as u64, rows })
        }

        /// The newest migration applied (sqlx's own table).
        pub(super) async fn schema_version(pool: &Pool) -> StoreResult<i64> {
            let version: Option<i64> =
                sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success").fetch_one(pool).await?;
            Ok(version.unwrap_or(0))
        }

        /// Hosts stale as a whole, and hosts with stale names.
        pub(super) async fn recompute_queue(pool: &Pool) -> StoreResult<i64> {
            Ok(sqlx::query_scalar(
                "SELECT count(*) FROM hosts WHERE updates_stale OR id IN (SELECT host_id FROM host_stale_packages)",
            )
            .fetch_one(pool)
            .await?)
        }

        pub(super) async fn setting(pool: &Pool, key: &str) -> StoreResult<Option<String>> {
            Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(pool).await?)
        }

        pub(super) async fn setting_or_insert(pool: &Pool, key: &str, value: &str) -> StoreResult<String> {
            sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                .bind(key)
                .bind(value)
                .execute(pool)
                .await?;
            Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_one(pool).await?)
        }

        pub(super) async fn enroll(
            pool: &Pool,
            e: &Enrollment<'_>,
            key_hash: Option<&crate::auth::TokenHash>,
        ) -> StoreResult<EnrollOutcome> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let key = match key_hash {
                Some(hash) => match take_enrollment_key(&mut tx, hash, e.now_ms).await? {
                    Ok(key) => Some(key),
                    Err(why) => return Ok(EnrollOutcome::KeyRefused(why)),
                },
                None => None,
            };
            let existing: Option<(i64, String, i64)> = sqlx::query_as(
                "SELECT h.id, h.machine_id, (SELECT count(*) FROM host_tokens t WHERE t.host_id = h.id) \
                 FROM hosts h WHERE h.hostname = $1",
            )
            .bind(e.hostname)
            .fetch_optional(&mut *tx)
            .await?;
            let host_id: i64 = match existing {
                None => {
                    sqlx::query_scalar(
                        "INSERT INTO hosts (hostname, machine_id, enrolled_at) VALUES ($1, $2, $3) RETURNING id",
                    )
                    .bind(e.hostname)
                    .bind(e.machine_id)
                    .bind(e.now_ms)
                    .fetch_one(&mut *tx)
                    .await?
                }
                Some((id, machine_id, tokens)) => {
                    let same_machine = !machine_id.is_empty() && machine_id == e.machine_id;
                    if !(same_machine || tokens == 0) {
                        return Ok(EnrollOutcome::Conflict);
                    }
                    sqlx::query("DELETE FROM host_tokens WHERE host_id = $1").bind(id).execute(&mut *tx).await?;
                    sqlx::query("UPDATE hosts SET machine_id = $1 WHERE id = $2")
                        .bind(e.machine_id)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    id
                }
            };
            sqlx::query("INSERT INTO host_tokens (token_hash, host_id, created_at) VALUES ($1, $2, $3)")
                .bind(&e.token_hash.0[..])
                .bind(host_id)
                .bind(e.now_ms)
                .execute(&mut *tx)
                .await?;
            if let Some((name, tags)) = key {
                give_key_tags(&mut tx, host_id, &name, &tags).await?;
            }
            tx.commit().await?;
            Ok(EnrollOutcome::Enrolled)
        }

        /// The unchanged fast path: refresh last-seen if the state's wire digest matches.
        pub(super) async fn touch_if_unchanged(
            conn: &mut <Db as sqlx::Database>::Connection,
            credential: &crate::store::Credential,
            hostname: &str,
            wire_digest: &[u8; 16],
            generated_at: i64,
            now: i64,
        ) -> StoreResult<Option<u32>> {
            use crate::store::{AuthKind, Credential};
            const SET: &str = "UPDATE hosts SET last_seen_at = $1, last_generated_at = $2 WHERE hostname = $3 \
                 AND wire_digest = $4 AND coalesce(last_generated_at, 0) <= $2";
            // A host without a token of its own, last reported with the same credential.
            const SITE: &str = "AND NOT EXISTS (SELECT 1 FROM host_tokens t WHERE t.host_id = hosts.id) \
                 AND auth_kind = $5 AND auth_detail =";
            let sql = match credential {
                Credential::Host(_) => format!("{SET} AND id = (SELECT host_id FROM host_tokens WHERE token_hash = $5)"),
                Credential::ApiKey(_) => format!(
                    "{SET} {SITE} (SELECT name FROM api_keys WHERE key_hash = $6 AND role = 'upload' \
                     AND (expires_at IS NULL OR expires_at > $1))"
                ),
                Credential::Network(_) => format!("{SET} {SITE} $6"),
            };
            let query = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("{sql} RETURNING package_count")))
                .bind(now)
                .bind(generated_at)
                .bind(hostname)
                .bind(&wire_digest[..]);
            let query = match credential {
                Credential::Host(hash) => query.bind(&hash.0[..]),
                Credential::ApiKey(hash) => query.bind(AuthKind::ApiKey as i64).bind(&hash.0[..]),
                Credential::Network(address) => query.bind(AuthKind::Network as i64).bind(address.as_str()),
            };
            let count: Option<i64> = query.fetch_optional(&mut *conn).await?;
            if count.is_some() {
                record_host_event(&mut *conn, hostname, now, false).await?;
            }
            if let (Some(_), Credential::ApiKey(hash)) = (count, credential) {
                sqlx::query(
                    "UPDATE api_keys SET last_used_at = $1 WHERE key_hash = $2 \
                     AND (last_used_at IS NULL OR last_used_at < $1 - 60000)",
                )
                .bind(now)
                .bind(&hash.0[..])
                .execute(&mut *conn)
                .await?;
            }
            Ok(count.map(|c| c as u32))
        }

        pub(super) async fn register_job(pool: &Pool, name: &str, interval_ms: i64, first_due: i64) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO jobs (name, interval_ms, due_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET interval_ms = excluded.interval_ms",
            )
            .bind(name)
            .bind(interval_ms)
            .bind(first_due)
            .execute(pool)
            .await?;
            Ok(())
        }

        /// Claims the job due longest ago whose lease is free or expired, and records the run.
        pub(super) async fn claim_job(
            pool: &Pool,
            owner: &str,
            now: i64,
            lease_ms: i64,
        ) -> StoreResult<Option<crate::store::ClaimedJob>> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let claimed: Option<(String, i64, i64)> = sqlx::query_as(CLAIM_JOB)
                .bind(owner)
                .bind(now)
                .bind(now + lease_ms)
                .fetch_optional(&mut *tx)
                .await?;
            let Some((name, due_at, interval_ms)) = claimed else { return Ok(None) };
            let attempt: i64 = sqlx::query_scalar(
                "INSERT INTO job_runs (name, due_at, owner, started_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name, due_at) DO UPDATE SET owner = excluded.owner, \
                 attempts = job_runs.attempts + 1, started_at = excluded.started_at RETURNING attempts",
            )
            .bind(&name)
            .bind(due_at)
            .bind(owner)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(crate::store::ClaimedJob { name, due_at, interval_ms, attempt }))
        }

        /// Extends the lease; false when another owner has taken the job over.
        pub(super) async fn renew_job(pool: &Pool, name: &str, owner: &str, until: i64) -> StoreResult<bool> {
            let done = sqlx::query("UPDATE jobs SET lease_until = $1 WHERE name = $2 AND lease_owner = $3")
                .bind(until)
                .bind(name)
                .bind(owner)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        /// Marks the run finished and schedules the next; false when the lease was lost.
        pub(super) async fn finish_job(
            pool: &Pool,
            job: &crate::store::ClaimedJob,
            owner: &str,
            now: i64,
            next_due: i64,
        ) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let done = sqlx::query(
                "UPDATE jobs SET due_at = $1, lease_owner = NULL, lease_until = NULL, runs = runs + 1 \
                 WHERE name = $2 AND lease_owner = $3 AND due_at = $4",
            )
            .bind(next_due)
            .bind(&job.name)
            .bind(owner)
            .bind(job.due_at)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            sqlx::query("UPDATE job_runs SET finished_at = $1 WHERE name = $2 AND due_at = $3")
                .bind(now)
                .bind(&job.name)
                .bind(job.due_at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(true)
        }

        pub(super) async fn jobs(pool: &Pool) -> StoreResult<Vec<crate::store::views::JobView>> {
            let rows: Vec<(String, i64, i64, Option<String>, Option<i64>, i64)> = sqlx::query_as(
                "SELECT name, interval_ms, due_at, lease_owner, lease_until, runs FROM jobs ORDER BY name",
            )
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(name, interval_ms, due_at, lease_owner, lease_until, runs)| crate::store::views::JobView {
                    name,
                    interval_ms,
                    due_at,
                    lease_owner,
                    lease_until,
                    runs,
                })
                .collect())
        }

        /// Keeps the newest `keep` report rows of each host and transactions newer than
        /// `transactions_before`; returns how many rows went.
        pub(super) async fn prune_reports(pool: &Pool, keep: i64, transactions_before: i64) -> StoreResult<u64> {
            let reports = sqlx::query(
                "DELETE FROM reports WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER \
                 (PARTITION BY host_id ORDER BY received_at DESC, id DESC) AS n FROM reports) r WHERE r.n > $1)",
            )
            .bind(keep)
            .execute(pool)
            .await?;
            let transactions = sqlx::query("DELETE FROM transactions WHERE finished_at < $1")
                .bind(transactions_before)
                .execute(pool)
                .await?;
            // A watcher may resume from a cursor up to a week old.
            sqlx::query("DELETE FROM host_events WHERE at < $1")
                .bind(crate::clock::now_ms() - crate::store::HOST_EVENTS_KEPT_MS)
                .execute(pool)
                .await?;
            Ok(reports.rows_affected() + transactions.rows_affected())
        }

        /// `patchman clean`: reports beyond `keep` per host, transactions finished before
        /// `transactions_before`, repositories no host or OS group uses, then packages nothing
        /// refers to any more. One transaction; `dry_run` rolls it back, so the counts are what
        /// a real run deletes. Package rows go only after `packages_generation` is bumped (see
        /// `known`), with their referring tables locked against writers on PostgreSQL.
        pub(super) async fn clean(
            pool: &Pool,
            keep: i64,
            transactions_before: i64,
            dry_run: bool,
        ) -> StoreResult<crate::store::CleanCounts> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            if !LOCK_PACKAGE_REFERENCES.is_empty() {
                sqlx::query(LOCK_PACKAGE_REFERENCES).execute(&mut *tx).await?;
            }
            let reports = sqlx::query(
                "DELETE FROM reports WHERE id IN (SELECT id FROM (SELECT id, row_number() OVER \
                 (PARTITION BY host_id ORDER BY received_at DESC, id DESC) AS n FROM reports) r WHERE r.n > $1)",
            )
            .bind(keep)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let transactions = sqlx::query("DELETE FROM transactions WHERE finished_at < $1")
                .bind(transactions_before)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let repositories = sqlx::query(
                "DELETE FROM repos WHERE NOT EXISTS (SELECT 1 FROM host_repos hr WHERE hr.repo_id = repos.id) \
                 AND NOT EXISTS (SELECT 1 FROM os_group_repos g WHERE g.repo_id = repos.id)",
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            const ORPHANS: &str = "FROM packages WHERE id NOT IN (SELECT package_id FROM host_packages \
                 UNION SELECT package_id FROM repo_packages UNION SELECT package_id FROM erratum_packages \
                 UNION SELECT package_id FROM module_packages UNION SELECT package_id FROM host_unknown_packages \
                 UNION SELECT installed_id FROM host_updates UNION SELECT candidate_id FROM host_updates)";
            let orphans: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) {ORPHANS}")))
                .fetch_one(&mut *tx)
                .await?;
            if orphans > 0 {
                let generation = packages_generation(&mut tx).await?;
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2",
                )
                .bind(crate::store::known::PACKAGES_GENERATION)
                .bind((generation + 1).to_string())
                .execute(&mut *tx)
                .await?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE {ORPHANS}"))).execute(&mut *tx).await?;
            }
            if dry_run {
                tx.rollback().await?;
            } else {
                tx.commit().await?;
            }
            Ok(crate::store::CleanCounts { reports, transactions, repositories, packages: orphans as u64 })
        }

        /// Gives a host a tag that reports do not remove (`present`), or takes a tag away
        /// (a tag the host reports comes back with its next changed report). False when there
        /// is no such host.
        /// Gives a host a tag as an administrator's (its reports do not remove it).
        async fn give_admin_tag(tx: &mut sqlx::Transaction<'_, Db>, host_id: i64, tag: &str) -> StoreResult<()> {
            sqlx::query("INSERT INTO tags (name) VALUES ($1) ON CONFLICT (name) DO NOTHING").bind(tag).execute(&mut **tx).await?;
            sqlx::query(
                "INSERT INTO host_tags (host_id, tag_id, by_admin) SELECT $1, id, $3 FROM tags WHERE name = $2 \
                 ON CONFLICT (host_id, tag_id) DO UPDATE SET by_admin = $3",
            )
            .bind(host_id)
            .bind(tag)
            .bind(true)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        pub(super) async fn set_host_tag(pool: &Pool, hostname: &str, tag: &str, present: bool) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let Some(host_id) = sqlx::query_scalar::<_, i64>("SELECT id FROM hosts WHERE hostname = $1")
                .bind(hostname)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(false);
            };
            if present {
                give_admin_tag(&mut tx, host_id, tag).await?;
            } else {
                sqlx::query(
                    "DELETE FROM host_tags WHERE host_id = $1 AND tag_id IN (SELECT id FROM tags WHERE name = $2)",
                )
                .bind(host_id)
                .bind(tag)
                .execute(&mut *tx)
                .await?;
            }
            record_host_event(&mut *tx, hostname, crate::clock::now_ms(), false).await?;
            tx.commit().await?;
            Ok(true)
        }

        pub(super) async fn delete_host(pool: &Pool, hostname: &str) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let done = sqlx::query("DELETE FROM hosts WHERE hostname = $1").bind(hostname).execute(&mut *tx).await?;
            if done.rows_affected() > 0 {
                record_host_event(&mut *tx, hostname, crate::clock::now_ms(), true).await?;
            }
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        }
    };
}

pub(crate) use portable_queries;
