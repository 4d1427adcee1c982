//! Which hosts: `HostFilter` (every field optional; all given ones must hold), the order and
//! the page, read from and written back to `key=value` pairs (a URL's query string).

use super::{PageRequest, QueryError, bad, parse_bool, parse_num};

/// What a host's updates amount to, worst first. Every host has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostStatus {
    /// Has not reported for longer than the silence threshold.
    Silent,
    /// Its updates are not known: never computed, not recomputed since it changed, or a
    /// repository it uses was never refreshed. Never counted as up to date.
    Unknown,
    Security,
    /// Bugfix updates only.
    Bugfix,
    UpToDate,
}

impl HostStatus {
    /// What a person reads: "security updates", "up to date".
    pub fn label(self) -> &'static str {
        match self {
            Self::Silent => "silent",
            Self::Unknown => "unknown",
            Self::Security => "security updates",
            Self::Bugfix => "bugfix updates only",
            Self::UpToDate => "up to date",
        }
    }

    pub const ALL: [HostStatus; 5] = [Self::Silent, Self::Unknown, Self::Security, Self::Bugfix, Self::UpToDate];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Silent => "silent",
            Self::Unknown => "unknown",
            Self::Security => "security",
            Self::Bugfix => "bugfix",
            Self::UpToDate => "up_to_date",
        }
    }

    pub fn parse(v: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == v)
    }
}

/// Which hosts. Text fields match exactly (host names are lower case); `search` is a
/// substring of the host name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostFilter {
    pub os_group: Option<String>,
    pub os_variant: Option<String>,
    pub arch: Option<String>,
    pub domain: Option<String>,
    pub tag: Option<String>,
    pub has_security: Option<bool>,
    pub has_bugfix: Option<bool>,
    pub reboot_required: Option<bool>,
    pub status: Option<HostStatus>,
    /// Last report before this time (ms since 1970; `YYYY-MM-DD` in a query string).
    pub reported_before: Option<i64>,
    /// Has a package of this name installed…
    pub package_name: Option<String>,
    /// …at this version: `[epoch:]version[-release]`; a release given matches itself and any
    /// release that continues it after a dot (`3.0.7-27` matches `3.0.7-27.el9`).
    pub package_evr: Option<String>,
    /// Uses this repository (its id).
    pub repo: Option<i64>,
    /// Uses at least one repository (`false`: none at all).
    pub has_repos: Option<bool>,
    /// Has installed packages that no repository of it offers.
    pub has_unknown_packages: Option<bool>,
    /// Its own package manager offers other updates than the server finds (Patchman's
    /// clients say which).
    pub view_disagrees: Option<bool>,
    /// Reported without credentials, from a network an administrator listed.
    pub unauthenticated: Option<bool>,
    /// Has a package installed in two versions where only one can be.
    pub duplicate_packages: Option<bool>,
    pub search: Option<String>,
}

/// Columns a host list can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Hostname,
    LastSeen,
    Security,
    Bugfix,
    OsVariant,
    Packages,
}

impl SortKey {
    const ALL: [SortKey; 6] =
        [Self::Hostname, Self::LastSeen, Self::Security, Self::Bugfix, Self::OsVariant, Self::Packages];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hostname => "hostname",
            Self::LastSeen => "last_seen",
            Self::Security => "security",
            Self::Bugfix => "bugfix",
            Self::OsVariant => "os_variant",
            Self::Packages => "packages",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostSort {
    pub key: SortKey,
    pub descending: bool,
}

impl HostFilter {
    /// Reads a filter, its order and page from `key=value` pairs. Empty values mean "not
    /// given" (an empty form field); an unknown key or a bad value is an error naming it.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(HostFilter, HostSort, PageRequest), QueryError> {
        let mut f = HostFilter::default();
        let mut sort = HostSort::default();
        let mut page = PageRequest::default();
        for (key, value) in pairs {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            let text = || Some(v.to_owned());
            match key {
                "os_group" => f.os_group = text(),
                "os_variant" => f.os_variant = text(),
                "arch" => f.arch = text(),
                "domain" => f.domain = text(),
                "tag" => f.tag = text(),
                "has_security" => f.has_security = Some(parse_bool(key, v)?),
                "has_bugfix" => f.has_bugfix = Some(parse_bool(key, v)?),
                "reboot_required" => f.reboot_required = Some(parse_bool(key, v)?),
                "status" => {
                    let names: Vec<&str> = HostStatus::ALL.iter().map(|s| s.as_str()).collect();
                    f.status = Some(
                        HostStatus::parse(v)
                            .ok_or_else(|| bad(key, format!("{v:?} is not a status ({})", names.join(", "))))?,
                    );
                }
                "reported_before" => f.reported_before = Some(date_ms(key, v)?),
                "package_name" => f.package_name = text(),
                "package_evr" => f.package_evr = text(),
                "repo" => f.repo = Some(parse_num(key, v)?),
                "has_repos" => f.has_repos = Some(parse_bool(key, v)?),
                "has_unknown_packages" => f.has_unknown_packages = Some(parse_bool(key, v)?),
                "view_disagrees" => f.view_disagrees = Some(parse_bool(key, v)?),
                "unauthenticated" => f.unauthenticated = Some(parse_bool(key, v)?),
                "duplicate_packages" => f.duplicate_packages = Some(parse_bool(key, v)?),
                "search" | "q" => f.search = Some(v.to_ascii_lowercase()),
                "sort" => {
                    let (name, desc) = match v.strip_prefix('-') {
                        Some(name) => (name, true),
                        None => (v, false),
                    };
                    let key_names: Vec<&str> = SortKey::ALL.iter().map(|k| k.as_str()).collect();
                    sort.key = SortKey::ALL
                        .into_iter()
                        .find(|k| k.as_str() == name)
                        .ok_or_else(|| bad(key, format!("{name:?} is not a column ({})", key_names.join(", "))))?;
                    sort.descending = desc;
                }
                "page" => page.page = parse_num::<u32>(key, v)?.max(1),
                "per_page" => {
                    let n: u32 = parse_num(key, v)?;
                    if n == 0 || n > PageRequest::MAX_PER_PAGE {
                        return Err(bad(key, format!("must be from 1 to {}", PageRequest::MAX_PER_PAGE)));
                    }
                    page.per_page = n;
                }
                "format" => {}
                other => return Err(bad(other, "is not a filter of hosts")),
            }
        }
        if f.package_evr.is_some() && f.package_name.is_none() {
            return Err(bad("package_evr", "needs package_name"));
        }
        Ok((f, sort, page))
    }

