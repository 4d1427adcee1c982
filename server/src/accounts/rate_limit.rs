//! The sign-in rate limiter, in memory: after `max_failures` failed sign-ins within `window_ms`
//! for one account, or from one source address, further attempts for it are refused until
//! the oldest failure leaves the window. Times are passed in (the caller's clock), so tests
//! move time by hand. Each server process counts on its own.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Keys kept before old ones are swept (bounded memory under a flood of names).
const MAX_KEYS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Account(String),
    Source(String),
}

/// Why an attempt is refused: too many failures; retry after this many seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after_secs: i64,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "too many failed sign-ins: try again in {} seconds", self.retry_after_secs)
    }
}

#[derive(Debug)]
pub struct SignInLimiter {
    max_failures: usize,
    window_ms: i64,
    failures: Mutex<HashMap<Key, VecDeque<i64>>>,
}

impl SignInLimiter {
    pub fn new(max_failures: usize, window_ms: i64) -> Self {
        Self { max_failures: max_failures.max(1), window_ms, failures: Mutex::new(HashMap::new()) }
    }

    /// Whether an attempt for `account` from `source` may be tried at `now`.
    pub fn check(&self, account: &str, source: &str, now: i64) -> Result<(), Refused> {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        for key in keys(account, source) {
            if let Some(times) = map.get_mut(&key) {
                forget_old(times, now, self.window_ms);
                if times.len() >= self.max_failures {
                    let oldest = times[times.len() - self.max_failures];
                    wait = wait.max(oldest + self.window_ms - now);
                }
            }
        }
        if wait > 0 { Err(Refused { retry_after_secs: (wait + 999) / 1000 }) } else { Ok(()) }
    }

    /// Counts a failed attempt against the account and the source.
    pub fn failed(&self, account: &str, source: &str, now: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| {
                forget_old(times, now, self.window_ms);
                !times.is_empty()
            });
        }
        for key in keys(account, source) {
            let times = map.entry(key).or_default();
            forget_old(times, now, self.window_ms);
            times.push_back(now);
            while times.len() > self.max_failures {
                times.pop_front();
            }
        }
    }

    /// A successful sign-in forgets the account's failures (not the source's).
    pub fn succeeded(&self, account: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Key::Account(account.to_owned()));
    }
}

fn keys(account: &str, source: &str) -> [Key; 2] {
    [Key::Account(account.to_owned()), Key::Source(source.to_owned())]
}

fn forget_old(times: &mut VecDeque<i64>, now: i64, window_ms: i64) {
    while times.front().is_some_and(|t| now - t >= window_ms) {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn an_account_is_refused_after_five_failures_until_the_window_passes() {
        let l = SignInLimiter::new(5, 5 * MIN);
        for i in 0..5 {
            assert!(l.check("alice", &format!("10.0.0.{i}"), i * 1000).is_ok());
            l.failed("alice", &format!("10.0.0.{i}"), i * 1000);
        }
        let refused = l.check("alice", "10.9.9.9", 5_000).unwrap_err();
        assert_eq!(refused.retry_after_secs, 295, "until the first failure is 5 minutes old");
        assert!(refused.to_string().contains("try again in 295 seconds"), "{refused}");
        assert!(l.check("bob", "10.9.9.9", 5_000).is_ok(), "other accounts from other places are not");
        assert!(l.check("alice", "10.9.9.9", 5 * MIN).is_ok(), "the window passed");
    }

    #[test]
    fn a_source_is_refused_after_five_failures_whatever_the_account() {
        let l = SignInLimiter::new(5, 5 * MIN);
        for i in 0..5 {
            l.failed(&format!("user{i}"), "192.0.2.1", i);
        }
        assert!(l.check("someone", "192.0.2.1", 10).is_err());
        assert!(l.check("someone", "192.0.2.2", 10).is_ok());
    }

    #[test]
    fn success_forgets_the_accounts_failures() {
        let l = SignInLimiter::new(5, 5 * MIN);
        for i in 0..4 {
            l.failed("alice", &format!("h{i}"), i);
        }
        l.succeeded("alice");
        l.failed("alice", "h9", 10);
        assert!(l.check("alice", "h8", 11).is_ok());
    }
}
