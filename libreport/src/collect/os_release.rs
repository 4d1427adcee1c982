//! The distribution: /etc/os-release (fallback /usr/lib/os-release) as os-release(5) defines
//! it, plus a more precise version from /etc/debian_version or Ubuntu's VERSION.

use std::collections::HashMap;
use std::path::Path;

use crate::collect::{CollectResult, read_optional, under};
use crate::model::OsInfo;

/// Reads the host's os-release. A host without one gets an empty `OsInfo`, not an error.
pub fn read_os_release(root: &Path) -> CollectResult<OsInfo> {
    let text = match read_optional(&under(root, "/etc/os-release"))? {
        Some(text) => text,
        None => read_optional(&under(root, "/usr/lib/os-release"))?.unwrap_or_default(),
    };
    let fields = parse_os_release(&text);
    let mut os = os_info(&fields);
    os.version_detail = if is_ubuntu(&os) {
        ubuntu_point_release(fields.get("VERSION").map_or("", String::as_str), &os.version_id)
    } else if is_debian(&os) {
        let version = read_optional(&under(root, "/etc/debian_version"))?.unwrap_or_default();
        let version = version.trim();
        if version.starts_with(|c: char| c.is_ascii_digit()) { version.to_owned() } else { String::new() }
    } else {
        String::new()
    };
    Ok(os)
}

/// Parses `KEY=value` lines: comments and blank lines are skipped, values may be quoted with
/// '"' or '\'' and use backslash escapes as in a shell. A later assignment wins.
pub fn parse_os_release(text: &str) -> HashMap<String, String> {
    let mut fields = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let key = key.trim();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        fields.insert(key.to_owned(), unquote(value));
    }
    fields
}

/// Fills `OsInfo` from parsed fields (without `version_detail`, which needs other files).
pub fn os_info(fields: &HashMap<String, String>) -> OsInfo {
    let get = |key: &str| fields.get(key).cloned().unwrap_or_default();
    let mut codename = get("VERSION_CODENAME");
    if codename.is_empty() {
        codename = get("UBUNTU_CODENAME");
    }
    OsInfo {
        id: get("ID"),
        id_like: get("ID_LIKE").split_whitespace().map(str::to_owned).collect(),
        name: get("NAME"),
        version_id: get("VERSION_ID"),
        pretty_name: get("PRETTY_NAME"),
        cpe_name: get("CPE_NAME"),
        codename,
        version_detail: String::new(),
    }
}

/// "24.04.1" from VERSION="24.04.1 LTS (Noble Numbat)" when VERSION_ID is "24.04"; empty when
/// VERSION says nothing more precise than VERSION_ID.
pub fn ubuntu_point_release(version: &str, version_id: &str) -> String {
    let end = version.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(version.len());
    let leading = version[..end].trim_end_matches('.');
    match leading.strip_prefix(version_id) {
        Some(rest) if !version_id.is_empty() && rest.len() > 1 && rest.starts_with('.') => leading.to_owned(),
        _ => String::new(),
    }
}

fn is_ubuntu(os: &OsInfo) -> bool {
    os.id == "ubuntu" || os.id_like.iter().any(|l| l == "ubuntu")
}

fn is_debian(os: &OsInfo) -> bool {
    os.id == "debian" || os.id_like.iter().any(|l| l == "debian") && !is_ubuntu(os)
}

