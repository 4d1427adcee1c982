//! The advisory pages in process, on both backends: the list and its filters (a bad one is a
//! 400 naming the field), an advisory and a CVE with their hosts, the host's advisories and
//! the update that fixes each, the dashboard's items, time to patch, a download.

use axum::http::StatusCode;
use patchman_server::accounts::Role;
use patchman_server::advisories::{Advisory, Affected, CveRef, FeedContents, Fix, KnownExploited};
use patchman_server::exposures::recompute_stale;
use patchman_server::report::PackageKind;
use patchman_server::store::{FeedRead, FeedResult, Store};

use crate::store_suite::{enroll, ingest, pkg, report};
use crate::web_support::{App, get, get3, on_both_backends, sign_in};

on_both_backends!(advisory_pages_show_exposures_hosts_and_time_to_patch);

async fn feed(store: &dyn Store, name: &str, kind: &str, contents: FeedContents) {
    let read = FeedRead {
        name,
        kind,
        location: "/srv/feeds",
        now_ms: 2_000,
        result: FeedResult::New { contents: &contents, checksum: "c", etag: None, last_modified: None },
    };
    store.record_feed(&read).await.unwrap();
}

async fn advisory_pages_show_exposures_hosts_and_time_to_patch(app: App) {
    let token = enroll(&*app.store, "web1.example.org").await;
    ingest(&*app.store, &token, report("web1.example.org", "r1", 1_000, vec![pkg("openssl", "3.0.15", "1~deb12u1")]))
        .await;
    let dsa = Advisory {
        name: "DSA-5999-1".into(),
        kind: "security".into(),
        severity: "high".into(),
        summary: "openssl <b>security</b> update".into(),
        issued_ms: Some(1_500),
        updated_ms: None,
        withdrawn_ms: None,
        cves: vec![CveRef { id: "CVE-2025-1111".into(), severity: String::new() }],
        references: vec!["https://www.debian.org/security/2025/dsa-5999".into()],
        affected: vec![Affected {
            release: "Debian 12".into(),
            kind: PackageKind::Deb,
            package: "openssl".into(),
            fix: Fix::Version("3.0.16-1~deb12u1".into()),
        }],
    };
    feed(&*app.store, "debian", "osv", FeedContents { advisories: vec![dsa], exploited: vec![] }).await;
    let kev = KnownExploited { cve: "CVE-2025-1111".into(), name: "OpenSSL".into(), added_ms: None, ransomware: true };
    feed(&*app.store, "kev", "kev", FeedContents { advisories: vec![], exploited: vec![kev] }).await;
    let failing = FeedRead {
        name: "ubuntu",
        kind: "osv",
        location: "https://x",
        now_ms: 3_000,
        result: FeedResult::Failed("404"),
    };
    app.store.record_feed(&failing).await.unwrap();
    recompute_stale(&*app.store).await.unwrap();
    // Signed out, every advisory page sends to the sign-in and shows nothing.
    for path in ["/advisories", "/advisories/DSA-5999-1", "/cves/CVE-2025-1111", "/time-to-patch"] {
        let page = get(&app, path, None).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert!(page.location().starts_with("/login?next="), "{path}: {}", page.location());
        assert!(!page.body.contains("DSA-5999-1") && !page.body.contains("web1.example.org"), "{path}");
    }
    let api = get(&app, "/api/v1/advisories", None).await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED, "the API needs a token: {}", api.body);
    let session = sign_in(&app, "alice", Role::Viewer).await;

    let (status, _, page) = get3(&app, &session, "/advisories").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Advisories (1)") && page.contains("href=\"/advisories/DSA-5999-1\""), "{page}");
    assert!(page.contains("exploited") && page.contains("href=\"/cves/CVE-2025-1111\""), "{page}");
    assert!(page.contains("&lt;b&gt;security&lt;/b&gt;"), "escaped: {page}");
    assert!(page.contains("class=\"feed failing\"") && page.contains("1 in a row: 404"), "{page}");
    let (_, _, page) = get3(&app, &session, "/advisories?severity=low").await;
    assert!(page.contains("Advisories (0)"), "{page}");
    let bad = get(&app, "/advisories?severity=urgent", Some(&session)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("severity"), "{}", bad.body);
    let csv = get(&app, "/advisories?format=csv", Some(&session)).await;
    assert!(csv.body.starts_with("name,feed,kind,severity") && csv.body.contains("DSA-5999-1,debian"), "{}", csv.body);

    let (status, _, page) = get3(&app, &session, "/advisories/DSA-5999-1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Hosts exposed (1)") && page.contains("web1.example.org"), "{page}");
    assert!(page.contains("3.0.15-1~deb12u1") && page.contains("3.0.16-1~deb12u1"), "{page}");
    assert_eq!(get(&app, "/advisories/DSA-0000-0", Some(&session)).await.status, StatusCode::NOT_FOUND);

    let (status, _, page) = get3(&app, &session, "/cves/cve-2025-1111").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("known to be used by ransomware") && page.contains("web1.example.org"), "{page}");
    assert_eq!(get(&app, "/cves/openssl", Some(&session)).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get(&app, "/cves/CVE-2099-0001", Some(&session)).await.status, StatusCode::NOT_FOUND);

    let (_, _, page) = get3(&app, &session, "/hosts/web1.example.org").await;
    assert!(page.contains("Security advisories (1)") && page.contains("DSA-5999-1"), "{page}");
    assert!(page.contains("none offered by its repositories"), "no repository was refreshed: {page}");

    // Its security repository offers the fix: the update names the advisory, and the advisory
    // names the update.
    for r in app.store.repos().await.unwrap() {
        let offered =
            if r.suite == "bookworm-security" { vec![pkg("openssl", "3.0.16", "1~deb12u1").package] } else { vec![] };
        let contents = patchman_server::contents::RepoContents { packages: offered, ..Default::default() };
        app.store.replace_repo_contents(r.id, &contents, 3_000).await.unwrap();
    }
    patchman_server::updates::Updater::new(app.store.clone()).recompute_stale().await.unwrap();
    let (_, _, page) = get3(&app, &session, "/hosts/web1.example.org").await;
    assert!(page.contains("(DSA-5999-1)"), "the security update names its advisory: {page}");
    assert!(page.contains("3.0.16-1~deb12u1 from "), "the advisory names the update: {page}");

    let (_, _, page) = get3(&app, &session, "/").await;
    for (href, count) in [
        ("/advisories?exploited&#x3D;true&amp;exposed&#x3D;true", 1),
        ("/advisories?exposed&#x3D;true", 1),
        ("/advisories#feeds", 1),
    ] {
        assert!(page.contains(&format!("<a href=\"{href}\"><span class=\"count\">{count}</span>")), "{href}: {page}");
    }

    let (status, _, page) = get3(&app, &session, "/time-to-patch?by=severity&days=30").await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("Time to patch, last 30 days"), "{page}");
    assert_eq!(get(&app, "/time-to-patch?by=colour", Some(&session)).await.status, StatusCode::BAD_REQUEST);
}
