//! One store test suite, run against SQLite and against PostgreSQL (a fresh database per test
//! on the server `PATCHMAN_TEST_PG_URL` names). Each story drives the `Store` trait directly.

use std::sync::Arc;

use crate::exposure_story::exposure_windows_follow_reports_and_feeds;
use crate::host_queries::{
    administrators_tags_outlive_reports, hosts_are_listed_by_filter, the_dashboard_counts_what_needs_attention,
};
use crate::host_view::the_hosts_own_view_is_compared_with_its_verdict;
use crate::incremental::{
    a_cache_budget_of_a_few_packages_gives_the_same_verdicts,
    a_set_difference_marks_only_the_hosts_that_have_its_names, incremental_recomputation_equals_a_full_one,
    twins_share_one_evaluation_and_a_drifting_host_gets_its_own,
};
use crate::list_queries::{transactions_are_listed_and_variants_move, updates_and_repositories_are_listed};
use patchman_server::accounts::{Role, SessionHash};
use patchman_server::auth::TokenHash;
use patchman_server::ingest::prepare;
use patchman_server::report::{
    InstalledPackage, ModuleStream, Os, Package, PackageKind, Reboot, RepoUrl, Report, ReportedRepo, Trigger, UrlKind,
};
use patchman_server::store::{
    self, AuditEntry, Credential, EnrollOutcome, Enrollment, IngestOutcome, IngestRejection, NewSession, NewUser,
    SessionRecord, Store,
};

async fn sqlite() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("store.db").display());
    (store::connect(&url).await.expect("open SQLite"), dir)
}

async fn postgres(label: &str) -> Arc<dyn Store> {
    let url = patchman_testkit::pg::fresh_database(label);
    store::connect(&url).await.expect("open PostgreSQL")
}

/// Runs each story once per backend.
macro_rules! stories {
    ($($story:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                let (store, _dir) = super::sqlite().await;
                super::$story(store).await;
            })*
        }
        mod on_postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $story() {
                super::$story(super::postgres(stringify!($story)).await).await;
            })*
        }
    };
}

stories!(
    a_report_round_trips,
    unchanged_duplicate_and_superseded_reports,
    rejected_reports_write_nothing,
    hosts_share_repositories_by_url,
    the_unchanged_fast_path_needs_the_same_wire_state,
    deleting_a_host_removes_its_rows,
    a_verdict_of_thousands_of_updates_is_saved_whole,
    concurrent_reports_of_one_host_end_consistent,
    jobs_are_claimed_once_and_taken_over_after_the_lease,
    verdicts_are_saved_only_for_the_state_they_came_from,
    repository_contents_are_replaced_as_a_set_difference,
    reports_are_pruned_to_the_newest_of_each_host,
    only_changed_hosts_are_marked_for_recomputation,
    a_set_difference_marks_only_the_hosts_that_have_its_names,
    incremental_recomputation_equals_a_full_one,
    a_cache_budget_of_a_few_packages_gives_the_same_verdicts,
    twins_share_one_evaluation_and_a_drifting_host_gets_its_own,
    hosts_are_listed_by_filter,
    the_dashboard_counts_what_needs_attention,
    updates_and_repositories_are_listed,
    transactions_are_listed_and_variants_move,
    administrators_tags_outlive_reports,
    the_hosts_own_view_is_compared_with_its_verdict,
    users_are_added_listed_and_deleted,
    sessions_are_found_by_hash_and_go_with_their_user,
    the_audit_log_lists_newest_first,
    exposure_windows_follow_reports_and_feeds,
);

pub(crate) fn pkg(name: &str, version: &str, release: &str) -> InstalledPackage {
    InstalledPackage {
        package: Package {
            kind: PackageKind::Deb,
            name: name.into(),
            epoch: 0,
            version: version.into(),
            release: release.into(),
            arch: "amd64".into(),
        },
        source_name: String::new(),
        source_version: String::new(),
    }
}

pub(crate) fn apt_repo(suite: &str, url: &str) -> ReportedRepo {
    ReportedRepo {
        kind: PackageKind::Deb,
        repo_id: format!("deb.debian.org/debian {suite}/main amd64"),
        name: String::new(),
        priority: 500,
        urls: vec![RepoUrl { url: url.into(), kind: UrlKind::Apt }],
        suite: suite.into(),
        component: "main".into(),
        architecture: "amd64".into(),
    }
}

