//! The Release/InRelease files apt keeps in /var/lib/apt/lists: where to find the one for a
//! repository, and the few fields of it that decide pins and default priorities.

use std::path::Path;

use crate::collect::{CollectResult, read_optional, under};

/// Where apt keeps downloaded indices (`Dir::State::lists`).
pub const LISTS_DIR: &str = "/var/lib/apt/lists";

/// The head of a Release file, as far as priorities need it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseInfo {
    pub origin: String,
    pub label: String,
    /// The archive name ("stable", "oldstable-security").
    pub suite: String,
    pub codename: String,
    pub version: String,
    pub architectures: Vec<String>,
    pub not_automatic: bool,
    pub but_automatic_upgrades: bool,
    /// `No-Support-for-Architecture-all: Packages`: arch:all packages are in the
    /// per-architecture indices and apt does not fetch `binary-all`.
    pub no_arch_all_index: bool,
}

impl ReleaseInfo {
    /// The priority apt gives the repository before any pin: 500, 1 for `NotAutomatic`, 100
    /// when `ButAutomaticUpgrades` comes with it.
    pub fn default_priority(&self) -> i32 {
        match (self.not_automatic, self.but_automatic_upgrades) {
            (true, true) => 100,
            (true, false) => 1,
            _ => 500,
        }
    }
}

/// Reads the InRelease (else Release) file apt downloaded for `uri` and `suite`, if any.
pub fn read_release(root: &Path, uri: &str, suite: &str) -> CollectResult<Option<ReleaseInfo>> {
    let prefix = list_file_prefix(uri, suite);
    let lists = under(root, LISTS_DIR);
    for name in ["InRelease", "Release"] {
        if let Some(text) = read_optional(&lists.join(format!("{prefix}{name}")))? {
            return Ok(Some(parse_release(&text)));
        }
    }
    Ok(None)
}

