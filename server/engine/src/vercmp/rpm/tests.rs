//! Table tests for rpm version ordering. Every expectation was checked with python3-rpm 4.18:
//! `rpm.labelCompare` for `rpmvercmp` (empty strings as releases: rpm rejects an empty version),
//! `rpm.ver` comparisons for full strings.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use super::*;

#[track_caller]
fn check(a: &str, b: &str, want: Ordering) {
    assert_eq!(rpmvercmp(a, b), want, "rpmvercmp({a:?}, {b:?})");
    assert_eq!(rpmvercmp(b, a), want.reverse(), "rpmvercmp({b:?}, {a:?})");
}

#[track_caller]
fn check_full(a: &str, b: &str, want: Ordering) {
    assert_eq!(rpm_cmp_version(a, b), want, "rpm_cmp_version({a:?}, {b:?})");
    assert_eq!(rpm_cmp_version(b, a), want.reverse(), "rpm_cmp_version({b:?}, {a:?})");
}

#[test]
fn rpmvercmp_table() {
    let cases = [
        ("1.0", "1.0", Equal),
        ("1.0", "2.0", Less),
        ("2.0.1", "2.0", Greater),
        ("2.0.1a", "2.0.1", Greater),
        ("5.5p1", "5.5p2", Less),
        ("5.5p10", "5.5p1", Greater),
        ("10xyz", "10.1xyz", Less),
        ("xyz10", "xyz10.1", Less),
        ("xyz.4", "8", Less),
        ("8", "xyz.4", Greater),
        ("1b.fc17", "1.fc17", Less),
        ("1g.fc17", "1.fc17", Greater),
        ("1.0a", "1.0b", Less),
        ("a", "B", Greater),
        ("1.0", "1.0a", Less),
        ("1.0", "1_0", Equal),
        ("1.0", "1.0.", Equal),
        ("1..0", "1.0", Equal),
        ("+1", "1", Equal),
        // Leading zeros are dropped.
        ("1.01", "1.1", Equal),
        ("1.010", "1.1", Greater),
        ("1.0001", "1.1", Equal),
        ("0", "00", Equal),
        // Tilde sorts before anything, even the end of the string.
        ("1.0~rc1", "1.0", Less),
        ("1.0~rc1", "1.0~rc2", Less),
        ("1.0~rc1~git123", "1.0~rc1", Less),
        ("1.0~~", "1.0~", Less),
        ("1.0~", "1.0", Less),
        ("1.0~rc1", "1.0arc1", Less),
        // Caret sorts after the end of the string, before any other segment.
        ("1.0^git1", "1.0", Greater),
        ("1.0^", "1.0", Greater),
        ("1.0^", "1.0.1", Less),
        ("1.0^git1", "1.0^git2", Less),
        ("1.0^git1", "1.01", Less),
        ("1.0^git1", "1.00", Greater),
        ("1.0^20160101", "1.0.1", Less),
        ("1.0^20160101^git1", "1.0^20160101", Greater),
        ("1.0~rc1^git1", "1.0~rc1", Greater),
        ("1.0~rc1^git1", "1.0", Less),
        ("1.0^git1~pre", "1.0^git1", Less),
        ("~", "^", Less),
        // Numeric segments are newer than alphabetic ones.
        ("1.a", "1.1", Less),
        ("a", "1", Less),
        // Digit runs of any length: no overflow.
        ("99999999999999999999999", "99999999999999999999998", Greater),
        ("1.99999999999999999999999", "1.100000000000000000000000", Less),
        // Empty strings and strings of separators only.
        ("", "", Equal),
        ("", "0", Less),
        ("", "a", Less),
        ("", "~", Greater),
        ("", "^", Less),
        ("", ".", Equal),
        // Non-ASCII bytes are separators.
        ("1.\u{e9}0", "1.0", Equal),
        // Debian-style strings are valid rpm versions too.
        ("4+deb12u3+b1", "4+deb12u2+b2", Greater),
        ("1+deb12u1", "1+deb12u10", Less),
        ("1ubuntu4.12", "1ubuntu4.9", Greater),
    ];
    for (a, b, want) in cases {
        check(a, b, want);
    }
}

#[test]
fn full_version_table() {
    let cases = [
        ("0:1.0-1", "1.0-1", Equal),
        (":1.0-1", "1.0-1", Equal),
        ("1:1.0-1", "2.0-1", Greater),
        ("2:1.0", "10:0.1", Less),
        ("00:1.0", "1.0", Equal),
        ("99999999999999999999:1", "99999999999999999998:1", Greater),
        // A missing release is older than any release, even "" and "~1".
        ("1.0", "1.0-1", Less),
        ("1.0", "1.0-", Less),
        ("1.0", "1.0-~1", Less),
        ("1.0-", "1.0-~1", Greater),
        ("2.4.52-1ubuntu4.12", "2.4.52", Greater),
        ("1.0-1.el9", "1.0-1.el9_2", Less),
        ("1.0-1-2", "1.0-1-10", Less),
        // "a:1.0" has no epoch: the version is "a:1.0".
        ("a:1.0", "1.0", Less),
        ("1-2:3", "1-2:4", Less),
        // rpm rejects an empty string; here it is an empty version without release.
        ("", "", Equal),
        ("", "0", Less),
    ];
    for (a, b, want) in cases {
        check_full(a, b, want);
    }
}

#[test]
fn evr_parts() {
    assert_eq!(rpm_split("1:2.3-4.el9"), (1, "2.3", "4.el9"));
    assert_eq!(rpm_split("2.3"), (0, "2.3", ""));
    assert_eq!(rpm_split(":2.3-"), (0, "2.3", ""));
    assert_eq!(rpm_split("a:1.0"), (0, "a:1.0", ""));
    assert_eq!(rpm_split("1-2:3"), (0, "1", "2:3"));
    assert_eq!(rpm_split("99999999999:1"), (u32::MAX, "1", ""));
    assert_eq!(rpm_cmp_evr(0, "1.0", "", 0, "1.0", "1"), Less);
    assert_eq!(rpm_cmp_evr(0, "1.0", "", 0, "1.0", "~1"), Greater);
    assert_eq!(rpm_cmp_evr(1, "1.0", "1", 0, "9.0", "9"), Greater);
    assert_eq!(rpm_cmp_evr(0, "1.0", "1.el9", 0, "1.0", "1.el9"), Equal);
}

#[test]
fn garbage_never_panics() {
    let odd = ["", ":", "-", ":-", "1:", "-1", "~", "^", "~^~", "\u{e9}:\u{1F600}-\u{0}", "::::"];
    for a in odd {
        for b in odd {
            assert_eq!(rpmvercmp(a, b), rpmvercmp(b, a).reverse(), "{a:?} {b:?}");
            assert_eq!(rpm_cmp_version(a, b), rpm_cmp_version(b, a).reverse(), "{a:?} {b:?}");
        }
    }
}