pub(crate) fn report(hostname: &str, report_id: &str, generated_at_ms: i64, packages: Vec<InstalledPackage>) -> Report {
    Report {
        report_id: report_id.into(),
        generated_at_ms,
        hostname: hostname.into(),
        machine_id: String::new(),
        os: Os {
            id: "debian".into(),
            name: "Debian GNU/Linux".into(),
            version_id: "12".into(),
            version_detail: "12.7".into(),
            ..Os::default()
        },
        kernel: "6.1.0-18-amd64".into(),
        arch: "x86_64".into(),
        packages,
        repos: vec![
            apt_repo("bookworm", "http://deb.debian.org/debian/dists/bookworm/main/binary-amd64"),
            apt_repo(
                "bookworm-security",
                "http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-amd64",
            ),
        ],
        modules: Vec::new(),
        reboot: Reboot::default(),
        tags: vec!["web".into()],
        trigger: Trigger::Timer,
        transactions: Vec::new(),
        client_version: "test".into(),
        offered_updates: Vec::new(),
    }
}

pub(crate) async fn enroll(store: &dyn Store, hostname: &str) -> TokenHash {
    let token = TokenHash::of(&format!("token-of-{hostname}"));
    let e = Enrollment { hostname, machine_id: "", token_hash: &token, now_ms: 1 };
    assert_eq!(store.enroll(&e).await.unwrap(), EnrollOutcome::Enrolled);
    token
}

pub(crate) async fn ingest(store: &dyn Store, token: &TokenHash, r: Report) -> IngestOutcome {
    store.ingest(&Credential::Host(*token), prepare(r), 1_000).await.expect("store").expect("accepted")
}

pub(crate) fn base_packages() -> Vec<InstalledPackage> {
    vec![pkg("bash", "5.2.15", "2+b8"), pkg("openssl", "3.0.15", "1~deb12u1"), pkg("zlib1g", "1.2.13.dfsg", "1")]
}

async fn a_report_round_trips(store: Arc<dyn Store>) {
    let token = enroll(&*store, "web01.example.org").await;
    let mut r = report("web01.example.org", "r1", 100, base_packages());
    r.modules = vec![ModuleStream { name: "nginx".into(), stream: "1.22".into(), profiles: vec!["common".into()] }];
    r.tags = vec!["prod".into(), "web".into()];
    let outcome = ingest(&*store, &token, r).await;
    assert_eq!(outcome, IngestOutcome::Stored { package_count: 3, added: 3, removed: 0 });

    let host = store.host("web01.example.org").await.unwrap().expect("the host");
    let evrs: Vec<String> = host.packages.iter().map(|p| format!("{} {}", p.name, p.evr)).collect();
    assert_eq!(evrs, ["bash 5.2.15-2+b8", "openssl 3.0.15-1~deb12u1", "zlib1g 1.2.13.dfsg-1"]);
    assert_eq!(host.summary.os_group, "Debian 12");
    assert_eq!(host.summary.os_variant, "Debian 12.7");
    assert_eq!(host.summary.domain, "example.org");
    assert_eq!(host.summary.tags, ["prod", "web"]);
    assert_eq!(host.repos.len(), 2);
    let security: Vec<(&str, bool)> = host.repos.iter().map(|r| (r.repo_key.as_str(), r.security)).collect();
    assert_eq!(
        security,
        [
            ("deb.debian.org/debian bookworm-security/main amd64", true),
            ("deb.debian.org/debian bookworm/main amd64", false)
        ]
    );
    assert_eq!(host.modules.len(), 1);
    assert_eq!(host.reports.len(), 1);
    let list = store.hosts().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].package_count, 3);
    assert_eq!(list[0].repo_count, 2);
}

async fn unchanged_duplicate_and_superseded_reports(store: Arc<dyn Store>) {
    let token = enroll(&*store, "h.example.org").await;
    ingest(&*store, &token, report("h.example.org", "r1", 100, base_packages())).await;
    let same = ingest(&*store, &token, report("h.example.org", "r2", 200, base_packages())).await;
    assert_eq!(same, IngestOutcome::Unchanged { package_count: 3 });
    let again = ingest(&*store, &token, report("h.example.org", "r1", 100, base_packages())).await;
    assert_eq!(again, IngestOutcome::Duplicate { package_count: 3 });

    let mut newer = base_packages();
    newer[1] = pkg("openssl", "3.0.16", "1~deb12u1");
    newer.push(pkg("curl", "7.88.1", "10+deb12u8"));
    let stored = ingest(&*store, &token, report("h.example.org", "r3", 300, newer)).await;
    assert_eq!(stored, IngestOutcome::Stored { package_count: 4, added: 2, removed: 1 });

    // An older report arriving late changes no state but is recorded.
    let late = ingest(&*store, &token, report("h.example.org", "r0", 50, vec![pkg("bash", "1", "1")])).await;
    assert_eq!(late, IngestOutcome::Superseded { package_count: 4 });
    let host = store.host("h.example.org").await.unwrap().unwrap();
    assert_eq!(host.packages.len(), 4);
    assert!(host.packages.iter().any(|p| p.name == "openssl" && p.version == "3.0.16"));
    let superseded: Vec<(&str, bool)> = host.reports.iter().map(|r| (r.report_id.as_str(), r.superseded)).collect();
    assert!(superseded.contains(&("r0", true)) && superseded.contains(&("r3", false)), "{superseded:?}");
}

