use std::collections::HashMap;

use super::*;
use crate::report::{PackageKind, RepoUrl, Trigger, UrlKind};

const LIMITS: Limits = Limits { max_packages: 100 };

fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// A Debian host as `patchman-client` 4 sends it (the baseline's recorded request).
fn debian() -> HashMap<String, String> {
    form(&[
        ("host", "Deb12-00001.dc1.example.org"),
        ("tags", "web,Default"),
        ("kernel", "6.1.0-18-amd64"),
        ("arch", "x86_64"),
        ("protocol", "1"),
        ("os", "Debian 12.5"),
        ("report", "false"),
        (
            "packages",
            "'ace-gperf' '' '7.0.8+dfsg' '2' 'amd64' 'deb'\n'zlib1g' '1' '1.2.13.dfsg' '1' 'amd64' 'deb'\n'adduser' '' '3.134' '' 'all' 'deb'\n\n",
        ),
        (
            "repos",
            "'deb' 'Debian 12 x86_64 repo at http://127.0.0.1:8766/debian/dists/bookworm/main/binary-amd64' '500' 'http://127.0.0.1:8766/debian/dists/bookworm/main/binary-amd64'\n\
             'deb' 'Debian 12 x86_64 repo at http://127.0.0.1:8766/debian-security/dists/bookworm-security/main/binary-amd64' '500' 'http://127.0.0.1:8766/debian-security/dists/bookworm-security/main/binary-amd64'\n",
        ),
        ("sec_updates", ""),
        ("bug_updates", ""),
        ("modules", ""),
        ("reboot", "True"),
    ])
}

fn rocky() -> HashMap<String, String> {
    form(&[
        ("host", "rocky9.example.org"),
        ("tags", "db"),
        ("kernel", "5.14.0-362.8.1.el9_3.x86_64%2bdebug"),
        ("arch", "x86_64"),
        ("protocol", "1"),
        ("os", "Rocky Linux 9.3 (Blue Onyx) [cpe:/o:rocky:rocky:9::baseos]"),
        ("report", "true"),
        (
            "packages",
            "'kernel-core' '' '5.14.0' '362.8.1.el9_3' 'x86_64' 'rpm'\n'openssl-libs' '1' '3.0.7' '24.el9' 'x86_64' 'rpm'\n'gpg-pubkey' '' '350d275d' '6279464b' '' 'rpm'\n",
        ),
        (
            "repos",
            "'rpm' 'Rocky Linux 9 - BaseOS x86_64' 'cpe:/o:rocky:rocky:9::baseos-baseos' '99' 'https://mirrors.rockylinux.org/mirrorlist?arch=x86_64&repo=BaseOS-9' 'http://127.0.0.1:8766/rocky/9/BaseOS/x86_64/os/'\n\
             'rpm' 'EPEL x86_64' 'cpe:/o:rocky:rocky:9::baseos-epel' '' 'https://mirrors.fedoraproject.org/metalink?repo=epel-9&arch=x86_64'\n",
        ),
        (
            "modules",
            "'nginx' '1.20' '8060020220629' '9edba152' 'x86_64' 'cpe:/o:rocky:rocky:9::baseos-appstream' 'nginx-1:1.20.1-1.module+el8.6.0+1.x86_64'\n",
        ),
        ("sec_updates", "openssl-libs.x86_64  1:3.0.7-25.el9_3  baseos\n"),
        ("bug_updates", ""),
        ("reboot", "ServerCheck"),
    ])
}

fn parsed(f: &HashMap<String, String>) -> Upload {
    parse(f, LIMITS, "r1".into(), 1_000).unwrap()
}

fn error(f: &HashMap<String, String>) -> String {
    parse(f, LIMITS, "r1".into(), 1_000).unwrap_err().to_string()
}

