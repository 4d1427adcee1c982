//! Read models the store returns to the CLI and the web UI. Times are milliseconds since the
//! Unix epoch; serialised as RFC 3339 strings.

use crate::query::{Clock, HostStatus};
use serde::{Serialize, Serializer};

use crate::report::PackageKind;

/// One line of `patchman host list`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HostSummary {
    pub hostname: String,
    pub domain: String,
    pub os_group: String,
    pub os_variant: String,
    pub arch: String,
    pub kernel: String,
    pub package_count: i64,
    pub repo_count: i64,
    pub reboot_required: bool,
    pub tags: Vec<String>,
    #[serde(serialize_with = "opt_time")]
    pub last_seen_at: Option<i64>,
    pub security_updates: i64,
    pub bugfix_updates: i64,
    /// Installed packages no repository of the host offers.
    pub unknown_packages: i64,
    /// Whether the updates shown were computed from the host's current state.
    pub updates_current: bool,
    /// Whether every repository the host uses had been refreshed when they were computed.
    pub updates_known: bool,
    /// In how many packages its own package manager offers other updates than the server
    /// finds (0 when it does not say; Patchman's clients do).
    pub view_disagreements: i64,
    /// Its last report came without credentials, from a network an administrator listed.
    pub unauthenticated: bool,
    /// Package names installed in two versions where only one can be (an interrupted
    /// transaction): only the newest was evaluated.
    pub duplicate_packages: i64,
}

impl HostSummary {
    /// Whether the filter selects this host, as `host_sql::where_clause` says it in SQL;
    /// `None` when it asks what a summary does not hold (installed packages, repositories).
    pub fn matches(&self, f: &crate::query::HostFilter, clock: &Clock) -> Option<bool> {
        if f.package_name.is_some() || f.package_evr.is_some() || f.repo.is_some() {
            return None;
        }
        let eq = |want: &Option<String>, is: &str| want.as_deref().is_none_or(|w| w == is);
        let flag = |want: Option<bool>, is: bool| want.is_none_or(|w| w == is);
        Some(
            eq(&f.os_group, &self.os_group)
                && eq(&f.os_variant, &self.os_variant)
                && eq(&f.arch, &self.arch)
                && eq(&f.domain, &self.domain)
                && f.tag.as_ref().is_none_or(|t| self.tags.contains(t))
                && flag(f.has_security, self.security_updates > 0)
                && flag(f.has_bugfix, self.bugfix_updates > 0)
                && flag(f.reboot_required, self.reboot_required)
                && f.status.is_none_or(|s| s == self.status_at(clock))
                && f.reported_before.is_none_or(|t| self.last_seen_at.is_none_or(|seen| seen < t))
                && flag(f.has_repos, self.repo_count > 0)
                && flag(f.has_unknown_packages, self.unknown_packages > 0)
                && flag(f.view_disagrees, self.view_disagreements > 0)
                && flag(f.unauthenticated, self.unauthenticated)
                && flag(f.duplicate_packages, self.duplicate_packages > 0)
                && f.search.as_ref().is_none_or(|s| self.hostname.contains(s.as_str())),
        )
    }

    /// The host's status at `clock`, as `host_sql::status_case` says it in SQL.
    pub fn status_at(&self, clock: &Clock) -> HostStatus {
        if self.last_seen_at.is_none_or(|t| t < clock.silent_before()) {
            HostStatus::Silent
        } else if !self.updates_current || !self.updates_known {
            HostStatus::Unknown
        } else if self.security_updates > 0 {
            HostStatus::Security
        } else if self.bugfix_updates > 0 {
            HostStatus::Bugfix
        } else {
            HostStatus::UpToDate
        }
    }
}

/// What needs attention, in counts: each links to the list behind it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Dashboard {
    pub hosts: i64,
    /// Hosts per status, every status present (0 when none).
    pub by_status: Vec<(HostStatus, i64)>,
    pub with_security: i64,
    pub reboot_required: i64,
    pub without_repos: i64,
    /// Hosts with installed packages no repository of theirs offers, and those packages.
    pub with_unknown_packages: i64,
    pub unknown_packages: i64,
    /// Updates outstanding: (host, installed package, candidate) pairs.
    pub updates: i64,
    pub repos: i64,
    pub repos_unused: i64,
    /// Enabled repositories never refreshed, or not for longer than the silence threshold.
    pub repos_not_refreshed: i64,
    pub repos_past_valid_until: i64,
    /// Repositories a mirror of which served metadata that was not verified.
    pub repos_unverified: i64,
    pub mirrors_failing: i64,
    pub mirrors_disabled: i64,
    /// OS variants whose group offers no repositories (their hosts use only their own).
    pub os_variants_without_group_repos: i64,
    /// Hosts whose own package manager offers other updates than the server finds.
    pub view_disagrees: i64,
    /// Hosts whose last report came without credentials.
    pub unauthenticated: i64,
    /// Hosts with a package installed in two versions where only one can be.
    pub duplicate_packages: i64,
}

