//! Installed Debian packages from dpkg's status file (`/var/lib/dpkg/status`), parsed by lines.
//!
//! The file is a list of deb822 paragraphs. Only the five fields we keep are looked at; every
//! other line (descriptions, conffiles, dependencies) is skipped after a one-byte test, so this
//! host's 650 KB file parses in about a millisecond in a release build.

use std::fs;
use std::path::Path;

use crate::collect::{CollectError, CollectResult, bytes_to_string, is_absent, under};
use crate::model::{Package, PackageKind};

/// Where dpkg keeps its status database on a standard host (apt's `Dir::State::status`).
pub const DEFAULT_STATUS_PATH: &str = "/var/lib/dpkg/status";

/// Installed packages from `<root>/var/lib/dpkg/status`, or `None` when the file does not exist.
pub fn read_dpkg_status(root: &Path) -> CollectResult<Option<Vec<Package>>> {
    let path = under(root, DEFAULT_STATUS_PATH);
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(parse_status(&bytes_to_string(bytes)))),
        Err(err) if is_absent(&err) => Ok(None),
        Err(source) => Err(CollectError::Read { path, source }),
    }
}

/// Installed packages from a status file at a custom path (apt may relocate it with
/// `Dir::State::status`). A missing file is an error here.
pub fn read_status_file(path: &Path) -> CollectResult<Vec<Package>> {
    let bytes = fs::read(path).map_err(|source| CollectError::Read { path: path.to_owned(), source })?;
    Ok(parse_status(&bytes_to_string(bytes)))
}

/// Parses the text of a status file and keeps the packages that are installed.
///
/// A package counts as installed when the third word of `Status:` is `installed`, whatever
/// the selection (`install`, `hold`, `deinstall`, `purge`: a package marked for removal is
/// still on disk) and the error flag. `config-files`, `half-installed`, `unpacked`,
/// `half-configured`, `triggers-*` and `not-installed` are left out.
pub fn parse_status(text: &str) -> Vec<Package> {
    let mut packages = Vec::with_capacity(text.len() / 900);
    let mut para = Paragraph::default();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let Some(&first) = line.as_bytes().first() else {
            para.flush_into(&mut packages);
            continue;
        };
        match first {
            // A whitespace-only line ends the paragraph; others continue a field we skip.
            b' ' | b'\t' if line.trim().is_empty() => para.flush_into(&mut packages),
            b'P' | b'p' | b'S' | b's' | b'V' | b'v' | b'A' | b'a' => {
                if let Some((name, value)) = line.split_once(':') {
                    para.set(name, value.trim());
                }
            }
            _ => {}
        }
    }
    para.flush_into(&mut packages);
    packages
}

/// Splits a Debian version into (epoch, upstream version, revision).
///
/// The epoch is what comes before the first ':' when it is a number (0 otherwise); the
/// revision is what follows the last '-' (empty for a native package).
pub fn split_version(version: &str) -> (u32, &str, &str) {
    let (epoch, rest) = match version.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => match e.parse() {
            Ok(epoch) => (epoch, rest),
            Err(_) => (0, version),
        },
        _ => (0, version),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// The fields of one paragraph we care about, borrowed from the file's text.
#[derive(Default)]
struct Paragraph<'a> {
    package: Option<&'a str>,
    status: Option<&'a str>,
    version: Option<&'a str>,
    arch: Option<&'a str>,
    source: Option<&'a str>,
}

impl<'a> Paragraph<'a> {
    fn set(&mut self, name: &str, value: &'a str) {
        let slot = if name.eq_ignore_ascii_case("Package") {
            &mut self.package
        } else if name.eq_ignore_ascii_case("Status") {
            &mut self.status
        } else if name.eq_ignore_ascii_case("Version") {
            &mut self.version
        } else if name.eq_ignore_ascii_case("Architecture") {
            &mut self.arch
        } else if name.eq_ignore_ascii_case("Source") {
            &mut self.source
        } else {
            return;
        };
        *slot = Some(value);
    }

    fn flush_into(&mut self, out: &mut Vec<Package>) {
        let para = std::mem::take(self);
        if let (Some(name), Some(status), Some(version)) = (para.package, para.status, para.version)
            && is_installed(status)
            && !name.is_empty()
            && !version.is_empty()
        {
            out.push(package(name, version, para.arch.unwrap_or(""), para.source));
        }
    }
}

fn is_installed(status: &str) -> bool {
    status.split_ascii_whitespace().nth(2) == Some("installed")
}

