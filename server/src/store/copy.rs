//! `patchman copy-db`: every row of one database into another, empty one, of either dialect
//! (SQLite to PostgreSQL when an installation outgrows one file). Both are migrated to the
//! same version first; tables are copied in foreign-key order, streamed in batches.

use std::str::FromStr as _;

use futures_util::TryStreamExt as _;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{Postgres, Row as _, Sqlite};

use super::{StoreError, StoreResult, migrations};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Int,
    Text,
    Blob,
    Bool,
}

/// A column: its name, type, and whether it may be NULL.
type Column = (&'static str, Col, bool);

/// Every table of the schema, parents before children. `copy_db` refuses to run when the
/// database holds a table this list lacks, so a new migration cannot be forgotten here.
const TABLES: &[(&str, &[Column])] = &[
    ("settings", &[("key", Col::Text, false), ("value", Col::Text, false)]),
    ("os_groups", &[("id", Col::Int, false), ("name", Col::Text, false)]),
    ("os_variants", &[("id", Col::Int, false), ("name", Col::Text, false), ("os_group_id", Col::Int, false)]),
    ("domains", &[("id", Col::Int, false), ("name", Col::Text, false)]),
    (
        "hosts",
        &[
            ("id", Col::Int, false),
            ("hostname", Col::Text, false),
            ("machine_id", Col::Text, false),
            ("domain_id", Col::Int, true),
            ("os_variant_id", Col::Int, true),
            ("os_id", Col::Text, false),
            ("os_pretty_name", Col::Text, false),
            ("os_cpe_name", Col::Text, false),
            ("os_codename", Col::Text, false),
            ("arch", Col::Text, false),
            ("kernel", Col::Text, false),
            ("reboot_required", Col::Bool, false),
            ("reboot_reason", Col::Text, false),
            ("reboot_packages", Col::Text, false),
            ("use_host_repos", Col::Bool, false),
            ("client_version", Col::Text, false),
            ("package_count", Col::Int, false),
            ("enrolled_at", Col::Int, false),
            ("last_seen_at", Col::Int, true),
            ("last_generated_at", Col::Int, true),
            ("last_changed_at", Col::Int, true),
            ("packages_digest", Col::Blob, true),
            ("repos_digest", Col::Blob, true),
            ("modules_digest", Col::Blob, true),
            ("meta_digest", Col::Blob, true),
            ("wire_digest", Col::Blob, true),
            ("state_version", Col::Int, false),
            ("updates_stale", Col::Bool, false),
            ("updates_computed_at", Col::Int, true),
            ("updates_digest", Col::Blob, true),
            ("security_update_count", Col::Int, false),
            ("bugfix_update_count", Col::Int, false),
            ("unknown_package_count", Col::Int, false),
            ("kernel_reboot_reason", Col::Text, false),
            ("updates_known", Col::Bool, false),
            ("auth_kind", Col::Int, false),
            ("auth_detail", Col::Text, false),
            ("offered_known", Col::Bool, false),
            ("view_disagreements", Col::Int, false),
            ("duplicate_package_count", Col::Int, false),
            ("enrolled_with", Col::Text, false),
            ("exposures_version", Col::Int, false),
        ],
    ),
    ("host_tokens", &[("token_hash", Col::Blob, false), ("host_id", Col::Int, false), ("created_at", Col::Int, false)]),
    ("tags", &[("id", Col::Int, false), ("name", Col::Text, false)]),
    ("host_tags", &[("host_id", Col::Int, false), ("tag_id", Col::Int, false), ("by_admin", Col::Bool, false)]),
    (
        "packages",
        &[
            ("id", Col::Int, false),
            ("kind", Col::Int, false),
            ("name", Col::Text, false),
            ("epoch", Col::Int, false),
            ("version", Col::Text, false),
            ("release", Col::Text, false),
            ("arch", Col::Text, false),
            ("source_name", Col::Text, false),
            ("source_version", Col::Text, false),
            ("installed", Col::Bool, false),
        ],
    ),
    ("host_packages", &[("host_id", Col::Int, false), ("package_id", Col::Int, false)]),
    (
        "repos",
        &[
            ("id", Col::Int, false),
            ("kind", Col::Int, false),
            ("repo_key", Col::Text, false),
            ("name", Col::Text, false),
            ("suite", Col::Text, false),
            ("component", Col::Text, false),
            ("arch", Col::Text, false),
            ("security", Col::Bool, false),
            ("security_manual", Col::Bool, false),
            ("enabled", Col::Bool, false),
            ("created_at", Col::Int, false),
            ("revision", Col::Int, false),
            ("refreshed_at", Col::Int, true),
            ("release_origin", Col::Text, false),
            ("release_label", Col::Text, false),
            ("release_codename", Col::Text, false),
            ("extras_digest", Col::Blob, true),
            ("auth_required", Col::Bool, false),
        ],
    ),
    (
        "mirrors",
        &[
            ("id", Col::Int, false),
            ("repo_id", Col::Int, false),
            ("url", Col::Text, false),
            ("url_kind", Col::Int, false),
            ("enabled", Col::Bool, false),
            ("created_at", Col::Int, false),
            ("last_attempt_at", Col::Int, true),
            ("last_success_at", Col::Int, true),
            ("fail_count", Col::Int, false),
            ("last_error", Col::Text, false),
            ("checksum", Col::Text, true),
            ("etag", Col::Text, true),
            ("last_modified", Col::Text, true),
            ("valid_until_passed", Col::Bool, false),
            ("verified_by", Col::Text, true),
        ],
    ),
    (
        "host_repos",
        &[
            ("host_id", Col::Int, false),
            ("repo_id", Col::Int, false),
            ("priority", Col::Int, false),
            ("enabled", Col::Bool, false),
        ],
    ),
    ("os_group_repos", &[("os_group_id", Col::Int, false), ("repo_id", Col::Int, false)]),
    (
        "host_modules",
        &[
            ("host_id", Col::Int, false),
            ("name", Col::Text, false),
            ("stream", Col::Text, false),
            ("profiles", Col::Text, false),
        ],
    ),
    (
        "reports",
        &[
            ("id", Col::Int, false),
            ("host_id", Col::Int, false),
            ("report_id", Col::Text, false),
            ("generated_at", Col::Int, false),
            ("received_at", Col::Int, false),
            ("trigger", Col::Int, false),
            ("outcome", Col::Int, false),
            ("client_version", Col::Text, false),
            ("package_count", Col::Int, false),
            ("added", Col::Int, false),
            ("removed", Col::Int, false),
        ],
    ),
    (
        "transactions",
        &[
            ("id", Col::Int, false),
            ("host_id", Col::Int, false),
            ("transaction_id", Col::Text, false),
            ("finished_at", Col::Int, false),
            ("received_at", Col::Int, false),
            ("tool", Col::Text, false),
        ],
    ),
    (
        "transaction_changes",
        &[
            ("transaction_id", Col::Int, false),
            ("seq", Col::Int, false),
            ("action", Col::Int, false),
            ("name", Col::Text, false),
            ("arch", Col::Text, false),
            ("old_version", Col::Text, false),
            ("new_version", Col::Text, false),
        ],
    ),
    ("repo_packages", &[("repo_id", Col::Int, false), ("package_id", Col::Int, false)]),
    (
        "errata",
        &[
            ("id", Col::Int, false),
            ("name", Col::Text, false),
            ("kind", Col::Text, false),
            ("severity", Col::Text, false),
            ("issued_at", Col::Int, true),
            ("title", Col::Text, false),
        ],
    ),
    ("erratum_packages", &[("erratum_id", Col::Int, false), ("package_id", Col::Int, false)]),
    ("erratum_cves", &[("erratum_id", Col::Int, false), ("cve", Col::Text, false)]),
    ("repo_errata", &[("repo_id", Col::Int, false), ("erratum_id", Col::Int, false)]),
    (
        "repo_modules",
        &[
            ("id", Col::Int, false),
            ("repo_id", Col::Int, false),
            ("name", Col::Text, false),
            ("stream", Col::Text, false),
            ("version", Col::Text, false),
            ("context", Col::Text, false),
            ("arch", Col::Text, false),
        ],
    ),
    ("module_packages", &[("module_id", Col::Int, false), ("package_id", Col::Int, false)]),
    (
        "repo_module_defaults",
        &[("repo_id", Col::Int, false), ("module", Col::Text, false), ("stream", Col::Text, false)],
    ),
    (
        "host_updates",
        &[
            ("host_id", Col::Int, false),
            ("installed_id", Col::Int, false),
            ("candidate_id", Col::Int, false),
            ("repo_id", Col::Int, false),
            ("security", Col::Bool, false),
            ("kind", Col::Int, false),
            ("erratum", Col::Text, false),
            ("reason", Col::Text, false),
        ],
    ),
    ("host_unknown_packages", &[("host_id", Col::Int, false), ("package_id", Col::Int, false)]),
    ("host_stale_packages", &[("host_id", Col::Int, false), ("package_id", Col::Int, false)]),
    (
        "host_offered_updates",
        &[
            ("host_id", Col::Int, false),
            ("name", Col::Text, false),
            ("arch", Col::Text, false),
            ("epoch", Col::Int, false),
            ("version", Col::Text, false),
            ("release", Col::Text, false),
            ("repo", Col::Text, false),
            ("security", Col::Bool, false),
        ],
    ),
    (
        "host_events",
        &[
            ("seq", Col::Int, false),
            ("hostname", Col::Text, false),
            ("at", Col::Int, false),
            ("deleted", Col::Bool, false),
        ],
    ),
    (
        "api_keys",
        &[
            ("id", Col::Int, false),
            ("name", Col::Text, false),
            ("role", Col::Text, false),
            ("key_hash", Col::Blob, false),
            ("created_at", Col::Int, false),
            ("expires_at", Col::Int, true),
            ("last_used_at", Col::Int, true),
        ],
    ),
    (
        "enrollment_keys",
        &[
            ("id", Col::Int, false),
            ("name", Col::Text, false),
            ("key_hash", Col::Blob, false),
            ("tags", Col::Text, false),
            ("created_at", Col::Int, false),
            ("expires_at", Col::Int, true),
            ("max_uses", Col::Int, true),
            ("uses", Col::Int, false),
            ("last_used_at", Col::Int, true),
        ],
    ),
    (
        "jobs",
        &[
            ("name", Col::Text, false),
            ("interval_ms", Col::Int, false),
            ("due_at", Col::Int, false),
            ("lease_owner", Col::Text, true),
            ("lease_until", Col::Int, true),
            ("runs", Col::Int, false),
        ],
    ),
    (
        "job_runs",
        &[
            ("name", Col::Text, false),
            ("due_at", Col::Int, false),
            ("owner", Col::Text, false),
            ("attempts", Col::Int, false),
            ("started_at", Col::Int, false),
            ("finished_at", Col::Int, true),
        ],
    ),
    (
        "users",
        &[
            ("id", Col::Int, false),
            ("name", Col::Text, false),
            ("role", Col::Text, false),
            ("password_hash", Col::Text, false),
            ("created_at", Col::Int, false),
            ("password_changed_at", Col::Int, false),
        ],
    ),
    (
        "sessions",
        &[
            ("id_hash", Col::Blob, false),
            ("user_id", Col::Int, false),
            ("csrf_token", Col::Text, false),
            ("created_at", Col::Int, false),
            ("last_seen_at", Col::Int, false),
        ],
    ),
    (
        "audit_log",
        &[
            ("id", Col::Int, false),
            ("at", Col::Int, false),
            ("actor", Col::Text, false),
            ("action", Col::Text, false),
            ("target", Col::Text, false),
            ("detail", Col::Text, false),
        ],
    ),
    (
        "advisory_feeds",
        &[
            ("id", Col::Int, false),
            ("name", Col::Text, false),
            ("kind", Col::Text, false),
            ("location", Col::Text, false),
            ("last_attempt_at", Col::Int, true),
            ("last_success_at", Col::Int, true),
            ("fail_count", Col::Int, false),
            ("last_error", Col::Text, false),
            ("checksum", Col::Text, true),
            ("etag", Col::Text, true),
            ("last_modified", Col::Text, true),
            ("record_count", Col::Int, false),
        ],
    ),
    (
        "advisories",
        &[
            ("id", Col::Int, false),
            ("feed_id", Col::Int, false),
            ("name", Col::Text, false),
            ("kind", Col::Text, false),
            ("severity", Col::Text, false),
            ("summary", Col::Text, false),
            ("issued_at", Col::Int, true),
            ("updated_at", Col::Int, true),
            ("withdrawn_at", Col::Int, true),
            ("refs", Col::Text, false),
            ("digest", Col::Blob, false),
        ],
    ),
    ("advisory_cves", &[("advisory_id", Col::Int, false), ("cve", Col::Text, false), ("severity", Col::Text, false)]),
    (
        "advisory_packages",
        &[
            ("advisory_id", Col::Int, false),
            ("release", Col::Text, false),
            ("kind", Col::Int, false),
            ("package", Col::Text, false),
            ("status", Col::Int, false),
            ("fixed", Col::Text, false),
        ],
    ),
    (
        "known_exploited",
        &[
            ("cve", Col::Text, false),
            ("name", Col::Text, false),
            ("added_at", Col::Int, true),
            ("ransomware", Col::Bool, false),
        ],
    ),
    (
        "host_exposures",
        &[
            ("host_id", Col::Int, false),
            ("advisory_id", Col::Int, false),
            ("package_id", Col::Int, false),
            ("fixed", Col::Text, false),
        ],
    ),
    (
        "exposure_windows",
        &[
            ("id", Col::Int, false),
            ("host_id", Col::Int, false),
            ("advisory_id", Col::Int, false),
            ("opened_at", Col::Int, false),
            ("closed_at", Col::Int, true),
            ("closed_by", Col::Text, false),
        ],
    ),
];

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Null,
    Int(i64),
    Text(String),
    Blob(Vec<u8>),
    Bool(bool),
}

enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Rows written per INSERT statement.
const BATCH: usize = 500;

/// SQLite's tables derived from the copied ones, and how to rebuild them: a host's package
/// ids packed in one row (`host_package_sets`, from `host_packages`).
const SQLITE_DERIVED: &[(&str, &str)] = &[(
    "host_package_sets",
    "INSERT INTO host_package_sets (host_id, ids) \
     SELECT host_id, unhex(group_concat(printf('%016x', package_id), '')) FROM host_packages GROUP BY host_id",
)];

/// What was copied: rows per table.
pub type CopyCounts = Vec<(&'static str, u64)>;

/// Copies every row of `from` into `to`, which must be empty. Both are migrated first.
pub async fn copy_db(from: &str, to: &str) -> StoreResult<CopyCounts> {
    let (src, dst) = (open(from).await?, open(to).await?);
    check_tables(&src).await?;
    check_tables(&dst).await?;
    for table in ["hosts", "packages", "repos", "reports"] {
        if count(&dst, table).await? > 0 {
            return Err(StoreError::TargetNotEmpty(table.to_string()));
        }
    }
    // The target's own rows from migrations and startup (settings, jobs) give way to the source's.
    for (table, _) in TABLES.iter().rev() {
        execute(&dst, &format!("DELETE FROM {table}")).await?;
    }
    let mut counts = Vec::new();
    for (table, cols) in TABLES {
        counts.push((*table, copy_table(&src, &dst, table, cols).await?));
    }
    if let Db::Sqlite(_) = &dst {
        for (table, rebuild) in SQLITE_DERIVED {
            execute(&dst, &format!("DELETE FROM {table}")).await?;
            execute(&dst, rebuild).await?;
        }
    }
    if let Db::Postgres(pool) = &dst {
        for (table, cols) in TABLES {
            let key = cols[0].0;
            if matches!(key, "id" | "seq") && *table != "packages" {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{key}'), coalesce(max({key}), 0) + 1, false) FROM {table}"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).execute(pool).await?;
            }
        }
    }
    Ok(counts)
}

async fn open(url: &str) -> StoreResult<Db> {
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true).foreign_keys(false);
        let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
        migrations::sqlite().run(&pool).await?;
        Ok(Db::Sqlite(pool))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let pool = PgPoolOptions::new().max_connections(2).connect_with(PgConnectOptions::from_str(url)?).await?;
        migrations::postgres().run(&pool).await?;
        Ok(Db::Postgres(pool))
    } else {
        Err(StoreError::UnsupportedScheme(url.split(':').next().unwrap_or_default().to_owned()))
    }
}

