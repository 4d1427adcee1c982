//! Enabled apt repositories: sources.list and sources.list.d (`.list` one-line entries and
//! `.sources` deb822 stanzas), expanded to one `Repo` per (archive, suite, component,
//! architecture) with apt's priority for it.

use std::collections::HashSet;
use std::path::Path;

use crate::collect::apt_preferences::{Preferences, RepoFacts};
use crate::collect::apt_release::{ReleaseInfo, read_release, strip_scheme_and_credentials};
use crate::collect::deb822::paragraphs;
use crate::collect::{CollectResult, file_name, files_in, read_optional, under};
use crate::model::{PackageKind, Repo, RepoUrl, UrlKind};

/// One `deb` line, or one (URI, suite) of a deb822 stanza.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceEntry {
    pub uri: String,
    pub suite: String,
    /// Empty for a flat repository (suite ending in '/').
    pub components: Vec<String>,
    /// `arch=` / `Architectures:`; `None` means the host's architectures.
    pub architectures: Option<Vec<String>>,
    /// `arch+=` / `Architectures-Add:`.
    pub add_architectures: Vec<String>,
    /// `arch-=` / `Architectures-Remove:`.
    pub remove_architectures: Vec<String>,
}

/// The enabled `deb` repositories of the host, deduplicated, in the order apt reads them.
/// `machine` is `uname -m`, for the native architecture.
pub fn read_apt_repos(root: &Path, machine: &str) -> CollectResult<Vec<Repo>> {
    let mut entries = Vec::new();
    if let Some(text) = read_optional(&under(root, "/etc/apt/sources.list"))? {
        entries.extend(parse_one_line(&text));
    }
    for path in files_in(&under(root, "/etc/apt/sources.list.d"))? {
        let name = file_name(&path);
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)) {
            continue;
        }
        let parse: fn(&str) -> Vec<SourceEntry> = if name.ends_with(".list") {
            parse_one_line
        } else if name.ends_with(".sources") {
            parse_deb822
        } else {
            continue;
        };
        entries.extend(read_optional(&path)?.map(|text| parse(&text)).unwrap_or_default());
    }
    let host_archs = host_architectures(root, machine)?;
    let prefs = Preferences::load(root)?;
    let mut seen = HashSet::new();
    let mut repos = Vec::new();
    for entry in entries.iter().filter(|e| supported_uri(&e.uri)) {
        let release = read_release(root, &entry.uri, &entry.suite)?;
        let archs = architectures(entry, &host_archs, release.as_ref());
        for repo in expand(entry, &archs, release.as_ref(), &prefs) {
            if seen.insert(repo.id.clone()) {
                repos.push(repo);
            }
        }
    }
    Ok(repos)
}

/// Parses one-line entries: `deb [opt=v …] uri suite [component …]`. `#` starts a comment
/// anywhere; `deb-src` and malformed lines are skipped.
pub fn parse_one_line(text: &str) -> Vec<SourceEntry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line.strip_prefix("deb").filter(|r| r.starts_with([' ', '\t', '['])) else { continue };
        let rest = rest.trim_start();
        let mut entry = SourceEntry::default();
        let words = match rest.strip_prefix('[') {
            Some(opts) => {
                let Some((options, after)) = opts.split_once(']') else { continue };
                let mut enabled = true;
                for opt in options.split_whitespace() {
                    let Some((key, value)) = opt.split_once('=') else { continue };
                    let list = || value.split(',').filter(|v| !v.is_empty()).map(str::to_owned).collect::<Vec<_>>();
                    match key {
                        "arch" | "Architectures" => entry.architectures = Some(list()),
                        "arch+" | "Architectures-Add" => entry.add_architectures = list(),
                        "arch-" | "Architectures-Remove" => entry.remove_architectures = list(),
                        "enabled" | "Enabled" => enabled = !is_no(value),
                        _ => {}
                    }
                }
                if !enabled {
                    continue;
                }
                after
            }
            None => rest,
        };
        let mut words = words.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else { continue };
        entry.uri = uri.to_owned();
        entry.suite = suite.to_owned();
        entry.components = words.map(str::to_owned).collect();
        if entry.components.is_empty() == entry.suite.ends_with('/') {
            out.push(entry);
        }
    }
    out
}

/// Parses deb822 `.sources` stanzas: `Types`, `URIs`, `Suites`, `Components`,
/// `Architectures(-Add/-Remove)` and `Enabled`. Stanzas without type `deb` are skipped.
pub fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut out = Vec::new();
    for p in paragraphs(text) {
        let list = |name: &str| p.get(name).unwrap_or("").split_whitespace().map(str::to_owned).collect::<Vec<_>>();
        let is_deb = list("Types").iter().any(|t| t == "deb");
        if !is_deb || p.get("Enabled").is_some_and(is_no) {
            continue;
        }
        let components = list("Components");
        for uri in list("URIs") {
            for suite in list("Suites") {
                if components.is_empty() != suite.ends_with('/') {
                    continue;
                }
                out.push(SourceEntry {
                    uri: uri.clone(),
                    suite,
                    components: components.clone(),
                    architectures: p.get("Architectures").map(|_| list("Architectures")),
                    add_architectures: list("Architectures-Add"),
                    remove_architectures: list("Architectures-Remove"),
                });
            }
        }
    }
    out
}

