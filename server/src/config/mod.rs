//! Server configuration: defaults, then a TOML file, then `PATCHMAN_*` environment variables
//! (`env.rs` holds the rule that maps a variable to a key).

mod advisories;
mod env;

pub use advisories::{AdvisoriesConfig, FeedConfig};

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Everything `patchman serve` and the admin commands can be told.
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The one address for gRPC and HTTP.
    pub listen: SocketAddr,
    /// `sqlite://path` (created on first start) or `postgres://…`.
    pub database_url: String,
    /// The site's enrollment key. When unset, the server generates one on first start and
    /// keeps it in the database (`patchman enrollment-key` prints it).
    pub enrollment_key: Option<String>,
    /// Largest accepted gRPC message.
    pub max_message_bytes: usize,
    /// Most packages one report may list.
    pub max_packages: usize,
    /// A host that has not reported for this many days is shown as silent.
    pub silent_after_days: u32,
    /// Most connections to PostgreSQL per server.
    pub database_max_connections: u32,
    /// On SIGTERM the server stops accepting, finishes what is in flight and stops its jobs
    /// at a safe point; whatever is still running after this long is abandoned (its
    /// transactions roll back) and the process exits.
    pub shutdown_grace_seconds: u64,
    /// Background jobs.
    pub jobs: JobsConfig,
    /// Repository refresh.
    pub repos: ReposConfig,
    /// The web UI's sign-in.
    pub web: WebConfig,
    /// Uploads from Patchman's own clients (`patchman-client`).
    pub compat: CompatConfig,
    /// The query API and operations endpoints.
    pub api: ApiConfig,
    /// TLS on the one port.
    pub tls: TlsConfig,
    /// Limits against abuse.
    pub limits: LimitsConfig,
    /// Security feeds.
    pub advisories: AdvisoriesConfig,
    /// Finding updates.
    pub updates: UpdatesConfig,
}

/// `[updates]`: the updater that finds every host's updates.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdatesConfig {
    /// Memory for the repositories' lookup indexes and the installed packages' rows kept
    /// between recomputations; past it, the least needed are dropped and read again when due.
    pub cache_megabytes: usize,
}

impl Default for UpdatesConfig {
    fn default() -> Self {
        Self { cache_megabytes: crate::updates::DEFAULT_CACHE_BYTES >> 20 }
    }
}

/// `[limits]`: against a client that enrolls or reports in a loop, or guesses keys. The
/// defaults are far above what a 10,000-host site does; 0 turns a rate limit off.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Enrollments from one address a minute (a NAT in front of many new hosts counts once).
    pub enrollments_per_minute_per_source: u32,
    /// Enrollments with one key a minute.
    pub enrollments_per_minute_per_key: u32,
    /// Failed enrollments (wrong, expired or used-up key) from one address a minute; more are
    /// refused without looking at the key.
    pub failed_enrollments_per_minute_per_source: u32,
    /// Reports from one host a minute (a burst of as many is allowed); more are refused with
    /// RESOURCE_EXHAUSTED (gRPC) or 429 (Patchman's uploads) and wait in the host's spool.
    pub reports_per_minute_per_host: u32,
    /// Open connections in all, and from one source address; more are closed at once.
    pub max_connections: usize,
    pub max_connections_per_source: usize,
    /// Concurrent requests (HTTP/2 streams) on one connection.
    pub max_streams_per_connection: u32,
    /// An HTTP/1 client must send its request's headers within this long (slowloris).
    pub header_read_timeout_seconds: u64,
    /// Largest request head (HTTP/1 headers, HTTP/2 header list).
    pub max_header_bytes: usize,
    /// A request must be answered within this long (watch streams excepted): DEADLINE_EXCEEDED
    /// or 503 after it.
    pub request_timeout_seconds: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            enrollments_per_minute_per_source: 3_000,
            enrollments_per_minute_per_key: 10_000,
            failed_enrollments_per_minute_per_source: 10,
            reports_per_minute_per_host: 30,
            max_connections: 10_000,
            max_connections_per_source: 1_000,
            max_streams_per_connection: 256,
            header_read_timeout_seconds: 10,
            max_header_bytes: 64 * 1024,
            request_timeout_seconds: 120,
        }
    }
}

