//! The rpm collector against databases the real rpm tools made: tiny packages built with
//! rpmbuild and recorded with `rpm -i --justdb` into a fresh root. rpm and rpmbuild must be
//! installed (.ci/setup installs them); without them these tests fail, they never skip.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use libreport::collect::rpmdb::{self, RpmDb};
use libreport::collect::{CollectOptions, collect};
use libreport::model::{Package, PackageKind};
use patchman_testkit::rpm::{RpmSpec, build, install_justdb};

const DBPATH: &str = "/var/lib/rpm";

/// Runs a tool and returns its stdout; panics with a clear message when it is missing or fails.
#[track_caller]
fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).env("LC_ALL", "C").output().unwrap_or_else(|e| {
        panic!("cannot run {program}: {e}. The rpm collector tests need rpm and rpmbuild: run .ci/setup (Debian: apt-get install rpm)")
    });
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A root whose rpm database holds the test packages. Kept alive by the returned TempDir.
fn fixture_root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let specs = [
        RpmSpec::new("patchman-hello", "1.1-1", "noarch"),
        RpmSpec::new("patchman-epoch", "3:2.0~rc1-4.el9", "noarch"),
        RpmSpec::new("kernel-core", "5.14.0-362.8.1.el9_3", "x86_64"),
        RpmSpec::new("kernel-core", "5.14.0-427.13.1.el9_4", "x86_64"),
    ];
    install_justdb(&root, &build(&dir.path().join("rpmbuild"), &specs));
    (dir, root)
}

type Nevra = (String, u32, String, String, String);

fn nevras(packages: &[Package]) -> Vec<Nevra> {
    let mut v: Vec<Nevra> = packages
        .iter()
        .map(|p| (p.name.clone(), p.epoch, p.version.clone(), p.release.clone(), p.arch.clone()))
        .collect();
    v.sort();
    v
}

/// What rpm itself lists for the root.
fn rpm_qa(root: &Path) -> Vec<Nevra> {
    let out = run("rpm", &["--root", root.to_str().unwrap(), "--dbpath", DBPATH, "-qa", "--qf", rpmdb::QUERY_FORMAT]);
    let mut v: Vec<Nevra> = out
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            (f[0].to_owned(), f[1].parse().unwrap(), f[2].to_owned(), f[3].to_owned(), f[4].to_owned())
        })
        .collect();
    v.sort();
    v
}

#[test]
fn sqlite_reader_returns_exactly_what_rpm_lists() {
    let (_dir, root) = fixture_root();
    assert_eq!(rpmdb::find_rpmdb(&root), Some(RpmDb::Sqlite(root.join("var/lib/rpm/rpmdb.sqlite"))));
    let got = rpmdb::read_rpmdb(&root).unwrap().expect("an rpm database");
    assert!(got.iter().all(|p| p.kind == PackageKind::Rpm && p.source_name.is_empty()));
    let got = nevras(&got);
    assert_eq!(got, rpm_qa(&root));
    let want: Vec<Nevra> = [
        ("kernel-core", 0, "5.14.0", "362.8.1.el9_3", "x86_64"),
        ("kernel-core", 0, "5.14.0", "427.13.1.el9_4", "x86_64"),
        ("patchman-epoch", 3, "2.0~rc1", "4.el9", "noarch"),
        ("patchman-hello", 0, "1.1", "1", "noarch"),
    ]
    .map(|(n, e, v, r, a)| (n.to_owned(), e, v.to_owned(), r.to_owned(), a.to_owned()))
    .to_vec();
    assert_eq!(got, want);
}

#[test]
fn the_rpm_qa_fallback_agrees_with_the_sqlite_reader() {
    let (_dir, root) = fixture_root();
    let via_rpm = rpmdb::query_rpm(&root, DBPATH).unwrap();
    let direct = rpmdb::read_sqlite_rpmdb(&root.join("var/lib/rpm/rpmdb.sqlite")).unwrap();
    assert_eq!(nevras(&via_rpm), nevras(&direct));
    assert_eq!(via_rpm.len(), 4);
}

