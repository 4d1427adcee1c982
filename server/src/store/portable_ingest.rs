//! Ingest statements that read the same in both dialects, written once (see `portable.rs`);
//! each dialect's `IngestOps` calls them with its connection. The one clause that differs is
//! the macro's argument: how the host row is locked (`""` on SQLite, whose `BEGIN IMMEDIATE`
//! already holds the database's write lock; `" FOR UPDATE OF h"` on PostgreSQL).

macro_rules! portable_ingest_queries {
    (host_row_lock = $lock:literal) => {
        type Conn = <Db as sqlx::Database>::Connection;

        /// The host columns ingest reads, for `host_by_token` and `host_by_name`.
        const HOST_ROW: &str = "SELECT h.id, h.hostname, h.last_generated_at, h.package_count, h.packages_digest, \
             h.repos_digest, h.modules_digest, h.meta_digest, h.auth_kind, h.auth_detail, h.offered_known, \
             EXISTS (SELECT 1 FROM reports r WHERE r.host_id = h.id AND r.report_id = $2) AS report_seen, \
             EXISTS (SELECT 1 FROM host_tokens k WHERE k.host_id = h.id) AS has_token";

        fn host_row(row: &<Db as sqlx::Database>::Row) -> StoreResult<crate::store::ingest_flow::HostRow> {
            use sqlx::Row;
            Ok(crate::store::ingest_flow::HostRow {
                id: row.try_get("id")?,
                hostname: row.try_get("hostname")?,
                last_generated_at: row.try_get("last_generated_at")?,
                package_count: row.try_get::<i64, _>("package_count")? as u32,
                digests: [
                    row.try_get("packages_digest")?,
                    row.try_get("repos_digest")?,
                    row.try_get("modules_digest")?,
                    row.try_get("meta_digest")?,
                ],
                report_seen: row.try_get("report_seen")?,
                has_token: row.try_get("has_token")?,
                auth_kind: row.try_get("auth_kind")?,
                auth_detail: row.try_get("auth_detail")?,
                offered_known: row.try_get("offered_known")?,
            })
        }

        pub(in crate::store) async fn host_by_token(
            conn: &mut Conn,
            token_hash: &crate::auth::TokenHash,
            report_id: &str,
        ) -> StoreResult<Option<crate::store::ingest_flow::HostRow>> {
            let sql = format!("{HOST_ROW} FROM host_tokens t JOIN hosts h ON h.id = t.host_id WHERE t.token_hash = $1{}", $lock);
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&token_hash.0[..])
                .bind(report_id)
                .fetch_optional(&mut *conn)
                .await?;
            row.as_ref().map(host_row).transpose()
        }

        pub(in crate::store) async fn host_by_name(
            conn: &mut Conn,
            hostname: &str,
            report_id: &str,
        ) -> StoreResult<Option<crate::store::ingest_flow::HostRow>> {
            let sql = format!("{HOST_ROW} FROM hosts h WHERE h.hostname = $1{}", $lock);
            let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hostname).bind(report_id).fetch_optional(&mut *conn).await?;
            row.as_ref().map(host_row).transpose()
        }

        pub(in crate::store) async fn create_host(
            conn: &mut Conn,
            hostname: &str,
            auth: (crate::store::AuthKind, &str),
            now: i64,
        ) -> StoreResult<Option<i64>> {
            Ok(sqlx::query_scalar(
                "INSERT INTO hosts (hostname, enrolled_at, auth_kind, auth_detail) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (hostname) DO NOTHING RETURNING id",
            )
            .bind(hostname)
            .bind(now)
            .bind(auth.0 as i64)
            .bind(auth.1)
            .fetch_optional(&mut *conn)
            .await?)
        }

        /// The key's name if it is valid at `now`; its last use is recorded at most once a minute.
        pub(in crate::store) async fn api_key_name(
            conn: &mut Conn,
            key_hash: &crate::auth::TokenHash,
            now: i64,
        ) -> StoreResult<Option<String>> {
            let found: Option<(i64, String, Option<i64>)> = sqlx::query_as(
                "SELECT id, name, last_used_at FROM api_keys WHERE key_hash = $1 AND role = 'upload' \
                 AND (expires_at IS NULL OR expires_at > $2)",
            )
            .bind(&key_hash.0[..])
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            let Some((id, name, last_used)) = found else { return Ok(None) };
            if last_used.is_none_or(|t| t < now - 60_000) {
                sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *conn).await?;
            }
            Ok(Some(name))
        }

        /// The settings value `patchman clean` bumps before deleting package rows (0 before
        /// the first clean).
        pub(in crate::store) async fn packages_generation(conn: &mut Conn) -> StoreResult<i64> {
            let value: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(crate::store::known::PACKAGES_GENERATION)
                .fetch_optional(&mut *conn)
                .await?;
            Ok(value.and_then(|v| v.parse().ok()).unwrap_or(0))
        }

        pub(in crate::store) async fn set_auth(conn: &mut Conn, host_id: i64, auth: (crate::store::AuthKind, &str)) -> StoreResult<()> {
            sqlx::query("UPDATE hosts SET auth_kind = $1, auth_detail = $2 WHERE id = $3")
                .bind(auth.0 as i64)
                .bind(auth.1)
                .bind(host_id)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// Records that the host reported; `applied` carries the report's generation time
        /// and wire digest when its state was applied (not for an older, skipped report).
        pub(in crate::store) async fn touch(
            conn: &mut Conn,
            host_id: i64,
            now: i64,
            applied: Option<(i64, Option<&[u8]>)>,
        ) -> StoreResult<()> {
            let (generated_at, wire) = applied.unzip();
            sqlx::query(
                "UPDATE hosts SET last_seen_at = $1, last_generated_at = coalesce($2, last_generated_at), \
                 wire_digest = CASE WHEN CAST($2 AS bigint) IS NULL THEN wire_digest ELSE $3 END WHERE id = $4",
            )
            .bind(now)
            .bind(generated_at)
            .bind(wire.flatten())
            .bind(host_id)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// The new transaction's row id, or `None` when the host sent it before.
        pub(in crate::store) async fn insert_transaction_row(
            conn: &mut Conn,
            host_id: i64,
            t: &crate::report::Transaction,
            now: i64,
        ) -> StoreResult<Option<i64>> {
            Ok(sqlx::query_scalar(
                "INSERT INTO transactions (host_id, transaction_id, finished_at, received_at, tool) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (host_id, transaction_id) DO NOTHING RETURNING id",
            )
            .bind(host_id)
            .bind(&t.transaction_id)
            .bind(t.finished_at_ms)
            .bind(now)
            .bind(&t.tool)
            .fetch_optional(&mut *conn)
            .await?)
        }

        pub(in crate::store) async fn create_repo(conn: &mut Conn, repo: &crate::store::PreparedRepo, arch: &str, now: i64) -> StoreResult<i64> {
            let r = &repo.reported;
            Ok(sqlx::query_scalar(
                "INSERT INTO repos (kind, repo_key, name, suite, component, arch, security, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(r.kind as i64)
            .bind(&r.repo_id)
            .bind(&repo.display_name)
            .bind(&r.suite)
            .bind(&r.component)
            .bind(arch)
            .bind(repo.security)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?)
        }

        pub(in crate::store) async fn delete_repo(conn: &mut Conn, repo_id: i64) -> StoreResult<()> {
            sqlx::query("DELETE FROM repos WHERE id = $1").bind(repo_id).execute(&mut *conn).await?;
            Ok(())
        }

        pub(in crate::store) async fn update_host(conn: &mut Conn, host_id: i64, u: &crate::store::ingest_flow::HostUpdate<'_>) -> StoreResult<()> {
            let (rep, r) = (u.rep, &u.rep.report);
            let d = &rep.digests;
            sqlx::query(
                "UPDATE hosts SET machine_id = $1, domain_id = $2, os_variant_id = $3, os_id = $4, os_pretty_name = $5, \
                 os_cpe_name = $6, os_codename = $7, arch = $8, kernel = $9, reboot_required = $10, reboot_reason = $11, \
                 reboot_packages = $12, client_version = $13, package_count = $14, last_seen_at = $15, \
                 last_generated_at = $16, last_changed_at = $15, packages_digest = $17, repos_digest = $18, \
                 modules_digest = $19, meta_digest = $20, wire_digest = $21, \
                 state_version = state_version + 1, updates_stale = $23, offered_known = $24, \
                 view_disagreements = CASE WHEN $24 THEN view_disagreements ELSE 0 END WHERE id = $22",
            )
            .bind(&r.machine_id)
            .bind(u.domain_id)
            .bind(u.os_variant_id)
            .bind(&r.os.id)
            .bind(&r.os.pretty_name)
            .bind(&r.os.cpe_name)
            .bind(&r.os.codename)
            .bind(&r.arch)
            .bind(&r.kernel)
            .bind(r.reboot.required)
            .bind(&r.reboot.reason)
            .bind(r.reboot.packages.join(" "))
            .bind(&r.client_version)
            .bind(rep.packages.len() as i64)
            .bind(u.now)
            .bind(r.generated_at_ms)
            .bind(&d.packages[..])
            .bind(u.repos_digest)
            .bind(&d.modules[..])
            .bind(&d.meta[..])
            .bind(rep.wire_digest.as_ref().map(|d| &d[..]))
            .bind(host_id)
            .bind(true)
            .bind(!r.offered_updates.is_empty())
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        pub(in crate::store) async fn insert_report(
                conn: &mut Conn,
                host_id: i64,
                rep: &crate::store::PreparedReport,
                now: i64,
                row: crate::store::ingest_flow::ReportRow,
            ) -> StoreResult<()> {
            let r = &rep.report;
            sqlx::query(
                "INSERT INTO reports (host_id, report_id, generated_at, received_at, trigger, outcome, client_version, \
                 package_count, added, removed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(host_id)
            .bind(&r.report_id)
            .bind(r.generated_at_ms)
            .bind(now)
            .bind(r.trigger as i64)
            .bind(row.outcome)
            .bind(&r.client_version)
            .bind(rep.packages.len() as i64)
            .bind(i64::from(row.added))
            .bind(i64::from(row.removed))
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    };
}

pub(crate) use portable_ingest_queries;

/// `SharedIngestOps` for a dialect's ingest transaction (`Type(Transaction)`), calling that
/// dialect's expansion of the queries above.
macro_rules! shared_ingest_ops {
    ($ops:ty) => {
        #[async_trait::async_trait]
        impl crate::store::ingest_flow::SharedIngestOps for $ops {
            async fn host_by_token(
                &mut self,
                token_hash: &crate::auth::TokenHash,
                report_id: &str,
            ) -> crate::store::StoreResult<Option<crate::store::ingest_flow::HostRow>> {
                super::queries::host_by_token(&mut self.0, token_hash, report_id).await
            }

            async fn host_by_name(
                &mut self,
                hostname: &str,
                report_id: &str,
            ) -> crate::store::StoreResult<Option<crate::store::ingest_flow::HostRow>> {
                super::queries::host_by_name(&mut self.0, hostname, report_id).await
            }

            async fn create_host(
                &mut self,
                hostname: &str,
                auth: (crate::store::AuthKind, &str),
                now: i64,
            ) -> crate::store::StoreResult<Option<i64>> {
                super::queries::create_host(&mut self.0, hostname, auth, now).await
            }

            async fn api_key_name(
                &mut self,
                key_hash: &crate::auth::TokenHash,
                now: i64,
            ) -> crate::store::StoreResult<Option<String>> {
                super::queries::api_key_name(&mut self.0, key_hash, now).await
            }

            async fn set_auth(
                &mut self,
                host_id: i64,
                auth: (crate::store::AuthKind, &str),
            ) -> crate::store::StoreResult<()> {
                super::queries::set_auth(&mut self.0, host_id, auth).await
            }

            async fn record_event(&mut self, hostname: &str, now: i64) -> crate::store::StoreResult<()> {
                super::queries::record_host_event(&mut self.0, hostname, now, false).await
            }

            async fn touch(
                &mut self,
                host_id: i64,
                now: i64,
                applied: Option<(i64, Option<&[u8]>)>,
            ) -> crate::store::StoreResult<()> {
                super::queries::touch(&mut self.0, host_id, now, applied).await
            }

            async fn upsert_packages(
                &mut self,
                packages: &[crate::store::PackageRow<'_>],
            ) -> crate::store::StoreResult<Option<i64>> {
                // Ingest stores the packages a host has.
                super::bulk::upsert_packages(&mut self.0, packages, true).await
            }

            async fn create_repo(
                &mut self,
                repo: &crate::store::PreparedRepo,
                arch: &str,
                now: i64,
            ) -> crate::store::StoreResult<i64> {
                super::queries::create_repo(&mut self.0, repo, arch, now).await
            }

            async fn delete_repo(&mut self, repo_id: i64) -> crate::store::StoreResult<()> {
                super::queries::delete_repo(&mut self.0, repo_id).await
            }

            async fn update_host(
                &mut self,
                host_id: i64,
                u: &crate::store::ingest_flow::HostUpdate<'_>,
            ) -> crate::store::StoreResult<()> {
                super::queries::update_host(&mut self.0, host_id, u).await
            }

            async fn insert_report(
                &mut self,
                host_id: i64,
                rep: &crate::store::PreparedReport,
                now: i64,
                row: crate::store::ingest_flow::ReportRow,
            ) -> crate::store::StoreResult<()> {
                super::queries::insert_report(&mut self.0, host_id, rep, now, row).await
            }
        }
    };
}

pub(crate) use shared_ingest_ops;
