//! Real rpm packages built with `rpmbuild`, installed into fixture roots with `rpm --justdb`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{require_tool, run, write};

/// An empty package: enough for package databases and repository metadata.
#[derive(Debug, Clone)]
pub struct RpmSpec {
    pub name: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    /// `noarch`, `x86_64`, `i686`, `aarch64`...
    pub arch: String,
    /// `Provides:` lines, e.g. `system-release(releasever) = 9`.
    pub provides: Vec<String>,
}

impl RpmSpec {
    pub fn new(name: &str, evr: &str, arch: &str) -> Self {
        let (epoch, rest) = match evr.split_once(':') {
            Some((e, rest)) => (e.parse().expect("numeric epoch"), rest),
            None => (0, evr),
        };
        let (version, release) = rest.rsplit_once('-').expect("version-release");
        Self {
            name: name.to_owned(),
            epoch,
            version: version.to_owned(),
            release: release.to_owned(),
            arch: arch.to_owned(),
            provides: Vec::new(),
        }
    }

    fn spec(&self) -> String {
        let mut s = String::new();
        writeln!(s, "Name: {}", self.name).unwrap();
        if self.epoch != 0 {
            writeln!(s, "Epoch: {}", self.epoch).unwrap();
        }
        writeln!(
            s,
            "Version: {}\nRelease: {}\nSummary: {} for tests\nLicense: MIT",
            self.version, self.release, self.name
        )
        .unwrap();
        if self.arch == "noarch" {
            writeln!(s, "BuildArch: noarch").unwrap();
        }
        for p in &self.provides {
            writeln!(s, "Provides: {p}").unwrap();
        }
        s.push_str("%description\nAn empty package built by the patchman tests.\n%files\n");
        s
    }
}

/// Builds each package into `topdir/RPMS/<arch>/` and returns the paths of the .rpm files.
pub fn build(topdir: &Path, specs: &[RpmSpec]) -> Vec<PathBuf> {
    require_tool("rpmbuild");
    specs
        .iter()
        .map(|spec| {
            let spec_path = topdir
                .join("SPECS")
                .join(format!("{}-{}-{}.{}.spec", spec.name, spec.version, spec.release, spec.arch));
            write(&spec_path, spec.spec());
            let mut cmd = Command::new("rpmbuild");
            cmd.arg("--define").arg(format!("_topdir {}", topdir.display()));
            cmd.args(["--define", "_build_id_links none", "--define", "__os_install_post %{nil}", "--quiet", "-bb"]);
            if spec.arch != "noarch" {
                cmd.args(["--target", &spec.arch]);
            }
            run(cmd.arg(&spec_path));
            let epochless = format!("{}-{}-{}.{}.rpm", spec.name, spec.version, spec.release, spec.arch);
            let path = topdir.join("RPMS").join(&spec.arch).join(epochless);
            assert!(path.is_file(), "rpmbuild did not produce {}", path.display());
            path
        })
        .collect()
}

/// Creates `<root>/var/lib/rpm/rpmdb.sqlite` holding exactly these packages, as an installed
/// RHEL-like host has it.
pub fn install_justdb(root: &Path, rpms: &[PathBuf]) {
    require_tool("rpm");
    let dbpath = ["--root", root.to_str().expect("UTF-8 path"), "--dbpath", "/var/lib/rpm"];
    run(Command::new("rpm").args(dbpath).arg("--initdb"));
    run(Command::new("rpm")
        .args(dbpath)
        .args(["-i", "--justdb", "--nodeps", "--noscripts", "--ignorearch", "--ignoreos"])
        .args(rpms));
    assert!(root.join("var/lib/rpm/rpmdb.sqlite").is_file(), "rpm did not create an sqlite rpmdb");
}

/// What `rpm -qa` says is installed under `root`, as sorted "name epoch version release arch".
pub fn query_installed(root: &Path) -> Vec<String> {
    let out = run(Command::new("rpm").args([
        "--root",
        root.to_str().expect("UTF-8 path"),
        "--dbpath",
        "/var/lib/rpm",
        "-qa",
        "--qf",
        "%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %{ARCH}\n",
    ]));
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
    lines.sort();
    lines
}
