//! Repository refresh through the real server and its commands: hosts report mirrors on
//! loopback, `patchman refresh-repos` fetches them. Failover from a dead mirror, failure
//! counts reset on success, mirrors disabled after too many failures and enabled again by
//! hand, tampered or badly signed metadata rejected while the previous package list stays,
//! mirrors of one repository merged (automatically and with `repo link`), mirrorlists
//! expanded, the security flag set by hand, one failing repository not stopping the others,
//! and credentials used but never shown.

use std::process::Command;

use patchman_proto as pb;
use patchman_testkit::apt::GpgKey;
use patchman_testkit::http::FileServer;
use patchman_testkit::rpm::{RpmSpec, build};
use patchman_testkit::server::Server;
use patchman_testkit::{require_tool, run, write};
use tempfile::TempDir;

use crate::repo_support::{
    AptRepo, HELLO, INSTALLED, deb_report, keyring_of, mirror, only_repo, refresh, refresh_with, report, repos,
    start_on_postgres, update, updates,
};
use crate::support::{host_json, http_get, start_server};

#[tokio::test]
async fn mirrors_fail_over_recover_and_are_disabled_after_failing_too_often() {
    let repo = AptRepo::build(HELLO);
    let (a, b) = (FileServer::start(repo.root()), FileServer::start(repo.root()));
    let keyring = repo.key.public.to_str().unwrap().to_owned();
    let server = start_server(&[("PATCHMAN_REPOS_KEYRINGS", &keyring), ("PATCHMAN_MAX_MIRROR_FAILURES", "3")]);
    let (url_a, url_b) = (AptRepo::url(&a), AptRepo::url(&b));
    report(&server, deb_report("a.example.org", INSTALLED, std::slice::from_ref(&url_a))).await;
    report(&server, deb_report("b.example.org", INSTALLED, std::slice::from_ref(&url_b))).await;
    assert_eq!(repos(&server).len(), 2, "two mirror URLs are two repositories until refreshed");

    // Both mirrors serve the same signed Release: one repository with two mirrors.
    let (ok, out) = refresh(&server);
    assert!(ok, "{out}");
    assert!(out.starts_with("2 repositories: 2 changed, 0 unchanged, 0 failed, 1 merged; 2 hosts recomputed"), "{out}");
    let r = only_repo(&server);
    assert_eq!((r["package_count"].as_i64(), r["host_count"].as_i64()), (Some(3), Some(2)), "{r:#}");
    for host in ["a.example.org", "b.example.org"] {
        assert_eq!(updates(&server, host), [update("hello-tiny", "1.1-1", false)]);
    }

    // Mirror a dies: b answers (unchanged, so only its InRelease is fetched); a counts a failure.
    a.set_down(true);
    b.clear_log();
    let (ok, out) = refresh(&server);
    assert!(ok && out.starts_with("1 repositories: 0 changed, 1 unchanged, 0 failed"), "{out}");
    assert_eq!((b.count("InRelease"), b.count("Packages")), (1, 0), "{:?}", b.requests());
    let r = only_repo(&server);
    assert_eq!(mirror(&r, &url_a)["fail_count"], 1, "{r:#}");
    assert!(mirror(&r, &url_a)["last_error"].as_str().unwrap().contains(&a.url()), "{r:#}");
    assert_eq!(mirror(&r, &url_b)["fail_count"], 0);

    // a is back and b dies: b is tried first (fewer failures), then a, whose count resets.
    a.set_down(false);
    b.set_down(true);
    let (ok, out) = refresh(&server);
    assert!(ok && out.starts_with("1 repositories: 0 changed, 1 unchanged, 0 failed"), "{out}");
    let r = only_repo(&server);
    assert_eq!(
        (mirror(&r, &url_a)["fail_count"].as_i64(), mirror(&r, &url_a)["last_error"].as_str()),
        (Some(0), Some(""))
    );
    assert_eq!(mirror(&r, &url_b)["fail_count"], 1);

    // Both dead: the repository fails (exit status 1) and keeps its packages; after three
    // failures in a row each mirror is disabled.
    a.set_down(true);
    for _ in 0..3 {
        let (ok, out) = refresh(&server);
        assert!(!ok && out.starts_with("1 repositories: 0 changed, 0 unchanged, 1 failed"), "{out}");
    }
    let r = only_repo(&server);
    for url in [&url_a, &url_b] {
        let m = mirror(&r, url);
        assert_eq!((m["enabled"].as_bool(), m["fail_count"].as_i64()), (Some(false), Some(3)), "{m:#}");
    }
    assert_eq!(r["package_count"], 3, "the previous package list stays");
    assert_eq!(updates(&server, "a.example.org"), [update("hello-tiny", "1.1-1", false)]);
    let listing = server.admin(&["repo", "list"]);
    assert!(listing.contains("failing") && listing.contains("disabled after 3 failures"), "{listing}");
    // The web page shows them too.
    let page = http_get(&server, "/");
    let failing = &page[page.find("Failing mirrors").unwrap_or_else(|| panic!("no failing mirrors: {page}"))..];
    assert!(failing.contains(&url_a) && failing.contains(&url_b), "{failing}");
    assert_eq!(failing.matches("disabled after 3 failures").count(), 2, "{failing}");

    // Disabled mirrors are not tried, even when they are back.
    a.set_down(false);
    b.set_down(false);
    a.clear_log();
    b.clear_log();
    let (ok, out) = refresh(&server);
    assert!(!ok && out.contains("no enabled mirror"), "{out}");
    assert!(a.requests().is_empty() && b.requests().is_empty(), "{:?} {:?}", a.requests(), b.requests());

    // Until an administrator enables one again.
    let id = mirror(&r, &url_a)["id"].as_i64().unwrap().to_string();
    server.admin(&["repo", "enable-mirror", &id]);
    let (ok, out) = refresh(&server);
    assert!(ok && out.starts_with("1 repositories: 0 changed, 1 unchanged, 0 failed"), "{out}");
    let r = only_repo(&server);
    assert_eq!(mirror(&r, &url_a)["enabled"], true);
    assert_eq!(mirror(&r, &url_b)["enabled"], false);
    let page = http_get(&server, "/");
    assert!(!page.contains(&format!(">{url_a}<")) && page.contains(&format!(">{url_b}<")), "{page}");
}

