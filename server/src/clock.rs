//! The wall clock, in the unit the database stores: milliseconds since the Unix epoch.

/// Milliseconds since the Unix epoch, now (0 before 1970, saturating far in the future).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
