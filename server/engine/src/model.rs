//! The engine's inputs and outputs: packages, repositories with their module streams and
//! errata, a host, and the verdict. Plain data; the caller fills it from the store.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::vercmp::{deb_cmp_parts, rpm_cmp_evr};

/// Which package family: decides version ordering, architecture and priority rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Deb,
    Rpm,
}

/// One package: an installed one or one a repository offers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pkg {
    /// The store's id (a hash of the package's identity): equal ids, equal packages.
    pub id: i64,
    pub kind: Kind,
    pub name: Box<str>,
    pub epoch: u32,
    pub version: Box<str>,
    pub release: Box<str>,
    pub arch: Box<str>,
}

impl Pkg {
    /// Bytes this package takes in memory (its strings included), for caches' budgets.
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.name.len() + self.version.len() + self.release.len() + self.arch.len()
    }

    /// Orders by epoch, version, release, as the package's manager does.
    pub fn cmp_evr(&self, other: &Pkg) -> Ordering {
        match self.kind {
            Kind::Deb => {
                deb_cmp_parts(self.epoch, &self.version, &self.release, other.epoch, &other.version, &other.release)
            }
            Kind::Rpm => {
                rpm_cmp_evr(self.epoch, &self.version, &self.release, other.epoch, &other.version, &other.release)
            }
        }
    }

    /// "[epoch:]version[-release]".
    pub fn evr(&self) -> String {
        format_evr(self.epoch, &self.version, &self.release)
    }
}

/// "[epoch:]version[-release]" as the package managers print it: no epoch when it is 0, no
/// '-' when there is no release.
pub fn format_evr(epoch: u32, version: &str, release: &str) -> String {
    let mut s = String::with_capacity(version.len() + release.len() + 4);
    if epoch != 0 {
        s.push_str(&epoch.to_string());
        s.push(':');
    }
    s.push_str(version);
    if !release.is_empty() {
        s.push('-');
        s.push_str(release);
    }
    s
}

/// A module stream a repository offers (rpm modularity), with the packages it contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleStream {
    pub name: Box<str>,
    pub stream: Box<str>,
    /// Ids of the stream's packages.
    pub artifacts: Vec<i64>,
}

/// An advisory (rpm updateinfo) and the package versions that fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erratum {
    /// e.g. "RLSA-2024:1234".
    pub name: Box<str>,
    pub security: bool,
    /// The fixed packages: name, arch and the version that fixes.
    pub fixed: Vec<Pkg>,
}

/// Everything the engine needs to know about one repository.
#[derive(Debug, Clone, Default)]
pub struct RepoData {
    pub id: i64,
    /// Shown in reasons, e.g. "bookworm-security" or "baseos".
    pub label: Box<str>,
    /// Security updates come from here (Debian/Ubuntu `-security` suites).
    pub security: bool,
    pub packages: Vec<Pkg>,
    pub modules: Vec<ModuleStream>,
    /// Module name → default stream (modulemd-defaults).
    pub module_defaults: Vec<(Box<str>, Box<str>)>,
    pub errata: Vec<Erratum>,
}

/// One host, as far as finding its updates goes.
#[derive(Debug, Clone, Default)]
pub struct HostInput {
    /// `uname -m`, e.g. "x86_64".
    pub machine_arch: String,
    /// `uname -r`, e.g. "6.1.0-18-amd64" or "5.14.0-427.13.1.el9_4.x86_64".
    pub kernel: String,
    /// Shared: many hosts hold the same package rows.
    pub installed: Vec<Arc<Pkg>>,
    /// Module streams the host enabled: (module, stream).
    pub enabled_modules: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpdateKind {
    /// A newer version of the same package.
    Package,
    /// A newer kernel of the running flavour and series, under another package name
    /// (Debian/Ubuntu `linux-image-<abi>-<flavour>`).
    Kernel,
}

/// One update a host needs, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// The installed package it replaces.
    pub installed: i64,
    /// The package to install.
    pub candidate: i64,
    /// The repository the candidate comes from.
    pub repo: i64,
    pub security: bool,
    pub kind: UpdateKind,
    /// The security erratum that makes it a security update, when there is one.
    pub erratum: Option<Box<str>>,
    /// A short sentence an administrator can check, e.g. "newer in bookworm-security (pin 500)".
    pub reason: String,
}

/// Everything the engine concludes about one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Sorted by installed package id, then candidate id.
    pub updates: Vec<Update>,
    /// Installed packages whose name (for a compatible arch) no repository of the host offers
    /// in any version, sorted.
    pub not_in_repos: Vec<i64>,
    /// Installed packages older than another installed version of the same name and arch,
    /// where the package manager allows only one (any deb; an rpm that is not install-only):
    /// left over from an interrupted transaction. Sorted; only the newest was evaluated.
    pub duplicates: Vec<i64>,
    /// Why the host needs a reboot, as far as its packages tell (a newer kernel is installed
    /// than the one running).
    pub reboot: Option<String>,
}
