//! What a repository holds, as the repository layer found it and the store keeps it: its
//! packages, errata and module streams. Domain types; no protocol or SQL here.

use crate::report::Package;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoContents {
    pub packages: Vec<Package>,
    pub errata: Vec<ErratumRecord>,
    pub modules: Vec<ModuleRecord>,
    /// Module name → its default stream.
    pub module_defaults: Vec<(String, String)>,
}

/// An advisory (yum/dnf updateinfo).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErratumRecord {
    /// e.g. "RLSA-2024:1234".
    pub name: String,
    /// "security", "bugfix", "enhancement", or what the repository says.
    pub kind: String,
    pub severity: String,
    pub issued_ms: Option<i64>,
    pub title: String,
    pub cves: Vec<String>,
    /// The package versions that fix it.
    pub packages: Vec<Package>,
}

impl ErratumRecord {
    pub fn is_security(&self) -> bool {
        self.kind.eq_ignore_ascii_case("security")
    }
}

/// A module stream (rpm modularity) and its packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleRecord {
    pub name: String,
    pub stream: String,
    pub version: String,
    pub context: String,
    pub arch: String,
    pub artifacts: Vec<Package>,
}
