//! Reading hosts back: the list and the detail of one host.

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::report::{ChangeAction, PackageKind, Trigger, format_evr};
use crate::store::views::{
    ChangeView, HostDetail, HostRepoView, HostSummary, ModuleView, PackageView, ReportView, TransactionView,
};
use crate::store::{StoreError, StoreResult};

const SUMMARY_COLUMNS: &str = "h.hostname, coalesce(d.name, ''), coalesce(g.name, ''), coalesce(v.name, ''), \
     h.arch, h.kernel, h.package_count, (SELECT count(*) FROM host_repos hr WHERE hr.host_id = h.id), \
     h.reboot_required, coalesce((SELECT group_concat(t.name, ',') FROM (SELECT t.name FROM host_tags ht \
     JOIN tags t ON t.id = ht.tag_id WHERE ht.host_id = h.id ORDER BY t.name) t), ''), h.last_seen_at";

const SUMMARY_FROM: &str = "FROM hosts h LEFT JOIN domains d ON d.id = h.domain_id \
     LEFT JOIN os_variants v ON v.id = h.os_variant_id LEFT JOIN os_groups g ON g.id = v.os_group_id";

fn summary(row: &SqliteRow) -> HostSummary {
    let tags: String = row.get(9);
    HostSummary {
        hostname: row.get(0),
        domain: row.get(1),
        os_group: row.get(2),
        os_variant: row.get(3),
        arch: row.get(4),
        kernel: row.get(5),
        package_count: row.get(6),
        repo_count: row.get(7),
        reboot_required: row.get(8),
        tags: if tags.is_empty() { Vec::new() } else { tags.split(',').map(str::to_owned).collect() },
        last_seen_at: row.get(10),
    }
}

pub(super) async fn list(pool: &SqlitePool) -> StoreResult<Vec<HostSummary>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} {SUMMARY_FROM} ORDER BY h.hostname");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?;
    Ok(rows.iter().map(summary).collect())
}

pub(super) async fn detail(pool: &SqlitePool, hostname: &str) -> StoreResult<Option<HostDetail>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, h.id, h.machine_id, h.os_id, h.os_pretty_name, h.os_cpe_name, h.reboot_reason, \
         h.use_host_repos, h.client_version, h.enrolled_at, h.last_changed_at {SUMMARY_FROM} WHERE h.hostname = ?"
    );
    let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(hostname).fetch_optional(pool).await? else {
        return Ok(None);
    };
    let host_id: i64 = row.get(11);
    Ok(Some(HostDetail {
        summary: summary(&row),
        machine_id: row.get(12),
        os_id: row.get(13),
        os_pretty_name: row.get(14),
        os_cpe_name: row.get(15),
        reboot_reason: row.get(16),
        use_host_repos: row.get(17),
        client_version: row.get(18),
        enrolled_at: row.get(19),
        last_changed_at: row.get(20),
        packages: packages(pool, host_id).await?,
        repos: repos(pool, host_id).await?,
        modules: modules(pool, host_id).await?,
        reports: reports(pool, host_id).await?,
        transactions: transactions(pool, host_id).await?,
    }))
}

fn kind(v: i64) -> StoreResult<PackageKind> {
    PackageKind::from_i64(v).ok_or_else(|| StoreError::Corrupt(format!("package kind {v}")))
}

async fn packages(pool: &SqlitePool, host_id: i64) -> StoreResult<Vec<PackageView>> {
    let rows = sqlx::query(
        "SELECT p.name, p.epoch, p.version, p.release, p.arch, p.kind, p.source_name FROM host_packages hp \
         JOIN packages p ON p.id = hp.package_id WHERE hp.host_id = ? ORDER BY p.name, p.arch, p.epoch, p.version, p.release",
    )
    .bind(host_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let (epoch, version, release): (i64, String, String) = (r.get(1), r.get(2), r.get(3));
            Ok(PackageView {
                name: r.get(0),
                evr: format_evr(epoch as u32, &version, &release),
                epoch,
                version,
                release,
                arch: r.get(4),
                kind: kind(r.get(5))?,
                source_name: r.get(6),
            })
        })
        .collect()
}

