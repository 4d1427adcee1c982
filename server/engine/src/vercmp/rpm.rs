//! RPM version ordering: `rpmvercmp` of rpm 4.18 and `labelCompare` on epoch, version, release.

use std::cmp::Ordering;

use super::{c_str, cmp_digits, run_len, saturating_u32};

/// rpm 4.18's `rpmvercmp`: compares two version (or release) strings segment by segment.
///
/// Segments are runs of ASCII digits or ASCII letters; everything else separates them and is
/// otherwise ignored (so `1.0` == `1_0`). `~` sorts before anything, even the end of the string;
/// `^` sorts after the end of the string but before any other segment. A numeric segment is newer
/// than an alphabetic one; numbers compare with leading zeros stripped, then by length, then
/// digit by digit. When all segments match, the string with segments left is newer.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (c_str(a).as_bytes(), c_str(b).as_bytes());
    if a == b {
        return Ordering::Equal;
    }
    while !a.is_empty() || !b.is_empty() {
        a = &a[run_len(a, is_separator)..];
        b = &b[run_len(b, is_separator)..];
        let (ca, cb) = (a.first().copied(), b.first().copied());

        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            (a, b) = (&a[1..], &b[1..]);
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            match (ca, cb) {
                (None, _) => return Ordering::Less,
                (_, None) => return Ordering::Greater,
                (Some(b'^'), Some(b'^')) => {}
                (_, Some(b'^')) => return Ordering::Greater,
                _ => return Ordering::Less,
            }
            (a, b) = (&a[1..], &b[1..]);
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else { break };

        let numeric = ca.is_ascii_digit();
        let in_segment = |c: u8| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() };
        let (na, nb) = (run_len(a, in_segment), run_len(b, in_segment));
        if nb == 0 {
            // Different kinds: a numeric segment is newer than an alphabetic one.
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let by_segment = if numeric { cmp_digits(&a[..na], &b[..nb]) } else { a[..na].cmp(&b[..nb]) };
        if by_segment != Ordering::Equal {
            return by_segment;
        }
        (a, b) = (&a[na..], &b[nb..]);
    }
    // All segments matched; the one with something other than separators left is newer.
    a.len().min(1).cmp(&b.len().min(1))
}

/// Compares `(epoch, version, release)` triples as rpm's `labelCompare` does: epoch numerically,
/// then [`rpmvercmp`] on the versions, then on the releases. An empty release is an ordinary
/// string to `rpmvercmp`: older than any release with a segment (`""` < `"0"`), newer than one
/// starting with `~`.
pub fn rpm_cmp_evr(epoch_a: u32, ver_a: &str, rel_a: &str, epoch_b: u32, ver_b: &str, rel_b: &str) -> Ordering {
    epoch_a.cmp(&epoch_b).then_with(|| rpmvercmp(ver_a, ver_b)).then_with(|| rpmvercmp(rel_a, rel_b))
}

/// Compares two full `[epoch:]version[-release]` strings as rpm 4.18 orders them (`rpmverParse`
/// then `rpmverCmp`, python's `rpm.ver`): split as [`rpm_split`] describes, then ordered as
/// [`rpm_cmp_evr`], except that a missing release is older than every release, even `""` and
/// `~1` (`1.0` < `1.0-` < `1.0-1`). Epochs compare as numbers of any length.
pub fn rpm_cmp_version(a: &str, b: &str) -> Ordering {
    let (epoch_a, ver_a, rel_a) = parse_evr(c_str(a));
    let (epoch_b, ver_b, rel_b) = parse_evr(c_str(b));
    cmp_digits(epoch_a.as_bytes(), epoch_b.as_bytes()).then_with(|| rpmvercmp(ver_a, ver_b)).then_with(|| {
        match (rel_a, rel_b) {
            (Some(rel_a), Some(rel_b)) => rpmvercmp(rel_a, rel_b),
            _ => rel_a.is_some().cmp(&rel_b.is_some()),
        }
    })
}

/// Splits a full rpm version as `parseEVR` does: the epoch is a leading run of digits ended by
/// `:` (empty or missing: 0, saturating at `u32::MAX`), the release follows the last `-`
/// (missing: `""`). `a:1.0` has no epoch: its version is `a:1.0`. `rpm_cmp_evr` on the parts
/// agrees with `rpm_cmp_version` except where a missing release meets `""` or a release starting
/// with `~`, and for epochs above `u32::MAX` (rpm stores epochs as 32-bit integers).
pub fn rpm_split(evr: &str) -> (u32, &str, &str) {
    let (epoch, version, release) = parse_evr(c_str(evr));
    (saturating_u32(epoch.as_bytes()), version, release.unwrap_or_default())
}

/// `parseEVR` with the epoch kept as its digits (so that epochs of any length compare exactly)
/// and a missing release kept apart from an empty one.
fn parse_evr(evr: &str) -> (&str, &str, Option<&str>) {
    let digits = run_len(evr.as_bytes(), |c| c.is_ascii_digit());
    let (epoch, rest) = match evr[digits..].strip_prefix(':') {
        Some(rest) => (&evr[..digits], rest),
        None => ("", evr),
    };
    match rest.rsplit_once('-') {
        Some((version, release)) => (epoch, version, Some(release)),
        None => (epoch, rest, None),
    }
}

/// Bytes `rpmvercmp` skips: neither ASCII alphanumeric nor `~` nor `^`.
fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

#[cfg(test)]
mod tests;
