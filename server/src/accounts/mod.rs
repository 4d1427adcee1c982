//! Web UI accounts, without SQL or HTTP: roles, argon2id password hashes (`password.rs`),
//! session ids and their expiry rules (`session.rs`), and the in-memory sign-in rate limiter
//! (`rate_limit.rs`). Like `auth.rs` it sits below the store, which keeps what it makes.

mod password;
mod rate_limit;
mod session;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use self::password::{MIN_PASSWORD_LEN, PasswordError, check_password_rules, hash_password, verify_password};
pub use self::rate_limit::{Refused, SignInLimiter};
pub use self::session::{SessionHash, SessionPolicy, TOUCH_EVERY_MS, new_csrf_token, new_session_id};

/// What a user may do: viewers read every page, administrators also change things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
}

impl Role {
    /// The name the database and the command line use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Self::Viewer),
            "admin" => Ok(Self::Admin),
            other => Err(format!("unknown role {other:?}: use admin or viewer")),
        }
    }
}

/// A user name: 1 to 64 characters of letters, digits and `.-_@`.
pub fn check_user_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok { Ok(()) } else { Err(format!("invalid user name {name:?}: 1 to 64 letters, digits or .-_@")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_names_are_checked() {
        for role in [Role::Viewer, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
        assert!(check_user_name("alice.b-c_d@x").is_ok());
        assert!(check_user_name("").is_err() && check_user_name("a b").is_err() && check_user_name("<b>").is_err());
    }
}
