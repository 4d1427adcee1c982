//! The (In)Release file: the repository's description and the checksums of its index files.

use std::collections::HashMap;

use crate::repos::RepoError;
use crate::repos::checksum::{Algo, Checksum};
use crate::repos::date::parse_rfc2822_ms;

/// What an (In)Release says about its repository, and how it was verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AptRelease {
    pub origin: Option<String>,
    pub label: Option<String>,
    pub suite: Option<String>,
    pub codename: Option<String>,
    pub version: Option<String>,
    pub components: Vec<String>,
    pub architectures: Vec<String>,
    /// `Date`, milliseconds since the epoch.
    pub date_ms: Option<i64>,
    /// `Valid-Until`, milliseconds since the epoch.
    pub valid_until_ms: Option<i64>,
    /// Verified with the keyring (false when no keyring was given).
    pub signed: bool,
    /// Fingerprints (uppercase hex) of the primary keys whose signatures verified.
    pub signed_by: Vec<String>,
    /// A security repository: suite or codename ending in `-security`, or Label/Suite naming it.
    pub security: bool,
}

/// The checksums an (In)Release lists for one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FileSums {
    pub size: u64,
    pub sha256: Option<Checksum>,
    pub sha512: Option<Checksum>,
}

impl FileSums {
    /// The strongest listed checksum we accept: SHA-256, else SHA-512.
    pub fn best(&self) -> Option<&Checksum> {
        self.sha256.as_ref().or(self.sha512.as_ref())
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct ReleaseIndex {
    pub release: AptRelease,
    /// By path relative to the Release's directory ("main/binary-amd64/Packages.xz").
    pub files: HashMap<String, FileSums>,
    /// Paths listed only under MD5Sum/SHA1, which we do not accept.
    pub weak_only: Vec<String>,
}

/// Parses the (verified) text of a Release file.
pub(crate) fn parse_release(url: &str, text: &str) -> Result<ReleaseIndex, RepoError> {
    let bad = |reason: String| RepoError::Release { url: url.to_owned(), reason };
    let mut idx = ReleaseIndex::default();
    let mut weak = Vec::new();
    let mut field = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let algo = match field.as_str() {
                "sha256" => Some(Algo::Sha256),
                "sha512" => Some(Algo::Sha512),
                "md5sum" | "sha1" => None,
                _ => continue, // a continuation of a field we do not use
            };
            let mut parts = line.split_ascii_whitespace();
            let (Some(hash), Some(size), Some(path), None) = (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(bad(format!("line {}: expected \"checksum size path\" in {field}", n + 1)));
            };
            let size: u64 = size.parse().map_err(|_| bad(format!("line {}: invalid size {size:?}", n + 1)))?;
            let Some(algo) = algo else {
                weak.push(path.to_owned());
                continue;
            };
            let sum = Checksum::new(algo, hash)
                .ok_or_else(|| bad(format!("line {}: invalid {} checksum for {path}", n + 1, algo.name())))?;
            let entry = idx.files.entry(path.to_owned()).or_insert_with(|| FileSums { size, ..FileSums::default() });
            if entry.size != size {
                return Err(bad(format!("line {}: {path} listed with sizes {} and {size}", n + 1, entry.size)));
            }
            match algo {
                Algo::Sha512 => entry.sha512 = Some(sum),
                _ => entry.sha256 = Some(sum),
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad(format!("line {}: not a \"Field: value\" line", n + 1)));
        };
        field = name.trim().to_ascii_lowercase();
        let value = value.trim();
        let text = || (!value.is_empty()).then(|| value.to_owned());
        let r = &mut idx.release;
        match field.as_str() {
            "origin" => r.origin = text(),
            "label" => r.label = text(),
            "suite" => r.suite = text(),
            "codename" => r.codename = text(),
            "version" => r.version = text(),
            "components" => r.components = value.split_ascii_whitespace().map(str::to_owned).collect(),
            "architectures" => r.architectures = value.split_ascii_whitespace().map(str::to_owned).collect(),
            "date" => r.date_ms = parse_rfc2822_ms(value),
            "valid-until" => {
                r.valid_until_ms = Some(
                    parse_rfc2822_ms(value)
                        .ok_or_else(|| bad(format!("line {}: invalid Valid-Until {value:?}", n + 1)))?,
                );
            }
            _ => {}
        }
    }
    let r = &mut idx.release;
    let ends_security = |s: &Option<String>| s.as_deref().is_some_and(|s| s.ends_with("-security"));
    let names_security = |s: &Option<String>| s.as_deref().is_some_and(|s| s.to_ascii_lowercase().contains("security"));
    r.security =
        ends_security(&r.suite) || ends_security(&r.codename) || names_security(&r.label) || names_security(&r.suite);
    idx.weak_only = weak.into_iter().filter(|p| !idx.files.contains_key(p)).collect();
    Ok(idx)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RELEASE: &str = "Origin: Debian\nLabel: Debian-Security\nSuite: oldstable-security\nVersion: 12\n\
Codename: bookworm-security\nDate: Wed, 20 May 2026 16:28:12 UTC\nValid-Until: Wed, 27 May 2026 16:28:12 UTC\n\
Acquire-By-Hash: yes\nArchitectures: amd64 arm64 i386\nComponents: updates/main updates/contrib\n\
Description: Debian 12 - Security Updates\nMD5Sum:\n 0123456789abcdef0123456789abcdef   609326 main/binary-amd64/Packages\n \
0123456789abcdef0123456789abcdef 1234 main/i18n/Translation-en\nSHA256:\n \
2222222222222222222222222222222222222222222222222222222222222222   609326 main/binary-amd64/Packages\n \
3333333333333333333333333333333333333333333333333333333333333333   120000 main/binary-amd64/Packages.xz\n";

