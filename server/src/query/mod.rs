//! The read side's questions as plain values: which hosts (a `HostFilter`), in which order,
//! which page. The web pages parse them from a URL's query string; the CLI and the gRPC query
//! API build the same values. The store answers them (SQL stays there); nothing here touches
//! a database.

mod advisories;
mod hosts;
mod packages;
mod repos;

pub use self::advisories::AdvisoryFilter;
pub use self::hosts::{HostFilter, HostSort, HostStatus, SortKey};
pub use self::packages::PackageFilter;
pub use self::repos::RepoFilter;

/// A field of a query that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct QueryError {
    pub field: String,
    pub message: String,
}

fn bad(field: &str, message: impl Into<String>) -> QueryError {
    QueryError { field: field.to_owned(), message: message.into() }
}

/// Which slice of a long list: `per_page` rows from row `(page - 1) * per_page`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// From 1.
    pub page: u32,
    pub per_page: u32,
}

impl PageRequest {
    pub const MAX_PER_PAGE: u32 = 1_000;

    pub fn offset(&self) -> u64 {
        u64::from(self.page.saturating_sub(1)) * u64::from(self.per_page)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, per_page: 100 }
    }
}

/// The moment a question is asked, and what counts as silent then: the host statuses depend
/// on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub now_ms: i64,
    /// A host that has not reported for this long is silent.
    pub silent_after_ms: i64,
}

impl Clock {
    pub fn silent_before(&self) -> i64 {
        self.now_ms - self.silent_after_ms
    }
}

/// One page of a list and how many rows the whole list has.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Paged<T> {
    pub total: u64,
    pub rows: Vec<T>,
}

fn parse_bool(field: &str, v: &str) -> Result<bool, QueryError> {
    match v {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err(bad(field, format!("{v:?} is not true or false"))),
    }
}

fn parse_num<T: std::str::FromStr>(field: &str, v: &str) -> Result<T, QueryError> {
    v.parse().map_err(|_| bad(field, format!("{v:?} is not a whole number")))
}