#[test]
fn a_debian_upload_reads_as_the_apt_collector_reports_it() {
    let u = parsed(&debian());
    let r = &u.report;
    assert_eq!(r.hostname, "deb12-00001.dc1.example.org");
    assert_eq!(r.tags, ["Default", "web"]);
    assert_eq!((r.os.id.as_str(), r.os.version_id.as_str(), r.os.version_detail.as_str()), ("debian", "12", "12.5"));
    assert_eq!(crate::ingest::os_names(&r.os), ("Debian 12".to_owned(), "Debian 12.5".to_owned()));
    assert_eq!(r.packages.len(), 3);
    let zlib = &r.packages[1].package;
    assert_eq!(
        (zlib.kind, zlib.name.as_str(), zlib.epoch, zlib.evr().as_str()),
        (PackageKind::Deb, "zlib1g", 1, "1:1.2.13.dfsg-1")
    );
    assert_eq!(r.packages[2].package.release, "");
    let sec = &r.repos[1];
    assert_eq!(sec.repo_id, "127.0.0.1:8766/debian-security bookworm-security/main amd64");
    assert_eq!(
        (sec.suite.as_str(), sec.component.as_str(), sec.architecture.as_str()),
        ("bookworm-security", "main", "amd64")
    );
    assert_eq!(
        sec.urls,
        [RepoUrl {
            url: "http://127.0.0.1:8766/debian-security/dists/bookworm-security/main/binary-amd64".into(),
            kind: UrlKind::Apt
        }]
    );
    assert_eq!(sec.priority, 500);
    assert!(r.reboot.required);
    assert!(!u.echo);
    assert_eq!(r.trigger, Trigger::Timer);
}

#[test]
fn a_rocky_upload_keeps_priorities_mirrorlists_metalinks_and_modules() {
    let u = parsed(&rocky());
    let r = &u.report;
    assert_eq!(r.kernel, "5.14.0-362.8.1.el9_3.x86_64+debug", "%2b is a plus");
    assert_eq!((r.os.name.as_str(), r.os.version_id.as_str()), ("Rocky Linux", "9.3"));
    assert_eq!(r.os.cpe_name, "cpe:/o:rocky:rocky:9::baseos");
    assert_eq!(crate::ingest::os_names(&r.os), ("Rocky Linux 9".to_owned(), "Rocky Linux 9.3".to_owned()));
    assert_eq!(r.packages.len(), 2, "gpg-pubkey is not a package");
    let base = &r.repos[0];
    assert_eq!((base.repo_id.as_str(), base.name.as_str(), base.priority), ("baseos", "Rocky Linux 9 - BaseOS", 99));
    assert_eq!(base.urls.iter().map(|u| u.kind).collect::<Vec<_>>(), [UrlKind::Mirrorlist, UrlKind::Baseurl]);
    assert_eq!(base.urls[1].url, "http://127.0.0.1:8766/rocky/9/BaseOS/x86_64/os", "a trailing / is dropped");
    let epel = &r.repos[1];
    assert_eq!((epel.repo_id.as_str(), epel.priority, epel.urls[0].kind), ("epel", 99, UrlKind::Metalink));
    assert_eq!(r.modules, [ModuleStream { name: "nginx".into(), stream: "1.20".into(), profiles: vec![] }]);
    assert_eq!(
        r.offered_updates,
        [OfferedUpdate {
            name: "openssl-libs".into(),
            arch: "x86_64".into(),
            epoch: 1,
            version: "3.0.7".into(),
            release: "25.el9_3".into(),
            repo: "baseos".into(),
            security: true,
        }]
    );
    assert!(u.echo && !r.reboot.required);
}

#[test]
fn a_hook_upload_has_no_repositories_and_is_a_transaction() {
    let mut f = debian();
    f.insert("repos".into(), String::new());
    let r = parsed(&f).report;
    assert!(r.repos.is_empty());
    assert_eq!(r.trigger, Trigger::Transaction);
}

#[test]
fn other_os_strings_are_read_as_their_release_files_say() {
    let os_of = |s: &str| {
        let mut f = debian();
        f.insert("os".into(), s.into());
        parsed(&f).report.os
    };
    let ubuntu = os_of("Ubuntu 22.04.4 LTS");
    assert_eq!(
        (ubuntu.id.as_str(), ubuntu.version_id.as_str(), ubuntu.version_detail.as_str()),
        ("ubuntu", "22.04", "22.04.4")
    );
    let centos = os_of("CentOS Linux release 7.9.2009 (Core)");
    assert_eq!(
        (centos.id.as_str(), centos.name.as_str(), centos.version_id.as_str()),
        ("centos", "CentOS Linux", "7.9.2009")
    );
    let rhel = os_of("Red Hat Enterprise Linux release 9.4 (Plow) [cpe:/o:redhat:enterprise_linux:9::baseos]");
    assert_eq!((rhel.id.as_str(), rhel.version_id.as_str()), ("rhel", "9.4"));
    assert_eq!(os_of("Arch Linux").id, "arch", "Arch has no version");
}

