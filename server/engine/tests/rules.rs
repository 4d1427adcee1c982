//! Table tests for each rule of the engine: one small world per case.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use patchman_engine::{
    Erratum, HostInput, IndexedRepo, Kind, ModuleStream, PackageMemo, Pkg, RepoData, RepoUse, UpdateKind, Verdict,
    evaluate, evaluate_with,
};

fn pkg(kind: Kind, name: &str, evr: &str, arch: &str) -> Pkg {
    let (epoch, rest) = match evr.split_once(':') {
        Some((e, r)) => (e.parse().unwrap_or(u32::MAX), r),
        None => (0, evr),
    };
    let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (kind, name, epoch, version, release, arch).hash(&mut h);
    Pkg {
        id: (h.finish() >> 1) as i64,
        kind,
        name: name.into(),
        epoch,
        version: version.into(),
        release: release.into(),
        arch: arch.into(),
    }
}

fn deb(name: &str, evr: &str) -> Pkg {
    pkg(Kind::Deb, name, evr, "amd64")
}

fn rpm(name: &str, evr: &str, arch: &str) -> Pkg {
    pkg(Kind::Rpm, name, evr, arch)
}

fn repo(id: i64, label: &str, security: bool, packages: Vec<Pkg>) -> RepoData {
    RepoData { id, label: label.into(), security, packages, ..RepoData::default() }
}

fn uses(repos: Vec<(RepoData, i32)>) -> Vec<RepoUse> {
    repos.into_iter().map(|(r, priority)| RepoUse { repo: Arc::new(IndexedRepo::new(r)), priority }).collect()
}

fn host(kernel: &str, installed: Vec<Pkg>) -> HostInput {
    let installed = installed.into_iter().map(Arc::new).collect();
    HostInput { machine_arch: "x86_64".into(), kernel: kernel.into(), installed, enabled_modules: Vec::new() }
}

/// "name installed-evr -> candidate-name candidate-evr [security]" per update.
fn summary(h: &HostInput, repos: &[RepoUse], v: &Verdict) -> Vec<String> {
    let find = |id: i64| {
        h.installed
            .iter()
            .map(|p| &**p)
            .chain(repos.iter().flat_map(|r| r.repo.data.packages.iter()))
            .find(|p| p.id == id)
            .map(|p| format!("{}.{} {}", p.name, p.arch, p.evr()))
            .unwrap_or_else(|| format!("#{id}"))
    };
    let mut out: Vec<String> = v
        .updates
        .iter()
        .map(|u| {
            let sec = if u.security { " security" } else { "" };
            let kernel = if u.kind == UpdateKind::Kernel { " kernel" } else { "" };
            format!("{} -> {}{sec}{kernel}", find(u.installed), find(u.candidate))
        })
        .collect();
    out.sort();
    out
}

#[track_caller]
fn check(h: HostInput, repos: Vec<(RepoData, i32)>, want: &[&str]) -> Verdict {
    let repos = uses(repos);
    let v = evaluate(&h, &repos);
    assert_eq!(summary(&h, &repos, &v), want);
    // Remembered outcomes give the same verdict: learning them, then taking every one.
    let mut memo = PackageMemo::new(1_000);
    for round in ["learning", "remembered"] {
        assert_eq!(evaluate_with(&h, &repos, &mut memo), v, "{round}");
    }
    v
}

#[test]
fn a_newer_version_is_an_update_and_security_comes_from_security_suites() {
    let installed =
        vec![deb("bash", "5.2.15-2+b2"), deb("openssl", "3.0.11-1~deb12u2"), deb("zlib1g", "1:1.2.13.dfsg-1")];
    let main = repo(
        1,
        "bookworm",
        false,
        vec![deb("bash", "5.2.15-2+b7"), deb("openssl", "3.0.11-1~deb12u2"), deb("zlib1g", "1:1.2.13.dfsg-1")],
    );
    let security = repo(2, "bookworm-security", true, vec![deb("openssl", "3.0.15-1~deb12u1")]);
    let v = check(
        host("6.1.0-18-amd64", installed),
        vec![(main, 500), (security, 500)],
        &[
            "bash.amd64 5.2.15-2+b2 -> bash.amd64 5.2.15-2+b7",
            "openssl.amd64 3.0.11-1~deb12u2 -> openssl.amd64 3.0.15-1~deb12u1 security",
        ],
    );
    let openssl = v.updates.iter().find(|u| u.security).unwrap();
    assert_eq!(openssl.repo, 2);
    assert_eq!(openssl.reason, "3.0.15-1~deb12u1 in bookworm-security (pin 500)");
}

