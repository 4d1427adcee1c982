//! The query layer's update and repository lists, answered by the store (stories run on both
//! backends from `store_suite`), and what administrators change on repositories and mirrors.

use std::sync::Arc;

use patchman_server::query::{HostFilter, HostStatus, PackageFilter, PageRequest, RepoFilter};
use patchman_server::store::{MirrorAttempt, MirrorResult, Store};

use crate::host_queries::{CLOCK, fleet};

async fn updates(store: &Arc<dyn Store>, query: &str, package: Option<&str>) -> (u64, Vec<(String, bool, i64)>) {
    let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
    let (filter, _, page) = HostFilter::from_pairs(pairs).unwrap();
    let list = store.update_list(&filter, package, page, &CLOCK).await.unwrap();
    (list.total, list.rows.iter().map(|u| (u.name.clone(), u.security, u.hosts)).collect())
}

async fn repo_names(store: &Arc<dyn Store>, query: &str) -> Vec<String> {
    let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
    let filter = RepoFilter::from_pairs(pairs).unwrap();
    store.repo_list(&filter, &CLOCK).await.unwrap().into_iter().map(|r| r.name).collect()
}

pub(crate) async fn updates_and_repositories_are_listed(store: Arc<dyn Store>) {
    fleet(&store).await;
    // a has one security update, e one bugfix update (the fleet's first package to its second).
    let (total, rows) = updates(&store, "", None).await;
    assert_eq!(total, 2, "{rows:?}");
    assert!(rows[0].1 && !rows[1].1, "security first: {rows:?}");
    assert!(rows.iter().all(|r| r.2 == 1), "{rows:?}");
    let (total, rows) = updates(&store, "tag=web", None).await;
    assert_eq!((total, rows[0].1), (1, true), "c is tagged web too but needs nothing: {rows:?}");
    assert_eq!(updates(&store, "has_bugfix=true", None).await.1.len(), 1);
    let name = rows[0].0.clone();
    assert!(updates(&store, "", Some(&name)).await.0 >= 1);
    assert_eq!(updates(&store, "", Some("no-such-package")).await.0, 0);
    assert_eq!(updates(&store, "page=5", None).await, (2, vec![]), "past the end: the total, no rows");
    assert_eq!(
        updates(&store, "per_page=1&page=2", None).await,
        (2, vec![(updates(&store, "", None).await.1[1].clone())])
    );

    // Package names by a substring (LIKE wildcards literal), kind and arch.
    let names = |query: &'static str| {
        let store = store.clone();
        async move {
            let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
            let filter = PackageFilter::from_pairs(pairs).unwrap();
            let list = store.package_names(&filter, PageRequest::default()).await.unwrap();
            (list.total, list.rows.into_iter().map(|r| (r.name, r.versions)).collect::<Vec<_>>())
        }
    };
    assert_eq!(names("search=openss").await, (1, vec![("openssl".to_owned(), 2)]), "3.0.7-27.el9 and 3.0.15");
    assert_eq!(names("search=openss&kind=rpm").await.0, 0);
    assert_eq!(names("search=openss&arch=amd64").await.0, 1);
    assert_eq!(names("search=%25").await.0, 0, "LIKE wildcards are literal");
    assert!(names("kind=deb").await.0 >= 2);

    let all = repo_names(&store, "").await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(repo_names(&store, "stale=true").await, all, "never refreshed");
    assert_eq!(repo_names(&store, "security=true").await.len(), 1, "the -security suite");
    assert_eq!(repo_names(&store, "search=SECURITY").await, repo_names(&store, "security=true").await);
    assert!(repo_names(&store, "failing=true").await.is_empty());
    assert!(repo_names(&store, "unused=true").await.is_empty());
    assert_eq!(repo_names(&store, "kind=rpm").await.len(), 0);

    let repos = store.repos().await.unwrap();
    let (first, second) = (&repos[0], &repos[1]);
    let mirror = first.mirrors[0].id;
    let failure = MirrorAttempt {
        mirror_id: mirror,
        result: MirrorResult::Failed { error: "connection refused <b>" },
        max_failures: 1,
        now: 5_000,
    };
    assert!(store.record_mirror(&failure).await.unwrap(), "disabled after one failure");
    assert_eq!(repo_names(&store, "failing=true").await, vec![first.name.clone()]);
    assert!(store.set_mirror_enabled(mirror, true).await.unwrap());
    assert!(repo_names(&store, "failing=true").await.is_empty(), "enabled again, its failures forgotten");
    assert!(store.set_mirror_enabled(mirror, false).await.unwrap());
    assert_eq!(repo_names(&store, "enabled=true&failing=true").await, vec![first.name.clone()]);
    assert!(!store.set_mirror_enabled(999_999, true).await.unwrap());

    // Disabling a repository recomputes its hosts: until then their updates are unknown.
    assert!(store.set_repo_enabled(second.id, false).await.unwrap());
    assert_eq!(repo_names(&store, "enabled=false").await, vec![second.name.clone()]);
    let unknown = HostFilter { status: Some(HostStatus::Unknown), ..HostFilter::default() };
    let list = store.host_list(&unknown, &Default::default(), PageRequest::default(), &CLOCK).await.unwrap();
    assert_eq!(list.total, 4, "every host but the silent one");
    assert!(!store.set_repo_enabled(999_999, false).await.unwrap());

    assert!(!store.link_repos(first.id, first.id).await.unwrap());
    assert!(!store.link_repos(first.id, 999_999).await.unwrap());
    assert!(store.link_repos(first.id, second.id).await.unwrap());
    let after = store.repos().await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].mirrors.len(), first.mirrors.len() + second.mirrors.len(), "the mirrors moved");
    assert_eq!(after[0].host_count, 5);
}

