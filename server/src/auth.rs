//! Host tokens and enrollment keys: random secrets, stored only as SHA-256 hashes.

use sha2::{Digest, Sha256};

/// The SHA-256 of a host token: what the database keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

impl TokenHash {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// The hash in hex: a key for rate limits that never holds the secret itself.
    pub fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A new secret: `prefix` followed by 32 random bytes in URL-safe base64 (no padding).
/// The enrollment key configured (`enrollment_key`) or generated on first start is the
/// entry with this name in `patchman enrollment-key list`.
pub const DEFAULT_ENROLLMENT_KEY: &str = "default";

pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the operating system's random number generator failed");
    let mut s = String::with_capacity(prefix.len() + 43);
    s.push_str(prefix);
    base64url(&bytes, &mut s);
    s
}

/// A host token as hosts send it: `Bearer pmh_…`.
pub fn new_host_token() -> String {
    new_secret("pmh_")
}

/// What an API key or token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApiRole {
    /// Upload reports for hosts without a token of their own (Patchman's clients).
    Upload,
    /// Ask the query API.
    Read,
    /// Ask the query API and make the changes of its admin service.
    Admin,
}

impl ApiRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Read => "read",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Upload, Self::Read, Self::Admin].into_iter().find(|r| r.as_str() == s)
    }

    /// A new secret of this role: `pmk_…` for upload keys, `pmt_…` for query tokens.
    pub fn new_secret(self) -> String {
        new_secret(if self == Self::Upload { "pmk_" } else { "pmt_" })
    }
}

/// Compares secrets in time independent of where they differ.
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let (ha, hb) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    ha.iter().zip(hb.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Extracts the token from an `authorization` header value.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn base64url(bytes: &[u8], out: &mut String) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_well_formed() {
        let (a, b) = (new_host_token(), new_host_token());
        assert_ne!(a, b);
        assert!(a.starts_with("pmh_") && a.len() == 4 + 43, "{a}");
        assert!(a[4..].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn base64url_matches_rfc4648_vectors() {
        for (input, want) in
            [("", ""), ("f", "Zg"), ("fo", "Zm8"), ("foo", "Zm9v"), ("foob", "Zm9vYg"), ("fooba", "Zm9vYmE")]
        {
            let mut s = String::new();
            base64url(input.as_bytes(), &mut s);
            assert_eq!(s, want, "{input:?}");
        }
    }

    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert!(secrets_equal("x", "x") && !secrets_equal("x", "y"));
        assert_ne!(TokenHash::of("a"), TokenHash::of("b"));
    }
}
