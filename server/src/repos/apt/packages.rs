//! The Packages index: deb822 stanzas read line by line from a stream, keeping only Package,
//! Version, Architecture and Source.

use std::io::BufRead;

use crate::report::{Package, PackageKind};
use crate::repos::RepoError;
use crate::repos::stream::read_error;

/// A binary package's `Source:` field: the source package's name, and its version when it
/// differs from the binary's ("Source: glibc (2.36-9)").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DebSource {
    pub name: String,
    pub version: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct ParsedPackages {
    pub packages: Vec<Package>,
    pub sources: Vec<Option<DebSource>>,
}

/// Splits a Debian version exactly as dpkg does: the epoch before the first ':', the revision
/// after the last '-'. `None` when the epoch is not a number or the upstream part is empty.
pub(crate) fn split_dpkg_version(v: &str) -> Option<(u32, &str, &str)> {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) => (if e.is_empty() { 0 } else { e.parse().ok()? }, rest),
        None => (0, v),
    };
    let (upstream, revision) = rest.rsplit_once('-').unwrap_or((rest, ""));
    (!upstream.is_empty() && !v.contains(char::is_whitespace)).then_some((epoch, upstream, revision))
}

#[derive(Default)]
struct Stanza {
    package: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    source: Option<String>,
    has_fields: bool,
}

/// Parses a whole Packages stream. A stanza without Package, Version or Architecture, or with
/// a malformed line, makes the whole file fail: it is corrupt, not merely odd.
pub(crate) fn parse_packages(url: &str, r: &mut dyn BufRead) -> Result<ParsedPackages, RepoError> {
    let mut out = ParsedPackages::default();
    let mut line = Vec::with_capacity(256);
    let mut stanza = Stanza::default();
    let mut number: u64 = 1;
    let mut line_no: u64 = 0;
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line).map_err(|e| read_error(url, &e))?;
        line_no += 1;
        let text = trim_eol(&line);
        let blank = text.iter().all(u8::is_ascii_whitespace);
        if n == 0 || blank {
            if stanza.has_fields {
                finish(url, number, std::mem::take(&mut stanza), &mut out)?;
                number += 1;
            }
            if n == 0 {
                return Ok(out);
            }
            continue;
        }
        let stanza_err = |reason: String| RepoError::Stanza { url: url.to_owned(), stanza: number, reason };
        match text[0] {
            b' ' | b'\t' if stanza.has_fields => continue, // continuation of a multi-line field
            b' ' | b'\t' => return Err(stanza_err(format!("line {line_no}: continuation line without a field"))),
            b'#' => continue,
            _ => {}
        }
        let Some(colon) = text.iter().position(|&b| b == b':') else {
            return Err(stanza_err(format!("line {line_no}: not a \"Field: value\" line")));
        };
        stanza.has_fields = true;
        let (name, value) = (&text[..colon], &text[colon + 1..]);
        let slot = if name.eq_ignore_ascii_case(b"Package") {
            &mut stanza.package
        } else if name.eq_ignore_ascii_case(b"Version") {
            &mut stanza.version
        } else if name.eq_ignore_ascii_case(b"Architecture") {
            &mut stanza.arch
        } else if name.eq_ignore_ascii_case(b"Source") {
            &mut stanza.source
        } else {
            continue;
        };
        if slot.is_none() {
            let value = std::str::from_utf8(value)
                .map_err(|_| stanza_err(format!("line {line_no}: value is not UTF-8")))?
                .trim();
            *slot = Some(value.to_owned());
        }
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn finish(url: &str, number: u64, s: Stanza, out: &mut ParsedPackages) -> Result<(), RepoError> {
    let err = |reason: String| RepoError::Stanza { url: url.to_owned(), stanza: number, reason };
    let name = s.package.filter(|p| !p.is_empty()).ok_or_else(|| err("no Package field".into()))?;
    if name.contains(char::is_whitespace) {
        return Err(err(format!("invalid package name {name:?}")));
    }
    let version = s.version.ok_or_else(|| err(format!("package {name}: no Version field")))?;
    let (epoch, upstream, revision) =
        split_dpkg_version(&version).ok_or_else(|| err(format!("package {name}: invalid version {version:?}")))?;
    let arch = s.arch.filter(|a| !a.is_empty()).ok_or_else(|| err(format!("package {name}: no Architecture field")))?;
    let source = match s.source.as_deref() {
        None | Some("") => None,
        Some(src) => Some(parse_source(src).ok_or_else(|| err(format!("package {name}: invalid Source {src:?}")))?),
    };
    out.packages.push(Package {
        kind: PackageKind::Deb,
        epoch,
        version: upstream.to_owned(),
        release: revision.to_owned(),
        arch,
        name,
    });
    out.sources.push(source);
    Ok(())
}

