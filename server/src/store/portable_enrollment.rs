//! Enrollment keys and host tokens' revocation, written once for both dialects (see
//! `portable.rs`). Expanded after `portable_queries!` in the same module, it uses its imports.

macro_rules! portable_enrollment_queries {
    () => {
        /// The key with this hash if it may enroll one more host at `now`, counted as used:
        /// (its name, its tags); else why not, naming the key.
        async fn take_enrollment_key(
            tx: &mut sqlx::Transaction<'_, Db>,
            key_hash: &crate::auth::TokenHash,
            now: i64,
        ) -> StoreResult<Result<(String, Vec<String>), String>> {
            let found: Option<(i64, String, String, Option<i64>, Option<i64>, i64)> = sqlx::query_as(
                "SELECT id, name, tags, expires_at, max_uses, uses FROM enrollment_keys WHERE key_hash = $1",
            )
            .bind(&key_hash.0[..])
            .fetch_optional(&mut **tx)
            .await?;
            let Some((id, name, tags, expires_at, max_uses, uses)) = found else {
                return Ok(Err("unknown enrollment key".to_owned()));
            };
            if expires_at.is_some_and(|t| t <= now) {
                return Ok(Err(format!("enrollment key {name} has expired")));
            }
            // Counted in the statement that checks it: two enrollments cannot both take the last use.
            let taken = sqlx::query(
                "UPDATE enrollment_keys SET uses = uses + 1, last_used_at = $2 \
                 WHERE id = $1 AND (max_uses IS NULL OR uses < max_uses)",
            )
            .bind(id)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if taken == 0 {
                let limit = max_uses.unwrap_or(uses);
                return Ok(Err(format!("enrollment key {name} is used up ({limit} enrollments)")));
            }
            let tags = tags.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect();
            Ok(Ok((name, tags)))
        }

        /// The key's name on the host, and its tags as an administrator's.
        async fn give_key_tags(
            tx: &mut sqlx::Transaction<'_, Db>,
            host_id: i64,
            key_name: &str,
            tags: &[String],
        ) -> StoreResult<()> {
            sqlx::query("UPDATE hosts SET enrolled_with = $1 WHERE id = $2")
                .bind(key_name)
                .bind(host_id)
                .execute(&mut **tx)
                .await?;
            for tag in tags {
                give_admin_tag(tx, host_id, tag).await?;
            }
            Ok(())
        }

        pub(super) async fn add_enrollment_key(
            pool: &Pool,
            key: &crate::store::NewEnrollmentKey<'_>,
        ) -> StoreResult<bool> {
            let added = sqlx::query(
                "INSERT INTO enrollment_keys (name, key_hash, tags, created_at, expires_at, max_uses) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING",
            )
            .bind(key.name)
            .bind(&key.key_hash.0[..])
            .bind(key.tags.join(","))
            .bind(key.now)
            .bind(key.expires_at)
            .bind(key.max_uses)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(added > 0)
        }

        pub(super) async fn enrollment_keys(pool: &Pool) -> StoreResult<Vec<crate::store::views::EnrollmentKeyView>> {
            let rows: Vec<(String, String, i64, Option<i64>, Option<i64>, i64, Option<i64>)> = sqlx::query_as(
                "SELECT name, tags, created_at, expires_at, max_uses, uses, last_used_at FROM enrollment_keys \
                 ORDER BY name",
            )
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(name, tags, created_at, expires_at, max_uses, uses, last_used_at)| {
                    crate::store::views::EnrollmentKeyView {
                        name,
                        tags: tags.split(',').filter(|t| !t.is_empty()).map(str::to_owned).collect(),
                        created_at,
                        expires_at,
                        max_uses,
                        uses,
                        last_used_at,
                    }
                })
                .collect())
        }

        pub(super) async fn delete_enrollment_key(pool: &Pool, name: &str) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let done = sqlx::query("DELETE FROM enrollment_keys WHERE name = $1").bind(name).execute(&mut *tx).await?;
            if name == crate::auth::DEFAULT_ENROLLMENT_KEY {
                // Empty: revoked, never generated again.
                sqlx::query("UPDATE settings SET value = '' WHERE key = 'enrollment_key'").execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        }

        pub(super) async fn set_default_enrollment_key(
            pool: &Pool,
            key_hash: &crate::auth::TokenHash,
            now: i64,
        ) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO enrollment_keys (name, key_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET key_hash = excluded.key_hash \
                 WHERE enrollment_keys.key_hash <> excluded.key_hash",
            )
            .bind(crate::auth::DEFAULT_ENROLLMENT_KEY)
            .bind(&key_hash.0[..])
            .bind(now)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn revoke_host_tokens(pool: &Pool, hostname: &str) -> StoreResult<Option<u64>> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let Some(id) = sqlx::query_scalar::<_, i64>("SELECT id FROM hosts WHERE hostname = $1")
                .bind(hostname)
                .fetch_optional(&mut *tx)
                .await?
            else {
                return Ok(None);
            };
            let done = sqlx::query("DELETE FROM host_tokens WHERE host_id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(done.rows_affected()))
        }
    };
}

pub(crate) use portable_enrollment_queries;
