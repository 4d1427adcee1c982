//! Rate limits against abuse: token buckets by key (a source address, an enrollment key, a
//! host), in memory, per server process. A bucket holds `burst` tokens and gains
//! `per_minute` a minute; a request takes one or is told how long to wait.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys kept before idle ones (full buckets) are forgotten.
const MAX_KEYS: usize = 100_000;

pub struct Buckets {
    burst: f64,
    per_sec: f64,
    state: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Buckets {
    /// `per_minute` 0 means unlimited.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self { burst: f64::from(burst.max(1)), per_sec: f64::from(per_minute) / 60.0, state: Mutex::default() }
    }

    /// Takes one token for `key`, or says how long until one is there.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        self.spend(key, 1.0)
    }

    /// Whether `key` has a token left, taking none.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.spend(key, 0.0)
    }

    fn spend(&self, key: &str, cost: f64) -> Result<(), Duration> {
        if self.per_sec == 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut map = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_KEYS {
            let (burst, per_sec) = (self.burst, self.per_sec);
            map.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_sec < burst);
        }
        let (tokens, at) = map.entry(key.to_owned()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.per_sec).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= cost;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / self.per_sec))
        }
    }
}

/// Enroll's limits: per source address and per enrollment key, and failed attempts per
/// source (a wrong key guessed again and again).
pub struct EnrollLimits {
    per_source: Buckets,
    per_key: Buckets,
    failures: Buckets,
}

impl EnrollLimits {
    pub fn new(config: &crate::config::LimitsConfig) -> Self {
        let b = |n: u32| Buckets::new(n, n);
        Self {
            per_source: b(config.enrollments_per_minute_per_source),
            per_key: b(config.enrollments_per_minute_per_key),
            failures: b(config.failed_enrollments_per_minute_per_source),
        }
    }

    /// Whether an enrollment from `source` with the key of this hash may be tried now.
    pub fn admit(&self, source: &str, key_hash: &str) -> Result<(), String> {
        let wait = |d: Duration| d.as_secs() + 1;
        self.failures
            .check(source)
            .map_err(|d| format!("too many failed enrollments from this address: try again in {} s", wait(d)))?;
        self.per_source
            .take(source)
            .map_err(|d| format!("too many enrollments from this address: try again in {} s", wait(d)))?;
        self.per_key
            .take(key_hash)
            .map_err(|d| format!("too many enrollments with this key: try again in {} s", wait(d)))
    }

    pub fn failed(&self, source: &str) {
        let _ = self.failures.take(source);
    }
}

/// Reports per host: a host that reports in a loop is slowed, every other host is not.
pub struct ReportRate {
    per_host: Buckets,
    per_minute: u32,
}

impl ReportRate {
    pub fn new(config: &crate::config::LimitsConfig) -> Self {
        let n = config.reports_per_minute_per_host;
        Self { per_host: Buckets::new(n, n), per_minute: n }
    }

    /// Whether `hostname` may report now; else why not, and for how long.
    pub fn admit(&self, hostname: &str) -> Result<(), String> {
        self.per_host.take(hostname).map_err(|wait| {
            format!(
                "host {hostname} reports more than {} times a minute: try again in {} s (the report waits in its spool)",
                self.per_minute,
                wait.as_secs() + 1
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Buckets;

    #[test]
    fn a_burst_then_the_rate_and_keys_apart() {
        let b = Buckets::new(3, 60);
        assert!((0..3).all(|_| b.take("a").is_ok()));
        let wait = b.take("a").unwrap_err();
        assert!(wait.as_millis() > 900 && wait.as_millis() <= 1000, "{wait:?}");
        assert!(b.take("b").is_ok(), "another key has its own bucket");
        assert!(b.check("b").is_ok() && b.check("b").is_ok(), "check takes nothing");
        let unlimited = Buckets::new(1, 0);
        assert!((0..1000).all(|_| unlimited.take("a").is_ok()));
    }
}
