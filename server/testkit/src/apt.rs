//! Test material made at test time: copies of this machine's apt lists, throwaway OpenPGP
//! keys, and deb repositories built with the real tools (dpkg-deb, apt-ftparchive, gpg).
//! Missing tools fail loudly.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{require_tool, run, write};

pub const DEBIAN_KEYRING: &str = "/usr/share/keyrings/debian-archive-keyring.gpg";
const LISTS: &str = "/var/lib/apt/lists";

/// The apt list file whose name ends with `suffix` ("_dists_bookworm-updates_InRelease").
pub fn apt_list(suffix: &str) -> PathBuf {
    let entries = std::fs::read_dir(LISTS).unwrap_or_else(|e| panic!("{LISTS}: {e}: this machine needs apt lists"));
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.contains(suffix)))
        .collect();
    found.sort();
    found.into_iter().next().unwrap_or_else(|| panic!("no {LISTS}/*{suffix}*: run `apt-get update` (bookworm sources)"))
}

/// A Packages list from the apt lists, decompressed by apt itself.
pub fn apt_packages(suffix: &str) -> Vec<u8> {
    let helper = Path::new("/usr/lib/apt/apt-helper");
    assert!(helper.is_file(), "/usr/lib/apt/apt-helper is missing: run `bash .ci/setup`");
    run(Command::new(helper).arg("cat-file").arg(apt_list(suffix))).stdout
}

/// `xz` of a file, next to it.
pub fn xz(path: &Path, level: &str) {
    require_tool("xz");
    run(Command::new("xz").args(["-T2", level, "-k", "-f"]).arg(path));
}

/// A passphrase-less signing key in a GnuPG home of its own; its agent is stopped on drop.
pub struct GpgKey {
    pub home: PathBuf,
    pub fingerprint: String,
    /// The public key, binary, as a keyring file.
    pub public: PathBuf,
}

impl GpgKey {
    pub fn generate(dir: &Path, algo: &str) -> Self {
        require_tool("gpg");
        let home = dir.join("gnupg");
        std::fs::create_dir_all(&home).expect("gnupg home");
        set_private(&home);
        let mut key = GpgKey { home, fingerprint: String::new(), public: dir.join("test-key.gpg") };
        run(key.gpg().args(["--quick-gen-key", "Test <t@example.invalid>", algo, "sign", "never"]));
        let out = run(key.gpg().args(["--with-colons", "--list-keys"]));
        let listing = String::from_utf8_lossy(&out.stdout);
        let fpr = listing.lines().find_map(|l| l.strip_prefix("fpr:")).expect("a fingerprint");
        key.fingerprint = fpr.trim_matches(':').to_owned();
        let exported = run(key.gpg().args(["--export", &key.fingerprint])).stdout;
        write(&key.public, exported);
        key
    }

    pub fn gpg(&self) -> Command {
        let mut c = Command::new("gpg");
        c.arg("--homedir").arg(&self.home).args([
            "--batch",
            "--quiet",
            "--passphrase",
            "",
            "--pinentry-mode",
            "loopback",
        ]);
        c
    }

    /// InRelease from Release.
    pub fn clearsign(&self, input: &Path, output: &Path) {
        self.clearsign_with(input, output, "SHA512");
    }

    pub fn clearsign_with(&self, input: &Path, output: &Path, digest: &str) {
        run(self.gpg().args(["--yes", "--digest-algo", digest, "--clearsign", "-o"]).arg(output).arg(input));
    }

    /// Release.gpg from Release.
    pub fn detach_sign(&self, input: &Path, output: &Path) {
        run(self.gpg().args(["--yes", "-abs", "-o"]).arg(output).arg(input));
    }
}

impl Drop for GpgKey {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf").arg("--homedir").arg(&self.home).args(["--kill", "all"]).status();
    }
}

fn set_private(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).expect("chmod 700");
}

/// A binary package to build: (name, version, architecture).
pub type Deb<'a> = (&'a str, &'a str, &'a str);

/// Builds the .debs with `dpkg-deb --build` into `repo/pool/`.
pub fn build_debs(repo: &Path, debs: &[Deb<'_>]) {
    require_tool("dpkg-deb");
    for (name, version, arch) in debs {
        let src = repo.join("src").join(name);
        let control = format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: Test <t@example.invalid>\n\
Source: {name}-src\nDescription: test package\n built by the patchman tests\n"
        );
        write(&src.join("DEBIAN/control"), control);
        let file = repo.join("pool").join(format!("{name}_{}_{arch}.deb", version.replace(':', "%3a")));
        std::fs::create_dir_all(repo.join("pool")).expect("pool");
        run(Command::new("dpkg-deb").args(["--root-owner-group", "-Zgzip", "--build"]).arg(&src).arg(&file));
    }
    std::fs::remove_dir_all(repo.join("src")).expect("clean sources");
}

/// `apt-ftparchive packages` of `repo/pool` into `dir/Packages` (plus .xz and .gz), paths
/// relative to `repo`.
pub fn scan_packages(repo: &Path, dir: &Path) {
    require_tool("apt-ftparchive");
    let out = run(Command::new("apt-ftparchive").arg("packages").arg("pool").current_dir(repo)).stdout;
    write(&dir.join("Packages"), &out);
    xz(&dir.join("Packages"), "-6");
    run(Command::new("gzip").args(["-9", "-k", "-f", "-n"]).arg(dir.join("Packages")));
}

/// `apt-ftparchive release` of `dir` (written to `dir/Release`), with these fields.
pub fn write_release(dir: &Path, suite: Option<&str>) {
    require_tool("apt-ftparchive");
    let mut cmd = Command::new("apt-ftparchive");
    cmd.args(["-o", "APT::FTPArchive::Release::Origin=patchman-tests"]);
    if let Some(suite) = suite {
        cmd.args(["-o", &format!("APT::FTPArchive::Release::Suite={suite}")]);
        cmd.args(["-o", &format!("APT::FTPArchive::Release::Codename={suite}")]);
        cmd.args([
            "-o",
            "APT::FTPArchive::Release::Components=main",
            "-o",
            "APT::FTPArchive::Release::Architectures=amd64",
        ]);
    }
    let _ = std::fs::remove_file(dir.join("Release"));
    let out = run(cmd.arg("release").arg(".").current_dir(dir)).stdout;
    write(&dir.join("Release"), out);
}
