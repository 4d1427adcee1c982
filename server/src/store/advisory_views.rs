//! What the store takes and gives for advisories: feeds' reads, the exposure worker's input
//! and output, and the read models of the advisory, CVE and time-to-patch pages.

use serde::Serialize;

use super::views::{opt_time, time};
use crate::advisories::FeedContents;
use crate::advisories::exposure::Exposure;

/// A feed and what its last read found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FeedState {
    pub name: String,
    pub kind: String,
    pub location: String,
    #[serde(serialize_with = "opt_time")]
    pub last_attempt_at: Option<i64>,
    #[serde(serialize_with = "opt_time")]
    pub last_success_at: Option<i64>,
    /// Reads failed in a row.
    pub fail_count: i64,
    pub last_error: String,
    #[serde(skip)]
    pub checksum: Option<String>,
    #[serde(skip)]
    pub etag: Option<String>,
    #[serde(skip)]
    pub last_modified: Option<String>,
    /// Advisories (or known-exploited CVEs) the feed holds.
    pub record_count: i64,
}

/// A feed's read, as the store records it.
pub struct FeedRead<'a> {
    pub name: &'a str,
    pub kind: &'a str,
    pub location: &'a str,
    pub now_ms: i64,
    pub result: FeedResult<'a>,
}

pub enum FeedResult<'a> {
    Failed(&'a str),
    Unchanged { etag: Option<&'a str>, last_modified: Option<&'a str> },
    New { contents: &'a FeedContents, checksum: &'a str, etag: Option<&'a str>, last_modified: Option<&'a str> },
}

/// What a feed's new contents changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedChange {
    pub added: u64,
    pub changed: u64,
    pub withdrawn: u64,
    /// Hosts whose exposures are to be computed again: those running a release with an
    /// installed package a changed advisory names.
    pub hosts_marked: u64,
    /// Of them, the hosts whose exposures were current before (marked `SCOPED_STALE`): only
    /// their exposures to `advisories` need computing.
    #[serde(skip)]
    pub scoped_hosts: Vec<i64>,
    /// The advisories added or rewritten.
    #[serde(skip)]
    pub advisories: Vec<i64>,
}

/// `hosts.exposures_version` of a host whose exposures are current but for the advisories a
/// feed change just brought (its scoped computation clears it; if it never runs, the host is
/// computed in full, as any stale host).
pub const SCOPED_STALE: i64 = -2;

/// One host, as the exposure worker needs it.
#[derive(Debug, Clone)]
pub struct ExposureWork {
    pub host_id: i64,
    pub state_version: i64,
    /// "Debian 12" (`advisories::release_of_variant`); "" when not known.
    pub release: String,
    /// When the host's current state was reported (its report's generation time).
    pub since_ms: i64,
    pub package_ids: Vec<i64>,
}

/// An affected entry of a release, for the exposure index.
#[derive(Debug, Clone)]
pub struct AffectedRow {
    pub advisory_id: i64,
    pub package: String,
    pub kind: i64,
    pub status: i64,
    pub fixed: String,
}

/// A host's exposures, computed from the state `state_version`.
pub struct ExposureRecord {
    pub host_id: i64,
    pub state_version: i64,
    pub since_ms: i64,
    pub exposures: Vec<Exposure>,
}

/// What saving exposures did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ExposureChanges {
    pub saved: u64,
    pub opened: u64,
    pub closed: u64,
}

/// One line of the advisories list.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AdvisoryView {
    pub name: String,
    pub feed: String,
    pub kind: String,
    pub severity: String,
    pub summary: String,
    #[serde(serialize_with = "opt_time")]
    pub issued_at: Option<i64>,
    #[serde(serialize_with = "opt_time")]
    pub withdrawn_at: Option<i64>,
    pub cves: Vec<String>,
    /// A CVE of it is in the known-exploited catalogue.
    pub exploited: bool,
    /// Hosts exposed to it now.
    pub hosts_exposed: i64,
}

/// A package an advisory names in a release.
#[derive(Debug, Clone, Serialize)]
pub struct AdvisoryPackageView {
    pub release: String,
    pub package: String,
    /// "fixed", "no fix yet" or "not affected".
    pub status: &'static str,
    pub fixed: String,
}

/// A host exposed through one installed package.
#[derive(Debug, Clone, Serialize)]
pub struct ExposedHostView {
    pub hostname: String,
    pub advisory: String,
    pub package: String,
    pub installed: String,
    /// "" when no fix is published yet.
    pub fixed: String,
    /// When the host was first seen exposed.
    #[serde(serialize_with = "opt_time")]
    pub since: Option<i64>,
    /// It stopped reporting: exposed when last heard of, nothing known since.
    pub silent: bool,
}

/// A host whose exposure ended with a fix.
#[derive(Debug, Clone, Serialize)]
pub struct FixedHostView {
    pub hostname: String,
    pub advisory: String,
    #[serde(serialize_with = "time")]
    pub opened_at: i64,
    #[serde(serialize_with = "time")]
    pub fixed_at: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdvisoryDetail {
    pub advisory: AdvisoryView,
    pub references: Vec<String>,
    pub packages: Vec<AdvisoryPackageView>,
    pub exposed: Vec<ExposedHostView>,
    pub fixed: Vec<FixedHostView>,
}

/// A CVE in CISA's known-exploited catalogue.
#[derive(Debug, Clone, Serialize)]
pub struct ExploitedView {
    pub name: String,
    #[serde(serialize_with = "opt_time")]
    pub added_at: Option<i64>,
    pub ransomware: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CveDetail {
    pub cve: String,
    /// The worst severity any advisory gives it.
    pub severity: String,
    pub exploited: Option<ExploitedView>,
    pub advisories: Vec<AdvisoryView>,
    /// rpm repositories' updateinfo errata naming it, and the hosts whose updates they are.
    pub errata: Vec<ErratumExposure>,
    pub exposed: Vec<ExposedHostView>,
    pub fixed: Vec<FixedHostView>,
}

/// An updateinfo erratum naming a CVE, and the hosts that have an update it names.
#[derive(Debug, Clone, Serialize)]
pub struct ErratumExposure {
    pub erratum: String,
    pub severity: String,
    pub hosts: Vec<String>,
}

/// One exposure of a host, for its page and `advisory list --host`.
#[derive(Debug, Clone, Serialize)]
pub struct HostExposureView {
    pub advisory: String,
    pub feed: String,
    pub severity: String,
    pub cves: Vec<String>,
    pub exploited: bool,
    pub package: String,
    pub installed: String,
    pub fixed: String,
    #[serde(serialize_with = "opt_time")]
    pub since: Option<i64>,
}

/// The dashboard's advisory items.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ExposureSummary {
    /// Hosts exposed to at least one advisory.
    pub hosts_exposed: i64,
    /// Hosts exposed to an advisory with a known-exploited CVE.
    pub hosts_exploited: i64,
    /// Feeds whose last read failed.
    pub feeds_failing: i64,
}