async fn rejected_reports_write_nothing(store: Arc<dyn Store>) {
    let token = enroll(&*store, "a.example.org").await;
    let other = enroll(&*store, "b.example.org").await;
    ingest(&*store, &token, report("a.example.org", "r1", 100, base_packages())).await;
    let unknown = store
        .ingest(&Credential::Host(TokenHash::of("nobody")), prepare(report("a.example.org", "x", 200, vec![])), 2)
        .await;
    assert_eq!(unknown.unwrap(), Err(IngestRejection::UnknownToken));
    let wrong = store.ingest(&Credential::Host(other), prepare(report("a.example.org", "y", 200, vec![])), 2).await;
    assert!(matches!(wrong.unwrap(), Err(IngestRejection::WrongHost { .. })));
    let host = store.host("a.example.org").await.unwrap().unwrap();
    assert_eq!(host.packages.len(), 3);
    assert_eq!(host.reports.len(), 1);
    assert!(store.host("b.example.org").await.unwrap().unwrap().packages.is_empty());
}

async fn hosts_share_repositories_by_url(store: Arc<dyn Store>) {
    let a = enroll(&*store, "a.example.org").await;
    let b = enroll(&*store, "b.example.org").await;
    ingest(&*store, &a, report("a.example.org", "r1", 100, base_packages())).await;
    let mut rb = report("b.example.org", "r1", 100, base_packages());
    // A second URL for the bookworm repository: a new mirror of the same repository.
    rb.repos[0].urls.push(RepoUrl {
        url: "http://mirror.example.org/debian/dists/bookworm/main/binary-amd64".into(),
        kind: UrlKind::Apt,
    });
    ingest(&*store, &b, rb).await;
    let ha = store.host("a.example.org").await.unwrap().unwrap();
    let hb = store.host("b.example.org").await.unwrap().unwrap();
    let ids = |h: &store::HostDetail| h.repos.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&ha), ids(&hb), "both hosts use the same repository rows");
    let bookworm =
        |h: &store::HostDetail| h.repos.iter().find(|r| r.repo_key.contains(" bookworm/")).unwrap().urls.len();
    assert_eq!(bookworm(&hb), 2, "{:?}", hb.repos);
    assert_eq!(bookworm(&ha), 2, "mirrors belong to the repository, not to one host");
}

async fn the_unchanged_fast_path_needs_the_same_wire_state(store: Arc<dyn Store>) {
    let token = enroll(&*store, "f.example.org").await;
    let mut prepared = prepare(report("f.example.org", "r1", 100, base_packages()));
    prepared.wire_digest = Some([7; 16]);
    store.ingest(&Credential::Host(token), prepared, 10).await.unwrap().unwrap();
    let touch = |digest: [u8; 16], generated_at: i64| {
        let store = store.clone();
        async move {
            store
                .touch_if_unchanged(&Credential::Host(token), "f.example.org", &digest, generated_at, 20)
                .await
                .unwrap()
        }
    };
    assert_eq!(touch([7; 16], 200).await, Some(3));
    assert_eq!(touch([8; 16], 300).await, None, "another state takes the full path");
    assert_eq!(touch([7; 16], 150).await, None, "an older report takes the full path");
    let wrong_host =
        store.touch_if_unchanged(&Credential::Host(token), "g.example.org", &[7; 16], 400, 20).await.unwrap();
    assert_eq!(wrong_host, None);
    assert_eq!(store.host("f.example.org").await.unwrap().unwrap().summary.last_seen_at, Some(20));
}

async fn deleting_a_host_removes_its_rows(store: Arc<dyn Store>) {
    let token = enroll(&*store, "d.example.org").await;
    ingest(&*store, &token, report("d.example.org", "r1", 100, base_packages())).await;
    let id = store.host_id("d.example.org").await.unwrap().unwrap();
    let work = store.host_work(&[id]).await.unwrap().remove(0);
    let update = patchman_engine::Update {
        installed: work.package_ids[0],
        candidate: work.package_ids[1],
        repo: work.repos[0].id,
        security: true,
        kind: patchman_engine::UpdateKind::Package,
        erratum: None,
        reason: "newer in the test".into(),
    };
    let verdict = patchman_engine::Verdict { updates: vec![update], ..Default::default() };
    let record = store::VerdictRecord {
        host_id: id,
        state_version: work.state_version,
        digest: [1; 16],
        verdict: &verdict,
        repos_known: true,
    };
    assert_eq!(store.save_verdicts(&[record], 150).await.unwrap().saved, 1);
    assert_eq!(store.host_update_list("d.example.org").await.unwrap().unwrap().1.len(), 1);
    assert!(store.delete_host("d.example.org").await.unwrap());
    assert!(!store.delete_host("d.example.org").await.unwrap());
    assert!(store.host("d.example.org").await.unwrap().is_none());
    // The next host may be given the freed id (SQLite reuses the highest): it inherits no row.
    enroll(&*store, "n.example.org").await;
    let (_, updates) = store.host_update_list("n.example.org").await.unwrap().unwrap();
    assert!(updates.is_empty(), "the deleted host's update rows stayed: {updates:?}");
    // Its package links went with it: every package it had is now one nothing refers to.
    let orphans = store.clean(i64::MAX, 0, true).await.unwrap().packages;
    assert_eq!(orphans, base_packages().len() as u64, "the deleted host's package rows stayed");
    let gone =
        store.ingest(&Credential::Host(token), prepare(report("d.example.org", "r2", 200, vec![])), 2).await.unwrap();
    assert_eq!(gone, Err(IngestRejection::UnknownToken));
}