    /// The filter as `key=value` pairs, the inverse of `from_pairs` (for links and the next page).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut text = |k: &'static str, v: &Option<String>| {
            if let Some(v) = v {
                out.push((k, v.clone()));
            }
        };
        text("os_group", &self.os_group);
        text("os_variant", &self.os_variant);
        text("arch", &self.arch);
        text("domain", &self.domain);
        text("tag", &self.tag);
        text("package_name", &self.package_name);
        text("package_evr", &self.package_evr);
        text("search", &self.search);
        let flags = [
            ("has_security", self.has_security),
            ("has_bugfix", self.has_bugfix),
            ("reboot_required", self.reboot_required),
            ("has_repos", self.has_repos),
            ("has_unknown_packages", self.has_unknown_packages),
            ("view_disagrees", self.view_disagrees),
            ("unauthenticated", self.unauthenticated),
            ("duplicate_packages", self.duplicate_packages),
        ];
        out.extend(flags.into_iter().filter_map(|(k, v)| v.map(|v| (k, v.to_string()))));
        if let Some(s) = self.status {
            out.push(("status", s.as_str().to_owned()));
        }
        if let Some(ms) = self.reported_before {
            let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
            out.push(("reported_before", humantime::format_rfc3339_seconds(t).to_string()[..10].to_owned()));
        }
        if let Some(r) = self.repo {
            out.push(("repo", r.to_string()));
        }
        out
    }

    /// `[epoch:]version[-release]` split: (epoch if given, version, release if given).
    pub fn evr_parts(evr: &str) -> (Option<i64>, &str, Option<&str>) {
        let (epoch, rest) = match evr.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => (e.parse().ok(), rest),
            _ => (None, evr),
        };
        match rest.rsplit_once('-') {
            Some((version, release)) => (epoch, version, Some(release)),
            None => (epoch, rest, None),
        }
    }
}

/// `YYYY-MM-DD` (midnight UTC) or milliseconds since 1970.
fn date_ms(field: &str, v: &str) -> Result<i64, QueryError> {
    if v.bytes().all(|b| b.is_ascii_digit()) {
        return parse_num(field, v);
    }
    let t = humantime::parse_rfc3339(&format!("{v}T00:00:00Z"))
        .map_err(|_| bad(field, format!("{v:?} is not a date (YYYY-MM-DD)")))?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).map_err(|_| bad(field, "is before 1970"))?.as_millis();
    i64::try_from(ms).map_err(|_| bad(field, "is too far away"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<(HostFilter, HostSort, PageRequest), QueryError> {
        let pairs: Vec<(&str, &str)> = q.split('&').filter_map(|kv| kv.split_once('=')).collect();
        HostFilter::from_pairs(pairs)
    }

    #[test]
    fn a_query_string_round_trips() {
        let (f, sort, page) = parse(
            "tag=web&status=security&has_bugfix=false&package_name=openssl&package_evr=3.0.7-27\
             &reported_before=2026-11-01&repo=7&search=Web&sort=-last_seen&page=3&per_page=50&os_group=",
        )
        .unwrap();
        assert_eq!(f.tag.as_deref(), Some("web"));
        assert_eq!(f.status, Some(HostStatus::Security));
        assert_eq!(f.has_bugfix, Some(false));
        assert_eq!(f.reported_before, Some(1_793_491_200_000));
        assert_eq!((f.repo, f.search.as_deref(), f.os_group.as_deref()), (Some(7), Some("web"), None));
        assert_eq!(sort, HostSort { key: SortKey::LastSeen, descending: true });
        assert_eq!((page.page, page.per_page, page.offset()), (3, 50, 100));
        let again: Vec<(String, String)> = f.to_pairs().into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let (g, _, _) = HostFilter::from_pairs(again.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
        assert_eq!(g, f);
    }

    #[test]
    fn bad_values_name_their_field() {
        for (q, field) in [
            ("status=fine", "status"),
            ("has_security=maybe", "has_security"),
            ("colour=red", "colour"),
            ("per_page=100000", "per_page"),
            ("sort=size", "sort"),
            ("reported_before=yesterday", "reported_before"),
            ("package_evr=1.0", "package_evr"),
        ] {
            assert_eq!(parse(q).unwrap_err().field, field, "{q}");
        }
    }

    #[test]
    fn versions_split_as_package_managers_print_them() {
        assert_eq!(HostFilter::evr_parts("1:2.3-4"), (Some(1), "2.3", Some("4")));
        assert_eq!(HostFilter::evr_parts("3.0.7-27"), (None, "3.0.7", Some("27")));
        assert_eq!(HostFilter::evr_parts("2.36"), (None, "2.36", None));
        assert_eq!(HostFilter::evr_parts("1.2-3-4"), (None, "1.2-3", Some("4")));
    }
}