/// "name" or "name (version)".
fn parse_source(s: &str) -> Option<DebSource> {
    match s.split_once('(') {
        None => (!s.contains(char::is_whitespace)).then(|| DebSource { name: s.to_owned(), version: None }),
        Some((name, rest)) => {
            let version = rest.strip_suffix(')')?.trim();
            let name = name.trim();
            (!name.is_empty() && !version.is_empty())
                .then(|| DebSource { name: name.to_owned(), version: Some(version.to_owned()) })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn split(v: &str, want: Option<(u32, &str, &str)>) {
        assert_eq!(split_dpkg_version(v), want, "split_dpkg_version({v:?})");
    }

    #[test]
    fn dpkg_version_split() {
        split("1.2.3", Some((0, "1.2.3", "")));
        split("1.2.3-1", Some((0, "1.2.3", "1")));
        split("2:1.2-3-4", Some((2, "1.2-3", "4")));
        split("1:2:3-4", Some((1, "2:3", "4")));
        split("1.0+dfsg-1~deb12u1", Some((0, "1.0+dfsg", "1~deb12u1")));
        split("x:1.0", None);
        split("1:", None);
        split("-1", None);
        split("1.0 -1", None);
    }

    fn parse(text: &str) -> Result<ParsedPackages, RepoError> {
        parse_packages("http://m/Packages", &mut text.as_bytes())
    }

    #[test]
    fn stanzas_with_multi_line_fields_and_sources() {
        let text = "Package: libc6\nSource: glibc (2.36-9+deb12u4)\nVersion: 2.36-9+deb12u7\nArchitecture: amd64\n\
Description: GNU C Library\n multi-line\n .\n description\n\nPackage: tzdata\r\nVersion: 2024a-0+deb12u1\r\n\
Architecture: all\r\n\r\n\n\npackage: vim\nversion: 2:9.0.1378-2\narchitecture: amd64\nsource: vim\n";
        let parsed = parse(text).unwrap();
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.epoch, p.version.as_str(), p.release.as_str(), p.arch.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("libc6", 0, "2.36", "9+deb12u7", "amd64"),
                ("tzdata", 0, "2024a", "0+deb12u1", "all"),
                ("vim", 2, "9.0.1378", "2", "amd64"),
            ]
        );
        assert_eq!(
            parsed.sources,
            [
                Some(DebSource { name: "glibc".into(), version: Some("2.36-9+deb12u4".into()) }),
                None,
                Some(DebSource { name: "vim".into(), version: None }),
            ]
        );
    }

    #[test]
    fn empty_input_is_an_empty_list() {
        assert!(parse("").unwrap().packages.is_empty());
        assert!(parse("\n\n").unwrap().packages.is_empty());
    }

    #[track_caller]
    fn rejects(text: &str, needle: &str) {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("http://m/Packages"), "{err}");
    }

    #[test]
    fn corrupt_stanzas_fail_the_file_naming_the_stanza() {
        rejects(
            "Package: a\nVersion: 1\nArchitecture: all\n\nPackage: b\nArchitecture: all\n",
            "stanza 2: package b: no Version",
        );
        rejects("Version: 1\nArchitecture: all\n", "stanza 1: no Package field");
        rejects("Package: a\nVersion: 1\n", "no Architecture");
        rejects("Package: a\nVersion: x:1\nArchitecture: all\n", "invalid version");
        rejects(" orphan continuation\n", "continuation line");
        rejects("Package: a\ngarbage line\n", "line 2");
        rejects("Package: a\nVersion: 1\nArchitecture: all\nSource: x (\n", "invalid Source");
    }

    #[test]
    fn non_utf8_in_a_used_field_is_an_error_but_ignored_elsewhere() {
        let mut data = b"Package: a\nVersion: 1\nArchitecture: all\nMaintainer: J\xe9r\xf4me\n".to_vec();
        assert_eq!(parse_packages("u", &mut data.as_slice()).unwrap().packages.len(), 1);
        data.extend(b"\nPackage: \xff\n");
        assert!(parse_packages("u", &mut data.as_slice()).unwrap_err().to_string().contains("not UTF-8"));
    }
}