/// `[tls]`: gRPC and HTTP over TLS on the one port (rustls; ALPN h2 and http/1.1). With
/// `cert` and `key` set, plain-text connections are refused. Both files are read again when
/// they change or on SIGHUP; connections already open keep going.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain (PEM, the server's certificate first).
    pub cert: Option<PathBuf>,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// When set, every client must present a certificate issued by one of these CAs (PEM).
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: a host's reports and enrollment are accepted only when its client
    /// certificate names the host (a subjectAltName DNS entry equal to the reported name).
    pub client_cert_names_host: bool,
    /// A connection that has not finished its TLS handshake after this long is closed.
    pub handshake_timeout_seconds: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self { cert: None, key: None, client_ca: None, client_cert_names_host: false, handshake_timeout_seconds: 10 }
    }
}

impl TlsConfig {
    pub fn enabled(&self) -> bool {
        self.cert.is_some() || self.key.is_some()
    }
}

/// `[api]`: the gRPC query API's watch stream, and `/metrics`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Batches of host events kept for watchers that have not read them yet; a watcher that
    /// falls further behind is ended (it resumes from its cursor).
    pub watch_buffer_batches: usize,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self { watch_buffer_batches: 1_024, metrics_token: None }
    }
}

/// `[compat]`: who may upload Patchman protocol-1 and protocol-2 reports without credentials.
/// By default every upload needs a host token (`Authorization: Bearer`) or an API key
/// (`Authorization: Api-Key`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompatConfig {
    /// Networks (CIDRs, e.g. "10.0.0.0/8") whose hosts may upload without credentials, as
    /// Patchman allowed everyone. A host so reported is marked as such, and can never
    /// overwrite a host that has a token or reports with an API key.
    pub unauthenticated_networks: Vec<String>,
    /// Reverse proxies in front of the server (CIDRs): for a request from one of them, the
    /// client's address is the last `X-Forwarded-For` entry that is not a proxy.
    pub trusted_proxies: Vec<String>,
}

/// `[web]`: sign-in sessions and their cookie.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebConfig {
    /// Marks the session cookie `Secure` (it also is with `[tls]`, and when a proxy sends
    /// `X-Forwarded-Proto: https`). Set it when a TLS proxy serves the UI.
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle_seconds: u64,
    /// A session ends this long after sign-in, however active.
    pub session_max_seconds: u64,
    /// Failed sign-ins for one account, or from one address, within `login_window_seconds`
    /// after which further attempts are refused until the window passes.
    pub login_max_failures: u64,
    pub login_window_seconds: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            session_idle_seconds: 8 * 3_600,
            session_max_seconds: 7 * 86_400,
            login_max_failures: 5,
            login_window_seconds: 300,
        }
    }
}

impl WebConfig {
    /// The session lifetimes, in the unit the store keeps.
    pub fn session_policy(&self) -> crate::accounts::SessionPolicy {
        crate::accounts::SessionPolicy {
            idle_ms: (self.session_idle_seconds.max(1) * 1000) as i64,
            absolute_ms: (self.session_max_seconds.max(1) * 1000) as i64,
        }
    }
}

/// `[repos]`: how repositories are refreshed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReposConfig {
    /// How often `patchman serve` refreshes every repository (0: never).
    pub refresh_interval_seconds: u64,
    /// How often it looks for repositories never refreshed yet (first named by a report) and
    /// refreshes them (0: they wait for the next full refresh). Only with the background
    /// refresh on.
    pub new_repo_interval_seconds: u64,
    /// A mirror failing this many times in a row is disabled (0: never).
    pub max_mirror_failures: i64,
    /// Most mirrors taken from one mirrorlist or metalink.
    pub mirrors_per_list: usize,
    pub timeout_seconds: u64,
    pub connect_timeout_seconds: u64,
    /// Largest metadata file fetched, compressed or not.
    pub max_file_megabytes: u64,
    pub max_redirects: usize,
    /// Proxy for every repository; else `https_proxy`/`http_proxy` from the environment.
    pub proxy: Option<String>,
    /// OpenPGP keyrings that apt repositories must be signed with (e.g.
    /// /usr/share/keyrings/debian-archive-keyring.gpg). Empty: Release files are not verified
    /// unless a `[[repos.source]]` names a keyring.
    pub keyrings: Vec<PathBuf>,
    /// OpenPGP keys that yum/dnf repositories' repomd.xml must be signed with (repomd.xml.asc,
    /// as dnf's repo_gpgcheck with gpgkey=), e.g. /etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9. Empty:
    /// repomd.xml is not verified unless a `[[repos.source]]` names a keyring.
    pub rpm_keyrings: Vec<PathBuf>,
    /// Refuse a repository whose metadata cannot be verified (no keyring for it), as a bad
    /// signature is refused.
    pub require_signed: bool,
    /// Settings for repositories whose URL starts with a prefix.
    #[serde(rename = "source")]
    pub sources: Vec<SourceConfig>,
}

