//! Which advisories to list: the filter the advisories page, `patchman advisory list` and
//! `ListAdvisories` share, parsed from `key=value` pairs.

use super::{QueryError, bad, parse_bool};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvisoryFilter {
    /// Only those this host is exposed to.
    pub host: Option<String>,
    /// Only those naming this CVE.
    pub cve: Option<String>,
    /// "critical", "high", "medium", "low", "unimportant" or "unrated".
    pub severity: Option<String>,
    /// Only those with a CVE in the known-exploited catalogue.
    pub exploited: bool,
    /// Only those some host is exposed to now.
    pub exposed: bool,
    /// A source package or package name an advisory names.
    pub package: Option<String>,
    /// Only from this feed.
    pub feed: Option<String>,
}

impl AdvisoryFilter {
    /// The filter as query pairs (for links), in a fixed order.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (k, v) in [
            ("host", &self.host),
            ("cve", &self.cve),
            ("severity", &self.severity),
            ("package", &self.package),
            ("feed", &self.feed),
        ] {
            if let Some(v) = v {
                out.push((k, v.clone()));
            }
        }
        if self.exploited {
            out.push(("exploited", "true".to_owned()));
        }
        if self.exposed {
            out.push(("exposed", "true".to_owned()));
        }
        out
    }

    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, QueryError> {
        let mut f = AdvisoryFilter::default();
        for (k, v) in pairs {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            match k {
                "host" => f.host = Some(v.to_owned()),
                "cve" => {
                    if !crate::advisories::is_cve(v) {
                        return Err(bad("cve", format!("{v:?} is not a CVE id (CVE-YYYY-NNNN)")));
                    }
                    f.cve = Some(v.to_owned());
                }
                "severity" => {
                    if !matches!(v, "critical" | "high" | "medium" | "low" | "unimportant" | "unrated") {
                        return Err(bad(
                            "severity",
                            format!("{v:?} is not critical, high, medium, low, unimportant or unrated"),
                        ));
                    }
                    f.severity = Some(v.to_owned());
                }
                "exploited" => f.exploited = parse_bool("exploited", v)?,
                "exposed" => f.exposed = parse_bool("exposed", v)?,
                "package" => f.package = Some(v.to_owned()),
                "feed" => f.feed = Some(v.to_owned()),
                "page" | "per_page" | "format" => {}
                other => return Err(bad(other, "is not a filter of advisories")),
            }
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_names_the_bad_field() {
        let f = AdvisoryFilter::parse([("cve", "CVE-2024-3094"), ("exploited", "true"), ("severity", "high")]).unwrap();
        assert_eq!(f.cve.as_deref(), Some("CVE-2024-3094"));
        assert!(f.exploited);
        let err = AdvisoryFilter::parse([("cve", "openssl")]).unwrap_err().to_string();
        assert!(err.contains("cve"), "{err}");
        assert!(AdvisoryFilter::parse([("colour", "red")]).unwrap_err().to_string().contains("colour"));
    }
}
