//! Normalises a validated report into what the store writes: content-addressed package ids,
//! per-section digests, OS variant and group names, the host's domain, repository flags.

use xxhash_rust::xxh3::Xxh3;

use crate::report::{Os, PackageKind, Report, ReportedRepo};
use crate::store::{Digest, Digests, PreparedPackage, PreparedRepo, PreparedReport};

pub fn prepare(mut report: Report) -> PreparedReport {
    // One row per offered version; listed as security and as bugfix, it is security.
    report.offered_updates.sort_by(|a, b| key(a).cmp(&key(b)).then(b.security.cmp(&a.security)));
    report.offered_updates.dedup_by(|later, first| key(later) == key(first));
    let mut packages: Vec<PreparedPackage> = report
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| PreparedPackage { id: p.package.id(), index: i as u32 })
        .collect();
    packages.sort_unstable_by_key(|p| p.id);

    let mut h = Xxh3::new();
    for p in &packages {
        h.update(&p.id.to_le_bytes());
    }
    let packages_digest = h.digest128().to_le_bytes();

    let mut sorted_repos: Vec<&ReportedRepo> = report.repos.iter().collect();
    sorted_repos.sort();
    let mut h = Xxh3::new();
    for r in &sorted_repos {
        field(&mut h, &[r.kind as u8]);
        for s in [&r.repo_id, &r.name, &r.suite, &r.component, &r.architecture] {
            field(&mut h, s.as_bytes());
        }
        field(&mut h, &r.priority.to_le_bytes());
        for u in &r.urls {
            field(&mut h, &[u.kind as u8]);
            field(&mut h, u.url.as_bytes());
        }
    }
    let repos_digest = h.digest128().to_le_bytes();

    let mut modules: Vec<&crate::report::ModuleStream> = report.modules.iter().collect();
    modules.sort();
    let mut h = Xxh3::new();
    for m in &modules {
        field(&mut h, m.name.as_bytes());
        field(&mut h, m.stream.as_bytes());
        field(&mut h, m.profiles.join(",").as_bytes());
    }
    let modules_digest = h.digest128().to_le_bytes();

    let meta_digest = meta_digest(&report);
    let (os_group, os_variant) = os_names(&report.os);
    let domain = report.hostname.split_once('.').map(|(_, d)| d.to_owned()).unwrap_or_default();
    let repos = report
        .repos
        .iter()
        .map(|r| {
            let mut reported = r.clone();
            if r.kind == PackageKind::Rpm {
                for u in &mut reported.urls {
                    if let Some(resolved) = super::yum_vars::resolve(&u.url, &report.os, &report.arch) {
                        u.url = resolved;
                    }
                }
            }
            PreparedRepo { display_name: display_name(r), security: is_security_repo(r), reported }
        })
        .collect();
    PreparedReport {
        packages,
        repos,
        os_variant,
        os_group,
        domain,
        digests: Digests { packages: packages_digest, repos: repos_digest, modules: modules_digest, meta: meta_digest },
        wire_digest: None,
        keep_repos: false,
        report,
    }
}

fn key(u: &crate::report::OfferedUpdate) -> (&str, &str, u32, &str, &str) {
    (&u.name, &u.arch, u.epoch, &u.version, &u.release)
}

