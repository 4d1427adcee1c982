//! Which repositories: `RepoFilter` (every field optional; all given ones must hold), read
//! from and written back to `key=value` pairs, like `HostFilter`.

use super::{QueryError, bad, parse_bool};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoFilter {
    /// `deb` or `rpm`.
    pub kind: Option<String>,
    pub security: Option<bool>,
    pub enabled: Option<bool>,
    /// Has a mirror that failed its last attempt or was disabled after failing.
    pub failing: Option<bool>,
    /// Enabled and not refreshed within the silence threshold (or never).
    pub stale: Option<bool>,
    /// A mirror's Release is past its `Valid-Until`.
    pub past_valid_until: Option<bool>,
    pub unverified: Option<bool>,
    /// No host uses it and no OS group holds it.
    pub unused: Option<bool>,
    /// Used by this host (its name).
    pub host: Option<String>,
    /// A substring of its name or of a mirror's URL.
    pub search: Option<String>,
}

impl RepoFilter {
    const KINDS: [&'static str; 2] = ["deb", "rpm"];

    /// Reads a filter from `key=value` pairs; empty values are "not given", `format` and
    /// `page` belong to the page. An unknown key or a bad value is an error naming it.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<RepoFilter, QueryError> {
        let mut f = RepoFilter::default();
        for (key, value) in pairs {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            let flag = || parse_bool(key, v).map(Some);
            match key {
                "kind" if Self::KINDS.contains(&v) => f.kind = Some(v.to_owned()),
                "kind" => return Err(bad(key, format!("{v:?} is not deb or rpm"))),
                "security" => f.security = flag()?,
                "enabled" => f.enabled = flag()?,
                "failing" => f.failing = flag()?,
                "stale" => f.stale = flag()?,
                "past_valid_until" => f.past_valid_until = flag()?,
                "unverified" => f.unverified = flag()?,
                "unused" => f.unused = flag()?,
                "host" => f.host = Some(v.to_ascii_lowercase()),
                "search" => f.search = Some(v.to_ascii_lowercase()),
                "format" => {}
                _ => return Err(bad(key, "is not a repository filter")),
            }
        }
        Ok(f)
    }

    /// The filter as `key=value` pairs, in a fixed order (for links).
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(k) = &self.kind {
            out.push(("kind", k.clone()));
        }
        for (key, v) in [
            ("security", self.security),
            ("enabled", self.enabled),
            ("failing", self.failing),
            ("stale", self.stale),
            ("past_valid_until", self.past_valid_until),
            ("unverified", self.unverified),
            ("unused", self.unused),
        ] {
            if let Some(v) = v {
                out.push((key, v.to_string()));
            }
        }
        for (key, v) in [("host", &self.host), ("search", &self.search)] {
            if let Some(v) = v {
                out.push((key, v.clone()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_filter_reads_and_writes_its_pairs() {
        let f =
            RepoFilter::from_pairs([("kind", "deb"), ("failing", "yes"), ("search", "Security"), ("format", "csv")])
                .unwrap();
        assert_eq!((f.kind.as_deref(), f.failing, f.search.as_deref()), (Some("deb"), Some(true), Some("security")));
        assert_eq!(
            f.to_pairs(),
            [("kind", "deb".to_owned()), ("failing", "true".to_owned()), ("search", "security".to_owned())]
        );
        assert_eq!(RepoFilter::from_pairs(f.to_pairs().iter().map(|(k, v)| (*k, v.as_str()))).unwrap(), f);
        let err = RepoFilter::from_pairs([("kind", "arch")]).unwrap_err();
        assert_eq!(err.to_string(), "kind: \"arch\" is not deb or rpm");
        assert_eq!(RepoFilter::from_pairs([("colour", "red")]).unwrap_err().field, "colour");
        assert_eq!(RepoFilter::from_pairs([("stale", "")]).unwrap(), RepoFilter::default());
    }
}
