//! Sign-in sessions: the browser holds a random id, the database only its SHA-256; a session
//! ends after `idle_ms` without a request or `absolute_ms` after sign-in, whichever is first.

use sha2::{Digest as _, Sha256};

/// A session's last-seen time is written at most this often (reads stay cheap).
pub const TOUCH_EVERY_MS: i64 = 60_000;

/// The SHA-256 of a session id: what the database keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SessionHash(pub [u8; 32]);

impl std::fmt::Debug for SessionHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionHash(..)")
    }
}

impl SessionHash {
    pub fn of(session_id: &str) -> Self {
        Self(Sha256::digest(session_id.as_bytes()).into())
    }
}

/// A new session id for the cookie.
pub fn new_session_id() -> String {
    crate::auth::new_secret("pms_")
}

/// A new token that forms must send back (per session, or per sign-in form).
pub fn new_csrf_token() -> String {
    crate::auth::new_secret("")
}

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle_ms: i64,
    pub absolute_ms: i64,
}

impl Default for SessionPolicy {
    /// 8 hours idle, 7 days in all.
    fn default() -> Self {
        Self { idle_ms: 8 * 3_600_000, absolute_ms: 7 * 86_400_000 }
    }
}

impl SessionPolicy {
    /// Whether a session created and last seen at these times is still valid at `now`.
    pub fn is_valid(&self, created_at: i64, last_seen_at: i64, now: i64) -> bool {
        now - last_seen_at < self.idle_ms && now - created_at < self.absolute_ms
    }

    /// Whether a request at `now` should write the session's last-seen time.
    pub fn needs_touch(&self, last_seen_at: i64, now: i64) -> bool {
        now - last_seen_at >= TOUCH_EVERY_MS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_when_idle_or_old() {
        let p = SessionPolicy::default();
        let h = 3_600_000;
        assert!(p.is_valid(0, 0, 8 * h - 1));
        assert!(!p.is_valid(0, 0, 8 * h), "idle for 8 hours");
        assert!(p.is_valid(0, 7 * 24 * h - 2 * h, 7 * 24 * h - 1));
        assert!(!p.is_valid(0, 7 * 24 * h - 2 * h, 7 * 24 * h), "7 days after sign-in, however active");
        assert!(!p.needs_touch(1_000, 60_999) && p.needs_touch(1_000, 61_000));
    }

    #[test]
    fn ids_are_random_and_hashed() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_ne!(a, b);
        assert_eq!(SessionHash::of(&a), SessionHash::of(&a));
        assert_ne!(SessionHash::of(&a), SessionHash::of(&b));
        assert_eq!(format!("{:?}", SessionHash::of(&a)), "SessionHash(..)");
    }
}
