//! OS groups and the repositories they share, written once for both dialects (see
//! `portable.rs`): a host that does not use only its own repositories (`use_host_repos` off)
//! also gets its updates from the repositories of its OS group ("Debian 12" for 12.7 and
//! 12.8). Expanded after `portable_queries!` in the same module, it uses its imports.

macro_rules! portable_os_group_queries {
    () => {
        /// Marks for recomputation the hosts of a group that use its repositories.
        async fn mark_group_hosts_stale(
            conn: &mut <Db as sqlx::Database>::Connection,
            group_id: i64,
        ) -> StoreResult<()> {
            sqlx::query(concat!(
                "UPDATE hosts SET updates_stale = $2, ",
                bump_keeping_exposures!(),
                " WHERE use_host_repos = $3 \
                 AND os_variant_id IN (SELECT id FROM os_variants WHERE os_group_id = $1)"
            ))
            .bind(group_id)
            .bind(true)
            .bind(false)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Every OS group with its variants, host count and repositories.
        pub(super) async fn os_groups(pool: &Pool) -> StoreResult<Vec<crate::store::views::OsGroupView>> {
            let groups: Vec<(i64, String, i64)> = sqlx::query_as(
                "SELECT g.id, g.name, (SELECT count(*) FROM hosts h JOIN os_variants v ON v.id = h.os_variant_id \
                 WHERE v.os_group_id = g.id) FROM os_groups g ORDER BY g.name",
            )
            .fetch_all(pool)
            .await?;
            let variants: Vec<(i64, String)> =
                sqlx::query_as("SELECT os_group_id, name FROM os_variants ORDER BY name").fetch_all(pool).await?;
            let repos: Vec<(i64, i64, String)> = sqlx::query_as(
                "SELECT gr.os_group_id, r.id, r.name FROM os_group_repos gr JOIN repos r ON r.id = gr.repo_id \
                 ORDER BY r.name, r.id",
            )
            .fetch_all(pool)
            .await?;
            Ok(groups
                .into_iter()
                .map(|(id, name, host_count)| crate::store::views::OsGroupView {
                    name,
                    variants: variants.iter().filter(|v| v.0 == id).map(|v| v.1.clone()).collect(),
                    host_count,
                    repos: repos
                        .iter()
                        .filter(|r| r.0 == id)
                        .map(|r| crate::store::views::RepoRef { id: r.1, name: r.2.clone() })
                        .collect(),
                })
                .collect())
        }

        /// Adds a repository to an OS group, or takes it out; the group's hosts that use its
        /// repositories are marked for recomputation. False when the group or the repository
        /// does not exist.
        pub(super) async fn set_os_group_repo(
            pool: &Pool,
            group: &str,
            repo_id: i64,
            member: bool,
        ) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let group_id: Option<i64> = sqlx::query_scalar("SELECT id FROM os_groups WHERE name = $1")
                .bind(group)
                .fetch_optional(&mut *tx)
                .await?;
            let repo: Option<i64> =
                sqlx::query_scalar("SELECT id FROM repos WHERE id = $1").bind(repo_id).fetch_optional(&mut *tx).await?;
            let (Some(group_id), Some(_)) = (group_id, repo) else {
                return Ok(false);
            };
            let changed = if member {
                sqlx::query("INSERT INTO os_group_repos (os_group_id, repo_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            } else {
                sqlx::query("DELETE FROM os_group_repos WHERE os_group_id = $1 AND repo_id = $2")
            }
            .bind(group_id)
            .bind(repo_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed > 0 {
                mark_group_hosts_stale(&mut tx, group_id).await?;
            }
            tx.commit().await?;
            Ok(true)
        }

        /// Moves an OS variant into a group (made if it is new); the variant's hosts that use
        /// their group's repositories are marked for recomputation. False when the variant is
        /// unknown.
        pub(super) async fn set_os_variant_group(pool: &Pool, variant: &str, group: &str) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            sqlx::query("INSERT INTO os_groups (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
                .bind(group)
                .execute(&mut *tx)
                .await?;
            let moved = sqlx::query(
                "UPDATE os_variants SET os_group_id = (SELECT id FROM os_groups WHERE name = $2) WHERE name = $1",
            )
            .bind(variant)
            .bind(group)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                > 0;
            if moved {
                sqlx::query(concat!(
                    "UPDATE hosts SET updates_stale = $2, ",
                    bump_keeping_exposures!(),
                    " WHERE use_host_repos = $3 \
                     AND os_variant_id IN (SELECT id FROM os_variants WHERE name = $1)"
                ))
                .bind(variant)
                .bind(true)
                .bind(false)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(moved)
        }

        /// Chooses whether a host finds its updates in its own repositories only (the default)
        /// or also in its OS group's; the host is marked for recomputation when that changes.
        /// False when there is no such host.
        pub(super) async fn set_use_host_repos(pool: &Pool, hostname: &str, own_only: bool) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let current: Option<bool> = sqlx::query_scalar("SELECT use_host_repos FROM hosts WHERE hostname = $1")
                .bind(hostname)
                .fetch_optional(&mut *tx)
                .await?;
            match current {
                None => return Ok(false),
                Some(now) if now == own_only => {}
                Some(_) => {
                    sqlx::query(concat!(
                        "UPDATE hosts SET use_host_repos = $2, updates_stale = $3, ",
                        bump_keeping_exposures!(),
                        " \
                         WHERE hostname = $1"
                    ))
                    .bind(hostname)
                    .bind(own_only)
                    .bind(true)
                    .execute(&mut *tx)
                    .await?;
                    record_host_event(&mut *tx, hostname, crate::clock::now_ms(), false).await?;
                }
            }
            tx.commit().await?;
            Ok(true)
        }
    };
}

pub(crate) use portable_os_group_queries;
