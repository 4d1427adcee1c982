//! Collectors: read the host's state from files under a root directory.
//!
//! Every collector takes the root (`/` on a real host, a fixture tree in tests) and never
//! runs a package manager, with one exception: the rpm collector falls back to `rpm -qa`
//! where the rpm database is Berkeley DB and cannot be read directly.

pub mod apt_preferences;
pub mod apt_release;
pub mod apt_sources;
mod deb822;
pub mod dnf_modules;
pub mod dpkg_status;
pub mod hostname;
mod ini;
pub mod os_release;
pub mod reboot;
pub mod rpmdb;
pub mod uname;
pub mod yum_repos;

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::model::{HostState, Package, PackageKind};

/// Where to collect from, and what to take as given instead of asking the running kernel.
#[derive(Debug, Clone)]
pub struct CollectOptions {
    /// The root directory of the host's file system.
    pub root: PathBuf,
    /// Use this host name instead of the one the host has.
    pub hostname: Option<String>,
    /// Use this kernel release instead of `uname -r` (fixture trees in tests).
    pub kernel: Option<String>,
    /// Use this machine architecture instead of `uname -m`.
    pub arch: Option<String>,
}

impl CollectOptions {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into(), hostname: None, kernel: None, arch: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("no package database found under {0} (neither dpkg status nor an rpm database)")]
    NoPackageDatabase(PathBuf),
    #[error("{command}: {message}")]
    Command { command: String, message: String },
}

pub type CollectResult<T> = Result<T, CollectError>;

/// Collects the whole host state: names, OS, kernel, packages, repositories, modules, reboot.
///
/// A host with a dpkg status file listing installed packages is a Debian-family host (apt
/// repositories); otherwise the rpm database decides (yum/dnf repositories and modules).
pub fn collect(opts: &CollectOptions) -> CollectResult<HostState> {
    let root = opts.root.as_path();
    let running = uname::uname();
    let kernel = opts.kernel.clone().unwrap_or(running.release);
    let arch = opts.arch.clone().unwrap_or(running.machine);
    let hostname = hostname::hostname(root, opts.hostname.as_deref(), &running.nodename)?;
    let machine_id = hostname::machine_id(root)?;
    let os = os_release::read_os_release(root)?;
    let (mut packages, kind) = read_packages(root)?;
    let (repos, modules) = match kind {
        PackageKind::Deb => (apt_sources::read_apt_repos(root, &arch)?, Vec::new()),
        PackageKind::Rpm => (yum_repos::read_yum_repos(root, &os, &arch)?, dnf_modules::read_dnf_modules(root)?),
    };
    let reboot = reboot::reboot_state(root, kind, &packages, &kernel)?;
    packages.sort_by(|a, b| {
        (&a.name, &a.arch, a.epoch, &a.version, &a.release).cmp(&(&b.name, &b.arch, b.epoch, &b.version, &b.release))
    });
    Ok(HostState { hostname, machine_id, os, kernel, arch, packages, repos, modules, reboot })
}

/// The installed packages and which package manager owns them.
fn read_packages(root: &Path) -> CollectResult<(Vec<Package>, PackageKind)> {
    let dpkg = match dpkg_status::read_dpkg_status(root)? {
        Some(packages) if !packages.is_empty() => return Ok((packages, PackageKind::Deb)),
        other => other,
    };
    // An empty dpkg status (dpkg installed on an rpm host) does not make a Debian host.
    if let Some(packages) = rpmdb::read_rpmdb(root)? {
        return Ok((packages, PackageKind::Rpm));
    }
    match dpkg {
        Some(packages) => Ok((packages, PackageKind::Deb)),
        None => Err(CollectError::NoPackageDatabase(root.to_owned())),
    }
}

/// Joins an absolute path from the host's point of view onto the root.
pub(crate) fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// Whether an IO error means "the file is not there" (missing, or a parent is not a directory).
pub(crate) fn is_absent(err: &std::io::Error) -> bool {
    matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory)
}

/// Reads a text file, or `None` when it does not exist. Invalid UTF-8 is replaced, never an error.
pub(crate) fn read_optional(path: &Path) -> CollectResult<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes_to_string(bytes))),
        Err(err) if is_absent(&err) => Ok(None),
        Err(source) => Err(CollectError::Read { path: path.to_owned(), source }),
    }
}

pub(crate) fn bytes_to_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(err) => String::from_utf8_lossy(err.as_bytes()).into_owned(),
    }
}

