//! The SQL migrations of each dialect, embedded at build time from `migrations/`.

use std::borrow::Cow;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{AssertSqlSafe, SqlSafeStr};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

pub fn sqlite() -> Migrator {
    migrator(embedded::SQLITE)
}

pub fn postgres() -> Migrator {
    migrator(embedded::POSTGRES)
}

/// The newest migration of SQLite's list.
pub fn sqlite_latest() -> i64 {
    embedded::SQLITE.iter().map(|m| m.0).max().unwrap_or(0)
}

/// The newest migration of PostgreSQL's list.
pub fn postgres_latest() -> i64 {
    embedded::POSTGRES.iter().map(|m| m.0).max().unwrap_or(0)
}

fn migrator(list: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = list
        .iter()
        .map(|&(version, description, sql)| {
            Migration::new(
                version,
                Cow::Borrowed(description),
                MigrationType::Simple,
                AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}
