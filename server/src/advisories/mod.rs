//! Security advisories and CVEs from the distributions' feeds, as plain values: the one model
//! every feed is read into (`Advisory`), the feeds' formats (`osv`, `tracker`, `kev`), where
//! a feed's bytes come from (`feed`), which installed packages an advisory names
//! (`exposure`), and time to patch (`windows`). No SQL and no HTTP server here.

pub mod exposure;
pub mod feed;
#[cfg(test)]
mod fixture_tests;
pub mod kev;
pub mod osv;
pub mod tracker;
pub mod windows;

use crate::report::PackageKind;

/// One advisory (DSA-5532-1, DLA-…, USN-6543-1, RLSA-…, ALSA-…) or, from the Debian
/// security tracker, one CVE. Names are unique within a feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advisory {
    pub name: String,
    /// "security", "bugfix" or "enhancement".
    pub kind: String,
    /// "critical", "high", "medium", "low", "unimportant" or "" (not given).
    pub severity: String,
    pub summary: String,
    pub issued_ms: Option<i64>,
    pub updated_ms: Option<i64>,
    /// Set when the feed withdrew it: it is kept for history and exposes no host.
    pub withdrawn_ms: Option<i64>,
    pub cves: Vec<CveRef>,
    pub references: Vec<String>,
    pub affected: Vec<Affected>,
}

impl Advisory {
    /// Of everything the feed said: equal digests, an unchanged advisory.
    pub fn digest(&self) -> [u8; 16] {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        let mut field = |b: &[u8]| {
            h.update(&(b.len() as u64).to_le_bytes());
            h.update(b);
        };
        for s in [&self.name, &self.kind, &self.severity, &self.summary] {
            field(s.as_bytes());
        }
        for t in [self.issued_ms, self.updated_ms, self.withdrawn_ms] {
            field(&t.unwrap_or(i64::MIN).to_le_bytes());
        }
        for c in &self.cves {
            field(c.id.as_bytes());
            field(c.severity.as_bytes());
        }
        for r in &self.references {
            field(r.as_bytes());
        }
        for a in &self.affected {
            let (status, fixed) = a.fix.to_parts();
            field(a.release.as_bytes());
            field(&[a.kind as u8, status as u8]);
            field(a.package.as_bytes());
            field(fixed.as_bytes());
        }
        h.digest128().to_le_bytes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CveRef {
    pub id: String,
    /// The CVE's own severity where the feed gives one, else "".
    pub severity: String,
}

/// A package an advisory names in one OS release, and what fixes it there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Affected {
    /// The OS release as hosts' OS variants name it, without the point release: "Debian 12",
    /// "Ubuntu 22.04", "Rocky Linux 9", "AlmaLinux 9" (see `release_of_variant`).
    pub release: String,
    /// How versions compare: deb (dpkg) or rpm.
    pub kind: PackageKind,
    /// For deb, a source package (compared with each installed package's source); for rpm, the
    /// package name (compared with the installed package's name and its source name).
    pub package: String,
    pub fix: Fix,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fix {
    /// Versions below this one are affected.
    Version(String),
    /// Every version is affected and no fix is published yet.
    NoFixYet,
    /// The feed says this release is not affected.
    NotAffected,
}

impl Fix {
    /// How the store keeps it: (status, fixed version).
    pub fn to_parts(&self) -> (i64, &str) {
        match self {
            Fix::Version(v) => (0, v),
            Fix::NoFixYet => (1, ""),
            Fix::NotAffected => (2, ""),
        }
    }

    pub fn from_parts(status: i64, version: String) -> Self {
        match status {
            0 => Fix::Version(version),
            1 => Fix::NoFixYet,
            _ => Fix::NotAffected,
        }
    }
}

/// A CVE in CISA's Known Exploited Vulnerabilities catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownExploited {
    pub cve: String,
    pub name: String,
    pub added_ms: Option<i64>,
    pub ransomware: bool,
}

/// What one feed brought.
#[derive(Debug, Default)]
pub struct FeedContents {
    pub advisories: Vec<Advisory>,
    pub exploited: Vec<KnownExploited>,
}

/// Why a feed could not be read. The previous advisories stay; the message is shown.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("{0}")]
    Fetch(String),
    #[error("{what}: {message}")]
    Format { what: String, message: String },
    #[error("{what}: larger than the limit of {limit} bytes")]
    TooLarge { what: String, limit: u64 },
}

impl FeedError {
    pub fn format(what: impl Into<String>, message: impl std::fmt::Display) -> Self {
        FeedError::Format { what: what.into(), message: message.to_string() }
    }
}

