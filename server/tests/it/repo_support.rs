//! Helpers for tests of repositories through the server: a signed apt repository built with
//! dpkg-deb and apt-ftparchive, Debian host reports pointing at it, and the commands that
//! refresh repositories and show what hosts need.

use std::path::Path;

use patchman_proto as pb;
use patchman_testkit::apt::{GpgKey, build_debs, scan_packages, write_release};
use patchman_testkit::http::FileServer;
use patchman_testkit::server::Server;
use patchman_testkit::write;
use serde_json::Value;
use tempfile::TempDir;

use crate::support::{client, enroll, good_report, host_json, package, settled, submit};

/// A deb repository (`dists/<suite>/main/binary-amd64`) built with dpkg-deb and
/// apt-ftparchive, signed with a throwaway key.
pub struct AptRepo {
    dir: TempDir,
    pub key: GpgKey,
}

impl AptRepo {
    pub fn build(debs: &[(&str, &str, &str)]) -> Self {
        let dir = TempDir::new().unwrap();
        let key = GpgKey::generate(dir.path(), "ed25519");
        let repo = AptRepo { dir, key };
        repo.add(debs);
        repo.sign_with(&repo.key, "patchman-tests");
        repo
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn dists(&self) -> std::path::PathBuf {
        self.root().join("dists/stable")
    }

    /// Adds packages and rewrites the Packages files (the Release is not touched).
    pub fn add(&self, debs: &[(&str, &str, &str)]) {
        build_debs(self.root(), debs);
        scan_packages(self.root(), &self.dists().join("main/binary-amd64"));
    }

    /// A new Release naming `origin`, as InRelease and Release + Release.gpg signed by `key`.
    pub fn sign_with(&self, key: &GpgKey, origin: &str) {
        self.sign_edited(key, |r| r.replace("Origin: patchman-tests", &format!("Origin: {origin}")));
    }

    /// A new Release, edited before it is signed.
    pub fn sign_edited(&self, key: &GpgKey, edit: impl FnOnce(String) -> String) {
        write_release(&self.dists(), Some("stable"));
        let release = std::fs::read_to_string(self.dists().join("Release")).unwrap();
        write(&self.dists().join("Release"), edit(release));
        key.clearsign(&self.dists().join("Release"), &self.dists().join("InRelease"));
        key.detach_sign(&self.dists().join("Release"), &self.dists().join("Release.gpg"));
    }

    pub fn url(server: &FileServer) -> String {
        format!("{}/dists/stable/main/binary-amd64", server.url())
    }
}

/// A Debian host with these packages installed and these apt mirrors of `stable/main`.
pub fn deb_report(hostname: &str, installed: &[(&str, &str, &str)], urls: &[String]) -> pb::Report {
    let mut r = good_report(hostname, &format!("{hostname}-1"));
    r.host.as_mut().unwrap().machine_id = format!("{:0>32x}", xxhash_rust::xxh3::xxh3_64(hostname.as_bytes()));
    r.packages = installed.iter().map(|(n, v, rel)| package(n, v, rel)).collect();
    r.repos = urls
        .iter()
        .map(|url| pb::Repository {
            kind: pb::PackageKind::Deb as i32,
            id: format!("{url} stable/main amd64"),
            name: format!("{url} stable/main amd64"),
            priority: 500,
            urls: vec![pb::RepoUrl { url: url.clone(), kind: pb::UrlKind::Apt as i32 }],
            suite: "stable".into(),
            component: "main".into(),
            architecture: "amd64".into(),
        })
        .collect();
    r
}

pub async fn report(server: &Server, report: pb::Report) {
    let hostname = report.host.as_ref().unwrap().hostname.clone();
    let machine_id = report.host.as_ref().unwrap().machine_id.clone();
    let mut c = client(server).await;
    let token = enroll(&mut c, &hostname, &machine_id).await;
    submit(&mut c, Some(&token), report).await.expect("report accepted");
    settled(server, &hostname).await;
}

pub fn repos(server: &Server) -> Vec<Value> {
    let out: Value = serde_json::from_str(&server.admin(&["repo", "list", "--json"])).unwrap();
    out.as_array().unwrap().clone()
}

/// The one repository there is.
pub fn only_repo(server: &Server) -> Value {
    let all = repos(server);
    assert_eq!(all.len(), 1, "{all:#?}");
    all[0].clone()
}

pub fn mirror<'a>(repo: &'a Value, url: &str) -> &'a Value {
    let mirrors = repo["mirrors"].as_array().unwrap();
    mirrors.iter().find(|m| m["url"] == url).unwrap_or_else(|| panic!("no mirror {url} in {mirrors:#?}"))
}

/// (name, available, security) of each update of the host.
pub fn updates(server: &Server, hostname: &str) -> Vec<(String, String, bool)> {
    let host = host_json(server, hostname);
    assert_eq!(host["updates_current"], true, "{host:#}");
    host["updates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (u["name"].as_str().unwrap().to_owned(), u["available"].as_str().unwrap().to_owned(), u["security"] == true)
        })
        .collect()
}

/// `refresh-repos`: (succeeded, stdout).
pub fn refresh(server: &Server) -> (bool, String) {
    refresh_with(server, &[])
}

pub fn refresh_with(server: &Server, args: &[&str]) -> (bool, String) {
    let out = server.admin_output(&[&["refresh-repos"], args].concat());
    (out.status.success(), String::from_utf8(out.stdout).unwrap())
}

pub fn update(name: &str, version: &str, security: bool) -> (String, String, bool) {
    (name.to_owned(), version.to_owned(), security)
}

pub const HELLO: &[(&str, &str, &str)] =
    &[("hello-tiny", "1.0-1", "amd64"), ("hello-tiny", "1.1-1", "amd64"), ("bar", "7", "amd64")];
pub const INSTALLED: &[(&str, &str, &str)] = &[("hello-tiny", "1.0", "1"), ("bar", "7", "")];

/// One keyring file holding both repositories' keys.
pub fn keyring_of(dir: &Path, keys: &[&GpgKey]) -> String {
    let mut all = Vec::new();
    for k in keys {
        all.extend(std::fs::read(&k.public).unwrap());
    }
    write(&dir.join("both.gpg"), all);
    dir.join("both.gpg").to_str().unwrap().to_owned()
}

/// A server on a fresh PostgreSQL database (`PATCHMAN_TEST_PG_URL`'s server).
pub fn start_on_postgres(name: &str, env: &[(&str, &str)]) -> Server {
    let url = patchman_testkit::pg::fresh_database(name);
    let mut env = env.to_vec();
    env.push(("PATCHMAN_ENROLLMENT_KEY", patchman_testkit::server::ENROLLMENT_KEY));
    let bin = Path::new(env!("CARGO_BIN_EXE_patchman"));
    Server::start_with(bin, TempDir::new().unwrap(), url, &env)
}

/// The stdout of a `refresh-repos` that succeeded.
#[track_caller]
pub fn only_ok((ok, out): (bool, String)) -> String {
    assert!(ok, "refresh-repos failed: {out}");
    out
}
