//! apt with real Debian data: this machine's bookworm lists served on loopback, verified with
//! the Debian archive keyring.

use std::path::Path;
use std::time::Instant;

use tempfile::TempDir;

use super::fixtures::{apt_list, apt_packages, debian_keyring, fetcher, fetcher_with, xz};
use crate::repos::{AptMirror, Keyring, Refreshed, RepoError, Seen, Snapshot, refresh_apt};
use patchman_testkit::http::FileServer;

const UPDATES: &str = "dists/bookworm-updates";
const PACKAGES: &str = "dists/bookworm-updates/main/binary-amd64/Packages";

/// A mirror of bookworm-updates: the real InRelease, the real Packages and a recompressed .xz.
fn updates_mirror() -> (TempDir, Vec<u8>) {
    let dir = TempDir::new().expect("tempdir");
    let plain = apt_packages("_dists_bookworm-updates_main_binary-amd64_Packages");
    let inrelease = std::fs::read(apt_list("debian_dists_bookworm-updates_InRelease")).expect("InRelease");
    patchman_testkit::write(&dir.path().join(UPDATES).join("InRelease"), inrelease);
    patchman_testkit::write(&dir.path().join(PACKAGES), &plain);
    xz(&dir.path().join(PACKAGES), "-6");
    (dir, plain)
}

fn mirror(server: &FileServer, suite: &str) -> AptMirror {
    AptMirror::parse(&format!("{}/debian/dists/{suite}/main/binary-amd64", server.url())).expect("mirror url")
}

fn serve(dir: &Path) -> FileServer {
    // The archive lives under /debian on the server, as on deb.debian.org.
    let root = dir.join("root");
    if !root.exists() {
        std::fs::create_dir_all(&root).expect("root");
        std::os::unix::fs::symlink(dir, root.join("debian")).expect("symlink");
    }
    FileServer::start(&root)
}

fn changed(r: Refreshed) -> Box<Snapshot> {
    match r {
        Refreshed::Changed(s) => s,
        Refreshed::Unchanged { .. } => panic!("expected a changed snapshot"),
    }
}

/// (name, version) of every stanza, read naively: an independent check of the parser.
fn naive_stanzas(plain: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(plain);
    let mut out = Vec::new();
    for stanza in text.split("\n\n").filter(|s| !s.trim().is_empty()) {
        let field = |name: &str| stanza.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_owned());
        out.push((field("Package:").expect("Package"), field("Version:").expect("Version")));
    }
    out
}

#[tokio::test]
async fn bookworm_updates_verifies_parses_and_is_then_unchanged() {
    let (dir, plain) = updates_mirror();
    let server = serve(dir.path());
    let f = fetcher();
    let keyring = debian_keyring();
    let m = mirror(&server, "bookworm-updates");

    let snap = changed(refresh_apt(&f, &m, &Seen::default(), Some(&keyring), None).await.expect("first refresh"));
    let expected = naive_stanzas(&plain);
    assert_eq!(snap.packages.len(), expected.len());
    assert!(!expected.is_empty(), "bookworm-updates has packages");
    for (p, (name, version)) in snap.packages.iter().zip(&expected) {
        assert_eq!((&p.name, &p.evr()), (name, version));
    }
    let apt = snap.apt.as_ref().expect("release");
    assert_eq!(apt.codename.as_deref(), Some("bookworm-updates"));
    assert!(apt.signed && !apt.security);
    assert!(apt.signed_by.iter().all(|f| keyring.fingerprints().contains(f)), "{:?}", apt.signed_by);
    let now = crate::clock::now_ms();
    assert_eq!(snap.valid_until_passed, apt.valid_until_ms.is_some_and(|v| v < now));
    assert_eq!(server.hits("/debian/dists/bookworm-updates/main/binary-amd64/Packages.xz"), 1);

    // Second time: one conditional request, answered 304, nothing else.
    server.clear_log();
    let seen = Seen::after(&Refreshed::Changed(snap.clone()), &Seen::default());
    let again = refresh_apt(&f, &m, &seen, Some(&keyring), None).await.expect("second refresh");
    assert!(matches!(again, Refreshed::Unchanged { .. }), "{again:?}");
    let log = server.log();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!((log[0].path.as_str(), log[0].status), ("/debian/dists/bookworm-updates/InRelease", 304));

    // Without validators, the InRelease's checksum alone says "unchanged".
    server.clear_log();
    let by_sum = Seen { checksum: Some(snap.checksum.clone()), ..Seen::default() };
    assert!(matches!(refresh_apt(&f, &m, &by_sum, Some(&keyring), None).await, Ok(Refreshed::Unchanged { .. })));
    assert_eq!(server.log().len(), 1);
}