/// The release an OS variant belongs to, as advisories name it: "Debian 12.7" → "Debian 12",
/// "Ubuntu 24.04.1" → "Ubuntu 24.04", "Rocky Linux 9.4" → "Rocky Linux 9". A variant with no
/// version gives "".
pub fn release_of_variant(variant: &str) -> String {
    let Some((name, version)) = variant.rsplit_once(' ') else {
        return String::new();
    };
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return String::new();
    }
    let keep = if name == "Ubuntu" { 2 } else { 1 };
    let version: Vec<&str> = version.split('.').take(keep).collect();
    format!("{name} {}", version.join("."))
}

/// The release and comparison kind of an OSV ecosystem: "Debian:12" → ("Debian 12", deb),
/// "Ubuntu:22.04:LTS" → ("Ubuntu 22.04", deb), "Rocky Linux:9" → ("Rocky Linux 9", rpm),
/// "AlmaLinux:9" → ("AlmaLinux 9", rpm). Other ecosystems (PyPI, Ubuntu Pro, …) give None.
pub fn release_of_ecosystem(ecosystem: &str) -> Option<(String, PackageKind)> {
    let mut parts = ecosystem.split(':');
    let name = parts.next()?;
    let version = parts.next()?;
    if !version.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let kind = match name {
        "Debian" | "Ubuntu" => PackageKind::Deb,
        "AlmaLinux" | "Rocky Linux" | "Red Hat" | "openEuler" => PackageKind::Rpm,
        _ => return None,
    };
    let version =
        if name == "Ubuntu" { version.to_owned() } else { version.split('.').next().unwrap_or(version).to_owned() };
    Some((format!("{name} {version}"), kind))
}

/// Debian's release codenames, for the security tracker's per-release entries.
pub fn debian_release_of_codename(codename: &str) -> Option<&'static str> {
    Some(match codename {
        "jessie" => "Debian 8",
        "stretch" => "Debian 9",
        "buster" => "Debian 10",
        "bullseye" => "Debian 11",
        "bookworm" => "Debian 12",
        "trixie" => "Debian 13",
        "forky" => "Debian 14",
        "duke" => "Debian 15",
        _ => return None,
    })
}

/// The severities feeds use, as one scale: Red Hat's words ("Important", "Moderate"),
/// Debian's urgencies ("medium**", "not yet assigned"), Ubuntu's priorities ("negligible").
pub fn normalise_severity(s: &str) -> String {
    let s = s.trim().trim_end_matches('*').trim().to_ascii_lowercase();
    match s.as_str() {
        "critical" => "critical",
        "important" | "high" => "high",
        "moderate" | "medium" => "medium",
        "low" => "low",
        "unimportant" | "negligible" => "unimportant",
        _ => "",
    }
    .to_owned()
}

/// Order of severities, most severe first (for sorting and "worst of").
pub fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 0,
        "high" => 1,
        "medium" => 2,
        "low" => 3,
        "unimportant" => 4,
        _ => 5,
    }
}

/// Whether `s` is a CVE id (CVE-YYYY-NNNN…).
pub fn is_cve(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("CVE-") else { return false };
    let Some((year, num)) = rest.split_once('-') else { return false };
    year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && num.len() >= 4
        && num.len() <= 12
        && num.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        assert_eq!(release_of_variant("Debian 12.7"), "Debian 12");
        assert_eq!(release_of_variant("Ubuntu 24.04.1"), "Ubuntu 24.04");
        assert_eq!(release_of_variant("Rocky Linux 9.4"), "Rocky Linux 9");
        assert_eq!(release_of_variant("Debian"), "");
        assert_eq!(release_of_variant("Debian trixie/sid"), "");
        assert_eq!(release_of_ecosystem("Debian:12"), Some(("Debian 12".into(), PackageKind::Deb)));
        assert_eq!(release_of_ecosystem("Ubuntu:22.04:LTS"), Some(("Ubuntu 22.04".into(), PackageKind::Deb)));
        assert_eq!(release_of_ecosystem("Rocky Linux:9"), Some(("Rocky Linux 9".into(), PackageKind::Rpm)));
        assert_eq!(release_of_ecosystem("AlmaLinux:8"), Some(("AlmaLinux 8".into(), PackageKind::Rpm)));
        assert_eq!(release_of_ecosystem("Ubuntu:Pro:18.04:LTS"), None);
        assert_eq!(release_of_ecosystem("PyPI"), None);
        assert_eq!(release_of_ecosystem("Debian"), None);
        // Each variant's release is what its ecosystem names.
        assert_eq!(release_of_variant("Ubuntu 22.04.4"), release_of_ecosystem("Ubuntu:22.04:LTS").unwrap().0);
    }

    #[test]
    fn severities_and_cves() {
        assert_eq!(normalise_severity("Important"), "high");
        assert_eq!(normalise_severity("medium**"), "medium");
        assert_eq!(normalise_severity("not yet assigned"), "");
        assert!(is_cve("CVE-2024-3094"));
        assert!(is_cve("CVE-2021-44228"));
        assert!(!is_cve("CVE-24-3094"));
        assert!(!is_cve("DSA-5532-1"));
        assert!(!is_cve("CVE-2024-1"));
    }
}
