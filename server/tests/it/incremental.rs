//! A repository change costs what it changed: a set difference marks only the hosts that use
//! the repository and have a package of one of its names, for those names only, and the
//! verdicts that follow equal a full recomputation. Twins (hosts with the same input) share one engine run. Store
//! stories, run on both backends by `store_suite`.

use std::sync::Arc;

use patchman_server::contents::{ErratumRecord, RepoContents};
use patchman_server::report::InstalledPackage;
use patchman_server::store::Store;
use patchman_server::updates::Updater;

use crate::store_suite::{enroll, ingest, pkg, report};

fn offered(packages: &[(&str, &str)]) -> RepoContents {
    RepoContents { packages: packages.iter().map(|(n, v)| pkg(n, v, "1").package).collect(), ..Default::default() }
}

/// The hosts marked for recomputation, of a.example.org and b.example.org: "a.example.org"
/// when stale as a whole, "a.example.org: openssl" when only some names are.
async fn marked(store: &dyn Store) -> Vec<String> {
    let whole = store.stale_hosts(0, 100).await.unwrap();
    let by_name = store.stale_name_hosts(0, 100).await.unwrap();
    let mut lines = Vec::new();
    for name in ["a.example.org", "b.example.org"] {
        let id = store.host_id(name).await.unwrap().unwrap();
        if whole.contains(&id) {
            lines.push(name.to_owned());
        } else if by_name.contains(&id) {
            let work = store.stale_name_work(&[id]).await.unwrap();
            let mut names: Vec<String> =
                store.packages_by_ids(&work[0].package_ids).await.unwrap().into_iter().map(|p| p.name.into()).collect();
            names.sort();
            lines.push(format!("{name}: {}", names.join(" ")));
        }
    }
    lines
}

fn available(d: &patchman_server::store::HostDetail) -> Vec<String> {
    let mut list: Vec<String> = d.updates.iter().map(|u| format!("{} {}", u.name, u.available)).collect();
    list.sort();
    list
}