async fn repos(pool: &SqlitePool, host_id: i64) -> StoreResult<Vec<HostRepoView>> {
    let rows = sqlx::query(
        "SELECT r.id, r.name, r.kind, r.repo_key, hr.priority, hr.enabled, r.security, \
         (SELECT group_concat(m.url, ' ') FROM (SELECT url FROM mirrors m WHERE m.repo_id = r.id ORDER BY m.id) m) \
         FROM host_repos hr JOIN repos r ON r.id = hr.repo_id WHERE hr.host_id = ? ORDER BY r.name, r.id",
    )
    .bind(host_id)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let urls: Option<String> = r.get(7);
            Ok(HostRepoView {
                id: r.get(0),
                name: r.get(1),
                kind: kind(r.get(2))?,
                repo_key: r.get(3),
                priority: r.get(4),
                enabled: r.get(5),
                security: r.get(6),
                urls: urls.unwrap_or_default().split(' ').filter(|u| !u.is_empty()).map(str::to_owned).collect(),
            })
        })
        .collect()
}

async fn modules(pool: &SqlitePool, host_id: i64) -> StoreResult<Vec<ModuleView>> {
    let rows = sqlx::query("SELECT name, stream, profiles FROM host_modules WHERE host_id = ? ORDER BY name, stream")
        .bind(host_id)
        .fetch_all(pool)
        .await?;
    Ok(rows.iter().map(|r| ModuleView { name: r.get(0), stream: r.get(1), profiles: r.get(2) }).collect())
}

async fn reports(pool: &SqlitePool, host_id: i64) -> StoreResult<Vec<ReportView>> {
    let rows = sqlx::query(
        "SELECT report_id, generated_at, received_at, trigger, package_count, added, removed FROM reports \
         WHERE host_id = ? ORDER BY received_at DESC, id DESC LIMIT 10",
    )
    .bind(host_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ReportView {
            report_id: r.get(0),
            generated_at: r.get(1),
            received_at: r.get(2),
            trigger: Trigger::from_i64(r.get(3)).map_or("unknown", trigger_name).to_owned(),
            package_count: r.get(4),
            added: r.get(5),
            removed: r.get(6),
        })
        .collect())
}

fn trigger_name(t: Trigger) -> &'static str {
    match t {
        Trigger::Timer => "timer",
        Trigger::Transaction => "transaction",
        Trigger::Manual => "manual",
    }
}

async fn transactions(pool: &SqlitePool, host_id: i64) -> StoreResult<Vec<TransactionView>> {
    let rows = sqlx::query(
        "SELECT t.id, t.transaction_id, t.finished_at, t.tool, c.action, c.name, c.arch, c.old_version, c.new_version \
         FROM transactions t LEFT JOIN transaction_changes c ON c.transaction_id = t.id \
         WHERE t.host_id = ? ORDER BY t.finished_at, t.id, c.seq",
    )
    .bind(host_id)
    .fetch_all(pool)
    .await?;
    let mut out: Vec<TransactionView> = Vec::new();
    let mut last_id = None;
    for r in &rows {
        let id: i64 = r.get(0);
        if last_id != Some(id) {
            last_id = Some(id);
            out.push(TransactionView {
                transaction_id: r.get(1),
                finished_at: r.get(2),
                tool: r.get(3),
                changes: Vec::new(),
            });
        }
        let Some(action) = r.get::<Option<i64>, _>(4) else { continue };
        let action = ChangeAction::from_i64(action).map_or("unknown", action_name);
        if let Some(t) = out.last_mut() {
            t.changes.push(ChangeView {
                action: action.to_owned(),
                name: r.get(5),
                arch: r.get(6),
                old_version: r.get(7),
                new_version: r.get(8),
            });
        }
    }
    Ok(out)
}

fn action_name(a: ChangeAction) -> &'static str {
    match a {
        ChangeAction::Installed => "installed",
        ChangeAction::Upgraded => "upgraded",
        ChangeAction::Downgraded => "downgraded",
        ChangeAction::Removed => "removed",
        ChangeAction::Reinstalled => "reinstalled",
    }
}
