//! What package-manager hooks share (the apt hook, the C ABI, the dnf plugin's Python module,
//! `patchman-client --detach`): collect the host's state, spool it with a record of the
//! transaction, and hand delivery to a detached `patchman-client --flush`, so that a hook
//! costs a few milliseconds whether the server is up, down or hanging.

pub mod config;
pub mod diff;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::collect::dpkg_status::{self, DEFAULT_STATUS_PATH};
use crate::collect::{CollectError, CollectOptions, collect};
use crate::model::{PackageChange, Report, Transaction, Trigger, new_id, now_ms};
use crate::spool::{Spool, SpoolError};

pub use self::config::{ClientConfig, ConfigError};

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("while collecting: {0}")]
    Collect(CollectError),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("no server configured (set `server` in {config}); the report waits in the spool")]
    NoServer { config: &'static str },
    #[error("cannot start {client}: {error}; the report waits in the spool")]
    Spawn { client: PathBuf, error: std::io::Error },
}

/// What [`Reporter::report`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// The transaction record spooled, if any.
    pub transaction_id: Option<String>,
    pub package_count: usize,
    /// The spool was full and refused the transaction record (the state was still kept).
    pub record_refused: bool,
    /// Whether a background delivery was started.
    pub delivery_started: bool,
}

/// Collects changes of one transaction, then reports them with the host's new state.
#[derive(Debug, Clone)]
pub struct Reporter {
    config: ClientConfig,
    tool: String,
    changes: Vec<PackageChange>,
    status_hint: Option<PathBuf>,
}

