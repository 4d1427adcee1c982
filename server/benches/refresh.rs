//! Repository-refresh benchmark, served on loopback:
//! - Debian bookworm main amd64 from this machine's apt lists: its InRelease (verified with
//!   the Debian archive keyring) and its Packages, served as Packages.xz;
//! - a synthetic rpm repository whose primary.xml.gz holds 30,000 packages with real EL9
//!   names (plus an updateinfo.xml.gz).
//!
//! Each is refreshed through the server's `Refresher` into a store (fetch, verify, stream-parse,
//! apply as a set difference), first time then unchanged; and fetched and parsed alone.
//! Prints times and the process's peak RSS during each step (VmHWM reset before it).
//!
//! cargo bench -p patchman-server --bench refresh -- [--store sqlite|postgres://…] [--rpm-packages N]

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use patchman_server::config::ReposConfig;
use patchman_server::refresh::{Progress, Refresher};
use patchman_server::report::{
    InstalledPackage, Os, Package, PackageKind, Reboot, RepoUrl, Report, ReportedRepo, Trigger, UrlKind,
};
use patchman_server::repos::{AptMirror, Fetcher, HttpConfig, Keyring, Refreshed, Seen, refresh_apt, refresh_yum};
use patchman_server::store::{Credential, Store};
use patchman_testkit::apt::{DEBIAN_KEYRING, apt_list, apt_packages, xz};
use patchman_testkit::http::FileServer;
use patchman_testkit::write;
use sha2::Digest as _;

fn kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs a step with the peak-RSS mark reset to the current RSS; prints its time and the peak
/// above what was resident before.
async fn step<T>(label: &str, f: impl std::future::Future<Output = T>) -> T {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM (Linux)");
    let before = kib("VmRSS:");
    let t = Instant::now();
    let out = f.await;
    let took = t.elapsed();
    let peak = kib("VmHWM:");
    println!(
        "{label:<44} {:>8.3} s   peak RSS {:>4} MB ({:+} MB over the {} MB before)",
        took.as_secs_f64(),
        peak / 1024,
        (peak as i64 - before as i64) / 1024,
        before / 1024
    );
    out
}

/// bookworm main as a mirror serves it: InRelease and main/binary-amd64/Packages.xz.
fn debian_mirror(root: &Path) -> usize {
    let dists = root.join("debian/dists/bookworm");
    let plain = apt_packages("debian_dists_bookworm_main_binary-amd64_Packages");
    let count = plain.split(|&b| b == b'\n').filter(|l| l.starts_with(b"Package:")).count();
    write(&dists.join("InRelease"), std::fs::read(apt_list("debian_dists_bookworm_InRelease")).unwrap());
    let packages = dists.join("main/binary-amd64/Packages");
    write(&packages, &plain);
    xz(&packages, "-6");
    std::fs::remove_file(&packages).unwrap();
    count
}

