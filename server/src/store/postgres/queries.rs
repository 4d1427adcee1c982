//! The portable queries (`store/portable.rs`), for PostgreSQL.

type Db = sqlx::Postgres;
const BEGIN_WRITE: &str = "BEGIN";

crate::store::portable::portable_queries!();