#[test]
fn each_bad_field_is_named_with_its_line() {
    let with = |k: &str, v: &str| {
        let mut f = debian();
        f.insert(k.into(), v.into());
        error(&f)
    };
    assert_eq!(
        with("packages", "this is not a package line"),
        "packages line 1: expected a quoted value, found \"this is not a packag\""
    );
    assert_eq!(
        with("packages", "'bash' '' '5.2.15' '2' 'amd64' 'deb'\n'x' '1' '2'"),
        "packages line 2: 3 values; a package line has 6: 'name' 'epoch' 'version' 'release' 'arch' 'type'"
    );
    assert_eq!(with("packages", "'bash' 'x' '5.2' '2' 'amd64' 'deb'"), "packages line 1 epoch: \"x\" is not a number");
    assert_eq!(
        with("packages", "'bash' '' '5.2' '2' 'amd64' 'apk'"),
        "packages line 1: type \"apk\" is not deb, rpm, arch or gentoo"
    );
    assert_eq!(
        with("packages", "'bash' '0' '5.1_p16' '1' 'amd64' 'gentoo'"),
        "packages line 1: 6 values; a gentoo package line has 8"
    );
    assert_eq!(
        with("packages", "'bash' '' '5.2' '2' 'amd64' 'deb'\n'bash' '' '5.2' '2' 'amd64' 'deb'"),
        "packages line 2: repeats packages line 1 (bash 5.2-2)"
    );
    assert_eq!(with("os", "Debian"), "os: \"Debian\" names no version (expected e.g. \"Debian 12.7\")");
    assert_eq!(with("os", ""), "os: is required");
    assert_eq!(with("kernel", ""), "kernel: must not be empty");
    assert_eq!(with("host", ""), "host: must not be empty");
    assert_eq!(with("host", "web 01"), "host: contains ' '; only letters, digits, '-', '_' and '.' are allowed");
    assert_eq!(with("reboot", "maybe"), "reboot: \"maybe\" is not True or ServerCheck");
    assert_eq!(with("report", "yes"), "report: \"yes\" is not true or false");
    assert_eq!(with("protocol", "2"), "protocol: \"2\" is not 1 (protocol 2 posts JSON to /api/report/)");
    assert_eq!(
        with("sec_updates", "openssl.x86_64 1:3.0.7-28.el9_4 baseos extra"),
        "sec_updates line 1: 4 words; expected 'name.arch version repo'"
    );
    assert_eq!(with("bug_updates", "\n\nlonely"), "bug_updates line 3: 1 words; expected 'name.arch version repo'");
    assert_eq!(
        with("repos", "'deb' 'x' '500' 'http://h/debian/pool/main'"),
        "repos line 1 url: \"http://h/debian/pool/main\" does not end in /dists/SUITE/COMPONENT/binary-ARCH"
    );
    assert_eq!(
        with("repos", "'deb' 'x' 'high' 'http://h/debian/dists/bookworm/main/binary-amd64'"),
        "repos line 1 priority: \"high\" is not a priority"
    );
    assert_eq!(with("repos", "garbage"), "repos line 1: expected a quoted value, found \"garbage\"");
    assert_eq!(
        with("repos", "'rpm' 'Base' 'base' '99'"),
        "repos line 1: 4 values; an rpm repository line has 'rpm' 'name' 'id' 'priority' and its URLs"
    );
    assert_eq!(
        with("repos", "'rpm' 'Base' 'base' '99' 'rsync://h/x'"),
        "repos line 1 url: scheme \"rsync\" is not supported (http, https, ftp, file)"
    );
    assert_eq!(
        with("modules", "'nginx' '1.20'"),
        "modules line 1: 2 values; a module line has 'name' 'stream' 'version' 'context' 'arch' 'repo' and its packages"
    );
    assert_eq!(with("tags", "a b"), "tags: contains ' '; only letters, digits, '-', '_', '.', ':' and '/' are allowed");
}

