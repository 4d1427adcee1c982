//! Tests of the yum/dnf repository collector: variables, releasever, and real `.repo` files.

use std::fs;

use super::*;
use crate::collect::os_release::{os_info, parse_os_release};

fn testdata(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel)
}

fn os(fixture: &str) -> OsInfo {
    os_info(&parse_os_release(&fs::read_to_string(testdata(&format!("os-release/{fixture}"))).unwrap()))
}

#[track_caller]
fn check_subst(vars: &YumVars, text: &str, want: &str) {
    assert_eq!(vars.substitute(text), want, "substitute({text:?})");
}

#[test]
fn variables_are_substituted_in_both_forms() {
    let mut vars = YumVars::new("9.4", "x86_64");
    vars.set("contentdir", "pub/rocky");
    vars.set("rltype", "");
    vars.set("release", "WRONG");
    check_subst(&vars, "BaseOS-$releasever$rltype", "BaseOS-9.4");
    check_subst(&vars, "${contentdir}/${releasever}/x", "pub/rocky/9.4/x");
    check_subst(&vars, "$releasever_major.$releasever_minor-$basearch-$arch", "9.4-x86_64-x86_64");
    // The whole identifier is the name: $releasever is not $release + "ver".
    check_subst(&vars, "$release/$releasever", "WRONG/9.4");
    check_subst(&vars, "$unknown ${unknown} ${open $ $$ end$", "$unknown ${unknown} ${open $ $$ end$");
    check_subst(&vars, "no variables, ünïcödé", "no variables, ünïcödé");
}

#[test]
fn releasever_and_basearch_follow_dnf() {
    for (fixture, want) in [
        ("rocky-9.4", "9"),
        ("almalinux-9.4", "9"),
        ("fedora-41", "41"),
        ("opensuse-leap-15.6", "15.6"),
        ("debian-12", "12"),
    ] {
        assert_eq!(releasever_from_os(&os(fixture)), want, "{fixture}");
    }
    for (machine, want) in [
        ("x86_64", "x86_64"),
        ("i686", "i386"),
        ("aarch64", "aarch64"),
        ("armv7l", "armhfp"),
        ("ppc64le", "ppc64le"),
        ("s390x", "s390x"),
    ] {
        assert_eq!(basearch(machine), want, "{machine}");
    }
}

#[track_caller]
fn check_repo(r: &Repo, id: &str, name: &str, priority: i32, urls: &[(UrlKind, &str)]) {
    let got: Vec<(UrlKind, &str)> = r.urls.iter().map(|u| (u.kind, u.url.as_str())).collect();
    assert_eq!((r.id.as_str(), r.name.as_str(), r.priority, got.as_slice()), (id, name, priority, urls), "{id}");
    assert_eq!(
        (r.kind, r.suite.as_str(), r.component.as_str(), r.architecture.as_str()),
        (PackageKind::Rpm, "", "", "")
    );
}

/// testdata/yum is a Rocky Linux 9 root; os-release comes from the os-release fixtures.
fn rocky_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    fs::create_dir_all(r.join("etc/yum.repos.d")).unwrap();
    fs::create_dir_all(r.join("etc/dnf/vars")).unwrap();
    for f in
        ["etc/yum.repos.d/rocky.repo", "etc/yum.repos.d/local.repo", "etc/dnf/vars/contentdir", "etc/dnf/vars/rltype"]
    {
        fs::copy(testdata(&format!("yum/{f}")), r.join(f)).unwrap();
    }
    dir
}

