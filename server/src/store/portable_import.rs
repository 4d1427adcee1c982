//! Writing an organisation brought over from another installation (`import-patchman`), in one
//! transaction, written once for both dialects (see `portable.rs`). What exists is kept:
//! a repository that owns one of the URLs, a variant in another group, a known host. Only an
//! administrator's "off" travels into what exists (a disabled repository or mirror), so a
//! second run changes nothing. Expanded after `portable_queries!` in the same module.

macro_rules! portable_import_queries {
    () => {
        pub(super) async fn import_organisation(
            pool: &Pool,
            org: &crate::store::Organisation,
            now: i64,
        ) -> StoreResult<crate::store::ImportSummary> {
            let mut out = crate::store::ImportSummary::default();
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let mut repo_ids = Vec::with_capacity(org.repos.len());
            for repo in &org.repos {
                repo_ids.push(import_repo(&mut tx, repo, now, &mut out).await?);
            }
            for group in &org.groups {
                import_group(&mut tx, group, &org.repos, &repo_ids, &mut out).await?;
            }
            for host in &org.hosts {
                import_host(&mut tx, host, &repo_ids, now, &mut out).await?;
            }
            tx.commit().await?;
            Ok(out)
        }

        type Tx = sqlx::Transaction<'static, Db>;

        /// The repository that owns one of these URLs, if any.
        async fn url_owner(tx: &mut Tx, urls: &[crate::report::RepoUrl]) -> StoreResult<Option<i64>> {
            let mut owner: Option<i64> = None;
            for u in urls {
                let found: Option<i64> = sqlx::query_scalar("SELECT repo_id FROM mirrors WHERE url = $1")
                    .bind(&u.url)
                    .fetch_optional(&mut **tx)
                    .await?;
                owner = owner.or(found);
            }
            Ok(owner)
        }

        async fn import_repo(
            tx: &mut Tx,
            org: &crate::store::OrgRepo,
            now: i64,
            out: &mut crate::store::ImportSummary,
        ) -> StoreResult<i64> {
            let r = &org.repo.reported;
            let id = match url_owner(tx, &r.urls).await? {
                Some(id) => {
                    let (enabled, auth): (bool, bool) =
                        sqlx::query_as("SELECT enabled, auth_required FROM repos WHERE id = $1")
                            .bind(id)
                            .fetch_one(&mut **tx)
                            .await?;
                    let (disable, need_auth) = (enabled && !org.enabled, org.auth_required && !auth);
                    if disable || need_auth {
                        sqlx::query("UPDATE repos SET enabled = $2, auth_required = $3 WHERE id = $1")
                            .bind(id)
                            .bind(enabled && org.enabled)
                            .bind(auth || org.auth_required)
                            .execute(&mut **tx)
                            .await?;
                        let what = [(disable, "disabled"), (need_auth, "marked as needing credentials")]
                            .iter()
                            .filter(|(yes, _)| *yes)
                            .map(|(_, w)| *w)
                            .collect::<Vec<_>>()
                            .join(" and ");
                        out.brought("repository", format!("{} ({what}, as in Patchman)", org.repo.display_name));
                    } else {
                        out.skipped("repository", &org.repo.display_name, "already here");
                    }
                    id
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO repos (kind, repo_key, name, suite, component, arch, security, security_manual, \
                         enabled, auth_required, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                    )
                    .bind(r.kind as i64)
                    .bind(&r.repo_id)
                    .bind(&org.repo.display_name)
                    .bind(&r.suite)
                    .bind(&r.component)
                    .bind(&org.arch)
                    .bind(org.repo.security)
                    .bind(org.security_manual)
                    .bind(org.enabled)
                    .bind(org.auth_required)
                    .bind(now)
                    .fetch_one(&mut **tx)
                    .await?;
                    out.brought("repository", &org.repo.display_name);
                    id
                }
            };
            for (u, enabled) in r.urls.iter().zip(&org.mirrors_enabled) {
                let existing: Option<(i64, bool)> =
                    sqlx::query_as("SELECT repo_id, enabled FROM mirrors WHERE url = $1")
                        .bind(&u.url)
                        .fetch_optional(&mut **tx)
                        .await?;
                match existing {
                    None => {
                        sqlx::query(
                            "INSERT INTO mirrors (repo_id, url, url_kind, enabled, created_at) VALUES ($1, $2, $3, $4, $5)",
                        )
                        .bind(id)
                        .bind(&u.url)
                        .bind(u.kind as i64)
                        .bind(*enabled)
                        .bind(now)
                        .execute(&mut **tx)
                        .await?;
                        out.brought("mirror", if *enabled { u.url.clone() } else { format!("{} (disabled)", u.url) });
                    }
                    Some((_, true)) if !enabled => {
                        sqlx::query("UPDATE mirrors SET enabled = $2 WHERE url = $1")
                            .bind(&u.url)
                            .bind(false)
                            .execute(&mut **tx)
                            .await?;
                        out.brought("mirror", format!("{} (disabled, as in Patchman)", u.url));
                    }
                    Some((owner, _)) if owner != id => {
                        out.skipped("mirror", &u.url, format!("belongs to repository {owner} here"));
                    }
                    Some(_) => out.skipped("mirror", &u.url, "already here"),
                }
            }
            Ok(id)
        }

        async fn import_group(
            tx: &mut Tx,
            group: &crate::store::OrgGroup,
            repos: &[crate::store::OrgRepo],
            repo_ids: &[i64],
            out: &mut crate::store::ImportSummary,
        ) -> StoreResult<()> {
            let created: Option<i64> =
                sqlx::query_scalar("INSERT INTO os_groups (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id")
                    .bind(&group.name)
                    .fetch_optional(&mut **tx)
                    .await?;
            let group_id = match created {
                Some(id) => {
                    out.brought("OS group", &group.name);
                    id
                }
                None => {
                    out.skipped("OS group", &group.name, "already here");
                    sqlx::query_scalar("SELECT id FROM os_groups WHERE name = $1").bind(&group.name).fetch_one(&mut **tx).await?
                }
            };
            for variant in &group.variants {
                let existing: Option<(i64, String)> = sqlx::query_as(
                    "SELECT v.os_group_id, g.name FROM os_variants v JOIN os_groups g ON g.id = v.os_group_id WHERE v.name = $1",
                )
                .bind(variant)
                .fetch_optional(&mut **tx)
                .await?;
                match existing {
                    None => {
                        sqlx::query("INSERT INTO os_variants (name, os_group_id) VALUES ($1, $2)")
                            .bind(variant)
                            .bind(group_id)
                            .execute(&mut **tx)
                            .await?;
                        out.brought("OS variant", format!("{variant} (in {})", group.name));
                    }
                    Some((id, _)) if id == group_id => out.skipped("OS variant", variant, "already here"),
                    Some((_, other)) => out.skipped("OS variant", variant, format!("already here, in group {other}")),
                }
            }
            for &i in &group.repos {
                let Some(&repo_id) = repo_ids.get(i) else { continue };
                let added = sqlx::query(
                    "INSERT INTO os_group_repos (os_group_id, repo_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(group_id)
                .bind(repo_id)
                .execute(&mut **tx)
                .await?
                .rows_affected();
                let name = format!("{} → {}", group.name, repos[i].repo.display_name);
                if added > 0 {
                    out.brought("OS group repository", name);
                    mark_group_hosts_stale(&mut **tx, group_id).await?;
                } else {
                    out.skipped("OS group repository", name, "already here");
                }
            }
            Ok(())
        }

        async fn import_host(
            tx: &mut Tx,
            host: &crate::store::OrgHost,
            repo_ids: &[i64],
            now: i64,
            out: &mut crate::store::ImportSummary,
        ) -> StoreResult<()> {
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM hosts WHERE hostname = $1")
                .bind(&host.hostname)
                .fetch_optional(&mut **tx)
                .await?;
            if known.is_some() {
                out.skipped("host", &host.hostname, "already here (it reported, or was imported before)");
                return Ok(());
            }
            let variant_id: Option<i64> = match &host.os {
                Some((_, variant)) => sqlx::query_scalar("SELECT id FROM os_variants WHERE name = $1")
                    .bind(variant)
                    .fetch_optional(&mut **tx)
                    .await?,
                None => None,
            };
            let domain_id: Option<i64> = if host.domain.is_empty() {
                None
            } else {
                sqlx::query("INSERT INTO domains (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
                    .bind(&host.domain)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query_scalar("SELECT id FROM domains WHERE name = $1").bind(&host.domain).fetch_optional(&mut **tx).await?
            };
            let host_id: i64 = sqlx::query_scalar(
                "INSERT INTO hosts (hostname, domain_id, os_variant_id, arch, kernel, use_host_repos, enrolled_at, \
                 last_seen_at, auth_kind) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(&host.hostname)
            .bind(domain_id)
            .bind(variant_id)
            .bind(&host.arch)
            .bind(&host.kernel)
            .bind(host.use_host_repos)
            .bind(now)
            .bind(host.last_seen_at)
            .bind(crate::store::AuthKind::NotYet as i64)
            .fetch_one(&mut **tx)
            .await?;
            for tag in &host.tags {
                sqlx::query("INSERT INTO tags (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
                    .bind(tag)
                    .execute(&mut **tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO host_tags (host_id, tag_id) SELECT $1, id FROM tags WHERE name = $2 ON CONFLICT DO NOTHING",
                )
                .bind(host_id)
                .bind(tag)
                .execute(&mut **tx)
                .await?;
            }
            for &(i, priority, enabled) in &host.repos {
                let Some(&repo_id) = repo_ids.get(i) else { continue };
                sqlx::query(
                    "INSERT INTO host_repos (host_id, repo_id, priority, enabled) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                )
                .bind(host_id)
                .bind(repo_id)
                .bind(i64::from(priority))
                .bind(enabled)
                .execute(&mut **tx)
                .await?;
            }
            out.brought("host", &host.hostname);
            Ok(())
        }
    };
}

pub(crate) use portable_import_queries;