/// Transactions of the hosts a filter selects, newest first; OS variants moved between groups.
pub(crate) async fn transactions_are_listed_and_variants_move(store: Arc<dyn Store>) {
    use patchman_server::report::{ChangeAction, PackageChange, Transaction};
    for (name, tag, at) in [("p.example.org", "web", 200), ("q.example.org", "db", 300)] {
        let token = crate::store_suite::enroll(&*store, name).await;
        let mut r = crate::store_suite::report(name, "r1", 100, crate::store_suite::base_packages());
        r.tags = vec![tag.into()];
        r.transactions = vec![Transaction {
            transaction_id: format!("{name}-t1"),
            finished_at_ms: at,
            tool: "apt".into(),
            changes: vec![
                PackageChange {
                    action: ChangeAction::Upgraded,
                    name: "openssl".into(),
                    arch: "amd64".into(),
                    old_version: "3.0.14-1~deb12u1".into(),
                    new_version: "3.0.15-1~deb12u1".into(),
                },
                PackageChange {
                    action: ChangeAction::Installed,
                    name: format!("only-on-{tag}"),
                    arch: "amd64".into(),
                    old_version: String::new(),
                    new_version: "1".into(),
                },
            ],
        }];
        crate::store_suite::ingest(&*store, &token, r).await;
    }
    let list = |query: &'static str, package: Option<&'static str>| {
        let store = store.clone();
        async move {
            let pairs: Vec<(&str, &str)> = query.split('&').filter_map(|kv| kv.split_once('=')).collect();
            let (filter, _, page) = HostFilter::from_pairs(pairs).unwrap();
            let list = store.transaction_list(&filter, package, page, &CLOCK).await.unwrap();
            (list.total, list.rows)
        }
    };
    let (total, rows) = list("", None).await;
    assert_eq!(total, 2);
    assert_eq!(rows.iter().map(|t| t.hostname.as_str()).collect::<Vec<_>>(), ["q.example.org", "p.example.org"]);
    assert_eq!(rows[0].transaction.changes.len(), 2, "{rows:?}");
    assert_eq!(rows[0].transaction.changes[0].action, "upgraded");
    assert_eq!(list("tag=web", None).await.1[0].hostname, "p.example.org");
    assert_eq!(list("", Some("only-on-db")).await.0, 1);
    assert_eq!(list("", Some("openssl")).await.0, 2);
    assert_eq!(list("per_page=1&page=2", None).await.1[0].hostname, "p.example.org");
    assert!(store.errata(PageRequest::default()).await.unwrap().rows.is_empty(), "no repository offers errata");

    let variant = store.hosts().await.unwrap()[0].os_variant.clone();
    assert!(store.set_os_variant_group(&variant, "All Debian").await.unwrap());
    let groups = store.os_groups().await.unwrap();
    let moved = groups.iter().find(|g| g.name == "All Debian").expect("the new group");
    assert_eq!((moved.variants.clone(), moved.host_count), (vec![variant.clone()], 2));
    assert!(!store.set_os_variant_group("Plan 9", "All Debian").await.unwrap());
}