impl Default for ReposConfig {
    fn default() -> Self {
        Self {
            refresh_interval_seconds: 4 * 3_600,
            new_repo_interval_seconds: 60,
            max_mirror_failures: 20,
            mirrors_per_list: 5,
            timeout_seconds: 60,
            connect_timeout_seconds: 15,
            max_file_megabytes: 1_024,
            max_redirects: 5,
            proxy: None,
            keyrings: Vec::new(),
            rpm_keyrings: Vec::new(),
            require_signed: false,
            sources: Vec::new(),
        }
    }
}

/// `[[repos.source]]`: keyring and credentials for the repositories under `url_prefix`.
#[derive(Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    pub url_prefix: String,
    /// Keyrings for these repositories (instead of the global ones).
    pub keyrings: Vec<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// The password, read from a file (preferred over `password`).
    pub password_file: Option<PathBuf>,
    /// A TLS client certificate and its key, PEM.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

impl fmt::Debug for SourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceConfig")
            .field("url_prefix", &self.url_prefix)
            .field("keyrings", &self.keyrings)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("password_file", &self.password_file)
            .field("client_cert", &self.client_cert)
            .field("client_key", &self.client_key)
            .finish()
    }
}

/// `[jobs]`: background work shared out between the servers of one database.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct JobsConfig {
    /// How long a server's claim on a running job lasts without renewal; a job whose server
    /// died is taken over after this.
    pub lease_seconds: u64,
    /// How often old reports and transactions are pruned.
    pub prune_interval_seconds: u64,
    /// Report rows kept per host.
    pub reports_kept_per_host: i64,
    /// Transaction records are kept this long.
    pub transactions_kept_days: u64,
    /// How often hosts left stale are recomputed (reports trigger their host at once).
    pub recompute_interval_seconds: u64,
    /// How often hosts that fell silent are announced to the query API's watchers.
    pub silence_interval_seconds: u64,
    /// A no-op job that holds its lease for `probe_duration_ms`, every `probe_interval_ms`
    /// (0: off): shows jobs being shared out and taken over.
    pub probe_interval_ms: u64,
    pub probe_duration_ms: u64,
}

impl Default for JobsConfig {
    fn default() -> Self {
        Self {
            lease_seconds: 60,
            prune_interval_seconds: 3_600,
            reports_kept_per_host: 50,
            transactions_kept_days: 365,
            recompute_interval_seconds: 60,
            silence_interval_seconds: 60,
            probe_interval_ms: 0,
            probe_duration_ms: 0,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite://patchman.db".to_owned(),
            enrollment_key: None,
            max_message_bytes: 32 * 1024 * 1024,
            max_packages: 100_000,
            silent_after_days: 14,
            database_max_connections: 16,
            shutdown_grace_seconds: 30,
            jobs: JobsConfig::default(),
            repos: ReposConfig::default(),
            web: WebConfig::default(),
            compat: CompatConfig::default(),
            api: ApiConfig::default(),
            tls: TlsConfig::default(),
            limits: LimitsConfig::default(),
            advisories: AdvisoriesConfig::default(),
            updates: UpdatesConfig::default(),
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &redact_url(&self.database_url))
            .field("enrollment_key", &self.enrollment_key.as_ref().map(|_| "<redacted>"))
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_packages", &self.max_packages)
            .field("silent_after_days", &self.silent_after_days)
            .field("database_max_connections", &self.database_max_connections)
            .field("shutdown_grace_seconds", &self.shutdown_grace_seconds)
            .field("jobs", &self.jobs)
            .field("repos", &self.repos)
            .field("web", &self.web)
            .field("compat", &self.compat)
            .field("api", &ApiDebug(&self.api))
            .field("tls", &self.tls)
            .field("limits", &self.limits)
            .field("advisories", &self.advisories)
            .field("updates", &self.updates)
            .finish()
    }
}

struct ApiDebug<'a>(&'a ApiConfig);

impl fmt::Debug for ApiDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiConfig")
            .field("watch_buffer_batches", &self.0.watch_buffer_batches)
            .field("metrics_token", &self.0.metrics_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Where a value came from, for errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    File(String),
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => write!(f, "config file {path}"),
            Self::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: String, source: toml::de::Error },
    /// A value that does not fit its key, and whether it came from the file or a variable.
    #[error("{origin}: {message}")]
    Invalid { origin: Origin, message: String },
}

/// A loaded configuration and what was worth saying about it (unknown variables, old names).
pub struct Loaded {
    pub config: Config,
    pub warnings: Vec<String>,
}

