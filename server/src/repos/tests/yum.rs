//! yum repositories built with rpmbuild, createrepo_c and modifyrepo_c.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use patchman_testkit::rpm::{RpmSpec, build};
use patchman_testkit::{require_tool, run, write};
use tempfile::TempDir;

use super::fixtures::fetcher;
use crate::repos::checksum::sha256_hex;
use crate::repos::{ErratumKind, Refreshed, RepoError, Seen, Snapshot, refresh_yum};
use patchman_testkit::http::FileServer;

const UPDATEINFO: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<updates>
  <update from="security@example.invalid" status="final" type="security" version="2">
    <id>TEST-2024:0001</id>
    <title>Important: nginx security update</title>
    <issued date="2024-05-01 10:00:00"/>
    <severity>Important</severity>
    <references>
      <reference href="https://example.invalid/CVE-2024-1111" id="CVE-2024-1111" type="cve" title="CVE-2024-1111"/>
      <reference href="https://example.invalid/CVE-2024-2222" id="CVE-2024-2222" type="cve" title="CVE-2024-2222"/>
    </references>
    <pkglist><collection short="test"><name>test</name>
      <package name="nginx" version="1.20.1" release="1.module+el8.6.0+1234+abcd" epoch="1" arch="x86_64">
        <filename>nginx-1.20.1-1.module+el8.6.0+1234+abcd.x86_64.rpm</filename></package>
    </collection></pkglist>
  </update>
</updates>
"#;

const MODULES: &str = r#"---
document: modulemd
version: 2
data:
  name: nginx
  stream: "1.20"
  version: 8060020220413094209
  context: 9edba152
  arch: x86_64
  summary: nginx
  description: nginx
  license: {module: [MIT]}
  artifacts:
    rpms:
    - nginx-1:1.20.1-1.module+el8.6.0+1234+abcd.x86_64
...
---
document: modulemd-defaults
version: 1
data:
  module: nginx
  stream: "1.20"
...
"#;

fn specs() -> Vec<RpmSpec> {
    vec![
        RpmSpec::new("tiny-tool", "1.0-1.el9", "x86_64"),
        RpmSpec::new("python3-tiny-lib", "2:0.9.1-3.el9", "noarch"),
        RpmSpec::new("nginx", "1:1.20.1-1.module+el8.6.0+1234+abcd", "x86_64"),
    ]
}

fn nevras(s: &Snapshot) -> Vec<String> {
    let mut v: Vec<String> = s.packages.iter().map(|p| format!("{}-{}.{}", p.name, p.evr(), p.arch)).collect();
    v.sort();
    v
}

fn spec_nevras(specs: &[RpmSpec]) -> Vec<String> {
    let mut v: Vec<String> = specs
        .iter()
        .map(|s| format!("{}-{}.{}", s.name, patchman_engine::format_evr(s.epoch, &s.version, &s.release), s.arch))
        .collect();
    v.sort();
    v
}

fn createrepo(repo: &Path, args: &[&str]) {
    require_tool("createrepo_c");
    run(Command::new("createrepo_c").arg("-q").args(args).arg(repo));
}

fn modifyrepo(repo: &Path, file: &Path, mdtype: &str) {
    require_tool("modifyrepo_c");
    run(Command::new("modifyrepo_c").arg(format!("--mdtype={mdtype}")).arg(file).arg(repo.join("repodata")));
}

/// The path of the `kind` file in repodata/ (as repomd.xml lists it).
fn repodata_file(repo: &Path, kind: &str) -> PathBuf {
    let repomd = std::fs::read_to_string(repo.join("repodata/repomd.xml")).expect("repomd");
    let at = repomd.find(&format!("<data type=\"{kind}\">")).expect("data entry");
    let href = repomd[at..].split("href=\"").nth(1).and_then(|s| s.split('"').next()).expect("href");
    repo.join(href)
}

/// Puts `new` (a file in repodata/) in place of the `kind` entry: href, checksum and size.
fn swap_repomd_entry(repo: &Path, kind: &str, new: &Path) {
    let old = repodata_file(repo, kind);
    let old_bytes = std::fs::read(&old).expect("old file");
    let new_bytes = std::fs::read(new).expect("new file");
    let rel = |p: &Path| p.strip_prefix(repo).expect("in repo").to_string_lossy().into_owned();
    let repomd = std::fs::read_to_string(repo.join("repodata/repomd.xml")).expect("repomd");
    let repomd = repomd
        .replace(&rel(&old), &rel(new))
        .replace(&sha256_hex(&old_bytes), &sha256_hex(&new_bytes))
        .replace(&format!("<size>{}</size>", old_bytes.len()), &format!("<size>{}</size>", new_bytes.len()));
    write(&repo.join("repodata/repomd.xml"), repomd);
    if old != new {
        std::fs::remove_file(old).expect("rm old");
    }
}