/// The regular files (symlinks followed) directly in `dir`, sorted by name; empty when the
/// directory does not exist.
pub(crate) fn files_in(dir: &Path) -> CollectResult<Vec<PathBuf>> {
    let read_err = |source| CollectError::Read { path: dir.to_owned(), source };
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if is_absent(&err) => return Ok(Vec::new()),
        Err(err) => return Err(read_err(err)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(read_err)?.path();
        if fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The file name of `path` as text ("" when it has none).
pub(crate) fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Copies a tree under libreport/testdata into `to` (tests build host roots from fixtures).
#[cfg(test)]
pub(crate) fn copy_testdata(rel: &str, to: &Path) {
    fn copy(from: &Path, to: &Path) {
        fs::create_dir_all(to).unwrap();
        for entry in fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel);
    if from.is_dir() {
        copy(&from, to);
    } else {
        fs::create_dir_all(to.parent().unwrap()).unwrap();
        fs::copy(from, to).unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_joins_absolute_paths_onto_the_root() {
        assert_eq!(under(Path::new("/tmp/r"), "/etc/os-release"), PathBuf::from("/tmp/r/etc/os-release"));
        assert_eq!(under(Path::new("/"), "/etc/hosts"), PathBuf::from("/etc/hosts"));
    }

    #[test]
    fn missing_files_and_directories_are_absent_not_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_optional(&dir.path().join("nope")).unwrap(), None);
        assert!(files_in(&dir.path().join("nope")).unwrap().is_empty());
        std::fs::write(dir.path().join("f"), b"x\xffy").unwrap();
        assert_eq!(read_optional(&dir.path().join("f")).unwrap().as_deref(), Some("x\u{fffd}y"));
        // A path through a regular file is absent too.
        assert_eq!(read_optional(&dir.path().join("f/g")).unwrap(), None);
    }

    #[test]
    fn an_empty_root_has_no_package_database() {
        let dir = tempfile::tempdir().unwrap();
        let err = collect(&CollectOptions::new(dir.path())).unwrap_err();
        assert!(matches!(err, CollectError::NoPackageDatabase(_)), "{err}");
    }

    #[test]
    fn collect_on_a_debian_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        copy_testdata("apt", root);
        copy_testdata("dpkg/status", &root.join("var/lib/dpkg/status"));
        copy_testdata("os-release/debian-12", &root.join("etc/os-release"));
        copy_testdata("os-release/debian_version-12", &root.join("etc/debian_version"));
        fs::write(root.join("etc/machine-id"), "d3b07384d113edec49eaa6238ad5ff00\n").unwrap();
        fs::create_dir_all(root.join("var/run")).unwrap();
        fs::write(root.join("var/run/reboot-required"), "").unwrap();
        fs::write(root.join("var/run/reboot-required.pkgs"), "libc6\n").unwrap();
        let opts = CollectOptions {
            hostname: Some("Web1.Example.org".into()),
            kernel: Some("6.1.0-28-amd64".into()),
            arch: Some("x86_64".into()),
            ..CollectOptions::new(root)
        };
        let state = collect(&opts).unwrap();
        assert_eq!(
            (state.hostname.as_str(), state.machine_id.as_str()),
            ("web1.example.org", "d3b07384d113edec49eaa6238ad5ff00")
        );
        assert_eq!((state.os.id.as_str(), state.os.version_detail.as_str()), ("debian", "12.11"));
        assert_eq!((state.kernel.as_str(), state.arch.as_str()), ("6.1.0-28-amd64", "x86_64"));
        let names: Vec<&str> = state.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["base-files", "bash", "dpkg", "gcc-12-base", "libc6", "libgcc-s1"]);
        assert!(state.packages.iter().all(|p| p.kind == PackageKind::Deb));
        assert_eq!(state.repos.len(), 9);
        assert_eq!(state.repos[0].id, "deb.debian.org/debian bookworm/main amd64");
        assert!(state.modules.is_empty());
        assert_eq!((state.reboot.required, state.reboot.packages.as_slice()), (true, ["libc6".to_owned()].as_slice()));
    }

    #[test]
    fn collect_on_this_host() {
        let state = collect(&CollectOptions::new("/")).unwrap();
        assert!(!state.packages.is_empty());
        assert!(state.packages.windows(2).all(|w| (&w[0].name, &w[0].arch) <= (&w[1].name, &w[1].arch)));
        assert_eq!(state.kernel, uname::uname().release);
        assert!(!state.hostname.is_empty() && state.hostname == state.hostname.to_lowercase());
    }

    /// Every text parser on random strings of the characters they care about (and multi-byte
    /// ones): none may panic.
    #[test]
    fn odd_text_never_panics() {
        const ALPHABET: &[char] = &[
            '$', '{', '}', '[', ']', '=', ':', '#', ';', ' ', '\t', '\n', '\r', '/', '.', '-', '+', '@', '_', '"',
            '\'', '\\', ',', '*', '?', '(', ')', 'a', 'Z', '1', '9', 'é', '€', '𝄞',
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let vars = yum_repos::YumVars::new("9.4", "x86_64");
        for _ in 0..3000 {
            let len = (next() % 48) as usize;
            let text: String = (0..len).map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize]).collect();
            let _ = dpkg_status::parse_status(&text);
            let _ = dpkg_status::split_version(&text);
            let _ = os_release::parse_os_release(&text);
            let _ = os_release::ubuntu_point_release(&text, "24.04");
            let _ = apt_sources::parse_one_line(&format!("deb {text}"));
            let _ = apt_sources::parse_deb822(&format!("Types: deb\nURIs: {text}\nSuites: {text}\n"));
            let _ = apt_release::parse_release(&text);
            let _ = apt_release::list_file_prefix(&text, &text);
            let _ = apt_preferences::Preferences::parse(&format!("Package: *\nPin: release {text}\nPin-Priority: 1\n"));
            let _ = yum_repos::parse_repo_file(&format!("[r]\nbaseurl={text}\nname={text}\n{text}"), &vars);
            let _ = vars.substitute(&text);
            let _ = dnf_modules::parse_module_file(&format!("[m]\n{text}\nstate=enabled\nstream={text}"));
            let _ = hostname::fqdn_from_hosts(&text, "a");
            let _ = hostname::fqdn_from_hosts("127.0.0.1 a.é a", &text);
            let _ = reboot::kernel_reboot(&[], &text);
            let _ = rpmdb::parse_rpm_qa(&text);
            let _ = rpmdb::parse_header(text.as_bytes());
        }
    }
}
