//! Advisories benchmark: importing a Debian-OSV-sized archive (tens of thousands of records in
//! the shape of the real ones: DSA, DLA and DEBIAN-CVE records over Debian 11, 12 and 13, with
//! `versions` lists and details), the first computation of every host's exposures, and the
//! incremental recomputation after a feed update that changes 5 source packages.
//!
//! cargo bench -p patchman-server --bench advisories -- [--hosts N] [--records R] [--store sqlite|postgres://…]

#[path = "world/mod.rs"]
#[allow(dead_code)]
mod world;

use std::io::Write as _;
use std::time::Instant;

use patchman_server::auth::TokenHash;
use patchman_server::config::{AdvisoriesConfig, FeedConfig, ReposConfig};
use patchman_server::exposures::{feeds::FeedRefresher, recompute_stale};
use patchman_server::report::Os;
use patchman_server::store::{Credential, Enrollment, Store};

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut hosts, mut records, mut url) = (10_000usize, 40_000usize, "sqlite".to_owned());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--hosts" => hosts = args.next().and_then(|v| v.parse().ok()).expect("--hosts N"),
            "--records" => records = args.next().and_then(|v| v.parse().ok()).expect("--records R"),
            "--store" => url = args.next().expect("--store URL"),
            _ => {}
        }
    }
    let world = world::world(20, hosts, 1.2, 7, 0);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run(&world, records, &url));
}

/// Peak resident memory since the last reset, in MB; resets it.
fn peak_mb_and_reset() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    kb / 1024.0
}

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

