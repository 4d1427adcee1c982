//! The SQLite statements of ingest (`IngestOps`), inside one `BEGIN IMMEDIATE` transaction.
//! Bulk rows travel as one JSON parameter and are unpacked by `json_each`, so a report costs a
//! handful of statements, not one per package.

use async_trait::async_trait;
use sqlx::{Sqlite, Transaction};

use super::bulk::json;
use super::queries;
use crate::report::{ModuleStream, OfferedUpdate, RepoUrl, Transaction as HostTransaction};
use crate::store::StoreResult;
use crate::store::ingest_flow::{IngestOps, owners_by_index};

/// A batch's transaction, and the packages generation once read in it.
pub(super) struct SqliteIngest<'c>(pub Transaction<'c, Sqlite>, pub Option<i64>);

const UPSERT_OS_GROUP: &str =
    "INSERT INTO os_groups (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";
const UPSERT_DOMAIN: &str =
    "INSERT INTO domains (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";
const UPSERT_TAG: &str =
    "INSERT INTO tags (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id";

impl SqliteIngest<'_> {
    async fn upsert_name(&mut self, sql: &'static str, name: &str) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(sql).bind(name).fetch_one(&mut *self.0).await?)
    }
}

crate::store::portable_ingest::shared_ingest_ops!(SqliteIngest<'_>);

#[async_trait]
impl IngestOps for SqliteIngest<'_> {
    /// Read once per batch: the transaction began IMMEDIATE, so no clean (a write) can commit
    /// before it ends.
    async fn packages_generation(&mut self) -> StoreResult<i64> {
        if let Some(generation) = self.1 {
            return Ok(generation);
        }
        let generation = queries::packages_generation(&mut self.0).await?;
        self.1 = Some(generation);
        Ok(generation)
    }

    async fn insert_transaction(&mut self, host_id: i64, t: &HostTransaction, now: i64) -> StoreResult<()> {
        let Some(id) = queries::insert_transaction_row(&mut self.0, host_id, t, now).await? else { return Ok(()) };
        let changes: Vec<_> = t
            .changes
            .iter()
            .enumerate()
            .map(|(seq, c)| (seq, c.action as i64, &c.name, &c.arch, &c.old_version, &c.new_version))
            .collect();
        sqlx::query(
            "INSERT INTO transaction_changes (transaction_id, seq, action, name, arch, old_version, new_version) \
             SELECT $1, j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5 FROM jsonb_each($2) j",
        )
        .bind(id)
        .bind(json(&changes))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn host_package_ids(&mut self, host_id: i64) -> StoreResult<Vec<i64>> {
        let set: Option<Vec<u8>> = sqlx::query_scalar("SELECT ids FROM host_package_sets WHERE host_id = $1")
            .bind(host_id)
            .fetch_optional(&mut *self.0)
            .await?;
        super::bulk::unpack_ids(set.as_deref().unwrap_or_default())
    }

    async fn keep_package_set(&mut self, host_id: i64, ids: &[i64]) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO host_package_sets (host_id, ids) VALUES ($1, $2) \
             ON CONFLICT (host_id) DO UPDATE SET ids = excluded.ids",
        )
        .bind(host_id)
        .bind(super::bulk::pack_ids(ids))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn remove_host_packages(&mut self, host_id: i64, ids: &[i64]) -> StoreResult<()> {
        sqlx::query("DELETE FROM host_packages WHERE host_id = $1 AND package_id IN (SELECT value FROM json_each($2))")
            .bind(host_id)
            .bind(json(&ids))
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn add_host_packages(&mut self, host_id: i64, ids: &[i64]) -> StoreResult<()> {
        sqlx::query("INSERT INTO host_packages (host_id, package_id) SELECT $1, value FROM json_each($2)")
            .bind(host_id)
            .bind(json(&ids))
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn repos_by_urls(&mut self, url_lists: &[&[RepoUrl]]) -> StoreResult<Vec<Option<i64>>> {
        let pairs: Vec<(usize, &str)> =
            url_lists.iter().enumerate().flat_map(|(i, urls)| urls.iter().map(move |u| (i, u.url.as_str()))).collect();
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT j.value->>0, min(m.repo_id) FROM jsonb_each($1) j JOIN mirrors m ON m.url = j.value->>1 \
             GROUP BY j.value->>0",
        )
        .bind(json(&pairs))
        .fetch_all(&mut *self.0)
        .await?;
        Ok(owners_by_index(url_lists.len(), rows))
    }

    async fn add_mirrors(&mut self, mirrors: &[(i64, &RepoUrl)], now: i64) -> StoreResult<()> {
        let rows: Vec<(i64, &str, i64)> = mirrors.iter().map(|(id, u)| (*id, u.url.as_str(), u.kind as i64)).collect();
        sqlx::query(
            "INSERT INTO mirrors (repo_id, url, url_kind, created_at) SELECT j.value->>0, j.value->>1, j.value->>2, $1 \
             FROM jsonb_each($2) j WHERE true ON CONFLICT (url) DO NOTHING",
        )
        .bind(now)
        .bind(json(&rows))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn set_host_repos(&mut self, host_id: i64, links: &[(i64, i32)], fresh: bool) -> StoreResult<()> {
        if !fresh {
            let ids: Vec<i64> = links.iter().map(|l| l.0).collect();
            sqlx::query(
                "DELETE FROM host_repos WHERE host_id = $1 AND repo_id NOT IN (SELECT value FROM json_each($2))",
            )
            .bind(host_id)
            .bind(json(&ids))
            .execute(&mut *self.0)
            .await?;
        }
        if !links.is_empty() {
            sqlx::query(
                "INSERT INTO host_repos (host_id, repo_id, priority) SELECT $1, j.value->>0, j.value->>1 \
                 FROM jsonb_each($2) j WHERE true ON CONFLICT (host_id, repo_id) DO UPDATE SET priority = excluded.priority",
            )
            .bind(host_id)
            .bind(json(&links))
            .execute(&mut *self.0)
            .await?;
        }
        Ok(())
    }

    async fn set_host_modules(&mut self, host_id: i64, modules: &[ModuleStream], fresh: bool) -> StoreResult<()> {
        if !fresh {
            sqlx::query("DELETE FROM host_modules WHERE host_id = $1").bind(host_id).execute(&mut *self.0).await?;
        }
        if modules.is_empty() {
            return Ok(());
        }
        let modules: Vec<_> = modules.iter().map(|m| (&m.name, &m.stream, m.profiles.join(","))).collect();
        sqlx::query(
            "INSERT INTO host_modules (host_id, name, stream, profiles) \
             SELECT $1, j.value->>0, j.value->>1, j.value->>2 FROM jsonb_each($2) j WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(host_id)
        .bind(json(&modules))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn set_offered_updates(&mut self, host_id: i64, updates: &[OfferedUpdate], fresh: bool) -> StoreResult<()> {
        if !fresh {
            sqlx::query("DELETE FROM host_offered_updates WHERE host_id = $1")
                .bind(host_id)
                .execute(&mut *self.0)
                .await?;
        }
        if updates.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> =
            updates.iter().map(|u| (&u.name, &u.arch, u.epoch, &u.version, &u.release, &u.repo, u.security)).collect();
        sqlx::query(
            "INSERT INTO host_offered_updates (host_id, name, arch, epoch, version, release, repo, security) \
             SELECT $1, j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5, j.value->>6 \
             FROM jsonb_each($2) j WHERE true ON CONFLICT DO NOTHING",
        )
        .bind(host_id)
        .bind(json(&rows))
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn upsert_os(&mut self, group: &str, variant: &str) -> StoreResult<i64> {
        let group_id = self.upsert_name(UPSERT_OS_GROUP, group).await?;
        Ok(sqlx::query_scalar(
            // A known variant keeps its group (an administrator may have moved it), as on
            // PostgreSQL; `SET name = name` only makes RETURNING give the existing row.
            "INSERT INTO os_variants (name, os_group_id) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(variant)
        .bind(group_id)
        .fetch_one(&mut *self.0)
        .await?)
    }

    async fn upsert_domain(&mut self, name: &str) -> StoreResult<i64> {
        self.upsert_name(UPSERT_DOMAIN, name).await
    }

    async fn upsert_tags(&mut self, tags: &[String]) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(tags.len());
        for tag in tags {
            ids.push(self.upsert_name(UPSERT_TAG, tag).await?);
        }
        Ok(ids)
    }

    async fn set_host_tags(&mut self, host_id: i64, tag_ids: &[i64], fresh: bool) -> StoreResult<()> {
        if !fresh {
            // An administrator's tags stay.
            sqlx::query("DELETE FROM host_tags WHERE host_id = $1 AND by_admin = $2")
                .bind(host_id)
                .bind(false)
                .execute(&mut *self.0)
                .await?;
        }
        if !tag_ids.is_empty() {
            sqlx::query(
                // `WHERE true`: without it SQLite reads ON CONFLICT as a join's ON.
                "INSERT INTO host_tags (host_id, tag_id) SELECT $1, value FROM json_each($2) WHERE true \
                 ON CONFLICT (host_id, tag_id) DO NOTHING",
            )
            .bind(host_id)
            .bind(json(&tag_ids))
            .execute(&mut *self.0)
            .await?;
        }
        Ok(())
    }
}
