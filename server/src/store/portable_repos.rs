//! Repository queries, written once for both dialects (see `portable.rs`): the repository
//! list, refresh targets and mirror attempts, merging repositories that are one, replacing a
//! repository's contents. Expanded after `portable_queries!` and `portable_update_queries!` in
//! the same module, it uses their imports.

/// The hosts `h` that use repository `$1` (`$2` bound to false): its own repository, or its OS
/// group's when it does not use only its own.
pub(super) const USES_REPO: &str = "(h.id IN (SELECT host_id FROM host_repos WHERE repo_id = $1) \
     OR (h.use_host_repos = $2 AND h.os_variant_id IN (SELECT v.id FROM os_variants v \
     JOIN os_group_repos gr ON gr.os_group_id = v.os_group_id WHERE gr.repo_id = $1)))";

macro_rules! portable_repo_queries {
    () => {
        /// Every repository with its mirrors, package and host counts.
        pub(super) async fn repos(pool: &Pool) -> StoreResult<Vec<crate::store::views::RepoView>> {
            let rows = sqlx::query(
                "SELECT r.id, r.kind, r.name, r.repo_key, r.suite, r.component, r.arch, r.security, r.security_manual, r.enabled, r.revision, r.auth_required, \
                 (SELECT count(*) FROM repo_packages rp WHERE rp.repo_id = r.id) AS package_count, \
                 (SELECT count(*) FROM host_repos hr WHERE hr.repo_id = r.id) AS host_count, r.refreshed_at FROM repos r ORDER BY r.name, r.id",
            )
            .fetch_all(pool)
            .await?;
            let mirrors = sqlx::query(
                "SELECT repo_id, id, url, enabled, fail_count, last_error, last_success_at, valid_until_passed, \
                 verified_by FROM mirrors ORDER BY id",
            )
            .fetch_all(pool)
            .await?;
            let groups: Vec<(i64, String)> = sqlx::query_as(
                "SELECT gr.repo_id, g.name FROM os_group_repos gr JOIN os_groups g ON g.id = gr.os_group_id ORDER BY g.name",
            )
            .fetch_all(pool)
            .await?;
            let mut groups_of: HashMap<i64, Vec<String>> = HashMap::new();
            for (repo, group) in groups {
                groups_of.entry(repo).or_default().push(group);
            }
            let mut by_repo: HashMap<i64, Vec<crate::store::views::MirrorView>> = HashMap::new();
            for m in &mirrors {
                by_repo.entry(m.try_get("repo_id")?).or_default().push(crate::store::views::MirrorView {
                    id: m.try_get("id")?,
                    url: m.try_get("url")?,
                    enabled: m.try_get("enabled")?,
                    fail_count: m.try_get("fail_count")?,
                    last_error: m.try_get("last_error")?,
                    last_success_at: m.try_get("last_success_at")?,
                    valid_until_passed: m.try_get("valid_until_passed")?,
                    verified_by: m.try_get("verified_by")?,
                });
            }
            rows.iter()
                .map(|r| {
                    let id: i64 = r.try_get("id")?;
                    Ok(crate::store::views::RepoView {
                        id,
                        kind: kind(r.try_get("kind")?)?,
                        name: r.try_get("name")?,
                        repo_key: r.try_get("repo_key")?,
                        suite: r.try_get("suite")?,
                        component: r.try_get("component")?,
                        arch: r.try_get("arch")?,
                        security: r.try_get("security")?,
                        security_manual: r.try_get("security_manual")?,
                        auth_required: r.try_get("auth_required")?,
                        enabled: r.try_get("enabled")?,
                        revision: r.try_get("revision")?,
                        package_count: r.try_get("package_count")?,
                        host_count: r.try_get("host_count")?,
                        os_groups: groups_of.remove(&id).unwrap_or_default(),
                        refreshed_at: r.try_get("refreshed_at")?,
                        mirrors: by_repo.remove(&id).unwrap_or_default(),
                    })
                })
                .collect()
        }

        /// Enabled repositories (or one) with their mirrors, best first: enabled before disabled,
        /// fewest failures first.
        pub(super) async fn refresh_targets(pool: &Pool, only: Option<i64>) -> StoreResult<Vec<crate::store::RefreshTarget>> {
            let repos: Vec<(i64, i64, String, String, Option<i64>)> = sqlx::query_as(
                "SELECT id, kind, name, repo_key, refreshed_at FROM repos WHERE enabled = $1 AND ($2 IS NULL OR id = $2) \
                 ORDER BY id",
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
                let kind: i64 = m.try_get("url_kind")?;
                by_repo.entry(m.try_get("repo_id")?).or_default().push(crate::store::MirrorState {
                    id: m.try_get("id")?,
                    url: m.try_get("url")?,
                    kind: crate::report::UrlKind::from_i64(kind).ok_or_else(|| StoreError::Corrupt(format!("url kind {kind}")))?,
                    enabled: m.try_get("enabled")?,
                    fail_count: m.try_get("fail_count")?,
                    checksum: m.try_get("checksum")?,
                    etag: m.try_get("etag")?,
                    last_modified: m.try_get("last_modified")?,
                });
            }
            repos
                .into_iter()
                .map(|(id, k, name, key, refreshed_at)| {
                    Ok(crate::store::RefreshTarget {
                        repo_id: id,
                        kind: kind(k)?,
                        name,
                        repo_key: key,
                        mirrors: by_repo.remove(&id).unwrap_or_default(),
                        refreshed: refreshed_at.is_some(),
                    })
                })
                .collect()
        }

        /// Records one attempt at a mirror. A success resets its failure count; the
        /// `max_failures`-th failure in a row disables it. Returns whether it is now disabled.
        pub(super) async fn record_mirror(pool: &Pool, r: &crate::store::MirrorAttempt<'_>) -> StoreResult<bool> {
            let disabled: bool = match r.result {
                crate::store::MirrorResult::Answered { checksum, etag, last_modified, valid_until_passed, verified_by } => {
                    sqlx::query(
                        "UPDATE mirrors SET last_attempt_at = $2, last_success_at = $2, fail_count = 0, last_error = '', \
                         checksum = coalesce($3, checksum), etag = $4, last_modified = $5, valid_until_passed = $6, \
                         enabled = $7, verified_by = coalesce($8, verified_by) WHERE id = $1",
                    )
                    .bind(r.mirror_id)
                    .bind(r.now)
                    .bind(checksum)
                    .bind(etag)
                    .bind(last_modified)
                    .bind(valid_until_passed)
                    .bind(true)
                    .bind(verified_by)
                    .execute(pool)
                    .await?;
                    false
                }
                crate::store::MirrorResult::Failed { error } => sqlx::query_scalar(
                    "UPDATE mirrors SET last_attempt_at = $2, fail_count = fail_count + 1, last_error = $3, \
                     enabled = CASE WHEN fail_count + 1 >= $4 THEN $5 ELSE enabled END WHERE id = $1 RETURNING enabled",
                )
                .bind(r.mirror_id)
                .bind(r.now)
                .bind(error)
                .bind(r.max_failures)
                .bind(false)
                .fetch_optional(pool)
                .await?
                .is_some_and(|enabled: bool| !enabled),
            };
            Ok(disabled)
        }

        /// What the (In)Release says of an apt repository. The security flag follows it unless
        /// an administrator set it by hand; when the flag changes, the hosts using the repository
        /// are recomputed.
        pub(super) async fn set_repo_release(
            pool: &Pool,
            repo_id: i64,
            origin: &str,
            label: &str,
            codename: &str,
            security: bool,
        ) -> StoreResult<()> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let flip: Option<bool> = sqlx::query_scalar(
                "UPDATE repos SET release_origin = $2, release_label = $3, release_codename = $4 \
                 WHERE id = $1 RETURNING security_manual = $6 AND security <> $5",
            )
            .bind(repo_id)
            .bind(origin)
            .bind(label)
            .bind(codename)
            .bind(security)
            .bind(false)
            .fetch_optional(&mut *tx)
            .await?;
            if flip == Some(true) {
                sqlx::query("UPDATE repos SET security = $2 WHERE id = $1").bind(repo_id).bind(security).execute(&mut *tx).await?;
                repo_changed(&mut tx, repo_id).await?;
            }
            tx.commit().await?;
            Ok(())
        }

        /// Sets a repository's security flag by hand (`Some`), or gives it back to the
        /// repository's metadata (`None`: its suite's name until the next refresh). False when
        /// there is no such repository.
        pub(super) async fn set_repo_security(pool: &Pool, repo_id: i64, security: Option<bool>) -> StoreResult<bool> {
            let update = sqlx::query(
                "UPDATE repos SET security_manual = $2, \
                 security = CASE WHEN $2 THEN $3 ELSE suite LIKE '%-security' END WHERE id = $1",
            )
            .bind(repo_id)
            .bind(security.is_some())
            .bind(security.unwrap_or(false));
            change_repo(pool, repo_id, update).await
        }

        /// Runs `update` (of repository `repo_id`) and, when it found the repository, marks
        /// it changed, in one transaction. False when there is no such repository.
        async fn change_repo(
            pool: &Pool,
            repo_id: i64,
            update: sqlx::query::Query<'_, Db, <Db as sqlx::Database>::Arguments>,
        ) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let found = update.execute(&mut *tx).await?.rows_affected() > 0;
            if found {
                repo_changed(&mut tx, repo_id).await?;
            }
            tx.commit().await?;
            Ok(found)
        }

        /// The repositories `filter` selects, by name.
        pub(super) async fn repo_list(
            pool: &Pool,
            filter: &crate::query::RepoFilter,
            clock: &crate::query::Clock,
        ) -> StoreResult<Vec<crate::store::views::RepoView>> {
            let mut all = repos(pool).await?;
            all.retain(|r| r.matches(filter, clock));
            Ok(all)
        }

        /// Enables or disables a repository; the hosts that use it are recomputed. False when
        /// there is no such repository.
        pub(super) async fn set_repo_enabled(pool: &Pool, repo_id: i64, enabled: bool) -> StoreResult<bool> {
            let update = sqlx::query("UPDATE repos SET enabled = $2 WHERE id = $1").bind(repo_id).bind(enabled);
            change_repo(pool, repo_id, update).await
        }

        /// Enables a mirror (forgetting its failures) or disables it. False when there is no
        /// such mirror.
        pub(super) async fn set_mirror_enabled(pool: &Pool, mirror_id: i64, enabled: bool) -> StoreResult<bool> {
            let sql = if enabled {
                "UPDATE mirrors SET enabled = $2, fail_count = 0, last_error = '' WHERE id = $1"
            } else {
                "UPDATE mirrors SET enabled = $2 WHERE id = $1"
            };
            let done = sqlx::query(sql).bind(mirror_id).bind(enabled).execute(pool).await?;
            Ok(done.rows_affected() > 0)
        }

        /// A repository's contents or flags changed: its revision goes up (the engine's cached
        /// index of it is stale) and the hosts that use it are marked for recomputation.
        async fn repo_changed(tx: &mut sqlx::Transaction<'static, Db>, repo_id: i64) -> StoreResult<()> {
            sqlx::query("UPDATE repos SET revision = revision + 1 WHERE id = $1").bind(repo_id).execute(&mut **tx).await?;
            let uses_repo = crate::store::portable_repos::USES_REPO;
            if !LOCK_HOSTS_IN_ORDER.is_empty() {
                let sql = format!("SELECT 1 FROM hosts h WHERE {uses_repo}{LOCK_HOSTS_IN_ORDER}");
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo_id).bind(false).execute(&mut **tx).await?;
            }
            let sql = format!("UPDATE hosts AS h SET updates_stale = $3, {} WHERE {uses_repo}", bump_keeping_exposures!());
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(repo_id).bind(false).bind(true).execute(&mut **tx).await?;
            Ok(())
        }

        /// Only the packages `difference` (ids, sorted) came into or left a repository: its
        /// revision goes up, and only the hosts that use it and have installed a package of one
        /// of their names get those names marked stale (the engine compares an installed
        /// package only with the repository's packages of its name): only their verdicts are
        /// computed again. A package that can update other names (a Debian kernel image) marks
        /// every host that uses the repository stale as a whole.
        async fn repo_packages_changed(
            tx: &mut sqlx::Transaction<'static, Db>,
            repo_id: i64,
            difference: &[i64],
        ) -> StoreResult<()> {
            let sql = format!("SELECT DISTINCT kind, name FROM packages WHERE id IN ({})", id_list(1));
            let names: Vec<(i64, String)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids_param(difference)).fetch_all(&mut **tx).await?;
            let other_names = names.iter().any(|(kind, name)| {
                engine_kind(*kind).ok().flatten().is_some_and(|k| engine::kernel::updates_other_names(k, name))
            });
            if other_names {
                return repo_changed(tx, repo_id).await;
            }
            sqlx::query("UPDATE repos SET revision = revision + 1 WHERE id = $1").bind(repo_id).execute(&mut **tx).await?;
            let mut plain: Vec<String> = names.into_iter().map(|(_, name)| name).collect();
            plain.sort_unstable();
            plain.dedup();
            // Each host that uses the repository gets its installed packages of those names
            // marked stale: only their verdicts are computed again. Only the package rows of
            // those names that some host has (`installed`) are looked for.
            let sql = format!("SELECT id FROM packages WHERE name IN ({}) AND installed = $2", text_list(1));
            let ids: Vec<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(texts_param(&plain))
                .bind(true)
                .fetch_all(&mut **tx)
                .await?;
            let mut pairs = super::bulk::installed_among(&mut **tx, repo_id, &ids).await?;
            if pairs.is_empty() {
                return Ok(());
            }
            pairs.sort_unstable();
            let sql = format!(
                "INSERT INTO host_stale_packages (host_id, package_id) SELECT h, p FROM ({}) x WHERE true \
                 ON CONFLICT (host_id, package_id) DO NOTHING",
                pair_list(1)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pairs_param(&pairs)).execute(&mut **tx).await?;
            // Every host of a pair is marked, also where its mark was there already: that
            // host's verdict of those names is being computed again as well.
            let mut marked: Vec<i64> = pairs.iter().map(|(host, _)| *host).collect();
            marked.dedup();
            // A verdict of those hosts being computed from the repository's previous contents
            // is not saved.
            super::bulk::lock_hosts(&mut **tx, &marked).await?;
            let sql = format!("UPDATE hosts SET {} WHERE id IN ({})", bump_keeping_exposures!(), id_list(1));
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(&marked)).execute(&mut **tx).await?;
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
                        id: m.try_get("id")?,
                        url: m.try_get("url")?,
                        kind: crate::report::UrlKind::Baseurl,
                        enabled: m.try_get("enabled")?,
                        fail_count: m.try_get("fail_count")?,
                        checksum: m.try_get("checksum")?,
                        etag: m.try_get("etag")?,
                        last_modified: m.try_get("last_modified")?,
                    });
                }
            }
            Ok(out)
        }

        /// An administrator's `merge_repos`: false (nothing done) unless both exist and differ.
        pub(super) async fn link_repos(pool: &Pool, keep: i64, gone: i64) -> StoreResult<bool> {
            let found: i64 = sqlx::query_scalar("SELECT count(*) FROM repos WHERE id IN ($1, $2)")
                .bind(keep)
                .bind(gone)
                .fetch_one(pool)
                .await?;
            if keep == gone || found != 2 {
                return Ok(false);
            }
            merge_repos(pool, keep, gone).await?;
            Ok(true)
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
            const USERS_OF_GONE: &str = " WHERE id IN (SELECT host_id FROM host_repos WHERE repo_id = $1)";
            if !LOCK_HOSTS_IN_ORDER.is_empty() {
                let sql = format!("SELECT 1 FROM hosts{USERS_OF_GONE}{LOCK_HOSTS_IN_ORDER}");
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(gone).execute(&mut *tx).await?;
            }
            let sql = format!("UPDATE hosts SET updates_stale = $2, {}{USERS_OF_GONE}", bump_keeping_exposures!());
            sqlx::query(sqlx::AssertSqlSafe(sql))
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

        /// Replaces what a repository offers. Returns whether anything changed; if so the
        /// repository's revision goes up and the hosts that use it are marked for recomputation.
        pub(super) async fn replace_repo_contents(
            pool: &Pool,
            known: &KnownPackages,
            repo_id: i64,
            contents: &RepoContents,
            now: i64,
        ) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let generation = packages_generation(&mut tx).await?;
            known.sync(generation);
            let all = contents
                .packages
                .iter()
                .chain(contents.errata.iter().flat_map(|e| e.packages.iter()))
                .chain(contents.modules.iter().flat_map(|m| m.artifacts.iter()));
            let mut rows: Vec<PackageRow> =
                all.map(|p| PackageRow { id: p.id(), package: p, source_name: "", source_version: "" }).collect();
            rows.sort_by_key(|r| r.id);
            rows.dedup_by_key(|r| r.id);
            let unknown = known.unknown(rows.iter().map(|r| r.id));
            let mut wanted_new = unknown.iter().peekable();
            let new_rows: Vec<PackageRow> = rows.iter().filter(|r| wanted_new.next_if(|id| **id == r.id).is_some()).copied().collect();
            if !new_rows.is_empty() {
                if let Some(id) = upsert_packages(&mut tx, &new_rows, false).await? {
                    return Err(StoreError::PackageIdCollision(id));
                }
            }

            let mut wanted: Vec<i64> = contents.packages.iter().map(crate::report::Package::id).collect();
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
            // A first load has no stored digest yet, so it counts as an extras change: every host
            // of the repository is marked (its updates become known).
            if extras_changed {
                sqlx::query("UPDATE repos SET extras_digest = $2 WHERE id = $1")
                    .bind(repo_id)
                    .bind(&extras[..])
                    .execute(&mut *tx)
                    .await?;
                repo_changed(&mut tx, repo_id).await?;
            } else if changed {
                let mut difference = [added, removed].concat();
                difference.sort_unstable();
                repo_packages_changed(&mut tx, repo_id, &difference).await?;
            }
            sqlx::query("UPDATE repos SET refreshed_at = $2 WHERE id = $1").bind(repo_id).bind(now).execute(&mut *tx).await?;
            // See `known`: a clean that committed meanwhile may have taken a row the cache vouched for.
            if packages_generation(&mut tx).await? != generation {
                return Err(StoreError::PackagesCleaned);
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
                    field(&p.id().to_string());
                }
            }
            for m in &c.modules {
                for s in [&m.name, &m.stream, &m.version, &m.context, &m.arch] {
                    field(s);
                }
                for p in &m.artifacts {
                    field(&p.id().to_string());
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
                let mut ids: Vec<i64> = e.packages.iter().map(crate::report::Package::id).collect();
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
                let mut ids: Vec<i64> = m.artifacts.iter().map(crate::report::Package::id).collect();
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

pub(crate) use portable_repo_queries;