#[tokio::test]
async fn bookworm_main_big_parse() {
    let dir = TempDir::new().expect("tempdir");
    let plain = apt_packages("debian_dists_bookworm_main_binary-amd64_Packages");
    let inrelease = std::fs::read(apt_list("debian_dists_bookworm_InRelease")).expect("InRelease");
    let main = dir.path().join("dists/bookworm/main/binary-amd64/Packages");
    patchman_testkit::write(&dir.path().join("dists/bookworm/InRelease"), inrelease);
    patchman_testkit::write(&main, &plain);
    xz(&main, "-2");
    std::fs::remove_file(&main).expect("serve the .xz only");
    let stanzas = plain.split(|&b| b == b'\n').filter(|l| l.starts_with(b"Package:")).count();
    drop(plain);
    let server = serve(dir.path());
    let f = fetcher();
    let keyring = debian_keyring();
    let rss_before = vm_kib("VmRSS:");
    let _ = std::fs::write("/proc/self/clear_refs", "5"); // resets VmHWM to the current RSS
    let started = Instant::now();
    let snap = changed(
        refresh_apt(&f, &mirror(&server, "bookworm"), &Seen::default(), Some(&keyring), None).await.expect("refresh"),
    );
    let took = started.elapsed();
    assert_eq!(snap.packages.len(), stanzas);
    assert!(snap.apt.as_ref().is_some_and(|a| a.signed && a.signed_by.len() >= 2), "{:?}", snap.apt);
    println!(
        "bookworm main: {} packages fetched, verified and parsed from Packages.xz in {took:?}; \
peak RSS during the refresh {} MiB (RSS before {} MiB; other tests running in parallel count too)",
        snap.packages.len(),
        vm_kib("VmHWM:") / 1024,
        rss_before / 1024
    );
}

/// A `/proc/self/status` figure in KiB ("VmHWM:", "VmRSS:").
pub fn vm_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn tampered_packages_fail_the_mirror() {
    let (dir, plain) = updates_mirror();
    let server = serve(dir.path());
    let (f, k) = (fetcher(), debian_keyring());
    let m = mirror(&server, "bookworm-updates");
    // One byte changed in the plain file, served compressed: the decompressed hash catches it.
    let mut bad = plain.clone();
    let at = bad.windows(9).position(|w| w == b"Version: ").expect("a Version") + 9;
    bad[at] = if bad[at] == b'9' { b'8' } else { b'9' };
    let path = dir.path().join(PACKAGES);
    patchman_testkit::write(&path, &bad);
    xz(&path, "-6");
    let err = refresh_apt(&f, &m, &Seen::default(), Some(&k), None).await.unwrap_err();
    assert!(matches!(err, RepoError::ChecksumMismatch { .. }), "{err}");
    assert!(err.to_string().contains("Packages.xz"), "{err}");

    // A truncated .xz.
    let xz_path = dir.path().join(format!("{PACKAGES}.xz"));
    let full = std::fs::read(&xz_path).expect("xz");
    std::fs::write(&xz_path, &full[..full.len() / 2]).expect("truncate");
    let err = refresh_apt(&f, &m, &Seen::default(), Some(&k), None).await.unwrap_err();
    assert!(matches!(err, RepoError::Decompress { .. }), "{err}");

    // Only the plain file, larger than the limit.
    std::fs::remove_file(&xz_path).expect("rm xz");
    patchman_testkit::write(&path, &plain);
    let small = fetcher_with(|c| c.max_bytes = 4096);
    let err = refresh_apt(&small, &m, &Seen::default(), Some(&k), None).await.unwrap_err();
    assert!(matches!(err, RepoError::TooLarge { limit: 4096, .. }), "{err}");
    // ... and the plain file as served is fine otherwise.
    assert!(refresh_apt(&f, &m, &Seen::default(), Some(&k), None).await.is_ok());
}

