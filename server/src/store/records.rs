//! What the store answers to its writers and workers (read models for pages are in
//! `views.rs`): ingest and enrollment outcomes, engine input, refresh targets, claimed jobs.

/// What happened to a report that the host was allowed to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// The host's state changed and was written.
    Stored { package_count: u32, added: u32, removed: u32 },
    /// Same state as before: only last-seen was refreshed.
    Unchanged { package_count: u32 },
    /// This report id was stored before.
    Duplicate { package_count: u32 },
    /// A report generated later is already applied; only transactions were kept.
    Superseded { package_count: u32 },
}

impl IngestOutcome {
    pub fn package_count(self) -> u32 {
        match self {
            Self::Stored { package_count, .. }
            | Self::Unchanged { package_count }
            | Self::Duplicate { package_count }
            | Self::Superseded { package_count } => package_count,
        }
    }
}

/// Why a report was refused before anything was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestRejection {
    /// The token belongs to no host.
    UnknownToken,
    /// The token belongs to another host.
    WrongHost { token_host: String },
    /// The API key is unknown, revoked or expired.
    UnknownKey,
    /// The host has a token of its own (it enrolled over gRPC or was given one): only that
    /// token may report for it.
    HostHasToken,
    /// The host reports with an API key: a report without credentials may not change it.
    HostNeedsKey,
}

/// How a host's last report proved who sent it (`hosts.auth_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// Not reported yet (brought over by `import-patchman`).
    NotYet = 0,
    /// Its own host token (gRPC enrollment, or `patchman host token` for Patchman's client).
    HostToken = 1,
    /// An API key (`patchman api-key create`).
    ApiKey = 2,
    /// No credential, from a network an administrator listed.
    Network = 3,
}

impl AuthKind {
    pub fn from_i64(v: i64) -> Self {
        match v {
            1 => Self::HostToken,
            2 => Self::ApiKey,
            3 => Self::Network,
            _ => Self::NotYet,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnrollOutcome {
    /// A new host, or a known host re-enrolling from the same machine: the token is stored.
    Enrolled,
    /// The hostname is enrolled from another machine.
    Conflict,
    /// The enrollment key is unknown, expired or used up (the reason, naming the key).
    KeyRefused(String),
}

/// What the engine needs of one host, with its packages as ids (the caller resolves them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostWork {
    pub host_id: i64,
    /// The version of the state this was read from: a verdict is saved only for it.
    pub state_version: i64,
    pub kernel: String,
    pub arch: String,
    pub package_ids: Vec<i64>,
    /// Enabled module streams.
    pub modules: Vec<(String, String)>,
    /// The repositories whose packages count for the host.
    pub repos: Vec<UsedRepo>,
}

/// A repository as one host uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedRepo {
    pub id: i64,
    /// The host's priority for it (apt's pin priority, dnf's `priority`).
    pub priority: i32,
    /// Its revision when the host was read: 0 while never refreshed (contents unknown).
    pub revision: i64,
}

/// A repository to refresh and its mirrors, best first.
#[derive(Debug, Clone)]
pub struct RefreshTarget {
    pub repo_id: i64,
    pub kind: crate::report::PackageKind,
    pub name: String,
    pub repo_key: String,
    pub mirrors: Vec<MirrorState>,
    /// Whether any refresh of it ever succeeded.
    pub refreshed: bool,
}

/// A mirror and what its last good refresh saw.
#[derive(Debug, Clone)]
pub struct MirrorState {
    pub id: i64,
    pub url: String,
    pub kind: crate::report::UrlKind,
    pub enabled: bool,
    pub fail_count: i64,
    pub checksum: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// A due job this process now holds the lease of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    pub name: String,
    /// The due time of this run: with the name, it identifies the run.
    pub due_at: i64,
    pub interval_ms: i64,
    /// 1 for a first attempt; more when taking over from an owner whose lease expired.
    pub attempt: i64,
}

/// A web UI account as sign-in needs it.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub role: crate::accounts::Role,
    pub password_hash: String,
}

/// A session found by its id's hash, with its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_name: String,
    pub role: crate::accounts::Role,
    pub csrf_token: String,
    pub created_at: i64,
    pub last_seen_at: i64,
}

/// What an import brought, and what it skipped and why: one line per item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub lines: Vec<ImportLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportLine {
    /// "repository", "mirror", "OS group", "OS variant", "host", …
    pub what: &'static str,
    pub name: String,
    /// `None`: brought; else why it was skipped or what was kept.
    pub skipped: Option<String>,
}

impl ImportSummary {
    pub fn brought(&mut self, what: &'static str, name: impl Into<String>) {
        self.lines.push(ImportLine { what, name: name.into(), skipped: None });
    }

    pub fn skipped(&mut self, what: &'static str, name: impl Into<String>, why: impl Into<String>) {
        self.lines.push(ImportLine { what, name: name.into(), skipped: Some(why.into()) });
    }

    /// How many lines brought something.
    pub fn brought_count(&self) -> usize {
        self.lines.iter().filter(|l| l.skipped.is_none()).count()
    }
}

/// A change of a host's status, as the watch stream reads them in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEvent {
    pub seq: i64,
    pub hostname: String,
    pub at: i64,
    pub deleted: bool,
}