pub(crate) async fn a_set_difference_marks_only_the_hosts_that_have_its_names(store: Arc<dyn Store>) {
    let updater = Updater::new(store.clone());
    let with_openssl =
        vec![pkg("bash", "1", "1"), pkg("openssl", "1", "1"), pkg("linux-image-6.1.0-18-amd64", "1", "1")];
    let with_curl = vec![pkg("curl", "1", "1")];
    for (host, packages) in [("a.example.org", with_openssl), ("b.example.org", with_curl)] {
        let token = enroll(&*store, host).await;
        ingest(&*store, &token, report(host, "r1", 1_000, packages)).await;
    }
    let main = store.repos().await.unwrap().into_iter().find(|r| r.suite == "bookworm").unwrap();
    let security = store.repos().await.unwrap().into_iter().find(|r| r.suite == "bookworm-security").unwrap();
    let settle = || async {
        let stats = updater.recompute_stale().await.unwrap();
        assert_eq!(marked(&*store).await, Vec::<String>::new());
        stats
    };
    let a = || async { store.host("a.example.org").await.unwrap().unwrap() };

    // A repository's first contents: every host that uses it, also b that has none of its
    // names (its updates become known).
    settle().await;
    assert!(store.replace_repo_contents(main.id, &offered(&[("bash", "2")]), 2_000).await.unwrap());
    assert_eq!(marked(&*store).await, ["a.example.org", "b.example.org"]);
    settle().await;
    assert!(store.replace_repo_contents(security.id, &offered(&[("bash", "1")]), 2_000).await.unwrap());
    assert_eq!(marked(&*store).await, ["a.example.org", "b.example.org"]);
    settle().await;
    let b = store.host("b.example.org").await.unwrap().unwrap();
    assert!(b.summary.updates_known, "every repository of b has been loaded");
    let revision = store.repo_data(main.id).await.unwrap().unwrap().0;
    assert_eq!(available(&a().await), ["bash 2-1"]);

    // openssl comes: only the host that has openssl, for openssl only; the repository's
    // revision moves on.
    let step = offered(&[("bash", "2"), ("openssl", "2")]);
    assert!(store.replace_repo_contents(main.id, &step, 3_000).await.unwrap());
    assert_eq!(marked(&*store).await, ["a.example.org: openssl"]);
    // The same name changes again while a's verdict of it is being computed (read, not yet
    // saved): a's state moves on, so that verdict will not be saved; b's, without openssl,
    // does not.
    let (a_id, b_id) = (
        store.host_id("a.example.org").await.unwrap().unwrap(),
        store.host_id("b.example.org").await.unwrap().unwrap(),
    );
    let being_computed = store.stale_name_work(&[a_id]).await.unwrap()[0].state_version;
    let b_state = store.host_work(&[b_id]).await.unwrap()[0].state_version;
    for (contents, at) in [(offered(&[("bash", "2"), ("openssl", "3")]), 3_100), (step.clone(), 3_200)] {
        assert!(store.replace_repo_contents(main.id, &contents, at).await.unwrap());
        assert_eq!(marked(&*store).await, ["a.example.org: openssl"]);
        let now = store.stale_name_work(&[a_id]).await.unwrap()[0].state_version;
        assert!(now > being_computed, "a's state moved on: {now} > {being_computed}");
        assert_eq!(store.host_work(&[b_id]).await.unwrap()[0].state_version, b_state, "b has no openssl");
    }
    assert_eq!(store.recompute_queue().await.unwrap(), 1, "a host with stale names is waiting");
    assert!(store.repo_data(main.id).await.unwrap().unwrap().0 > revision);
    let stats = settle().await;
    // Only openssl was computed (one update), and a's bash update was kept beside it.
    assert_eq!((stats.hosts, stats.names_only, stats.updates, stats.hosts_changed), (1, 1, 1, 1), "{stats:?}");
    let after = a().await;
    assert_eq!(available(&after), ["bash 2-1", "openssl 2-1"]);
    assert_eq!(store.recompute_queue().await.unwrap(), 0);
    assert_eq!((after.summary.security_updates, after.summary.bugfix_updates), (0, 2), "{:?}", after.summary);
    let b = store.host("b.example.org").await.unwrap().unwrap();
    assert!(b.updates.is_empty() && b.packages_not_in_repos == ["curl 1-1 amd64"], "{:?}", b.packages_not_in_repos);

    // curl comes and openssl goes: both, each for its own name.
    assert!(store.replace_repo_contents(main.id, &offered(&[("bash", "2"), ("curl", "2")]), 4_000).await.unwrap());
    assert_eq!(marked(&*store).await, ["a.example.org: openssl", "b.example.org: curl"]);
    let stats = settle().await;
    assert_eq!((stats.names_only, stats.updates_added, stats.updates_removed), (2, 1, 1), "{stats:?}");
    assert_eq!(available(&a().await), ["bash 2-1"]);
    let b = store.host("b.example.org").await.unwrap().unwrap();
    assert!(b.packages_not_in_repos.is_empty(), "curl is in a repository now: {:?}", b.packages_not_in_repos);

    // A package nobody has: nobody.
    let with_vim = offered(&[("bash", "2"), ("curl", "2"), ("vim", "9")]);
    assert!(store.replace_repo_contents(main.id, &with_vim, 5_000).await.unwrap());
    assert_eq!(marked(&*store).await, Vec::<String>::new());
    // The other hosts' verdicts were kept: b still sees curl 2.
    let b = store.host("b.example.org").await.unwrap().unwrap();
    assert_eq!(b.updates.iter().map(|u| u.available.as_str()).collect::<Vec<_>>(), ["2-1"]);

    // A whole host's recomputation after names were marked takes them with it.
    assert!(
        store
            .replace_repo_contents(main.id, &offered(&[("bash", "3"), ("curl", "2"), ("vim", "9")]), 5_500)
            .await
            .unwrap()
    );
    assert_eq!(marked(&*store).await, ["a.example.org: bash"]);
    store.mark_stale(None).await.unwrap();
    assert_eq!(marked(&*store).await, ["a.example.org", "b.example.org"]);
    let stats = settle().await;
    assert_eq!((stats.hosts, stats.names_only), (2, 0), "{stats:?}");
    assert_eq!(available(&a().await), ["bash 3-1"]);

    // A Debian kernel image is a candidate under another name: every host of the repository.
    let kernel = offered(&[("bash", "3"), ("curl", "2"), ("vim", "9"), ("linux-image-6.1.0-30-amd64", "1")]);
    assert!(store.replace_repo_contents(main.id, &kernel, 6_000).await.unwrap());
    assert_eq!(marked(&*store).await, ["a.example.org", "b.example.org"]);
    settle().await;

    // Errata (and modules) are not per name: every host of the repository.
    let mut errata = kernel.clone();
    errata.errata = vec![ErratumRecord {
        name: "DSA-0001-1".into(),
        kind: "security".into(),
        severity: "Important".into(),
        issued_ms: None,
        title: "fix".into(),
        cves: vec![],
        packages: vec![pkg("curl", "2", "1").package],
    }];
    assert!(store.replace_repo_contents(main.id, &errata, 7_000).await.unwrap());
    assert_eq!(marked(&*store).await, ["a.example.org", "b.example.org"]);
    settle().await;

    // A package the repository stored before any host had it (vim 9), installed later: its
    // name's next change finds the host that has it now.
    let token = patchman_server::auth::TokenHash::of("token-of-b.example.org");
    ingest(&*store, &token, report("b.example.org", "r2", 8_000, vec![pkg("curl", "1", "1"), pkg("vim", "9", "1")]))
        .await;
    settle().await;
    let mut vim_10 = errata.clone();
    vim_10.packages.retain(|p| p.name != "vim");
    vim_10.packages.push(pkg("vim", "10", "1").package);
    assert!(store.replace_repo_contents(main.id, &vim_10, 9_000).await.unwrap());
    assert_eq!(marked(&*store).await, ["b.example.org: vim"]);
    settle().await;
    let b = store.host("b.example.org").await.unwrap().unwrap();
    assert_eq!(available(&b), ["curl 2-1", "vim 10-1"]);
}

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