#[test]
fn a_candidate_in_both_the_point_release_and_security_is_security() {
    let both = deb("libcups2", "2.4.2-3+deb12u9");
    check(
        host("k", vec![deb("libcups2", "2.4.2-3+deb12u8")]),
        vec![
            (repo(1, "bookworm", false, vec![both.clone()]), 500),
            (repo(2, "bookworm-security", true, vec![both]), 500),
        ],
        &["libcups2.amd64 2.4.2-3+deb12u8 -> libcups2.amd64 2.4.2-3+deb12u9 security"],
    );
}

#[test]
fn ubuntu_revision_suffixes_are_not_false_positives() {
    // Patchman #809: a version without the Ubuntu revision is older, not newer.
    let installed = vec![deb("apache2", "2.4.52-1ubuntu4.12")];
    check(host("k", installed.clone()), vec![(repo(1, "jammy", false, vec![deb("apache2", "2.4.52")]), 500)], &[]);
    check(
        host("k", installed),
        vec![(repo(1, "jammy-security", true, vec![deb("apache2", "2.4.52-1ubuntu4.13")]), 500)],
        &["apache2.amd64 2.4.52-1ubuntu4.12 -> apache2.amd64 2.4.52-1ubuntu4.13 security"],
    );
}

#[test]
fn architectures_must_fit() {
    let installed = vec![pkg(Kind::Deb, "libc6", "2.36-9", "i386"), pkg(Kind::Deb, "tzdata", "2024a-0", "all")];
    let offered = vec![
        pkg(Kind::Deb, "libc6", "2.36-10", "amd64"),
        pkg(Kind::Deb, "libc6", "2.36-9+deb12u1", "i386"),
        pkg(Kind::Deb, "tzdata", "2024b-0", "amd64"),
    ];
    check(
        host("k", installed),
        vec![(repo(1, "bookworm", false, offered), 500)],
        &["libc6.i386 2.36-9 -> libc6.i386 2.36-9+deb12u1", "tzdata.all 2024a-0 -> tzdata.amd64 2024b-0"],
    );
}

#[test]
fn multilib_packages_are_updated_by_their_own_arch_only() {
    let installed = vec![rpm("glibc", "2.34-100.el9", "i686"), rpm("glibc", "2.34-100.el9", "x86_64")];
    let offered = vec![
        rpm("glibc", "2.34-105.el9", "x86_64"),
        rpm("glibc", "2.34-104.el9", "i686"),
        rpm("glibc", "2.34-106.el9", "noarch"),
    ];
    check(
        host("k", installed),
        vec![(repo(1, "baseos", false, offered), 99)],
        &[
            "glibc.i686 2.34-100.el9 -> glibc.i686 2.34-104.el9",
            "glibc.x86_64 2.34-100.el9 -> glibc.noarch 2.34-106.el9",
        ],
    );
}

#[test]
fn rpm_priorities_exclude_names_from_worse_repositories() {
    let installed = vec![rpm("foo", "1.0-1", "x86_64"), rpm("bar", "1.0-1", "x86_64")];
    let preferred = repo(1, "local", false, vec![rpm("foo", "1.0-1", "x86_64")]);
    let other = repo(2, "epel", false, vec![rpm("foo", "2.0-1", "x86_64"), rpm("bar", "2.0-1", "x86_64")]);
    // foo is in the priority-10 repository, so epel's newer foo does not count; bar is not.
    check(
        host("k", installed.clone()),
        vec![(preferred.clone(), 10), (other.clone(), 99)],
        &["bar.x86_64 1.0-1 -> bar.x86_64 2.0-1"],
    );
    // Equal priorities: the newest wins.
    check(
        host("k", installed),
        vec![(preferred, 99), (other, 99)],
        &["bar.x86_64 1.0-1 -> bar.x86_64 2.0-1", "foo.x86_64 1.0-1 -> foo.x86_64 2.0-1"],
    );
}

#[test]
fn apt_pins_keep_backports_out_unless_installed_from_there() {
    let main = repo(1, "bookworm", false, vec![deb("nginx", "1.22.1-9"), deb("cockpit", "287-1")]);
    let backports = repo(
        2,
        "bookworm-backports",
        false,
        vec![deb("nginx", "1.26.0-1~bpo12+1"), deb("cockpit", "300-1~bpo12+1"), deb("cockpit", "310-1~bpo12+1")],
    );
    // nginx comes from main (pin 500): backports' pin 100 loses. cockpit 300 was installed
    // from backports: its pin 100 ties with the installed version's 100, the newer wins.
    check(
        host("k", vec![deb("nginx", "1.22.1-9"), deb("cockpit", "300-1~bpo12+1")]),
        vec![(main.clone(), 500), (backports.clone(), 100)],
        &["cockpit.amd64 300-1~bpo12+1 -> cockpit.amd64 310-1~bpo12+1"],
    );
    // NotAutomatic (pin 1): nothing from backports.
    check(host("k", vec![deb("cockpit", "300-1~bpo12+1")]), vec![(main.clone(), 500), (backports.clone(), 1)], &[]);
    // A pin of 1001 downgrades in apt: not an update.
    check(host("k", vec![deb("nginx", "1.26.0-1~bpo12+1")]), vec![(main, 1001)], &[]);
}

