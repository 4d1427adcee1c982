//! The host's own view of its updates (Patchman's `sec_updates`/`bug_updates`) beside the
//! server's verdict, on both backends: the count kept on the host, its rows, and the
//! dashboard agree; a report without a view clears it.

use std::sync::Arc;

use patchman_server::contents::RepoContents;
use patchman_server::query::{Clock, HostFilter, PageRequest};
use patchman_server::report::{OfferedUpdate, Package};
use patchman_server::store::Store;
use patchman_server::store::views::ViewDifference;
use patchman_server::updates::Updater;

use crate::store_suite::{enroll, ingest, pkg, report};

fn offered(name: &str, version: &str, security: bool) -> OfferedUpdate {
    let (version, release) = version.split_once('-').unwrap();
    OfferedUpdate {
        name: name.into(),
        arch: "amd64".into(),
        epoch: 0,
        version: version.into(),
        release: release.into(),
        repo: String::new(),
        security,
    }
}

fn difference(name: &str, host: Option<&str>, server: Option<&str>) -> ViewDifference {
    ViewDifference {
        name: name.into(),
        arch: "amd64".into(),
        host: host.map(Into::into),
        server: server.map(Into::into),
    }
}

pub(crate) async fn the_hosts_own_view_is_compared_with_its_verdict(store: Arc<dyn Store>) {
    let token = enroll(&*store, "v.example.org").await;
    let installed = vec![
        pkg("bash", "5.2.15", "1"),
        pkg("openssl", "3.0.15", "1"),
        pkg("curl", "7.88.1", "1"),
        pkg("zsh", "5.9", "1"),
        pkg("libc6", "2.36", "9"),
    ];
    let mut r = report("v.example.org", "r1", 100, installed.clone());
    r.offered_updates = vec![
        offered("bash", "5.2.21-1", false),    // as the server finds it
        offered("openssl", "3.0.16-1", false), // the server says security
        offered("libc6", "2.36-10", true),     // as the server finds it
        offered("curl", "7.88.2-1", false),    // the server finds nothing
    ]; // and the server finds zsh 5.9.1-1, which the host does not offer
    ingest(&*store, &token, r).await;
    let p = |name: &str, version: &str, release: &str| -> Package { pkg(name, version, release).package };
    let repos = store.repos().await.unwrap();
    for repo in &repos {
        let packages = if repo.suite == "bookworm-security" {
            vec![p("openssl", "3.0.16", "1"), p("libc6", "2.36", "10")]
        } else {
            vec![p("bash", "5.2.21", "1"), p("zsh", "5.9.1", "1")]
        };
        let contents = RepoContents { packages, ..Default::default() };
        assert!(store.replace_repo_contents(repo.id, &contents, 200).await.unwrap());
    }
    Updater::new(store.clone()).recompute_stale().await.unwrap();

    let host = store.host("v.example.org").await.unwrap().unwrap();
    assert_eq!(host.updates.len(), 4, "{:?}", host.updates);
    assert!(host.offered_known);
    assert_eq!(
        host.view_differences,
        [
            difference("curl", Some("7.88.2-1 (bugfix)"), None),
            difference("openssl", Some("3.0.16-1 (bugfix)"), Some("3.0.16-1 (security)")),
            difference("zsh", None, Some("5.9.1-1 (bugfix)")),
        ]
    );
    assert_eq!(host.summary.view_disagreements, 3, "the count kept on the host is the rows' count");
    let clock = Clock { now_ms: 1_000, silent_after_ms: 86_400_000 };
    assert_eq!(store.dashboard(&clock).await.unwrap().view_disagrees, 1);
    let (filter, sort, _) = HostFilter::from_pairs([("view_disagrees", "true")]).unwrap();
    assert_eq!(store.host_list(&filter, &sort, PageRequest::default(), &clock).await.unwrap().total, 1);

    // The host installs what it was offered: the views agree again.
    let mut r = report("v.example.org", "r2", 200, installed.clone());
    r.offered_updates = vec![
        offered("bash", "5.2.21-1", false),
        offered("openssl", "3.0.16-1", true),
        offered("libc6", "2.36-10", true),
        offered("zsh", "5.9.1-1", false),
    ];
    ingest(&*store, &token, r).await;
    Updater::new(store.clone()).recompute_stale().await.unwrap();
    let host = store.host("v.example.org").await.unwrap().unwrap();
    assert_eq!((host.view_differences.len(), host.summary.view_disagreements), (0, 0), "{:?}", host.view_differences);

    // A report that says nothing of the host's view (gRPC, a hook): no view, nothing to compare.
    let mut r = report("v.example.org", "r3", 300, installed);
    r.offered_updates.clear();
    r.tags = vec!["db".into()];
    ingest(&*store, &token, r).await;
    let host = store.host("v.example.org").await.unwrap().unwrap();
    assert!(
        !host.offered_known && host.view_differences.is_empty(),
        "{} {:?}",
        host.offered_known,
        host.view_differences
    );
    assert_eq!(host.summary.view_disagreements, 0);
}