/// More update rows than one insert statement binds (SQLite binds full chunks, sends the rest
/// as JSON): every row is stored, as the next save's difference shows.
async fn a_verdict_of_thousands_of_updates_is_saved_whole(store: Arc<dyn Store>) {
    let token = enroll(&*store, "big.example.org").await;
    ingest(&*store, &token, report("big.example.org", "r1", 100, base_packages())).await;
    let id = store.host_id("big.example.org").await.unwrap().unwrap();
    let work = store.host_work(&[id]).await.unwrap().remove(0);
    let updates = |n: i64| -> Vec<patchman_engine::Update> {
        (1..=n)
            .map(|i| patchman_engine::Update {
                installed: i,
                candidate: 1_000_000 + i,
                repo: work.repos[0].id,
                security: i % 2 == 0,
                kind: patchman_engine::UpdateKind::Package,
                erratum: None,
                reason: format!("{i}.0 in the test"),
            })
            .collect()
    };
    let mut saved = Vec::new();
    for (n, digest) in [(9_500, 1), (9_400, 2)] {
        let verdict = patchman_engine::Verdict { updates: updates(n), ..Default::default() };
        let record = store::VerdictRecord {
            host_id: id,
            state_version: work.state_version,
            digest: [digest; 16],
            verdict: &verdict,
            repos_known: true,
        };
        let changes = store.save_verdicts(&[record], 150 + i64::from(digest)).await.unwrap();
        saved.push((changes.updates_added, changes.updates_removed));
    }
    assert_eq!(saved, [(9_500, 0), (0, 100)], "the second save finds every row of the first");
}

async fn concurrent_reports_of_one_host_end_consistent(store: Arc<dyn Store>) {
    let token = enroll(&*store, "c.example.org").await;
    let mut tasks = Vec::new();
    for i in 0..24i64 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let packages = vec![pkg("bash", "5.2.15", &format!("{i}")), pkg(&format!("only-{i}"), "1", "1")];
            let r = report("c.example.org", &format!("r{i}"), 1_000 + i, packages);
            store.ingest(&Credential::Host(token), prepare(r), 5).await.unwrap().unwrap()
        }));
    }
    for t in tasks {
        let outcome = t.await.unwrap();
        assert!(matches!(outcome, IngestOutcome::Stored { .. } | IngestOutcome::Superseded { .. }), "{outcome:?}");
    }
    let host = store.host("c.example.org").await.unwrap().unwrap();
    let names: Vec<String> = host.packages.iter().map(|p| format!("{}-{}", p.name, p.release)).collect();
    assert_eq!(names, ["bash-23", "only-23-1"], "the report generated last wins");
}

async fn jobs_are_claimed_once_and_taken_over_after_the_lease(store: Arc<dyn Store>) {
    store.register_job("a", 1_000, 0).await.unwrap();
    let first = store.claim_job("x", 10, 100).await.unwrap().expect("due");
    assert_eq!((first.name.as_str(), first.due_at, first.attempt), ("a", 0, 1));
    assert_eq!(store.claim_job("y", 50, 100).await.unwrap(), None, "leased to x");
    assert!(store.renew_job("a", "x", 150).await.unwrap());
    assert_eq!(store.claim_job("y", 120, 100).await.unwrap(), None, "renewed until 150");
    let taken = store.claim_job("y", 200, 100).await.unwrap().expect("x's lease expired");
    assert_eq!((taken.due_at, taken.attempt), (0, 2));
    assert!(!store.renew_job("a", "x", 400).await.unwrap());
    assert!(!store.finish_job(&first, "x", 250, 1_000).await.unwrap(), "x lost the lease");
    assert!(store.finish_job(&taken, "y", 260, 1_000).await.unwrap());
    assert_eq!(store.claim_job("x", 500, 100).await.unwrap(), None, "not due before 1000");
    let jobs = store.jobs().await.unwrap();
    assert_eq!((jobs[0].runs, jobs[0].due_at, jobs[0].lease_owner.as_deref()), (1, 1_000, None));
    // Registering again keeps the schedule.
    store.register_job("a", 2_000, 0).await.unwrap();
    assert_eq!(store.jobs().await.unwrap()[0].due_at, 1_000);
}

