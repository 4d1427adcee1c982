//! What a host reports, as plain Rust values: collectors fill these, the transport turns them
//! into `patchman.v1` messages, `--dry-run` prints them as JSON and the spool stores them.

use serde::{Deserialize, Serialize};

/// Everything the collectors found out about the host at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostState {
    /// FQDN when known, else the short host name.
    pub hostname: String,
    /// Contents of /etc/machine-id, or empty.
    pub machine_id: String,
    pub os: OsInfo,
    /// `uname -r`.
    pub kernel: String,
    /// `uname -m`.
    pub arch: String,
    pub packages: Vec<Package>,
    pub repos: Vec<Repo>,
    pub modules: Vec<ModuleStream>,
    pub reboot: Reboot,
}

/// /etc/os-release, see os-release(5). Fields the file lacks are empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    pub id: String,
    pub id_like: Vec<String>,
    pub name: String,
    pub version_id: String,
    pub pretty_name: String,
    pub cpe_name: String,
    pub codename: String,
    /// A more precise version than VERSION_ID when the host has one ("12.7" from
    /// /etc/debian_version, "24.04.1" from Ubuntu's VERSION); empty otherwise.
    pub version_detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageKind {
    Deb,
    Rpm,
}

/// One installed package, split as its package manager splits versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    /// 0 when the package has no epoch.
    pub epoch: u32,
    /// rpm version, or Debian upstream version.
    pub version: String,
    /// rpm release, or Debian revision (empty for a native Debian package).
    pub release: String,
    pub arch: String,
    pub kind: PackageKind,
    /// deb: the source package when its name differs from the binary's; else empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_name: String,
    /// deb: the source version when it differs from the binary's; else empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source_version: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UrlKind {
    Baseurl,
    Mirrorlist,
    Metalink,
    /// `<archive>/dists/<suite>/<component>/binary-<arch>`, or a flat repository's directory.
    Apt,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RepoUrl {
    pub url: String,
    pub kind: UrlKind,
}

/// One enabled repository. For apt: one (archive, suite, component, architecture).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repo {
    pub kind: PackageKind,
    /// rpm: the .repo section name. apt: "host/path suite/component arch".
    pub id: String,
    pub name: String,
    /// rpm `priority=` (lower wins, default 99); apt pin priority (higher wins, default 500).
    pub priority: i32,
    pub urls: Vec<RepoUrl>,
    /// apt only; empty for rpm.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub suite: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub component: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub architecture: String,
}

/// An enabled dnf module stream, from /etc/dnf/modules.d/*.module.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModuleStream {
    pub name: String,
    pub stream: String,
    pub profiles: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reboot {
    pub required: bool,
    /// Why, in a few words; empty when no reboot is needed.
    pub reason: String,
    /// Packages that asked for the reboot (/var/run/reboot-required.pkgs).
    pub packages: Vec<String>,
}

/// What made the host send a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Timer,
    Transaction,
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeAction {
    Installed,
    Upgraded,
    Downgraded,
    Removed,
    Reinstalled,
}

/// One package changed by a transaction. Versions are "[epoch:]version[-release]".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageChange {
    pub action: ChangeAction,
    pub name: String,
    pub arch: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub old_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub new_version: String,
}

/// One package transaction on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub transaction_id: String,
    pub finished_at_ms: i64,
    pub tool: String,
    pub changes: Vec<PackageChange>,
}

/// A report ready to send: the host's state plus why and when it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub report_id: String,
    pub generated_at_ms: i64,
    pub trigger: Trigger,
    pub tags: Vec<String>,
    pub state: HostState,
    pub transactions: Vec<Transaction>,
    pub client_version: String,
}

impl Report {
    /// A new report of `state` with a fresh random id, stamped now.
    pub fn new(state: HostState, trigger: Trigger, tags: Vec<String>, transactions: Vec<Transaction>) -> Self {
        Self {
            report_id: new_id(),
            generated_at_ms: now_ms(),
            trigger,
            tags,
            state,
            transactions,
            client_version: concat!("libreport/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// 128 random bits as 32 hex digits: ids of reports and transactions.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No entropy source: fall back to time and pid, unique enough for one host.
        let t = now_ms() as u128;
        bytes = ((t << 32) | u128::from(std::process::id())).to_le_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}