#[test]
fn rpm_kernels_update_once_against_the_newest_installed() {
    let installed = vec![
        rpm("kernel-core", "5.14.0-362.8.1.el9_3", "x86_64"),
        rpm("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64"),
        rpm("kernel-tools", "5.14.0-362.8.1.el9_3", "x86_64"),
    ];
    let running = "5.14.0-362.8.1.el9_3.x86_64";
    let same = repo(1, "baseos", false, vec![rpm("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64")]);
    let v = check(host(running, installed.clone()), vec![(same, 99)], &[]);
    assert_eq!(
        v.reboot.as_deref(),
        Some("running kernel 5.14.0-362.8.1.el9_3.x86_64 is older than installed 5.14.0-427.13.1.el9_4")
    );
    let newer = repo(
        1,
        "baseos",
        false,
        vec![
            rpm("kernel-core", "5.14.0-503.11.1.el9_5", "x86_64"),
            rpm("kernel-tools", "5.14.0-503.11.1.el9_5", "x86_64"),
        ],
    );
    check(
        host(running, installed),
        vec![(newer, 99)],
        &[
            "kernel-core.x86_64 5.14.0-427.13.1.el9_4 -> kernel-core.x86_64 5.14.0-503.11.1.el9_5",
            "kernel-tools.x86_64 5.14.0-362.8.1.el9_3 -> kernel-tools.x86_64 5.14.0-503.11.1.el9_5",
        ],
    );
    let current = host("5.14.0-427.13.1.el9_4.x86_64", vec![rpm("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64")]);
    assert_eq!(evaluate(&current, &[]).reboot, None);
}

#[test]
fn debian_kernels_follow_the_running_flavour_and_series() {
    let running = deb("linux-image-6.1.0-18-amd64", "6.1.76-1");
    let installed =
        vec![running.clone(), deb("linux-image-amd64", "6.1.76-1"), deb("linux-image-6.1.0-17-amd64", "6.1.69-1")];
    let offered = vec![
        deb("linux-image-6.1.0-21-amd64", "6.1.90-1"),
        deb("linux-image-6.1.0-20-amd64", "6.1.85-1"),
        deb("linux-image-6.1.0-21-cloud-amd64", "6.1.90-1"),
        deb("linux-image-6.5.0-0.deb12.4-amd64", "6.5.10-1~bpo12+1"),
        deb("linux-image-amd64", "6.1.90-1"),
    ];
    let v = check(
        host("6.1.0-18-amd64", installed.clone()),
        vec![(repo(1, "bookworm-security", true, offered.clone()), 500)],
        &[
            "linux-image-6.1.0-18-amd64.amd64 6.1.76-1 -> linux-image-6.1.0-21-amd64.amd64 6.1.90-1 security kernel",
            "linux-image-amd64.amd64 6.1.76-1 -> linux-image-amd64.amd64 6.1.90-1 security",
        ],
    );
    assert_eq!(v.reboot, None);
    // Installed already, waiting for a reboot: no kernel update, a reboot instead.
    let mut rebooting = installed;
    rebooting.push(deb("linux-image-6.1.0-21-amd64", "6.1.90-1"));
    let v = evaluate(&host("6.1.0-18-amd64", rebooting), &uses(vec![(repo(1, "s", true, offered), 500)]));
    assert!(v.updates.iter().all(|u| u.kind != UpdateKind::Kernel), "{:?}", v.updates);
    assert!(v.reboot.unwrap().contains("linux-image-6.1.0-21-amd64"));
}