/// A repository of `n` packages from real EL9 NEVRAs, and an updateinfo with an erratum for
/// every 60th package.
fn rpm_mirror(root: &Path, n: usize) {
    // Real EL9 NEVRAs ("name epoch version release arch"); past the end of the list, each comes
    // again with a newer release.
    let nevras: Vec<Vec<&str>> = include_str!("data/el9-packages.txt")
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect())
        .filter(|f: &Vec<&str>| f.len() == 5)
        .collect();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" \
         xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{n}\">\n"
    );
    let mut updates = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<updates>\n");
    for i in 0..n {
        let f = &nevras[i % nevras.len()];
        let round = i / nevras.len();
        let (name, epoch, version, arch) = (f[0], f[1], f[2], f[4]);
        let release = if round == 0 { f[3].to_owned() } else { format!("{}.{round}", f[3]) };
        xml.push_str(&format!(
            "<package type=\"rpm\">\n  <name>{name}</name>\n  <arch>{arch}</arch>\n  \
             <version epoch=\"{}\" ver=\"{version}\" rel=\"{release}\"/>\n  \
             <checksum type=\"sha256\" pkgid=\"YES\">{:064x}</checksum>\n  <summary>{name} for the benchmark</summary>\n  \
             <description>A synthetic package with the name of a real one.</description>\n  <packager>Rocky Linux Build System</packager>\n  \
             <url>https://example.invalid/{name}</url>\n  <time file=\"1714557600\" build=\"1714557600\"/>\n  \
             <size package=\"123456\" installed=\"654321\" archive=\"700000\"/>\n  \
             <location href=\"Packages/{}/{name}-{version}-{release}.{arch}.rpm\"/>\n  <format>\n    <rpm:license>MIT</rpm:license>\n    \
             <rpm:sourcerpm>{name}-{version}-{release}.src.rpm</rpm:sourcerpm>\n    \
             <rpm:provides><rpm:entry name=\"{name}\" flags=\"EQ\" epoch=\"0\" ver=\"{version}\" rel=\"{release}\"/>\
             <rpm:entry name=\"lib{name}.so.1()(64bit)\"/></rpm:provides>\n    \
             <rpm:requires><rpm:entry name=\"libc.so.6()(64bit)\"/><rpm:entry name=\"rtld(GNU_HASH)\"/></rpm:requires>\n    \
             <file>/usr/lib64/lib{name}.so.1</file>\n  </format>\n</package>\n",
            epoch,
            i,
            &name[..1],
        ));
        if i % 60 == 0 {
            updates.push_str(&format!(
                "<update type=\"{}\"><id>RLSA-2024:{i:05}</id><title>{name} update</title><severity>Important</severity>\
                 <issued date=\"2024-05-01 10:00:00\"/><references><reference type=\"cve\" id=\"CVE-2024-{i}\"/></references>\
                 <pkglist><collection><package name=\"{name}\" epoch=\"{}\" version=\"{version}\" release=\"{release}\" arch=\"{arch}\">\
                 <filename>{name}-{version}-{release}.{arch}.rpm</filename></package></collection></pkglist></update>\n",
                if i % 120 == 0 { "security" } else { "bugfix" },
                epoch
            ));
        }
    }
    xml.push_str("</metadata>\n");
    updates.push_str("</updates>\n");
    let mut repomd = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n<revision>1</revision>\n",
    );
    for (kind, text) in [("primary", &xml), ("updateinfo", &updates)] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let sum = hex(&sha2::Sha256::digest(&gz));
        let open = hex(&sha2::Sha256::digest(text.as_bytes()));
        let href = format!("repodata/{sum}-{kind}.xml.gz");
        write(&root.join("el9/baseos").join(&href), &gz);
        repomd.push_str(&format!(
            "<data type=\"{kind}\"><checksum type=\"sha256\">{sum}</checksum><open-checksum type=\"sha256\">{open}</open-checksum>\
             <location href=\"{href}\"/><size>{}</size><open-size>{}</open-size></data>\n",
            gz.len(),
            text.len()
        ));
        println!("  {kind}: {} MiB of XML, {} KiB gzipped", text.len() >> 20, gz.len() >> 10);
    }
    repomd.push_str("</repomd>\n");
    write(&root.join("el9/baseos/repodata/repomd.xml"), repomd);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A host that uses both repositories, so that the store knows them.
fn report(files: &FileServer) -> Report {
    let repo = |kind, id: &str, url: String, url_kind, suite: &str| ReportedRepo {
        kind,
        repo_id: id.to_owned(),
        name: id.to_owned(),
        priority: if kind == PackageKind::Deb { 500 } else { 99 },
        urls: vec![RepoUrl { url, kind: url_kind }],
        suite: suite.to_owned(),
        component: if kind == PackageKind::Deb { "main".into() } else { String::new() },
        architecture: if kind == PackageKind::Deb { "amd64".into() } else { String::new() },
    };
    Report {
        report_id: "bench".into(),
        generated_at_ms: 1_700_000_000_000,
        hostname: "bench.example.org".into(),
        machine_id: String::new(),
        os: Os { id: "debian".into(), name: "Debian GNU/Linux".into(), version_id: "12".into(), ..Os::default() },
        kernel: "6.1.0-18-amd64".into(),
        arch: "x86_64".into(),
        packages: vec![InstalledPackage {
            package: Package {
                kind: PackageKind::Deb,
                name: "bash".into(),
                epoch: 0,
                version: "5.2.15".into(),
                release: "2".into(),
                arch: "amd64".into(),
            },
            source_name: String::new(),
            source_version: String::new(),
        }],
        repos: vec![
            repo(
                PackageKind::Deb,
                "bookworm main",
                format!("{}/debian/dists/bookworm/main/binary-amd64", files.url()),
                UrlKind::Apt,
                "bookworm",
            ),
            repo(PackageKind::Rpm, "baseos", format!("{}/el9/baseos/", files.url()), UrlKind::Baseurl, ""),
        ],
        modules: Vec::new(),
        reboot: Reboot::default(),
        tags: Vec::new(),
        trigger: Trigger::Timer,
        transactions: Vec::new(),
        client_version: "bench".into(),
        offered_updates: Vec::new(),
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut store_url, mut rpm_packages) = ("sqlite".to_owned(), 30_000usize);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--store" => store_url = args.next().expect("--store sqlite|postgres://…"),
            "--rpm-packages" => rpm_packages = args.next().and_then(|v| v.parse().ok()).expect("--rpm-packages N"),
            _ => {}
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let www = dir.path().join("www");
    let deb_count = debian_mirror(&www);
    println!("bookworm main: {deb_count} packages; rpm primary: {rpm_packages} packages");
    rpm_mirror(&www, rpm_packages);
    let files = FileServer::start(&www);
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
        parse_only(&files).await;
        let url = if store_url == "sqlite" {
            format!("sqlite://{}", dir.path().join("refresh.db").display())
        } else {
            store_url.clone()
        };
        refresh_into_store(&files, &url).await;
    });
}