/// The start of the file names apt gives a repository's indices (apt's `URItoFileName` of
/// the meta-index URI without its last part): scheme and credentials dropped, unsafe
/// characters %-quoted, '/' turned into '_'. `http://deb.debian.org/debian` + `bookworm` →
/// `deb.debian.org_debian_dists_bookworm_`; a flat repository's `./` stays as `._`.
pub fn list_file_prefix(uri: &str, suite: &str) -> String {
    let base = if uri.ends_with('/') { uri.to_owned() } else { format!("{uri}/") };
    let full = if suite.ends_with('/') { format!("{base}{suite}") } else { format!("{base}dists/{suite}/") };
    let mut out = String::with_capacity(full.len());
    for c in strip_scheme_and_credentials(&full).chars() {
        match c {
            '/' => out.push('_'),
            c if c.is_ascii() && (c <= ' ' || "\\|{}[]<>\"^~_=!@#$%^&*".contains(c)) || c == '\x7f' => {
                out.push_str(&format!("%{:02x}", c as u32));
            }
            c if !c.is_ascii() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02x}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `http://user:pw@host/path` → `host/path`; `file:/srv/repo` → `/srv/repo`.
pub fn strip_scheme_and_credentials(uri: &str) -> &str {
    let rest = match uri.split_once(':') {
        Some((scheme, rest)) if !scheme.is_empty() && !scheme.contains('/') => rest,
        _ => uri,
    };
    match rest.strip_prefix("//") {
        Some(authority_and_path) => {
            let host_end = authority_and_path.find('/').unwrap_or(authority_and_path.len());
            match authority_and_path[..host_end].rfind('@') {
                Some(at) => &authority_and_path[at + 1..],
                None => authority_and_path,
            }
        }
        None => rest,
    }
}

/// Parses the first paragraph of a Release or clearsigned InRelease file. Only the head
/// fields are looked at; the long checksum lists are skipped without allocating.
pub fn parse_release(text: &str) -> ReleaseInfo {
    let mut info = ReleaseInfo::default();
    let mut lines = text.lines();
    if text.starts_with("-----BEGIN PGP SIGNED MESSAGE-----") {
        // Armor headers ("Hash: SHA512") end at the first blank line.
        for line in lines.by_ref() {
            if line.trim().is_empty() {
                break;
            }
        }
    }
    for line in lines {
        if line.trim().is_empty() || line.starts_with("-----BEGIN PGP SIGNATURE") {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        let yes = value.eq_ignore_ascii_case("yes");
        match name.trim().to_ascii_lowercase().as_str() {
            "origin" => info.origin = value.to_owned(),
            "label" => info.label = value.to_owned(),
            "suite" => info.suite = value.to_owned(),
            "codename" => info.codename = value.to_owned(),
            "version" => info.version = value.to_owned(),
            "architectures" => info.architectures = value.split_whitespace().map(str::to_owned).collect(),
            "notautomatic" => info.not_automatic = yes,
            "butautomaticupgrades" => info.but_automatic_upgrades = yes,
            "no-support-for-architecture-all" => info.no_arch_all_index = value.eq_ignore_ascii_case("packages"),
            _ => {}
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_prefix(uri: &str, suite: &str, want: &str) {
        assert_eq!(list_file_prefix(uri, suite), want, "list_file_prefix({uri:?}, {suite:?})");
    }

    #[test]
    fn list_file_names_follow_apt() {
        // The last three are names found in this machine's /var/lib/apt/lists.
        check_prefix("http://deb.debian.org/debian", "bookworm", "deb.debian.org_debian_dists_bookworm_");
        check_prefix(
            "http://deb.debian.org/debian-security/",
            "bookworm-security",
            "deb.debian.org_debian-security_dists_bookworm-security_",
        );
        check_prefix(
            "https://deb.nodesource.com/node_20.x",
            "nodistro",
            "deb.nodesource.com_node%5f20.x_dists_nodistro_",
        );
        check_prefix("https://user:secret@example.com:8443/repo/", "./", "example.com:8443_repo_._");
        check_prefix("file:/srv/local repo", "stable", "_srv_local%20repo_dists_stable_");
        check_prefix("http://h/ü", "s", "h_%c3%bc_dists_s_");
    }

    #[test]
    fn credentials_and_schemes_are_stripped() {
        assert_eq!(strip_scheme_and_credentials("http://u:p@host/p@x"), "host/p@x");
        assert_eq!(strip_scheme_and_credentials("tor+https://host/"), "host/");
        assert_eq!(strip_scheme_and_credentials("file:///srv/r"), "/srv/r");
        assert_eq!(strip_scheme_and_credentials("/no/scheme"), "/no/scheme");
    }

    #[test]
    fn release_heads_are_parsed_from_clearsigned_files() {
        let text = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nLabel: Debian-Security\nSuite: oldstable-security\nVersion: 12\nCodename: bookworm-security\nArchitectures: amd64 arm64 all\nNotAutomatic: yes\nButAutomaticUpgrades: yes\nNo-Support-for-Architecture-all: Packages\nMD5Sum:\n 0123 45 main/Release\n-----BEGIN PGP SIGNATURE-----\n";
        let info = parse_release(text);
        assert_eq!((info.origin.as_str(), info.label.as_str()), ("Debian", "Debian-Security"));
        assert_eq!(
            (info.suite.as_str(), info.codename.as_str(), info.version.as_str()),
            ("oldstable-security", "bookworm-security", "12")
        );
        assert_eq!(info.architectures, ["amd64", "arm64", "all"]);
        assert!(info.not_automatic && info.but_automatic_upgrades && info.no_arch_all_index);
        assert_eq!(info.default_priority(), 100);
        assert_eq!(parse_release("Suite: experimental\nNotAutomatic: yes\n").default_priority(), 1);
        assert_eq!(parse_release("").default_priority(), 500);
    }
}