/// `patchman host show NAME`.
#[derive(Debug, Clone, Serialize)]
pub struct HostDetail {
    #[serde(flatten)]
    pub summary: HostSummary,
    /// Of `summary.tags`, those an administrator gave it (reports do not change them).
    pub admin_tags: Vec<String>,
    pub machine_id: String,
    pub os_id: String,
    pub os_pretty_name: String,
    pub os_cpe_name: String,
    pub reboot_reason: String,
    pub use_host_repos: bool,
    pub client_version: String,
    #[serde(serialize_with = "time")]
    pub enrolled_at: i64,
    #[serde(serialize_with = "opt_time")]
    pub last_changed_at: Option<i64>,
    pub packages: Vec<PackageView>,
    pub updates: Vec<UpdateView>,
    /// "name version arch" of installed packages that no repository of the host offers.
    pub packages_not_in_repos: Vec<String>,
    pub repos: Vec<HostRepoView>,
    pub modules: Vec<ModuleView>,
    pub reports: Vec<ReportView>,
    pub transactions: Vec<TransactionView>,
    /// How its last report proved who sent it.
    pub reported_with: ReportedWith,
    /// Whether the host says which updates its package manager offers (Patchman's
    /// `sec_updates`/`bug_updates`), and where that view and the server's differ.
    pub offered_known: bool,
    pub view_differences: Vec<ViewDifference>,
    /// Its token, when it has one (`patchman host revoke` removes it).
    pub token: Option<HostTokenView>,
}

/// A host's token: issued, with which enrollment key, last used.
#[derive(Debug, Clone, Serialize)]
pub struct HostTokenView {
    #[serde(serialize_with = "time")]
    pub issued_at: i64,
    /// The enrollment key's name ("" when issued by `patchman host token`, or before keys had names).
    pub enrolled_with: String,
    #[serde(serialize_with = "opt_time")]
    pub last_used_at: Option<i64>,
}

impl HostDetail {
    /// Packages installed in two or more versions where only one can be (any deb; an rpm that
    /// is not install-only): "name arch: evr, evr", as the engine finds them.
    pub fn duplicate_packages(&self) -> Vec<String> {
        let mut groups: std::collections::BTreeMap<(&str, &str, PackageKind), Vec<&str>> = Default::default();
        for p in &self.packages {
            groups.entry((p.name.as_str(), p.arch.as_str(), p.kind)).or_default().push(p.evr.as_str());
        }
        groups
            .into_iter()
            .filter(|((name, _, kind), evrs)| {
                evrs.len() > 1 && !(*kind == PackageKind::Rpm && patchman_engine::kernel::rpm_install_only(name))
            })
            .map(|((name, arch, _), evrs)| format!("{name} {arch}: {}", evrs.join(", ")))
            .collect()
    }
}