#[test]
fn arch_and_gentoo_hosts_are_read_as_inventory() {
    let mut arch = debian();
    arch.insert("os".into(), "Arch Linux".into());
    arch.insert(
        "packages".into(),
        "'bash' '' '5.2.026' '2' 'x86_64' 'arch'\n'glibc' '1' '2.40' '1' 'x86_64' 'arch'\n".into(),
    );
    arch.insert(
        "repos".into(),
        "'arch' 'Arch Linux core x86_64' 'core' 'https://geo.mirror.pkgbuild.com/core/os/x86_64' 'https://mirror.example.org/archlinux/core/os/x86_64'\n".into(),
    );
    let r = parsed(&arch).report;
    assert_eq!(r.os.id, "arch");
    let glibc = &r.packages[1].package;
    assert_eq!((glibc.kind, glibc.name.as_str(), glibc.evr().as_str()), (PackageKind::Arch, "glibc", "1:2.40-1"));
    let core = &r.repos[0];
    assert_eq!(
        (core.kind, core.repo_id.as_str(), core.name.as_str(), core.priority),
        (PackageKind::Arch, "core", "Arch Linux core x86_64", 0)
    );
    assert_eq!(core.urls.len(), 2);

    let mut gentoo = debian();
    gentoo.insert("os".into(), "Gentoo Linux 2.15".into());
    gentoo.insert("packages".into(), "'bash' '0' '5.1_p16' '1' 'amd64' 'gentoo' 'app-shells' 'gentoo'\n'python' '3.12' '3.12.7' '' 'amd64' 'gentoo' 'dev-lang' 'gentoo'\n".into());
    gentoo.insert(
        "repos".into(),
        "'gentoo' 'Gentoo Linux gentoo Repo x86_64' 'gentoo' '-1000' 'rsync://rsync.gentoo.org/gentoo-portage'\n"
            .into(),
    );
    let r = parsed(&gentoo).report;
    let bash = &r.packages[0].package;
    assert_eq!(
        (bash.kind, bash.name.as_str(), bash.epoch, bash.evr().as_str()),
        (PackageKind::Gentoo, "app-shells/bash", 0, "5.1_p16-1")
    );
    assert_eq!(r.packages[1].package.name, "dev-lang/python", "the SLOT is not an epoch");
    let repo = &r.repos[0];
    assert_eq!((repo.kind, repo.repo_id.as_str(), repo.priority), (PackageKind::Gentoo, "gentoo", -1000));
    assert_eq!(repo.urls[0].url, "rsync://rsync.gentoo.org/gentoo-portage");
}

#[test]
fn the_hosts_own_updates_are_read_with_their_versions_split() {
    let mut f = rocky();
    f.insert(
        "sec_updates".into(),
        "openssl.x86_64                    1:3.0.7-28.el9_4                      cpe:/o:rocky:rocky:9::baseos-baseos\n"
            .into(),
    );
    f.insert(
        "bug_updates".into(),
        "openssl.x86_64  1:3.0.7-28.el9_4  baseos\ncurl.x86_64  7.76.1-29.el9_4.1  baseos\n".into(),
    );
    let mut r = parsed(&f).report;
    r.offered_updates.sort();
    let evr: Vec<(&str, u32, &str, &str, bool)> = r
        .offered_updates
        .iter()
        .map(|u| (u.name.as_str(), u.epoch, u.version.as_str(), u.release.as_str(), u.security))
        .collect();
    assert_eq!(
        evr,
        [
            ("curl", 0, "7.76.1", "29.el9_4.1", false),
            ("openssl", 1, "3.0.7", "28.el9_4", false),
            ("openssl", 1, "3.0.7", "28.el9_4", true)
        ],
        "listed twice here; ingest keeps it once, as security"
    );
    // apt's lines (`patchman-client -u` on Debian) have two words.
    let mut d = debian();
    d.insert("sec_updates".into(), "openssl.amd64 3.0.15-1~deb12u1\n".into());
    let u = &parsed(&d).report.offered_updates[0];
    assert_eq!(
        (u.name.as_str(), u.arch.as_str(), u.version.as_str(), u.release.as_str(), u.repo.as_str()),
        ("openssl", "amd64", "3.0.15", "1~deb12u1", "")
    );
}

#[test]
fn too_many_packages_are_refused() {
    let mut f = debian();
    let lines: String = (0..101).map(|i| format!("'p{i}' '' '1' '1' 'amd64' 'deb'\n")).collect();
    f.insert("packages".into(), lines);
    assert_eq!(error(&f), "packages: more than the limit of 100 packages");
}
