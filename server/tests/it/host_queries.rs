//! The query layer's host questions, answered by the store (stories run on both backends
//! from `store_suite`): every filter, the order, the page, each host's status in SQL and in
//! Rust alike, and the dashboard's counts.

use std::sync::Arc;

use patchman_engine::{Update, UpdateKind, Verdict};
use patchman_server::ingest::prepare;
use patchman_server::query::{Clock, HostFilter, HostStatus, PageRequest};
use patchman_server::store::{Credential, HostWork, Store, VerdictRecord};

use crate::store_suite::{base_packages, enroll, pkg, report};

pub(crate) const CLOCK: Clock = Clock { now_ms: 6_000, silent_after_ms: 3_000 };

/// a: security update; b: updates unknown (a repository never refreshed); c: silent;
/// d: up to date; e: bugfix only. a and c are tagged web, a runs openssl 3.0.7-27.el9.
pub(crate) async fn fleet(store: &Arc<dyn Store>) {
    for (name, tags, seen) in [
        ("a", vec!["web", "prod"], 5_000),
        ("b", vec!["db"], 5_000),
        ("c", vec!["web"], 1_000),
        ("d", vec![], 5_000),
        ("e", vec![], 5_000),
    ] {
        let host = format!("{name}.example.org");
        let token = enroll(&**store, &host).await;
        let mut packages = base_packages();
        if name == "a" {
            packages.retain(|p| p.package.name != "openssl");
            packages.push(pkg("openssl", "3.0.7", "27.el9"));
        }
        let mut r = report(&host, &format!("{name}1"), 100, packages);
        r.tags = tags.into_iter().map(str::to_owned).collect();
        store.ingest(&Credential::Host(token), prepare(r), seen).await.unwrap().unwrap();
    }
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        ids.push(store.host_id(&format!("{name}.example.org")).await.unwrap().unwrap());
    }
    let mut works = store.host_work(&ids).await.unwrap();
    works.sort_by_key(|w| ids.iter().position(|id| *id == w.host_id));
    let update = |w: &HostWork, security: bool| Update {
        installed: w.package_ids[0],
        candidate: w.package_ids[1],
        repo: w.repos[0].id,
        security,
        kind: UpdateKind::Package,
        erratum: None,
        reason: "newer in the test".into(),
    };
    let verdicts: Vec<(Verdict, bool)> = works
        .iter()
        .zip(["a", "b", "c", "d", "e"])
        .map(|(w, name)| {
            let updates = match name {
                "a" => vec![update(w, true)],
                "e" => vec![update(w, false)],
                _ => Vec::new(),
            };
            (Verdict { updates, not_in_repos: Vec::new(), duplicates: Vec::new(), reboot: None }, name != "b")
        })
        .collect();
    let records: Vec<VerdictRecord> = works
        .iter()
        .zip(&verdicts)
        .map(|(w, (v, known))| VerdictRecord {
            host_id: w.host_id,
            state_version: w.state_version,
            digest: [9; 16],
            verdict: v,
            repos_known: *known,
        })
        .collect();
    assert_eq!(store.save_verdicts(&records, 5_500).await.unwrap().saved, 5);
}

async fn names(store: &Arc<dyn Store>, query: &str) -> (u64, Vec<String>) {
    let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
    let (filter, sort, page) = HostFilter::from_pairs(pairs).unwrap_or_else(|e| panic!("{query}: {e}"));
    let list = store.host_list(&filter, &sort, page, &CLOCK).await.unwrap();
    let names = list.rows.iter().map(|h| h.hostname.trim_end_matches(".example.org").to_owned()).collect();
    (list.total, names)
}

