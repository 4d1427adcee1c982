//! Exposure windows from a scripted history of reports and feed changes, on both backends
//! (run by `store_suite`): when a host was first seen exposed, when it was seen fixed, what a
//! withdrawn advisory and a silent host count as, and which hosts a feed change marks.

use std::sync::Arc;

use patchman_server::advisories::windows::{GroupBy, time_to_patch};
use patchman_server::advisories::{Advisory, Affected, CveRef, FeedContents, Fix, KnownExploited};
use patchman_server::auth::TokenHash;
use patchman_server::exposures::{apply_feed_change, recompute_stale};
use patchman_server::ingest::prepare;
use patchman_server::query::{AdvisoryFilter, Clock, PageRequest};
use patchman_server::report::{InstalledPackage, PackageKind, Report};
use patchman_server::store::{Credential, FeedChange, FeedRead, FeedResult, Store};

use crate::store_suite::{enroll, pkg, report};

const DAY: i64 = 86_400_000;

fn advisory(name: &str, severity: &str, issued_day: i64, cve: &str, affected: &[(&str, &str, Fix)]) -> Advisory {
    Advisory {
        name: name.into(),
        kind: "security".into(),
        severity: severity.into(),
        summary: format!("{name} summary"),
        issued_ms: Some(issued_day * DAY),
        updated_ms: Some(issued_day * DAY),
        withdrawn_ms: None,
        cves: vec![CveRef { id: cve.into(), severity: String::new() }],
        references: vec![format!("https://security.example.org/{name}")],
        affected: affected
            .iter()
            .map(|(release, package, fix)| Affected {
                release: (*release).into(),
                kind: PackageKind::Deb,
                package: (*package).into(),
                fix: fix.clone(),
            })
            .collect(),
    }
}

fn fixed(v: &str) -> Fix {
    Fix::Version(v.into())
}

fn feed() -> Vec<Advisory> {
    vec![
        advisory("DSA-0001-1", "high", 10, "CVE-2024-0001", &[("Debian 12", "openssl", fixed("3.0.16-1~deb12u1"))]),
        // bash 5.2.15-2+b8 is a binNMU of source 5.2.15-2: exposed until 5.2.15-2+deb12u1.
        advisory("DSA-0002-1", "low", 1, "CVE-2024-0002", &[("Debian 12", "bash", fixed("5.2.15-2+deb12u1"))]),
        advisory("CVE-2024-0003", "medium", 2, "CVE-2024-0003", &[("Debian 12", "zlib", Fix::NoFixYet)]),
        // A release the hosts do not run, and a release that is not affected.
        advisory("DSA-0004-1", "critical", 3, "CVE-2024-0004", &[("Debian 11", "openssl", fixed("9:9"))]),
        advisory("DSA-0005-1", "critical", 3, "CVE-2024-0005", &[("Debian 12", "openssl", Fix::NotAffected)]),
    ]
}

async fn apply(store: &dyn Store, advisories: Vec<Advisory>, exploited: Vec<KnownExploited>, day: i64) -> FeedChange {
    let contents = FeedContents { advisories, exploited };
    let read = FeedRead {
        name: "debian",
        kind: "osv",
        location: "/srv/feeds/debian",
        now_ms: day * DAY,
        result: FeedResult::New {
            contents: &contents,
            checksum: &format!("sum-{day}"),
            etag: None,
            last_modified: None,
        },
    };
    store.record_feed(&read).await.unwrap()
}

fn with_source(mut p: InstalledPackage, source: &str, source_version: &str) -> InstalledPackage {
    p.source_name = source.into();
    p.source_version = source_version.into();
    p
}

fn packages(openssl: &str) -> Vec<InstalledPackage> {
    vec![
        with_source(pkg("bash", "5.2.15", "2+b8"), "", "5.2.15-2"),
        with_source(pkg("libssl3", openssl, "1~deb12u1"), "openssl", ""),
        pkg("openssl", openssl, "1~deb12u1"),
        with_source(pkg("zlib1g", "1:1.2.13.dfsg", "1"), "zlib", ""),
    ]
}

async fn report_at(store: &dyn Store, token: &TokenHash, r: Report, day: i64) {
    store.ingest(&Credential::Host(*token), prepare(r), day * DAY).await.expect("store").expect("accepted");
}

async fn exposed(store: &dyn Store, host: &str) -> Vec<String> {
    let mut v: Vec<String> = store
        .host_exposures(host)
        .await
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {} {} -> {}", e.advisory, e.package, e.installed, e.fixed))
        .collect();
    v.sort();
    v
}

