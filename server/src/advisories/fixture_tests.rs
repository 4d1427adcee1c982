//! The parsers against the real feed excerpts in `tests/fixtures/advisories` (see its README
//! for where each came from).

use super::{Fix, kev, osv, tracker};
use crate::report::PackageKind;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/advisories/", $path))
    };
}

#[test]
fn ubuntu_names_its_cves_upstream_and_each_lts_release() {
    let a = osv::parse_record(fixture!("osv/USN-6986-1.json"), "t").unwrap().unwrap();
    assert_eq!(a.name, "USN-6986-1");
    assert_eq!(a.cves.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["CVE-2024-6119"]);
    let entries: Vec<(&str, &str, &Fix)> =
        a.affected.iter().map(|x| (x.release.as_str(), x.package.as_str(), &x.fix)).collect();
    assert_eq!(
        entries,
        [
            ("Ubuntu 22.04", "openssl", &Fix::Version("3.0.2-0ubuntu1.18".into())),
            ("Ubuntu 24.04", "openssl", &Fix::Version("3.0.13-0ubuntu3.4".into())),
        ]
    );
    assert!(a.affected.iter().all(|x| x.kind == PackageKind::Deb));
}

#[test]
fn almalinux_lists_binaries_with_epochs_and_rates_in_its_summary() {
    let a = osv::parse_record(fixture!("osv/ALSA-2024-6783.json"), "t").unwrap().unwrap();
    assert_eq!(a.name, "ALSA-2024:6783");
    assert_eq!(a.severity, "medium", "Moderate: …");
    assert_eq!(a.cves.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["CVE-2024-6119"]);
    let names: Vec<&str> = a.affected.iter().map(|x| x.package.as_str()).collect();
    assert_eq!(names, ["openssl", "openssl-devel", "openssl-libs", "openssl-perl"]);
    assert!(a.affected.iter().all(|x| x.release == "AlmaLinux 9"
        && x.kind == PackageKind::Rpm
        && x.fix == Fix::Version("1:3.0.7-28.el9_4".into())));
}

#[test]
fn a_debian_cve_record_without_a_fix_is_affected_with_no_fix_yet() {
    let a = osv::parse_record(fixture!("osv/DEBIAN-CVE-2025-6141.json"), "t").unwrap().unwrap();
    assert_eq!(a.cves.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["CVE-2025-6141"]);
    let bookworm = a.affected.iter().find(|x| x.release == "Debian 12").unwrap();
    assert_eq!((bookworm.package.as_str(), &bookworm.fix), ("ncurses", &Fix::NoFixYet));
    let forky = a.affected.iter().find(|x| x.release == "Debian 14").unwrap();
    assert_eq!(forky.fix, Fix::Version("6.5+20251115-2".into()));
    assert!(!a.summary.is_empty(), "the details' first line stands in for a summary");
}

#[test]
fn the_tracker_says_fixed_open_and_not_affected() {
    let all = tracker::parse(fixture!("debian-tracker.json"), "t").unwrap();
    let of = |cve: &str, release: &str| {
        all.iter()
            .find(|a| a.name == cve)
            .and_then(|a| a.affected.iter().find(|x| x.release == release))
            .map(|x| x.fix.clone())
    };
    assert_eq!(of("CVE-2014-1424", "Debian 12"), Some(Fix::NotAffected), "resolved in version 0");
    assert_eq!(of("CVE-2016-1585", "Debian 12"), Some(Fix::NoFixYet), "open");
    assert_eq!(of("CVE-2023-4911", "Debian 12"), Some(Fix::Version("2.36-9+deb12u3".into())));
    // An entry whose releases are an empty list is read, and names no release.
    assert!(all.iter().all(|a| a.name != "CVE-2022-0358"));
    let apparmor = all.iter().find(|a| a.name == "CVE-2016-1585").unwrap();
    assert_eq!(apparmor.severity, "unimportant");
}

#[test]
fn the_kev_catalogue_excerpt() {
    let got = kev::parse(fixture!("kev.json"), "kev").unwrap();
    assert_eq!(got.len(), 8);
    assert!(got.iter().all(|k| k.cve.starts_with("CVE-") && k.added_ms.is_some() && !k.name.is_empty()));
}

#[test]
fn every_fixture_record_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/advisories/osv");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let a = osv::parse_record(&std::fs::read(&path).unwrap(), "t").unwrap();
        assert!(a.is_some_and(|a| !a.affected.is_empty() && !a.cves.is_empty()), "{}", path.display());
        n += 1;
    }
    assert!(n >= 15);
}

#[test]
fn an_almalinux_host_is_exposed_until_the_fixed_epoch_version() {
    use super::exposure::{Entry, Installed, ReleaseIndex, exposures};
    let a = osv::parse_record(fixture!("osv/ALSA-2024-6783.json"), "t").unwrap().unwrap();
    let mut index = ReleaseIndex::default();
    for x in a.affected.iter().filter(|x| x.release == super::release_of_variant("AlmaLinux 9.4")) {
        index.add(x.package.clone(), Entry { advisory_id: 1, kind: x.kind, fix: x.fix.clone() });
    }
    let libs = |id: i64, release: &str| Installed {
        package_id: id,
        kind: PackageKind::Rpm,
        name: "openssl-libs".into(),
        epoch: 1,
        version: "3.0.7".into(),
        release: release.into(),
        source_name: String::new(),
        source_version: String::new(),
    };
    let got = exposures(&index, &[libs(1, "27.el9"), libs(2, "28.el9_4"), libs(3, "29.el9_5")]);
    assert_eq!(got.iter().map(|e| (e.package_id, e.fixed.as_str())).collect::<Vec<_>>(), [(1, "1:3.0.7-28.el9_4")]);
}
