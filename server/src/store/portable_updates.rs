//! The update engine's queries, written once for both dialects (see `portable.rs`): loading
//! repositories and hosts for the engine, marking hosts stale, saving verdicts.
//! Each dialect's `bulk` module supplies `id_list`/`text_list` subqueries, their parameters,
//! `upsert_packages`, `host_package_ids` and the verdicts' bulk writes.

macro_rules! portable_update_queries {
    () => {
        use patchman_engine as engine;

        use super::bulk::{
            add_host_counts, id_list, ids_param, insert_host_unknown, insert_host_updates, lock_hosts, pair_list,
            pairs_param, set_host_verdicts, stale_marks, stored_updates, text_list, texts_param, upsert_packages,
        };
        use crate::contents::RepoContents;
        use crate::store::known::KnownPackages;
        use crate::store::views::UpdateView;
        use crate::store::{HostWork, NameVerdictRecord, PackageRow, UsedRepo, VerdictRecord};

        /// The engine's kind of a stored kind; `None` for the kinds it finds no updates for
        /// (arch, gentoo: inventory only).
        fn engine_kind(v: i64) -> StoreResult<Option<engine::Kind>> {
            match PackageKind::from_i64(v) {
                Some(PackageKind::Deb) => Ok(Some(engine::Kind::Deb)),
                Some(PackageKind::Rpm) => Ok(Some(engine::Kind::Rpm)),
                Some(PackageKind::Arch | PackageKind::Gentoo) => Ok(None),
                None => Err(StoreError::Corrupt(format!("package kind {v}"))),
            }
        }

        const PKG_COLUMNS: &str = "p.id, p.kind, p.name, p.epoch, p.version, p.release, p.arch";

        /// A package row for the engine; `None` for a kind it finds no updates for.
        fn engine_pkg(r: &<Db as sqlx::Database>::Row) -> StoreResult<Option<engine::Pkg>> {
            let Some(kind) = engine_kind(r.try_get("kind")?)? else { return Ok(None) };
            Ok(Some(engine::Pkg {
                id: r.try_get("id")?,
                kind,
                name: r.try_get::<String, _>("name")?.into(),
                epoch: r.try_get::<i64, _>("epoch")? as u32,
                version: r.try_get::<String, _>("version")?.into(),
                release: r.try_get::<String, _>("release")?.into(),
                arch: r.try_get::<String, _>("arch")?.into(),
            }))
        }

        /// The rows the engine can read, without the others.
        fn engine_pkgs(rows: &[<Db as sqlx::Database>::Row]) -> StoreResult<Vec<engine::Pkg>> {
            rows.iter().filter_map(|r| engine_pkg(r).transpose()).collect()
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
            let packages = engine_pkgs(&rows)?;

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
                let erratum: i64 = r.try_get("erratum_id")?;
                if let Some(p) = engine_pkg(r)? {
                    fixed.entry(erratum).or_default().push(p);
                }
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
            // Packages of the other kinds are left out: the updater sees the host's
            // installed set as incomplete and calls its updates unknown.
            engine_pkgs(&rows)
        }

        /// Hosts with stale names (and not stale as a whole) with ids above `after`, lowest first.
        pub(super) async fn stale_name_hosts(pool: &Pool, after: i64, limit: i64) -> StoreResult<Vec<i64>> {
            Ok(sqlx::query_scalar(
                // The marks in key order, each host's row probed (CROSS JOIN fixes that order in
                // SQLite, which otherwise walked every host after `after`, then sorted them).
                "SELECT DISTINCT s.host_id FROM host_stale_packages s CROSS JOIN hosts h \
                 WHERE h.id = s.host_id AND h.updates_stale = $1 AND s.host_id > $2 ORDER BY s.host_id LIMIT $3",
            )
            .bind(false)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?)
        }

        /// `host_work`, with only each host's stale packages: the (host, installed package)
        /// pairs a repository's marking found. They are installed: marking reads them from the
        /// host's current packages and moves its state version on, and a whole verdict saved
        /// for a later state deletes them (`save_verdicts`).
        pub(super) async fn stale_name_work(pool: &Pool, host_ids: &[i64]) -> StoreResult<Vec<HostWork>> {
            // The state versions first, as in `host_work`: a report after them makes the
            // verdict's save drop it.
            let mut works = host_state(pool, host_ids, false).await?;
            let mut packages: HashMap<i64, Vec<i64>> = stale_marks(pool, host_ids).await?.into_iter().collect();
            for w in &mut works {
                w.package_ids = packages.remove(&w.host_id).unwrap_or_default();
            }
            Ok(works)
        }

        /// What the engine needs of these hosts (see the dialect's `host_state`).
        pub(super) async fn host_work(pool: &Pool, host_ids: &[i64]) -> StoreResult<Vec<HostWork>> {
            host_state(pool, host_ids, true).await
        }

        /// An OS group's repository of a host that does not use only its own: with the
        /// default priority of its kind (apt 500, dnf 99), unless the host has it itself.
        pub(super) fn add_group_repo(list: &mut Vec<UsedRepo>, id: i64, kind: i64, revision: i64) {
            if !list.iter().any(|r| r.id == id) {
                let priority = if kind == PackageKind::Deb as i64 { 500 } else { 99 };
                list.push(UsedRepo { id, priority, revision });
            }
        }

        pub(super) async fn stale_hosts(pool: &Pool, after: i64, limit: i64) -> StoreResult<Vec<i64>> {
            Ok(sqlx::query_scalar("SELECT id FROM hosts WHERE updates_stale = $1 AND id > $2 ORDER BY id LIMIT $3")
                .bind(true)
                .bind(after)
                .bind(limit)
                .fetch_all(pool)
                .await?)
        }

        /// Marks every host (or those named) for recomputation.
        pub(super) async fn mark_stale(pool: &Pool, host_ids: Option<&[i64]>) -> StoreResult<u64> {
            let done = match host_ids {
                None => {
                    let mut tx = pool.begin_with(BEGIN_WRITE).await?;
                    let done = sqlx::query(concat!("UPDATE hosts SET updates_stale = $1, ", bump_keeping_exposures!()))
                        .bind(true)
                        .execute(&mut *tx)
                        .await?;
                    // Whole hosts are computed from now on: their stale names with them.
                    sqlx::query("DELETE FROM host_stale_packages").execute(&mut *tx).await?;
                    tx.commit().await?;
                    done
                }
                Some(ids) => {
                    let sql = format!(
                        "UPDATE hosts SET updates_stale = $1, {} WHERE id IN ({})",
                        bump_keeping_exposures!(),
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
        pub(super) async fn save_verdicts(
            pool: &Pool,
            verdicts: &[VerdictRecord<'_>],
            now: i64,
        ) -> StoreResult<crate::store::VerdictChanges> {
            let mut out = crate::store::VerdictChanges::default();
            if verdicts.is_empty() {
                return Ok(out);
            }
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let ids: Vec<i64> = verdicts.iter().map(|v| v.host_id).collect();
            lock_hosts(&mut tx, &ids).await?;
            let sql = format!(
                "SELECT id, state_version, updates_digest, \
                 EXISTS (SELECT 1 FROM host_stale_packages s WHERE s.host_id = hosts.id) FROM hosts WHERE id IN ({})",
                id_list(1)
            );
            let current: Vec<(i64, i64, Option<Vec<u8>>, bool)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids_param(&ids)).fetch_all(&mut *tx).await?;
            let marked: Vec<i64> = current.iter().filter(|c| c.3).map(|c| c.0).collect();
            let current: HashMap<i64, (i64, Option<Vec<u8>>)> =
                current.into_iter().map(|(id, sv, digest, _)| (id, (sv, digest))).collect();
            // Only verdicts computed from the host's current state; rows rewritten only where the
            // verdict changed.
            let fresh: Vec<&VerdictRecord> =
                verdicts.iter().filter(|v| current.get(&v.host_id).is_some_and(|(sv, _)| *sv == v.state_version)).collect();
            let mut changed: Vec<&VerdictRecord> = fresh
                .iter()
                .filter(|v| current.get(&v.host_id).and_then(|(_, d)| d.as_deref()) != Some(&v.digest[..]))
                .copied()
                .collect();
            changed.sort_by_key(|v| v.host_id);
            out.hosts_changed = changed.len();
            if !changed.is_empty() {
                let ids: Vec<i64> = changed.iter().map(|v| v.host_id).collect();
                // What the hosts have, compared with what they get: only the rows that differ
                // are written (a recomputation that changes one update of a host rewrites that
                // one, not the host's every row).
                let stored = stored_updates(&mut tx, &ids).await?;
                let wanted: Vec<(i64, &engine::Update)> =
                    changed.iter().flat_map(|v| v.verdict.updates.iter().map(move |u| (v.host_id, u))).collect();
                let diff = crate::store::verdict_diff::updates(&stored, &wanted);
                out.updates_added = diff.added;
                out.updates_removed = diff.removed;
                if !diff.delete.is_empty() {
                    let sql = format!(
                        "DELETE FROM host_updates WHERE (host_id, installed_id) IN (SELECT h, p FROM ({}) x)",
                        pair_list(1)
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pairs_param(&diff.delete)).execute(&mut *tx).await?;
                }
                insert_host_updates(&mut tx, &diff.insert).await?;
                let sql = format!("SELECT host_id, package_id FROM host_unknown_packages WHERE host_id IN ({})", id_list(1));
                let stored: Vec<(i64, i64)> =
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ids_param(&ids)).fetch_all(&mut *tx).await?;
                let wanted: Vec<(i64, i64)> =
                    changed.iter().flat_map(|v| v.verdict.not_in_repos.iter().map(move |p| (v.host_id, *p))).collect();
                let (gone, new) = crate::store::verdict_diff::pairs(&stored, &wanted);
                if !gone.is_empty() {
                    let sql = format!(
                        "DELETE FROM host_unknown_packages WHERE (host_id, package_id) IN (SELECT h, p FROM ({}) x)",
                        pair_list(1)
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pairs_param(&gone)).execute(&mut *tx).await?;
                }
                insert_host_unknown(&mut tx, &new).await?;
            }
            let columns: Vec<crate::store::VerdictColumns> = fresh
                .iter()
                .map(|v| {
                    let security = v.verdict.updates.iter().filter(|u| u.security).count() as i64;
                    crate::store::VerdictColumns {
                        host_id: v.host_id,
                        state_version: v.state_version,
                        digest: v.digest,
                        security,
                        bugfix: v.verdict.updates.len() as i64 - security,
                        unknown: v.verdict.not_in_repos.len() as i64,
                        reboot: v.verdict.reboot.as_deref().unwrap_or(""),
                        known: v.repos_known,
                        duplicates: v.verdict.duplicates.len() as i64,
                    }
                })
                .collect();
            let saved = set_host_verdicts(&mut tx, &columns, now).await?;
            let fresh_ids: Vec<i64> = fresh.iter().map(|v| v.host_id).collect();
            // A whole verdict covers every name: the hosts' stale names are done with it. A
            // name marked after this verdict's state was read moved the host's state version
            // on, and the verdict is not saved.
            let done: Vec<i64> = marked.into_iter().filter(|h| fresh_ids.contains(h)).collect();
            if !done.is_empty() {
                let sql = format!("DELETE FROM host_stale_packages WHERE host_id IN ({})", id_list(1));
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(&done)).execute(&mut *tx).await?;
            }
            verdicts_saved(&mut tx, &fresh_ids, now).await?;
            tx.commit().await?;
            out.saved = saved as usize;
            Ok(out)
        }

        /// Saves verdicts computed for the hosts' stale names only (`stale_name_work`): each
        /// host's rows of those names' installed packages are replaced, its other rows kept,
        /// its counts recounted; a verdict computed from an older state is dropped. The
        /// verdict's reboot and duplicates are not used: they come from the installed packages,
        /// which a repository change does not change.
        pub(super) async fn save_name_verdicts(
            pool: &Pool,
            verdicts: &[NameVerdictRecord<'_>],
            now: i64,
        ) -> StoreResult<crate::store::VerdictChanges> {
            let mut out = crate::store::VerdictChanges::default();
            if verdicts.is_empty() {
                return Ok(out);
            }
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let ids: Vec<i64> = verdicts.iter().map(|v| v.record.host_id).collect();
            lock_hosts(&mut tx, &ids).await?;
            // Which of them are stale is filtered here, not in SQL: PostgreSQL, its statistics
            // taken while most hosts were stale, walked `hosts_stale` for the few not stale
            // (every host, each checked against the list: 120 ms a batch at 10,000 hosts).
            let sql =
                format!("SELECT id, state_version, updates_known, updates_stale FROM hosts WHERE id IN ({})", id_list(1));
            let current: HashMap<i64, (i64, bool)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ids_param(&ids))
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .filter(|(.., stale): &(i64, i64, bool, bool)| !stale)
                .map(|(id, sv, known, _)| (id, (sv, known)))
                .collect();
            let mut fresh: Vec<&NameVerdictRecord> = verdicts
                .iter()
                .filter(|v| current.get(&v.record.host_id).is_some_and(|(sv, _)| *sv == v.record.state_version))
                .collect();
            fresh.sort_by_key(|v| v.record.host_id);
            if fresh.is_empty() {
                tx.commit().await?;
                return Ok(out);
            }
            let fresh_list: Vec<i64> = fresh.iter().map(|v| v.record.host_id).collect();
            let fresh_ids = ids_param(&fresh_list);
            // The rows of the stale names, deleted: (host, installed package) pairs, one index
            // probe each; what they were says what was added and removed, and how each host's
            // counts move (no recount of its every row).
            let pairs: Vec<(i64, i64)> =
                fresh.iter().flat_map(|v| v.packages.iter().map(move |p| (v.record.host_id, *p))).collect();
            let pairs = pairs_param(&pairs);
            let sql = format!(
                "DELETE FROM host_updates WHERE (host_id, installed_id) IN (SELECT h, p FROM ({}) x) \
                 RETURNING host_id, installed_id, candidate_id, security",
                pair_list(1)
            );
            let deleted: Vec<(i64, i64, i64, bool)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&pairs).fetch_all(&mut *tx).await?;
            let sql = format!(
                "DELETE FROM host_unknown_packages WHERE (host_id, package_id) IN (SELECT h, p FROM ({}) x) RETURNING host_id",
                pair_list(1)
            );
            let unknown_deleted: Vec<i64> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(&pairs).fetch_all(&mut *tx).await?;
            // Only rows of the marked packages: exactly those deleted above are written again,
            // so that the counts' changes are exact.
            let updates: Vec<(i64, &engine::Update)> = fresh
                .iter()
                .flat_map(|v| {
                    let marked = v.packages;
                    v.record.verdict.updates.iter().filter(|u| marked.contains(&u.installed)).map(move |u| (v.record.host_id, u))
                })
                .collect();
            insert_host_updates(&mut tx, &updates).await?;
            // "In no repository" only where the host's whole verdict can say it.
            let unknown: Vec<(i64, i64)> = fresh
                .iter()
                .filter(|v| current.get(&v.record.host_id).is_some_and(|(_, known)| *known))
                .flat_map(|v| {
                    let marked = v.packages;
                    v.record.verdict.not_in_repos.iter().filter(|p| marked.contains(p)).map(move |p| (v.record.host_id, *p))
                })
                .collect();
            insert_host_unknown(&mut tx, &unknown).await?;
            let changes =
                crate::store::verdict_diff::name_changes(&fresh_list, &deleted, &updates, &unknown_deleted, &unknown);
            (out.updates_added, out.updates_removed, out.hosts_changed) =
                (changes.added, changes.removed, changes.hosts_changed);
            // The digest of a whole verdict is no longer known: the next whole one rewrites.
            let saved = add_host_counts(&mut tx, &changes.counts, now).await?;
            let sql = format!("DELETE FROM host_stale_packages WHERE host_id IN ({})", id_list(1));
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(&fresh_ids).execute(&mut *tx).await?;
            verdicts_saved(&mut tx, &fresh_list, now).await?;
            tx.commit().await?;
            out.saved = saved as usize;
            Ok(out)
        }

        /// Events for the watch stream after saving verdicts of these hosts: their statuses may
        /// have changed.
        async fn verdicts_saved(tx: &mut sqlx::Transaction<'static, Db>, host_ids: &[i64], now: i64) -> StoreResult<()> {
            let sql = format!(
                "INSERT INTO host_events (hostname, at, deleted) SELECT hostname, $2, $3 FROM hosts WHERE id IN ({})",
                id_list(1)
            );
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids_param(host_ids)).bind(now).bind(false).execute(&mut **tx).await?;
            Ok(())
        }

        /// A host's updates with package names, for `host show`.
        pub(super) async fn host_updates(pool: &Pool, host_id: i64) -> StoreResult<Vec<UpdateView>> {
            let rows = sqlx::query(
                "SELECT i.name AS name, i.kind AS installed_kind, i.arch AS arch, i.epoch AS installed_epoch, i.version AS installed_version, \
                 i.release AS installed_release, c.name AS available_name, c.arch AS available_arch, \
                 c.epoch AS available_epoch, c.version AS available_version, c.release AS available_release, \
                 u.security, u.kind, r.name AS repo, u.reason, u.erratum FROM host_updates u \
                 JOIN packages i ON i.id = u.installed_id JOIN packages c ON c.id = u.candidate_id \
                 JOIN repos r ON r.id = u.repo_id WHERE u.host_id = $1 ORDER BY i.name, i.arch",
            )
            .bind(host_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let evr = |side: &str| -> StoreResult<String> {
                        let epoch: i64 = r.try_get(format!("{side}_epoch").as_str())?;
                        let version: String = r.try_get(format!("{side}_version").as_str())?;
                        let release: String = r.try_get(format!("{side}_release").as_str())?;
                        Ok(format_evr(epoch as u32, &version, &release))
                    };
                    let kind: i64 = r.try_get("kind")?;
                    let name: String = r.try_get("name")?;
                    Ok(UpdateView {
                        arch: r.try_get("arch")?,
                        installed: evr("installed")?,
                        available: evr("available")?,
                        available_name: r.try_get("available_name")?,
                        available_arch: r.try_get("available_arch")?,
                        security: r.try_get("security")?,
                        kernel: kind == 2
                            || engine_kind(r.try_get("installed_kind")?)?
                                .is_some_and(|k| engine::kernel::is_kernel_package(k, &name)),
                        name,
                        repo: r.try_get("repo")?,
                        reason: r.try_get("reason")?,
                        erratum: r.try_get("erratum")?,
                    })
                })
                .collect()
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

    };
}

pub(crate) use portable_update_queries;