#[test]
fn the_sqlite_reader_needs_no_side_files_and_writes_none() {
    let (_dir, root) = fixture_root();
    let db = root.join("var/lib/rpm");
    for side in ["rpmdb.sqlite-shm", "rpmdb.sqlite-wal"] {
        let _ = fs::remove_file(db.join(side));
    }
    let before: Vec<_> = fs::read_dir(&db).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(rpmdb::read_sqlite_rpmdb(&db.join("rpmdb.sqlite")).unwrap().len(), 4);
    let after: Vec<_> = fs::read_dir(&db).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before.len(), after.len(), "reading created files: {after:?}");
}

#[test]
fn a_corrupt_database_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("var/lib/rpm")).unwrap();
    fs::write(dir.path().join("var/lib/rpm/rpmdb.sqlite"), b"this is not sqlite at all, not even close......").unwrap();
    let err = rpmdb::read_rpmdb(dir.path()).unwrap_err();
    assert!(err.to_string().contains("rpmdb.sqlite"), "{err}");
}

fn options(root: &Path, kernel: &str) -> CollectOptions {
    CollectOptions {
        root: root.to_owned(),
        hostname: Some("RPMHost.Example".into()),
        kernel: Some(kernel.into()),
        arch: Some("x86_64".into()),
    }
}

#[test]
fn collect_on_an_rpm_root_reports_repos_modules_and_the_kernel_reboot() {
    let (_dir, root) = fixture_root();
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    fs::create_dir_all(root.join("etc/yum.repos.d")).unwrap();
    fs::create_dir_all(root.join("etc/dnf/modules.d")).unwrap();
    fs::copy(testdata.join("os-release/rocky-9.4"), root.join("etc/os-release")).unwrap();
    fs::create_dir_all(root.join("etc/dnf/vars")).unwrap();
    for f in ["etc/yum.repos.d/rocky.repo", "etc/dnf/vars/contentdir", "etc/dnf/vars/rltype"] {
        fs::copy(testdata.join("yum").join(f), root.join(f)).unwrap();
    }
    fs::write(
        root.join("etc/dnf/modules.d/nodejs.module"),
        "[nodejs]\nname=nodejs\nstream=20\nprofiles=\nstate=enabled\n",
    )
    .unwrap();
    fs::write(root.join("etc/machine-id"), "4c4c4544004d3910804ab4c04f4e4b33\n").unwrap();

    let state = collect(&options(&root, "5.14.0-362.8.1.el9_3.x86_64")).unwrap();
    assert_eq!(
        (state.hostname.as_str(), state.machine_id.as_str()),
        ("rpmhost.example", "4c4c4544004d3910804ab4c04f4e4b33")
    );
    assert_eq!(
        (state.os.id.as_str(), state.kernel.as_str(), state.arch.as_str()),
        ("rocky", "5.14.0-362.8.1.el9_3.x86_64", "x86_64")
    );
    let names: Vec<(&str, &str)> = state.packages.iter().map(|p| (p.name.as_str(), p.release.as_str())).collect();
    assert_eq!(
        names,
        [
            ("kernel-core", "362.8.1.el9_3"),
            ("kernel-core", "427.13.1.el9_4"),
            ("patchman-epoch", "4.el9"),
            ("patchman-hello", "1")
        ]
    );
    let repo_ids: Vec<&str> = state.repos.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(repo_ids, ["baseos", "appstream"]);
    assert_eq!(state.repos[0].urls[0].url, "https://mirrors.rockylinux.org/mirrorlist?arch=x86_64&repo=BaseOS-9");
    assert_eq!(state.modules.len(), 1);
    assert!(state.reboot.required);
    assert_eq!(
        state.reboot.reason,
        "running kernel 5.14.0-362.8.1.el9_3 is older than installed 5.14.0-427.13.1.el9_4"
    );

    let current = collect(&options(&root, "5.14.0-427.13.1.el9_4.x86_64")).unwrap();
    assert!(!current.reboot.required, "{:?}", current.reboot);
    // A kernel of a flavour with no installed package never claims a reboot.
    let rt = collect(&options(&root, "5.14.0-284.11.1.el9_2.x86_64+rt")).unwrap();
    assert!(!rt.reboot.required, "{:?}", rt.reboot);
}
