//! Repository trust is visible: each mirror says whether its metadata was verified and by
//! which key; unverified repositories are a dashboard item and a warning in the refresh log; a
//! site can require verification. For apt (InRelease) and yum (repomd.xml.asc), over loopback.

use std::process::Command;

use patchman_proto as pb;
use patchman_testkit::apt::GpgKey;
use patchman_testkit::http::FileServer;
use patchman_testkit::rpm::{RpmSpec, build};
use patchman_testkit::server::Server;
use patchman_testkit::{require_tool, run};
use tempfile::TempDir;

use crate::repo_support::{AptRepo, HELLO, INSTALLED, deb_report, only_repo, refresh, report};
use crate::support::{http_get, start_server};

fn verified_by(server: &Server) -> serde_json::Value {
    only_repo(server)["mirrors"][0]["verified_by"].clone()
}

#[tokio::test]
async fn apt_metadata_says_whether_and_by_whom_it_was_verified() {
    let repo = AptRepo::build(HELLO);
    let files = FileServer::start(repo.root());
    let url = AptRepo::url(&files);

    // No keyring: taken, flagged, counted on the dashboard, warned in the log.
    let server = Server::start_logged(std::path::Path::new(env!("CARGO_BIN_EXE_patchman")), &[]);
    report(&server, deb_report("h.example.org", INSTALLED, std::slice::from_ref(&url))).await;
    assert_eq!(verified_by(&server), serde_json::Value::Null, "not known before the first refresh");
    let (ok, out) = refresh(&server);
    assert!(ok, "{out}");
    assert_eq!(verified_by(&server), "");
    let again = server.admin_output(&["refresh-repos", "--force"]);
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(log.contains("its metadata is not verified"), "a warning in the refresh log: {log}");
    let listing = server.admin(&["repo", "list"]);
    assert!(listing.contains("metadata not verified (no keyring for it)"), "{listing}");
    let dashboard = http_get(&server, "/");
    assert!(dashboard.contains("repositories whose metadata is not verified"), "{dashboard}");
    let page = http_get(&server, "/repos?unverified=true");
    assert!(page.contains("stable") || page.contains(&url[..20]), "the filter lists it: {page}");

    // With the key: verified, by that key's fingerprint.
    let keyring = repo.key.public.to_str().unwrap().to_owned();
    let signed = start_server(&[("PATCHMAN_REPOS_KEYRINGS", &keyring)]);
    report(&signed, deb_report("h.example.org", INSTALLED, std::slice::from_ref(&url))).await;
    assert!(refresh(&signed).0);
    assert_eq!(verified_by(&signed), repo.key.fingerprint.as_str());
    assert!(signed.admin(&["repo", "list"]).contains(&format!("verified by {}", repo.key.fingerprint)));

    // Required, without a keyring: refused like a bad signature; nothing is taken.
    let strict = start_server(&[("PATCHMAN_REPOS__REQUIRE_SIGNED", "true")]);
    report(&strict, deb_report("h.example.org", INSTALLED, std::slice::from_ref(&url))).await;
    let (ok, out) = refresh(&strict);
    assert!(!ok, "{out}");
    let r = only_repo(&strict);
    assert_eq!(r["package_count"], 0, "{r:#}");
    assert!(r["mirrors"][0]["last_error"].as_str().unwrap().contains("require_signed"), "{r:#}");
}

#[tokio::test]
async fn yum_repomd_is_verified_with_the_rpm_keyring() {
    require_tool("createrepo_c");
    let tmp = TempDir::new().unwrap();
    let rpms = build(&tmp.path().join("rpmbuild"), &[RpmSpec::new("tool", "1.0-1.el9", "x86_64")]);
    let dir = tmp.path().join("www/baseos");
    std::fs::create_dir_all(&dir).unwrap();
    for rpm in &rpms {
        std::fs::copy(rpm, dir.join(rpm.file_name().unwrap())).unwrap();
    }
    run(Command::new("createrepo_c").args(["-q"]).arg(&dir));
    let key = GpgKey::generate(tmp.path(), "ed25519");
    let repomd = dir.join("repodata/repomd.xml");
    key.detach_sign(&repomd, &dir.join("repodata/repomd.xml.asc"));
    let files = FileServer::start(&tmp.path().join("www"));
    let rpm_report = |hostname: &str| {
        let mut r = deb_report(hostname, &[], &[]);
        r.os = Some(pb::OperatingSystem {
            id: "rocky".into(),
            name: "Rocky Linux".into(),
            version_id: "9.4".into(),
            pretty_name: "Rocky Linux 9.4 (Blue Onyx)".into(),
            ..Default::default()
        });
        r.repos = vec![pb::Repository {
            kind: pb::PackageKind::Rpm as i32,
            id: "baseos".into(),
            name: "Rocky Linux 9 - BaseOS".into(),
            priority: 99,
            urls: vec![pb::RepoUrl { url: format!("{}/baseos/", files.url()), kind: pb::UrlKind::Baseurl as i32 }],
            ..Default::default()
        }];
        r
    };

    let public = key.public.to_str().unwrap().to_owned();
    let server = start_server(&[("PATCHMAN_REPOS__RPM_KEYRINGS", &public)]);
    report(&server, rpm_report("r.example.org")).await;
    let (ok, out) = refresh(&server);
    assert!(ok, "{out}");
    assert_eq!(verified_by(&server), key.fingerprint.as_str());
    assert_eq!(only_repo(&server)["package_count"], 1);

    // Signed by a key the site does not trust: refused, nothing taken.
    let other = GpgKey::generate(&tmp.path().join("other"), "ed25519");
    let other_public = other.public.to_str().unwrap().to_owned();
    let wary = start_server(&[("PATCHMAN_REPOS__RPM_KEYRINGS", &other_public)]);
    report(&wary, rpm_report("r.example.org")).await;
    let (ok, out) = refresh(&wary);
    assert!(!ok, "{out}");
    assert_eq!(only_repo(&wary)["package_count"], 0);
}
