//! What the store is given to write: a prepared report (the ingest contract), an enrollment,
//! verdicts, a mirror attempt. Plain values; `ingest`, `updates` and `refresh` build them.

use crate::accounts::{Role, SessionHash};
use crate::auth::TokenHash;
use crate::report::{InstalledPackage, Report, ReportedRepo};

/// A 128-bit digest of one section of a report.
pub type Digest = [u8; 16];

/// A report ready for the store.
#[derive(Debug, Clone)]
pub struct PreparedReport {
    pub report: Report,
    /// The report's packages with their ids, sorted by id.
    pub packages: Vec<PreparedPackage>,
    pub repos: Vec<PreparedRepo>,
    pub os_variant: String,
    pub os_group: String,
    /// The host name after its first dot, or empty.
    pub domain: String,
    pub digests: Digests,
    /// The digest of the state fields as they came over the wire, when they did.
    pub wire_digest: Option<Digest>,
    /// The report says nothing of the host's repositories (Patchman's hooks send none): the
    /// host keeps those it has.
    pub keep_repos: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digests {
    pub packages: Digest,
    pub repos: Digest,
    pub modules: Digest,
    pub meta: Digest,
}

/// A package of the report and its id.
#[derive(Debug, Clone, Copy)]
pub struct PreparedPackage {
    pub id: i64,
    /// Its position in `report.packages`.
    pub index: u32,
}

impl PreparedReport {
    /// The package a `PreparedPackage` stands for.
    pub fn installed(&self, p: PreparedPackage) -> &InstalledPackage {
        &self.report.packages[p.index as usize]
    }
}

#[derive(Debug, Clone)]
pub struct PreparedRepo {
    pub reported: ReportedRepo,
    /// The name shown to administrators.
    pub display_name: String,
    /// Whether the repository carries security updates, as far as its name tells.
    pub security: bool,
}

/// What proves who sent a report, as the store checks it inside the report's transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A host token: it names exactly one host.
    Host(TokenHash),
    /// An API key: any host that has no token of its own.
    ApiKey(TokenHash),
    /// None, from this address in a network an administrator listed: any host that has no
    /// token of its own and does not report with an API key.
    Network(String),
}

/// An API key or token to store: its name, role and the hash of the secret, printed once.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub name: &'a str,
    pub role: crate::auth::ApiRole,
    pub key_hash: &'a TokenHash,
    pub now: i64,
    pub expires_at: Option<i64>,
}

/// An enrollment key to store (`patchman enrollment-key create`).
#[derive(Debug, Clone, Copy)]
pub struct NewEnrollmentKey<'a> {
    pub name: &'a str,
    pub key_hash: &'a TokenHash,
    /// Given to the hosts enrolled with it, as an administrator's tags.
    pub tags: &'a [String],
    pub now: i64,
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
}

/// A host that asks to enroll, with the hash of the token it will receive.
#[derive(Debug, Clone)]
pub struct Enrollment<'a> {
    pub hostname: &'a str,
    pub machine_id: &'a str,
    pub token_hash: &'a TokenHash,
    pub now_ms: i64,
}

/// A package row to write: the package, its id, and (for deb) its source.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PackageRow<'a> {
    pub id: i64,
    pub package: &'a crate::report::Package,
    pub source_name: &'a str,
    pub source_version: &'a str,
}

/// A verdict to save for a host, with the state version it was computed from.
#[derive(Debug, Clone)]
pub struct VerdictRecord<'a> {
    pub host_id: i64,
    pub state_version: i64,
    /// Digest of the verdict: an unchanged verdict rewrites no rows.
    pub digest: [u8; 16],
    pub verdict: &'a patchman_engine::Verdict,
    /// Every repository the host uses had been refreshed when the verdict was computed.
    pub repos_known: bool,
}

/// A verdict computed for a host's stale names only, and the installed packages of those
/// names it was computed from (its rows of those packages are replaced).
pub struct NameVerdictRecord<'a> {
    pub record: VerdictRecord<'a>,
    pub packages: &'a [i64],
}

/// What `hosts` keeps of a verdict.
pub(crate) struct VerdictColumns<'a> {
    pub host_id: i64,
    pub state_version: i64,
    pub digest: [u8; 16],
    pub security: i64,
    pub bugfix: i64,
    pub unknown: i64,
    pub reboot: &'a str,
    pub known: bool,
    /// Package names installed in more than one version where only one can be.
    pub duplicates: i64,
}

/// A host's saved counts moved by a names-only save: what its deleted rows had against what
/// its new rows have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CountChange {
    pub host_id: i64,
    pub security: i64,
    pub bugfix: i64,
    pub unknown: i64,
}

/// The result of trying one mirror.
#[derive(Debug, Clone)]
pub struct MirrorAttempt<'a> {
    pub mirror_id: i64,
    pub result: MirrorResult<'a>,
    /// A mirror failing this many times in a row is disabled.
    pub max_failures: i64,
    pub now: i64,
}

/// What a mirror answered, or why it failed.
#[derive(Debug, Clone)]
pub enum MirrorResult<'a> {
    Answered {
        /// The metadata's checksum; `None` keeps the stored one (unchanged metadata).
        checksum: Option<&'a str>,
        etag: Option<&'a str>,
        last_modified: Option<&'a str>,
        valid_until_passed: bool,
        /// Fingerprints of the keys that verified the metadata, comma-separated, '' when not
        /// verified; `None` keeps the stored one (unchanged metadata).
        verified_by: Option<&'a str>,
    },
    Failed {
        error: &'a str,
    },
}

/// A web UI account to add; `password_hash` is a PHC string (`accounts::hash_password`).
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub role: Role,
    pub password_hash: &'a str,
    pub now: i64,
}

/// A sign-in session: the SHA-256 of the id the browser holds, and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub id_hash: &'a SessionHash,
    pub user_id: i64,
    pub csrf_token: &'a str,
    pub now: i64,
}

/// One line of the audit log: who (`cli:root`, `web:alice`) did what to which target.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub detail: &'a str,
}

/// An organisation brought over from another installation (`import-patchman`): repositories
/// with their mirrors, OS groups with their variants and repositories, hosts. What exists
/// already is kept; the store says what it brought and what it skipped.
#[derive(Debug, Clone, Default)]
pub struct Organisation {
    pub repos: Vec<OrgRepo>,
    pub groups: Vec<OrgGroup>,
    pub hosts: Vec<OrgHost>,
}

/// A repository, named and keyed as a report names it (`reported`).
#[derive(Debug, Clone)]
pub struct OrgRepo {
    pub repo: PreparedRepo,
    /// The architecture it serves (rpm repositories serve their hosts').
    pub arch: String,
    /// `repo.security` was chosen by an administrator, not by the repository's name.
    pub security_manual: bool,
    pub enabled: bool,
    /// It needs credentials to be read.
    pub auth_required: bool,
    /// Whether each of `repo.reported.urls` is enabled.
    pub mirrors_enabled: Vec<bool>,
}

#[derive(Debug, Clone)]
pub struct OrgGroup {
    pub name: String,
    pub variants: Vec<String>,
    /// Indices into `Organisation::repos`.
    pub repos: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct OrgHost {
    pub hostname: String,
    pub domain: String,
    /// (group, variant), when known.
    pub os: Option<(String, String)>,
    pub arch: String,
    pub kernel: String,
    pub use_host_repos: bool,
    pub tags: Vec<String>,
    /// Its last report to the other installation.
    pub last_seen_at: Option<i64>,
    /// (index into `Organisation::repos`, priority, enabled).
    pub repos: Vec<(usize, i32, bool)>,
}
