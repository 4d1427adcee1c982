//! The update engine's queries, written once for both dialects (see `portable.rs`): loading
//! repositories and hosts for the engine, saving verdicts, replacing a repository's contents.
//! Each dialect's `bulk` module supplies `id_list`/`text_list` subqueries, their parameters,
//! `upsert_packages`, `host_package_ids` and `insert_host_updates`.

macro_rules! portable_update_queries {
    () => {
        use patchman_engine as engine;

        use super::bulk::{host_package_ids, id_list, ids_param, insert_host_updates, text_list, texts_param, upsert_packages};
        use crate::contents::RepoContents;
        use crate::store::known::KnownPackages;
        use crate::store::views::UpdateView;
        use crate::store::{HostWork, PackageRow, VerdictRecord};

        fn engine_kind(v: i64) -> StoreResult<engine::Kind> {
            match PackageKind::from_i64(v) {
                Some(PackageKind::Deb) => Ok(engine::Kind::Deb),
                Some(PackageKind::Rpm) => Ok(engine::Kind::Rpm),
                None => Err(StoreError::Corrupt(format!("package kind {v}"))),
            }
        }

        const PKG_COLUMNS: &str = "p.id, p.kind, p.name, p.epoch, p.version, p.release, p.arch";

        fn engine_pkg(r: &<Db as sqlx::Database>::Row) -> StoreResult<engine::Pkg> {
            Ok(engine::Pkg {
                id: r.get(0),
                kind: engine_kind(r.get(1))?,
                name: r.get::<String, _>(2).into(),
                epoch: r.get::<i64, _>(3) as u32,
                version: r.get::<String, _>(4).into(),
                release: r.get::<String, _>(5).into(),
                arch: r.get::<String, _>(6).into(),
            })
        }

        pub(super) async fn repo_revisions(pool: &Pool) -> StoreResult<Vec<(i64, i64)>> {
            Ok(sqlx::query_as("SELECT id, revision FROM repos WHERE enabled = $1").bind(true).fetch_all(pool).await?)
        }

        /// A repository as the engine needs it, with its revision.
        pub(super) async fn repo_data(pool: &Pool, repo_id: i64) -> StoreResult<Option<(i64, engine::RepoData)>> {
            let head: Option<(i64, bool, String, String)> =
                sqlx::query_as("SELECT revision, security, suite, repo_key FROM repos WHERE id = $1")
                    .bind(repo_id)
                    .fetch_optional(pool)
                    .await?;
            let Some((revision, security, suite, key)) = head else { return Ok(None) };
            let sql = format!("SELECT {PKG_COLUMNS} FROM repo_packages rp JOIN packages p ON p.id = rp.package_id WHERE rp.repo_id = $1");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo_id).fetch_all(pool).await?;
            let packages = rows.iter().map(engine_pkg).collect::<StoreResult<Vec<_>>>()?;

            let errata: Vec<(i64, String, String)> = sqlx::query_as(
                "SELECT e.id, e.name, e.kind FROM repo_errata re JOIN errata e ON e.id = re.erratum_id \
                 WHERE re.repo_id = $1 ORDER BY e.id",
            )
            .bind(repo_id)
            .fetch_all(pool)
            .await?;
            let sql = format!(
                "SELECT ep.erratum_id, {PKG_COLUMNS} FROM repo_errata re JOIN erratum_packages ep ON ep.erratum_id = re.erratum_id \
                 JOIN packages p ON p.id = ep.package_id WHERE re.repo_id = $1"
            );
            let fixed_rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo_id).fetch_all(pool).await?;
            let mut fixed: HashMap<i64, Vec<engine::Pkg>> = HashMap::new();
            for r in &fixed_rows {
                let erratum: i64 = r.get(0);
                let p = engine::Pkg {
                    id: r.get(1),
                    kind: engine_kind(r.get(2))?,
                    name: r.get::<String, _>(3).into(),
                    epoch: r.get::<i64, _>(4) as u32,
                    version: r.get::<String, _>(5).into(),
                    release: r.get::<String, _>(6).into(),
                    arch: r.get::<String, _>(7).into(),
                };
                fixed.entry(erratum).or_default().push(p);
            }
            let errata = errata
                .into_iter()
                .map(|(id, name, kind)| engine::Erratum {
                    name: name.into(),
                    security: kind.eq_ignore_ascii_case("security"),
                    fixed: fixed.remove(&id).unwrap_or_default(),
                })
                .collect();

            let modules: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, name, stream FROM repo_modules WHERE repo_id = $1 ORDER BY id")
                    .bind(repo_id)
                    .fetch_all(pool)
                    .await?;
            let artifacts: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT mp.module_id, mp.package_id FROM module_packages mp JOIN repo_modules m ON m.id = mp.module_id \
                 WHERE m.repo_id = $1",
            )
            .bind(repo_id)
            .fetch_all(pool)
            .await?;
            let mut by_module: HashMap<i64, Vec<i64>> = HashMap::new();
            for (m, p) in artifacts {
                by_module.entry(m).or_default().push(p);
            }
            let modules = modules
                .into_iter()
                .map(|(id, name, stream)| engine::ModuleStream {
                    name: name.into(),
                    stream: stream.into(),
                    artifacts: by_module.remove(&id).unwrap_or_default(),
                })
                .collect();
            let defaults: Vec<(String, String)> =
                sqlx::query_as("SELECT module, stream FROM repo_module_defaults WHERE repo_id = $1")
                    .bind(repo_id)
                    .fetch_all(pool)
                    .await?;
            let label = if suite.is_empty() { key } else { suite };
            Ok(Some((
                revision,
                engine::RepoData {
                    id: repo_id,
                    label: label.into(),
                    security,
                    packages,
                    modules,
                    module_defaults: defaults.into_iter().map(|(m, s)| (m.into(), s.into())).collect(),
                    errata,
                },
            )))
        }

        pub(super) async fn packages_by_ids(pool: &Pool, ids: &[i64]) -> StoreResult<Vec<engine::Pkg>> {
            let sql = format!("SELECT {PKG_COLUMNS} FROM packages p WHERE p.id IN ({})", id_list(1));
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(ids)).fetch_all(pool).await?;
            rows.iter().map(engine_pkg).collect()
        }

        /// What the engine needs of these hosts; the packages as ids.
        pub(super) async fn host_work(pool: &Pool, host_ids: &[i64]) -> StoreResult<Vec<HostWork>> {
            let ids = ids_param(host_ids);
            let sql = format!("SELECT id, state_version, kernel, arch FROM hosts WHERE id IN ({})", id_list(1));
            let hosts: Vec<(i64, i64, String, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&ids).fetch_all(pool).await?;
            let mut conn = pool.acquire().await?;
            let mut packages: HashMap<i64, Vec<i64>> = host_package_ids(&mut conn, host_ids).await?.into_iter().collect();
            drop(conn);
            let sql = format!(
                "SELECT hr.host_id, hr.repo_id, hr.priority FROM host_repos hr JOIN repos r ON r.id = hr.repo_id \
                 WHERE hr.enabled = $2 AND r.enabled = $2 AND hr.host_id IN ({})",
                id_list(1)
            );
            let own: Vec<(i64, i64, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&ids).bind(true).fetch_all(pool).await?;
            // Hosts that do not use only their own repositories also use their OS group's.
            let sql = format!(
                "SELECT h.id, gr.repo_id, r.kind FROM hosts h JOIN os_variants v ON v.id = h.os_variant_id \
                 JOIN os_group_repos gr ON gr.os_group_id = v.os_group_id JOIN repos r ON r.id = gr.repo_id \
                 WHERE h.use_host_repos = $2 AND r.enabled = $3 AND h.id IN ({})",
                id_list(1)
            );
            let group: Vec<(i64, i64, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&ids).bind(false).bind(true).fetch_all(pool).await?;
            let sql = format!("SELECT host_id, name, stream FROM host_modules WHERE host_id IN ({})", id_list(1));
            let modules: Vec<(i64, String, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&ids).fetch_all(pool).await?;

            let mut repos: HashMap<i64, Vec<(i64, i32)>> = HashMap::new();
            for (h, r, p) in own {
                repos.entry(h).or_default().push((r, p as i32));
            }
            for (h, r, kind) in group {
                let list = repos.entry(h).or_default();
                if !list.iter().any(|(id, _)| *id == r) {
                    // The default priority of the kind: apt 500, dnf 99.
                    list.push((r, if kind == PackageKind::Deb as i64 { 500 } else { 99 }));
                }
            }
            let mut enabled: HashMap<i64, Vec<(String, String)>> = HashMap::new();
            for (h, m, s) in modules {
                enabled.entry(h).or_default().push((m, s));
            }
            Ok(hosts
                .into_iter()
                .map(|(host_id, state_version, kernel, arch)| HostWork {
                    host_id,
                    state_version,
                    kernel,
                    arch,
                    package_ids: packages.remove(&host_id).unwrap_or_default(),
                    modules: enabled.remove(&host_id).unwrap_or_default(),
                    repos: repos.remove(&host_id).unwrap_or_default(),
                })
                .collect())
        }

        /// Every repository with its mirrors, package and host counts.
        pub(super) async fn repos(pool: &Pool) -> StoreResult<Vec<crate::store::views::RepoView>> {
            let rows = sqlx::query(
                "SELECT r.id, r.kind, r.name, r.repo_key, r.suite, r.component, r.arch, r.security, r.enabled, r.revision, \
                 (SELECT count(*) FROM repo_packages rp WHERE rp.repo_id = r.id), \
                 (SELECT count(*) FROM host_repos hr WHERE hr.repo_id = r.id), r.refreshed_at FROM repos r ORDER BY r.name, r.id",
            )
            .fetch_all(pool)
            .await?;
            let mirrors = sqlx::query(
                "SELECT repo_id, id, url, enabled, fail_count, last_error, last_success_at, valid_until_passed \
                 FROM mirrors ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            let mut by_repo: HashMap<i64, Vec<crate::store::views::MirrorView>> = HashMap::new();
            for m in &mirrors {
                by_repo.entry(m.get(0)).or_default().push(crate::store::views::MirrorView {
                    id: m.get(1),
                    url: m.get(2),
                    enabled: m.get(3),
                    fail_count: m.get(4),
                    last_error: m.get(5),
                    last_success_at: m.get(6),
                    valid_until_passed: m.get(7),
                });
            }
            rows.iter()
                .map(|r| {
                    let id: i64 = r.get(0);
                    Ok(crate::store::views::RepoView {
                        id,
                        kind: kind(r.get(1))?,
                        name: r.get(2),
                        repo_key: r.get(3),
                        suite: r.get(4),
                        component: r.get(5),
                        arch: r.get(6),
                        security: r.get(7),
                        enabled: r.get(8),
                        revision: r.get(9),
                        package_count: r.get(10),
                        host_count: r.get(11),
                        refreshed_at: r.get(12),
                        mirrors: by_repo.remove(&id).unwrap_or_default(),
                    })
                })
                .collect()
        }

        /// Enabled repositories (or one) with their mirrors, best first: enabled before disabled,
        /// fewest failures first.
        pub(super) async fn refresh_targets(pool: &Pool, only: Option<i64>) -> StoreResult<Vec<crate::store::RefreshTarget>> {
            let repos: Vec<(i64, i64, String, String, bool)> = sqlx::query_as(
                "SELECT id, kind, name, repo_key, security_manual FROM repos WHERE enabled = $1 AND ($2 IS NULL OR id = $2) ORDER BY id",
            )
            .bind(true)
            .bind(only)
            .fetch_all(pool)
            .await?;
            let mirrors = sqlx::query(
                "SELECT m.repo_id, m.id, m.url, m.url_kind, m.enabled, m.fail_count, m.checksum, m.etag, m.last_modified \
                 FROM mirrors m JOIN repos r ON r.id = m.repo_id WHERE r.enabled = $1 ORDER BY m.fail_count, m.id",
            )
            .bind(true)
            .fetch_all(pool)
            .await?;
            let mut by_repo: HashMap<i64, Vec<crate::store::MirrorState>> = HashMap::new();
            for m in &mirrors {
                let kind: i64 = m.get(3);
                by_repo.entry(m.get(0)).or_default().push(crate::store::MirrorState {
                    id: m.get(1),
                    url: m.get(2),
                    kind: crate::report::UrlKind::from_i64(kind).ok_or_else(|| StoreError::Corrupt(format!("url kind {kind}")))?,
                    enabled: m.get(4),
                    fail_count: m.get(5),
                    checksum: m.get(6),
                    etag: m.get(7),
                    last_modified: m.get(8),
                });
            }
            repos
                .into_iter()
                .map(|(id, k, name, key, security_manual)| {
                    Ok(crate::store::RefreshTarget {
                        repo_id: id,
                        kind: kind(k)?,
                        name,
                        repo_key: key,
                        security_manual,
                        mirrors: by_repo.remove(&id).unwrap_or_default(),
                    })
                })
                .collect()
        }

        /// Records one attempt at a mirror. A success resets its failure count; the
        /// `max_failures`-th failure in a row disables it. Returns whether it is now disabled.
        pub(super) async fn record_mirror(pool: &Pool, r: &crate::store::MirrorAttempt<'_>) -> StoreResult<bool> {
            let disabled: bool = if r.ok {
                sqlx::query(
                    "UPDATE mirrors SET last_attempt_at = $2, last_success_at = $2, fail_count = 0, last_error = '', \
                     checksum = coalesce($3, checksum), etag = $4, last_modified = $5, valid_until_passed = $6, enabled = $7 \
                     WHERE id = $1",
                )
                .bind(r.mirror_id)
                .bind(r.now)
                .bind(r.checksum)
                .bind(r.etag)
                .bind(r.last_modified)
                .bind(r.valid_until_passed)
                .bind(true)
                .execute(pool)
                .await?;
                false
            } else {
                sqlx::query_scalar(
                    "UPDATE mirrors SET last_attempt_at = $2, fail_count = fail_count + 1, last_error = $3, \
                     enabled = CASE WHEN fail_count + 1 >= $4 THEN $5 ELSE enabled END WHERE id = $1 RETURNING enabled",
                )
                .bind(r.mirror_id)
                .bind(r.now)
                .bind(r.error)
                .bind(r.max_failures)
                .bind(false)
                .fetch_optional(pool)
                .await?
                .is_some_and(|enabled: bool| !enabled)
            };
            Ok(disabled)
        }

        /// What the (In)Release says of an apt repository; the security flag follows it unless
        /// an administrator set it by hand.
        pub(super) async fn set_repo_release(
            pool: &Pool,
            repo_id: i64,
            origin: &str,
            label: &str,
            codename: &str,
            security: Option<bool>,
        ) -> StoreResult<()> {
            sqlx::query(
                "UPDATE repos SET release_origin = $2, release_label = $3, release_codename = $4, \
                 security = CASE WHEN security_manual = $6 OR $5 IS NULL THEN security ELSE $5 END WHERE id = $1",
            )
            .bind(repo_id)
            .bind(origin)
            .bind(label)
            .bind(codename)
            .bind(security)
            .bind(true)
            .execute(pool)
            .await?;
            Ok(())
        }

        /// Adds mirrors found in a mirrorlist or metalink; returns the repository's mirrors
        /// with those URLs (new or known).
        pub(super) async fn add_found_mirrors(
            pool: &Pool,
            repo_id: i64,
            urls: &[String],
            now: i64,
        ) -> StoreResult<Vec<crate::store::MirrorState>> {
            let mut out = Vec::new();
            for url in urls {
                sqlx::query(
                    "INSERT INTO mirrors (repo_id, url, url_kind, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (url) DO NOTHING",
                )
                .bind(repo_id)
                .bind(url)
                .bind(crate::report::UrlKind::Baseurl as i64)
                .bind(now)
                .execute(pool)
                .await?;
                let m = sqlx::query(
                    "SELECT id, url, enabled, fail_count, checksum, etag, last_modified FROM mirrors WHERE url = $1 AND repo_id = $2",
                )
                .bind(url)
                .bind(repo_id)
                .fetch_optional(pool)
                .await?;
                if let Some(m) = m {
                    out.push(crate::store::MirrorState {
                        id: m.get(0),
                        url: m.get(1),
                        kind: crate::report::UrlKind::Baseurl,
                        enabled: m.get(2),
                        fail_count: m.get(3),
                        checksum: m.get(4),
                        etag: m.get(5),
                        last_modified: m.get(6),
                    });
                }
            }
            Ok(out)
        }

        /// Moves everything of repository `gone` (mirrors, hosts, OS groups) to `keep` and
        /// deletes `gone`: they are one repository.
        pub(super) async fn merge_repos(pool: &Pool, keep: i64, gone: i64) -> StoreResult<()> {
            if keep == gone {
                return Ok(());
            }
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            sqlx::query("UPDATE mirrors SET repo_id = $1 WHERE repo_id = $2").bind(keep).bind(gone).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO host_repos (host_id, repo_id, priority, enabled) SELECT host_id, $1, priority, enabled \
                 FROM host_repos WHERE repo_id = $2 ON CONFLICT (host_id, repo_id) DO NOTHING",
            )
            .bind(keep)
            .bind(gone)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO os_group_repos (os_group_id, repo_id) SELECT os_group_id, $1 FROM os_group_repos \
                 WHERE repo_id = $2 ON CONFLICT DO NOTHING",
            )
            .bind(keep)
            .bind(gone)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE hosts SET updates_stale = $2, state_version = state_version + 1 \
                 WHERE id IN (SELECT host_id FROM host_repos WHERE repo_id = $1)",
            )
            .bind(gone)
            .bind(true)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM repos WHERE id = $1").bind(gone).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Pairs (keep, gone) of repositories that are one: rpm repositories with the same repo
        /// id whose mirrors serve the same metadata; apt repositories whose Release names the
        /// same origin, suite and component for the same architecture.
        pub(super) async fn duplicate_repos(pool: &Pool) -> StoreResult<Vec<(i64, i64)>> {
            Ok(sqlx::query_as(
                "SELECT min(a.id), b.id FROM repos a JOIN repos b ON b.id > a.id AND a.kind = b.kind AND ( \
                 (a.kind = $1 AND a.repo_key = b.repo_key AND EXISTS (SELECT 1 FROM mirrors ma JOIN mirrors mb \
                   ON ma.checksum = mb.checksum WHERE ma.repo_id = a.id AND mb.repo_id = b.id AND ma.checksum IS NOT NULL)) \
                 OR (a.kind = $2 AND a.release_origin <> '' AND a.release_origin = b.release_origin \
                   AND a.release_codename = b.release_codename AND a.component = b.component AND a.arch = b.arch)) \
                 GROUP BY b.id ORDER BY b.id",
            )
            .bind(PackageKind::Rpm as i64)
            .bind(PackageKind::Deb as i64)
            .fetch_all(pool)
            .await?)
        }

        pub(super) async fn stale_hosts(pool: &Pool, limit: i64) -> StoreResult<Vec<i64>> {
            Ok(sqlx::query_scalar("SELECT id FROM hosts WHERE updates_stale = $1 ORDER BY id LIMIT $2")
                .bind(true)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        }

        /// Marks every host (or those named) for recomputation.
        pub(super) async fn mark_stale(pool: &Pool, host_ids: Option<&[i64]>) -> StoreResult<u64> {
            let done = match host_ids {
                None => {
                    sqlx::query("UPDATE hosts SET updates_stale = $1, state_version = state_version + 1")
                        .bind(true)
                        .execute(pool)
                        .await?
                }
                Some(ids) => {
                    let sql = format!(
                        "UPDATE hosts SET updates_stale = $1, state_version = state_version + 1 WHERE id IN ({})",
                        id_list(2)
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(true).bind(ids_param(ids)).execute(pool).await?
                }
            };
            Ok(done.rows_affected())
        }

        pub(super) async fn host_id(pool: &Pool, hostname: &str) -> StoreResult<Option<i64>> {
            Ok(sqlx::query_scalar("SELECT id FROM hosts WHERE hostname = $1").bind(hostname).fetch_optional(pool).await?)
        }

        /// Saves verdicts computed from the hosts' current state; a verdict computed from an
        /// older state (the host changed meanwhile) is dropped. Returns how many were saved.
        pub(super) async fn save_verdicts(pool: &Pool, verdicts: &[VerdictRecord<'_>], now: i64) -> StoreResult<usize> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let mut saved = 0;
            for v in verdicts {
                let current: Option<Option<Vec<u8>>> =
                    sqlx::query_scalar("SELECT updates_digest FROM hosts WHERE id = $1 AND state_version = $2")
                        .bind(v.host_id)
                        .bind(v.state_version)
                        .fetch_optional(&mut *tx)
                        .await?;
                let Some(previous) = current else { continue };
                if previous.as_deref() != Some(&v.digest[..]) {
                    sqlx::query("DELETE FROM host_updates WHERE host_id = $1").bind(v.host_id).execute(&mut *tx).await?;
                    insert_host_updates(&mut tx, v.host_id, &v.verdict.updates).await?;
                    sqlx::query("DELETE FROM host_unknown_packages WHERE host_id = $1")
                        .bind(v.host_id)
                        .execute(&mut *tx)
                        .await?;
                    if !v.verdict.not_in_repos.is_empty() {
                        let sql = format!(
                            "INSERT INTO host_unknown_packages (host_id, package_id) SELECT $1, v FROM ({}) ids",
                            id_list(2)
                        );
                        sqlx::query(sqlx::AssertSqlSafe(sql))
                            .bind(v.host_id)
                            .bind(ids_param(&v.verdict.not_in_repos))
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                let security = v.verdict.updates.iter().filter(|u| u.security).count() as i64;
                let bugfix = v.verdict.updates.len() as i64 - security;
                sqlx::query(
                    "UPDATE hosts SET updates_stale = $3, updates_computed_at = $4, updates_digest = $5, \
                     security_update_count = $6, bugfix_update_count = $7, unknown_package_count = $8, \
                     kernel_reboot_reason = $9 WHERE id = $1 AND state_version = $2",
                )
                .bind(v.host_id)
                .bind(v.state_version)
                .bind(false)
                .bind(now)
                .bind(&v.digest[..])
                .bind(security)
                .bind(bugfix)
                .bind(v.verdict.not_in_repos.len() as i64)
                .bind(v.verdict.reboot.as_deref().unwrap_or(""))
                .execute(&mut *tx)
                .await?;
                saved += 1;
            }
            tx.commit().await?;
            Ok(saved)
        }

        /// A host's updates with package names, for `host show`.
        pub(super) async fn host_updates(pool: &Pool, host_id: i64) -> StoreResult<Vec<UpdateView>> {
            let rows = sqlx::query(
                "SELECT i.name, i.arch, i.epoch, i.version, i.release, c.name, c.epoch, c.version, c.release, \
                 u.security, u.kind, r.name, u.reason, u.erratum, c.arch FROM host_updates u \
                 JOIN packages i ON i.id = u.installed_id JOIN packages c ON c.id = u.candidate_id \
                 JOIN repos r ON r.id = u.repo_id WHERE u.host_id = $1 ORDER BY i.name, i.arch",
            )
            .bind(host_id)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .iter()
                .map(|r| {
                    let evr = |e: usize| format_evr(r.get::<i64, _>(e) as u32, &r.get::<String, _>(e + 1), &r.get::<String, _>(e + 2));
                    let kind: i64 = r.get(10);
                    UpdateView {
                        name: r.get(0),
                        arch: r.get(1),
                        installed: evr(2),
                        available: evr(6),
                        available_name: r.get(5),
                        available_arch: r.get(14),
                        security: r.get(9),
                        kernel: kind == 2,
                        repo: r.get(11),
                        reason: r.get(12),
                        erratum: r.get(13),
                    }
                })
                .collect())
        }

        /// Installed packages no repository of the host offers, as "name version arch".
        pub(super) async fn host_unknown_packages(pool: &Pool, host_id: i64) -> StoreResult<Vec<String>> {
            let rows: Vec<(String, i64, String, String, String)> = sqlx::query_as(
                "SELECT p.name, p.epoch, p.version, p.release, p.arch FROM host_unknown_packages u \
                 JOIN packages p ON p.id = u.package_id WHERE u.host_id = $1 ORDER BY p.name, p.arch",
            )
            .bind(host_id)
            .fetch_all(pool)
            .await?;
            Ok(rows.into_iter().map(|(n, e, v, r, a)| format!("{n} {} {a}", format_evr(e as u32, &v, &r))).collect())
        }

        /// Replaces what a repository offers. Returns whether anything changed; if so the
        /// repository's revision goes up and the hosts that use it are marked for recomputation.
        pub(super) async fn replace_repo_contents(
            pool: &Pool,
            known: &KnownPackages,
            repo_id: i64,
            contents: &RepoContents,
            now: i64,
        ) -> StoreResult<bool> {
            use crate::ingest::package_id;
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let all = contents
                .packages
                .iter()
                .chain(contents.errata.iter().flat_map(|e| e.packages.iter()))
                .chain(contents.modules.iter().flat_map(|m| m.artifacts.iter()));
            let mut rows: Vec<PackageRow> =
                all.map(|p| PackageRow { id: package_id(p), package: p, source_name: "", source_version: "" }).collect();
            rows.sort_by_key(|r| r.id);
            rows.dedup_by_key(|r| r.id);
            let unknown = known.unknown(rows.iter().map(|r| r.id));
            let mut wanted_new = unknown.iter().peekable();
            let new_rows: Vec<PackageRow> = rows.iter().filter(|r| wanted_new.next_if(|id| **id == r.id).is_some()).copied().collect();
            if !new_rows.is_empty() {
                if let Some(id) = upsert_packages(&mut tx, &new_rows).await? {
                    return Err(StoreError::PackageIdCollision(id));
                }
            }

            let mut wanted: Vec<i64> = contents.packages.iter().map(package_id).collect();
            wanted.sort_unstable();
            wanted.dedup();
            let mut current: Vec<i64> = sqlx::query_scalar("SELECT package_id FROM repo_packages WHERE repo_id = $1")
                .bind(repo_id)
                .fetch_all(&mut *tx)
                .await?;
            current.sort_unstable();
            let (added, removed) = crate::store::ingest_flow::sorted_difference(&current, &wanted);
            if !removed.is_empty() {
                let sql = format!("DELETE FROM repo_packages WHERE repo_id = $1 AND package_id IN ({})", id_list(2));
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo_id).bind(ids_param(&removed)).execute(&mut *tx).await?;
            }
            if !added.is_empty() {
                let sql = format!("INSERT INTO repo_packages (repo_id, package_id) SELECT $1, v FROM ({}) ids", id_list(2));
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo_id).bind(ids_param(&added)).execute(&mut *tx).await?;
            }

            let extras = extras_digest(contents);
            let stored: Option<Vec<u8>> = sqlx::query_scalar("SELECT extras_digest FROM repos WHERE id = $1")
                .bind(repo_id)
                .fetch_one(&mut *tx)
                .await?;
            let extras_changed = stored.as_deref() != Some(&extras[..]);
            if extras_changed {
                replace_extras(&mut tx, repo_id, contents).await?;
            }
            let changed = extras_changed || !added.is_empty() || !removed.is_empty();
            if changed {
                sqlx::query(
                    "UPDATE repos SET revision = revision + 1, refreshed_at = $2, extras_digest = $3 WHERE id = $1",
                )
                .bind(repo_id)
                .bind(now)
                .bind(&extras[..])
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "UPDATE hosts SET updates_stale = $2, state_version = state_version + 1 \
                     WHERE id IN (SELECT host_id FROM host_repos WHERE repo_id = $1) \
                     OR (use_host_repos = $3 AND os_variant_id IN (SELECT v.id FROM os_variants v \
                     JOIN os_group_repos gr ON gr.os_group_id = v.os_group_id WHERE gr.repo_id = $1))",
                )
                .bind(repo_id)
                .bind(true)
                .bind(false)
                .execute(&mut *tx)
                .await?;
            } else {
                sqlx::query("UPDATE repos SET refreshed_at = $2 WHERE id = $1").bind(repo_id).bind(now).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            known.remember(&unknown);
            Ok(changed)
        }

        /// Digest of the errata, modules and module defaults, to skip rewriting them unchanged.
        fn extras_digest(c: &RepoContents) -> [u8; 16] {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            let mut field = |s: &str| {
                h.update(&(s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            };
            for e in &c.errata {
                for s in [&e.name, &e.kind, &e.severity, &e.title] {
                    field(s);
                }
                field(&e.issued_ms.unwrap_or(0).to_string());
                for cve in &e.cves {
                    field(cve);
                }
                for p in &e.packages {
                    field(&crate::ingest::package_id(p).to_string());
                }
            }
            for m in &c.modules {
                for s in [&m.name, &m.stream, &m.version, &m.context, &m.arch] {
                    field(s);
                }
                for p in &m.artifacts {
                    field(&crate::ingest::package_id(p).to_string());
                }
            }
            for (m, s) in &c.module_defaults {
                field(m);
                field(s);
            }
            h.digest128().to_le_bytes()
        }

        async fn replace_extras(
            tx: &mut sqlx::Transaction<'static, Db>,
            repo_id: i64,
            c: &RepoContents,
        ) -> StoreResult<()> {
            use crate::ingest::package_id;
            let mut errata: Vec<&crate::contents::ErratumRecord> = c.errata.iter().collect();
            // Name order: concurrent refreshes sharing errata lock their rows in one order.
            errata.sort_by(|a, b| a.name.cmp(&b.name));
            let mut erratum_ids = Vec::with_capacity(errata.len());
            for e in errata {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO errata (name, kind, severity, issued_at, title) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (name) DO UPDATE SET kind = excluded.kind, severity = excluded.severity, \
                     issued_at = excluded.issued_at, title = excluded.title RETURNING id",
                )
                .bind(&e.name)
                .bind(&e.kind)
                .bind(&e.severity)
                .bind(e.issued_ms)
                .bind(&e.title)
                .fetch_one(&mut **tx)
                .await?;
                sqlx::query("DELETE FROM erratum_packages WHERE erratum_id = $1").bind(id).execute(&mut **tx).await?;
                let mut ids: Vec<i64> = e.packages.iter().map(package_id).collect();
                ids.sort_unstable();
                ids.dedup();
                let sql = format!("INSERT INTO erratum_packages (erratum_id, package_id) SELECT $1, v FROM ({}) ids", id_list(2));
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(ids_param(&ids)).execute(&mut **tx).await?;
                sqlx::query("DELETE FROM erratum_cves WHERE erratum_id = $1").bind(id).execute(&mut **tx).await?;
                let mut cves = e.cves.clone();
                cves.sort();
                cves.dedup();
                let sql = format!("INSERT INTO erratum_cves (erratum_id, cve) SELECT $1, v FROM ({}) cves", text_list(2));
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(texts_param(&cves)).execute(&mut **tx).await?;
                erratum_ids.push(id);
            }
            sqlx::query("DELETE FROM repo_errata WHERE repo_id = $1").bind(repo_id).execute(&mut **tx).await?;
            erratum_ids.sort_unstable();
            erratum_ids.dedup();
            let sql = format!("INSERT INTO repo_errata (repo_id, erratum_id) SELECT $1, v FROM ({}) ids", id_list(2));
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo_id).bind(ids_param(&erratum_ids)).execute(&mut **tx).await?;

            sqlx::query("DELETE FROM repo_modules WHERE repo_id = $1").bind(repo_id).execute(&mut **tx).await?;
            for m in &c.modules {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO repo_modules (repo_id, name, stream, version, context, arch) \
                     VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(repo_id)
                .bind(&m.name)
                .bind(&m.stream)
                .bind(&m.version)
                .bind(&m.context)
                .bind(&m.arch)
                .fetch_one(&mut **tx)
                .await?;
                let mut ids: Vec<i64> = m.artifacts.iter().map(package_id).collect();
                ids.sort_unstable();
                ids.dedup();
                let sql = format!("INSERT INTO module_packages (module_id, package_id) SELECT $1, v FROM ({}) ids", id_list(2));
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(ids_param(&ids)).execute(&mut **tx).await?;
            }
            sqlx::query("DELETE FROM repo_module_defaults WHERE repo_id = $1").bind(repo_id).execute(&mut **tx).await?;
            for (module, stream) in &c.module_defaults {
                sqlx::query(
                    "INSERT INTO repo_module_defaults (repo_id, module, stream) VALUES ($1, $2, $3) \
                     ON CONFLICT (repo_id, module) DO UPDATE SET stream = excluded.stream",
                )
                .bind(repo_id)
                .bind(module)
                .bind(stream)
                .execute(&mut **tx)
                .await?;
            }
            Ok(())
        }
    };
}

pub(crate) use portable_update_queries;
