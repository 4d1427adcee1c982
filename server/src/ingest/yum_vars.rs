//! yum/dnf variables a host left unresolved in its repository URLs (`$releasever`,
//! `$releasever_major`, `$releasever_minor`, `$basearch`, `$arch`, also as `${name}`),
//! resolved from what the host reported of itself, as dnf (and `patchman-client`) would.
//! Other variables stay as they are. The server shares no code with the client (see
//! ARCHITECTURE.md): this is the same small rule, kept in step by the tests of both.

use crate::report::Os;

/// The URL with the known variables replaced; `None` when it has none.
pub fn resolve(url: &str, os: &Os, arch: &str) -> Option<String> {
    if !url.contains('$') {
        return None;
    }
    let mut out = String::with_capacity(url.len() + 8);
    let mut rest = url;
    let mut replaced = false;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match value(name, os, arch) {
            Some(v) if len > 0 => {
                out.push_str(&v);
                rest = &after[len..];
                replaced = true;
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    replaced.then_some(out)
}

fn value(name: &str, os: &Os, arch: &str) -> Option<String> {
    // As dnf: the major version on Enterprise Linux and its rebuilds ("9.4" → "9"), the
    // whole version elsewhere (Fedora 41, openSUSE Leap 15.6); major and minor are parts of
    // that releasever, so EL's minor is empty.
    let releasever = match os.version_id.split_once('.') {
        Some((major, _)) if enterprise_linux(os) => major,
        _ => os.version_id.as_str(),
    };
    let (major, minor) = releasever.split_once('.').unwrap_or((releasever, ""));
    let v = match name {
        "releasever" => releasever,
        "releasever_major" => major,
        "releasever_minor" => minor,
        "basearch" => basearch(arch),
        "arch" => arch,
        _ => return None,
    };
    // An unknown OS version leaves the release variables as written.
    let known = if name.starts_with("releasever") { !releasever.is_empty() } else { !v.is_empty() };
    known.then(|| v.to_owned())
}

fn enterprise_linux(os: &Os) -> bool {
    let like = |name: &str| os.id == name || os.id_like.iter().any(|l| l == name);
    os.id != "fedora" && ["rhel", "centos", "fedora"].into_iter().any(like)
}

/// dnf's base architecture of a machine architecture.
fn basearch(arch: &str) -> &str {
    match arch {
        "i386" | "i486" | "i586" | "i686" | "athlon" | "geode" => "i386",
        "armv7l" | "armv7hl" | "armv7hnl" | "armv8l" => "armhfp",
        "armv6l" | "armv6hl" => "armhfp",
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(id: &str, id_like: &str, version_id: &str) -> Os {
        let id_like = id_like.split_whitespace().map(str::to_owned).collect();
        Os { id: id.into(), id_like, version_id: version_id.into(), ..Os::default() }
    }

    #[test]
    fn known_variables_are_resolved_from_the_host() {
        let rocky = os("rocky", "rhel centos fedora", "9.4");
        let cases = [
            (
                "https://dl.rockylinux.org/pub/rocky/$releasever/BaseOS/$basearch/os/",
                "x86_64",
                Some("https://dl.rockylinux.org/pub/rocky/9/BaseOS/x86_64/os/"),
            ),
            ("https://m/${releasever_major}/${basearch}/", "i686", Some("https://m/9/i386/")),
            // dnf's releasever on EL is the major version: its minor part is empty.
            ("https://m/$releasever_minor/", "x86_64", Some("https://m//")),
            ("https://m/$releasever/$contentdir/$arch", "aarch64", Some("https://m/9/$contentdir/aarch64")),
            ("https://m/$releasever_major-$arch", "armv7hl", Some("https://m/9-armv7hl")),
            ("https://m/plain/", "x86_64", None),
            ("https://m/$unknown/${also}/$", "x86_64", None),
            ("https://m/${unterminated/$basearch", "x86_64", Some("https://m/${unterminated/x86_64")),
        ];
        for (url, arch, want) in cases {
            assert_eq!(resolve(url, &rocky, arch).as_deref(), want, "{url} on {arch}");
        }
        let fedora = os("fedora", "", "41");
        assert_eq!(
            resolve("https://f/$releasever/$basearch", &fedora, "x86_64").as_deref(),
            Some("https://f/41/x86_64")
        );
        let centos = os("centos", "rhel fedora", "8");
        assert_eq!(resolve("https://c/$releasever/", &centos, "x86_64").as_deref(), Some("https://c/8/"));
        let leap = os("opensuse-leap", "suse opensuse", "15.6");
        assert_eq!(resolve("https://o/$releasever/", &leap, "x86_64").as_deref(), Some("https://o/15.6/"));
        assert_eq!(resolve("https://o/$releasever_minor/", &leap, "x86_64").as_deref(), Some("https://o/6/"));
        // Nothing known of the OS: the variable stays.
        assert_eq!(resolve("https://c/$releasever/", &Os::default(), "x86_64"), None);
        assert_eq!(resolve("https://c/$basearch/", &Os::default(), "x86_64").as_deref(), Some("https://c/x86_64/"));
    }
}
