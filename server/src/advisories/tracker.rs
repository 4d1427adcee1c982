//! The Debian security tracker's JSON (`/tracker/data/json`): per source package, per CVE,
//! per release: status, fixed version, urgency. It also says "not affected" (resolved in
//! version 0) and "no fix yet" (open). Each CVE becomes one advisory named after it, with an
//! affected entry per (release, source package). Read source package by source package, so
//! the whole document is never held as a tree.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};

use super::{
    Advisory, Affected, CveRef, FeedError, Fix, debian_release_of_codename, is_cve, normalise_severity, severity_rank,
};
use crate::report::PackageKind;

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    releases: Releases,
}

/// An object of releases, or (for an entry with none) an empty list.
#[derive(Deserialize)]
#[serde(untagged)]
enum Releases {
    Map(HashMap<String, Release>),
    #[expect(dead_code, reason = "only its shape is checked")]
    Empty(Vec<serde::de::IgnoredAny>),
}

impl Default for Releases {
    fn default() -> Self {
        Releases::Map(HashMap::new())
    }
}

#[derive(Deserialize)]
struct Release {
    #[serde(default)]
    status: String,
    #[serde(default)]
    fixed_version: Option<String>,
    #[serde(default)]
    urgency: Option<String>,
}

struct Folder(BTreeMap<String, Advisory>);

impl<'de> Visitor<'de> for &mut Folder {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of source packages")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(source) = map.next_key::<String>()? {
            let cves: HashMap<String, Entry> = map.next_value()?;
            for (cve, entry) in cves {
                if is_cve(&cve) {
                    self.add(&source, cve, entry);
                }
            }
        }
        Ok(())
    }
}

impl Folder {
    fn add(&mut self, source: &str, cve: String, entry: Entry) {
        let advisory = self.0.entry(cve.clone()).or_insert_with(|| Advisory {
            name: cve.clone(),
            kind: "security".to_owned(),
            severity: String::new(),
            summary: String::new(),
            issued_ms: None,
            updated_ms: None,
            withdrawn_ms: None,
            cves: vec![CveRef { id: cve.clone(), severity: String::new() }],
            references: vec![format!("https://security-tracker.debian.org/tracker/{cve}")],
            affected: Vec::new(),
        });
        if advisory.summary.is_empty() {
            advisory.summary = entry.description.unwrap_or_default().chars().take(300).collect();
        }
        let Releases::Map(releases) = entry.releases else { return };
        for (codename, rel) in releases {
            let Some(release) = debian_release_of_codename(&codename) else { continue };
            let urgency = rel.urgency.as_deref().unwrap_or("");
            let severity = normalise_severity(urgency);
            if !severity.is_empty()
                && (advisory.severity.is_empty() || severity_rank(&severity) < severity_rank(&advisory.severity))
            {
                advisory.severity = severity.clone();
                advisory.cves[0].severity = severity;
            }
            let fix = match (rel.status.as_str(), rel.fixed_version.as_deref()) {
                ("resolved", Some("0")) => Fix::NotAffected,
                ("resolved", Some(v)) if !v.is_empty() => Fix::Version(v.to_owned()),
                ("resolved", _) => Fix::NotAffected,
                // "open", "undetermined": affected, and no version fixes it in this release.
                _ if urgency == "unimportant" => Fix::NoFixYet,
                _ => Fix::NoFixYet,
            };
            advisory.affected.push(Affected {
                release: release.to_owned(),
                kind: PackageKind::Deb,
                package: source.to_owned(),
                fix,
            });
        }
    }
}

/// Every CVE of the document, as advisories sorted by name.
pub fn parse(bytes: &[u8], what: &str) -> Result<Vec<Advisory>, FeedError> {
    let mut folder = Folder(BTreeMap::new());
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde::Deserializer::deserialize_map(&mut de, &mut folder).map_err(|e| FeedError::format(what, e))?;
    de.end().map_err(|e| FeedError::format(what, e))?;
    Ok(folder
        .0
        .into_values()
        .map(|mut a| {
            a.affected.sort();
            a
        })
        .filter(|a| !a.affected.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        let json = br#"{"openssl":{"CVE-2024-0001":{"description":"bad","releases":{
            "bookworm":{"status":"resolved","fixed_version":"3.0.13-1~deb12u1","urgency":"medium"},
            "bullseye":{"status":"open","urgency":"low"},
            "trixie":{"status":"resolved","fixed_version":"0","urgency":"not yet assigned"},
            "sid":{"status":"resolved","fixed_version":"3.1.5-1"}}},
            "TEMP-0000000-1":{"releases":{}}, "CVE-2024-0002":{"releases":[]}},
          "openssl1.0":{"CVE-2024-0001":{"releases":{"stretch":{"status":"open","urgency":"high**"}}}}}"#;
        let got = parse(json, "t").unwrap();
        assert_eq!(got.len(), 1);
        let a = &got[0];
        assert_eq!((a.name.as_str(), a.severity.as_str(), a.summary.as_str()), ("CVE-2024-0001", "high", "bad"));
        let fixes: Vec<(&str, &str, &Fix)> =
            a.affected.iter().map(|x| (x.release.as_str(), x.package.as_str(), &x.fix)).collect();
        assert_eq!(
            fixes,
            [
                ("Debian 11", "openssl", &Fix::NoFixYet),
                ("Debian 12", "openssl", &Fix::Version("3.0.13-1~deb12u1".into())),
                ("Debian 13", "openssl", &Fix::NotAffected),
                ("Debian 9", "openssl1.0", &Fix::NoFixYet),
            ]
        );
        assert!(parse(b"{\"a\": [1]}", "t").is_err());
        assert!(parse(b"{\"a\": {}} x", "t").is_err());
    }
}