    #[test]
    fn fields_and_multi_line_sha256() {
        let idx = parse_release("u", RELEASE).unwrap();
        let r = &idx.release;
        assert_eq!(r.origin.as_deref(), Some("Debian"));
        assert_eq!(r.codename.as_deref(), Some("bookworm-security"));
        assert_eq!(r.version.as_deref(), Some("12"));
        assert_eq!(r.architectures, ["amd64", "arm64", "i386"]);
        assert_eq!(r.components, ["updates/main", "updates/contrib"]);
        assert_eq!(r.date_ms, Some(1_779_294_492_000));
        assert_eq!(r.valid_until_ms, Some(1_779_899_292_000));
        assert!(r.security);
        let plain = &idx.files["main/binary-amd64/Packages"];
        assert_eq!(plain.size, 609_326);
        assert_eq!(plain.best().unwrap().hex, "2".repeat(64));
        assert_eq!(idx.files["main/binary-amd64/Packages.xz"].size, 120_000);
        assert_eq!(idx.weak_only, ["main/i18n/Translation-en"]);
    }

    #[test]
    fn crlf_and_sha512_fallback() {
        let text = format!("Suite: stable\r\nSHA512:\r\n {} 10 Packages\r\n", "ab".repeat(64));
        let idx = parse_release("u", &text).unwrap();
        assert_eq!(idx.release.suite.as_deref(), Some("stable"));
        assert!(!idx.release.security);
        assert_eq!(idx.files["Packages"].best().unwrap().algo, Algo::Sha512);
    }

    #[track_caller]
    fn rejects(text: &str, needle: &str) {
        let err = parse_release("http://m/dists/x/Release", text).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("http://m/dists/x/Release"), "{err}");
    }

    #[test]
    fn malformed_releases_are_errors() {
        rejects("Suite: x\nthis line has no colon\n", "line 2");
        rejects("SHA256:\n abc 10 Packages\n", "invalid sha256 checksum");
        rejects(&format!("SHA256:\n {} ten Packages\n", "a".repeat(64)), "invalid size");
        rejects(&format!("SHA256:\n {} 10\n", "a".repeat(64)), "checksum size path");
        rejects("Valid-Until: someday\n", "Valid-Until");
    }
}
