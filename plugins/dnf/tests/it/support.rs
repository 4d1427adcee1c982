//! Shared by the dnf tests: built artifacts, a server, a dnf installroot with a repository
//! of packages rpmbuild made, and the plugin installed as the shipped files describe.

pub use patchman_testkit::artifact;
pub use patchman_testkit::dnf::{Dnf, module_dir, plugin_lines};
use serde_json::Value;

/// Debian's interpreter: it has the `dnf` and `rpm` modules (the pyenv one first on PATH has not).
pub const PYTHON: &str = "/usr/bin/python3";

pub use patchman_testkit::host::host_json;

/// The host's packages on the server as sorted lines.
pub fn server_packages(host: &Value) -> Vec<String> {
    patchman_testkit::host::packages(host, &["name", "epoch", "version", "release", "arch"])
}

/// The host's transactions on the server, in order, as "tool: action name old>new; ...".
pub fn server_transactions(host: &Value) -> Vec<String> {
    patchman_testkit::host::transactions(host, patchman_testkit::host::Changes::ByName)
}

pub use patchman_testkit::{wait_for_processes_naming, wait_until};