impl Reporter {
    /// `tool` names the package manager in transaction records ("apt", "dnf", "dpkg").
    pub fn new(config: ClientConfig, tool: &str) -> Self {
        Self { config, tool: tool.to_owned(), changes: Vec::new(), status_hint: None }
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub fn config_mut(&mut self) -> &mut ClientConfig {
        &mut self.config
    }

    pub fn set_tool(&mut self, tool: &str) {
        tool.clone_into(&mut self.tool);
    }

    /// Where the package manager says the dpkg status file is (apt's `Dir::State::status`,
    /// dpkg's `$DPKG_ADMINDIR/status`). Used unless the configuration names one.
    pub fn set_status_hint(&mut self, path: impl Into<PathBuf>) {
        self.status_hint = Some(path.into());
    }

    /// Adds one change to the transaction being recorded.
    pub fn record(&mut self, change: PackageChange) {
        self.changes.push(change);
    }

    pub fn changes(&self) -> &[PackageChange] {
        &self.changes
    }

    /// Collects the host's state and spools it. With [`Trigger::Transaction`] a transaction
    /// record goes with it: the recorded changes, or when none were recorded the difference
    /// from the last spooled state. Then starts a background delivery. The recorded changes
    /// are cleared once they are on disk.
    pub fn report(&mut self, trigger: Trigger) -> Result<Reported, HookError> {
        let config = &self.config;
        let options =
            CollectOptions { root: config.root.clone(), hostname: config.hostname.clone(), kernel: None, arch: None };
        let mut state = collect(&options).map_err(HookError::Collect)?;
        if let Some(status) = self.status_file() {
            state.packages = dpkg_status::read_status_file(&status).map_err(HookError::Collect)?;
            state.packages.sort_by(|a, b| {
                (&a.name, &a.arch, a.epoch, &a.version, &a.release)
                    .cmp(&(&b.name, &b.arch, b.epoch, &b.version, &b.release))
            });
        }
        let spool = Spool::in_state_dir(&config.state_dir)?;
        let transaction = (trigger == Trigger::Transaction)
            .then(|| {
                let changes = if self.changes.is_empty() {
                    spool.last_state().map(|last| diff::diff(&last.state.packages, &state.packages)).unwrap_or_default()
                } else {
                    self.changes.clone()
                };
                (!changes.is_empty()).then(|| Transaction {
                    transaction_id: new_id(),
                    finished_at_ms: now_ms(),
                    tool: self.tool.clone(),
                    changes,
                })
            })
            .flatten();
        let package_count = state.packages.len();
        let report = Report::new(state, trigger, config.tags.clone(), Vec::new());
        let added = spool.add(Some(&report), transaction.as_ref())?;
        self.changes.clear();
        let mut reported = Reported {
            transaction_id: added.record.as_ref().and(transaction.map(|t| t.transaction_id)),
            package_count,
            record_refused: added.refused,
            delivery_started: false,
        };
        if config.deliver {
            let Some(server) = &config.server else { return Err(HookError::NoServer { config: "client.toml" }) };
            start_delivery(&config.client, server, &config.state_dir)?;
            reported.delivery_started = true;
        }
        Ok(reported)
    }

    /// The status file to read instead of `<root>/var/lib/dpkg/status`, if any.
    fn status_file(&self) -> Option<PathBuf> {
        if let Some(path) = &self.config.dpkg_status {
            return Some(path.clone());
        }
        let hint = self.status_hint.as_ref()?;
        let default = crate::collect::under(&self.config.root, DEFAULT_STATUS_PATH);
        (hint.as_path() != default.as_path()).then(|| hint.clone())
    }
}

/// Starts `client --flush` detached: its own process group (a Ctrl-C at the terminal does not
/// reach it), stdin/stdout/stderr on /dev/null (it never writes to the terminal or holds a
/// caller's pipe open), not waited for (a thread reaps it in long-lived callers such as dnf).
pub fn start_delivery(client: &Path, server: &str, state_dir: &Path) -> Result<(), HookError> {
    use std::os::unix::process::CommandExt as _;
    let mut child = Command::new(client)
        .arg("--flush")
        .arg("--server")
        .arg(server)
        .arg("--state-dir")
        .arg(state_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|error| HookError::Spawn { client: client.to_owned(), error })?;
    // If the caller exits first, the child is re-parented and reaped by init.
    let _ = std::thread::Builder::new().name("patchman-reaper".into()).spawn(move || child.wait());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reporter(root: &str, dpkg_status: Option<&str>, hint: Option<&str>) -> Reporter {
        let config =
            ClientConfig { root: root.into(), dpkg_status: dpkg_status.map(PathBuf::from), ..ClientConfig::default() };
        let mut r = Reporter::new(config, "apt");
        if let Some(hint) = hint {
            r.set_status_hint(hint);
        }
        r
    }

    #[test]
    fn which_status_file_is_read() {
        // The configuration wins; then what the package manager says, unless it is the default.
        assert_eq!(reporter("/", Some("/srv/status"), Some("/x/status")).status_file(), Some("/srv/status".into()));
        assert_eq!(
            reporter("/", None, Some("/x/var/lib/dpkg/status")).status_file(),
            Some("/x/var/lib/dpkg/status".into())
        );
        assert_eq!(reporter("/", None, Some("/var/lib/dpkg/status")).status_file(), None);
        assert_eq!(reporter("/r", None, Some("/r/var/lib/dpkg/status")).status_file(), None);
        assert_eq!(reporter("/", None, None).status_file(), None);
    }

    #[test]
    fn a_transaction_without_recorded_changes_is_the_difference_from_the_last_state() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let status = root.join("var/lib/dpkg/status");
        std::fs::create_dir_all(status.parent().unwrap()).unwrap();
        let write_status = |version: &str| {
            std::fs::write(
                &status,
                format!("Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n"),
            )
            .unwrap()
        };
        let config = ClientConfig {
            root: root.clone(),
            state_dir: dir.path().join("state"),
            hostname: Some("h.example.org".into()),
            deliver: false,
            ..ClientConfig::default()
        };
        let mut r = Reporter::new(config, "dpkg");
        write_status("5.2-1");
        // Nothing to compare with yet: the state only.
        assert_eq!(r.report(Trigger::Transaction).unwrap().transaction_id, None);
        write_status("5.2-2");
        let reported = r.report(Trigger::Transaction).unwrap();
        assert!(reported.transaction_id.is_some() && !reported.delivery_started);
        let pending = Spool::in_state_dir(&dir.path().join("state")).unwrap().pending().unwrap();
        let t = &pending.records[0].transaction;
        assert_eq!(t.tool, "dpkg");
        assert_eq!((t.changes[0].old_version.as_str(), t.changes[0].new_version.as_str()), ("5.2-1", "5.2-2"));
        // No change, no record.
        assert_eq!(r.report(Trigger::Transaction).unwrap().transaction_id, None);
        // Without a server, delivery cannot start: an error, after spooling.
        r.config_mut().deliver = true;
        assert!(matches!(r.report(Trigger::Timer), Err(HookError::NoServer { .. })));
    }
}
