//! The real-Debian test: this machine's own installed packages, reported with its apt
//! sources pointed at a loopback copy of its own apt lists (the very InRelease files apt
//! verified, the very Packages files apt reads), refreshed with signature checks against the
//! Debian archive keyring. The updates found must be exactly those `apt list --upgradable`
//! prints, security exactly for the lists of a `-security` suite.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use patchman_testkit::http::FileServer;
use patchman_testkit::{run, write};

use crate::support::{host_json, start_server};

/// (list-file prefix under /var/lib/apt/lists, path under the loopback root) per suite.
const SUITES: [(&str, &str); 3] = [
    ("deb.debian.org_debian_dists_bookworm", "debian/dists/bookworm"),
    ("deb.debian.org_debian_dists_bookworm-updates", "debian/dists/bookworm-updates"),
    ("deb.debian.org_debian-security_dists_bookworm-security", "debian-security/dists/bookworm-security"),
];

/// A loopback mirror holding exactly what apt has in /var/lib/apt/lists.
fn mirror_of_apt_lists(root: &Path) {
    assert!(
        Path::new("/usr/lib/apt/apt-helper").is_file(),
        "apt's apt-helper is missing: this test needs a Debian machine"
    );
    for (list, dir) in SUITES {
        let inrelease = format!("/var/lib/apt/lists/{list}_InRelease");
        assert!(
            Path::new(&inrelease).is_file(),
            "{inrelease} is missing: this test needs the machine's apt lists (apt-get update)"
        );
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::copy(&inrelease, root.join(dir).join("InRelease")).unwrap();
        let packages = std::fs::read_dir("/var/lib/apt/lists")
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| {
                p.file_name().unwrap().to_string_lossy().starts_with(&format!("{list}_main_binary-amd64_Packages"))
            })
            .unwrap_or_else(|| panic!("no Packages list for {list}"));
        let out = run(Command::new("/usr/lib/apt/apt-helper").arg("cat-file").arg(&packages));
        write(&root.join(dir).join("main/binary-amd64/Packages"), out.stdout);
    }
}

/// What apt says: (name, arch, candidate version, from a -security suite).
fn apt_upgradable() -> BTreeSet<(String, String, String, bool)> {
    let out = run(Command::new("apt").args(["list", "--upgradable"]).env("LC_ALL", "C"));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("[upgradable from:"))
        .map(|l| {
            // "libcups2/oldstable,oldstable-security 2.4.2-3+deb12u9 amd64 [upgradable from: ...]"
            let mut f = l.split_whitespace();
            let (name_suites, version, arch) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
            let (name, suites) = name_suites.split_once('/').unwrap();
            (name.to_owned(), arch.to_owned(), version.to_owned(), suites.split(',').any(|s| s.ends_with("-security")))
        })
        .collect()
}

#[test]
fn updates_match_apt_list_upgradable_on_this_machine() {
    let tmp = tempfile::tempdir().unwrap();
    let www = tmp.path().join("www");
    mirror_of_apt_lists(&www);
    let files = FileServer::start(&www);

    let server = start_server(&[("PATCHMAN_REPOS_KEYRINGS", "/usr/share/keyrings/debian-archive-keyring.gpg")]);
    let root = tmp.path().join("root");
    for f in ["/var/lib/dpkg/status", "/etc/os-release", "/etc/debian_version"] {
        let dest = root.join(f.trim_start_matches('/'));
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(f, dest).unwrap();
    }
    write(
        &root.join("etc/apt/sources.list.d/debian.sources"),
        format!(
            "Types: deb\nURIs: {url}/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\n\
             Types: deb\nURIs: {url}/debian-security\nSuites: bookworm-security\nComponents: main\n",
            url = files.url()
        ),
    );
    let client = crate::e2e::client_bin();
    let out = run(Command::new(client)
        .args([
            "--server",
            &server.url(),
            "--root",
            root.to_str().unwrap(),
            "--state-dir",
            tmp.path().join("state").to_str().unwrap(),
        ])
        .args([
            "--enroll",
            patchman_testkit::server::ENROLLMENT_KEY,
            "--hostname",
            "this.example.org",
            "--arch",
            "x86_64",
        ]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stored"));

    let refreshed = server.admin(&["refresh-repos"]);
    assert!(refreshed.starts_with("3 repositories: 3 changed, 0 unchanged, 0 failed"), "{refreshed}");
    let host = host_json(&server, "this.example.org");
    let updates = host["updates"].as_array().unwrap();
    assert!(updates.iter().all(|u| u["kernel"] == false), "this machine runs no packaged kernel: {updates:?}");
    let ours: BTreeSet<(String, String, String, bool)> = updates
        .iter()
        .map(|u| {
            let s = |k: &str| u[k].as_str().unwrap().to_owned();
            (s("name"), s("arch"), s("available"), u["security"] == true)
        })
        .collect();
    let apt = apt_upgradable();
    assert!(!apt.is_empty(), "apt reports nothing upgradable: the comparison would prove nothing");
    assert_eq!(ours, apt, "patchman's updates differ from `apt list --upgradable`");
    for u in updates {
        assert!(u["reason"].as_str().unwrap().contains(" in bookworm"), "{u}");
    }

    // Every list's signature was checked against the Debian keyring, and the security suite
    // is flagged from its name and its Release.
    let repos = server.admin(&["repo", "list", "--json"]);
    let repos: serde_json::Value = serde_json::from_str(&repos).unwrap();
    for r in repos.as_array().unwrap() {
        assert_eq!(r["security"], r["suite"] == "bookworm-security", "{r}");
        assert!(r["package_count"].as_u64().unwrap() > 0, "{r}");
    }

    // A second refresh finds nothing changed and fetches no Packages file.
    files.clear_log();
    let again = server.admin(&["refresh-repos"]);
    assert!(again.starts_with("3 repositories: 0 changed, 3 unchanged"), "{again}");
    assert_eq!(files.count("Packages"), 0, "{:?}", files.requests());
    assert_eq!(files.count("InRelease"), 3, "{:?}", files.requests());
}
