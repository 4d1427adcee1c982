//! Table tests for Debian version ordering; every expectation was checked with dpkg 1.21.22.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use super::*;

#[track_caller]
fn check(a: &str, b: &str, want: Ordering) {
    assert_eq!(deb_cmp_version(a, b), want, "deb_cmp_version({a:?}, {b:?})");
    assert_eq!(deb_cmp_version(b, a), want.reverse(), "deb_cmp_version({b:?}, {a:?})");
}

#[test]
fn table() {
    let cases = [
        // Identity and plain numbers.
        ("1.0", "1.0", Equal),
        ("1.0", "1.1", Less),
        ("1.10", "1.9", Greater),
        ("1.01", "1.1", Equal),
        ("1.001", "1.1", Equal),
        ("1.0", "1.00", Equal),
        ("1.0", "1.0.0", Less),
        ("1", "1.0", Less),
        ("10", "9", Greater),
        // Tilde sorts before everything, even the end of the string.
        ("1.0~rc1", "1.0", Less),
        ("1.0~rc1", "1.0~rc2", Less),
        ("1.0~~", "1.0~", Less),
        ("1.0~~a", "1.0~", Less),
        ("1.0~", "1.0", Less),
        ("1.0~beta", "1.0~alpha", Greater),
        ("1.0-1~bpo12+1", "1.0-1", Less),
        // Letters before non-letters; the end (or a digit) before letters.
        ("1.0a", "1.0", Greater),
        ("1.0a", "1.0.", Less),
        ("1.0a", "1.0+", Less),
        ("1.0+", "1.0.", Less),
        ("1.0a", "1.0b", Less),
        ("1.0A", "1.0a", Less),
        ("1.0a", "1.0.1", Less),
        ("1.0", "1.0+b1", Less),
        // Epochs: numeric, missing = 0, split at the first ':'.
        ("0:1.0", "1.0", Equal),
        ("1:0.1", "9.9", Greater),
        ("2:1.0", "10:0.1", Less),
        ("1:2:3", "1:2:4", Less),
        ("00:1.0", "1.0", Equal),
        ("2147483647:1", "1", Greater),
        // Revisions: after the last '-'; missing = "" which equals "0".
        ("1.0", "1.0-0", Equal),
        ("1.0-1", "1.0-2", Less),
        ("1.2-3-4", "1.2-3-5", Less),
        ("1.2-3-4", "1.2-4", Greater),
        ("1.0", "1.0-~", Greater),
        // Patchman issue #809: an Ubuntu revision makes the version newer than the bare upstream.
        ("2.4.52-1ubuntu4.12", "2.4.52", Greater),
        ("2.4.52-1ubuntu4.12", "2.4.52-1ubuntu4.9", Greater),
        ("2.4.52-1ubuntu4", "2.4.52-1", Greater),
        // Debian security and binNMU suffixes.
        ("1:2.66-4+deb12u3+b1", "1:2.66-4+deb12u2+b2", Greater),
        ("1:2.66-4+deb12u2", "1:2.66-4+deb12u2+b1", Less),
        ("1.0-1+deb12u1", "1.0-1+deb12u10", Less),
        ("1.0-1+deb12u9", "1.0-1+deb12u10", Less),
        ("1.0-1+deb12u1", "1.0-1.1", Less),
        // Digit runs of any length: no overflow.
        ("99999999999999999999999", "99999999999999999999998", Greater),
        ("1.99999999999999999999999", "1.100000000000000000000000", Less),
        ("1.000000000000000000000000001", "1.1", Equal),
        // Empty and blank: "" is older than anything; blanks around a version are ignored.
        ("", "", Equal),
        ("", "0", Less),
        ("", "~", Less),
        ("<unknown>", "", Equal),
        (" 1.0\t", "1.0", Equal),
        // Inputs dpkg only warns about are still compared byte-wise; non-ASCII sorts after
        // letters and before ASCII punctuation (signed char on amd64).
        ("a1.0", "1.0", Greater),
        ("1.0\u{e9}", "1.0.", Less),
        ("1.0\u{e9}", "1.0z", Greater),
        ("1.0_1", "1.0+1", Greater),
    ];
    for (a, b, want) in cases {
        check(a, b, want);
    }
}

#[test]
fn parts_match_full_strings() {
    assert_eq!(deb_split("1:2.66-4+deb12u3+b1"), (1, "2.66", "4+deb12u3+b1"));
    assert_eq!(deb_split("2.4.52"), (0, "2.4.52", ""));
    assert_eq!(deb_split("1:2:3-4-5"), (1, "2:3-4", "5"));
    assert_eq!(deb_split("99999999999999999999:1"), (u32::MAX, "1", ""));
    assert_eq!(deb_split(" -0:1 "), (0, "1", ""));
    assert_eq!(deb_cmp_parts(1, "2.66", "4", 1, "2.66", ""), Greater);
    assert_eq!(deb_cmp_parts(0, "1.0", "", 0, "1.0", "0"), Equal);
    assert_eq!(deb_cmp_parts(2, "0", "", 1, "9", "9"), Greater);
}

#[test]
fn garbage_never_panics() {
    let odd = ["", ":", "-", ":-", "1:", "-1", "~", "~~:~-~", "\u{e9}:\u{1F600}-\u{0}", "::::", "+-5:1"];
    for a in odd {
        for b in odd {
            let _ = deb_cmp_version(a, b);
            assert_eq!(deb_cmp_version(a, b), deb_cmp_version(b, a).reverse(), "{a:?} {b:?}");
        }
    }
}