fn is_no(value: &str) -> bool {
    matches!(value.trim().to_ascii_lowercase().as_str(), "no" | "false" | "0" | "off")
}

/// The Debian architecture name for a `uname -m` machine; the machine itself when unknown.
pub fn deb_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "i386" | "i486" | "i586" | "i686" => "i386",
        "armv7l" => "armhf",
        "armv6l" => "armel",
        "ppc64le" => "ppc64el",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The native architecture, then the foreign ones dpkg knows (/var/lib/dpkg/arch).
pub fn host_architectures(root: &Path, machine: &str) -> CollectResult<Vec<String>> {
    let mut archs = vec![deb_arch(machine).to_owned()];
    let foreign = read_optional(&under(root, "/var/lib/dpkg/arch"))?.unwrap_or_default();
    for arch in foreign.lines().map(str::trim).filter(|a| !a.is_empty()) {
        if !archs.iter().any(|a| a == arch) {
            archs.push(arch.to_owned());
        }
    }
    Ok(archs)
}

/// The architectures apt fetches for an entry: the explicit list or the host's, with the
/// additions and removals, kept to what the Release file offers, plus `all` when the
/// Release file has a separate `binary-all` index (apt's implicit "all").
fn architectures(entry: &SourceEntry, host: &[String], release: Option<&ReleaseInfo>) -> Vec<String> {
    let mut archs = entry.architectures.clone().unwrap_or_else(|| host.to_vec());
    for add in &entry.add_architectures {
        if !archs.contains(add) {
            archs.push(add.clone());
        }
    }
    if let Some(rel) = release.filter(|r| !r.architectures.is_empty()) {
        archs.retain(|a| rel.architectures.contains(a));
        let all = "all".to_owned();
        if rel.architectures.contains(&all) && !rel.no_arch_all_index && !archs.contains(&all) {
            archs.push(all);
        }
    }
    archs.retain(|a| !entry.remove_architectures.contains(a));
    archs
}

/// Only network and local archives; `cdrom:` media and `mirror+…:`/`mirror:` lists (whose
/// real archives are only known after fetching the list) are not reported for now.
fn supported_uri(uri: &str) -> bool {
    let scheme = uri.split(':').next().unwrap_or("");
    !(uri.starts_with("cdrom:") || scheme.starts_with("mirror") || !uri.contains(':'))
}

/// One `Repo` per component and architecture (flat repositories: per architecture).
fn expand(entry: &SourceEntry, archs: &[String], release: Option<&ReleaseInfo>, prefs: &Preferences) -> Vec<Repo> {
    let clean_uri = {
        let stripped = strip_scheme_and_credentials(&entry.uri);
        let scheme_len = entry.uri.len() - stripped.len();
        let scheme = &entry.uri[..scheme_len];
        // Credentials are never reported: keep only "scheme://" or "scheme:".
        let scheme = scheme.find("//").map_or(scheme, |i| &scheme[..i + 2]);
        format!("{scheme}{}", stripped.trim_end_matches('/'))
    };
    let host_path = strip_scheme_and_credentials(&clean_uri).to_owned();
    let host = host_path.split('/').next().unwrap_or("");
    let default_priority = release.map_or(500, ReleaseInfo::default_priority);
    let flat = entry.suite.ends_with('/');
    let components: Vec<&str> = if flat { vec![""] } else { entry.components.iter().map(String::as_str).collect() };
    let mut repos = Vec::new();
    for component in components {
        for arch in archs {
            let (id, url) = if flat {
                (format!("{host_path} {} {arch}", entry.suite), normalise_flat(&format!("{clean_uri}/{}", entry.suite)))
            } else {
                let url = format!("{clean_uri}/dists/{}/{component}/binary-{arch}", entry.suite);
                (format!("{host_path} {}/{component} {arch}", entry.suite), url)
            };
            let facts = RepoFacts { host, suite: &entry.suite, component, architecture: arch, release };
            repos.push(Repo {
                kind: PackageKind::Deb,
                name: id.clone(),
                id,
                priority: prefs.priority(&facts, default_priority),
                urls: vec![RepoUrl { url, kind: UrlKind::Apt }],
                suite: entry.suite.clone(),
                component: component.to_owned(),
                architecture: arch.clone(),
            });
        }
    }
    repos
}

/// `http://h/repo/./` → `http://h/repo`: no "/./" segments, no trailing slash or "/.".
fn normalise_flat(url: &str) -> String {
    let mut out = url.to_owned();
    while let Some(at) = out.find("/./") {
        out.replace_range(at..at + 2, "");
    }
    loop {
        if let Some(s) = out.strip_suffix("/.") {
            out = s.to_owned();
        } else if out.ends_with('/') && !out.ends_with("://") && !out[..out.len() - 1].ends_with(':') {
            out.pop();
        } else {
            return out;
        }
    }
}

#[cfg(test)]
mod tests;