const NAMES: [&str; 8] = ["bash", "openssl", "curl", "zlib1g", "tzdata", "vim", "git", "linux-image-6.1.0-18-amd64"];

fn some_packages(rng: &mut Rng) -> Vec<InstalledPackage> {
    let mut packages = Vec::new();
    for name in NAMES {
        if rng.below(3) > 0 {
            packages.push(pkg(name, &(1 + rng.below(3)).to_string(), "1"));
        }
    }
    packages
}

/// What a repository offers: (name, version) pairs; a change toggles one of them, as a
/// security pocket's daily churn does. Kernel images of newer ABIs come and go among them.
type Offer = std::collections::BTreeSet<(String, usize)>;

fn toggle_one(offer: &mut Offer, rng: &mut Rng) {
    let name = match rng.below(NAMES.len() + 1) {
        i if i < NAMES.len() => NAMES[i].to_owned(),
        _ => format!("linux-image-6.1.0-{}-amd64", 19 + rng.below(3)),
    };
    let entry = (name, 1 + rng.below(4));
    if !offer.remove(&entry) {
        offer.insert(entry);
    }
}

fn contents_of(offer: &Offer) -> RepoContents {
    let packages = offer.iter().map(|(n, v)| pkg(n, &v.to_string(), "1").package).collect();
    RepoContents { packages, ..Default::default() }
}

/// Every host's verdict as lines: updates (with security), packages in no repository, status.
async fn verdicts(store: &dyn Store, hosts: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    for h in hosts {
        let d = store.host(h).await.unwrap().unwrap();
        let mut updates: Vec<String> = d
            .updates
            .iter()
            .map(|u| format!("{} {}→{} {} sec={}", u.name, u.installed, u.available_name, u.available, u.security))
            .collect();
        updates.sort();
        // The counts kept on the host row (a names-only save moves them by what it changed).
        let s = &d.summary;
        lines.push(format!(
            "{h}: {} | none: {:?} | counts {} {} {}",
            updates.join(", "),
            d.packages_not_in_repos,
            s.security_updates,
            s.bugfix_updates,
            s.unknown_packages
        ));
    }
    lines
}

pub(crate) async fn incremental_recomputation_equals_a_full_one(store: Arc<dyn Store>) {
    let updater = Updater::new(store.clone());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let hosts: Vec<String> = (0..16).map(|i| format!("h{i:02}.example.org")).collect();
    let mut tokens = Vec::new();
    for h in &hosts {
        let token = enroll(&*store, h).await;
        ingest(&*store, &token, report(h, "r0", 1_000, some_packages(&mut rng))).await;
        tokens.push(token);
    }
    let repos = store.repos().await.unwrap();
    let mut offers: Vec<Offer> = Vec::new();
    for r in &repos {
        let mut offer = Offer::new();
        for _ in 0..12 {
            toggle_one(&mut offer, &mut rng);
        }
        store.replace_repo_contents(r.id, &contents_of(&offer), 1_500).await.unwrap();
        offers.push(offer);
    }
    updater.recompute_stale().await.unwrap();

    let (mut marked, mut names_only) = (Vec::new(), 0);
    for round in 1..=16_i64 {
        // A repository changes, and now and then a host reports a new state.
        let r = rng.below(repos.len());
        toggle_one(&mut offers[r], &mut rng);
        store.replace_repo_contents(repos[r].id, &contents_of(&offers[r]), 2_000 + round).await.unwrap();
        marked
            .push(store.stale_hosts(0, 100).await.unwrap().len() + store.stale_name_hosts(0, 100).await.unwrap().len());
        if rng.below(3) == 0 {
            let i = rng.below(hosts.len());
            let r = report(&hosts[i], &format!("r{round}"), 2_000 + round, some_packages(&mut rng));
            ingest(&*store, &tokens[i], r).await;
        }
        names_only += updater.recompute_stale().await.unwrap().names_only;
        let incremental = verdicts(&*store, &hosts).await;
        store.mark_stale(None).await.unwrap();
        updater.recompute_stale().await.unwrap();
        assert_eq!(incremental, verdicts(&*store, &hosts).await, "round {round}: incremental ≠ full");
    }
    // Most changes touched some hosts, not all (else this checked nothing incremental).
    assert!(marked.iter().any(|&n| n > 0 && n < hosts.len()), "hosts marked per change: {marked:?}");
    assert!(names_only > 0, "no host was computed for some names only");
}

