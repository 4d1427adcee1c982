//! The state digest each host was last found unchanged with, so that its next unchanged
//! report goes straight to the writer instead of first asking a reader whether the digest
//! matches (one thread hand-off and one query less per timer report). Only a hint: the
//! writer's touch compares the stored digest again, so a stale entry costs one touch that
//! changes nothing, never a wrong answer.

use std::collections::HashMap;
use std::sync::Mutex;

/// At most this many hosts (~100 bytes each); past it the map starts again.
const MAX_HOSTS: usize = 500_000;

#[derive(Default)]
pub(super) struct SeenDigests {
    hosts: Mutex<HashMap<Box<str>, [u8; 16]>>,
}

impl SeenDigests {
    pub(super) fn matches(&self, hostname: &str, digest: &[u8; 16]) -> bool {
        self.lock().get(hostname) == Some(digest)
    }

    /// Records the outcome of a touch: remembered when it found the digest, else forgotten.
    pub(super) fn record(&self, hostname: &str, digest: &[u8; 16], matched: bool) {
        let mut hosts = self.lock();
        if !matched {
            hosts.remove(hostname);
            return;
        }
        if hosts.len() >= MAX_HOSTS && !hosts.contains_key(hostname) {
            hosts.clear();
        }
        hosts.insert(hostname.into(), *digest);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, [u8; 16]>> {
        self.hosts.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_a_match_and_forgets_a_miss() {
        let seen = SeenDigests::default();
        assert!(!seen.matches("a", &[1; 16]));
        seen.record("a", &[1; 16], true);
        assert!(seen.matches("a", &[1; 16]));
        assert!(!seen.matches("a", &[2; 16]));
        assert!(!seen.matches("b", &[1; 16]));
        seen.record("a", &[1; 16], false);
        assert!(!seen.matches("a", &[1; 16]));
    }
}
