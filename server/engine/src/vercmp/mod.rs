//! Version comparison exactly as `dpkg --compare-versions` and rpm's `rpmvercmp`/`labelCompare` order versions.
//!
//! Every function here is total: any input (empty, garbage, non-ASCII, digit runs of any length)
//! gives an answer without panicking or allocating. Inputs the real tools reject still get a
//! deterministic answer; each function's docs say which one. Like the C tools, a string ends at
//! its first NUL byte.

use std::cmp::Ordering;

mod deb;
mod rpm;

pub use deb::{deb_cmp_parts, deb_cmp_version, deb_split};
pub use rpm::{rpm_cmp_evr, rpm_cmp_version, rpm_split, rpmvercmp};

/// The ordering rules of a package family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionScheme {
    /// Debian packages: `[epoch:]upstream[-revision]`, ordered as dpkg orders them.
    Deb,
    /// RPM packages: `[epoch:]version[-release]`, ordered as rpm orders them.
    Rpm,
}

impl VersionScheme {
    /// Compares two full version strings of this scheme.
    pub fn compare(self, a: &str, b: &str) -> Ordering {
        match self {
            VersionScheme::Deb => deb_cmp_version(a, b),
            VersionScheme::Rpm => rpm_cmp_version(a, b),
        }
    }
}

/// The part of `s` a C function sees: everything before the first NUL.
fn c_str(s: &str) -> &str {
    match s.find('\0') {
        Some(end) => &s[..end],
        None => s,
    }
}

/// Compares two runs of ASCII digits as unbounded non-negative numbers: leading zeros are
/// dropped, then the longer run is larger, then the runs compare byte by byte. An empty run is 0.
fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = strip_zeros(a);
    let b = strip_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn strip_zeros(digits: &[u8]) -> &[u8] {
    let first = digits.iter().position(|&d| d != b'0').unwrap_or(digits.len());
    &digits[first..]
}

/// The length of the run at the start of `s` whose bytes satisfy `pred`.
fn run_len(s: &[u8], pred: impl Fn(u8) -> bool) -> usize {
    s.iter().position(|&c| !pred(c)).unwrap_or(s.len())
}

/// Parses a digit run as a `u32`, saturating at `u32::MAX`; bytes after the digits are ignored.
fn saturating_u32(digits: &[u8]) -> u32 {
    digits
        .iter()
        .take_while(|d| d.is_ascii_digit())
        .fold(0u32, |n, &d| n.saturating_mul(10).saturating_add(u32::from(d - b'0')))
}

#[cfg(test)]
mod tests {
    use std::cmp::Ordering::{Equal, Greater, Less};

    use super::*;

    #[test]
    fn digits_compare_as_unbounded_numbers() {
        assert_eq!(cmp_digits(b"", b"0"), Equal);
        assert_eq!(cmp_digits(b"007", b"7"), Equal);
        assert_eq!(cmp_digits(b"99999999999999999999999", b"99999999999999999999998"), Greater);
        assert_eq!(cmp_digits(b"9", b"10"), Less);
    }

    #[test]
    fn saturating_epochs() {
        assert_eq!(saturating_u32(b"4294967295"), u32::MAX);
        assert_eq!(saturating_u32(b"99999999999999999999999"), u32::MAX);
        assert_eq!(saturating_u32(b"12x3"), 12);
        assert_eq!(saturating_u32(b""), 0);
    }

    #[test]
    fn nul_ends_a_string() {
        assert_eq!(c_str("1.0\0garbage"), "1.0");
        assert_eq!(VersionScheme::Rpm.compare("1.0\0a", "1.0"), Equal);
        assert_eq!(VersionScheme::Deb.compare("1.0\0a", "1.0"), Equal);
    }

    #[test]
    fn scheme_dispatches() {
        // "1.0" vs "1.0-0": dpkg treats a missing revision like "0"; to rpm it is older than any.
        assert_eq!(VersionScheme::Deb.compare("1.0", "1.0-0"), Equal);
        assert_eq!(VersionScheme::Rpm.compare("1.0", "1.0-0"), Less);
        assert_eq!(VersionScheme::Rpm.compare("1.0^git1", "1.0"), Greater);
    }
}
