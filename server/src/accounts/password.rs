//! Password hashes: argon2id with the crate's default cost (19 MiB, 2 passes), a random salt,
//! stored as a PHC string (`$argon2id$v=19$…`), which records its own parameters.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is too short: at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// Refuses a password shorter than `MIN_PASSWORD_LEN` characters.
pub fn check_password_rules(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_LEN { Err(PasswordError::TooShort) } else { Ok(()) }
}

/// The PHC string of `password` with a new random salt; refuses a password that breaks the rules.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    check_password_rules(password)?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("the operating system's random number generator failed");
    let salt = SaltString::encode_b64(&salt).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string; false for a malformed one. Without a
/// hash (no such user) a dummy one is checked, so a wrong name takes as long as a wrong
/// password.
pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    let Some(phc) = phc else {
        let _ = verify_password(password, Some(dummy_hash()));
        return false;
    };
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no user has this password").expect("hashing a constant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_only_their_password_and_are_salted() {
        let a = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert!(verify_password("correct horse battery", Some(&a)));
        assert!(!verify_password("correct horse batterx", Some(&a)));
        assert_ne!(a, hash_password("correct horse battery").unwrap(), "a new salt each time");
        assert!(!verify_password("anything", Some("not a phc string")));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash_password("elevenchars"), Err(PasswordError::TooShort)));
        assert!(check_password_rules("twelve chars").is_ok());
        assert!(!verify_password("no user has this password", None));
    }
}