/// Fetch, verify and parse alone (what the refresh holds in memory while parsing).
async fn parse_only(files: &FileServer) {
    let fetcher = Fetcher::new(&HttpConfig::default()).unwrap();
    let keyring = Keyring::from_files(&[Path::new(DEBIAN_KEYRING)]).unwrap();
    let mirror = AptMirror::parse(&format!("{}/debian/dists/bookworm/main/binary-amd64", files.url())).unwrap();
    let apt = step("parse: bookworm main (verify, xz, parse)", async {
        refresh_apt(&fetcher, &mirror, &Seen::default(), Some(&keyring), None).await.expect("bookworm refresh")
    })
    .await;
    let Refreshed::Changed(snap) = apt else { panic!("a snapshot") };
    assert!(snap.apt.as_ref().is_some_and(|a| a.signed), "verified with the Debian keyring");
    drop(snap);
    let yum = step("parse: rpm primary + updateinfo (gz)", async {
        refresh_yum(&fetcher, &format!("{}/el9/baseos/", files.url()), &Seen::default(), None, None).await.expect("rpm")
    })
    .await;
    let Refreshed::Changed(snap) = yum else { panic!("a snapshot") };
    println!("  rpm: {} packages, {} errata", snap.packages.len(), snap.errata.len());
}

/// Through the Refresher into the store: first time, then unchanged.
async fn refresh_into_store(files: &FileServer, url: &str) {
    use patchman_server::auth::TokenHash;
    use patchman_server::store::Enrollment;
    let store: Arc<dyn Store> = patchman_server::store::connect(url).await.expect("open the store");
    let token = TokenHash::of("bench");
    let name = "bench.example.org";
    store.enroll(&Enrollment { hostname: name, machine_id: "", token_hash: &token, now_ms: 1 }).await.unwrap();
    store.ingest(&Credential::Host(token), patchman_server::ingest::prepare(report(files)), 2).await.unwrap().unwrap();
    let config = ReposConfig { keyrings: vec![DEBIAN_KEYRING.into()], ..ReposConfig::default() };
    let refresher = Refresher::new(store.clone(), &config).unwrap();
    let repos = store.repos().await.unwrap();
    let id = |kind: PackageKind| repos.iter().find(|r| r.kind == kind).map(|r| r.id).unwrap();
    let backend = url.split(':').next().unwrap();
    for (label, kind) in [("bookworm main", PackageKind::Deb), ("rpm", PackageKind::Rpm)] {
        for round in ["first time", "unchanged"] {
            let summary = step(&format!("refresh into {backend}: {label}, {round}"), async {
                refresher.run(Some(id(kind)), false, &Progress::Log).await.unwrap()
            })
            .await;
            assert!(summary.failed.is_empty(), "{:?}", summary.failed);
            assert_eq!(summary.changed, usize::from(round == "first time"), "{summary:?}");
        }
    }
    for r in store.repos().await.unwrap() {
        println!("  {}: {} packages stored", r.name, r.package_count);
    }
}