/// A verdict computed from a host's state is saved only while the host is still in that state;
/// an unchanged verdict rewrites nothing, a changed one replaces the host's rows.
async fn verdicts_are_saved_only_for_the_state_they_came_from(store: Arc<dyn Store>) {
    use patchman_engine::{Update, UpdateKind, Verdict};
    use patchman_server::store::{HostWork, VerdictRecord};
    let (ta, tb) = (enroll(&*store, "a.example.org").await, enroll(&*store, "b.example.org").await);
    ingest(&*store, &ta, report("a.example.org", "a1", 1_000, base_packages())).await;
    ingest(&*store, &tb, report("b.example.org", "b1", 1_000, base_packages())).await;
    let ids = [
        store.host_id("a.example.org").await.unwrap().unwrap(),
        store.host_id("b.example.org").await.unwrap().unwrap(),
    ];
    let works = store.host_work(&ids).await.unwrap();
    let verdict = |w: &HostWork, security: bool| Verdict {
        updates: vec![Update {
            installed: w.package_ids[0],
            candidate: w.package_ids[1],
            repo: w.repos[0].id,
            security,
            kind: UpdateKind::Package,
            erratum: None,
            reason: "newer in the test".into(),
        }],
        not_in_repos: vec![w.package_ids[2]],
        duplicates: vec![],
        reboot: None,
    };
    let verdicts: Vec<Verdict> = works.iter().map(|w| verdict(w, true)).collect();
    let records = |digest: u8, verdicts: &[Verdict]| -> Vec<(i64, i64, [u8; 16], Verdict)> {
        works.iter().zip(verdicts).map(|(w, v)| (w.host_id, w.state_version, [digest; 16], v.clone())).collect()
    };
    let save = |rows: Vec<(i64, i64, [u8; 16], Verdict)>| {
        let store = store.clone();
        async move {
            let records: Vec<VerdictRecord> = rows
                .iter()
                .map(|(host_id, state_version, digest, verdict)| VerdictRecord {
                    host_id: *host_id,
                    state_version: *state_version,
                    digest: *digest,
                    verdict,
                    repos_known: true,
                })
                .collect();
            store.save_verdicts(&records, 5_000).await.unwrap()
        }
    };

    // Host a reports again while its verdict is computed: only b's verdict is saved.
    let mut packages = base_packages();
    packages.push(pkg("curl", "7.88.1", "10+deb12u8"));
    ingest(&*store, &ta, report("a.example.org", "a2", 2_000, packages)).await;
    let changes = save(records(1, &verdicts)).await;
    assert_eq!((changes.saved, changes.hosts_changed, changes.updates_added, changes.updates_removed), (1, 1, 1, 0));
    let (a, b) =
        (store.host("a.example.org").await.unwrap().unwrap(), store.host("b.example.org").await.unwrap().unwrap());
    assert!(!a.summary.updates_current && a.updates.is_empty() && a.packages_not_in_repos.is_empty(), "{a:?}");
    assert!(b.summary.updates_current, "{b:?}");
    assert_eq!((b.summary.security_updates, b.summary.bugfix_updates, b.summary.unknown_packages), (1, 0, 1));
    assert_eq!((b.updates.len(), b.updates[0].reason.as_str()), (1, "newer in the test"));
    assert_eq!(b.packages_not_in_repos.len(), 1);

    // The same digest: the rows stay as they are, even if the verdict given differs (the
    // digest stands for it).
    let bugfix: Vec<Verdict> = works.iter().map(|w| verdict(w, false)).collect();
    let changes = save(records(1, &bugfix)[1..].to_vec()).await;
    assert_eq!((changes.saved, changes.hosts_changed, changes.updates_added, changes.updates_removed), (1, 0, 0, 0));
    let b = store.host("b.example.org").await.unwrap().unwrap();
    assert!(b.updates[0].security);
    // Another digest: the rows are replaced.
    // The same update pair, now a bugfix: the host changed, no update came or went.
    let changes = save(records(2, &bugfix)[1..].to_vec()).await;
    assert_eq!((changes.saved, changes.hosts_changed, changes.updates_added, changes.updates_removed), (1, 1, 0, 0));
    let b = store.host("b.example.org").await.unwrap().unwrap();
    assert!(!b.updates[0].security);
    assert_eq!((b.summary.security_updates, b.summary.bugfix_updates), (0, 1));
}

