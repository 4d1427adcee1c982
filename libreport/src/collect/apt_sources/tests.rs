//! Tests of the apt sources collector: parsers, architecture rules, and a captured host root.

use std::fs;

use super::*;

fn entry(uri: &str, suite: &str, components: &[&str]) -> SourceEntry {
    SourceEntry {
        uri: uri.into(),
        suite: suite.into(),
        components: components.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    }
}

#[test]
fn one_line_entries_with_options_comments_and_flat_repositories() {
    let text = "\
# deb http://commented.example/debian bookworm main
deb http://deb.debian.org/debian bookworm main contrib # trailing comment
deb-src http://deb.debian.org/debian bookworm main
deb [arch=amd64,i386 signed-by=/usr/share/keyrings/x.gpg] https://repo.example/apt stable main
deb [ arch+=arm64 arch-=i386 ] https://plus.example/apt stable main
deb [enabled=no] https://off.example/apt stable main
deb [arch=amd64 https://broken.example/apt stable main
debx http://typo.example/ bookworm main
deb http://flat.example/repo ./
deb http://flat.example/repo stable/ main
deb http://nosuite.example/
deb\thttp://tab.example/debian\tbookworm\tmain
";
    let got = parse_one_line(text);
    let mut with_archs = entry("https://repo.example/apt", "stable", &["main"]);
    with_archs.architectures = Some(vec!["amd64".into(), "i386".into()]);
    let mut plus = entry("https://plus.example/apt", "stable", &["main"]);
    plus.add_architectures = vec!["arm64".into()];
    plus.remove_architectures = vec!["i386".into()];
    let want = vec![
        entry("http://deb.debian.org/debian", "bookworm", &["main", "contrib"]),
        with_archs,
        plus,
        entry("http://flat.example/repo", "./", &[]),
        entry("http://tab.example/debian", "bookworm", &["main"]),
    ];
    assert_eq!(got, want);
}

#[test]
fn deb822_stanzas_expand_uris_and_suites() {
    let text = "\
Types: deb deb-src
URIs: http://a.example/debian http://b.example/debian
Suites: bookworm bookworm-updates
Components: main
Architectures: arm64

Types: deb
URIs: http://off.example/
Suites: x
Components: main
Enabled: no

Types: deb-src
URIs: http://src.example/
Suites: x
Components: main

# a flat one
Types: deb
URIs: http://flat.example/
Suites: ./
";
    let got = parse_deb822(text);
    let pairs: Vec<(&str, &str)> = got.iter().map(|e| (e.uri.as_str(), e.suite.as_str())).collect();
    assert_eq!(
        pairs,
        [
            ("http://a.example/debian", "bookworm"),
            ("http://a.example/debian", "bookworm-updates"),
            ("http://b.example/debian", "bookworm"),
            ("http://b.example/debian", "bookworm-updates"),
            ("http://flat.example/", "./"),
        ]
    );
    assert_eq!(got[0].architectures, Some(vec!["arm64".to_owned()]));
    assert_eq!(got[4].architectures, None);
    assert!(got[4].components.is_empty());
}

#[test]
fn machine_names_map_to_debian_architectures() {
    for (machine, want) in [
        ("x86_64", "amd64"),
        ("aarch64", "arm64"),
        ("i686", "i386"),
        ("i386", "i386"),
        ("armv7l", "armhf"),
        ("armv6l", "armel"),
        ("ppc64le", "ppc64el"),
        ("s390x", "s390x"),
        ("riscv64", "riscv64"),
        ("loongarch64", "loong64"),
        ("mips64", "mips64"),
    ] {
        assert_eq!(deb_arch(machine), want, "{machine}");
    }
}

#[test]
fn flat_urls_are_normalised() {
    for (url, want) in [
        ("http://h/repo/./", "http://h/repo"),
        ("http://h/repo/.", "http://h/repo"),
        ("http://h/a/./b/", "http://h/a/b"),
        ("file:/srv/r//", "file:/srv/r"),
        ("http://", "http://"),
        ("file:/", "file:/"),
    ] {
        assert_eq!(normalise_flat(url), want, "{url}");
    }
}

/// The captured root in testdata/apt, copied into a temp dir (as a host would have it).
fn captured_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    crate::collect::copy_testdata("apt", dir.path());
    dir
}

