//! apt repositories built with dpkg-deb and apt-ftparchive, signed with a throwaway key.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::fixtures::{GpgKey, KeyringOf as _, build_debs, debian_keyring, fetcher, scan_packages, write_release};
use crate::repos::{AptMirror, Refreshed, RepoError, Seen, Snapshot, refresh_apt};
use patchman_testkit::http::FileServer;

const DEBS: &[(&str, &str, &str)] =
    &[("hello-tiny", "1.0-1", "amd64"), ("lib-foo-data", "2:3.4.5~rc1-0+deb12u1", "all"), ("bar", "7", "amd64")];

struct Repo {
    dir: TempDir,
    key: GpgKey,
}

impl Repo {
    /// `dists/stable/main/binary-amd64/Packages{,.xz,.gz}`, Release, InRelease and Release.gpg.
    fn build() -> Self {
        let dir = TempDir::new().expect("tempdir");
        build_debs(dir.path(), DEBS);
        scan_packages(dir.path(), &dir.path().join("dists/stable/main/binary-amd64"));
        let key = GpgKey::generate(dir.path(), "ed25519");
        let repo = Repo { dir, key };
        repo.sign();
        repo
    }

    fn dists(&self) -> PathBuf {
        self.dir.path().join("dists/stable")
    }

    fn sign(&self) {
        write_release(&self.dists(), Some("stable"));
        self.key.clearsign(&self.dists().join("Release"), &self.dists().join("InRelease"));
        self.key.detach_sign(&self.dists().join("Release"), &self.dists().join("Release.gpg"));
    }

    fn mirror(&self, server: &FileServer) -> AptMirror {
        AptMirror::parse(&format!("{}/dists/stable/main/binary-amd64/", server.url())).expect("url")
    }
}

fn changed(r: Result<Refreshed, RepoError>) -> Box<Snapshot> {
    match r {
        Ok(Refreshed::Changed(s)) => s,
        other => panic!("expected a changed snapshot, got {other:?}"),
    }
}

fn nevras(s: &Snapshot) -> Vec<String> {
    let mut v: Vec<String> = s.packages.iter().map(|p| format!("{} {} {}", p.name, p.evr(), p.arch)).collect();
    v.sort();
    v
}

fn built() -> Vec<String> {
    let mut v: Vec<String> = DEBS.iter().map(|(n, v, a)| format!("{n} {v} {a}")).collect();
    v.sort();
    v
}

#[tokio::test]
async fn signed_inrelease_and_detached_release_gpg() {
    let repo = Repo::build();
    let server = FileServer::start(repo.dir.path());
    let f = fetcher();
    let keyring = repo.key.keyring();
    let m = repo.mirror(&server);

    let snap = changed(refresh_apt(&f, &m, &Seen::default(), Some(&keyring), None).await);
    assert_eq!(nevras(&snap), built());
    let apt = snap.apt.as_ref().expect("release");
    assert_eq!(apt.signed_by, std::slice::from_ref(&repo.key.fingerprint));
    assert_eq!((apt.suite.as_deref(), apt.origin.as_deref()), (Some("stable"), Some("patchman-tests")));
    let p = snap.packages.iter().position(|p| p.name == "lib-foo-data").expect("lib-foo-data");
    assert_eq!(
        (snap.packages[p].epoch, snap.packages[p].version.as_str(), snap.packages[p].release.as_str()),
        (2, "3.4.5~rc1", "0+deb12u1")
    );
    assert_eq!(snap.deb_sources[p].as_ref().map(|s| s.name.as_str()), Some("lib-foo-data-src"));
    assert_eq!(server.hits("/dists/stable/main/binary-amd64/Packages.xz"), 1);

    // No InRelease: Release + Release.gpg.
    std::fs::remove_file(repo.dists().join("InRelease")).expect("rm InRelease");
    server.clear_log();
    let snap = changed(refresh_apt(&f, &m, &Seen::default(), Some(&keyring), None).await);
    assert_eq!(nevras(&snap), built());
    let paths: Vec<_> = server.log().into_iter().map(|h| (h.path, h.status)).collect();
    assert_eq!(
        paths[..3],
        [
            ("/dists/stable/InRelease".to_owned(), 404),
            ("/dists/stable/Release".to_owned(), 200),
            ("/dists/stable/Release.gpg".to_owned(), 200)
        ]
    );
    // A Release whose detached signature is gone is unsigned: refused with a keyring...
    std::fs::remove_file(repo.dists().join("Release.gpg")).expect("rm Release.gpg");
    let err = refresh_apt(&f, &m, &Seen::default(), Some(&keyring), None).await.unwrap_err();
    assert!(matches!(err, RepoError::Unsigned { .. }), "{err}");
    // ...and taken, marked unverified, without one.
    let snap = changed(refresh_apt(&f, &m, &Seen::default(), None, None).await);
    assert!(snap.apt.as_ref().is_some_and(|a| !a.signed && a.signed_by.is_empty()));
    assert_eq!(nevras(&snap), built());
}