pub(crate) async fn hosts_are_listed_by_filter(store: Arc<dyn Store>) {
    fleet(&store).await;
    let all = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(names(&store, "").await, (5, all(&["a", "b", "c", "d", "e"])));
    assert_eq!(names(&store, "tag=web").await.1, all(&["a", "c"]));
    assert_eq!(names(&store, "tag=web&tag=prod").await.1, all(&["a"]), "the last value of a key wins");
    assert_eq!(names(&store, "has_security=true").await.1, all(&["a"]));
    assert_eq!(names(&store, "has_bugfix=true").await.1, all(&["e"]));
    assert_eq!(names(&store, "package_name=openssl&package_evr=3.0.7-27").await.1, all(&["a"]));
    assert_eq!(names(&store, "package_name=openssl&package_evr=3.0.7-2").await.1, all(&[]));
    assert_eq!(names(&store, "package_name=openssl&package_evr=0:3.0.15").await.1, all(&["b", "c", "d", "e"]));
    assert_eq!(names(&store, "package_name=zlib1g").await.0, 5);
    assert_eq!(names(&store, "search=A.EX").await.1, all(&["a"]));
    assert_eq!(names(&store, "search=%25").await.1, all(&[]), "LIKE wildcards are literal");
    assert_eq!(names(&store, "reported_before=2000").await.1, all(&["c"]));
    assert_eq!(names(&store, "has_repos=false").await.0, 0);
    let first = store.host_list(&HostFilter::default(), &Default::default(), PageRequest::default(), &CLOCK).await;
    let first = first.unwrap().rows.remove(0);
    assert_eq!(names(&store, &format!("os_variant={}", first.os_variant)).await.0, 5);
    assert_eq!(names(&store, &format!("os_group={}", first.os_group)).await.0, 5);
    assert_eq!(names(&store, "os_variant=Windows").await.0, 0);
    assert_eq!(names(&store, "arch=x86_64").await.0, 5);
    assert_eq!(names(&store, "sort=-security").await.1[0], "a");
    assert_eq!(names(&store, "sort=-bugfix&per_page=1").await, (5, all(&["e"])));
    assert_eq!(names(&store, "per_page=2&page=3").await, (5, all(&["e"])));

    // Every host has one status, the same in SQL (the filter) and in Rust (`status_at`).
    for (status, host) in [
        (HostStatus::Security, "a"),
        (HostStatus::Unknown, "b"),
        (HostStatus::Silent, "c"),
        (HostStatus::UpToDate, "d"),
        (HostStatus::Bugfix, "e"),
    ] {
        let filter = HostFilter { status: Some(status), ..HostFilter::default() };
        let list = store.host_list(&filter, &Default::default(), PageRequest::default(), &CLOCK).await.unwrap();
        assert_eq!(list.rows.len(), 1, "{status:?}");
        assert_eq!(list.rows[0].hostname, format!("{host}.example.org"), "{status:?}");
        assert_eq!(list.rows[0].status_at(&CLOCK), status);
    }
    let versions = store.package_versions("openssl").await.unwrap();
    let counts: Vec<(String, i64)> = versions.iter().map(|v| (v.evr.clone(), v.hosts)).collect();
    assert_eq!(counts, [("3.0.7-27.el9".to_owned(), 1), ("3.0.15-1~deb12u1".to_owned(), 4)], "in version order");
    assert!(store.package_versions("no-such-package").await.unwrap().is_empty());
    let tags = &store.host_list(&HostFilter::default(), &Default::default(), PageRequest::default(), &CLOCK).await;
    assert_eq!(tags.as_ref().unwrap().rows[0].tags, ["prod", "web"]);
    // The host counts follow reports and deletions.
    assert!(store.delete_host("b.example.org").await.unwrap());
    let a = patchman_server::auth::TokenHash::of("token-of-a.example.org");
    store
        .ingest(&Credential::Host(a), prepare(report("a.example.org", "a2", 200, base_packages())), 5_100)
        .await
        .unwrap()
        .unwrap();
    let versions = store.package_versions("openssl").await.unwrap();
    let counts: Vec<(String, i64)> = versions.iter().map(|v| (v.evr.clone(), v.hosts)).collect();
    assert_eq!(counts, [("3.0.15-1~deb12u1".to_owned(), 4)], "b gone, a upgraded");
}

pub(crate) async fn the_dashboard_counts_what_needs_attention(store: Arc<dyn Store>) {
    fleet(&store).await;
    let d = store.dashboard(&CLOCK).await.unwrap();
    assert_eq!(d.hosts, 5);
    assert!(d.by_status.iter().all(|(_, n)| *n == 1), "{:?}", d.by_status);
    assert_eq!(d.by_status.len(), 5);
    assert_eq!((d.with_security, d.reboot_required, d.without_repos, d.updates), (1, 0, 0, 2));
    assert_eq!((d.repos, d.repos_unused, d.repos_not_refreshed), (2, 0, 2));
    assert_eq!((d.mirrors_failing, d.mirrors_disabled, d.repos_past_valid_until), (0, 0, 0));
    assert_eq!(d.os_variants_without_group_repos, 1);
    assert_eq!(d.unknown_packages, 0);
}

/// An administrator's tags outlive the host's reports; reported tags follow the reports.
pub(crate) async fn administrators_tags_outlive_reports(store: Arc<dyn Store>) {
    let token = enroll(&*store, "t.example.org").await;
    let tagged = |tags: &[&str], id: &str| {
        let mut r = report("t.example.org", id, 100, base_packages());
        r.tags = tags.iter().map(|t| (*t).to_owned()).collect();
        r
    };
    let tags_now = || {
        let store = store.clone();
        async move {
            let h = store.host("t.example.org").await.unwrap().unwrap();
            (h.summary.tags, h.admin_tags)
        }
    };
    store.ingest(&Credential::Host(token), prepare(tagged(&["web"], "t1")), 1_000).await.unwrap().unwrap();
    assert!(store.set_host_tag("t.example.org", "pinned", true).await.unwrap());
    assert_eq!(tags_now().await, (vec!["pinned".to_owned(), "web".to_owned()], vec!["pinned".to_owned()]));
    store.ingest(&Credential::Host(token), prepare(tagged(&["db"], "t2")), 2_000).await.unwrap().unwrap();
    assert_eq!(tags_now().await.0, ["db", "pinned"], "the reported tag follows the report, the admin's stays");
    assert!(store.set_host_tag("t.example.org", "db", true).await.unwrap(), "a reported tag made the admin's");
    store.ingest(&Credential::Host(token), prepare(tagged(&[], "t3")), 3_000).await.unwrap().unwrap();
    assert_eq!(
        tags_now().await,
        (vec!["db".to_owned(), "pinned".to_owned()], vec!["db".to_owned(), "pinned".to_owned()])
    );
    assert!(store.set_host_tag("t.example.org", "pinned", false).await.unwrap());
    assert_eq!(tags_now().await.0, ["db"]);
    assert_eq!(names(&store, "tag=db").await.1, ["t"]);
    assert!(!store.set_host_tag("nobody.example.org", "x", true).await.unwrap());
}