impl Config {
    /// Defaults, overlaid with the TOML file when given, overlaid with the environment.
    pub fn load(file: Option<&Path>) -> Result<Loaded, ConfigError> {
        let file = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
                Some((path.display().to_string(), text))
            }
            None => None,
        };
        let vars = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Self::from_sources(file.as_ref().map(|(p, t)| (p.as_str(), t.as_str())), vars)
    }

    /// `file` is (path, text); `vars` the process environment (other variables are ignored).
    pub fn from_sources(
        file: Option<(&str, &str)>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigError> {
        let (mut table, origin) = match file {
            Some((path, text)) => {
                let table: toml::Table =
                    toml::from_str(text).map_err(|source| ConfigError::Parse { path: path.to_owned(), source })?;
                (table, Origin::File(path.to_owned()))
            }
            None => (toml::Table::new(), Origin::File("(none)".to_owned())),
        };
        let mut config: Config = Config::deserialize(table.clone())
            .map_err(|e| ConfigError::Invalid { origin: origin.clone(), message: e.message().to_owned() })?;
        let mut key_origin = origin;
        let warnings = env::overlay(&mut table, &mut config, vars, &mut key_origin)?;
        if config.enrollment_key.as_deref().is_some_and(|k| k.trim().len() < 16) {
            return Err(ConfigError::Invalid {
                origin: key_origin,
                message: "enrollment_key: must be at least 16 characters".to_owned(),
            });
        }
        if let Some(problem) = config.advisories.problems().into_iter().next() {
            return Err(ConfigError::Invalid { origin: key_origin, message: problem });
        }
        Ok(Loaded { config, warnings })
    }
}

/// Hides the password of a database URL.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:<redacted>{}", &url[..scheme_end + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_and_states_the_defaults() {
        let path = example();
        let text = std::fs::read_to_string(&path).unwrap();
        let example: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let defaults = Config::default();
        assert_eq!(format!("{:?}", example.jobs), format!("{:?}", defaults.jobs));
        assert_eq!(format!("{:?}", example.updates), format!("{:?}", defaults.updates));
        assert_eq!(format!("{:?}", example.web), format!("{:?}", defaults.web));
        assert_eq!(format!("{:?}", example.limits), format!("{:?}", defaults.limits));
        assert_eq!(format!("{:?}", example.tls), format!("{:?}", defaults.tls));
        assert_eq!((example.listen, example.database_url.as_str()), (defaults.listen, defaults.database_url.as_str()));
        assert_eq!(
            (example.max_message_bytes, example.max_packages),
            (defaults.max_message_bytes, defaults.max_packages)
        );
        let mut repos = example.repos.clone();
        assert_eq!(repos.keyrings, [PathBuf::from("/usr/share/keyrings/debian-archive-keyring.gpg")]);
        repos.keyrings.clear();
        assert_eq!(format!("{repos:?}"), format!("{:?}", defaults.repos));
    }

    fn example() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/server.toml.example")
    }

    #[test]
    fn web_keys_come_from_the_environment_too() {
        let vars = [
            ("PATCHMAN_WEB__SECURE_COOKIES".to_owned(), "true".to_owned()),
            ("PATCHMAN_WEB__SESSION_IDLE_SECONDS".to_owned(), "60".to_owned()),
        ];
        let web = Config::from_sources(None, vars).unwrap().config.web;
        assert!(web.secure_cookies);
        assert_eq!(web.session_policy().idle_ms, 60_000);
        assert_eq!(Config::default().web.session_policy(), crate::accounts::SessionPolicy::default());
    }

    #[test]
    fn unknown_keys_and_short_keys_are_refused_and_say_where_they_came_from() {
        let err = Config::from_sources(Some(("/etc/p.toml", "lisen = \"0.0.0.0:9000\"")), []).err().unwrap();
        assert!(err.to_string().contains("/etc/p.toml") && err.to_string().contains("lisen"), "{err}");

        let vars = [("PATCHMAN_ENROLLMENT_KEY".to_owned(), "short".to_owned())];
        let err = Config::from_sources(None, vars).err().unwrap().to_string();
        assert!(err.contains("environment variable PATCHMAN_ENROLLMENT_KEY"), "{err}");

        let err = Config::from_sources(Some(("/etc/p.toml", "enrollment_key = \"short\"")), []).err().unwrap();
        assert!(err.to_string().starts_with("config file /etc/p.toml"), "{err}");
    }

    #[test]
    fn debug_redacts_secrets() {
        let config = Config {
            database_url: "postgres://pm:hunter2@db/pm".to_owned(),
            enrollment_key: Some("a-very-secret-enrollment-key".to_owned()),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("very-secret"), "{shown}");
    }
}
