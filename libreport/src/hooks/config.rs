//! The reporter's configuration, shared by `patchman-client`, the apt hook, the C ABI and the
//! Python module: `/etc/patchman/client.toml` (or the file `PATCHMAN_CONFIG` names), then
//! the environment (`PATCHMAN_SERVER`, `PATCHMAN_STATE_DIR`), then what the caller sets.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::state::DEFAULT_STATE_DIR;

pub const DEFAULT_CONFIG_PATH: &str = "/etc/patchman/client.toml";
pub const DEFAULT_CLIENT: &str = "/usr/bin/patchman-client";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// The server, e.g. `https://patchman.example.org:8080`. Without it reports stay spooled.
    pub server: Option<String>,
    /// With an https:// server: trust only the CAs in this PEM file (default: the system's
    /// trust store).
    pub ca_file: Option<PathBuf>,
    /// A client certificate (PEM) and its key, for servers that require one.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// The host token and the spool.
    pub state_dir: PathBuf,
    /// Read the host's files under this directory.
    pub root: PathBuf,
    /// Read installed Debian packages from this status file instead of
    /// `<root>/var/lib/dpkg/status` (wins over what apt or dpkg say).
    pub dpkg_status: Option<PathBuf>,
    /// Report under this host name instead of the host's own.
    pub hostname: Option<String>,
    pub tags: Vec<String>,
    /// The `patchman-client` that delivers the spool in the background.
    pub client: PathBuf,
    /// Start a background delivery after each hook run (else only the timer delivers).
    pub deliver: bool,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            server: None,
            ca_file: None,
            client_cert: None,
            client_key: None,
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            root: PathBuf::from("/"),
            dpkg_status: None,
            hostname: None,
            tags: Vec::new(),
            client: PathBuf::from(DEFAULT_CLIENT),
            deliver: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {error}")]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("unknown setting {0:?}")]
    UnknownKey(String),
    #[error("setting {key}: {value:?} is not a boolean")]
    NotABool { key: String, value: String },
}

impl ClientConfig {
    /// Reads `path`, else the file `PATCHMAN_CONFIG` names, else `/etc/patchman/client.toml`
    /// when it exists (defaults when not), then applies the environment. A file named
    /// explicitly must exist.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let env_path = std::env::var_os("PATCHMAN_CONFIG").filter(|p| !p.is_empty()).map(PathBuf::from);
        let mut config = match path.map(Path::to_owned).or(env_path) {
            Some(path) => Self::read(&path)?,
            None if Path::new(DEFAULT_CONFIG_PATH).exists() => Self::read(Path::new(DEFAULT_CONFIG_PATH))?,
            None => Self::default(),
        };
        for (var, key) in [("PATCHMAN_SERVER", "server"), ("PATCHMAN_STATE_DIR", "state_dir")] {
            if let Some(value) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
                config.set(key, &value)?;
            }
        }
        Ok(config)
    }

    /// Parses one TOML file.
    pub fn read(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read { path: path.to_owned(), error })?;
        Self::parse(&text).map_err(|message| ConfigError::Parse { path: path.to_owned(), message })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    /// Sets one setting from text, as the dnf plugin's config and the C ABI pass them:
    /// `server`, `ca_file`, `client_cert`, `client_key`, `state_dir`, `root`, `dpkg_status`,
    /// `hostname`, `tags` (comma-separated),
    /// `client`, `deliver` (1/0, true/false, yes/no). An empty value unsets an optional one.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), ConfigError> {
        let value = value.trim();
        let optional = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        match key {
            "server" => self.server = optional(value),
            "state_dir" if !value.is_empty() => self.state_dir = PathBuf::from(value),
            "root" if !value.is_empty() => self.root = PathBuf::from(value),
            "state_dir" | "root" => {}
            "dpkg_status" => self.dpkg_status = optional(value).map(PathBuf::from),
            "ca_file" => self.ca_file = optional(value).map(PathBuf::from),
            "client_cert" => self.client_cert = optional(value).map(PathBuf::from),
            "client_key" => self.client_key = optional(value).map(PathBuf::from),
            "hostname" => self.hostname = optional(value),
            "tags" => {
                self.tags = value.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
            }
            "client" if !value.is_empty() => self.client = PathBuf::from(value),
            "client" => {}
            "deliver" => {
                self.deliver = match value.to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => true,
                    "0" | "false" | "no" | "off" => false,
                    _ => return Err(ConfigError::NotABool { key: key.to_owned(), value: value.to_owned() }),
                }
            }
            other => return Err(ConfigError::UnknownKey(other.to_owned())),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_sets_what_it_names_and_defaults_fill_the_rest() {
        let c =
            ClientConfig::parse("server = \"http://pm:8080\"\ntags = [\"web\", \"prod\"]\ndeliver = false\n").unwrap();
        assert_eq!(c.server.as_deref(), Some("http://pm:8080"));
        assert_eq!(c.tags, ["web", "prod"]);
        assert!(!c.deliver);
        assert_eq!(c.state_dir, Path::new("/var/lib/patchman-client"));
        assert_eq!(c.client, Path::new(DEFAULT_CLIENT));
        assert_eq!(ClientConfig::parse("").unwrap(), ClientConfig::default());
    }

    #[test]
    fn typos_are_errors_not_silence() {
        let err = ClientConfig::parse("sever = \"x\"").unwrap_err();
        assert!(err.contains("sever"), "{err}");
        assert!(matches!(ClientConfig::default().set("sever", "x"), Err(ConfigError::UnknownKey(_))));
        assert!(matches!(ClientConfig::default().set("deliver", "maybe"), Err(ConfigError::NotABool { .. })));
    }

    #[test]
    fn settings_from_text() {
        let mut c = ClientConfig::default();
        for (k, v) in [("server", "http://a"), ("tags", " web, ,db "), ("root", "/srv/r"), ("deliver", "No")] {
            c.set(k, v).unwrap();
        }
        assert_eq!(
            (c.server.as_deref(), c.tags.as_slice()),
            (Some("http://a"), ["web".to_owned(), "db".to_owned()].as_slice())
        );
        assert_eq!((c.root.as_path(), c.deliver), (Path::new("/srv/r"), false));
        c.set("server", "").unwrap();
        c.set("root", "").unwrap();
        assert_eq!((c.server, c.root), (None, PathBuf::from("/srv/r")));
    }
}
