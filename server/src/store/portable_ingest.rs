//! Ingest statements that read the same in both dialects, written once (see `portable.rs`);
//! each dialect's `IngestOps` calls them with its connection.

macro_rules! portable_ingest_queries {
    () => {
        type Conn = <Db as sqlx::Database>::Connection;

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
                 state_version = state_version + 1, updates_stale = $23 WHERE id = $22",
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
            .bind(&d.repos[..])
            .bind(&d.modules[..])
            .bind(&d.meta[..])
            .bind(rep.wire_digest.as_ref().map(|d| &d[..]))
            .bind(host_id)
            .bind(true)
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
