//! `patchman_libreport`: libreport as a Python extension module, for the dnf plugin
//! (`plugins/dnf/patchman.py`). One function:
//!
//! ```python
//! import patchman_libreport
//! patchman_libreport.report(
//!     "transaction",                                     # or "timer", "manual"
//!     [("upgraded", "bash", "x86_64", "5.1-1", "5.2-1")], # action, name, arch, old, new
//!     settings={"root": "/", "server": "http://pm:8080"}, # overrides of client.toml
//!     config=None,                                       # client.toml path (None: default)
//!     tool="dnf",
//! )  # -> the transaction id, or None when no record was written
//! ```
//!
//! It collects the host's state (the rpm database as it is after the transaction), spools
//! it with the transaction record, and starts a detached `patchman-client --flush`. It
//! releases the GIL while it works and raises `RuntimeError` with one line on failure.

use std::collections::HashMap;
use std::path::PathBuf;

use libreport::hooks::{ClientConfig, Reporter};
use libreport::model::{ChangeAction, PackageChange, Trigger};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

type Change = (String, String, String, String, String);

#[pymodule]
fn patchman_libreport(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(report, m)?)?;
    Ok(())
}

/// report(trigger, changes, settings=None, config=None, tool="dnf") -> str | None
///
/// Spools the host's state and a record of `changes` (tuples of action, name, arch,
/// old_version, new_version; action is installed, upgraded, downgraded, removed or
/// reinstalled), then starts a background delivery. Returns the transaction id.
#[pyfunction]
#[pyo3(signature = (trigger, changes, settings=None, config=None, tool="dnf"))]
fn report(
    py: Python<'_>,
    trigger: &str,
    changes: Vec<Change>,
    settings: Option<HashMap<String, String>>,
    config: Option<PathBuf>,
    tool: &str,
) -> PyResult<Option<String>> {
    let trigger = match trigger {
        "timer" => Trigger::Timer,
        "transaction" => Trigger::Transaction,
        "manual" => Trigger::Manual,
        other => return Err(PyValueError::new_err(format!("unknown trigger {other:?}"))),
    };
    let changes = changes.into_iter().map(change).collect::<PyResult<Vec<_>>>()?;
    let mut config = ClientConfig::load(config.as_deref()).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    for (key, value) in settings.unwrap_or_default() {
        config.set(&key, &value).map_err(|e| PyValueError::new_err(e.to_string()))?;
    }
    let mut reporter = Reporter::new(config, tool);
    for c in changes {
        reporter.record(c);
    }
    py.detach(move || reporter.report(trigger))
        .map(|reported| reported.transaction_id)
        .map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

fn change((action, name, arch, old_version, new_version): Change) -> PyResult<PackageChange> {
    let action = match action.as_str() {
        "installed" => ChangeAction::Installed,
        "upgraded" => ChangeAction::Upgraded,
        "downgraded" => ChangeAction::Downgraded,
        "removed" => ChangeAction::Removed,
        "reinstalled" => ChangeAction::Reinstalled,
        other => return Err(PyValueError::new_err(format!("unknown change action {other:?}"))),
    };
    if name.trim().is_empty() {
        return Err(PyValueError::new_err("a change without a package name"));
    }
    Ok(PackageChange { action, name, arch, old_version, new_version })
}