pub(crate) async fn exposure_windows_follow_reports_and_feeds(store: Arc<dyn Store>) {
    let a = enroll(&*store, "a.example.org").await;
    let b = enroll(&*store, "b.example.org").await;
    let c = enroll(&*store, "c.example.org").await;
    report_at(&*store, &a, report("a.example.org", "a1", 5 * DAY, packages("3.0.15")), 5).await;
    // b runs the fixed openssl and no bash; c is vulnerable and will fall silent.
    let mut b_packages = packages("3.0.16");
    b_packages.remove(0);
    report_at(&*store, &b, report("b.example.org", "b1", 5 * DAY, b_packages), 5).await;
    report_at(&*store, &c, report("c.example.org", "c1", 5 * DAY, packages("3.0.15")), 5).await;

    apply(&*store, feed(), vec![], 6).await;
    let stats = recompute_stale(&*store).await.unwrap();
    assert_eq!(stats.saved, 3);
    assert_eq!(
        exposed(&*store, "a.example.org").await,
        [
            "CVE-2024-0003 zlib1g 1:1.2.13.dfsg-1 -> ",
            "DSA-0001-1 libssl3 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1",
            "DSA-0001-1 openssl 3.0.15-1~deb12u1 -> 3.0.16-1~deb12u1",
            "DSA-0002-1 bash 5.2.15-2+b8 -> 5.2.15-2+deb12u1",
        ]
    );
    assert_eq!(exposed(&*store, "b.example.org").await, ["CVE-2024-0003 zlib1g 1:1.2.13.dfsg-1 -> "]);
    // Nothing left to compute; computing again changes nothing.
    assert_eq!(recompute_stale(&*store).await.unwrap().hosts, 0);

    // What repositories offer does not change what is installed: exposures stay current through
    // a repository's first contents, a set difference, and an administrator's recomputation.
    let repo = store.repos().await.unwrap()[0].id;
    let offer = |names: &[&str]| patchman_server::contents::RepoContents {
        packages: names.iter().map(|n| pkg(n, "9", "1").package).collect(),
        ..Default::default()
    };
    assert!(store.replace_repo_contents(repo, &offer(&["openssl"]), 6 * DAY).await.unwrap());
    assert!(store.replace_repo_contents(repo, &offer(&["openssl", "bash"]), 6 * DAY).await.unwrap());
    store.mark_stale(None).await.unwrap();
    assert!(!store.stale_hosts(0, 10).await.unwrap().is_empty(), "their updates are to be computed");
    assert_eq!(store.exposure_stale_hosts(0, 10).await.unwrap(), Vec::<i64>::new());

    // a installs the fix on day 12 (its report says so); b reports unchanged; c never
    // reports again.
    report_at(&*store, &a, report("a.example.org", "a2", 12 * DAY, packages("3.0.16")), 12).await;
    let mut b_packages = packages("3.0.16");
    b_packages.remove(0);
    report_at(&*store, &b, report("b.example.org", "b2", 12 * DAY, b_packages), 12).await;
    let stats = recompute_stale(&*store).await.unwrap();
    assert_eq!((stats.saved, stats.windows_closed), (1, 1));
    let clock = Clock { now_ms: 20 * DAY, silent_after_ms: 10 * DAY };

    // DSA-0001-1: opened at its publication (day 10, after a's state of day 5), fixed on day
    // 12; c is still exposed but silent; b was never exposed.
    let d = store.advisory_detail("DSA-0001-1", &clock).await.unwrap().unwrap();
    let fixed_hosts: Vec<(&str, i64, i64)> =
        d.fixed.iter().map(|f| (f.hostname.as_str(), f.opened_at / DAY, f.fixed_at / DAY)).collect();
    assert_eq!(fixed_hosts, [("a.example.org", 10, 12)]);
    let exposed_hosts: Vec<(&str, &str, bool)> =
        d.exposed.iter().map(|e| (e.hostname.as_str(), e.package.as_str(), e.silent)).collect();
    assert_eq!(exposed_hosts, [("c.example.org", "libssl3", true), ("c.example.org", "openssl", true)]);
    assert_eq!(d.advisory.hosts_exposed, 1);

    // DSA-0002-1 was published before a's first report: its window opens with that report.
    let windows = store.exposure_windows(0, 30 * DAY, &clock).await.unwrap();
    let of = |host: &str, adv: &str| {
        windows
            .iter()
            .find(|w| w.hostname == host && w.advisory == adv)
            .map(|w| (w.opened_ms / DAY, w.closed_ms.map(|c| c / DAY), w.silent))
    };
    assert_eq!(of("a.example.org", "DSA-0002-1"), Some((5, None, false)));
    assert_eq!(of("c.example.org", "DSA-0001-1"), Some((10, None, true)));
    assert_eq!(of("b.example.org", "DSA-0001-1"), None);

    // Time to patch over the period: one fix in 2 days; open windows of reporting hosts and
    // unknown ones of the silent host are counted apart, never as fixed.
    let all = time_to_patch(&windows, GroupBy::All, 0, 30 * DAY);
    assert_eq!((all[0].fixed, all[0].median_days, all[0].p90_days), (1, Some(2.0), Some(2.0)));
    assert_eq!((all[0].open, all[0].unknown), (3, 3), "{all:?}");
    let by_severity = time_to_patch(&windows, GroupBy::Severity, 0, 30 * DAY);
    let high = by_severity.iter().find(|t| t.key == "high").unwrap();
    assert_eq!((high.fixed, high.open, high.unknown), (1, 0, 1));

    // A feed change that names a package nobody has marks nobody; one naming bash marks only
    // the hosts with bash (a and c, not b).
    let mut next = feed();
    next.push(advisory("DSA-0006-1", "high", 20, "CVE-2024-0006", &[("Debian 12", "curl", fixed("8"))]));
    assert_eq!(apply(&*store, next.clone(), vec![], 20).await.hosts_marked, 0);
    next.push(advisory(
        "DSA-0007-1",
        "medium",
        21,
        "CVE-2024-0007",
        &[("Debian 12", "bash", fixed("5.2.15-2+deb12u2"))],
    ));
    let change = apply(&*store, next.clone(), vec![], 21).await;
    assert_eq!((change.hosts_marked, change.scoped_hosts.len(), change.added), (2, 2, 1));
    // Only the new advisory is computed for them; their other exposures are kept, and the
    // result is what a full computation gives.
    let stats = apply_feed_change(&*store, &change).await.unwrap();
    assert_eq!((stats.hosts, stats.saved, stats.exposures, stats.windows_opened), (2, 2, 2, 2));
    assert_eq!(store.exposure_stale_hosts(0, 10).await.unwrap(), Vec::<i64>::new());
    let mut scoped = Vec::new();
    for h in ["a.example.org", "b.example.org", "c.example.org"] {
        scoped.push(exposed(&*store, h).await);
    }
    store.mark_exposures_stale(None).await.unwrap();
    assert_eq!(recompute_stale(&*store).await.unwrap().windows_opened, 0, "nothing new in full");
    for (i, h) in ["a.example.org", "b.example.org", "c.example.org"].iter().enumerate() {
        assert_eq!(exposed(&*store, h).await, scoped[i], "{h}");
    }
    assert!(scoped[0].iter().any(|e| e.starts_with("DSA-0007-1 bash")), "{:?}", scoped[0]);

    // DSA-0002-1 is withdrawn: its open windows close as withdrawn (not a fix) at once, and
    // it exposes nobody; the CVE of DSA-0001-1 becomes known exploited.
    next.retain(|a| a.name != "DSA-0002-1");
    let kev = vec![KnownExploited {
        cve: "CVE-2024-0001".into(),
        name: "OpenSSL flaw".into(),
        added_ms: None,
        ransomware: false,
    }];
    apply(&*store, next, kev.clone(), 22).await;
    let read = FeedRead {
        name: "kev",
        kind: "kev",
        location: "https://www.cisa.gov/kev.json",
        now_ms: 22 * DAY,
        result: FeedResult::New {
            contents: &FeedContents { advisories: vec![], exploited: kev },
            checksum: "k1",
            etag: None,
            last_modified: None,
        },
    };
    store.record_feed(&read).await.unwrap();
    recompute_stale(&*store).await.unwrap();
    assert!(!exposed(&*store, "a.example.org").await.iter().any(|e| e.starts_with("DSA-0002-1")));
    let windows = store.exposure_windows(0, 30 * DAY, &clock).await.unwrap();
    assert!(windows.iter().all(|w| w.advisory != "DSA-0002-1"), "withdrawn windows are not time to patch");
    let d = store.advisory_detail("DSA-0002-1", &clock).await.unwrap().unwrap();
    assert!(d.advisory.withdrawn_at.is_some() && d.exposed.is_empty() && d.fixed.is_empty());

    let cve = store.cve_detail("CVE-2024-0001", &clock).await.unwrap().unwrap();
    assert!(cve.exploited.is_some());
    assert_eq!(cve.severity, "high");
    assert_eq!(cve.fixed.iter().map(|f| f.hostname.as_str()).collect::<Vec<_>>(), ["a.example.org"]);
    assert!(store.cve_detail("CVE-2099-0001", &clock).await.unwrap().is_none());

    let filter = AdvisoryFilter { host: Some("a.example.org".into()), ..Default::default() };
    let list = store.advisory_list(&filter, PageRequest { page: 1, per_page: 50 }).await.unwrap();
    let names: Vec<&str> = list.rows.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["DSA-0007-1", "CVE-2024-0003"]);
    let exploited = AdvisoryFilter { exploited: true, ..Default::default() };
    let list = store.advisory_list(&exploited, PageRequest { page: 1, per_page: 50 }).await.unwrap();
    assert_eq!(list.rows.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["DSA-0001-1"]);
    assert!(list.rows[0].exploited);

    // A failed read keeps everything and is counted against the feed.
    let failed = FeedRead {
        name: "debian",
        kind: "osv",
        location: "/srv/feeds/debian",
        now_ms: 23 * DAY,
        result: FeedResult::Failed("bad JSON"),
    };
    store.record_feed(&failed).await.unwrap();
    let states = store.feed_states().await.unwrap();
    let debian = states.iter().find(|f| f.name == "debian").unwrap();
    assert_eq!((debian.fail_count, debian.last_error.as_str(), debian.record_count), (1, "bad JSON", 6));
    assert!(store.advisory_detail("DSA-0007-1", &clock).await.unwrap().is_some());
}
