//! Debian version ordering: dpkg's `verrevcmp` and the `[epoch:]upstream[-revision]` split.

use std::cmp::Ordering;

use super::{c_str, cmp_digits, run_len, saturating_u32};

/// Compares two full Debian version strings as `dpkg --compare-versions` does.
///
/// The epoch is the number before the first `:` (missing: 0), the revision follows the last `-`
/// (missing: `""`, which compares equal to `"0"`, so `1.0` == `1.0-0`). Leading and trailing
/// blanks are ignored. An empty string (or dpkg's `<unknown>`) is older than every version.
///
/// Strings dpkg rejects still get an answer: an epoch that is not a number counts as its leading
/// digits (saturating at `u32::MAX`), anything else is compared character by character.
pub fn deb_cmp_version(a: &str, b: &str) -> Ordering {
    let (a, b) = (c_str(a), c_str(b));
    match (is_blank(a), is_blank(b)) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => {
            let (epoch_a, ver_a, rel_a) = deb_split(a);
            let (epoch_b, ver_b, rel_b) = deb_split(b);
            deb_cmp_parts(epoch_a, ver_a, rel_a, epoch_b, ver_b, rel_b)
        }
    }
}

/// Compares two Debian versions already split into epoch, upstream version and revision, as
/// dpkg's `dpkg_version_compare` does: epoch, then `verrevcmp` on upstream, then on revision.
pub fn deb_cmp_parts(epoch_a: u32, ver_a: &str, rel_a: &str, epoch_b: u32, ver_b: &str, rel_b: &str) -> Ordering {
    epoch_a
        .cmp(&epoch_b)
        .then_with(|| verrevcmp(c_str(ver_a).as_bytes(), c_str(ver_b).as_bytes()))
        .then_with(|| verrevcmp(c_str(rel_a).as_bytes(), c_str(rel_b).as_bytes()))
}

/// Splits a full Debian version into `(epoch, upstream, revision)` as dpkg's `parseversion`
/// does: blanks trimmed, epoch before the first `:` (0 if none), revision after the last `-`
/// (`""` if none). For all `a`, `b` but the blank ones of [`deb_cmp_version`]:
/// `deb_cmp_version(a, b) == deb_cmp_parts(deb_split(a)…, deb_split(b)…)`.
pub fn deb_split(version: &str) -> (u32, &str, &str) {
    let s = c_str(version).trim_matches(|c| c == ' ' || c == '\t');
    let (epoch, rest) = match s.split_once(':') {
        Some((epoch, rest)) => (parse_epoch(epoch), rest),
        None => (0, s),
    };
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (epoch, upstream, revision)
}

/// `dpkg --compare-versions` takes these as "no version", older than any version.
fn is_blank(s: &str) -> bool {
    s.is_empty() || s == "<unknown>"
}

/// The epoch as dpkg reads it with `strtol`: C white space, an optional sign, then digits.
fn parse_epoch(field: &str) -> u32 {
    let field = field.trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
    let digits = field.strip_prefix(['+', '-']).unwrap_or(field);
    saturating_u32(digits.as_bytes())
}

/// dpkg's `verrevcmp`: alternating non-digit and digit parts. Non-digit parts compare byte by
/// byte with [`order`]; digit parts compare numerically, whatever their length.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut a, mut b) = (a, b);
    while !a.is_empty() || !b.is_empty() {
        let non_digit = |s: &[u8]| s.first().is_some_and(|c| !c.is_ascii_digit());
        while non_digit(a) || non_digit(b) {
            let (ca, cb) = (order(a.first()), order(b.first()));
            if ca != cb {
                return ca.cmp(&cb);
            }
            // Equal weights mean neither is at its end: only digits and the end weigh 0.
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        let (na, nb) = (run_len(a, |c| c.is_ascii_digit()), run_len(b, |c| c.is_ascii_digit()));
        let numeric = cmp_digits(&a[..na], &b[..nb]);
        if numeric != Ordering::Equal {
            return numeric;
        }
        a = &a[na..];
        b = &b[nb..];
    }
    Ordering::Equal
}

/// dpkg's `order()`: `~` before the end of the string, the end (and digits) before letters,
/// letters before everything else. dpkg computes `c + 256` on a signed `char` (amd64), so bytes
/// 0x80..=0xFF weigh 128..=255: after letters, before ASCII punctuation.
fn order(c: Option<&u8>) -> i32 {
    match c {
        None => 0,
        Some(&c) if c.is_ascii_digit() => 0,
        Some(&c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(&c) if c >= 0x80 => i32::from(c), // (c - 256) + 256
        Some(&c) => i32::from(c) + 256,
    }
}

#[cfg(test)]
mod tests;