#[tokio::test]
async fn keys_outside_the_keyring_are_refused() {
    let repo = Repo::build();
    let server = FileServer::start(repo.dir.path());
    let err = refresh_apt(&fetcher(), &repo.mirror(&server), &Seen::default(), Some(&debian_keyring()), None)
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::UnknownKey { .. }), "{err}");
    assert!(err.to_string().contains(&repo.key.fingerprint), "{err}");
    // A signature over SHA-1 counts for nothing, even by a trusted key.
    repo.key.clearsign_with(&repo.dists().join("Release"), &repo.dists().join("InRelease"), "SHA1");
    let err = refresh_apt(&fetcher(), &repo.mirror(&server), &Seen::default(), Some(&repo.key.keyring()), None)
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::UnknownKey { .. }) && err.to_string().contains("weak digest SHA1"), "{err}");
    // The detached signature too.
    std::fs::remove_file(repo.dists().join("InRelease")).expect("rm InRelease");
    let err = refresh_apt(&fetcher(), &repo.mirror(&server), &Seen::default(), Some(&debian_keyring()), None)
        .await
        .unwrap_err();
    assert!(matches!(err, RepoError::UnknownKey { .. }), "{err}");
}

#[tokio::test]
async fn stanza_without_version_fails_naming_the_stanza() {
    let repo = Repo::build();
    let bin = repo.dists().join("main/binary-amd64");
    let packages = std::fs::read_to_string(bin.join("Packages")).expect("Packages");
    let broken = packages.replacen("Version: 7\n", "", 1);
    assert_ne!(broken, packages);
    for f in ["Packages.xz", "Packages.gz"] {
        std::fs::remove_file(bin.join(f)).expect("rm");
    }
    patchman_testkit::write(&bin.join("Packages"), broken);
    repo.sign();
    let server = FileServer::start(repo.dir.path());
    let err = refresh_apt(&fetcher(), &repo.mirror(&server), &Seen::default(), Some(&repo.key.keyring()), None)
        .await
        .unwrap_err();
    let stanza = 1 + packages.split("\n\n").position(|s| s.contains("Version: 7\n")).expect("bar's stanza");
    assert!(matches!(err, RepoError::Stanza { stanza: s, .. } if s == stanza as u64), "{err}");
    assert!(err.to_string().contains("package bar: no Version field"), "{err}");
}

#[tokio::test]
async fn flat_repository() {
    let dir = TempDir::new().expect("tempdir");
    build_debs(dir.path(), DEBS);
    scan_packages(dir.path(), dir.path());
    std::fs::remove_file(dir.path().join("Packages.xz")).expect("gz and plain only");
    write_release(dir.path(), None);
    let key = GpgKey::generate(&dir.path().join("key"), "rsa2048");
    key.clearsign(&dir.path().join("Release"), &dir.path().join("InRelease"));
    let server = FileServer::start(dir.path());
    let m = AptMirror::parse(&format!("{}/./", server.url())).expect("flat url");
    assert!(matches!(m, AptMirror::Flat { .. }));
    let snap = changed(refresh_apt(&fetcher(), &m, &Seen::default(), Some(&key.keyring()), None).await);
    assert_eq!(nevras(&snap), built());
    assert_eq!(server.hits("/Packages.gz"), 1);
    assert!(Path::new(&dir.path().join("Packages.gz")).is_file());
}

/// Packages files that grew after the Release was signed (a stanza appended: the first bytes
/// still hash as listed) are refused, from each compression.
#[tokio::test]
async fn packages_grown_after_signing_are_refused() {
    let repo = Repo::build();
    build_debs(repo.dir.path(), &[("hello-tiny", "1.2-1", "amd64")]);
    scan_packages(repo.dir.path(), &repo.dists().join("main/binary-amd64"));
    let server = FileServer::start(repo.dir.path());
    let bin = repo.dists().join("main/binary-amd64");
    for (keep, gone) in [("Packages.xz", None), ("Packages.gz", Some("Packages.xz")), ("Packages", Some("Packages.gz"))]
    {
        if let Some(gone) = gone {
            std::fs::remove_file(bin.join(gone)).expect("rm");
        }
        server.clear_log();
        let err = refresh_apt(&fetcher(), &repo.mirror(&server), &Seen::default(), Some(&repo.key.keyring()), None)
            .await
            .unwrap_err();
        assert!(matches!(err, RepoError::SizeMismatch { .. }), "{keep}: {err}");
        assert_eq!(server.hits(&format!("/dists/stable/main/binary-amd64/{keep}")), 1);
    }
}
