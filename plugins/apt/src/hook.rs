//! What `patchman-apt-hook` does for each of the three places it is registered:
//!
//! - `pre-install-pkgs` (`DPkg::Pre-Install-Pkgs`, version 3): apt says what it is about to
//!   change and where dpkg's status file is; kept in `<spool>/apt-pending.json`. No collecting,
//!   no network: a millisecond.
//! - `post-invoke` (`DPkg::Post-Invoke`, after every dpkg run of any libapt frontend): the
//!   full report with the pending changes as one transaction record (no pending changes: the
//!   difference from the last spooled state).
//! - `dpkg-post-invoke` (dpkg's `post-invoke` in /etc/dpkg/dpkg.cfg.d, after every dpkg run):
//!   reports raw `dpkg -i`/`-r` runs, by difference. Does nothing when a frontend runs dpkg
//!   (`DPKG_FRONTEND_LOCKED` set, or apt's pending changes present): apt's `post-invoke` reports
//!   those, once.

use std::io::Read;
use std::path::{Path, PathBuf};

use libreport::hooks::{ClientConfig, Reporter};
use libreport::model::{PackageChange, Trigger, now_ms};
use libreport::spool::Spool;
use serde::{Deserialize, Serialize};

use crate::v3;

const PENDING: &str = "apt-pending.json";
/// Pending changes older than this are from an apt run that died before its post-invoke.
const PENDING_MAX_AGE_MS: i64 = 12 * 3600 * 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    PreInstallPkgs,
    PostInvoke,
    DpkgPostInvoke,
}

impl Command {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pre-install-pkgs" => Some(Self::PreInstallPkgs),
            "post-invoke" => Some(Self::PostInvoke),
            "dpkg-post-invoke" => Some(Self::DpkgPostInvoke),
            _ => None,
        }
    }
}

/// What apt's pre-install-pkgs hook left for its post-invoke.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    written_at_ms: i64,
    status_file: Option<String>,
    changes: Vec<PackageChange>,
}

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Config(#[from] libreport::hooks::ConfigError),
    #[error(transparent)]
    Report(#[from] libreport::hooks::HookError),
    #[error(transparent)]
    Spool(#[from] libreport::spool::SpoolError),
    #[error("reading apt's input: {0}")]
    Input(std::io::Error),
    #[error("apt's input: {0}")]
    Parse(#[from] v3::V3Error),
    #[error("writing {path}: {error}")]
    Write { path: PathBuf, error: std::io::Error },
}

/// The environment the hook reads, gathered by the caller (tests pass their own).
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// `DPKG_FRONTEND_LOCKED`: a frontend (apt) runs this dpkg.
    pub frontend_locked: bool,
    /// `DPKG_ADMINDIR`: dpkg's database directory.
    pub dpkg_admindir: Option<PathBuf>,
}

impl Env {
    pub fn from_process() -> Self {
        Self {
            frontend_locked: std::env::var_os("DPKG_FRONTEND_LOCKED").is_some_and(|v| !v.is_empty()),
            dpkg_admindir: std::env::var_os("DPKG_ADMINDIR").filter(|v| !v.is_empty()).map(PathBuf::from),
        }
    }
}

/// Runs one hook command. `input` is apt's information stream (pre-install-pkgs only).
pub fn run(command: Command, config: ClientConfig, env: &Env, input: impl Read) -> Result<(), HookError> {
    let spool = Spool::in_state_dir(&config.state_dir)?;
    let pending_path = spool.dir().join(PENDING);
    match command {
        Command::PreInstallPkgs => {
            // Read everything first: apt must never see a closed pipe.
            let mut text = String::new();
            let mut input = input;
            input.read_to_string(&mut text).map_err(HookError::Input)?;
            let pkgs = v3::parse(&text)?;
            let pending = Pending { written_at_ms: now_ms(), status_file: pkgs.status_file(), changes: pkgs.changes() };
            let data = serde_json::to_vec(&pending).expect("plain data serialises to JSON");
            // Scratch for the post-invoke a moment later: whole or absent (rename), but not
            // worth an fsync; after a crash the post-invoke reports the difference instead.
            let tmp = pending_path.with_extension("json.tmp");
            std::fs::write(&tmp, &data)
                .and_then(|()| std::fs::rename(&tmp, &pending_path))
                .map_err(|error| HookError::Write { path: pending_path, error })
        }
        Command::PostInvoke => {
            let mut reporter = Reporter::new(config, "apt");
            if let Some(p) = read_pending(&pending_path) {
                if let Some(status) = p.status_file {
                    reporter.set_status_hint(status);
                }
                for change in p.changes {
                    reporter.record(change);
                }
            }
            let result = reporter.report(Trigger::Transaction);
            // Once the changes are in the spool (even if delivery could not start), they are
            // done with; a stale or damaged file goes too.
            if reporter.changes().is_empty() {
                let _ = std::fs::remove_file(&pending_path);
            }
            result?;
            Ok(())
        }
        Command::DpkgPostInvoke => {
            if env.frontend_locked || read_pending(&pending_path).is_some() {
                return Ok(());
            }
            let mut reporter = Reporter::new(config, "dpkg");
            if let Some(admindir) = &env.dpkg_admindir {
                reporter.set_status_hint(admindir.join("status"));
            }
            reporter.report(Trigger::Transaction)?;
            Ok(())
        }
    }
}

fn read_pending(path: &Path) -> Option<Pending> {
    let pending: Pending = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (now_ms() - pending.written_at_ms < PENDING_MAX_AGE_MS).then_some(pending)
}
