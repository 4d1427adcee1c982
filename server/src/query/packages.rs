//! Which package names: `PackageFilter` (a substring of the name, the kind, an arch), read
//! from `key=value` pairs like the other filters.

use super::{QueryError, bad};
use crate::report::PackageKind;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageFilter {
    /// A substring of the name (case-sensitive, as package names are).
    pub search: Option<String>,
    /// `deb`, `rpm`, `arch` or `gentoo`.
    pub kind: Option<String>,
    pub arch: Option<String>,
}

impl PackageFilter {
    /// Empty values are "not given"; `page`, `per_page` and `format` belong to the page.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<PackageFilter, QueryError> {
        let mut f = PackageFilter::default();
        for (key, value) in pairs {
            let v = value.trim();
            if v.is_empty() {
                continue;
            }
            match key {
                "search" => f.search = Some(v.to_owned()),
                "kind" if PackageKind::parse(v).is_some() => f.kind = Some(v.to_owned()),
                "kind" => return Err(bad(key, format!("{v:?} is not deb, rpm, arch or gentoo"))),
                "arch" => f.arch = Some(v.to_owned()),
                "page" | "per_page" | "format" => {}
                _ => return Err(bad(key, "is not a filter of packages")),
            }
        }
        Ok(f)
    }

    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        [("search", &self.search), ("kind", &self.kind), ("arch", &self.arch)]
            .into_iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_filter_reads_and_writes_its_pairs() {
        let f = PackageFilter::from_pairs([("search", "ssl"), ("kind", "rpm"), ("page", "2")]).unwrap();
        assert_eq!(f.to_pairs(), [("search", "ssl".to_owned()), ("kind", "rpm".to_owned())]);
        assert_eq!(PackageFilter::from_pairs([("kind", "apk")]).unwrap_err().field, "kind");
        assert_eq!(PackageFilter::from_pairs([("name", "x")]).unwrap_err().field, "name");
    }
}
