//! Host lists and the dashboard's counts, written once for both dialects (see `portable.rs`):
//! a `HostFilter` becomes a `WHERE` clause (`host_sql.rs`) over the same join as `SUMMARY`.
//! The macro's argument says whether the dialect indexes installed packages by package.
//! Expanded after `portable_queries!` in the same module, it uses its imports and `summary`.
//!
//! The dashboard stays cheap as the fleet grows: every per-host count it needs is a column of
//! `hosts` (written with the verdict), so its host figures are one pass over `hosts`, not over
//! the installed-package links; the repository and mirror figures are small tables.

macro_rules! portable_host_queries {
    (package_index = $package_index:literal) => {
        use crate::store::host_sql::{self, Arg, Built};

        /// Binds every parameter of a built statement, in order.
        macro_rules! bind_args {
            ($q:expr, $args:expr) => {{
                let mut q = $q;
                for a in $args {
                    q = match a {
                        Arg::Text(s) => q.bind(s.clone()),
                        Arg::Int(i) => q.bind(*i),
                        Arg::Bool(b) => q.bind(*b),
                    };
                }
                q
            }};
        }

        pub(super) async fn host_list(
            pool: &Pool,
            filter: &crate::query::HostFilter,
            sort: &crate::query::HostSort,
            page: crate::query::PageRequest,
            clock: &crate::query::Clock,
        ) -> StoreResult<crate::query::Paged<HostSummary>> {
            // The page's ids and the count in one pass over the narrow columns (a window over
            // the matches, before LIMIT), then the page's rows; the count alone only past the
            // last page, or from the package index when that is the whole question.
            let mut counted = Built::default();
            let indexed_count = host_sql::package_only_count(&mut counted, filter).filter(|_| $package_index);
            let mut b = Built::default();
            let cond = host_sql::where_clause(&mut b, filter, clock, $package_index);
            let limit = b.arg(Arg::Int(i64::from(page.per_page)));
            let offset = b.arg(Arg::Int(page.offset() as i64));
            let order = host_sql::order_by(sort);
            // Counted from the package index: no window, so the page may stop early.
            let window = if indexed_count.is_some() { "CAST(0 AS BIGINT)" } else { "count(*) OVER ()" };
            let sql = format!(
                "SELECT h.id, {window} AS total {} WHERE {cond} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
                host_sql::FROM_HOSTS
            );
            let picked: Vec<(i64, i64)> =
                bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &b.args).fetch_all(pool).await?;
            let total: i64 = match (picked.first(), indexed_count) {
                (_, Some(sql)) => {
                    bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), &counted.args).fetch_one(pool).await?
                }
                (Some((_, total)), None) => *total,
                (None, None) if page.offset() == 0 => 0,
                (None, None) => {
                    let mut counted = Built::default();
                    let cond = host_sql::where_clause(&mut counted, filter, clock, $package_index);
                    let sql = format!("SELECT count(*) {} WHERE {cond}", host_sql::FROM_HOSTS);
                    bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), &counted.args).fetch_one(pool).await?
                }
            };
            if picked.is_empty() {
                return Ok(crate::query::Paged { total: total as u64, rows: Vec::new() });
            }
            let ids: Vec<i64> = picked.iter().map(|(id, _)| *id).collect();
            let sql = format!("{SUMMARY} WHERE h.id IN ({}) ORDER BY {order}", super::bulk::id_list(1));
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(super::bulk::ids_param(&ids)).fetch_all(pool).await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.try_get::<i64, _>("id")).collect::<Result<_, _>>()?;
            let mut tags = tags_of(pool, &ids).await?;
            let rows = rows
                .iter()
                .map(|r| summary(r, tags.remove(&r.try_get::<i64, _>("id")?).unwrap_or_default()))
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(crate::query::Paged { total: total as u64, rows })
        }

        /// The hosts `filter` selects that have a package of this name (at `evr`), a page of
        /// them by host name, each with what it has installed and which of its repositories
        /// (its own, and its group's when it uses them) offer exactly that. With a package →
        /// host index (PostgreSQL) the count is exact; without one (SQLite) the hosts are
        /// probed in name order until the page is full, and counted only when the probe
        /// reached the last host.
        pub(super) async fn package_hosts(
            pool: &Pool,
            name: &str,
            evr: Option<&str>,
            filter: &crate::query::HostFilter,
            page: crate::query::PageRequest,
            clock: &crate::query::Clock,
        ) -> StoreResult<crate::store::views::PackageHosts> {
            let (names, total, more) = if $package_index {
                let f = crate::query::HostFilter {
                    package_name: Some(name.to_owned()),
                    package_evr: evr.map(str::to_owned),
                    ..filter.clone()
                };
                let hosts = host_list(pool, &f, &crate::query::HostSort::default(), page, clock).await?;
                let more = page.offset() + (hosts.rows.len() as u64) < hosts.total;
                (hosts.rows.into_iter().map(|h| h.hostname).collect::<Vec<_>>(), Some(hosts.total), more)
            } else {
                probe_package_hosts(pool, name, evr, filter, page, clock).await?
            };
            if names.is_empty() {
                return Ok(crate::store::views::PackageHosts { rows: Vec::new(), total, more });
            }
            let mut b = Built::default();
            let ids = host_sql::package_ids(&mut b, name, evr);
            let list = super::bulk::text_list(b.args.len() + 1);
            let sql = format!(
                "SELECT h.hostname, p.id, p.epoch, p.version, p.release, p.arch FROM hosts h \
                 JOIN host_packages hp ON hp.host_id = h.id JOIN packages p ON p.id = hp.package_id \
                 WHERE h.hostname IN ({list}) AND p.id IN ({ids}) ORDER BY h.hostname, p.arch, p.id"
            );
            let installed = bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql)), &b.args)
                .bind(super::bulk::texts_param(&names))
                .fetch_all(pool);
            // The page's hosts' repositories only (each branch narrowed to them), then the ones
            // that offer the package.
            let sql = format!(
                "SELECT h.hostname, rp.package_id, r.name FROM hosts h JOIN ( \
                   SELECT hr.host_id, hr.repo_id FROM host_repos hr JOIN hosts h1 ON h1.id = hr.host_id \
                   WHERE hr.enabled = TRUE AND h1.hostname IN ({list}) \
                   UNION SELECT h2.id, gr.repo_id FROM hosts h2 JOIN os_variants v ON v.id = h2.os_variant_id \
                   JOIN os_group_repos gr ON gr.os_group_id = v.os_group_id \
                   WHERE h2.use_host_repos = FALSE AND h2.hostname IN ({list})) u \
                 ON u.host_id = h.id JOIN repo_packages rp ON rp.repo_id = u.repo_id AND rp.package_id IN ({ids}) \
                 JOIN repos r ON r.id = u.repo_id ORDER BY r.name"
            );
            let offered =
                bind_args!(sqlx::query_as::<_, (String, i64, String)>(sqlx::AssertSqlSafe(sql)), &b.args)
                    .bind(super::bulk::texts_param(&names))
                    .fetch_all(pool);
            let (installed, offered) = tokio::try_join!(installed, offered)?;
            let mut rows = Vec::with_capacity(installed.len());
            for r in &installed {
                let (hostname, id): (String, i64) = (r.try_get("hostname")?, r.try_get("id")?);
                let (epoch, version, release): (i64, String, String) =
                    (r.try_get("epoch")?, r.try_get("version")?, r.try_get("release")?);
                let repos = offered.iter().filter(|(h, p, _)| *h == hostname && *p == id).map(|(_, _, n)| n.clone()).collect();
                rows.push(crate::store::views::PackageHostView {
                    hostname,
                    evr: format_evr(epoch as u32, &version, &release),
                    arch: r.try_get("arch")?,
                    repos,
                });
            }
            Ok(crate::store::views::PackageHosts { rows, total, more })
        }

        /// Without a package → host index: the filter's hosts in name order, a chunk at a time,
        /// each chunk probed for the package's ids, until the page is full and one more is
        /// found (or the hosts end, when the count is exact). The names of the page, the count
        /// when known, and whether more follow.
        async fn probe_package_hosts(
            pool: &Pool,
            name: &str,
            evr: Option<&str>,
            filter: &crate::query::HostFilter,
            page: crate::query::PageRequest,
            clock: &crate::query::Clock,
        ) -> StoreResult<(Vec<String>, Option<u64>, bool)> {
            let mut b = Built::default();
            let ids_sql = host_sql::package_ids(&mut b, name, evr);
            let ids: Vec<i64> =
                bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(ids_sql)), &b.args).fetch_all(pool).await?;
            if ids.is_empty() {
                return Ok((Vec::new(), Some(0), false));
            }
            let f = crate::query::HostFilter { package_name: None, package_evr: None, ..filter.clone() };
            let (skip, want) = (page.offset(), u64::from(page.per_page));
            let (mut seen, mut names, mut last) = (0u64, Vec::new(), String::new());
            // Enough hosts for the page if most have the package; four times more each round.
            let mut chunk_size = (2 * (skip + want)).clamp(64, 4_096) as i64;
            loop {
                let mut b = Built::default();
                let cond = host_sql::where_clause(&mut b, &f, clock, false);
                let after = b.arg(Arg::Text(last.clone()));
                let limit = b.arg(Arg::Int(chunk_size));
                let sql = format!(
                    "SELECT h.id, h.hostname {} WHERE {cond} AND h.hostname > {after} ORDER BY h.hostname LIMIT {limit}",
                    host_sql::FROM_HOSTS
                );
                let chunk: Vec<(i64, String)> =
                    bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &b.args).fetch_all(pool).await?;
                let Some((_, end)) = chunk.last() else { return Ok((names, Some(seen), false)) };
                last = end.clone();
                let chunk_ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
                let sql = format!(
                    "SELECT DISTINCT hp.host_id FROM host_packages hp WHERE hp.host_id IN ({}) AND hp.package_id IN ({})",
                    super::bulk::id_list(1),
                    super::bulk::id_list(2)
                );
                let having: std::collections::HashSet<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(super::bulk::ids_param(&chunk_ids))
                    .bind(super::bulk::ids_param(&ids))
                    .fetch_all(pool)
                    .await?
                    .into_iter()
                    .collect();
                for (id, hostname) in &chunk {
                    if !having.contains(id) {
                        continue;
                    }
                    if seen >= skip + want {
                        // One past the page: there is a next page; the count stays unknown.
                        return Ok((names, None, true));
                    }
                    if seen >= skip {
                        names.push(hostname.clone());
                    }
                    seen += 1;
                }
                if (chunk.len() as i64) < chunk_size {
                    return Ok((names, Some(seen), false));
                }
                chunk_size = (chunk_size * 4).min(16_384);
            }
        }

        /// The outstanding (installed → available) pairs of the hosts `filter` selects, with
        /// their host counts: security first, then the most hosts.
        pub(super) async fn update_list(
            pool: &Pool,
            filter: &crate::query::HostFilter,
            package: Option<&str>,
            page: crate::query::PageRequest,
            clock: &crate::query::Clock,
        ) -> StoreResult<crate::query::Paged<crate::store::views::UpdatePairView>> {
            let mut b = Built::default();
            let mut conds: Vec<String> =
                host_sql::hosts_in(&mut b, "u.host_id", filter, clock, $package_index).into_iter().collect();
            if let Some(name) = package {
                let p = b.arg(Arg::Text(name.to_owned()));
                conds.push(format!("u.installed_id IN (SELECT p.id FROM packages p WHERE p.name = {p})"));
            }
            let cond = if conds.is_empty() { "1 = 1".to_owned() } else { conds.join(" AND ") };
            // Group the verdict rows by their ids alone, then name only the groups: a host has
            // one row per (installed, candidate), so count(*) is the group's host count. The
            // window count is the number of groups, before the page's LIMIT.
            let groups = format!(
                "SELECT u.installed_id, u.candidate_id, u.security, count(*) AS hosts, min(u.repo_id) AS repo_id \
                 FROM host_updates u WHERE {cond} GROUP BY u.installed_id, u.candidate_id, u.security"
            );
            let limit = b.arg(Arg::Int(i64::from(page.per_page)));
            let offset = b.arg(Arg::Int(page.offset() as i64));
            let sql = format!(
                "SELECT i.kind AS kind, i.name AS name, i.arch AS arch, i.epoch AS ie, i.version AS iv, i.release AS ir, \
                 c.epoch AS ce, c.version AS cv, c.release AS cr, pairs.security AS security, pairs.hosts AS hosts, \
                 r.name AS repo, count(*) OVER () AS total FROM ({groups}) pairs \
                 JOIN packages i ON i.id = pairs.installed_id JOIN packages c ON c.id = pairs.candidate_id \
                 JOIN repos r ON r.id = pairs.repo_id \
                 ORDER BY pairs.security DESC, pairs.hosts DESC, i.name, i.arch, i.id, c.id LIMIT {limit} OFFSET {offset}"
            );
            let rows = bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql)), &b.args).fetch_all(pool).await?;
            let evr = |r: &<Db as sqlx::Database>::Row, e: &str, v: &str, rel: &str| -> StoreResult<String> {
                let epoch: i64 = r.try_get(e)?;
                Ok(format_evr(epoch as u32, &r.try_get::<String, _>(v)?, &r.try_get::<String, _>(rel)?))
            };
            let total: i64 = match rows.first() {
                Some(r) => r.try_get("total")?,
                None if page.offset() > 0 => {
                    let count_sql = format!("SELECT count(*) FROM ({groups}) pairs");
                    // The filter's parameters, without the page's two.
                    let args = &b.args[..b.args.len() - 2];
                    bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)), args).fetch_one(pool).await?
                }
                None => 0,
            };
            let rows = rows
                .iter()
                .map(|r| {
                    Ok(crate::store::views::UpdatePairView {
                        kind: kind(r.try_get("kind")?)?,
                        name: r.try_get("name")?,
                        arch: r.try_get("arch")?,
                        installed: evr(r, "ie", "iv", "ir")?,
                        available: evr(r, "ce", "cv", "cr")?,
                        security: r.try_get("security")?,
                        hosts: r.try_get("hosts")?,
                        repo: r.try_get("repo")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(crate::query::Paged { total: total as u64, rows })
        }

        /// The package names `filter` selects, by name and kind, with their version counts.
        pub(super) async fn package_names(
            pool: &Pool,
            filter: &crate::query::PackageFilter,
            page: crate::query::PageRequest,
        ) -> StoreResult<crate::query::Paged<crate::store::views::PackageNameView>> {
            let mut b = Built::default();
            let mut conds = vec!["1 = 1".to_owned()];
            if let Some(s) = &filter.search {
                let p = b.arg(Arg::Text(format!("%{}%", host_sql::like_escape(s))));
                conds.push(format!("p.name LIKE {p} ESCAPE '\\'"));
            }
            if let Some(k) = &filter.kind {
                let kind = PackageKind::parse(k).unwrap_or(PackageKind::Deb);
                let p = b.arg(Arg::Int(kind as i64));
                conds.push(format!("p.kind = {p}"));
            }
            if let Some(a) = &filter.arch {
                let p = b.arg(Arg::Text(a.clone()));
                conds.push(format!("p.arch = {p}"));
            }
            let grouped = format!("FROM packages p WHERE {} GROUP BY p.name, p.kind", conds.join(" AND "));
            let count_sql = format!("SELECT count(*) FROM (SELECT 1 AS one {grouped}) t");
            let total: i64 =
                bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)), &b.args).fetch_one(pool).await?;
            let limit = b.arg(Arg::Int(i64::from(page.per_page)));
            let offset = b.arg(Arg::Int(page.offset() as i64));
            let sql = format!(
                "SELECT p.name AS name, p.kind AS kind, count(*) AS versions, count(DISTINCT p.arch) AS arches \
                 {grouped} ORDER BY p.name, p.kind LIMIT {limit} OFFSET {offset}"
            );
            let rows = bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql)), &b.args).fetch_all(pool).await?;
            let rows = rows
                .iter()
                .map(|r| {
                    Ok(crate::store::views::PackageNameView {
                        name: r.try_get("name")?,
                        kind: kind(r.try_get("kind")?)?,
                        versions: r.try_get("versions")?,
                        arches: r.try_get("arches")?,
                    })
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(crate::query::Paged { total: total as u64, rows })
        }

        /// The transactions of the hosts `filter` selects (and that changed a package of this
        /// name), newest first.
        pub(super) async fn transaction_list(
            pool: &Pool,
            filter: &crate::query::HostFilter,
            package: Option<&str>,
            page: crate::query::PageRequest,
            clock: &crate::query::Clock,
        ) -> StoreResult<crate::query::Paged<crate::store::views::HostTransactionView>> {
            let mut b = Built::default();
            let mut conds: Vec<String> =
                host_sql::hosts_in(&mut b, "t.host_id", filter, clock, $package_index).into_iter().collect();
            if let Some(name) = package {
                let p = b.arg(Arg::Text(name.to_owned()));
                conds.push(format!(
                    "EXISTS (SELECT 1 FROM transaction_changes c WHERE c.transaction_id = t.id AND c.name = {p})"
                ));
            }
            let cond = if conds.is_empty() { "1 = 1".to_owned() } else { conds.join(" AND ") };
            let count_sql = format!("SELECT count(*) FROM transactions t WHERE {cond}");
            let total: i64 =
                bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql)), &b.args).fetch_one(pool).await?;
            let limit = b.arg(Arg::Int(i64::from(page.per_page)));
            let offset = b.arg(Arg::Int(page.offset() as i64));
            let sql = format!(
                "SELECT t.id FROM transactions t WHERE {cond} ORDER BY t.finished_at DESC, t.id DESC \
                 LIMIT {limit} OFFSET {offset}"
            );
            let ids: Vec<i64> = bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), &b.args).fetch_all(pool).await?;
            let rows = transactions_by_id(pool, &ids)
                .await?
                .into_iter()
                .map(|(hostname, transaction)| crate::store::views::HostTransactionView { hostname, transaction })
                .collect();
            Ok(crate::query::Paged { total: total as u64, rows })
        }

        /// Tag names of these hosts.
        async fn tags_of(pool: &Pool, host_ids: &[i64]) -> StoreResult<HashMap<i64, Vec<String>>> {
            let mut out: HashMap<i64, Vec<String>> = HashMap::new();
            if host_ids.is_empty() {
                return Ok(out);
            }
            let mut b = Built::default();
            let list: Vec<String> = host_ids.iter().map(|id| b.arg(Arg::Int(*id))).collect();
            let sql = format!(
                "SELECT ht.host_id, t.name FROM host_tags ht JOIN tags t ON t.id = ht.tag_id \
                 WHERE ht.host_id IN ({}) ORDER BY t.name",
                list.join(", ")
            );
            let rows: Vec<(i64, String)> =
                bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), &b.args).fetch_all(pool).await?;
            for (host, tag) in rows {
                out.entry(host).or_default().push(tag);
            }
            Ok(out)
        }

        /// Every version of the package `name` any host has installed or any repository
        /// offers, oldest first, with their host counts and repositories.
        pub(super) async fn package_versions(
            pool: &Pool,
            name: &str,
        ) -> StoreResult<Vec<crate::store::views::PackageVersionView>> {
            // Every version's host count in one pass. With a package → hosts index (PostgreSQL)
            // that index alone; without (SQLite) each host's (host, package) keys probed for all
            // the ids at once, hosts first (CROSS JOIN fixes the order), where a probe per version
            // and host took four times as long. A trigger-kept count table made this 1.5 ms but
            // cost 40 % of first-time ingest, and a package → hosts index three quarters of it.
            let counts_sql = if $package_index {
                "SELECT hp.package_id AS id, count(*) AS hosts FROM host_packages hp \
                 WHERE hp.package_id IN (SELECT p.id FROM packages p WHERE p.name = $1) GROUP BY hp.package_id"
            } else {
                "SELECT hp.package_id AS id, count(*) AS hosts FROM hosts h CROSS JOIN host_packages hp \
                 ON hp.host_id = h.id AND hp.package_id IN (SELECT p.id FROM packages p WHERE p.name = $1) \
                 GROUP BY hp.package_id"
            };
            let counts: HashMap<i64, i64> =
                sqlx::query_as::<_, (i64, i64)>(counts_sql).bind(name).fetch_all(pool).await?.into_iter().collect();
            let rows = sqlx::query(
                "SELECT p.id, p.kind, p.epoch, p.version, p.release, p.arch \
                 FROM packages p WHERE p.name = $1 ORDER BY p.arch, p.epoch, p.version, p.release",
            )
            .bind(name)
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let id: i64 = r.try_get("id")?;
                let repos: Vec<String> = sqlx::query_scalar(
                    "SELECT r.name FROM repo_packages rp JOIN repos r ON r.id = rp.repo_id WHERE rp.package_id = $1 \
                     ORDER BY r.name",
                )
                .bind(id)
                .fetch_all(pool)
                .await?;
                let hosts = counts.get(&id).copied().unwrap_or(0);
                if hosts == 0 && repos.is_empty() {
                    continue;
                }
                let (epoch, version, release): (i64, String, String) =
                    (r.try_get("epoch")?, r.try_get("version")?, r.try_get("release")?);
                out.push(crate::store::views::PackageVersionView {
                    kind: kind(r.try_get("kind")?)?,
                    evr: format_evr(epoch as u32, &version, &release),
                    epoch,
                    version,
                    release,
                    arch: r.try_get("arch")?,
                    hosts,
                    repos,
                });
            }
            // Oldest first, as the package manager orders versions.
            out.sort_by(|a, b| {
                // pacman orders versions as rpm does; portage's rules are close enough to list by.
                let scheme = match a.kind {
                    PackageKind::Deb => patchman_engine::vercmp::VersionScheme::Deb,
                    PackageKind::Rpm | PackageKind::Arch | PackageKind::Gentoo => {
                        patchman_engine::vercmp::VersionScheme::Rpm
                    }
                };
                (a.kind, &a.arch).cmp(&(b.kind, &b.arch)).then_with(|| scheme.compare(&a.evr, &b.evr))
            });
            Ok(out)
        }

        pub(super) async fn dashboard(
            pool: &Pool,
            clock: &crate::query::Clock,
        ) -> StoreResult<crate::store::views::Dashboard> {
            use crate::query::HostStatus;
            let mut b = Built::default();
            let case = host_sql::status_case(&mut b, clock);
            let yes = b.arg(Arg::Bool(true));
            let network = b.arg(Arg::Int(crate::store::AuthKind::Network as i64));
            let sql = format!(
                "SELECT {case} AS status, count(*) AS hosts, \
                 CAST(sum(CASE WHEN h.security_update_count > 0 THEN 1 ELSE 0 END) AS BIGINT) AS with_security, \
                 CAST(sum(CASE WHEN h.reboot_required = {yes} OR h.kernel_reboot_reason <> '' THEN 1 ELSE 0 END) AS BIGINT) AS reboot, \
                 CAST(sum(CASE WHEN h.unknown_package_count > 0 THEN 1 ELSE 0 END) AS BIGINT) AS with_unknown, \
                 CAST(sum(h.security_update_count + h.bugfix_update_count) AS BIGINT) AS updates, \
                 CAST(sum(CASE WHEN h.view_disagreements > 0 THEN 1 ELSE 0 END) AS BIGINT) AS view_disagrees, \
                 CAST(sum(CASE WHEN h.auth_kind = {network} THEN 1 ELSE 0 END) AS BIGINT) AS unauthenticated, \
                 CAST(sum(CASE WHEN h.duplicate_package_count > 0 THEN 1 ELSE 0 END) AS BIGINT) AS duplicates \
                 FROM hosts h GROUP BY 1"
            );
            // Six independent reads, each on its own connection at once: the page waits for the
            // slowest, not for their sum.
            let hosts = bind_args!(sqlx::query(sqlx::AssertSqlSafe(sql)), &b.args).fetch_all(pool);
            let without_repos = sqlx::query_scalar(
                "SELECT count(*) FROM hosts h WHERE NOT EXISTS (SELECT 1 FROM host_repos hr WHERE hr.host_id = h.id)",
            )
            .fetch_one(pool);
            let unknown_packages =
                sqlx::query_scalar("SELECT count(DISTINCT package_id) FROM host_unknown_packages").fetch_one(pool);
            let repos = sqlx::query(
                "SELECT count(*) AS repos, \
                 CAST(sum(CASE WHEN NOT EXISTS (SELECT 1 FROM host_repos hr WHERE hr.repo_id = r.id) \
                     AND NOT EXISTS (SELECT 1 FROM os_group_repos gr WHERE gr.repo_id = r.id) THEN 1 ELSE 0 END) AS BIGINT) AS unused, \
                 CAST(sum(CASE WHEN r.enabled = $1 AND r.kind IN ($3, $4) AND (r.refreshed_at IS NULL OR r.refreshed_at < $2) \
                   THEN 1 ELSE 0 END) AS BIGINT) AS stale \
                 FROM repos r",
            )
            .bind(true)
            .bind(clock.silent_before())
            .bind(PackageKind::Deb as i64)
            .bind(PackageKind::Rpm as i64)
            .fetch_one(pool);
            let mirrors = sqlx::query(
                "SELECT CAST(sum(CASE WHEN enabled = $1 AND fail_count > 0 THEN 1 ELSE 0 END) AS BIGINT) AS failing, \
                 CAST(sum(CASE WHEN enabled = $2 THEN 1 ELSE 0 END) AS BIGINT) AS disabled, \
                 count(DISTINCT CASE WHEN valid_until_passed = $1 THEN repo_id END) AS past_valid_until, \
                 count(DISTINCT CASE WHEN verified_by = '' THEN repo_id END) AS unverified FROM mirrors",
            )
            .bind(true)
            .bind(false)
            .fetch_one(pool);
            let ungrouped = sqlx::query_scalar(
                "SELECT count(*) FROM os_variants v \
                 WHERE NOT EXISTS (SELECT 1 FROM os_group_repos gr WHERE gr.os_group_id = v.os_group_id)",
            )
            .fetch_one(pool);
            let (rows, without_repos, unknown_packages, repo_row, mirror_row, ungrouped) =
                tokio::try_join!(hosts, without_repos, unknown_packages, repos, mirrors, ungrouped)?;
            let mut d = crate::store::views::Dashboard::default();
            let mut by_status: HashMap<HostStatus, i64> = HashMap::new();
            for r in &rows {
                let n: i64 = r.try_get("hosts")?;
                *by_status.entry(host_sql::status_of(&r.try_get::<String, _>("status")?)).or_default() += n;
                d.hosts += n;
                d.with_security += r.try_get::<Option<i64>, _>("with_security")?.unwrap_or(0);
                d.reboot_required += r.try_get::<Option<i64>, _>("reboot")?.unwrap_or(0);
                d.with_unknown_packages += r.try_get::<Option<i64>, _>("with_unknown")?.unwrap_or(0);
                d.updates += r.try_get::<Option<i64>, _>("updates")?.unwrap_or(0);
                d.view_disagrees += r.try_get::<Option<i64>, _>("view_disagrees")?.unwrap_or(0);
                d.unauthenticated += r.try_get::<Option<i64>, _>("unauthenticated")?.unwrap_or(0);
                d.duplicate_packages += r.try_get::<Option<i64>, _>("duplicates")?.unwrap_or(0);
            }
            d.by_status = HostStatus::ALL.iter().map(|s| (*s, by_status.get(s).copied().unwrap_or(0))).collect();
            d.without_repos = without_repos;
            d.unknown_packages = unknown_packages;
            d.repos = repo_row.try_get("repos")?;
            d.repos_unused = repo_row.try_get::<Option<i64>, _>("unused")?.unwrap_or(0);
            d.repos_not_refreshed = repo_row.try_get::<Option<i64>, _>("stale")?.unwrap_or(0);
            d.mirrors_failing = mirror_row.try_get::<Option<i64>, _>("failing")?.unwrap_or(0);
            d.mirrors_disabled = mirror_row.try_get::<Option<i64>, _>("disabled")?.unwrap_or(0);
            d.repos_past_valid_until = mirror_row.try_get("past_valid_until")?;
            d.repos_unverified = mirror_row.try_get("unverified")?;
            d.os_variants_without_group_repos = ungrouped;
            Ok(d)
        }
    };
}

pub(crate) use portable_host_queries;