async fn execute(db: &Db, sql: &str) -> StoreResult<()> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db {
        Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(drop)?,
        Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(drop)?,
    }
    Ok(())
}

async fn count(db: &Db, table: &str) -> StoreResult<u64> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"));
    let n: i64 = match db {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await?,
    };
    Ok(n as u64)
}

/// Refuses a schema with tables this module does not know.
async fn check_tables(db: &Db) -> StoreResult<()> {
    let names: Vec<String> = match db {
        Db::Sqlite(p) => {
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite%'")
                .fetch_all(p)
                .await?
        }
        Db::Postgres(p) => {
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename NOT LIKE '\\_%'")
                .fetch_all(p)
                .await?
        }
    };
    let known = |n: &str| {
        TABLES.iter().any(|(t, _)| *t == n)
            || matches!(db, Db::Sqlite(_)) && SQLITE_DERIVED.iter().any(|(t, _)| *t == n)
    };
    if let Some(unknown) = names.iter().find(|n| !known(n)) {
        return Err(StoreError::UnknownTable(unknown.to_string()));
    }
    for (table, cols) in TABLES {
        check_columns(db, table, cols).await?;
    }
    Ok(())
}

/// Refuses a table with columns this module does not know: a new column must be copied, not
/// silently left behind.
async fn check_columns(db: &Db, table: &str, cols: &[Column]) -> StoreResult<()> {
    let names: Vec<String> = match db {
        Db::Sqlite(p) => sqlx::query_scalar("SELECT name FROM pragma_table_info($1)").bind(table).fetch_all(p).await?,
        Db::Postgres(p) => {
            sqlx::query_scalar(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = $1",
            )
            .bind(table)
            .fetch_all(p)
            .await?
        }
    };
    match names.into_iter().find(|n| !cols.iter().any(|c| c.0 == n)) {
        Some(column) => Err(StoreError::UnknownColumn { table: table.to_owned(), column }),
        None => Ok(()),
    }
}