fn package(name: &str, version: &str, arch: &str, source: Option<&str>) -> Package {
    let (epoch, upstream, revision) = split_version(version);
    let (mut source_name, mut source_version) = ("", "");
    if let Some(source) = source {
        let (sname, sversion) = match source.split_once('(') {
            Some((sname, rest)) => (sname.trim(), rest.split(')').next().unwrap_or("").trim()),
            None => (source.trim(), ""),
        };
        if sname != name {
            source_name = sname;
        }
        if sversion != version {
            source_version = sversion;
        }
    }
    Package {
        name: name.to_owned(),
        epoch,
        version: upstream.to_owned(),
        release: revision.to_owned(),
        arch: arch.to_owned(),
        kind: PackageKind::Deb,
        source_name: source_name.to_owned(),
        source_version: source_version.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_split(version: &str, want: (u32, &str, &str)) {
        assert_eq!(split_version(version), want, "split_version({version:?})");
    }

    #[test]
    fn versions_split_into_epoch_upstream_and_revision() {
        check_split("1.22.6", (0, "1.22.6", ""));
        check_split("5.2.15-2+b7", (0, "5.2.15", "2+b7"));
        check_split("1:2.38.1-5+deb12u3", (1, "2.38.1", "5+deb12u3"));
        check_split("2:9.0.1378-2+deb12u2", (2, "9.0.1378", "2+deb12u2"));
        check_split("1.0-rc1-3", (0, "1.0-rc1", "3"));
        check_split("1:1.0-rc1-3ubuntu1", (1, "1.0-rc1", "3ubuntu1"));
        check_split("1.2:3-4", (0, "1.2:3", "4"));
        check_split("99999999999:1.0-1", (0, "99999999999:1.0", "1"));
        check_split(":1.0", (0, ":1.0", ""));
    }

    const STATUS: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u10
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 .
 the system.

Package: old-config
Status: deinstall ok config-files
Architecture: all
Version: 1.0

Package: removing
Status: deinstall ok installed
Architecture: all
Version: 3.0-1

Package: held
Status: hold ok installed
Architecture: amd64
Version: 1:4.2-1
\t
Package: broken
Status: install reinstreq half-installed
Version: 0.1

Package: libpython3.11-minimal
Status: install ok installed
Architecture: amd64
Source: python3.11 (3.11.2-6+deb12u5)
Version: 3.11.2-6+deb12u5

Package: binnmu
Status: install ok installed
Architecture: amd64
Source: bash (5.2.15-2)
Version: 5.2.15-2+b7
";

    #[test]
    fn keeps_installed_packages_and_splits_their_fields() {
        let got = parse_status(STATUS);
        let names: Vec<&str> = got.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libc6", "removing", "held", "libpython3.11-minimal", "binnmu"]);
        let libc = &got[0];
        assert_eq!((libc.epoch, libc.version.as_str(), libc.release.as_str()), (0, "2.36", "9+deb12u10"));
        assert_eq!(
            (libc.arch.as_str(), libc.source_name.as_str(), libc.source_version.as_str()),
            ("amd64", "glibc", "")
        );
        assert_eq!((got[2].epoch, got[2].version.as_str(), got[2].release.as_str()), (1, "4.2", "1"));
        // Source version equal to the binary's is left out; a binNMU's differs and is kept.
        assert_eq!((got[3].source_name.as_str(), got[3].source_version.as_str()), ("python3.11", ""));
        assert_eq!((got[4].source_name.as_str(), got[4].source_version.as_str()), ("bash", "5.2.15-2"));
        assert!(got.iter().all(|p| p.kind == PackageKind::Deb));
    }

    #[test]
    fn odd_content_never_panics() {
        for text in [
            "",
            "\n\n\n",
            "Package:\nStatus: install ok installed\nVersion:\n",
            ":\n:::\n",
            "Package: x\r\nStatus: install ok installed\r\nVersion: 1\r\n",
            " \n\t\nPackage",
        ] {
            let _ = parse_status(text);
        }
        let crlf = parse_status("Package: x\r\nStatus: install ok installed\r\nVersion: 1-2\r\n");
        assert_eq!(crlf.len(), 1);
        assert_eq!(crlf[0].release, "2");
    }

    #[test]
    fn a_missing_status_file_is_none_and_a_custom_path_must_exist() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_dpkg_status(dir.path()).unwrap(), None);
        assert!(read_status_file(&dir.path().join("status")).is_err());
        std::fs::write(dir.path().join("status"), STATUS).unwrap();
        assert_eq!(read_status_file(&dir.path().join("status")).unwrap().len(), 5);
    }

    /// This host's real status file against what dpkg itself reports as installed
    /// (`db:Status-Abbrev` second letter `i`: unpacked and configured).
    #[test]
    fn this_hosts_status_file_matches_dpkg_query() {
        let out = std::process::Command::new("dpkg-query")
            .args(["-W", "-f=${db:Status-Abbrev}\t${Package}\t${Architecture}\t${Version}\n"])
            .output()
            .expect("dpkg-query is needed: this test compares against the host's real dpkg database");
        assert!(out.status.success(), "dpkg-query failed: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let mut want: Vec<(String, String, String)> = text
            .lines()
            .filter(|l| l.as_bytes().get(1) == Some(&b'i'))
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[1].to_owned(), f[2].to_owned(), f[3].to_owned())
            })
            .collect();
        let mut got: Vec<(String, String, String)> = read_status_file(Path::new(DEFAULT_STATUS_PATH))
            .unwrap()
            .into_iter()
            .map(|p| {
                let mut v = if p.epoch > 0 { format!("{}:{}", p.epoch, p.version) } else { p.version.clone() };
                if !p.release.is_empty() {
                    v = format!("{v}-{}", p.release);
                }
                (p.name, p.arch, v)
            })
            .collect();
        want.sort();
        got.sort();
        assert!(want.len() > 50, "dpkg-query listed only {} installed packages", want.len());
        assert_eq!(got.len(), want.len());
        assert_eq!(got, want);
        for name in ["dpkg", "bash", "libc6"] {
            let out = std::process::Command::new("dpkg-query").args(["-W", "-f=${Version}", name]).output().unwrap();
            let version = String::from_utf8(out.stdout).unwrap();
            assert!(got.iter().any(|(n, _, v)| n == name && *v == version), "{name} {version} not collected");
        }
    }
}