/// How a host's last report was authenticated.
#[derive(Debug, Clone, Serialize)]
pub struct ReportedWith {
    pub kind: crate::store::AuthKind,
    /// The API key's name, or the address of an unauthenticated report.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A package whose update the host's package manager and the server see differently.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ViewDifference {
    pub name: String,
    pub arch: String,
    /// What the host's package manager offers ("1:3.0.7-28.el9_4 (security)"), if anything.
    pub host: Option<String>,
    /// What the server finds, if anything.
    pub server: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackageView {
    pub name: String,
    pub epoch: i64,
    pub version: String,
    pub release: String,
    pub arch: String,
    pub kind: PackageKind,
    /// "[epoch:]version[-release]".
    pub evr: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_name: String,
}

/// One update a host needs.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    pub name: String,
    pub arch: String,
    pub installed: String,
    pub available: String,
    /// The package to install: the same name, or for a kernel update a newer ABI's package.
    pub available_name: String,
    pub available_arch: String,
    pub security: bool,
    pub kernel: bool,
    pub repo: String,
    pub reason: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub erratum: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HostRepoView {
    pub id: i64,
    pub name: String,
    pub kind: PackageKind,
    pub repo_key: String,
    pub priority: i64,
    pub enabled: bool,
    pub security: bool,
    pub urls: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ModuleView {
    pub name: String,
    pub stream: String,
    pub profiles: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReportView {
    pub report_id: String,
    #[serde(serialize_with = "time")]
    pub generated_at: i64,
    #[serde(serialize_with = "time")]
    pub received_at: i64,
    pub trigger: String,
    pub package_count: i64,
    pub added: i64,
    pub removed: i64,
    /// A newer report of the host was already applied when this one arrived.
    pub superseded: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TransactionView {
    pub transaction_id: String,
    #[serde(serialize_with = "time")]
    pub finished_at: i64,
    pub tool: String,
    pub changes: Vec<ChangeView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeView {
    pub action: String,
    pub name: String,
    pub arch: String,
    pub old_version: String,
    pub new_version: String,
}

/// Milliseconds since the epoch as RFC 3339 (UTC, seconds precision).
pub fn format_time(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

pub(crate) fn time<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_time(*ms))
}

pub(crate) fn opt_time<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match ms {
        Some(ms) => s.serialize_str(&format_time(*ms)),
        None => s.serialize_none(),
    }
}

/// A background job as `patchman jobs` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct JobView {
    pub name: String,
    pub interval_ms: i64,
    #[serde(serialize_with = "time")]
    pub due_at: i64,
    pub lease_owner: Option<String>,
    #[serde(serialize_with = "opt_time")]
    pub lease_until: Option<i64>,
    pub runs: i64,
}

/// A repository as `patchman repo list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RepoView {
    pub id: i64,
    pub kind: PackageKind,
    pub name: String,
    pub repo_key: String,
    pub suite: String,
    pub component: String,
    pub arch: String,
    pub security: bool,
    /// `security` was set by an administrator; metadata no longer changes it.
    pub security_manual: bool,
    /// It needs credentials to be read (give them in `[[repos.source]]`).
    pub auth_required: bool,
    pub enabled: bool,
    pub revision: i64,
    pub package_count: i64,
    pub host_count: i64,
    /// The OS groups that hold it, by name.
    pub os_groups: Vec<String>,
    #[serde(serialize_with = "opt_time")]
    pub refreshed_at: Option<i64>,
    pub mirrors: Vec<MirrorView>,
}

impl RepoView {
    /// A mirror failed its last attempt or was disabled after failing.
    pub fn failing(&self) -> bool {
        self.mirrors.iter().any(|m| !m.enabled || m.fail_count > 0)
    }

    /// Enabled and not refreshed since the silence threshold (or never): the dashboard's
    /// "not refreshed lately". Repositories of the kinds kept as inventory only (arch,
    /// gentoo) are never refreshed, and never stale.
    pub fn stale(&self, clock: &Clock) -> bool {
        self.enabled && self.kind.has_updates() && self.refreshed_at.is_none_or(|t| t < clock.silent_before())
    }

    /// A mirror's metadata was taken without a signature check.
    pub fn unverified(&self) -> bool {
        self.mirrors.iter().any(MirrorView::unverified)
    }

    pub fn past_valid_until(&self) -> bool {
        self.mirrors.iter().any(|m| m.valid_until_passed)
    }

    /// No host uses it and no OS group holds it.
    pub fn unused(&self) -> bool {
        self.host_count == 0 && self.os_groups.is_empty()
    }

