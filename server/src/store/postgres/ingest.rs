//! The PostgreSQL statements of ingest (`IngestOps`). Bulk rows travel as arrays unpacked by
//! `unnest`, in ascending id order so that concurrent transactions take row locks in the same
//! order and cannot deadlock on them.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};

use super::queries;
use crate::report::{ModuleStream, OfferedUpdate, RepoUrl, Transaction as HostTransaction};
use crate::store::StoreResult;
use crate::store::ingest_flow::{IngestOps, owners_by_index};

pub(super) struct PgIngest(pub Transaction<'static, Postgres>);

impl PgIngest {
    /// The id of a name in a small (id, name UNIQUE) table. Never `ON CONFLICT DO UPDATE`:
    /// that would lock a row every report of the same OS shares.
    async fn name_id(&mut self, table: NameTable, name: &str) -> StoreResult<i64> {
        let (insert, select) = table.sql();
        if let Some(id) = sqlx::query_scalar(insert).bind(name).fetch_optional(&mut *self.0).await? {
            return Ok(id);
        }
        // Inserted by someone else meanwhile; a new statement sees it once committed.
        Ok(sqlx::query_scalar(select).bind(name).fetch_one(&mut *self.0).await?)
    }
}

#[derive(Clone, Copy)]
enum NameTable {
    OsGroups,
    Domains,
    Tags,
}

impl NameTable {
    fn sql(self) -> (&'static str, &'static str) {
        match self {
            Self::OsGroups => (
                "INSERT INTO os_groups (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
                "SELECT id FROM os_groups WHERE name = $1",
            ),
            Self::Domains => (
                "INSERT INTO domains (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
                "SELECT id FROM domains WHERE name = $1",
            ),
            Self::Tags => (
                "INSERT INTO tags (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id",
                "SELECT id FROM tags WHERE name = $1",
            ),
        }
    }
}

crate::store::portable_ingest::shared_ingest_ops!(PgIngest);

#[async_trait]
impl IngestOps for PgIngest {
    /// Read each time: a clean may commit between two statements of this transaction.
    async fn packages_generation(&mut self) -> StoreResult<i64> {
        super::queries::packages_generation(&mut self.0).await
    }

    async fn insert_transaction(&mut self, host_id: i64, t: &HostTransaction, now: i64) -> StoreResult<()> {
        let Some(id) = queries::insert_transaction_row(&mut self.0, host_id, t, now).await? else { return Ok(()) };
        let seq: Vec<i64> = (0..t.changes.len() as i64).collect();
        let action: Vec<i64> = t.changes.iter().map(|c| c.action as i64).collect();
        let name: Vec<&str> = t.changes.iter().map(|c| c.name.as_str()).collect();
        let arch: Vec<&str> = t.changes.iter().map(|c| c.arch.as_str()).collect();
        let old: Vec<&str> = t.changes.iter().map(|c| c.old_version.as_str()).collect();
        let new: Vec<&str> = t.changes.iter().map(|c| c.new_version.as_str()).collect();
        sqlx::query(
            "INSERT INTO transaction_changes (transaction_id, seq, action, name, arch, old_version, new_version) \
             SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])",
        )
        .bind(id)
        .bind(&seq)
        .bind(&action)
        .bind(&name)
        .bind(&arch)
        .bind(&old)
        .bind(&new)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn host_package_ids(&mut self, host_id: i64) -> StoreResult<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT package_id FROM host_packages WHERE host_id = $1")
            .bind(host_id)
            .fetch_all(&mut *self.0)
            .await?)
    }

    async fn remove_host_packages(&mut self, host_id: i64, ids: &[i64]) -> StoreResult<()> {
        sqlx::query("DELETE FROM host_packages WHERE host_id = $1 AND package_id = ANY($2)")
            .bind(host_id)
            .bind(ids)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn add_host_packages(&mut self, host_id: i64, ids: &[i64]) -> StoreResult<()> {
        sqlx::query("INSERT INTO host_packages (host_id, package_id) SELECT $1, unnest($2::bigint[])")
            .bind(host_id)
            .bind(ids)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn repos_by_urls(&mut self, url_lists: &[&[RepoUrl]]) -> StoreResult<Vec<Option<i64>>> {
        let (index, url): (Vec<i64>, Vec<&str>) = url_lists
            .iter()
            .enumerate()
            .flat_map(|(i, urls)| urls.iter().map(move |u| (i as i64, u.url.as_str())))
            .unzip();
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT j.i, min(m.repo_id) FROM unnest($1::bigint[], $2::text[]) AS j(i, url) \
             JOIN mirrors m ON m.url = j.url GROUP BY j.i",
        )
        .bind(&index)
        .bind(&url)
        .fetch_all(&mut *self.0)
        .await?;
        Ok(owners_by_index(url_lists.len(), rows))
    }

    async fn add_mirrors(&mut self, mirrors: &[(i64, &RepoUrl)], now: i64) -> StoreResult<()> {
        let mut sorted: Vec<&(i64, &RepoUrl)> = mirrors.iter().collect();
        sorted.sort_by(|a, b| a.1.url.cmp(&b.1.url));
        let repo: Vec<i64> = sorted.iter().map(|m| m.0).collect();
        let url: Vec<&str> = sorted.iter().map(|m| m.1.url.as_str()).collect();
        let kind: Vec<i64> = sorted.iter().map(|m| m.1.kind as i64).collect();
        sqlx::query(
            "INSERT INTO mirrors (repo_id, url, url_kind, created_at) \
             SELECT r, u, k, $4 FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS j(r, u, k) \
             ON CONFLICT (url) DO NOTHING",
        )
        .bind(&repo)
        .bind(&url)
        .bind(&kind)
        .bind(now)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn set_host_repos(&mut self, host_id: i64, links: &[(i64, i32)], fresh: bool) -> StoreResult<()> {
        let repo: Vec<i64> = links.iter().map(|l| l.0).collect();
        let priority: Vec<i64> = links.iter().map(|l| i64::from(l.1)).collect();
        if !fresh {
            sqlx::query("DELETE FROM host_repos WHERE host_id = $1 AND NOT (repo_id = ANY($2))")
                .bind(host_id)
                .bind(&repo)
                .execute(&mut *self.0)
                .await?;
        }
        if !links.is_empty() {
            sqlx::query(
                "INSERT INTO host_repos (host_id, repo_id, priority) SELECT $1, r, p \
                 FROM unnest($2::bigint[], $3::bigint[]) AS j(r, p) \
                 ON CONFLICT (host_id, repo_id) DO UPDATE SET priority = excluded.priority",
            )
            .bind(host_id)
            .bind(&repo)
            .bind(&priority)
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
        let name: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
        let stream: Vec<&str> = modules.iter().map(|m| m.stream.as_str()).collect();
        let profiles: Vec<String> = modules.iter().map(|m| m.profiles.join(",")).collect();
        sqlx::query(
            "INSERT INTO host_modules (host_id, name, stream, profiles) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(host_id)
        .bind(&name)
        .bind(&stream)
        .bind(&profiles)
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
        let text = |f: fn(&OfferedUpdate) -> &str| updates.iter().map(f).collect::<Vec<&str>>();
        let epoch: Vec<i64> = updates.iter().map(|u| i64::from(u.epoch)).collect();
        let security: Vec<bool> = updates.iter().map(|u| u.security).collect();
        sqlx::query(
            "INSERT INTO host_offered_updates (host_id, name, arch, epoch, version, release, repo, security) \
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], \
             $8::boolean[]) ON CONFLICT DO NOTHING",
        )
        .bind(host_id)
        .bind(text(|u| &u.name))
        .bind(text(|u| &u.arch))
        .bind(&epoch)
        .bind(text(|u| &u.version))
        .bind(text(|u| &u.release))
        .bind(text(|u| &u.repo))
        .bind(&security)
        .execute(&mut *self.0)
        .await?;
        Ok(())
    }

    async fn upsert_os(&mut self, group: &str, variant: &str) -> StoreResult<i64> {
        let group_id = self.name_id(NameTable::OsGroups, group).await?;
        let inserted = sqlx::query_scalar(
            "INSERT INTO os_variants (name, os_group_id) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING RETURNING id",
        )
        .bind(variant)
        .bind(group_id)
        .fetch_optional(&mut *self.0)
        .await?;
        match inserted {
            Some(id) => Ok(id),
            None => Ok(sqlx::query_scalar("SELECT id FROM os_variants WHERE name = $1")
                .bind(variant)
                .fetch_one(&mut *self.0)
                .await?),
        }
    }

    async fn upsert_domain(&mut self, name: &str) -> StoreResult<i64> {
        self.name_id(NameTable::Domains, name).await
    }

    async fn upsert_tags(&mut self, tags: &[String]) -> StoreResult<Vec<i64>> {
        let mut ids = Vec::with_capacity(tags.len());
        for tag in tags {
            ids.push(self.name_id(NameTable::Tags, tag).await?);
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
                "INSERT INTO host_tags (host_id, tag_id) SELECT $1, unnest($2::bigint[]) \
                 ON CONFLICT (host_id, tag_id) DO NOTHING",
            )
            .bind(host_id)
            .bind(tag_ids)
            .execute(&mut *self.0)
            .await?;
        }
        Ok(())
    }
}
