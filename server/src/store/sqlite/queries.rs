//! The portable queries (`store/portable.rs`), for SQLite.

type Db = sqlx::Sqlite;
/// Takes the write lock at once, so a transaction never fails to upgrade from reading.
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

crate::store::portable::portable_queries!();
