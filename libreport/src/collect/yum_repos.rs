//! Enabled yum/dnf repositories from the `.repo` files of the repository directories, with
//! dnf's variables (`$releasever`, `$basearch`, /etc/dnf/vars …) substituted.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::collect::ini::parse_ini;
use crate::collect::{CollectResult, file_name, files_in, read_optional, under};
use crate::model::{OsInfo, PackageKind, Repo, RepoUrl, UrlKind};

/// dnf's default `reposdir`.
pub const DEFAULT_REPOS_DIRS: [&str; 3] = ["/etc/yum.repos.d", "/etc/yum/repos.d", "/etc/distro.repos.d"];

/// Variable directories, in the order they are read; a later one wins.
pub const VARS_DIRS: [&str; 2] = ["/etc/yum/vars", "/etc/dnf/vars"];

/// The values dnf substitutes into `.repo` files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YumVars {
    vars: HashMap<String, String>,
}

impl YumVars {
    /// `releasever` (and its `_major`/`_minor` parts), `basearch`, `arch`, then every file
    /// of the vars directories (file name = variable, first line = value).
    pub fn load(root: &Path, os: &OsInfo, machine: &str) -> CollectResult<Self> {
        let mut from_files = HashMap::new();
        for dir in VARS_DIRS {
            for path in files_in(&under(root, dir))? {
                let value = read_optional(&path)?.unwrap_or_default();
                let first = value.lines().next().unwrap_or("").to_owned();
                from_files.insert(file_name(&path).to_owned(), first);
            }
        }
        let releasever = from_files.get("releasever").cloned().unwrap_or_else(|| releasever_from_os(os));
        let mut vars = Self::new(&releasever, machine);
        vars.vars.extend(from_files);
        Ok(vars)
    }

    /// The built-in variables for a release version and a `uname -m` machine.
    pub fn new(releasever: &str, machine: &str) -> Self {
        let (major, minor) = releasever.split_once('.').unwrap_or((releasever, ""));
        let vars = [
            ("releasever", releasever),
            ("releasever_major", major),
            ("releasever_minor", minor),
            ("basearch", basearch(machine)),
            ("arch", machine),
        ];
        Self { vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect() }
    }

    pub fn set(&mut self, name: &str, value: &str) {
        self.vars.insert(name.to_owned(), value.to_owned());
    }

    /// Replaces `$name` and `${name}`, where the name is the whole run of letters, digits
    /// and '_' after the '$' (as dnf reads it). Unknown variables are left as written.
    pub fn substitute(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let (name, written_len) = match after.strip_prefix('{') {
                Some(braced) => match braced.find('}') {
                    Some(end) => (&braced[..end], end + 2),
                    None => ("", 0),
                },
                None => {
                    let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                    (&after[..end], end)
                }
            };
            match self.vars.get(name).filter(|_| !name.is_empty()) {
                Some(value) => out.push_str(value),
                None => out.push_str(&rest[at..at + 1 + written_len]),
            }
            rest = &after[written_len..];
        }
        out.push_str(rest);
        out
    }
}

/// dnf's `$releasever` from os-release: the major version on EL rebuilds ("9.4" → "9"),
/// VERSION_ID as is elsewhere (Fedora "41").
pub fn releasever_from_os(os: &OsInfo) -> String {
    let like = |name: &str| os.id == name || os.id_like.iter().any(|l| l == name);
    let el = ["rhel", "centos", "fedora"].iter().any(|n| like(n)) && os.id != "fedora";
    if el { os.version_id.split('.').next().unwrap_or("").to_owned() } else { os.version_id.clone() }
}

/// dnf's `$basearch` for a `uname -m` machine.
pub fn basearch(machine: &str) -> &str {
    match machine {
        "i386" | "i486" | "i586" | "i686" => "i386",
        "armv7l" | "armv7hl" => "armhfp",
        other => other,
    }
}

/// The enabled repositories of the host, with URLs, in file-name and section order.
pub fn read_yum_repos(root: &Path, os: &OsInfo, machine: &str) -> CollectResult<Vec<Repo>> {
    let vars = YumVars::load(root, os, machine)?;
    let mut repos = Vec::new();
    let mut seen = HashSet::new();
    for dir in repos_dirs(root)? {
        for path in files_in(&under(root, &dir))? {
            if !file_name(&path).ends_with(".repo") {
                continue;
            }
            for repo in parse_repo_file(&read_optional(&path)?.unwrap_or_default(), &vars) {
                if seen.insert(repo.id.clone()) {
                    repos.push(repo);
                }
            }
        }
    }
    Ok(repos)
}

/// `reposdir=` of dnf.conf's (else yum.conf's) `[main]`, or dnf's default directories.
fn repos_dirs(root: &Path) -> CollectResult<Vec<String>> {
    for conf in ["/etc/dnf/dnf.conf", "/etc/yum.conf"] {
        let Some(text) = read_optional(&under(root, conf))? else { continue };
        let dirs = parse_ini(&text).iter().filter(|s| s.name == "main").find_map(|s| {
            s.get("reposdir")
                .map(|d| d.split([',', ' ', '\t', '\n']).filter(|d| !d.is_empty()).map(str::to_owned).collect())
        });
        return Ok(dirs.unwrap_or_else(|| DEFAULT_REPOS_DIRS.map(str::to_owned).to_vec()));
    }
    Ok(DEFAULT_REPOS_DIRS.map(str::to_owned).to_vec())
}

/// The enabled repositories of one `.repo` file; sections without any URL are left out.
pub fn parse_repo_file(text: &str, vars: &YumVars) -> Vec<Repo> {
    let mut repos = Vec::new();
    for section in parse_ini(text).into_iter().filter(|s| s.name != "main" && !s.name.is_empty()) {
        if !section.get("enabled").is_none_or(parse_bool) {
            continue;
        }
        let mut urls = Vec::new();
        for (key, kind) in
            [("metalink", UrlKind::Metalink), ("mirrorlist", UrlKind::Mirrorlist), ("baseurl", UrlKind::Baseurl)]
        {
            let value = section.get(key).unwrap_or("");
            for url in value.split(|c: char| c.is_whitespace() || c == ',').filter(|u| !u.is_empty()) {
                urls.push(RepoUrl { url: vars.substitute(url), kind });
            }
        }
        if urls.is_empty() {
            continue;
        }
        let name = section.get("name").map(|n| vars.substitute(n.trim())).filter(|n| !n.is_empty());
        let priority = section.get("priority").and_then(|p| p.trim().parse().ok()).unwrap_or(99);
        repos.push(Repo {
            kind: PackageKind::Rpm,
            name: name.unwrap_or_else(|| section.name.clone()),
            id: section.name,
            priority,
            urls,
            suite: String::new(),
            component: String::new(),
            architecture: String::new(),
        });
    }
    repos
}

/// dnf's booleans; anything it would not accept counts as "yes" (the default).
fn parse_bool(value: &str) -> bool {
    !matches!(value.trim().to_ascii_lowercase().as_str(), "0" | "no" | "false" | "off")
}

#[cfg(test)]
mod tests;