fn field(h: &mut Xxh3, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

fn meta_digest(r: &Report) -> Digest {
    let mut h = Xxh3::new();
    let os = &r.os;
    for s in [&r.machine_id, &r.kernel, &r.arch, &r.client_version, &os.id, &os.name, &os.version_id, &os.pretty_name] {
        field(&mut h, s.as_bytes());
    }
    for s in [&os.cpe_name, &os.codename, &os.version_detail, &r.reboot.reason] {
        field(&mut h, s.as_bytes());
    }
    field(&mut h, os.id_like.join(" ").as_bytes());
    field(&mut h, &[u8::from(r.reboot.required)]);
    field(&mut h, r.reboot.packages.join(" ").as_bytes());
    field(&mut h, r.tags.join(",").as_bytes());
    // Only when there are some, so the digests of reports without them stay as they were.
    for u in &r.offered_updates {
        for s in [&u.name, &u.arch, &u.version, &u.release, &u.repo] {
            field(&mut h, s.as_bytes());
        }
        field(&mut h, &u.epoch.to_le_bytes());
        field(&mut h, &[u8::from(u.security)]);
    }
    h.digest128().to_le_bytes()
}

/// ("Debian 12", "Debian 12.7"), ("Rocky Linux 9", "Rocky Linux 9.4"), ("Ubuntu 24.04", "Ubuntu 24.04.1").
pub fn os_names(os: &Os) -> (String, String) {
    let name = match os.id.as_str() {
        "debian" => "Debian".to_owned(),
        "ubuntu" => "Ubuntu".to_owned(),
        "fedora" => "Fedora".to_owned(),
        "rhel" => "Red Hat Enterprise Linux".to_owned(),
        _ if !os.name.is_empty() => os.name.trim_end_matches(" GNU/Linux").to_owned(),
        _ => os.id.clone(),
    };
    let version = if os.version_id.is_empty() { os.codename.as_str() } else { os.version_id.as_str() };
    if version.is_empty() {
        return (name.clone(), name);
    }
    let ubuntu_like = os.id == "ubuntu" || os.id_like.iter().any(|l| l == "ubuntu");
    let group_version = if ubuntu_like { version } else { version.split('.').next().unwrap_or(version) };
    let detail = if os.version_detail.is_empty() { version } else { os.version_detail.as_str() };
    (format!("{name} {group_version}"), format!("{name} {detail}"))
}

fn display_name(r: &ReportedRepo) -> String {
    if r.name.is_empty() { r.repo_id.clone() } else { r.name.clone() }
}

/// Debian and Ubuntu publish security updates in `<codename>-security` suites (and, before
/// Debian 11, in `<codename>/updates` of the security archive).
pub fn is_security_repo(r: &ReportedRepo) -> bool {
    let suite = r.suite.trim_end_matches('/');
    suite.ends_with("-security") || (suite.ends_with("/updates") && r.urls.iter().any(|u| u.url.contains("security")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::PackageKind;

    fn os(id: &str, name: &str, version_id: &str, detail: &str) -> Os {
        Os {
            id: id.into(),
            name: name.into(),
            version_id: version_id.into(),
            version_detail: detail.into(),
            ..Os::default()
        }
    }

    #[track_caller]
    fn check_os(o: Os, group: &str, variant: &str) {
        assert_eq!(os_names(&o), (group.to_owned(), variant.to_owned()));
    }

    #[test]
    fn os_groups_and_variants() {
        check_os(os("debian", "Debian GNU/Linux", "12", "12.7"), "Debian 12", "Debian 12.7");
        check_os(os("ubuntu", "Ubuntu", "24.04", "24.04.1"), "Ubuntu 24.04", "Ubuntu 24.04.1");
        check_os(os("rocky", "Rocky Linux", "9.4", ""), "Rocky Linux 9", "Rocky Linux 9.4");
        check_os(os("almalinux", "AlmaLinux", "9.3", ""), "AlmaLinux 9", "AlmaLinux 9.3");
        check_os(os("fedora", "Fedora Linux", "41", ""), "Fedora 41", "Fedora 41");
        check_os(os("opensuse-leap", "openSUSE Leap", "15.6", ""), "openSUSE Leap 15", "openSUSE Leap 15.6");
        let mut sid = os("debian", "Debian GNU/Linux", "", "");
        sid.codename = "trixie".into();
        check_os(sid, "Debian trixie", "Debian trixie");
        check_os(os("weird", "", "", ""), "weird", "weird");
    }

    #[test]
    fn security_suites() {
        let repo = |suite: &str, url: &str| ReportedRepo {
            kind: PackageKind::Deb,
            repo_id: "x".into(),
            name: String::new(),
            priority: 500,
            urls: vec![crate::report::RepoUrl { url: url.into(), kind: crate::report::UrlKind::Apt }],
            suite: suite.into(),
            component: "main".into(),
            architecture: "amd64".into(),
        };
        assert!(is_security_repo(&repo("bookworm-security", "http://deb.debian.org/debian-security")));
        assert!(is_security_repo(&repo("noble-security", "http://security.ubuntu.com/ubuntu")));
        assert!(is_security_repo(&repo("buster/updates", "http://security.debian.org/debian-security")));
        assert!(!is_security_repo(&repo("bookworm-updates", "http://deb.debian.org/debian")));
        assert!(!is_security_repo(&repo("bookworm", "http://security-mirror.example/debian")));
    }
}