#[tokio::test]
async fn built_repository_end_to_end() {
    let dir = TempDir::new().expect("tempdir");
    let repo = dir.path().join("repo");
    let mut specs = specs();
    for rpm in build(&dir.path().join("build"), &specs) {
        std::fs::create_dir_all(&repo).expect("repo");
        std::fs::copy(&rpm, repo.join(rpm.file_name().expect("name"))).expect("copy rpm");
    }
    createrepo(&repo, &["--general-compress-type=xz"]);
    write(&dir.path().join("updateinfo.xml"), UPDATEINFO);
    modifyrepo(&repo, &dir.path().join("updateinfo.xml"), "updateinfo");
    write(&dir.path().join("modules.yaml"), MODULES);
    modifyrepo(&repo, &dir.path().join("modules.yaml"), "modules");

    let server = FileServer::start(dir.path());
    let f = fetcher();
    let baseurl = format!("{}/repo/", server.url());
    let snap = match refresh_yum(&f, &baseurl, &Seen::default(), None, None).await {
        Ok(Refreshed::Changed(s)) => s,
        other => panic!("expected a snapshot, got {other:?}"),
    };
    assert_eq!(nevras(&snap), spec_nevras(&specs));
    assert!(repodata_file(&repo, "primary").to_string_lossy().ends_with(".xml.xz"));
    let e = &snap.errata[..];
    assert_eq!(e.len(), 1);
    assert_eq!(
        (e[0].id.as_str(), &e[0].kind, e[0].severity.as_deref()),
        ("TEST-2024:0001", &ErratumKind::Security, Some("Important"))
    );
    assert_eq!(e[0].cves, ["CVE-2024-1111", "CVE-2024-2222"]);
    assert_eq!(e[0].issued_ms, Some(1_714_557_600_000));
    let nginx = snap.packages.iter().find(|p| p.name == "nginx").expect("nginx built");
    assert_eq!(e[0].packages, std::slice::from_ref(nginx));
    assert_eq!(snap.modules.len(), 1);
    let m = &snap.modules[0];
    assert_eq!(
        (m.name.as_str(), m.stream.as_str(), m.context.as_str(), m.arch.as_str()),
        ("nginx", "1.20", "9edba152", "x86_64")
    );
    assert_eq!(m.artifacts, std::slice::from_ref(nginx));
    assert_eq!(snap.module_defaults, [("nginx".to_owned(), "1.20".to_owned())]);

    // Unchanged: one conditional request for repomd.xml, answered 304.
    server.clear_log();
    let seen = Seen::after(&Refreshed::Changed(snap.clone()), &Seen::default());
    assert!(matches!(refresh_yum(&f, &baseurl, &seen, None, None).await, Ok(Refreshed::Unchanged { .. })));
    let log = server.log();
    assert_eq!(
        log.iter().map(|h| (h.path.as_str(), h.status)).collect::<Vec<_>>(),
        [("/repo/repodata/repomd.xml", 304)]
    );

    // createrepo_c --update with a new package: changed, the new package is there.
    specs.push(RpmSpec::new("extra-pkg", "0.1-1", "noarch"));
    for rpm in build(&dir.path().join("build"), &specs[3..]) {
        std::fs::copy(&rpm, repo.join(rpm.file_name().expect("name"))).expect("copy rpm");
    }
    createrepo(&repo, &["--update", "--keep-all-metadata"]);
    let snap = match refresh_yum(&f, &baseurl, &seen, None, None).await {
        Ok(Refreshed::Changed(s)) => s,
        other => panic!("expected a new snapshot, got {other:?}"),
    };
    assert_eq!(nevras(&snap), spec_nevras(&specs));
    assert_eq!(snap.errata.len(), 1, "updateinfo kept by --keep-all-metadata");

    // The same primary as zstd (createrepo_c here cannot write zstd; dnf5-era repos do).
    let primary = repodata_file(&repo, "primary");
    let zst = repo.join("repodata/primary.xml.zst");
    let tool = if primary.to_string_lossy().ends_with(".xz") { "xz" } else { "gzip" };
    let xml = run(Command::new(tool).arg("-dc").arg(&primary)).stdout;
    write(&dir.path().join("primary.xml"), &xml);
    require_tool("zstd");
    run(Command::new("zstd").args(["-q", "-f", "-19"]).arg(dir.path().join("primary.xml")).arg("-o").arg(&zst));
    swap_repomd_entry(&repo, "primary", &zst);
    let snap = match refresh_yum(&f, &baseurl, &Seen::default(), None, None).await {
        Ok(Refreshed::Changed(s)) => s,
        other => panic!("expected a snapshot from the zstd primary, got {other:?}"),
    };
    assert_eq!(nevras(&snap), spec_nevras(&specs));
    assert_eq!(server.hits("/repo/repodata/primary.xml.zst"), 1);

    // Tampered primary: one byte changed after repomd was written.
    let mut bytes = std::fs::read(&zst).expect("zst");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&zst, &bytes).expect("tamper");
    let err = refresh_yum(&f, &baseurl, &Seen::default(), None, None).await.unwrap_err();
    assert!(matches!(err, RepoError::ChecksumMismatch { .. } | RepoError::Decompress { .. }), "{err}");

    // An XML bomb in primary, with a repomd that vouches for it.
    let bomb = dir.path().join("repo/repodata/bomb-primary.xml.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(BOMB.as_bytes()).expect("gzip");
    write(&bomb, gz.finish().expect("gzip"));
    swap_repomd_entry(&repo, "primary", &bomb);
    let err = refresh_yum(&f, &baseurl, &Seen::default(), None, None).await.unwrap_err();
    assert!(matches!(err, RepoError::Xml { .. }) && err.to_string().contains("DOCTYPE"), "{err}");
}