fn modular_world() -> (Vec<(RepoData, i32)>, Vec<Pkg>) {
    let old = rpm("nginx", "1:1.20.1-1.module+el8.6.0+1+aaaa", "x86_64");
    let s120 = rpm("nginx", "1:1.20.1-2.module+el8.7.0+2+bbbb", "x86_64");
    let s122 = rpm("nginx", "1:1.22.1-1.module+el8.8.0+3+cccc", "x86_64");
    let plain = rpm("nginx", "1:1.24.0-1.el8", "x86_64");
    let perl = rpm("perl", "4:5.26.3-420.el8", "x86_64");
    let perl530 = rpm("perl", "4:5.30.1-452.module+el8.6.0+4+dddd", "x86_64");
    let mut appstream = repo(1, "appstream", false, vec![s120.clone(), s122.clone(), plain, perl530.clone()]);
    appstream.modules = vec![
        ModuleStream { name: "nginx".into(), stream: "1.20".into(), artifacts: vec![s120.id] },
        ModuleStream { name: "nginx".into(), stream: "1.22".into(), artifacts: vec![s122.id] },
        ModuleStream { name: "perl".into(), stream: "5.30".into(), artifacts: vec![perl530.id] },
    ];
    appstream.module_defaults = vec![("nginx".into(), "1.20".into())];
    (vec![(appstream, 99)], vec![old, perl])
}

/// One memo shared by hosts whose contexts differ (enabled streams, machine arch, the same
/// repositories at other priorities) and whose installed sets overlap: each host still gets
/// exactly its own verdict, also when the memo fills up and starts again.
#[test]
fn one_memo_serves_many_hosts_each_its_own_verdict() {
    let (modular, installed) = modular_world();
    let modular = uses(modular);
    let mut hosts: Vec<(HostInput, &[RepoUse])> = Vec::new();
    for streams in [vec![], vec![("nginx", "1.22")], vec![("nginx", "1.20"), ("perl", "5.30")]] {
        let mut h = host("k", installed.clone());
        h.enabled_modules = streams.into_iter().map(|(m, s)| (m.into(), s.into())).collect();
        hosts.push((h, &modular));
    }
    let debs = |pin_security: i32| {
        uses(vec![
            (
                repo(1, "bookworm", false, vec![deb("bash", "5.2-1"), deb("curl", "7.88-1"), deb("zlib1g", "1:1.2-1")]),
                500,
            ),
            (repo(2, "bookworm-security", true, vec![deb("curl", "7.88-2"), deb("bash", "5.2-2")]), pin_security),
        ])
    };
    let (normal, pinned_out) = (debs(500), debs(-1));
    for installed in [vec![deb("bash", "5.2-1"), deb("curl", "7.88-1")], vec![deb("curl", "7.88-1"), deb("vim", "9-1")]]
    {
        hosts.push((host("k", installed.clone()), &normal));
        hosts.push((host("k", installed.clone()), &pinned_out));
        let mut arm = host("k", installed);
        arm.machine_arch = "aarch64".into();
        hosts.push((arm, &normal));
    }
    let expected: Vec<Verdict> = hosts.iter().map(|(h, r)| evaluate(h, r)).collect();
    for max_entries in [1_000, 3] {
        let mut memo = PackageMemo::new(max_entries);
        for round in 0..3 {
            for (i, (h, r)) in hosts.iter().enumerate() {
                assert_eq!(evaluate_with(h, r, &mut memo), expected[i], "host {i}, round {round}, max {max_entries}");
            }
            assert!(memo.len() <= max_entries);
        }
    }
    assert_ne!(expected[3], expected[4], "a security pin of -1 changes the verdict");
}

#[test]
fn module_streams_the_host_did_not_enable_are_never_candidates() {
    // Patchman #388/#344: perl 5.30 and nginx 1.22 offered to hosts on other streams.
    let (repos, installed) = modular_world();
    let mut h = host("k", installed.clone());
    h.enabled_modules = vec![("nginx".into(), "1.20".into())];
    check(
        h,
        repos.clone(),
        &["nginx.x86_64 1:1.20.1-1.module+el8.6.0+1+aaaa -> nginx.x86_64 1:1.20.1-2.module+el8.7.0+2+bbbb"],
    );
    // Nothing enabled: nginx's default stream (1.20) applies; perl has no default, so 5.30 stays out.
    check(
        host("k", installed.clone()),
        repos.clone(),
        &["nginx.x86_64 1:1.20.1-1.module+el8.6.0+1+aaaa -> nginx.x86_64 1:1.20.1-2.module+el8.7.0+2+bbbb"],
    );
    let mut h = host("k", installed);
    h.enabled_modules = vec![("nginx".into(), "1.22".into()), ("perl".into(), "5.30".into())];
    check(
        h,
        repos,
        &[
            "nginx.x86_64 1:1.20.1-1.module+el8.6.0+1+aaaa -> nginx.x86_64 1:1.22.1-1.module+el8.8.0+3+cccc",
            "perl.x86_64 4:5.26.3-420.el8 -> perl.x86_64 4:5.30.1-452.module+el8.6.0+4+dddd",
        ],
    );
}

