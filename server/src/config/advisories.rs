//! `[advisories]`: the security feeds the refresh reads, and how often.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdvisoriesConfig {
    /// How often `patchman serve` reads every feed (0: never; `patchman advisory refresh`
    /// still does).
    pub refresh_interval_seconds: u64,
    /// Largest feed read (a zip archive counts unpacked).
    pub max_feed_megabytes: u64,
    /// The feeds. None by default: a site lists the ones for the releases it runs, by URL or
    /// as a local copy for sites without internet access.
    #[serde(rename = "feed")]
    pub feeds: Vec<FeedConfig>,
}

impl Default for AdvisoriesConfig {
    fn default() -> Self {
        Self { refresh_interval_seconds: 6 * 3_600, max_feed_megabytes: 2_048, feeds: Vec::new() }
    }
}

/// `[[advisories.feed]]`: one feed, read from `url` or from `path`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedConfig {
    /// Unique; shown on the advisories pages and kept with every advisory it brought.
    pub name: String,
    /// "osv" (one record, a JSON array of records, a zip archive, or a directory of `.json`
    /// records), "debian-tracker" (the security tracker's JSON) or "kev" (CISA's catalogue).
    pub kind: String,
    pub url: Option<String>,
    /// A local file or directory instead of a URL.
    pub path: Option<PathBuf>,
    pub enabled: bool,
}

impl Default for FeedConfig {
    fn default() -> Self {
        Self { name: String::new(), kind: String::new(), url: None, path: None, enabled: true }
    }
}

impl AdvisoriesConfig {
    /// Every problem with the feeds, each naming the feed.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, f) in self.feeds.iter().enumerate() {
            let at = format!("advisories.feed[{i}]");
            if f.name.trim().is_empty() {
                out.push(format!("{at}.name: is empty"));
            } else if !names.insert(f.name.as_str()) {
                out.push(format!("{at}.name: {:?} is used twice", f.name));
            }
            if !matches!(f.kind.as_str(), "osv" | "debian-tracker" | "kev") {
                out.push(format!("{at}.kind: {:?} is not one of osv, debian-tracker, kev", f.kind));
            }
            match (&f.url, &f.path) {
                (Some(_), Some(_)) => out.push(format!("{at}: give url or path, not both")),
                (None, None) => out.push(format!("{at}: needs url or path")),
                (Some(u), None) if !(u.starts_with("http://") || u.starts_with("https://")) => {
                    out.push(format!("{at}.url: {u:?} is not an http(s) URL"))
                }
                _ => {}
            }
        }
        out
    }
}