async fn repository_contents_are_replaced_as_a_set_difference(store: Arc<dyn Store>) {
    use patchman_server::contents::{ErratumRecord, ModuleRecord, RepoContents};
    use patchman_server::store::VerdictRecord;
    let token = enroll(&*store, "a.example.org").await;
    ingest(&*store, &token, report("a.example.org", "a1", 1_000, base_packages())).await;
    let host_id = store.host_id("a.example.org").await.unwrap().unwrap();
    let repo = store.repos().await.unwrap().into_iter().find(|r| r.suite == "bookworm").unwrap();
    let fresh = || async {
        let work = store.host_work(&[host_id]).await.unwrap();
        let verdict =
            patchman_engine::Verdict { updates: vec![], not_in_repos: vec![], duplicates: vec![], reboot: None };
        let record = VerdictRecord {
            host_id,
            state_version: work[0].state_version,
            digest: [7; 16],
            verdict: &verdict,
            repos_known: true,
        };
        assert_eq!(store.save_verdicts(&[record], 2_000).await.unwrap().saved, 1);
        assert_eq!(store.stale_hosts(0, 10).await.unwrap(), Vec::<i64>::new());
    };
    let p = |name: &str, version: &str| pkg(name, version, "1").package;
    let contents = |packages: Vec<Package>, security_fix: Option<Package>| RepoContents {
        packages: packages.clone(),
        errata: security_fix
            .into_iter()
            .map(|fixed| ErratumRecord {
                name: "DSA-0001-1".into(),
                kind: "security".into(),
                severity: "Important".into(),
                issued_ms: Some(1_700_000_000_000),
                title: "fix".into(),
                cves: vec!["CVE-2024-0001".into()],
                packages: vec![fixed],
            })
            .collect(),
        modules: vec![ModuleRecord {
            name: "tools".into(),
            stream: "1".into(),
            version: "20240101".into(),
            context: "abc".into(),
            arch: "x86_64".into(),
            artifacts: packages[..1].to_vec(),
        }],
        module_defaults: vec![("tools".into(), "1".into())],
    };

    fresh().await;
    let first = contents(vec![p("bash", "5.2.21"), p("openssl", "3.0.16")], Some(p("openssl", "3.0.16")));
    assert!(store.replace_repo_contents(repo.id, &first, 3_000).await.unwrap());
    assert_eq!(store.stale_hosts(0, 10).await.unwrap(), [host_id], "a changed repository marks its hosts");
    let (revision, data) = store.repo_data(repo.id).await.unwrap().unwrap();
    let names = |d: &patchman_engine::RepoData| {
        let mut v: Vec<String> = d.packages.iter().map(|p| format!("{} {}", p.name, p.version)).collect();
        v.sort();
        v
    };
    assert_eq!(names(&data), ["bash 5.2.21", "openssl 3.0.16"]);
    assert_eq!(data.errata.len(), 1);
    assert!(data.errata[0].security && &*data.errata[0].fixed[0].name == "openssl", "{:?}", data.errata);
    assert_eq!((data.modules.len(), data.modules[0].artifacts.len()), (1, 1));
    assert_eq!(data.module_defaults, [("tools".into(), "1".into())]);

    // The same contents again: nothing changes, the hosts stay computed.
    fresh().await;
    assert!(!store.replace_repo_contents(repo.id, &first, 4_000).await.unwrap());
    assert_eq!(store.repo_data(repo.id).await.unwrap().unwrap().0, revision);
    assert_eq!(store.stale_hosts(0, 10).await.unwrap(), Vec::<i64>::new());

    // One package gone, one new, the erratum withdrawn.
    let second = contents(vec![p("curl", "7.88.1"), p("openssl", "3.0.16")], None);
    assert!(store.replace_repo_contents(repo.id, &second, 5_000).await.unwrap());
    let (later, data) = store.repo_data(repo.id).await.unwrap().unwrap();
    assert!(later > revision);
    assert_eq!(names(&data), ["curl 7.88.1", "openssl 3.0.16"]);
    assert!(data.errata.is_empty());
    let curl = data.packages.iter().find(|p| &*p.name == "curl").unwrap().id;
    assert_eq!(data.modules[0].artifacts, [curl], "the module's artifact follows the contents");
    let listed = store.repos().await.unwrap().into_iter().find(|r| r.id == repo.id).unwrap();
    assert_eq!((listed.package_count, listed.host_count), (2, 1));
    // The other repository of the host is untouched.
    let other = store.repos().await.unwrap().into_iter().find(|r| r.suite == "bookworm-security").unwrap();
    assert_eq!(other.package_count, 0);
}