async fn run(world: &world::World, records: usize, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let url =
        if url == "sqlite" { format!("sqlite://{}", dir.path().join("adv.db").display()) } else { url.to_owned() };
    let store = patchman_server::store::connect(&url).await.expect("open the store");
    let t = Instant::now();
    store_fleet(world, &store).await;
    println!("fleet: {} hosts stored in {:.1} s", world.hosts.len(), t.elapsed().as_secs_f64());

    // Names the advisories draw from: the Debian hosts' packages (real Debian names).
    let deb_names: Vec<(String, String)> = {
        let mut seen = std::collections::BTreeMap::new();
        for (v, installed) in &world.hosts {
            if world.variants[*v].kind != patchman_engine::Kind::Deb {
                continue;
            }
            for p in installed {
                seen.entry(p.name.to_string())
                    .or_insert_with(|| patchman_engine::format_evr(p.epoch, &p.version, &p.release));
            }
        }
        seen.into_iter().collect()
    };
    let archive = dir.path().join("all.zip");
    let t = Instant::now();
    let (bytes, unpacked) = write_archive(&archive, records, &deb_names, &[]);
    println!(
        "archive: {records} records, {:.1} MB zip ({:.1} MB unpacked), written in {:.1} s",
        bytes as f64 / 1e6,
        unpacked as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let config = AdvisoriesConfig {
        feeds: vec![FeedConfig {
            name: "debian".into(),
            kind: "osv".into(),
            path: Some(archive.clone()),
            ..FeedConfig::default()
        }],
        ..AdvisoriesConfig::default()
    };
    let refresher = FeedRefresher::new(&config, &ReposConfig::default()).unwrap();
    peak_mb_and_reset();
    let t = Instant::now();
    let fetcher = patchman_server::repos::Fetcher::new(&patchman_server::repos::HttpConfig::default()).unwrap();
    let parsed = patchman_server::advisories::feed::read(&fetcher, &config.feeds[0], &Default::default(), 2 << 30)
        .await
        .unwrap();
    drop(parsed);
    println!("parse only: {:.1} s, peak RSS {:.0} MB", t.elapsed().as_secs_f64(), peak_mb_and_reset());
    let before = rss_mb();
    let t = Instant::now();
    let outcome = refresher.run(&*store, None).await.unwrap();
    let import_s = t.elapsed().as_secs_f64();
    println!(
        "import: {} advisories added, {} hosts marked, in {import_s:.1} s; peak RSS {:.0} MB (was {before:.0} MB before)",
        outcome[0].change.added,
        outcome[0].change.hosts_marked,
        peak_mb_and_reset()
    );
    assert_eq!(outcome[0].status, "updated", "{outcome:?}");

    let t = Instant::now();
    let stats = recompute_stale(&*store).await.unwrap();
    println!(
        "exposures, every host: {} hosts, {} exposures, {} windows opened, in {:.1} s; peak RSS {:.0} MB",
        stats.hosts,
        stats.exposures,
        stats.windows_opened,
        t.elapsed().as_secs_f64(),
        peak_mb_and_reset()
    );

    let t = Instant::now();
    let again = refresher.run(&*store, None).await.unwrap();
    println!("re-read unchanged: {} in {:.2} s", again[0].status, t.elapsed().as_secs_f64());

    // A day of a security pocket: 5 new advisories, each for one source package.
    let picks: Vec<(String, String)> = (0..5).map(|i| deb_names[(i * 97 + 13) % deb_names.len()].clone()).collect();
    let (_bytes, _) = write_archive(&archive, records, &deb_names, &picks);
    let t = Instant::now();
    let outcome = refresher.run(&*store, None).await.unwrap();
    let read_s = t.elapsed().as_secs_f64();
    let stats = recompute_stale(&*store).await.unwrap();
    println!(
        "feed update of 5 source packages: {} added, {} hosts concerned, whose exposures to them were saved \
         {read_s:.1} s after the read began; {} hosts left for a full computation ({:.1} s in all)",
        outcome[0].change.added,
        outcome[0].hosts_computed,
        stats.hosts,
        t.elapsed().as_secs_f64(),
    );
}

/// Stores the world's hosts, Debian variants as Debian 12 and the others as Rocky Linux 9.
async fn store_fleet(world: &world::World, store: &std::sync::Arc<dyn Store>) {
    for h in 0..world.hosts.len() {
        let name = world::stored::hostname(h);
        let token = TokenHash::of(&name);
        store.enroll(&Enrollment { hostname: &name, machine_id: "", token_hash: &token, now_ms: 1 }).await.unwrap();
        let mut report = world::stored::report(world, h);
        report.os = if world.variants[world.hosts[h].0].kind == patchman_engine::Kind::Deb {
            Os { id: "debian".into(), name: "Debian GNU/Linux".into(), version_id: "12".into(), ..Os::default() }
        } else {
            Os { id: "rocky".into(), name: "Rocky Linux".into(), version_id: "9.4".into(), ..Os::default() }
        };
        store
            .ingest(&Credential::Host(token), patchman_server::ingest::prepare(report), 1_700_000_000_000)
            .await
            .unwrap()
            .unwrap();
    }
}

/// Writes `records` OSV records as a zip: mostly DEBIAN-CVE records (Debian 11/12/13, a
/// `versions` list, details), a tenth DSA and DLA; about one in twenty names a package the
/// hosts have with a fix above their version, the rest fixes they already have or packages
/// they lack. `extra` adds one DSA per (package, installed version), fixed just above it.
/// Returns (zip bytes, unpacked bytes).
fn write_archive(
    path: &std::path::Path,
    records: usize,
    names: &[(String, String)],
    extra: &[(String, String)],
) -> (u64, u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut rng = world::Rng::new(11);
    let mut unpacked = 0u64;
    let mut put = |zip: &mut zip::ZipWriter<std::fs::File>, id: &str, json: String| {
        unpacked += json.len() as u64;
        zip.start_file(format!("{id}.json"), options).unwrap();
        zip.write_all(json.as_bytes()).unwrap();
    };
    for i in 0..records {
        let (name, installed) = if rng.below(3) == 0 {
            names[rng.below(names.len())].clone()
        } else {
            (format!("src-{}", rng.below(20_000)), "1.0-1".to_owned())
        };
        let fixed = if rng.below(20) == 0 { format!("{installed}+deb12u9") } else { format!("{installed}~old1") };
        let id = match i % 10 {
            0 => format!("DSA-{}-1", 1000 + i / 10),
            1 => format!("DLA-{}-1", 1000 + i / 10),
            _ => format!("DEBIAN-CVE-{}-{}", 2000 + i % 25, 10_000 + i),
        };
        put(&mut zip, &id, record(&id, &name, &fixed, i));
    }
    for (n, (name, installed)) in extra.iter().enumerate() {
        let id = format!("DSA-{}-1", 9000 + n);
        put(&mut zip, &id, record(&id, name, &format!("{installed}+deb12u9"), records + n));
    }
    let file = zip.finish().unwrap();
    (file.metadata().unwrap().len(), unpacked)
}

fn record(id: &str, source: &str, fixed: &str, i: usize) -> String {
    let cve = format!("CVE-{}-{}", 2000 + i % 25, 10_000 + i);
    let versions: Vec<String> = (0..20).map(|k| format!("\"{}.{k}-1\"", 1 + k % 4)).collect();
    let affected: Vec<String> = [("11", "bullseye"), ("12", "bookworm"), ("13", "trixie")]
        .iter()
        .map(|(n, codename)| {
            format!(
                r#"{{"database_specific":{{"source":"https://security-tracker.debian.org/tracker/{cve}"}},"ecosystem_specific":{{"urgency":"medium"}},"package":{{"ecosystem":"Debian:{n}","name":"{source}","purl":"pkg:deb/debian/{source}?arch=source&distro={codename}"}},"ranges":[{{"events":[{{"introduced":"0"}},{{"fixed":"{fixed}"}}],"type":"ECOSYSTEM"}}],"versions":[{}]}}"#,
                versions.join(",")
            )
        })
        .collect();
    format!(
        r#"{{"affected":[{}],"details":"A flaw was found in {source} where a crafted input could lead to a heap-based buffer overflow, allowing an attacker to cause a denial of service or possibly execute code with the privileges of the process.","id":"{id}","modified":"2025-06-16T10:00:00.123456Z","published":"2025-06-15T00:00:00Z","references":[{{"type":"ADVISORY","url":"https://security-tracker.debian.org/tracker/{cve}"}}],"schema_version":"1.9.0","summary":"{source} - security update","upstream":["{cve}","DEBIAN-{cve}"]}}"#,
        affected.join(",")
    )
}