    pub fn matches(&self, f: &crate::query::RepoFilter, clock: &Clock) -> bool {
        let want = |wanted: Option<bool>, is: bool| wanted.is_none_or(|w| w == is);
        f.kind.as_deref().is_none_or(|k| k == self.kind.as_str())
            && want(f.security, self.security)
            && want(f.enabled, self.enabled)
            && want(f.failing, self.failing())
            && want(f.stale, self.stale(clock))
            && want(f.past_valid_until, self.past_valid_until())
            && want(f.unverified, self.unverified())
            && want(f.unused, self.unused())
            && f.search.as_deref().is_none_or(|s| {
                self.name.to_ascii_lowercase().contains(s)
                    || self.mirrors.iter().any(|m| m.url.to_ascii_lowercase().contains(s))
            })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MirrorView {
    pub id: i64,
    pub url: String,
    pub enabled: bool,
    pub fail_count: i64,
    pub last_error: String,
    #[serde(serialize_with = "opt_time")]
    pub last_success_at: Option<i64>,
    pub valid_until_passed: bool,
    /// Fingerprints of the keys that verified its metadata when it last changed, comma-separated;
    /// "" not verified; None not known yet.
    pub verified_by: Option<String>,
}

impl MirrorView {
    /// Its metadata was taken without a signature check.
    pub fn unverified(&self) -> bool {
        self.verified_by.as_deref() == Some("")
    }

    /// In words, for the repository page and `repo show`.
    pub fn trust(&self) -> String {
        match self.verified_by.as_deref() {
            None => "not refreshed yet".to_owned(),
            Some("") => "not verified (no keyring for it)".to_owned(),
            Some(keys) => format!("verified by {}", keys.replace(',', ", ")),
        }
    }
}

/// An OS group ("Debian 12"): its variants, how many hosts run it, and the repositories its
/// hosts use when they do not use only their own.
#[derive(Debug, Clone, Serialize)]
pub struct OsGroupView {
    pub name: String,
    pub variants: Vec<String>,
    pub host_count: i64,
    pub repos: Vec<RepoRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepoRef {
    pub id: i64,
    pub name: String,
}

/// A web UI account as `patchman user list` shows it (never its password hash).
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    pub name: String,
    pub role: crate::accounts::Role,
    #[serde(serialize_with = "time")]
    pub created_at: i64,
    #[serde(serialize_with = "time")]
    pub password_changed_at: i64,
}

/// An enrollment key as `patchman enrollment-key list` shows it (never the key).
#[derive(Debug, Clone, Serialize)]
pub struct EnrollmentKeyView {
    pub name: String,
    pub tags: Vec<String>,
    #[serde(serialize_with = "time")]
    pub created_at: i64,
    #[serde(serialize_with = "opt_time")]
    pub expires_at: Option<i64>,
    pub max_uses: Option<i64>,
    pub uses: i64,
    #[serde(serialize_with = "opt_time")]
    pub last_used_at: Option<i64>,
}

impl HostTokenView {
    /// In words, for `host show` and the host page.
    pub fn describe(token: Option<&Self>) -> String {
        let Some(t) = token else { return "none (revoked, or never enrolled)".to_owned() };
        let with = if t.enrolled_with.is_empty() {
            String::new()
        } else {
            format!(" with enrollment key {}", t.enrolled_with)
        };
        let used =
            t.last_used_at.map_or_else(|| "not used yet".to_owned(), |u| format!("last used {}", format_time(u)));
        format!("issued {}{with}, {used}", format_time(t.issued_at))
    }
}

/// An API key or token as `patchman token list` shows it (never the secret).
#[derive(Debug, Clone, Serialize)]
pub struct ApiKeyView {
    pub name: String,
    pub role: crate::auth::ApiRole,
    #[serde(serialize_with = "time")]
    pub created_at: i64,
    #[serde(serialize_with = "opt_time")]
    pub expires_at: Option<i64>,
    #[serde(serialize_with = "opt_time")]
    pub last_used_at: Option<i64>,
    /// Hosts whose last report came with this key (upload keys).
    pub hosts: i64,
}

/// One line of `patchman audit`.
#[derive(Debug, Clone, Serialize)]
pub struct AuditView {
    #[serde(serialize_with = "time")]
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// One version of a package name: who has it installed, who offers it.
#[derive(Debug, Clone, Serialize)]
pub struct PackageVersionView {
    pub kind: PackageKind,
    pub epoch: i64,
    pub version: String,
    pub release: String,
    pub arch: String,
    pub evr: String,
    /// Hosts that have this exact package installed.
    pub hosts: i64,
    /// Repositories that offer it (their names).
    pub repos: Vec<String>,
}

/// A host that has a package installed, and which of its repositories offer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackageHostView {
    pub hostname: String,
    pub evr: String,
    pub arch: String,
    /// The host's repositories that offer exactly this package, by name.
    pub repos: Vec<String>,
}

/// A page of the hosts that have a package.
#[derive(Debug, Clone, Serialize)]
pub struct PackageHosts {
    pub rows: Vec<PackageHostView>,
    /// How many hosts have it; `None` when not counted (SQLite stops probing at the page).
    pub total: Option<u64>,
    /// More hosts follow this page.
    pub more: bool,
}

/// One outstanding update as the updates page lists it: installed → available, how many of
/// the selected hosts need it, and a repository that offers it.
#[derive(Debug, Clone, Serialize)]
pub struct UpdatePairView {
    pub kind: PackageKind,
    pub name: String,
    pub arch: String,
    pub installed: String,
    pub available: String,
    pub security: bool,
    pub hosts: i64,
    pub repo: String,
}

/// A package name as the packages list shows it: how many versions (and arches) of it are
/// known, installed or offered.
#[derive(Debug, Clone, Serialize)]
pub struct PackageNameView {
    pub name: String,
    pub kind: PackageKind,
    pub versions: i64,
    pub arches: i64,
}

/// A transaction of some host, as the transactions list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HostTransactionView {
    pub hostname: String,
    #[serde(flatten)]
    pub transaction: TransactionView,
}

/// An erratum (advisory) a repository offers, with how many hosts need an update it names.
#[derive(Debug, Clone, Serialize)]
pub struct ErratumView {
    pub name: String,
    pub kind: String,
    pub severity: String,
    #[serde(serialize_with = "opt_time")]
    pub issued_at: Option<i64>,
    pub title: String,
    pub cves: Vec<String>,
    pub packages: i64,
    pub hosts: i64,
}