async fn reports_are_pruned_to_the_newest_of_each_host(store: Arc<dyn Store>) {
    use patchman_server::report::{ChangeAction, PackageChange, Transaction};
    let (ta, tb) = (enroll(&*store, "a.example.org").await, enroll(&*store, "b.example.org").await);
    for i in 0..5 {
        let mut packages = base_packages();
        packages.push(pkg("extra", "1", &i.to_string()));
        let mut r = report("a.example.org", &format!("a{i}"), 100 + i, packages);
        r.transactions = vec![Transaction {
            transaction_id: format!("t{i}"),
            finished_at_ms: 100 + i,
            tool: "apt".into(),
            changes: vec![PackageChange {
                action: ChangeAction::Upgraded,
                name: "extra".into(),
                arch: "amd64".into(),
                old_version: String::new(),
                new_version: format!("1-{i}"),
            }],
        }];
        ingest(&*store, &ta, r).await;
    }
    ingest(&*store, &tb, report("b.example.org", "b0", 100, base_packages())).await;

    // Keep two reports per host, and transactions that finished at 103 or later.
    assert_eq!(store.prune_reports(2, 103).await.unwrap(), 3 + 3);
    let a = store.host("a.example.org").await.unwrap().unwrap();
    let mut kept: Vec<&str> = a.reports.iter().map(|r| r.report_id.as_str()).collect();
    kept.sort();
    assert_eq!(kept, ["a3", "a4"]);
    let mut transactions: Vec<&str> = a.transactions.iter().map(|t| t.transaction_id.as_str()).collect();
    transactions.sort();
    assert_eq!(transactions, ["t3", "t4"]);
    assert_eq!(a.packages.len(), 4, "pruning reports leaves the inventory alone");
    assert_eq!(store.host("b.example.org").await.unwrap().unwrap().reports.len(), 1);
    assert_eq!(store.prune_reports(2, 103).await.unwrap(), 0);
}

/// Recomputation is incremental: a report marks only its host, a changed repository only the
/// hosts that use it, an unchanged report nobody.
async fn only_changed_hosts_are_marked_for_recomputation(store: Arc<dyn Store>) {
    use patchman_server::contents::RepoContents;
    use patchman_server::store::VerdictRecord;
    let (ta, tb) = (enroll(&*store, "a.example.org").await, enroll(&*store, "b.example.org").await);
    ingest(&*store, &ta, report("a.example.org", "a1", 1_000, base_packages())).await;
    let mut b = report("b.example.org", "b1", 1_000, base_packages());
    b.repos = vec![apt_repo("trixie", "http://deb.debian.org/debian/dists/trixie/main/binary-amd64")];
    ingest(&*store, &tb, b.clone()).await;
    let ids = [
        store.host_id("a.example.org").await.unwrap().unwrap(),
        store.host_id("b.example.org").await.unwrap().unwrap(),
    ];
    let settle = || async {
        let empty =
            patchman_engine::Verdict { updates: vec![], not_in_repos: vec![], duplicates: vec![], reboot: None };
        let works = store.host_work(&store.stale_hosts(0, 10).await.unwrap()).await.unwrap();
        let records: Vec<VerdictRecord> = works
            .iter()
            .map(|w| VerdictRecord {
                host_id: w.host_id,
                state_version: w.state_version,
                digest: [1; 16],
                verdict: &empty,
                repos_known: true,
            })
            .collect();
        store.save_verdicts(&records, 2_000).await.unwrap();
        assert_eq!(store.stale_hosts(0, 10).await.unwrap(), Vec::<i64>::new());
    };
    settle().await;

    // A new report of a: only a.
    let mut packages = base_packages();
    packages.push(pkg("curl", "7.88.1", "10+deb12u8"));
    ingest(&*store, &ta, report("a.example.org", "a2", 2_000, packages)).await;
    assert_eq!(store.stale_hosts(0, 10).await.unwrap(), [ids[0]]);
    settle().await;

    // The same state again from b: nobody.
    b.report_id = "b2".into();
    b.generated_at_ms = 3_000;
    assert!(matches!(ingest(&*store, &tb, b).await, IngestOutcome::Unchanged { .. }));
    assert_eq!(store.stale_hosts(0, 10).await.unwrap(), Vec::<i64>::new());

    // b's repository changes: only b. a's: only a.
    let trixie = store.repos().await.unwrap().into_iter().find(|r| r.suite == "trixie").unwrap();
    let openssl = RepoContents { packages: vec![pkg("openssl", "3.0.16", "1").package], ..Default::default() };
    assert!(store.replace_repo_contents(trixie.id, &openssl, 4_000).await.unwrap());
    assert_eq!(store.stale_hosts(0, 10).await.unwrap(), [ids[1]]);
    settle().await;
    let bookworm = store.repos().await.unwrap().into_iter().find(|r| r.suite == "bookworm").unwrap();
    let curl = RepoContents { packages: vec![pkg("curl", "8.14.1", "2").package], ..Default::default() };
    assert!(store.replace_repo_contents(bookworm.id, &curl, 5_000).await.unwrap());
    assert_eq!(store.stale_hosts(0, 10).await.unwrap(), [ids[0]]);
}

fn new_user<'a>(name: &'a str, role: Role, hash: &'a str) -> NewUser<'a> {
    NewUser { name, role, password_hash: hash, now: 1_000 }
}

