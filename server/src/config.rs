//! Server configuration: defaults, then a TOML file, then `PATCHMAN_*` environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything `patchman serve` and the admin commands can be told.
#[derive(Clone, Deserialize)]
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
    /// Hosts that have not reported for this many days are shown as stale.
    pub stale_after_days: u32,
    /// Most connections to PostgreSQL per server.
    pub database_max_connections: u32,
    /// Background jobs.
    pub jobs: JobsConfig,
    /// Repository refresh.
    pub repos: ReposConfig,
}

/// `[repos]`: how repositories are refreshed.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReposConfig {
    /// How often `patchman serve` refreshes every repository (0: never).
    pub refresh_interval_seconds: u64,
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
    /// Settings for repositories whose URL starts with a prefix.
    #[serde(rename = "source")]
    pub sources: Vec<SourceConfig>,
}

impl Default for ReposConfig {
    fn default() -> Self {
        Self {
            refresh_interval_seconds: 4 * 3_600,
            max_mirror_failures: 20,
            mirrors_per_list: 5,
            timeout_seconds: 60,
            connect_timeout_seconds: 15,
            max_file_megabytes: 1_024,
            max_redirects: 5,
            proxy: None,
            keyrings: Vec::new(),
            sources: Vec::new(),
        }
    }
}

/// `[[repos.source]]`: keyring and credentials for the repositories under `url_prefix`.
#[derive(Clone, Default, Deserialize)]
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
#[derive(Debug, Clone, Deserialize)]
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
            stale_after_days: 14,
            database_max_connections: 16,
            jobs: JobsConfig::default(),
            repos: ReposConfig::default(),
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
            .field("stale_after_days", &self.stale_after_days)
            .field("database_max_connections", &self.database_max_connections)
            .field("jobs", &self.jobs)
            .field("repos", &self.repos)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("config file {path}: {source}")]
    Parse { path: String, source: toml::de::Error },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

impl Config {
    /// Defaults, overlaid with the TOML file when given, overlaid with the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
                toml::from_str(&text)
                    .map_err(|source| ConfigError::Parse { path: path.display().to_string(), source })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = var("PATCHMAN_LISTEN") {
            self.listen = v.parse().map_err(|e| env_err("PATCHMAN_LISTEN", e))?;
        }
        if let Some(v) = var("PATCHMAN_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = var("PATCHMAN_ENROLLMENT_KEY") {
            self.enrollment_key = Some(v);
        }
        if let Some(path) = var("PATCHMAN_ENROLLMENT_KEY_FILE") {
            let key = std::fs::read_to_string(&path).map_err(|e| env_err("PATCHMAN_ENROLLMENT_KEY_FILE", e))?;
            self.enrollment_key = Some(key.trim().to_owned());
        }
        parse_env(&var, "PATCHMAN_MAX_MESSAGE_BYTES", &mut self.max_message_bytes)?;
        parse_env(&var, "PATCHMAN_MAX_PACKAGES", &mut self.max_packages)?;
        parse_env(&var, "PATCHMAN_STALE_AFTER_DAYS", &mut self.stale_after_days)?;
        parse_env(&var, "PATCHMAN_DATABASE_MAX_CONNECTIONS", &mut self.database_max_connections)?;
        let jobs = &mut self.jobs;
        parse_env(&var, "PATCHMAN_JOB_LEASE_SECONDS", &mut jobs.lease_seconds)?;
        parse_env(&var, "PATCHMAN_PRUNE_INTERVAL_SECONDS", &mut jobs.prune_interval_seconds)?;
        parse_env(&var, "PATCHMAN_REPORTS_KEPT_PER_HOST", &mut jobs.reports_kept_per_host)?;
        parse_env(&var, "PATCHMAN_TRANSACTIONS_KEPT_DAYS", &mut jobs.transactions_kept_days)?;
        parse_env(&var, "PATCHMAN_RECOMPUTE_INTERVAL_SECONDS", &mut jobs.recompute_interval_seconds)?;
        parse_env(&var, "PATCHMAN_PROBE_INTERVAL_MS", &mut jobs.probe_interval_ms)?;
        parse_env(&var, "PATCHMAN_PROBE_DURATION_MS", &mut jobs.probe_duration_ms)?;
        let repos = &mut self.repos;
        parse_env(&var, "PATCHMAN_REFRESH_INTERVAL_SECONDS", &mut repos.refresh_interval_seconds)?;
        parse_env(&var, "PATCHMAN_MAX_MIRROR_FAILURES", &mut repos.max_mirror_failures)?;
        if let Some(v) = var("PATCHMAN_REPOS_PROXY") {
            repos.proxy = Some(v);
        }
        if let Some(v) = var("PATCHMAN_REPOS_KEYRINGS") {
            repos.keyrings = v.split(':').filter(|p| !p.is_empty()).map(PathBuf::from).collect();
        }
        if self.enrollment_key.as_deref().is_some_and(|k| k.trim().len() < 16) {
            return Err(ConfigError::Env {
                name: "PATCHMAN_ENROLLMENT_KEY",
                message: "the enrollment key must be at least 16 characters".to_owned(),
            });
        }
        Ok(())
    }
}

/// Overrides `field` with the parsed value of the variable `name`, if it is set.
fn parse_env<T: std::str::FromStr>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    field: &mut T,
) -> Result<(), ConfigError>
where
    T::Err: fmt::Display,
{
    if let Some(v) = var(name) {
        *field = v.trim().parse().map_err(|e| env_err(name, e))?;
    }
    Ok(())
}

fn env_err(name: &'static str, err: impl fmt::Display) -> ConfigError {
    ConfigError::Env { name, message: err.to_string() }
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
        let path = crate::config::tests::example();
        let text = std::fs::read_to_string(&path).unwrap();
        let example: Config = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let defaults = Config::default();
        assert_eq!(format!("{:?}", example.jobs), format!("{:?}", defaults.jobs));
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
    fn environment_overrides_file_which_overrides_defaults() {
        let mut config: Config = toml::from_str("listen = \"0.0.0.0:9000\"\nmax_packages = 5").unwrap();
        assert_eq!(config.max_packages, 5);
        assert_eq!(config.database_url, "sqlite://patchman.db");
        config.apply_env(|name| (name == "PATCHMAN_LISTEN").then(|| "127.0.0.1:7000".to_owned())).unwrap();
        assert_eq!(config.listen.port(), 7000);
        assert_eq!(config.max_packages, 5);
    }

    #[test]
    fn unknown_keys_and_short_keys_are_refused() {
        assert!(toml::from_str::<Config>("lisen = \"0.0.0.0:9000\"").is_err());
        let mut config = Config::default();
        let err = config.apply_env(|n| (n == "PATCHMAN_ENROLLMENT_KEY").then(|| "short".to_owned())).unwrap_err();
        assert!(err.to_string().contains("PATCHMAN_ENROLLMENT_KEY"));
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