/// The updater's caches hold what their budget allows: with room for a few packages only,
/// every batch reads most of its packages again, and the verdicts are the same.
pub(crate) async fn a_cache_budget_of_a_few_packages_gives_the_same_verdicts(store: Arc<dyn Store>) {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let hosts: Vec<String> = (0..24).map(|i| format!("h{i:02}.example.org")).collect();
    for h in &hosts {
        let token = enroll(&*store, h).await;
        ingest(&*store, &token, report(h, "r0", 1_000, some_packages(&mut rng))).await;
    }
    for r in store.repos().await.unwrap() {
        let mut offer = Offer::new();
        for _ in 0..12 {
            toggle_one(&mut offer, &mut rng);
        }
        store.replace_repo_contents(r.id, &contents_of(&offer), 1_500).await.unwrap();
    }
    let roomy = Updater::new(store.clone());
    roomy.recompute_stale().await.unwrap();
    let expected = verdicts(&*store, &hosts).await;
    let (repos, packages) = roomy.cache_bytes();
    assert!(repos > 0 && packages > 0, "{repos} {packages}");

    // Room for the repositories' indexes and about three packages.
    let budget = repos + 3 * 120;
    let tight = Updater::build(store.clone(), None, budget);
    store.mark_stale(None).await.unwrap();
    let stats = tight.recompute_stale().await.unwrap();
    assert_eq!(stats.saved, hosts.len());
    assert_eq!(verdicts(&*store, &hosts).await, expected);
    let (repos_held, packages_held) = tight.cache_bytes();
    assert!(repos_held + packages_held <= budget, "{repos_held} + {packages_held} > {budget}");
    assert!(packages_held < packages, "nothing was evicted: {packages_held} ≥ {packages}");
}

pub(crate) async fn twins_share_one_evaluation_and_a_drifting_host_gets_its_own(store: Arc<dyn Store>) {
    let updater = Updater::new(store.clone());
    let image = || vec![pkg("bash", "1", "1"), pkg("openssl", "1", "1"), pkg("curl", "1", "1")];
    let mut drifted = image();
    drifted[1] = pkg("openssl", "2", "1");
    let hosts = ["t1.example.org", "t2.example.org", "t3.example.org", "d.example.org"];
    let mut tokens = Vec::new();
    for h in hosts {
        let token = enroll(&*store, h).await;
        let packages = if h.starts_with('d') { drifted.clone() } else { image() };
        ingest(&*store, &token, report(h, "r1", 1_000, packages)).await;
        tokens.push(token);
    }
    for r in store.repos().await.unwrap() {
        let offer = offered(&[("bash", "1"), ("openssl", "1"), ("openssl", "3"), ("curl", "2")]);
        store.replace_repo_contents(r.id, &offer, 2_000).await.unwrap();
    }
    let stats = updater.recompute_stale().await.unwrap();
    assert_eq!((stats.hosts, stats.evaluated), (4, 2), "three twins and one of its own: {stats:?}");
    let lines = verdicts(&*store, &hosts.map(str::to_owned)).await;
    let verdict_of = |i: usize| lines[i].split_once(": ").unwrap().1.to_owned();
    assert_eq!(verdict_of(0), verdict_of(1));
    assert_eq!(verdict_of(0), verdict_of(2));
    assert_ne!(verdict_of(0), verdict_of(3));
    assert!(
        verdict_of(0).contains("openssl 1-1→openssl 3-1") && verdict_of(3).contains("openssl 2-1→openssl 3-1"),
        "{lines:?}"
    );

    // t2 drifts as d did: its own verdict, now d's.
    ingest(&*store, &tokens[1], report(hosts[1], "r2", 3_000, drifted)).await;
    let stats = updater.recompute_stale().await.unwrap();
    assert_eq!((stats.hosts, stats.evaluated), (1, 1));
    let lines = verdicts(&*store, &hosts.map(str::to_owned)).await;
    let verdict_of = |i: usize| lines[i].split_once(": ").unwrap().1.to_owned();
    assert_eq!(verdict_of(1), verdict_of(3));
    assert_ne!(verdict_of(1), verdict_of(0));
}