#[tokio::test]
async fn tampered_or_badly_signed_metadata_keeps_the_previous_packages() {
    let repo = AptRepo::build(HELLO);
    let files = FileServer::start(repo.root());
    let keyring = repo.key.public.to_str().unwrap().to_owned();
    let server = start_server(&[("PATCHMAN_REPOS_KEYRINGS", &keyring)]);
    let url = AptRepo::url(&files);
    let installed = [INSTALLED, &[("local-tool", "2.0", "1")]].concat();
    report(&server, deb_report("h.example.org", &installed, std::slice::from_ref(&url))).await;
    // Before its repository was ever refreshed, no package counts as found in no repository.
    let host = host_json(&server, "h.example.org");
    assert_eq!(
        (host["unknown_packages"].as_i64(), host["packages_not_in_repos"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );
    let (ok, out) = refresh(&server);
    assert!(ok, "{out}");
    assert_eq!(updates(&server, "h.example.org"), [update("hello-tiny", "1.1-1", false)]);
    let host = host_json(&server, "h.example.org");
    assert_eq!(host["packages_not_in_repos"], serde_json::json!(["local-tool 2.0-1 amd64"]), "{host:#}");
    assert_eq!(host["unknown_packages"], 1);

    // Each case refreshes with `--force`: the files change within a second at equal sizes, so
    // the test server's ETags (size and mtime, as nginx makes them) would not change.
    // New Packages files under the old, signed Release: their hashes do not match.
    repo.add(&[("hello-tiny", "1.2-1", "amd64")]);
    let (ok, out) = refresh_with(&server, &["--force"]);
    assert!(!ok && out.contains("failed: ") && out.contains("mismatch"), "{out}");

    // A Release signed by a key outside the keyring.
    let stranger = GpgKey::generate(&repo.root().join("stranger"), "ed25519");
    repo.sign_with(&stranger, "patchman-tests");
    let (ok, out) = refresh_with(&server, &["--force"]);
    assert!(!ok && out.contains("not signed by any usable key"), "{out}");

    // No signature at all.
    std::fs::remove_file(repo.dists().join("InRelease")).unwrap();
    std::fs::remove_file(repo.dists().join("Release.gpg")).unwrap();
    let (ok, out) = refresh_with(&server, &["--force"]);
    assert!(!ok && out.contains("unsigned, but a keyring was given"), "{out}");

    // A Release edited after signing (InRelease's signed text changed).
    repo.sign_with(&repo.key, "patchman-tests");
    let inrelease = std::fs::read_to_string(repo.dists().join("InRelease")).unwrap();
    write(&repo.dists().join("InRelease"), inrelease.replacen("Suite: stable", "Suite: stab1e", 1));
    let (ok, out) = refresh_with(&server, &["--force"]);
    assert!(!ok && out.contains("bad signature"), "{out}");

    // Through all of it, the last good package list stayed and so did the host's update.
    let r = only_repo(&server);
    assert_eq!(r["package_count"], 3, "{r:#}");
    assert_eq!(mirror(&r, &url)["fail_count"], 4, "{r:#}");
    assert_eq!(updates(&server, "h.example.org"), [update("hello-tiny", "1.1-1", false)]);

    // Signed properly again: the new version arrives.
    repo.sign_with(&repo.key, "patchman-tests");
    let (ok, out) = refresh_with(&server, &["--force"]);
    assert!(ok && out.starts_with("1 repositories: 1 changed"), "{out}");
    assert_eq!(updates(&server, "h.example.org"), [update("hello-tiny", "1.2-1", false)]);
    assert_eq!(mirror(&only_repo(&server), &url)["fail_count"], 0);
}

/// A Release past its Valid-Until is flagged on the mirror and shown, and its packages used.
#[tokio::test]
async fn release_past_valid_until_is_flagged_and_used() {
    let repo = AptRepo::build(HELLO);
    repo.sign_edited(&repo.key, |r| r.replace("Date: ", "Valid-Until: Thu, 01 Jan 2015 00:00:00 UTC\nDate: "));
    let files = FileServer::start(repo.root());
    let keyring = repo.key.public.to_str().unwrap().to_owned();
    let server = start_server(&[("PATCHMAN_REPOS_KEYRINGS", &keyring)]);
    let url = AptRepo::url(&files);
    report(&server, deb_report("h.example.org", INSTALLED, std::slice::from_ref(&url))).await;
    let (ok, out) = refresh(&server);
    assert!(ok && out.starts_with("1 repositories: 1 changed"), "{out}");
    let r = only_repo(&server);
    assert_eq!((mirror(&r, &url)["valid_until_passed"].as_bool(), r["package_count"].as_i64()), (Some(true), Some(3)));
    assert!(server.admin(&["repo", "list"]).contains("past Valid-Until"));
    assert_eq!(updates(&server, "h.example.org"), [update("hello-tiny", "1.1-1", false)]);

    // A fresh Release clears the flag.
    repo.sign_edited(&repo.key, |r| r.replace("Date: ", "Valid-Until: Fri, 01 Jan 2100 00:00:00 UTC\nDate: "));
    let (ok, out) = refresh_with(&server, &["--force"]);
    assert!(ok, "{out}");
    assert_eq!(mirror(&only_repo(&server), &url)["valid_until_passed"], false);
}

/// Two copies of one repository whose Releases name different origins (a local mirror that
/// rewrites it) are not merged automatically: `repo link` makes them one. The security flag
/// can be set by hand and given back. Run on both backends.
async fn link_and_security_by_hand(server: &Server, repo: &AptRepo, copy: &AptRepo) {
    let (a, b) = (FileServer::start(repo.root()), FileServer::start(copy.root()));
    report(server, deb_report("a.example.org", INSTALLED, &[AptRepo::url(&a)])).await;
    report(server, deb_report("b.example.org", INSTALLED, &[AptRepo::url(&b)])).await;
    let (ok, out) = refresh(server);
    assert!(ok && out.contains(", 0 merged;"), "{out}");
    let ids: Vec<String> = repos(server).iter().map(|r| r["id"].to_string()).collect();
    assert_eq!(ids.len(), 2);
    server.admin(&["repo", "link", &ids[0], &ids[1]]);
    let r = only_repo(server);
    assert_eq!((r["mirrors"].as_array().unwrap().len(), r["host_count"].as_i64()), (2, Some(2)), "{r:#}");
    let (ok, out) = refresh(server);
    assert!(ok && out.starts_with("1 repositories:"), "{out}");

    server.admin(&["repo", "security", &ids[0], "yes"]);
    assert_eq!(updates(server, "b.example.org"), [update("hello-tiny", "1.1-1", true)]);
    assert_eq!(host_json(server, "b.example.org")["security_updates"], 1);
    // A refresh does not undo a flag set by hand, even when the Release changed.
    repo.sign_with(&repo.key, "patchman-tests-2");
    let (ok, out) = refresh(server);
    assert!(ok, "{out}");
    assert!(only_repo(server)["security"] == true);
    server.admin(&["repo", "security", &ids[0], "auto"]);
    assert_eq!(updates(server, "a.example.org"), [update("hello-tiny", "1.1-1", false)]);
    let out = server.admin_output(&["repo", "security", "999999", "yes"]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no repository 999999"));
}

fn two_origins() -> (AptRepo, AptRepo) {
    let (repo, copy) = (AptRepo::build(HELLO), AptRepo::build(HELLO));
    copy.sign_with(&copy.key, "local-mirror");
    (repo, copy)
}

#[tokio::test]
async fn repo_link_and_security_by_hand_on_sqlite() {
    let (repo, copy) = two_origins();
    let keyring = keyring_of(repo.root(), &[&repo.key, &copy.key]);
    let server = start_server(&[("PATCHMAN_REPOS_KEYRINGS", &keyring)]);
    link_and_security_by_hand(&server, &repo, &copy).await;
}

#[tokio::test]
async fn repo_link_and_security_by_hand_on_postgres() {
    let (repo, copy) = two_origins();
    let keyring = keyring_of(repo.root(), &[&repo.key, &copy.key]);
    let server = start_on_postgres("refresh", &[("PATCHMAN_REPOS_KEYRINGS", &keyring)]);
    link_and_security_by_hand(&server, &repo, &copy).await;
}

/// An rpm host reporting its repository by a mirrorlist (a dead mirror first), another by a
/// baseurl: the mirrorlist expands into mirrors, the dead one fails over, and the two
/// repositories (same repo id, same repomd) become one.
#[tokio::test]
async fn rpm_mirrorlist_expands_fails_over_and_merges_with_its_twin() {
    require_tool("createrepo_c");
    let tmp = TempDir::new().unwrap();
    let rpms = build(
        &tmp.path().join("rpmbuild"),
        &[RpmSpec::new("tool", "1.0-1.el9", "x86_64"), RpmSpec::new("tool", "1.2-1.el9", "x86_64")],
    );
    let www = tmp.path().join("www");
    let dir = www.join("baseos");
    std::fs::create_dir_all(&dir).unwrap();
    for rpm in &rpms {
        std::fs::copy(rpm, dir.join(rpm.file_name().unwrap())).unwrap();
    }
    run(Command::new("createrepo_c").args(["-q", "--general-compress-type=xz"]).arg(&dir));
    // The mirrorlist names a dead mirror, then a live one; the other host uses a third.
    let (lists, dead, listed, live) =
        (FileServer::start(&www), FileServer::start(&www), FileServer::start(&www), FileServer::start(&www));
    dead.set_down(true);
    write(&www.join("mirrorlist.txt"), format!("# mirrors\n{}/baseos/\n{}/baseos/\n", dead.url(), listed.url()));

    let server = start_server(&[]);
    let rpm_report = |hostname: &str, url: pb::RepoUrl| {
        let mut r = deb_report(hostname, &[], &[]);
        r.os = Some(pb::OperatingSystem {
            id: "rocky".into(),
            id_like: vec!["rhel".into(), "centos".into(), "fedora".into()],
            name: "Rocky Linux".into(),
            version_id: "9.4".into(),
            pretty_name: "Rocky Linux 9.4 (Blue Onyx)".into(),
            ..Default::default()
        });
        r.packages = vec![pb::Package {
            name: "tool".into(),
            version: "1.0".into(),
            release: "1.el9".into(),
            arch: "x86_64".into(),
            kind: pb::PackageKind::Rpm as i32,
            ..Default::default()
        }];
        r.repos = vec![pb::Repository {
            kind: pb::PackageKind::Rpm as i32,
            id: "baseos".into(),
            name: "Rocky Linux 9 - BaseOS".into(),
            priority: 99,
            urls: vec![url],
            ..Default::default()
        }];
        r
    };
    let by_list = pb::RepoUrl { url: format!("{}/mirrorlist.txt", lists.url()), kind: pb::UrlKind::Mirrorlist as i32 };
    let by_url = pb::RepoUrl { url: format!("{}/baseos/", live.url()), kind: pb::UrlKind::Baseurl as i32 };
    report(&server, rpm_report("list.example.org", by_list)).await;
    report(&server, rpm_report("url.example.org", by_url)).await;

    let (ok, out) = refresh(&server);
    assert!(ok, "{out}");
    assert!(out.contains("0 failed, 1 merged"), "{out}");
    let r = only_repo(&server);
    assert_eq!((r["package_count"].as_i64(), r["host_count"].as_i64()), (Some(2), Some(2)), "{r:#}");
    let urls: Vec<&str> = r["mirrors"].as_array().unwrap().iter().map(|m| m["url"].as_str().unwrap()).collect();
    assert_eq!(urls.len(), 4, "the mirrorlist, the two it names and the other host's baseurl: {urls:?}");
    assert_eq!(mirror(&r, &format!("{}/baseos", dead.url()))["fail_count"], 1, "{r:#}");
    assert_eq!(mirror(&r, &format!("{}/baseos", listed.url()))["fail_count"], 0, "{r:#}");
    assert_eq!(lists.count("mirrorlist.txt"), 1, "{:?}", lists.requests());
    assert!(listed.count("primary") == 1 && live.count("primary") == 1, "{:?}", listed.requests());
    for host in ["list.example.org", "url.example.org"] {
        assert_eq!(updates(&server, host), [update("tool", "1.2-1.el9", false)]);
    }
}

/// One repository failing in a run does not stop the others: they are refreshed and their
/// hosts recomputed; the failed one keeps its packages and the run says which failed.
#[tokio::test]
async fn one_failing_repository_does_not_stop_the_others() {
    let (good, bad) = (AptRepo::build(HELLO), AptRepo::build(HELLO));
    bad.sign_with(&bad.key, "another-origin");
    let (files_good, files_bad) = (FileServer::start(good.root()), FileServer::start(bad.root()));
    let server = start_server(&[]);
    let (url_good, url_bad) = (AptRepo::url(&files_good), AptRepo::url(&files_bad));
    report(&server, deb_report("good.example.org", INSTALLED, std::slice::from_ref(&url_good))).await;
    report(&server, deb_report("bad.example.org", INSTALLED, std::slice::from_ref(&url_bad))).await;
    let (ok, out) = refresh(&server);
    assert!(ok && out.starts_with("2 repositories: 2 changed"), "{out}");

    // Both get a new version; the bad one's Packages no longer match its Release.
    good.add(&[("hello-tiny", "1.2-1", "amd64")]);
    good.sign_with(&good.key, "patchman-tests");
    bad.add(&[("hello-tiny", "1.2-1", "amd64")]);
    let (ok, out) = refresh_with(&server, &["--force"]);
    assert!(!ok, "a failed repository makes the run fail: {out}");
    assert!(out.starts_with("2 repositories: 1 changed, 0 unchanged, 1 failed, 0 merged; 1 hosts recomputed"), "{out}");
    let all = repos(&server);
    let bad_repo = all.iter().find(|r| r["mirrors"][0]["url"] == url_bad.as_str()).unwrap();
    let failed_line = format!("  failed: {}: ", bad_repo["name"].as_str().unwrap());
    assert!(out.contains(&failed_line) && out.contains("mismatch"), "{out}");
    assert_eq!(bad_repo["package_count"], 3, "the failed repository keeps its packages");
    assert_eq!(updates(&server, "good.example.org"), [update("hello-tiny", "1.2-1", false)]);
    assert_eq!(updates(&server, "bad.example.org"), [update("hello-tiny", "1.1-1", false)]);
}

/// Credentials configured for a repository (`[[repos.source]]`) are sent, and never written:
/// not in the output or the logs (at trace level), not in the errors kept on the mirror, not
/// in the database.
#[tokio::test]
async fn repository_credentials_are_used_and_never_shown() {
    const PASSWORD: &str = "pw-x7Qm9-never-shown";
    let repo = AptRepo::build(HELLO);
    let files = FileServer::start(repo.root());
    files.require_basic_auth("patchman", PASSWORD);
    let conf = repo.root().join("server.toml");
    write(&repo.root().join("password"), format!("{PASSWORD}\n"));
    write(
        &conf,
        format!(
            "[[repos.source]]\nurl_prefix = \"{}/\"\nusername = \"patchman\"\npassword_file = \"{}\"\n",
            files.url(),
            repo.root().join("password").display()
        ),
    );
    let server = start_server(&[("PATCHMAN_LOG", "trace")]);
    let url = AptRepo::url(&files);
    report(&server, deb_report("h.example.org", INSTALLED, std::slice::from_ref(&url))).await;
    let conf = conf.to_str().unwrap();

    // Without the configuration the repository refuses; with it, the packages arrive.
    let (ok, out) = refresh(&server);
    assert!(!ok && out.contains("401"), "{out}");
    let ok_run = server.admin_output(&["--config", conf, "refresh-repos", "--force"]);
    assert!(ok_run.status.success(), "{ok_run:?}");
    assert_eq!(updates(&server, "h.example.org"), [update("hello-tiny", "1.1-1", false)]);
    // A failing fetch with the credentials: its error is logged and kept on the mirror.
    files.set_down(true);
    let failed_run = server.admin_output(&["--config", conf, "refresh-repos", "--force"]);
    assert!(!failed_run.status.success(), "{failed_run:?}");

    let secrets = [PASSWORD.to_owned(), patchman_testkit::http::base64(format!("patchman:{PASSWORD}").as_bytes())];
    let stderr = String::from_utf8_lossy(&ok_run.stderr);
    assert!(stderr.contains("TRACE") || stderr.contains("DEBUG"), "the logs were not on: {stderr}");
    let mut seen = vec![
        ("output", String::from_utf8_lossy(&ok_run.stdout).into_owned()),
        ("log", stderr.into_owned()),
        ("failed output", String::from_utf8_lossy(&failed_run.stdout).into_owned()),
        ("failed log", String::from_utf8_lossy(&failed_run.stderr).into_owned()),
        ("repo list", server.admin(&["repo", "list", "--json"])),
    ];
    for suffix in ["", "-wal"] {
        let file = format!("{}{suffix}", server.db_path().display());
        seen.push(("database", String::from_utf8_lossy(&std::fs::read(file).unwrap_or_default()).into_owned()));
    }
    for (what, text) in &seen {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "the {what} shows a credential");
        }
    }
}

/// A repository a report names first is refreshed within seconds by the background job
/// (not at the next full refresh), and its host's updates become known.
#[tokio::test]
async fn a_new_repository_is_refreshed_promptly_and_its_hosts_become_known() {
    let repo = AptRepo::build(HELLO);
    let files = FileServer::start(repo.root());
    let keyring = repo.key.public.to_str().unwrap().to_owned();
    let server = start_server(&[
        ("PATCHMAN_REPOS_KEYRINGS", &keyring),
        ("PATCHMAN_REPOS__REFRESH_INTERVAL_SECONDS", "3600"),
        ("PATCHMAN_REPOS__NEW_REPO_INTERVAL_SECONDS", "1"),
    ]);
    // Let the full refresh that runs at start find nothing to do.
    std::thread::sleep(std::time::Duration::from_millis(500));
    report(&server, deb_report("n.example.org", INSTALLED, &[AptRepo::url(&files)])).await;
    let unknown = server.admin(&["host", "list", "--filter", "status=unknown"]);
    assert!(unknown.contains("n.example.org"), "before its repository is refreshed: {unknown}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = only_repo(&server);
        if r["package_count"].as_i64() == Some(3) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not refreshed within 30 s: {r:#}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server.admin(&["host", "list", "--filter", "status=bugfix"]).contains("n.example.org") {
        assert!(std::time::Instant::now() < deadline, "{}", server.admin(&["host", "show", "n.example.org"]));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(updates(&server, "n.example.org"), [update("hello-tiny", "1.1-1", false)]);
}