#[track_caller]
fn check_repo(r: &Repo, id: &str, url: &str, priority: i32) {
    assert_eq!((r.id.as_str(), r.name.as_str(), r.urls[0].url.as_str(), r.priority), (id, id, url, priority));
    assert_eq!((r.kind, r.urls.len(), r.urls[0].kind), (PackageKind::Deb, 1, UrlKind::Apt));
}

#[test]
fn this_machines_sources_with_release_files_and_pins() {
    let root = captured_root();
    let repos = read_apt_repos(root.path(), "x86_64").unwrap();
    let ids: Vec<&str> = repos.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "deb.debian.org/debian bookworm/main amd64",
            "deb.debian.org/debian bookworm-updates/main amd64",
            "deb.debian.org/debian-security bookworm-security/main amd64",
            "download.docker.com/linux/debian bookworm/stable amd64",
            "/srv/local-repo ./ amd64",
            "/srv/local-repo ./ i386",
            "packages.cloud.google.com/apt cloud-sdk-bookworm/main amd64",
            "packages.cloud.google.com/apt cloud-sdk-bookworm/main all",
            "deb.nodesource.com/node_20.x nodistro/main amd64",
        ]
    );
    check_repo(&repos[0], ids[0], "http://deb.debian.org/debian/dists/bookworm/main/binary-amd64", 500);
    check_repo(
        &repos[2],
        ids[2],
        "http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-amd64",
        500,
    );
    check_repo(&repos[4], ids[4], "file:/srv/local-repo", 500);
    // The Package: * origin pin in etc/apt/preferences; the nodejs pin is for one package only.
    check_repo(
        &repos[7],
        ids[7],
        "https://packages.cloud.google.com/apt/dists/cloud-sdk-bookworm/main/binary-all",
        100,
    );
    check_repo(&repos[8], ids[8], "https://deb.nodesource.com/node_20.x/dists/nodistro/main/binary-amd64", 500);
    assert_eq!(
        (repos[1].suite.as_str(), repos[1].component.as_str(), repos[1].architecture.as_str()),
        ("bookworm-updates", "main", "amd64")
    );
    assert_eq!(
        (repos[5].suite.as_str(), repos[5].component.as_str(), repos[5].architecture.as_str()),
        ("./", "", "i386")
    );
}

#[test]
fn foreign_architectures_not_automatic_suites_and_duplicates() {
    let root = captured_root();
    let r = root.path();
    fs::create_dir_all(r.join("var/lib/dpkg")).unwrap();
    fs::write(r.join("var/lib/dpkg/arch"), "amd64\ni386\n").unwrap();
    fs::write(
        r.join("etc/apt/sources.list"),
        "deb http://deb.debian.org/debian bookworm main\ndeb https://u:secret@deb.debian.org/debian bookworm-backports main\ndeb mirror+file:/etc/apt/mirrors.txt bookworm main\n",
    )
    .unwrap();
    fs::write(r.join("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm-backports_InRelease"), "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian Backports\nSuite: bookworm-backports\nNotAutomatic: yes\nButAutomaticUpgrades: yes\nArchitectures: all amd64 i386\n").unwrap();
    let repos = read_apt_repos(r, "x86_64").unwrap();
    let got: Vec<(&str, i32)> = repos.iter().take(4).map(|r| (r.id.as_str(), r.priority)).collect();
    assert_eq!(
        got,
        [
            ("deb.debian.org/debian bookworm/main amd64", 500),
            ("deb.debian.org/debian bookworm/main i386", 500),
            ("deb.debian.org/debian bookworm-backports/main amd64", 100),
            ("deb.debian.org/debian bookworm-backports/main i386", 100),
        ]
    );
    // No credentials anywhere, the mirror+file: entry is skipped, and debian.sources' own
    // bookworm/main entries are not repeated.
    assert!(repos.iter().all(|r| !r.urls[0].url.contains("secret") && !r.id.contains("mirror")));
    assert_eq!(repos[2].urls[0].url, "https://deb.debian.org/debian/dists/bookworm-backports/main/binary-amd64");
    assert_eq!(repos.iter().filter(|r| r.id == "deb.debian.org/debian bookworm/main amd64").count(), 1);
    // The security archive offers no "all" and the host's i386 is kept.
    assert!(repos.iter().any(|r| r.id == "deb.debian.org/debian-security bookworm-security/main i386"));
}

#[test]
fn an_empty_root_has_no_repositories() {
    let dir = tempfile::tempdir().unwrap();
    assert!(read_apt_repos(dir.path(), "aarch64").unwrap().is_empty());
}