#[test]
fn a_security_erratum_between_installed_and_candidate_makes_a_security_update() {
    let installed = vec![rpm("openssl-libs", "1:3.0.7-25.el9", "x86_64"), rpm("curl", "7.76.1-26.el9", "x86_64")];
    let mut baseos = repo(
        1,
        "baseos",
        false,
        vec![rpm("openssl-libs", "1:3.0.7-28.el9", "x86_64"), rpm("curl", "7.76.1-29.el9", "x86_64")],
    );
    baseos.errata = vec![
        Erratum {
            name: "RLSA-2024:1111".into(),
            security: true,
            fixed: vec![rpm("openssl-libs", "1:3.0.7-27.el9", "x86_64")],
        },
        Erratum { name: "RLBA-2024:2222".into(), security: false, fixed: vec![rpm("curl", "7.76.1-29.el9", "x86_64")] },
        // Fixed only in a version newer than the candidate: not this update's.
        Erratum { name: "RLSA-2024:3333".into(), security: true, fixed: vec![rpm("curl", "7.76.1-30.el9", "x86_64")] },
    ];
    let v = check(
        host("k", installed),
        vec![(baseos, 99)],
        &[
            "curl.x86_64 7.76.1-26.el9 -> curl.x86_64 7.76.1-29.el9",
            "openssl-libs.x86_64 1:3.0.7-25.el9 -> openssl-libs.x86_64 1:3.0.7-28.el9 security",
        ],
    );
    let u = v.updates.iter().find(|u| u.security).unwrap();
    assert_eq!(u.erratum.as_deref(), Some("RLSA-2024:1111"));
    assert!(u.reason.ends_with("fixes security erratum RLSA-2024:1111"), "{}", u.reason);
}

#[test]
fn packages_from_no_repository_are_listed() {
    let local = deb("my-tool", "1.0-1");
    let known = deb("bash", "5.2.15-2+b7");
    let v = evaluate(
        &host("k", vec![local.clone(), known.clone()]),
        &uses(vec![(repo(1, "bookworm", false, vec![known]), 500)]),
    );
    assert_eq!(v.not_in_repos, vec![local.id]);
}

#[test]
fn odd_data_gives_no_panic() {
    let odd = vec![
        pkg(Kind::Deb, "", "", ""),
        pkg(Kind::Rpm, "x", "99999999999999999999999999:~~^^-", "noarch"),
        pkg(Kind::Deb, "linux-image-", "-", "amd64"),
        pkg(Kind::Deb, "linux-image-1.2-3-", "1", "amd64"),
    ];
    let repos = uses(vec![(repo(1, "r", true, odd.clone()), 0), (repo(2, "r2", false, odd.clone()), -5)]);
    let mut h = host("", odd);
    h.machine_arch = String::new();
    h.enabled_modules = vec![(String::new(), String::new())];
    let v = evaluate(&h, &repos);
    assert!(v.updates.is_empty(), "{:?}", v.updates);
}

#[test]
fn a_package_installed_twice_where_it_cannot_be_is_evaluated_once_and_flagged() {
    let old = rpm("openssl-libs", "1:3.0.7-24.el9", "x86_64");
    let new = rpm("openssl-libs", "1:3.0.7-27.el9", "x86_64");
    let r = repo(1, "baseos", false, vec![new.clone()]);
    // After an interrupted transaction both are in the rpm database: the newer one counts, it
    // needs nothing, and the host is flagged.
    let v = check(host("k", vec![old.clone(), new.clone()]), vec![(r.clone(), 99)], &[]);
    assert_eq!(v.duplicates, vec![old.id]);
    // One of them only: the old one updates, nothing is flagged.
    let v = check(
        host("k", vec![old]),
        vec![(r, 99)],
        &["openssl-libs.x86_64 1:3.0.7-24.el9 -> openssl-libs.x86_64 1:3.0.7-27.el9"],
    );
    assert!(v.duplicates.is_empty());
    // Two debs of one name and arch: dpkg never has that; the older one is flagged.
    let v = check(host("k", vec![deb("bash", "5.2.15-2"), deb("bash", "5.2.15-2+b8")]), vec![], &[]);
    assert_eq!(v.duplicates, vec![deb("bash", "5.2.15-2").id]);
    // Install-only rpms (kernels) are meant to be installed side by side.
    let kernels = vec![
        rpm("kernel-core", "5.14.0-362.8.1.el9_3", "x86_64"),
        rpm("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64"),
    ];
    let v = check(host("5.14.0-427.13.1.el9_4.x86_64", kernels), vec![], &[]);
    assert!(v.duplicates.is_empty());
}
