//! A validated host report as the server's domain type: what `grpc` (and later `compat`)
//! produce and `ingest` consumes. No protobuf types here.

use patchman_engine::format_evr;
use serde::Serialize;

/// The package family; the numbers are stored in the database. Updates are found for deb
/// and rpm; arch (pacman) and gentoo (portage) packages and repositories are kept as
/// inventory, and a host that has them has its updates "unknown", never "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    Deb = 1,
    Rpm = 2,
    Arch = 3,
    Gentoo = 4,
}

impl PackageKind {
    pub fn from_i64(v: i64) -> Option<Self> {
        match v {
            1 => Some(Self::Deb),
            2 => Some(Self::Rpm),
            3 => Some(Self::Arch),
            4 => Some(Self::Gentoo),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Rpm => "rpm",
            Self::Arch => "arch",
            Self::Gentoo => "gentoo",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Deb, Self::Rpm, Self::Arch, Self::Gentoo].into_iter().find(|k| k.as_str() == s)
    }

    /// Whether updates are found for packages of this kind (repositories refreshed, versions
    /// compared); the others are inventory only.
    pub fn has_updates(self) -> bool {
        matches!(self, Self::Deb | Self::Rpm)
    }
}

/// One installed (or available) package, its version split as its package manager does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Package {
    pub kind: PackageKind,
    pub name: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    pub arch: String,
}

impl Package {
    /// "[epoch:]version[-release]" as the package manager prints it.
    pub fn evr(&self) -> String {
        format_evr(self.epoch, &self.version, &self.release)
    }

    /// The package's id: a hash of its identity (kind, name, epoch, version, release, arch),
    /// the same in every database and process. It keys the package's rows everywhere, so it
    /// must never change (`package_ids_are_pinned` holds golden values).
    pub fn id(&self) -> i64 {
        let mut buf =
            Vec::with_capacity(self.name.len() + self.version.len() + self.release.len() + self.arch.len() + 16);
        buf.push(self.kind as u8);
        for part in [
            self.name.as_bytes(),
            self.epoch.to_string().as_bytes(),
            self.version.as_bytes(),
            self.release.as_bytes(),
            self.arch.as_bytes(),
        ] {
            buf.push(0);
            buf.extend_from_slice(part);
        }
        (xxhash_rust::xxh3::xxh3_64(&buf) & i64::MAX as u64) as i64
    }
}

/// An installed package and, for deb, its source package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledPackage {
    pub package: Package,
    pub source_name: String,
    pub source_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UrlKind {
    Baseurl = 1,
    Mirrorlist = 2,
    Metalink = 3,
    Apt = 4,
}

impl UrlKind {
    pub fn from_i64(v: i64) -> Option<Self> {
        match v {
            1 => Some(Self::Baseurl),
            2 => Some(Self::Mirrorlist),
            3 => Some(Self::Metalink),
            4 => Some(Self::Apt),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoUrl {
    pub url: String,
    pub kind: UrlKind,
}

/// A repository as a host reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReportedRepo {
    pub kind: PackageKind,
    pub repo_id: String,
    pub name: String,
    pub priority: i32,
    pub urls: Vec<RepoUrl>,
    pub suite: String,
    pub component: String,
    pub architecture: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleStream {
    pub name: String,
    pub stream: String,
    pub profiles: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Os {
    pub id: String,
    pub id_like: Vec<String>,
    pub name: String,
    pub version_id: String,
    pub pretty_name: String,
    pub cpe_name: String,
    pub codename: String,
    pub version_detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Reboot {
    pub required: bool,
    pub reason: String,
    pub packages: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Timer = 1,
    Transaction = 2,
    Manual = 3,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timer => "timer",
            Self::Transaction => "transaction",
            Self::Manual => "manual",
        }
    }

    pub fn from_i64(v: i64) -> Option<Self> {
        match v {
            1 => Some(Self::Timer),
            2 => Some(Self::Transaction),
            3 => Some(Self::Manual),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    Installed = 1,
    Upgraded = 2,
    Downgraded = 3,
    Removed = 4,
    Reinstalled = 5,
}

impl ChangeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Installed => "installed",
            Self::Upgraded => "upgraded",
            Self::Downgraded => "downgraded",
            Self::Removed => "removed",
            Self::Reinstalled => "reinstalled",
        }
    }

    pub fn from_i64(v: i64) -> Option<Self> {
        match v {
            1 => Some(Self::Installed),
            2 => Some(Self::Upgraded),
            3 => Some(Self::Downgraded),
            4 => Some(Self::Removed),
            5 => Some(Self::Reinstalled),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageChange {
    pub action: ChangeAction,
    pub name: String,
    pub arch: String,
    pub old_version: String,
    pub new_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transaction {
    pub transaction_id: String,
    pub finished_at_ms: i64,
    pub tool: String,
    pub changes: Vec<PackageChange>,
}

/// An update the host's own package manager offers (Patchman's `sec_updates` and
/// `bug_updates`, from `yum list updates` or `apt list --upgradable`): the host's view, kept
/// beside the server's verdict to show where the two disagree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OfferedUpdate {
    pub name: String,
    /// Empty when the host did not say.
    pub arch: String,
    pub epoch: u32,
    pub version: String,
    pub release: String,
    /// The repository the host names (yum's lines do, apt's do not).
    pub repo: String,
    pub security: bool,
}

/// A report that passed validation: every required field is present and sane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub report_id: String,
    pub generated_at_ms: i64,
    /// Lower-cased.
    pub hostname: String,
    pub machine_id: String,
    pub os: Os,
    pub kernel: String,
    pub arch: String,
    pub packages: Vec<InstalledPackage>,
    pub repos: Vec<ReportedRepo>,
    pub modules: Vec<ModuleStream>,
    pub reboot: Reboot,
    pub tags: Vec<String>,
    pub trigger: Trigger,
    pub transactions: Vec<Transaction>,
    pub client_version: String,
    /// The updates the host's own package manager offers, when it says (Patchman's clients).
    pub offered_updates: Vec<OfferedUpdate>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(kind: PackageKind, name: &str, epoch: u32, version: &str, release: &str, arch: &str) -> Package {
        Package { kind, name: name.into(), epoch, version: version.into(), release: release.into(), arch: arch.into() }
    }

    /// Ids key rows in every existing database: a change here orphans them all.
    #[test]
    fn package_ids_are_pinned() {
        let deb = pkg(PackageKind::Deb, "openssl", 0, "3.0.15", "1~deb12u1", "amd64");
        let rpm = pkg(PackageKind::Rpm, "openssl", 1, "3.0.7", "27.el9", "x86_64");
        assert_eq!(deb.id(), 4075664319720316203, "deb id");
        assert_eq!(rpm.id(), 969661533490959305, "rpm id");
    }

    #[test]
    fn package_ids_tell_every_identity_field_apart() {
        let base = pkg(PackageKind::Rpm, "bash", 0, "5.1", "8.el9", "x86_64");
        let variants = [
            Package { kind: PackageKind::Deb, ..base.clone() },
            Package { name: "bash2".into(), ..base.clone() },
            Package { epoch: 1, ..base.clone() },
            Package { version: "5.2".into(), ..base.clone() },
            Package { release: "9.el9".into(), ..base.clone() },
            Package { arch: "aarch64".into(), ..base.clone() },
            // The separators keep field boundaries: "5.1" + "8" is not "5.18" + "".
            pkg(PackageKind::Rpm, "bash", 0, "5.18", ".el9", "x86_64"),
        ];
        for v in &variants {
            assert_ne!(v.id(), base.id(), "{v:?}");
            assert!(v.id() >= 0);
        }
    }
}