const BOMB: &str = r#"<?xml version="1.0"?>
<!DOCTYPE metadata [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<metadata xmlns="http://linux.duke.edu/metadata/common" packages="1">
<package type="rpm"><name>&lol9;</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/></package>
</metadata>
"#;

#[tokio::test]
async fn synthetic_primary_of_30000_packages() {
    let dir = TempDir::new().expect("tempdir");
    let n = 30_000;
    let mut xml = String::with_capacity(n * 900);
    xml.push_str(&format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata xmlns=\"http://linux.duke.edu/metadata/common\" \
xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"{n}\">\n"
    ));
    for i in 0..n {
        xml.push_str(&format!(
            "<package type=\"rpm\">\n  <name>pkg-{i}-lib</name>\n  <arch>x86_64</arch>\n  <version epoch=\"{}\" ver=\"1.{i}.0\" rel=\"1.el9\"/>\n\
  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>\n  <summary>Synthetic package {i} &amp; friends</summary>\n\
  <description>A synthetic package for the parser benchmark.</description>\n  <packager>Test</packager>\n  <url>https://example.invalid/</url>\n\
  <time file=\"1714557600\" build=\"1714557600\"/>\n  <size package=\"1234\" installed=\"4321\" archive=\"5000\"/>\n\
  <location href=\"Packages/p/pkg-{i}-lib-1.{i}.0-1.el9.x86_64.rpm\"/>\n  <format>\n    <rpm:license>MIT</rpm:license>\n\
    <rpm:provides><rpm:entry name=\"pkg-{i}-lib\" flags=\"EQ\" epoch=\"0\" ver=\"1.{i}.0\" rel=\"1.el9\"/>\
<rpm:entry name=\"libpkg{i}.so.1()(64bit)\"/></rpm:provides>\n    <rpm:requires><rpm:entry name=\"libc.so.6()(64bit)\"/></rpm:requires>\n\
    <file>/usr/lib64/libpkg{i}.so.1</file>\n  </format>\n</package>\n",
            i % 3,
            sha256_hex(format!("{i}").as_bytes())
        ));
    }
    xml.push_str("</metadata>\n");
    let plain_len = xml.len();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(xml.as_bytes()).expect("gzip");
    drop(xml);
    let gz = gz.finish().expect("gzip");
    let sum = sha256_hex(&gz);
    write(&dir.path().join("repodata/synthetic-primary.xml.gz"), &gz);
    let repomd = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\">\n<revision>1</revision>\n\
<data type=\"primary\"><checksum type=\"sha256\">{sum}</checksum><location href=\"repodata/synthetic-primary.xml.gz\"/>\
<size>{}</size><open-size>{plain_len}</open-size></data>\n</repomd>\n",
        gz.len()
    );
    write(&dir.path().join("repodata/repomd.xml"), repomd);
    let server = FileServer::start(dir.path());
    let started = Instant::now();
    let snap = match refresh_yum(&fetcher(), &server.url(), &Seen::default(), None, None).await {
        Ok(Refreshed::Changed(s)) => s,
        other => panic!("expected a snapshot, got {other:?}"),
    };
    let took = started.elapsed();
    assert_eq!(snap.packages.len(), n);
    assert_eq!(snap.packages[4].name, "pkg-4-lib");
    assert_eq!(snap.packages[4].evr(), "1:1.4.0-1.el9");
    println!(
        "synthetic primary: {n} packages ({} MiB xml, {} KiB gz) fetched, verified and parsed in {took:?}",
        plain_len >> 20,
        gz.len() >> 10
    );
}