#[tokio::test]
async fn tampered_or_swapped_releases_fail_the_mirror() {
    let (dir, _) = updates_mirror();
    let server = serve(dir.path());
    let (f, k) = (fetcher(), debian_keyring());
    let m = mirror(&server, "bookworm-updates");
    let inrelease = dir.path().join(UPDATES).join("InRelease");
    let original = std::fs::read_to_string(&inrelease).expect("InRelease");

    // The signed body edited: a package index's hash changed.
    let edited = original.replacen("Packages.xz", "Packages.gz", 1);
    assert_ne!(edited, original);
    std::fs::write(&inrelease, &edited).expect("edit");
    let err = refresh_apt(&f, &m, &Seen::default(), Some(&k), None).await.unwrap_err();
    assert!(matches!(err, RepoError::BadSignature { .. }), "{err}");

    // A text appended after the signature is refused, not parsed.
    std::fs::write(&inrelease, format!("{original}\nSHA256:\n {} 1 main/binary-amd64/Packages\n", "0".repeat(64)))
        .expect("append");
    assert!(refresh_apt(&f, &m, &Seen::default(), Some(&k), None).await.is_err());

    // Another suite's (validly signed) Release in its place.
    let other = std::fs::read(apt_list("debian_dists_bookworm_InRelease")).expect("bookworm InRelease");
    std::fs::write(&inrelease, other).expect("swap");
    let err = refresh_apt(&f, &m, &Seen::default(), Some(&k), None).await.unwrap_err();
    assert!(matches!(err, RepoError::SuiteMismatch { .. }), "{err}");
    assert!(err.to_string().contains("expected \"bookworm-updates\""), "{err}");
}

#[test]
fn real_inreleases_verify_per_algorithm_and_keyring_format() {
    let gnupg = TempDir::new().expect("tempdir");
    let export = |fpr: &str| -> Keyring {
        let out = patchman_testkit::run(std::process::Command::new("gpg").arg("--homedir").arg(gnupg.path()).args([
            "--batch",
            "--no-default-keyring",
            "--keyring",
            super::fixtures::DEBIAN_KEYRING,
            "--export",
            fpr,
        ]));
        Keyring::from_bytes(fpr, &out.stdout).expect("exported key")
    };
    let main = std::fs::read_to_string(apt_list("debian_dists_bookworm_InRelease")).expect("InRelease");
    // EdDSA: the Debian stable release key (12/bookworm) signs the bookworm InRelease.
    let ed25519 = "4D64FEC119C2029067D6E791F8D2585B8783D481";
    let (_, by) = export(ed25519).verify_cleartext("bookworm", &main).expect("ed25519 signature");
    assert_eq!(by, [ed25519]);
    // RSA: the archive automatic signing key (12/bookworm) signs with an RSA subkey.
    let rsa = export("4CB50190207B4758A3F73A796ED0E7B82643E131");
    let (text, by) = rsa.verify_cleartext("bookworm", &main).expect("rsa subkey signature");
    assert_eq!(by, rsa.fingerprints());
    assert!(text.starts_with("Origin: Debian\n") && !text.contains("BEGIN PGP"));
    // ASCII-armored keyring files, as in /etc/apt/trusted.gpg.d.
    let asc = Path::new("/etc/apt/trusted.gpg.d/debian-archive-bookworm-automatic.asc");
    let armored = Keyring::from_files(&[asc]).expect("armored keyring");
    armored.verify_cleartext("bookworm", &main).expect("verified with the .asc key");
    _ = std::process::Command::new("gpgconf").arg("--homedir").arg(gnupg.path()).args(["--kill", "all"]).status();
}