#[test]
fn rocky_9_repositories_with_dnf_vars() {
    let root = rocky_root();
    let repos = read_yum_repos(root.path(), &os("rocky-9.4"), "x86_64").unwrap();
    assert_eq!(repos.len(), 4, "{repos:#?}");
    let ml = |repo: &str| format!("https://mirrors.rockylinux.org/mirrorlist?arch=x86_64&repo={repo}-9");
    check_repo(
        &repos[0],
        "local-mirror",
        "Local mirror of pub/rocky 9",
        10,
        &[
            (UrlKind::Baseurl, "http://mirror.lan/pub/rocky/9/BaseOS/x86_64/os/"),
            (UrlKind::Baseurl, "http://backup.lan/pub/rocky/9/BaseOS/x86_64/os/"),
            (UrlKind::Baseurl, "ftp://old.lan/rocky/9/x86_64/"),
        ],
    );
    check_repo(&repos[1], "bad-priority", "bad-priority", 99, &[(UrlKind::Baseurl, "http://x.lan/$unknownvar/x86_64")]);
    check_repo(&repos[2], "baseos", "Rocky Linux 9 - BaseOS", 99, &[(UrlKind::Mirrorlist, &ml("BaseOS"))]);
    check_repo(&repos[3], "appstream", "Rocky Linux 9 - AppStream", 99, &[(UrlKind::Mirrorlist, &ml("AppStream"))]);
}

#[test]
fn releasever_file_reposdir_and_duplicate_ids() {
    let root = rocky_root();
    let r = root.path();
    fs::write(r.join("etc/dnf/vars/releasever"), "9.5\nignored second line\n").unwrap();
    fs::create_dir_all(r.join("etc/yum/vars")).unwrap();
    fs::write(r.join("etc/yum/vars/contentdir"), "vault/rocky\n").unwrap();
    let repos = read_yum_repos(r, &os("rocky-9.4"), "aarch64").unwrap();
    // /etc/dnf/vars wins over /etc/yum/vars.
    assert_eq!(repos[0].urls[0].url, "http://mirror.lan/pub/rocky/9.5/BaseOS/aarch64/os/");
    assert_eq!(repos[2].urls[0].url, "https://mirrors.rockylinux.org/mirrorlist?arch=aarch64&repo=BaseOS-9.5");

    fs::create_dir_all(r.join("etc/dnf")).unwrap();
    fs::create_dir_all(r.join("srv/repos")).unwrap();
    fs::write(r.join("etc/dnf/dnf.conf"), "[main]\ngpgcheck=1\nreposdir=/srv/repos,/etc/yum.repos.d\n").unwrap();
    fs::write(r.join("srv/repos/first.repo"), "[baseos]\nname=Shadowing BaseOS\nbaseurl=http://first.lan/\n").unwrap();
    let repos = read_yum_repos(r, &os("rocky-9.4"), "x86_64").unwrap();
    let ids: Vec<&str> = repos.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["baseos", "local-mirror", "bad-priority", "appstream"]);
    assert_eq!(repos[0].name, "Shadowing BaseOS");
}

#[test]
fn fedora_updates_uses_a_metalink() {
    let text = fs::read_to_string(testdata("yum/fedora-updates.repo")).unwrap();
    let vars = YumVars::new(&releasever_from_os(&os("fedora-41")), "x86_64");
    let repos = parse_repo_file(&text, &vars);
    assert_eq!(repos.len(), 1);
    check_repo(
        &repos[0],
        "updates",
        "Fedora 41 - x86_64 - Updates",
        99,
        &[(UrlKind::Metalink, "https://mirrors.fedoraproject.org/metalink?repo=updates-released-f41&arch=x86_64")],
    );
}

#[test]
fn url_kinds_are_ordered_metalink_mirrorlist_baseurl() {
    let text = "[main]\nbaseurl=http://not-a-repo/\n[all]\nbaseurl=http://b1/ http://b2/\nmirrorlist=http://m/\nmetalink=http://ml/\nenabled=True\npriority=5\n";
    let repos = parse_repo_file(text, &YumVars::new("9", "x86_64"));
    assert_eq!(repos.len(), 1);
    check_repo(
        &repos[0],
        "all",
        "all",
        5,
        &[
            (UrlKind::Metalink, "http://ml/"),
            (UrlKind::Mirrorlist, "http://m/"),
            (UrlKind::Baseurl, "http://b1/"),
            (UrlKind::Baseurl, "http://b2/"),
        ],
    );
    assert!(read_yum_repos(Path::new("/nonexistent-root"), &OsInfo::default(), "x86_64").unwrap().is_empty());
}
