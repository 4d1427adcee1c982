//! Which advisories a host is exposed to: pure matching of its installed packages against the
//! affected entries of its OS release. Debian and Ubuntu advisories name source packages,
//! compared with each installed package's source (the `Source:` a dpkg status gives, else the
//! package itself) and its source version (binNMUs such as `+b1` count as their source);
//! rpm advisories name packages, compared by full version.

use std::cmp::Ordering;
use std::collections::HashMap;

use patchman_engine::vercmp::{deb_cmp_version, rpm_cmp_version};

use super::Fix;
use crate::report::PackageKind;

/// An advisory's entry for one package in one release, as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub advisory_id: i64,
    pub kind: PackageKind,
    pub fix: Fix,
}

/// The affected entries of one release, by package name.
#[derive(Debug, Default)]
pub struct ReleaseIndex {
    by_name: HashMap<String, Vec<Entry>>,
}

impl ReleaseIndex {
    pub fn add(&mut self, package: String, entry: Entry) {
        self.by_name.entry(package).or_default().push(entry);
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// An installed package as exposure needs it.
#[derive(Debug, Clone)]
pub struct Installed {
    pub package_id: i64,
    pub kind: PackageKind,
    pub name: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    /// "" when the source is the package itself.
    pub source_name: String,
    /// "" when it is the package's own version.
    pub source_version: String,
}

impl Installed {
    fn full_version(&self) -> String {
        patchman_engine::format_evr(self.epoch, &self.version, &self.release)
    }
}

/// A host's exposure to one advisory through one installed package.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Exposure {
    pub advisory_id: i64,
    pub package_id: i64,
    /// The version that fixes it; "" when no fix is published yet.
    pub fixed: String,
}

/// Every exposure of a host running the release `index` describes, sorted.
pub fn exposures(index: &ReleaseIndex, installed: &[Installed]) -> Vec<Exposure> {
    let mut out = Vec::new();
    if index.is_empty() {
        return out;
    }
    for p in installed {
        match p.kind {
            PackageKind::Deb => {
                let source = if p.source_name.is_empty() { &p.name } else { &p.source_name };
                let version = if p.source_version.is_empty() { p.full_version() } else { p.source_version.clone() };
                match_entries(index.by_name.get(source.as_str()), PackageKind::Deb, p.package_id, &version, &mut out);
            }
            PackageKind::Rpm => {
                let version = p.full_version();
                let mut names = vec![p.name.as_str()];
                if !p.source_name.is_empty() && p.source_name != p.name {
                    names.push(&p.source_name);
                }
                for name in names {
                    match_entries(index.by_name.get(name), PackageKind::Rpm, p.package_id, &version, &mut out);
                }
            }
            PackageKind::Arch | PackageKind::Gentoo => {}
        }
    }
    out.sort();
    out.dedup();
    out
}

fn match_entries(
    entries: Option<&Vec<Entry>>,
    kind: PackageKind,
    package_id: i64,
    installed: &str,
    out: &mut Vec<Exposure>,
) {
    for e in entries.into_iter().flatten().filter(|e| e.kind == kind) {
        let fixed = match &e.fix {
            Fix::NotAffected => continue,
            Fix::NoFixYet => String::new(),
            Fix::Version(v) if is_older(kind, installed, v) => v.clone(),
            Fix::Version(_) => continue,
        };
        out.push(Exposure { advisory_id: e.advisory_id, package_id, fixed });
    }
}

/// Whether `installed` is older than `fixed`. An rpm fix given without an epoch is taken in
/// the installed package's epoch (feeds often leave it out; epochs do not change within a
/// release).
pub fn is_older(kind: PackageKind, installed: &str, fixed: &str) -> bool {
    match kind {
        PackageKind::Deb => deb_cmp_version(installed, fixed) == Ordering::Less,
        _ => {
            let with_epoch;
            let fixed = match installed.split_once(':') {
                Some((epoch, _)) if !fixed.contains(':') && epoch.bytes().all(|b| b.is_ascii_digit()) => {
                    with_epoch = format!("{epoch}:{fixed}");
                    with_epoch.as_str()
                }
                _ => fixed,
            };
            rpm_cmp_version(installed, fixed) == Ordering::Less
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deb(
        id: i64,
        name: &str,
        epoch: u32,
        version: &str,
        release: &str,
        source: &str,
        source_version: &str,
    ) -> Installed {
        Installed {
            package_id: id,
            kind: PackageKind::Deb,
            name: name.into(),
            epoch,
            version: version.into(),
            release: release.into(),
            source_name: source.into(),
            source_version: source_version.into(),
        }
    }

    fn entry(id: i64, kind: PackageKind, fix: Fix) -> Entry {
        Entry { advisory_id: id, kind, fix }
    }

    #[test]
    fn source_packages_epochs_and_tildes() {
        let mut index = ReleaseIndex::default();
        index.add("openssl".into(), entry(1, PackageKind::Deb, Fix::Version("3.0.11-1~deb12u2".into())));
        index.add("libcap2".into(), entry(2, PackageKind::Deb, Fix::Version("1:2.66-4+deb12u1".into())));
        index.add("bash".into(), entry(3, PackageKind::Deb, Fix::Version("5.2.15-2+deb12u1".into())));
        index.add("glibc".into(), entry(4, PackageKind::Deb, Fix::NoFixYet));
        index.add("zlib".into(), entry(5, PackageKind::Deb, Fix::NotAffected));
        let host = [
            // One source, many binaries: both exposed.
            deb(10, "libssl3", 0, "3.0.11", "1~deb12u1", "openssl", ""),
            deb(11, "openssl", 0, "3.0.11", "1~deb12u1", "", ""),
            // The fix itself: `~` sorts before, so 1~deb12u2 is not older than 1~deb12u2.
            deb(12, "libcap2", 1, "2.66", "4+deb12u1", "", ""),
            // A binNMU (+b8) compares as its source version 5.2.15-2.
            deb(13, "bash", 0, "5.2.15", "2+b8", "", "5.2.15-2"),
            deb(14, "libc6", 0, "2.36", "9+deb12u4", "glibc", ""),
            deb(15, "zlib1g", 1, "1.2.13", "dfsg-1", "zlib", ""),
        ];
        let got = exposures(&index, &host);
        let pairs: Vec<(i64, i64, &str)> =
            got.iter().map(|e| (e.advisory_id, e.package_id, e.fixed.as_str())).collect();
        assert_eq!(
            pairs,
            [(1, 10, "3.0.11-1~deb12u2"), (1, 11, "3.0.11-1~deb12u2"), (3, 13, "5.2.15-2+deb12u1"), (4, 14, "")]
        );
    }

    #[test]
    fn rpm_epoch_taken_from_installed() {
        assert!(is_older(PackageKind::Rpm, "1:3.0.7-25.el9", "3.0.7-27.el9"));
        assert!(!is_older(PackageKind::Rpm, "1:3.0.7-27.el9", "3.0.7-27.el9"));
        assert!(!is_older(PackageKind::Rpm, "2:1.0-1", "1:2.0-1"));
        assert!(is_older(PackageKind::Deb, "2.66-4", "1:2.66-4"));
    }
}
