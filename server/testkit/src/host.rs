//! A host as the server shows it (`patchman host show --json`), flattened into lines that
//! tests compare with what the package manager did.

use serde_json::Value;

use crate::server::Server;

pub fn host_json(server: &Server, hostname: &str) -> Value {
    serde_json::from_str(&server.admin(&["host", "show", hostname, "--json"])).expect("host show --json")
}

/// The host's packages as sorted lines of `fields` joined by spaces, e.g. `["name", "evr",
/// "arch"]` gives "bash 5.2.15-2+b8 amd64".
pub fn packages(host: &Value, fields: &[&str]) -> Vec<String> {
    let mut lines: Vec<String> = host["packages"]
        .as_array()
        .map(|a| a.iter().map(|p| fields.iter().map(|f| text(&p[*f])).collect::<Vec<_>>().join(" ")).collect())
        .unwrap_or_default();
    lines.sort();
    lines
}

/// In which order a transaction's changes are listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    /// As the package manager reported them.
    AsSent,
    /// By package name (for managers whose order is not stable).
    ByName,
}

/// The host's transactions, oldest first, as "tool: action name old>new; ...".
pub fn transactions(host: &Value, order: Changes) -> Vec<String> {
    let Some(list) = host["transactions"].as_array() else { return Vec::new() };
    list.iter()
        .map(|t| {
            let mut changes: Vec<(String, String)> = t["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .map(|c| {
                    let f = |k: &str| text(&c[k]);
                    (f("name"), format!("{} {} {}>{}", f("action"), f("name"), f("old_version"), f("new_version")))
                })
                .collect();
            if order == Changes::ByName {
                changes.sort_by(|a, b| a.0.cmp(&b.0));
            }
            let changes: Vec<String> = changes.into_iter().map(|(_, line)| line).collect();
            format!("{}: {}", text(&t["tool"]), changes.join("; "))
        })
        .collect()
}

/// A JSON string as itself, anything else as JSON (a number's digits).
fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}