async fn users_are_added_listed_and_deleted(store: Arc<dyn Store>) {
    assert_eq!(store.user_count().await.unwrap(), 0);
    assert!(store.add_user(&new_user("bob", Role::Viewer, "$h1")).await.unwrap());
    assert!(store.add_user(&new_user("alice", Role::Admin, "$h2")).await.unwrap());
    assert!(!store.add_user(&new_user("alice", Role::Viewer, "$h3")).await.unwrap(), "the name is taken");
    assert_eq!(store.user_count().await.unwrap(), 2);
    let users = store.users().await.unwrap();
    let names: Vec<_> = users.iter().map(|u| (u.name.as_str(), u.role)).collect();
    assert_eq!(names, [("alice", Role::Admin), ("bob", Role::Viewer)]);
    let alice = store.user_by_name("alice").await.unwrap().expect("alice");
    assert_eq!((alice.role, alice.password_hash.as_str()), (Role::Admin, "$h2"));

    assert!(store.set_password("alice", "$h4", 2_000).await.unwrap());
    assert!(!store.set_password("carol", "$h4", 2_000).await.unwrap());
    assert_eq!(store.user_by_name("alice").await.unwrap().unwrap().password_hash, "$h4");
    assert_eq!(store.users().await.unwrap()[0].password_changed_at, 2_000);

    assert!(store.delete_user("bob").await.unwrap());
    assert!(!store.delete_user("bob").await.unwrap());
    assert!(store.user_by_name("bob").await.unwrap().is_none());
    assert_eq!(store.user_count().await.unwrap(), 1);
}

async fn sessions_are_found_by_hash_and_go_with_their_user(store: Arc<dyn Store>) {
    store.add_user(&new_user("alice", Role::Admin, "$h")).await.unwrap();
    store.add_user(&new_user("bob", Role::Viewer, "$h")).await.unwrap();
    let alice = store.user_by_name("alice").await.unwrap().unwrap();
    let bob = store.user_by_name("bob").await.unwrap().unwrap();
    let (a1, a2, b1) = (SessionHash::of("a1"), SessionHash::of("a2"), SessionHash::of("b1"));
    for (hash, user, csrf) in [(&a1, alice.id, "ca1"), (&a2, alice.id, "ca2"), (&b1, bob.id, "cb1")] {
        store.create_session(&NewSession { id_hash: hash, user_id: user, csrf_token: csrf, now: 5_000 }).await.unwrap();
    }
    let s = store.session(&a1).await.unwrap().expect("a1");
    assert_eq!(
        s,
        SessionRecord {
            user_name: "alice".into(),
            role: Role::Admin,
            csrf_token: "ca1".into(),
            created_at: 5_000,
            last_seen_at: 5_000
        }
    );
    assert!(store.session(&SessionHash::of("nope")).await.unwrap().is_none());
    assert!(store.touch_session(&a1, 9_000).await.unwrap());
    assert_eq!(store.session(&a1).await.unwrap().unwrap().last_seen_at, 9_000);

    assert!(store.delete_session(&a1).await.unwrap());
    assert!(!store.delete_session(&a1).await.unwrap());
    assert!(!store.touch_session(&a1, 9_500).await.unwrap());
    assert!(store.session(&a1).await.unwrap().is_none());

    // A new password ends the user's sessions; deleting the user ends the rest.
    store.create_session(&NewSession { id_hash: &a1, user_id: alice.id, csrf_token: "c", now: 10_000 }).await.unwrap();
    assert!(store.set_password("alice", "$new", 11_000).await.unwrap());
    assert!(store.session(&a1).await.unwrap().is_none() && store.session(&a2).await.unwrap().is_none());
    assert_eq!(store.delete_user_sessions("alice").await.unwrap(), 0);
    assert!(store.session(&b1).await.unwrap().is_some());
    assert!(store.delete_user("bob").await.unwrap());
    assert!(store.session(&b1).await.unwrap().is_none(), "cascade on user delete");
    store.create_session(&NewSession { id_hash: &a2, user_id: alice.id, csrf_token: "c", now: 12_000 }).await.unwrap();
    assert_eq!(store.delete_user_sessions("alice").await.unwrap(), 1);
}

async fn the_audit_log_lists_newest_first(store: Arc<dyn Store>) {
    assert!(store.audit_log(10).await.unwrap().is_empty());
    for (at, action) in [(1_000, "user.add"), (3_000, "user.delete"), (2_000, "user.passwd")] {
        let entry = AuditEntry { at, actor: "cli:root", action, target: "alice", detail: "role admin" };
        store.audit(&entry).await.unwrap();
    }
    let log = store.audit_log(2).await.unwrap();
    let got: Vec<_> = log.iter().map(|e| (e.action.as_str(), e.actor.as_str(), e.target.as_str())).collect();
    assert_eq!(got, [("user.delete", "cli:root", "alice"), ("user.passwd", "cli:root", "alice")]);
    assert_eq!(store.audit_log(10).await.unwrap().len(), 3);
    assert_eq!(log[0].detail, "role admin");
}
