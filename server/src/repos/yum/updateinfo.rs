//! updateinfo.xml: errata (advisories) with their type, severity, CVEs and fixed packages.

use std::collections::HashMap;
use std::io::BufRead;

use quick_xml::events::Event;

use super::xml::{XmlReader, attr, local, push_text, xml_err};
use crate::report::{Package, PackageKind};
use crate::repos::RepoError;
use crate::repos::date::parse_yum_date_ms;

/// One advisory of a yum repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erratum {
    pub id: String,
    pub kind: ErratumKind,
    /// "final", "stable", "testing"...
    pub status: Option<String>,
    /// "Critical", "Important", "Moderate", "Low"...
    pub severity: Option<String>,
    /// `issued@date`, milliseconds since the epoch.
    pub issued_ms: Option<i64>,
    pub title: String,
    pub cves: Vec<String>,
    /// The fixed binary packages (source packages are left out).
    pub packages: Vec<Package>,
}

/// `update@type`; anything else (e.g. "newpackage", or none) is kept as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErratumKind {
    Security,
    Bugfix,
    Enhancement,
    Other(String),
}

impl Default for ErratumKind {
    fn default() -> Self {
        Self::Other(String::new())
    }
}

impl ErratumKind {
    fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "security" => Self::Security,
            "bugfix" | "recommended" => Self::Bugfix,
            "enhancement" | "feature" => Self::Enhancement,
            _ => Self::Other(s.trim().to_owned()),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    None,
    Id,
    Title,
    Severity,
}

