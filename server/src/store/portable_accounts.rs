//! Web UI accounts, sessions and the audit log, written once for both dialects (see
//! `portable.rs`). Sessions are found by the SHA-256 of their id; a user's sessions go with
//! the user (`ON DELETE CASCADE`). Expanded after `portable_queries!` in the same module, it
//! uses its imports.

macro_rules! portable_account_queries {
    () => {
        fn role(text: &str) -> StoreResult<crate::accounts::Role> {
            text.parse().map_err(StoreError::Corrupt)
        }

        /// Adds a user; false when the name is taken.
        pub(super) async fn add_user(pool: &Pool, user: &crate::store::NewUser<'_>) -> StoreResult<bool> {
            let added = sqlx::query(
                "INSERT INTO users (name, role, password_hash, created_at, password_changed_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (name) DO NOTHING",
            )
            .bind(user.name)
            .bind(user.role.as_str())
            .bind(user.password_hash)
            .bind(user.now)
            .execute(pool)
            .await?
            .rows_affected();
            Ok(added > 0)
        }

        /// Replaces a user's password hash and ends the user's sessions, in one transaction.
        pub(super) async fn set_password(pool: &Pool, name: &str, password_hash: &str, now: i64) -> StoreResult<bool> {
            let mut tx = pool.begin_with(BEGIN_WRITE).await?;
            let id: Option<i64> = sqlx::query_scalar(
                "UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE name = $1 RETURNING id",
            )
            .bind(name)
            .bind(password_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = id else {
                return Ok(false);
            };
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        }

        pub(super) async fn delete_user(pool: &Pool, name: &str) -> StoreResult<bool> {
            let gone = sqlx::query("DELETE FROM users WHERE name = $1").bind(name).execute(pool).await?;
            Ok(gone.rows_affected() > 0)
        }

        pub(super) async fn users(pool: &Pool) -> StoreResult<Vec<crate::store::views::UserView>> {
            let rows: Vec<(String, String, i64, i64)> =
                sqlx::query_as("SELECT name, role, created_at, password_changed_at FROM users ORDER BY name")
                    .fetch_all(pool)
                    .await?;
            rows.into_iter()
                .map(|(name, r, created_at, password_changed_at)| {
                    Ok(crate::store::views::UserView { name, role: role(&r)?, created_at, password_changed_at })
                })
                .collect()
        }

        pub(super) async fn user_by_name(pool: &Pool, name: &str) -> StoreResult<Option<crate::store::UserRecord>> {
            let row: Option<(i64, String, String, String)> =
                sqlx::query_as("SELECT id, name, role, password_hash FROM users WHERE name = $1")
                    .bind(name)
                    .fetch_optional(pool)
                    .await?;
            row.map(|(id, name, r, password_hash)| Ok(crate::store::UserRecord { id, name, role: role(&r)?, password_hash }))
                .transpose()
        }

        pub(super) async fn user_count(pool: &Pool) -> StoreResult<i64> {
            Ok(sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(pool).await?)
        }

        pub(super) async fn create_session(pool: &Pool, session: &crate::store::NewSession<'_>) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&session.id_hash.0[..])
            .bind(session.user_id)
            .bind(session.csrf_token)
            .bind(session.now)
            .execute(pool)
            .await?;
            Ok(())
        }

        pub(super) async fn session(
            pool: &Pool,
            id_hash: &crate::accounts::SessionHash,
        ) -> StoreResult<Option<crate::store::SessionRecord>> {
            let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
                "SELECT u.name, u.role, s.csrf_token, s.created_at, s.last_seen_at FROM sessions s \
                 JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
            )
            .bind(&id_hash.0[..])
            .fetch_optional(pool)
            .await?;
            row.map(|(user_name, r, csrf_token, created_at, last_seen_at)| {
                Ok(crate::store::SessionRecord { user_name, role: role(&r)?, csrf_token, created_at, last_seen_at })
            })
            .transpose()
        }

        pub(super) async fn touch_session(
            pool: &Pool,
            id_hash: &crate::accounts::SessionHash,
            now: i64,
        ) -> StoreResult<bool> {
            let done = sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
                .bind(&id_hash.0[..])
                .bind(now)
                .execute(pool)
                .await?;
            Ok(done.rows_affected() > 0)
        }

        pub(super) async fn delete_session(pool: &Pool, id_hash: &crate::accounts::SessionHash) -> StoreResult<bool> {
            let gone = sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(&id_hash.0[..]).execute(pool).await?;
            Ok(gone.rows_affected() > 0)
        }

        pub(super) async fn delete_user_sessions(pool: &Pool, name: &str) -> StoreResult<u64> {
            let gone = sqlx::query("DELETE FROM sessions WHERE user_id IN (SELECT id FROM users WHERE name = $1)")
                .bind(name)
                .execute(pool)
                .await?;
            Ok(gone.rows_affected())
        }

        pub(super) async fn audit(pool: &Pool, entry: &crate::store::AuditEntry<'_>) -> StoreResult<()> {
            sqlx::query("INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)")
                .bind(entry.at)
                .bind(entry.actor)
                .bind(entry.action)
                .bind(entry.target)
                .bind(entry.detail)
                .execute(pool)
                .await?;
            Ok(())
        }

        pub(super) async fn audit_log(pool: &Pool, limit: i64) -> StoreResult<Vec<crate::store::views::AuditView>> {
            let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
                "SELECT at, actor, action, target, detail FROM audit_log ORDER BY at DESC, id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(at, actor, action, target, detail)| crate::store::views::AuditView {
                    at,
                    actor,
                    action,
                    target,
                    detail,
                })
                .collect())
        }

        /// Stores an API key; false when the name is taken.
        pub(super) async fn add_api_key(pool: &Pool, key: &crate::store::NewApiKey<'_>) -> StoreResult<bool> {
            let added = sqlx::query(
                "INSERT INTO api_keys (name, role, key_hash, created_at, expires_at) VALUES ($1, $5, $2, $3, $4) \
                 ON CONFLICT (name) DO NOTHING",
            )
            .bind(key.name)
            .bind(&key.key_hash.0[..])
            .bind(key.now)
            .bind(key.expires_at)
            .bind(key.role.as_str())
            .execute(pool)
            .await?
            .rows_affected();
            Ok(added > 0)
        }

        pub(super) async fn api_keys(pool: &Pool) -> StoreResult<Vec<crate::store::views::ApiKeyView>> {
            let rows: Vec<(String, String, i64, Option<i64>, Option<i64>, i64)> = sqlx::query_as(
                "SELECT k.name, k.role, k.created_at, k.expires_at, k.last_used_at, \
                 (SELECT count(*) FROM hosts h WHERE h.auth_kind = $1 AND h.auth_detail = k.name) \
                 FROM api_keys k ORDER BY k.name",
            )
            .bind(crate::store::AuthKind::ApiKey as i64)
            .fetch_all(pool)
            .await?;
            rows.into_iter()
                .map(|(name, role, created_at, expires_at, last_used_at, hosts)| {
                    let role = crate::auth::ApiRole::parse(&role)
                        .ok_or_else(|| StoreError::Corrupt(format!("API key role {role}")))?;
                    Ok(crate::store::views::ApiKeyView { name, role, created_at, expires_at, last_used_at, hosts })
                })
                .collect()
        }

        /// The name and role of the API token with this hash if it is valid at `now`; its last
        /// use is recorded at most once a minute.
        pub(super) async fn api_token(
            pool: &Pool,
            key_hash: &crate::auth::TokenHash,
            now: i64,
        ) -> StoreResult<Option<(String, crate::auth::ApiRole)>> {
            let found: Option<(i64, String, String, Option<i64>)> = sqlx::query_as(
                "SELECT id, name, role, last_used_at FROM api_keys WHERE key_hash = $1 \
                 AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(&key_hash.0[..])
            .bind(now)
            .fetch_optional(pool)
            .await?;
            let Some((id, name, role, last_used)) = found else { return Ok(None) };
            if last_used.is_none_or(|t| t < now - 60_000) {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(pool).await?;
            }
            let role = crate::auth::ApiRole::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("API key role {role}")))?;
            Ok(Some((name, role)))
        }

        /// Revokes an API key: it is gone at once; false when there is none.
        pub(super) async fn delete_api_key(pool: &Pool, name: &str) -> StoreResult<bool> {
            let done = sqlx::query("DELETE FROM api_keys WHERE name = $1").bind(name).execute(pool).await?;
            Ok(done.rows_affected() > 0)
        }
    };
}

pub(crate) use portable_account_queries;
