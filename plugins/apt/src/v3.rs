//! apt's `DPkg::Pre-Install-Pkgs` protocol, version 3 (`DPkg::Tools::Options::<hook>::Version
//! "3"`): what apt is about to do, on the hook's stdin.
//!
//! ```text
//! VERSION 3
//! Key=Value                          apt's whole configuration, one item a line, values
//! ...                                %-escaped; ends at an empty line
//!
//! name oldver oldarch oldMA op newver newarch newMA action
//! ```
//!
//! `-` stands for none; `op` is `<` (the new version is higher; also for installs), `>` (lower;
//! also for removals) or `=`; `action` is the `.deb` to unpack, `**CONFIGURE**`, `**REMOVE**`
//! or `**PURGE**`. A package being upgraded appears twice: unpack, then configure.

use std::collections::HashSet;

use libreport::model::{ChangeAction, PackageChange};

/// What apt said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PreInstallPkgs {
    /// The configuration dump, keys as apt spells them, values unescaped.
    pub config: Vec<(String, String)>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub name: String,
    /// `None` when the package is not installed yet.
    pub old: Option<(String, String)>,
    pub op: char,
    /// `None` when the package goes away.
    pub new: Option<(String, String)>,
    pub kind: ActionKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionKind {
    Unpack(String),
    Configure,
    Remove,
    Purge,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum V3Error {
    #[error("expected `VERSION 3` on the first line, got {0:?}")]
    Version(String),
    #[error("action line {line}: {message}: {text:?}")]
    Action { line: usize, message: &'static str, text: String },
}

/// Parses the whole input.
pub fn parse(input: &str) -> Result<PreInstallPkgs, V3Error> {
    let mut lines = input.lines().enumerate();
    let first = lines.next().map_or("", |(_, l)| l.trim());
    if first != "VERSION 3" {
        return Err(V3Error::Version(first.chars().take(40).collect()));
    }
    let mut out = PreInstallPkgs::default();
    for (_, line) in lines.by_ref() {
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once('=') {
            out.config.push((unescape(key), unescape(value)));
        }
    }
    for (n, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        out.actions.push(parse_action(line).map_err(|message| V3Error::Action {
            line: n + 1,
            message,
            text: line.chars().take(200).collect(),
        })?);
    }
    Ok(out)
}

fn parse_action(line: &str) -> Result<Action, &'static str> {
    let fields: Vec<&str> = line.splitn(9, ' ').collect();
    let [name, old_ver, old_arch, _old_ma, op, new_ver, new_arch, _new_ma, action] = fields[..] else {
        return Err("expected 9 fields");
    };
    let version = |v: &str, a: &str| (v != "-").then(|| (v.to_owned(), a.to_owned()));
    let op = match op {
        "<" => '<',
        ">" => '>',
        "=" => '=',
        _ => return Err("the fifth field is not <, > or ="),
    };
    let kind = match action {
        "**CONFIGURE**" => ActionKind::Configure,
        "**REMOVE**" => ActionKind::Remove,
        "**PURGE**" => ActionKind::Purge,
        path => ActionKind::Unpack(path.to_owned()),
    };
    if name.is_empty() {
        return Err("no package name");
    }
    Ok(Action { name: name.to_owned(), old: version(old_ver, old_arch), op, new: version(new_ver, new_arch), kind })
}

/// `%XX` escapes undone (apt escapes `=`, `"`, newlines and spaces in the dump).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(h), Some(l)) = (bytes.get(i + 1).and_then(|&c| hex(c)), bytes.get(i + 2).and_then(|&c| hex(c)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl PreInstallPkgs {
    /// A configuration value; apt's keys are case-insensitive.
    pub fn config_value(&self, key: &str) -> Option<&str> {
        self.config.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }

    /// Where apt reads dpkg's status (`Dir::State::status`, made absolute as apt does).
    pub fn status_file(&self) -> Option<String> {
        let status = self.config_value("Dir::State::status")?;
        if status.starts_with('/') {
            return Some(status.to_owned());
        }
        let root = self.config_value("Dir").unwrap_or("/");
        let state = self.config_value("Dir::State").unwrap_or("var/lib/apt/");
        let state =
            if state.starts_with('/') { state.to_owned() } else { format!("{}/{state}", root.trim_end_matches('/')) };
        Some(format!("{}/{status}", state.trim_end_matches('/')))
    }

    /// One change per package, in apt's order: the unpack or removal line decides; a
    /// configure line counts only for a package with no other line (which changes nothing).
    pub fn changes(&self) -> Vec<PackageChange> {
        let mut seen = HashSet::new();
        let mut changes = Vec::new();
        for a in &self.actions {
            let action = match (&a.kind, &a.old, &a.new) {
                (ActionKind::Configure, _, _) => continue,
                (ActionKind::Remove | ActionKind::Purge, _, _) => ChangeAction::Removed,
                (ActionKind::Unpack(_), None, _) => ChangeAction::Installed,
                (ActionKind::Unpack(_), Some(_), _) => match a.op {
                    '<' => ChangeAction::Upgraded,
                    '>' => ChangeAction::Downgraded,
                    _ => ChangeAction::Reinstalled,
                },
            };
            let arch = a.new.as_ref().or(a.old.as_ref()).map(|(_, arch)| arch.clone()).unwrap_or_default();
            if !seen.insert((a.name.clone(), arch.clone())) {
                continue;
            }
            let (old_version, new_version) = match action {
                ChangeAction::Removed => (a.old.clone().map(|v| v.0).unwrap_or_default(), String::new()),
                _ => (a.old.clone().map(|v| v.0).unwrap_or_default(), a.new.clone().map(|v| v.0).unwrap_or_default()),
            };
            changes.push(PackageChange { action, name: a.name.clone(), arch, old_version, new_version });
        }
        changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PreInstallPkgs {
        let path = format!("{}/testdata/pre-install-pkgs/{name}.v3", env!("CARGO_MANIFEST_DIR"));
        parse(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn summary(p: &PreInstallPkgs) -> Vec<String> {
        p.changes()
            .iter()
            .map(|c| format!("{:?} {}:{} {}>{}", c.action, c.name, c.arch, c.old_version, c.new_version))
            .collect()
    }

    #[track_caller]
    fn check(name: &str, want: &[&str]) {
        assert_eq!(summary(&fixture(name)), want, "{name}");
    }

    #[test]
    fn changes_from_real_apt_runs() {
        check("install", &["Installed hello-patchman:all >1:1.1-1"]);
        check(
            "downgrade-and-install",
            &["Downgraded hello-patchman:all 1:1.1-1>1.0-1", "Installed other-patchman:all >2.0-1"],
        );
        check(
            "remove-and-upgrade",
            &["Removed other-patchman:all 2.0-1>", "Upgraded hello-patchman:all 1.0-1>1:1.1-1"],
        );
        check("reinstall", &["Reinstalled hello-patchman:all 1:1.1-1>1:1.1-1"]);
        check("purge", &["Removed hello-patchman:all 1:1.1-1>"]);
    }

    #[test]
    fn the_config_dump_is_read_and_unescaped() {
        let p = fixture("install");
        assert_eq!(p.status_file().as_deref(), Some("/tmp/aptcap/fr/var/lib/dpkg/status"));
        assert_eq!(p.config_value("dir::state::STATUS"), Some("/tmp/aptcap/fr/var/lib/dpkg/status"));
        assert_eq!(p.config_value("CommandLine::AsString"), Some("apt-get install -y -q hello-patchman"));
        assert_eq!(p.actions.len(), 2);
        assert_eq!(p.actions[0].kind, ActionKind::Unpack("/tmp/aptcap/repo/./hello-patchman_1:1.1-1_all.deb".into()));
    }

    #[test]
    fn a_relative_status_file_is_resolved_like_apt() {
        let p = parse("VERSION 3\nDir=/srv/root/\nDir::State=var/lib/apt/\nDir::State::status=status\n\n").unwrap();
        assert_eq!(p.status_file().as_deref(), Some("/srv/root/var/lib/apt/status"));
        assert_eq!(parse("VERSION 3\n\n").unwrap().status_file(), None);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(parse(""), Err(V3Error::Version(_))));
        assert!(matches!(parse("VERSION 2\n"), Err(V3Error::Version(_))));
        let err = parse("VERSION 3\n\nhello 1 all none ? 2 all none **CONFIGURE**\n").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(parse("VERSION 3\n\nshort line\n").is_err());
        // A path with spaces stays whole.
        let p = parse("VERSION 3\n\nh - - none < 1 amd64 same /tmp/a dir/h_1_amd64.deb\n").unwrap();
        assert_eq!(p.actions[0].kind, ActionKind::Unpack("/tmp/a dir/h_1_amd64.deb".into()));
        for junk in [
            "VERSION 3\n%",
            "VERSION 3\na=%4\n",
            "VERSION 3\n\n- - - - - - - - -\n",
            "VERSION 3\n\n\u{1F600} < = = = = = = =\n",
        ] {
            let _ = parse(junk).map(|p| p.changes());
        }
    }
}
