//! apt pinning as it applies to whole repositories: the `Package: *` stanzas of
//! /etc/apt/preferences and /etc/apt/preferences.d, matched against a repository's facts.

use std::path::Path;

use crate::collect::apt_release::ReleaseInfo;
use crate::collect::deb822::paragraphs;
use crate::collect::{CollectResult, file_name, files_in, read_optional, under};

/// The generic (`Package: *`) pins of a host, in the order apt reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preferences {
    pins: Vec<Pin>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pin {
    priority: i32,
    matcher: Matcher,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    /// `Pin: release a=…, n=…, c=…` — every condition must hold.
    Release(Vec<(String, String)>),
    /// `Pin: origin "host"` — the repository's host name.
    Origin(String),
}

/// What a pin can be matched against for one repository (one component, one architecture).
#[derive(Debug, Clone, Copy)]
pub struct RepoFacts<'a> {
    /// Host of the URI ("" for `file:` repositories).
    pub host: &'a str,
    /// The suite as written in the sources entry.
    pub suite: &'a str,
    pub component: &'a str,
    pub architecture: &'a str,
    pub release: Option<&'a ReleaseInfo>,
}

impl Preferences {
    /// Reads /etc/apt/preferences, then the files of /etc/apt/preferences.d whose names
    /// have no extension or end in `.pref` (as apt does), in name order.
    pub fn load(root: &Path) -> CollectResult<Self> {
        let mut text = read_optional(&under(root, "/etc/apt/preferences"))?.unwrap_or_default();
        for path in files_in(&under(root, "/etc/apt/preferences.d"))? {
            let name = file_name(&path);
            let valid = name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if valid
                && (!name.contains('.') || name.ends_with(".pref"))
                && let Some(more) = read_optional(&path)?
            {
                text.push_str("\n\n");
                text.push_str(&more);
            }
        }
        Ok(Self::parse(&text))
    }

    /// Keeps the stanzas that pin every package (`Package: *`) by release or origin. Like
    /// apt, a stanza without a priority, or with priority 0, is ignored.
    pub fn parse(text: &str) -> Self {
        let pins = paragraphs(text)
            .into_iter()
            .filter(|p| p.get("Package").map(str::trim) == Some("*"))
            .filter_map(|p| {
                let priority = p.get("Pin-Priority")?.trim().parse().ok().filter(|&p: &i32| p != 0)?;
                let (kind, value) = p.get("Pin")?.trim().split_once(char::is_whitespace)?;
                let matcher = match kind {
                    "release" => Matcher::Release(release_conditions(value.trim())),
                    "origin" => Matcher::Origin(value.trim().trim_matches('"').to_owned()),
                    _ => return None,
                };
                Some(Pin { priority, matcher })
            })
            .collect();
        Self { pins }
    }

    /// The repository's priority: the first matching pin's, as apt does; `default` when
    /// none matches.
    pub fn priority(&self, facts: &RepoFacts<'_>, default: i32) -> i32 {
        self.pins.iter().find(|pin| pin.matcher.matches(facts)).map_or(default, |pin| pin.priority)
    }
}

/// `a=stable, n=bookworm, c=main` → [("a", "stable"), …]; a bare value is a version (`v=`).
fn release_conditions(value: &str) -> Vec<(String, String)> {
    value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| match c.split_once('=') {
            Some((k, v)) => (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()),
            None => ("v".to_owned(), c.to_owned()),
        })
        .collect()
}

impl Matcher {
    fn matches(&self, f: &RepoFacts<'_>) -> bool {
        match self {
            Matcher::Origin(host) => host.eq_ignore_ascii_case(f.host),
            Matcher::Release(conditions) => conditions.iter().all(|(key, want)| {
                let rel = |field: fn(&ReleaseInfo) -> &str| f.release.is_some_and(|r| glob(want, field(r)));
                match key.as_str() {
                    // Archive and codename: the Release file's, or the suite as written.
                    "a" => glob(want, f.suite) || rel(|r| &r.suite),
                    "n" => glob(want, f.suite) || rel(|r| &r.codename),
                    "c" => glob(want, f.component),
                    "b" => glob(want, f.architecture),
                    "o" => rel(|r| &r.origin),
                    "l" => rel(|r| &r.label),
                    "v" => rel(|r| &r.version),
                    _ => false,
                }
            }),
        }
    }
}

/// apt's pattern match: `*` and `?` wildcards; `/regex/` patterns are not supported and
/// match nothing.
fn glob(pattern: &str, text: &str) -> bool {
    if pattern.len() > 1 && pattern.starts_with('/') && pattern.ends_with('/') {
        return false;
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        for (p, t, want) in [
            ("bookworm*", "bookworm-security", true),
            ("*", "", true),
            ("a?c", "abc", true),
            ("a?c", "ac", false),
            ("stable", "oldstable", false),
            ("/stab.*/", "stable", false),
            ("*-backports", "bookworm-backports", true),
        ] {
            assert_eq!(glob(p, t), want, "glob({p:?}, {t:?})");
        }
    }

    const PREFS: &str = "\
Package: nodejs
Pin: origin deb.nodesource.com
Pin-Priority: 600

Explanation: backports only on request
Package: *
Pin: release a=bookworm-backports
Pin-Priority: 100

Package: *
Pin: release o=Debian, l=Debian-Security, c=main
Pin-Priority: 990

Package: *
Pin: origin \"packages.example.com\"
Pin-Priority: 700

Package: *
Pin: release n=bookworm*
Pin-Priority: 400

Package: *
Pin: release o=Debian
Pin-Priority: 0

Package: *
Pin: version 1.*
Pin-Priority: 1001
";

    fn release(origin: &str, label: &str, suite: &str, codename: &str) -> ReleaseInfo {
        ReleaseInfo {
            origin: origin.into(),
            label: label.into(),
            suite: suite.into(),
            codename: codename.into(),
            ..Default::default()
        }
    }

    #[track_caller]
    fn check(host: &str, suite: &str, component: &str, rel: Option<&ReleaseInfo>, want: i32) {
        let prefs = Preferences::parse(PREFS);
        let facts = RepoFacts { host, suite, component, architecture: "amd64", release: rel };
        assert_eq!(prefs.priority(&facts, 500), want, "{host} {suite}/{component}");
    }

    #[test]
    fn the_first_matching_generic_pin_wins() {
        let security = release("Debian", "Debian-Security", "oldstable-security", "bookworm-security");
        let main = release("Debian", "Debian", "oldstable", "bookworm");
        let other = release("Example", "Example", "stable", "stable");
        // Not kept: the nodejs stanza, the version pin and the priority-0 pin.
        assert_eq!(Preferences::parse(PREFS).pins.len(), 4);
        check("deb.debian.org", "bookworm-backports", "main", None, 100);
        check("deb.debian.org", "bookworm-security", "main", Some(&security), 990);
        check("deb.debian.org", "bookworm", "main", Some(&main), 400);
        check("deb.debian.org", "bookworm-security", "contrib", Some(&security), 400);
        check("packages.example.com", "stable", "main", Some(&other), 700);
        check("PACKAGES.example.com", "stable", "main", None, 700);
        check("deb.nodesource.com", "nodistro", "main", None, 500);
        check("elsewhere.org", "bookworm-updates", "main", None, 400);
    }
}