async fn copy_table(src: &Db, dst: &Db, table: &str, cols: &[Column]) -> StoreResult<u64> {
    let names: Vec<&str> = cols.iter().map(|c| c.0).collect();
    let select = format!("SELECT {} FROM {table}", names.join(", "));
    let mut batch = Vec::with_capacity(BATCH);
    let mut copied = 0;
    match src {
        Db::Sqlite(p) => {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(p);
            while let Some(row) = rows.try_next().await? {
                batch.push(
                    cols.iter().enumerate().map(|(i, c)| sqlite_value(&row, i, c)).collect::<StoreResult<Vec<_>>>()?,
                );
                if batch.len() == BATCH {
                    copied += write(dst, table, &names, cols, &mut batch).await?;
                }
            }
        }
        Db::Postgres(p) => {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(select)).fetch(p);
            while let Some(row) = rows.try_next().await? {
                batch
                    .push(cols.iter().enumerate().map(|(i, c)| pg_value(&row, i, c)).collect::<StoreResult<Vec<_>>>()?);
                if batch.len() == BATCH {
                    copied += write(dst, table, &names, cols, &mut batch).await?;
                }
            }
        }
    }
    copied += write(dst, table, &names, cols, &mut batch).await?;
    Ok(copied)
}

fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize, c: &Column) -> StoreResult<Value> {
    Ok(match c.1 {
        Col::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::Int),
        Col::Text => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::Text),
        Col::Blob => row.try_get::<Option<Vec<u8>>, _>(i)?.map_or(Value::Null, Value::Blob),
        Col::Bool => row.try_get::<Option<bool>, _>(i)?.map_or(Value::Null, Value::Bool),
    })
}