/// Parses a whole updateinfo stream. Advisories listed twice (several collections) are merged.
pub(crate) fn parse_updateinfo(url: &str, r: &mut dyn BufRead) -> Result<Vec<Erratum>, RepoError> {
    let mut x = XmlReader::new(url, r);
    let mut out: Vec<Erratum> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut stack: Vec<String> = Vec::new();
    let mut cur: Option<Erratum> = None;
    let mut field = Field::None;
    let mut text = String::new();
    let mut number = 0u64;
    loop {
        let ev = x.next()?;
        match &ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = local(e);
                let parent = stack.last().map(String::as_str);
                match (name.as_str(), parent) {
                    ("update", _) if cur.is_none() => {
                        number += 1;
                        cur = Some(Erratum {
                            kind: ErratumKind::parse(&attr(url, e, "type")?.unwrap_or_default()),
                            status: attr(url, e, "status")?.filter(|s| !s.is_empty()),
                            ..Erratum::default()
                        });
                    }
                    ("id" | "title" | "severity", Some("update")) => {
                        field = match name.as_str() {
                            "id" => Field::Id,
                            "title" => Field::Title,
                            _ => Field::Severity,
                        };
                        text.clear();
                    }
                    ("issued", Some("update")) => {
                        if let Some(u) = &mut cur {
                            u.issued_ms = attr(url, e, "date")?.as_deref().and_then(parse_yum_date_ms);
                        }
                    }
                    ("reference", _) => {
                        if let Some(u) = &mut cur {
                            let kind = attr(url, e, "type")?.unwrap_or_default();
                            if kind.eq_ignore_ascii_case("cve") {
                                let id = attr(url, e, "id")?.filter(|i| !i.trim().is_empty());
                                let id = id.or(attr(url, e, "title")?.filter(|t| t.starts_with("CVE-")));
                                if let Some(id) = id.map(|i| i.trim().to_owned())
                                    && !u.cves.contains(&id)
                                {
                                    u.cves.push(id);
                                }
                            }
                        }
                    }
                    ("package", _) if stack.iter().any(|s| s == "pkglist") => {
                        if let Some(u) = &mut cur
                            && let Some(p) = fixed_package(url, e, number)?
                        {
                            u.packages.push(p);
                        }
                    }
                    _ => {}
                }
                if matches!(ev, Event::Start(_)) {
                    stack.push(name);
                }
            }
            Event::End(_) => {
                let name = stack.pop().ok_or_else(|| xml_err(url, "unbalanced end tag"))?;
                if field != Field::None && stack.last().map(String::as_str) == Some("update") {
                    if let Some(u) = &mut cur {
                        let value = text.trim().to_owned();
                        match field {
                            Field::Id => u.id = value,
                            Field::Title => u.title = value,
                            Field::Severity => u.severity = Some(value).filter(|s| !s.is_empty()),
                            Field::None => {}
                        }
                    }
                    field = Field::None;
                }
                if name == "update"
                    && let Some(u) = cur.take()
                {
                    merge(url, number, u, &mut out, &mut by_id)?;
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if field != Field::None => {
                push_text(url, &ev, &mut text)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(xml_err(url, "unexpected end of file (truncated?)"));
    }
    Ok(out)
}

fn fixed_package(url: &str, e: &quick_xml::events::BytesStart<'_>, number: u64) -> Result<Option<Package>, RepoError> {
    let bad = |reason: String| xml_err(url, format!("update {number}: {reason}"));
    let get = |n: &str| -> Result<String, RepoError> { Ok(attr(url, e, n)?.unwrap_or_default().trim().to_owned()) };
    let (name, version, release, arch) = (get("name")?, get("version")?, get("release")?, get("arch")?);
    if name.is_empty() || version.is_empty() || arch.is_empty() {
        return Err(bad(format!("package {name:?} lacks name, version or arch")));
    }
    let epoch = match get("epoch")?.as_str() {
        "" => 0,
        s => s.parse().map_err(|_| bad(format!("package {name}: invalid epoch {s:?}")))?,
    };
    if arch == "src" || arch == "nosrc" {
        return Ok(None);
    }
    Ok(Some(Package { kind: PackageKind::Rpm, name, epoch, version, release, arch }))
}

fn merge(
    url: &str,
    number: u64,
    u: Erratum,
    out: &mut Vec<Erratum>,
    by_id: &mut HashMap<String, usize>,
) -> Result<(), RepoError> {
    if u.id.is_empty() {
        return Err(xml_err(url, format!("update {number}: no id")));
    }
    match by_id.get(&u.id) {
        Some(&i) => {
            let prev = &mut out[i];
            for c in u.cves {
                if !prev.cves.contains(&c) {
                    prev.cves.push(c);
                }
            }
            for p in u.packages {
                if !prev.packages.contains(&p) {
                    prev.packages.push(p);
                }
            }
        }
        None => {
            by_id.insert(u.id.clone(), out.len());
            out.push(u);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="errata@example.com" status="final" type="security" version="2">
    <id>RLSA-2024:1234</id>
    <title>Important: openssl security update</title>
    <issued date="2024-05-01 10:00:00"/>
    <updated date="2024-05-02 10:00:00"/>
    <severity>Important</severity>
    <description>Fixes &lt;things&gt;.</description>
    <references>
      <reference href="https://access.redhat.com/security/cve/CVE-2024-0001" id="CVE-2024-0001" type="cve" title="CVE-2024-0001"/>
      <reference href="https://bugzilla.example.com/1" id="1" type="bugzilla" title="CVE-2024-9999 mention"/>
      <reference href="x" type="cve" title="CVE-2024-0002"/>
    </references>
    <pkglist><collection short="x"><name>x</name>
      <package name="openssl" version="3.0.7" release="27.el9" epoch="1" arch="x86_64" src="openssl.src.rpm"><filename>openssl.rpm</filename></package>
      <package name="openssl" version="3.0.7" release="27.el9" epoch="1" arch="src"/>
    </collection></pkglist>
  </update>
  <update type="bugfix" status="stable"><id>FEDORA-2024-1</id><title>t</title><issued date="1714557600"/>
    <pkglist><collection><package name="a" version="1" release="1" arch="noarch"/></collection></pkglist></update>
  <update type="newpackage"><id>X-1</id></update>
  <update type="security"><id>RLSA-2024:1234</id>
    <references><reference type="cve" id="CVE-2024-0003"/></references>
    <pkglist><collection><package name="openssl-libs" version="3.0.7" release="27.el9" epoch="1" arch="x86_64"/></collection></pkglist></update>
</updates>"#;

    #[test]
    fn errata_with_cves_packages_and_merged_duplicates() {
        let errata = parse_updateinfo("u", &mut UPDATEINFO.as_bytes()).unwrap();
        assert_eq!(errata.len(), 3);
        let e = &errata[0];
        assert_eq!(e.id, "RLSA-2024:1234");
        assert_eq!(e.kind, ErratumKind::Security);
        assert_eq!(e.status.as_deref(), Some("final"));
        assert_eq!(e.severity.as_deref(), Some("Important"));
        assert_eq!(e.issued_ms, Some(1_714_557_600_000));
        assert_eq!(e.title, "Important: openssl security update");
        assert_eq!(e.cves, ["CVE-2024-0001", "CVE-2024-0002", "CVE-2024-0003"]);
        let pkgs: Vec<String> = e.packages.iter().map(|p| format!("{}-{}.{}", p.name, p.evr(), p.arch)).collect();
        assert_eq!(pkgs, ["openssl-1:3.0.7-27.el9.x86_64", "openssl-libs-1:3.0.7-27.el9.x86_64"]);
        assert_eq!(errata[1].kind, ErratumKind::Bugfix);
        assert_eq!(errata[1].issued_ms, Some(1_714_557_600_000));
        assert_eq!(errata[2].kind, ErratumKind::Other("newpackage".into()));
        assert!(errata[2].packages.is_empty() && errata[2].severity.is_none());
    }

    #[test]
    fn broken_updateinfo_is_an_error() {
        let err = |t: &str| parse_updateinfo("http://m/ui.xml", &mut t.as_bytes()).unwrap_err().to_string();
        assert!(err("<updates><update><title>x</title></update></updates>").contains("update 1: no id"));
        assert!(err("<updates><update><id>x</id>").contains("truncated"));
        let bad_epoch = "<updates><update><id>x</id><pkglist><package name=\"a\" version=\"1\" epoch=\"z\" arch=\"x\"/></pkglist></update></updates>";
        assert!(err(bad_epoch).contains("invalid epoch"));
    }
}
