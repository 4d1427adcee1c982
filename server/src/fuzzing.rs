//! Entry points for the fuzz targets (`fuzz/`) and the replay of their corpora in the tests:
//! each reads outside data the way the server does and must never panic, whatever it gets.
//! The version comparators are also checked for the properties of an order.
#![doc(hidden)]

use std::cmp::Ordering;
use std::collections::HashMap;

use patchman_engine::vercmp::{deb_cmp_version, rpm_cmp_version};
use patchman_proto as pb;

use crate::grpc::validate::{self, Limits};
use crate::repos::fuzz as repos;

const LIMITS: Limits = Limits { max_packages: 100_000 };

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A protobuf report, as Submit reads it: the peek, the decode, the validation.
pub fn report(data: &[u8]) {
    let raw = pb::RawReport { bytes: bytes::Bytes::copy_from_slice(data) };
    let _ = raw.peek();
    if let Ok(report) = raw.decode() {
        let _ = validate::report(report, LIMITS, 1_700_000_000_000);
    }
}

/// Patchman's protocol 1: the form's fields, in the order the client sends them, separated by
/// NUL bytes.
pub fn protocol1(data: &[u8]) {
    const FIELDS: &[&str] = &[
        "host",
        "tags",
        "kernel",
        "arch",
        "protocol",
        "os",
        "report",
        "packages",
        "repos",
        "sec_updates",
        "bug_updates",
        "modules",
        "reboot",
    ];
    let t = text(data);
    let form: HashMap<String, String> =
        FIELDS.iter().zip(t.split('\0')).map(|(k, v)| ((*k).to_owned(), v.to_owned())).collect();
    let _ = crate::compat::protocol1::parse(&form, LIMITS, "fuzz".into(), 1_700_000_000_000);
}

/// Patchman's protocol 2: a JSON body.
pub fn protocol2(data: &[u8]) {
    let _ = crate::compat::protocol2::parse(data, LIMITS, "fuzz".into(), 1_700_000_000_000);
}

/// An apt Release or InRelease (its cleartext frame unverified), and the dates in it.
pub fn apt_release(data: &[u8]) {
    repos::apt_release(&text(data));
}

/// An apt Packages file.
pub fn apt_packages(data: &[u8]) {
    repos::apt_packages(data);
}

pub fn repomd(data: &[u8]) {
    repos::repomd(data);
}

pub fn primary(data: &[u8]) {
    repos::primary(data);
}

pub fn updateinfo(data: &[u8]) {
    repos::updateinfo(data);
}

pub fn modules(data: &[u8]) {
    repos::modules(data);
}

/// A mirrorlist (text) and a metalink (XML).
pub fn mirrorlist(data: &[u8]) {
    repos::mirrorlist(data);
}

/// Three versions, NUL-separated: compared by both comparators, the results must be an order
/// (reflexive, antisymmetric, transitive).
pub fn vercmp(data: &[u8]) {
    let t = text(data);
    let mut parts = t.splitn(3, '\0');
    let (a, b, c) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    for (name, cmp) in [("deb", deb_cmp_version as fn(&str, &str) -> Ordering), ("rpm", rpm_cmp_version)] {
        order_holds(name, cmp, a, b, c);
    }
}

fn order_holds(name: &str, cmp: fn(&str, &str) -> Ordering, a: &str, b: &str, c: &str) {
    assert_eq!(cmp(a, a), Ordering::Equal, "{name}: {a:?} is not equal to itself");
    let (ab, ba) = (cmp(a, b), cmp(b, a));
    assert_eq!(ab, ba.reverse(), "{name}: {a:?} vs {b:?} is {ab:?} one way and {ba:?} the other");
    let (bc, ac) = (cmp(b, c), cmp(a, c));
    if ab != Ordering::Greater && bc != Ordering::Greater {
        assert_ne!(ac, Ordering::Greater, "{name}: {a:?} <= {b:?} <= {c:?} but {a:?} > {c:?}");
    }
    if ab == Ordering::Equal && bc == Ordering::Equal {
        assert_eq!(ac, Ordering::Equal, "{name}: {a:?} = {b:?} = {c:?} but not {a:?} = {c:?}");
    }
}

/// A fuzz target: reads any bytes, never panics.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus replay.
/// An OSV record, or (starting with `PK`) a zip archive of records, as a feed is read.
pub fn osv(data: &[u8]) {
    if data.starts_with(b"PK") {
        let _ = crate::advisories::osv::parse_zip(std::io::Cursor::new(data), 1 << 24, "fuzz");
    } else if let Ok(Some(a)) = crate::advisories::osv::parse_record(data, "fuzz") {
        let _ = a.digest();
    }
}

/// The Debian security tracker's JSON.
pub fn debian_tracker(data: &[u8]) {
    let _ = crate::advisories::tracker::parse(data, "fuzz");
}

/// CISA's Known Exploited Vulnerabilities catalogue.
pub fn kev(data: &[u8]) {
    let _ = crate::advisories::kev::parse(data, "fuzz");
}

pub const TARGETS: &[(&str, Target)] = &[
    ("report", report),
    ("protocol1", protocol1),
    ("protocol2", protocol2),
    ("apt_release", apt_release),
    ("apt_packages", apt_packages),
    ("repomd", repomd),
    ("primary", primary),
    ("updateinfo", updateinfo),
    ("modules", modules),
    ("mirrorlist", mirrorlist),
    ("vercmp", vercmp),
    ("osv", osv),
    ("debian_tracker", debian_tracker),
    ("kev", kev),
];