fn pg_value(row: &sqlx::postgres::PgRow, i: usize, c: &Column) -> StoreResult<Value> {
    Ok(match c.1 {
        Col::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::Int),
        Col::Text => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::Text),
        Col::Blob => row.try_get::<Option<Vec<u8>>, _>(i)?.map_or(Value::Null, Value::Blob),
        Col::Bool => row.try_get::<Option<bool>, _>(i)?.map_or(Value::Null, Value::Bool),
    })
}

/// Inserts the batch with one multi-row INSERT and empties it.
async fn write(
    dst: &Db,
    table: &str,
    names: &[&str],
    cols: &[Column],
    batch: &mut Vec<Vec<Value>>,
) -> StoreResult<u64> {
    if batch.is_empty() {
        return Ok(0);
    }
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", names.join(", "));
    let mut n = 0;
    for (r, _) in batch.iter().enumerate() {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols.len() {
            n += 1;
            sql.push_str(&format!("{}${n}", if c == 0 { "" } else { ", " }));
        }
        sql.push(')');
    }
    let rows = batch.len() as u64;
    match dst {
        Db::Sqlite(p) => {
            let mut q = sqlx::query::<Sqlite>(sqlx::AssertSqlSafe(sql));
            for v in batch.drain(..).flatten() {
                q = match v {
                    Value::Null => q.bind(None::<i64>),
                    Value::Int(i) => q.bind(i),
                    Value::Text(s) => q.bind(s),
                    Value::Blob(b) => q.bind(b),
                    Value::Bool(b) => q.bind(b),
                };
            }
            q.execute(p).await?;
        }
        Db::Postgres(p) => {
            let mut q = sqlx::query::<Postgres>(sqlx::AssertSqlSafe(sql));
            for (k, v) in batch.drain(..).flatten().enumerate() {
                q = match v {
                    Value::Null => match cols[k % cols.len()].1 {
                        Col::Int => q.bind(None::<i64>),
                        Col::Text => q.bind(None::<String>),
                        Col::Blob => q.bind(None::<Vec<u8>>),
                        Col::Bool => q.bind(None::<bool>),
                    },
                    Value::Int(i) => q.bind(i),
                    Value::Text(s) => q.bind(s),
                    Value::Blob(b) => q.bind(b),
                    Value::Bool(b) => q.bind(b),
                };
            }
            q.execute(p).await?;
        }
    }
    Ok(rows)
}