/// Removes shell quoting: "…" (backslash escapes `$ " \ \``), '…' (literal), and bare
/// backslash escapes outside quotes.
fn unquote(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.trim().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => loop {
                match chars.next() {
                    None | Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some(n @ ('$' | '"' | '\\' | '`')) => out.push(n),
                        Some(n) => {
                            out.push('\\');
                            out.push(n);
                        }
                        None => out.push('\\'),
                    },
                    Some(ch) => out.push(ch),
                }
            },
            '\'' => loop {
                match chars.next() {
                    None | Some('\'') => break,
                    Some(ch) => out.push(ch),
                }
            },
            '\\' => out.extend(chars.next()),
            ch => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_unquote(raw: &str, want: &str) {
        assert_eq!(unquote(raw), want, "unquote({raw:?})");
    }

    #[test]
    fn values_lose_their_shell_quoting() {
        check_unquote("debian", "debian");
        check_unquote("\"Debian GNU/Linux\"", "Debian GNU/Linux");
        check_unquote("'9.4'", "9.4");
        check_unquote(r#""Rocky Linux 9.4 (Blue \"Onyx\")""#, r#"Rocky Linux 9.4 (Blue "Onyx")"#);
        check_unquote(r#""a \$HOME \\ \n b""#, r#"a $HOME \ \n b"#);
        check_unquote(r"plain\ escaped", "plain escaped");
        check_unquote("\"\"", "");
        check_unquote("\"unterminated", "unterminated");
        check_unquote("trailing\\", "trailing");
    }

    #[test]
    fn point_releases_come_from_ubuntu_version() {
        assert_eq!(ubuntu_point_release("24.04.1 LTS (Noble Numbat)", "24.04"), "24.04.1");
        assert_eq!(ubuntu_point_release("24.04 LTS (Noble Numbat)", "24.04"), "");
        assert_eq!(ubuntu_point_release("21.3 (Virginia)", "21.3"), "");
        assert_eq!(ubuntu_point_release("22.04.5 LTS (Jammy Jellyfish)", "20.04"), "");
        assert_eq!(ubuntu_point_release("", ""), "");
    }

    #[derive(Clone, Copy)]
    struct Want {
        id: &'static str,
        id_like: &'static [&'static str],
        name: &'static str,
        version_id: &'static str,
        pretty_name: &'static str,
        cpe_name: &'static str,
        codename: &'static str,
        version_detail: &'static str,
    }

    /// Puts a fixture (and optionally /etc/debian_version) into a fresh root and reads it.
    #[track_caller]
    fn check(fixture: &str, debian_version: Option<&str>, want: Want) {
        let dir = tempfile::tempdir().unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/os-release").join(fixture);
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::copy(&src, dir.path().join("etc/os-release")).unwrap();
        if let Some(dv) = debian_version {
            let dv = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/os-release").join(dv);
            std::fs::copy(dv, dir.path().join("etc/debian_version")).unwrap();
        }
        let got = read_os_release(dir.path()).unwrap();
        let want = OsInfo {
            id: want.id.into(),
            id_like: want.id_like.iter().map(|s| s.to_string()).collect(),
            name: want.name.into(),
            version_id: want.version_id.into(),
            pretty_name: want.pretty_name.into(),
            cpe_name: want.cpe_name.into(),
            codename: want.codename.into(),
            version_detail: want.version_detail.into(),
        };
        assert_eq!(got, want, "{fixture}");
    }

    #[test]
    fn debian_12_takes_the_point_release_from_debian_version() {
        let want = Want {
            id: "debian",
            id_like: &[],
            name: "Debian GNU/Linux",
            version_id: "12",
            pretty_name: "Debian GNU/Linux 12 (bookworm)",
            cpe_name: "",
            codename: "bookworm",
            version_detail: "12.11",
        };
        check("debian-12", Some("debian_version-12"), want);
        let no_detail = Want { version_detail: "", ..want };
        check("debian-12", None, no_detail);
    }

    #[test]
    fn ubuntu_24_04_takes_the_point_release_from_version() {
        let want = Want {
            id: "ubuntu",
            id_like: &["debian"],
            name: "Ubuntu",
            version_id: "24.04",
            pretty_name: "Ubuntu 24.04 LTS",
            cpe_name: "",
            codename: "noble",
            version_detail: "",
        };
        // /etc/debian_version on Ubuntu says "trixie/sid"; it must not be used.
        check("ubuntu-24.04", None, want);
        check("ubuntu-24.04.3", None, Want { pretty_name: "Ubuntu 24.04.3 LTS", version_detail: "24.04.3", ..want });
    }

    #[test]
    fn rpm_distributions() {
        let el = |id, name, pretty: &'static str, cpe| Want {
            id,
            id_like: &["rhel", "centos", "fedora"],
            name,
            version_id: "9.4",
            pretty_name: pretty,
            cpe_name: cpe,
            codename: "",
            version_detail: "",
        };
        check(
            "rocky-9.4",
            None,
            el("rocky", "Rocky Linux", "Rocky Linux 9.4 (Blue Onyx)", "cpe:/o:rocky:rocky:9::baseos"),
        );
        check(
            "almalinux-9.4",
            None,
            el("almalinux", "AlmaLinux", "AlmaLinux 9.4 (Seafoam Ocelot)", "cpe:/o:almalinux:almalinux:9::baseos"),
        );
        let fedora = Want {
            id: "fedora",
            id_like: &[],
            name: "Fedora Linux",
            version_id: "41",
            pretty_name: "Fedora Linux 41 (Container Image)",
            cpe_name: "cpe:/o:fedoraproject:fedora:41",
            codename: "",
            version_detail: "",
        };
        check("fedora-41", None, fedora);
        let leap = Want {
            id: "opensuse-leap",
            id_like: &["suse", "opensuse"],
            name: "openSUSE Leap",
            version_id: "15.6",
            pretty_name: "openSUSE Leap 15.6",
            cpe_name: "cpe:/o:opensuse:leap:15.6",
            codename: "",
            version_detail: "",
        };
        check("opensuse-leap-15.6", None, leap);
    }

    #[test]
    fn usr_lib_os_release_is_the_fallback_and_nothing_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_os_release(dir.path()).unwrap(), OsInfo::default());
        std::fs::create_dir_all(dir.path().join("usr/lib")).unwrap();
        std::fs::write(dir.path().join("usr/lib/os-release"), "ID=arch\n# c\n\nbad line\n=x\nNAME='Arch Linux'\n")
            .unwrap();
        let os = read_os_release(dir.path()).unwrap();
        assert_eq!((os.id.as_str(), os.name.as_str()), ("arch", "Arch Linux"));
    }
}
