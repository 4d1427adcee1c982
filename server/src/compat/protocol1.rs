//! Patchman's protocol 1 (`patchman-client` from cron and its hooks: `curl -F` to
//! `/reports/upload/`): its form fields to a domain `Report`, under the rules every front door
//! shares (`fields`). An error names the field and, in a list field, the line
//! (`packages line 3: …`); nothing about the upload is kept when one is found.

use std::collections::HashMap;

use crate::fields::{
    self, Limits, MAX_MODULES, MAX_REPOS, MAX_TAGS, Result, bad, named, optional_token, printable, token,
};
use crate::report::{
    InstalledPackage, ModuleStream, Os, Package, PackageKind, Reboot, RepoUrl, Report, ReportedRepo, Trigger, UrlKind,
};

use super::quoted;

const MAX_NAME: usize = 255;

/// An update the host's own package manager offers (`sec_updates`, `bug_updates`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostUpdate {
    pub name: String,
    pub arch: String,
    pub version: String,
    pub repo: String,
}

/// A parsed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub report: Report,
    /// `report=true`: the client asks for the text summary back.
    pub echo: bool,
    pub security_updates: Vec<HostUpdate>,
    pub bugfix_updates: Vec<HostUpdate>,
}

/// Reads the form (`fields` by name; a name given twice keeps its last value). `report_id`
/// is the server's id for the upload (protocol 1 has none); `now_ms` stands in for the
/// generation time it does not send either.
pub fn parse(form: &HashMap<String, String>, limits: Limits, report_id: String, now_ms: i64) -> Result<Upload> {
    let get = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
    match get("protocol").trim() {
        "" | "1" => {}
        other => return Err(bad("protocol", format!("{other:?} is not 1 (protocol 2 posts JSON to /api/report/)"))),
    }
    let hostname = fields::hostname(get("host")).map_err(|e| bad("host", e.message))?;
    let os = os(get("os"))?;
    let kernel = token(named("kernel"), unquote(get("kernel").trim()), MAX_NAME)?;
    let arch = token(named("arch"), get("arch").trim().to_owned(), 64)?;
    let packages = packages(get("packages"), limits)?;
    let repos = repos(get("repos"), &os, &arch)?;
    let modules = modules(get("modules"))?;
    let mut tags = get("tags")
        .split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| fields::tag("tags", t))
        .collect::<Result<Vec<_>>>()?;
    if tags.len() > MAX_TAGS {
        return Err(bad("tags", format!("{} tags is more than the limit of {MAX_TAGS}", tags.len())));
    }
    tags.sort();
    tags.dedup();
    let reboot = match get("reboot").trim() {
        "True" => Reboot {
            required: true,
            reason: "the host says so (patchman-client: /var/run/reboot-required, or a newer kernel)".into(),
            packages: Vec::new(),
        },
        "" | "ServerCheck" | "False" => Reboot::default(),
        other => return Err(bad("reboot", format!("{other:?} is not True or ServerCheck"))),
    };
    let echo = echo(form)?;
    let report = Report {
        report_id,
        generated_at_ms: now_ms,
        hostname,
        machine_id: String::new(),
        os,
        kernel,
        arch,
        packages,
        repos,
        modules,
        reboot,
        tags,
        // Its hooks send no repositories (`-n`); cron sends everything.
        trigger: if form.get("repos").is_some_and(|r| r.trim().is_empty()) {
            Trigger::Transaction
        } else {
            Trigger::Timer
        },
        transactions: Vec::new(),
        client_version: "patchman-client (protocol 1)".into(),
    };
    Ok(Upload {
        report,
        echo,
        security_updates: updates("sec_updates", get("sec_updates"))?,
        bugfix_updates: updates("bug_updates", get("bug_updates"))?,
    })
}

/// `report=true`: the client asks for the text summary back.
pub fn echo(form: &HashMap<String, String>) -> Result<bool> {
    match form.get("report").map(|r| r.trim()).unwrap_or("") {
        "true" | "True" => Ok(true),
        "" | "false" | "False" => Ok(false),
        other => Err(bad("report", format!("{other:?} is not true or false"))),
    }
}

/// `%2b` and the other escapes `patchman-client` may put in the kernel release.
fn unquote(raw: &str) -> String {
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

/// `Debian 12.7`, `Ubuntu 24.04.1 LTS`, `Rocky Linux 9.3 (Blue Onyx) [cpe:/o:rocky:rocky:9::baseos]`,
/// `CentOS Linux release 7.9.2009 (Core)`: the name before the first word that starts with a
/// digit, that word the version, the CPE name in brackets.
fn os(raw: &str) -> Result<Os> {
    let raw = printable("os", raw.to_owned(), MAX_NAME)?;
    if raw.is_empty() {
        return Err(bad("os", "is required"));
    }
    let (text, cpe) = match raw.rfind(" [") {
        Some(i) if raw.ends_with(']') => (raw[..i].trim().to_owned(), raw[i + 2..raw.len() - 1].trim().to_owned()),
        _ => (raw.clone(), String::new()),
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = words.iter().position(|w| w.starts_with(|c: char| c.is_ascii_digit()));
    let name_words: Vec<&str> =
        words[..at.unwrap_or(words.len())].iter().copied().filter(|w| *w != "release").collect();
    let name = name_words.join(" ");
    let version = at.map(|i| words[i].trim_end_matches(|c: char| !c.is_ascii_alphanumeric())).unwrap_or("");
    let id = os_id(&name, &cpe);
    if version.is_empty() && !matches!(id.as_str(), "arch" | "gentoo") {
        return Err(bad("os", format!("{raw:?} names no version (expected e.g. \"Debian 12.7\")")));
    }
    let parts: Vec<&str> = version.split('.').collect();
    // As /etc/os-release has them: Debian's VERSION_ID is the major release, Ubuntu's the
    // year and month; the others' the version as given.
    let (version_id, version_detail) = match id.as_str() {
        "debian" => (parts[0].to_owned(), version.to_owned()),
        "ubuntu" => (parts[..parts.len().min(2)].join("."), version.to_owned()),
        _ => (version.to_owned(), String::new()),
    };
    Ok(Os {
        id,
        id_like: Vec::new(),
        name,
        version_id,
        pretty_name: text,
        cpe_name: cpe,
        codename: String::new(),
        version_detail,
    })
}

fn os_id(name: &str, cpe: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let known = [
        ("debian", "debian"),
        ("ubuntu", "ubuntu"),
        ("raspbian", "raspbian"),
        ("rocky", "rocky"),
        ("almalinux", "almalinux"),
        ("centos", "centos"),
        ("fedora", "fedora"),
        ("red hat enterprise linux", "rhel"),
        ("oracle linux", "ol"),
        ("arch linux", "arch"),
        ("gentoo", "gentoo"),
    ];
    if let Some((_, id)) = known.iter().find(|(prefix, _)| lower.starts_with(prefix)) {
        return (*id).to_owned();
    }
    // cpe:/o:VENDOR:PRODUCT:VERSION
    match cpe.split(':').nth(2) {
        Some(vendor) if !vendor.is_empty() => vendor.to_ascii_lowercase(),
        _ => lower.split_whitespace().next().unwrap_or("").to_owned(),
    }
}

/// Where in the upload a value is: a line of a list field, named only for an error.
#[derive(Clone, Copy)]
struct At<'a> {
    field: &'a str,
    line: usize,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} line {}", self.field, self.line)
    }
}

/// The non-blank lines of a list field, numbered from 1, split into their values.
fn lines<'a>(field: &'a str, text: &'a str) -> impl Iterator<Item = Result<(At<'a>, Vec<&'a str>)>> + 'a {
    text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(move |(i, line)| {
        let at = At { field, line: i + 1 };
        quoted::split(line).map(|v| (at, v)).map_err(|m| bad(at.to_string(), m))
    })
}

fn packages(text: &str, limits: Limits) -> Result<Vec<InstalledPackage>> {
    let mut out = Vec::new();
    let mut line_of = Vec::new();
    for line in lines("packages", text) {
        let (at, v) = line?;
        if v.len() < 6 {
            return Err(bad(
                at.to_string(),
                format!("{} values; a package line has 6: 'name' 'epoch' 'version' 'release' 'arch' 'type'", v.len()),
            ));
        }
        let kind = match v[5] {
            "deb" => PackageKind::Deb,
            "rpm" => PackageKind::Rpm,
            "arch" | "gentoo" => {
                return Err(bad(at.to_string(), format!("{} packages are not supported yet (deb and rpm are)", v[5])));
            }
            other => return Err(bad(at.to_string(), format!("type {other:?} is not deb, rpm, arch or gentoo"))),
        };
        if v.len() != 6 {
            return Err(bad(at.to_string(), format!("{} values; a {} package line has 6", v.len(), v[5])));
        }
        // rpm lists the keys it trusts as packages; they are not.
        if kind == PackageKind::Rpm && v[0] == "gpg-pubkey" {
            continue;
        }
        let epoch = match v[1] {
            "" | "(none)" => 0,
            e => e.parse().map_err(|_| bad(format!("{at} epoch"), format!("{e:?} is not a number")))?,
        };
        let package = Package {
            kind,
            name: token(|| format!("{at} name"), v[0].to_owned(), MAX_NAME)?,
            epoch,
            version: token(|| format!("{at} version"), v[2].to_owned(), MAX_NAME)?,
            release: optional_token(|| format!("{at} release"), v[3].to_owned(), MAX_NAME)?,
            arch: token(|| format!("{at} arch"), v[4].to_owned(), 64)?,
        };
        out.push(InstalledPackage { package, source_name: String::new(), source_version: String::new() });
        line_of.push(at.line);
        if out.len() > limits.max_packages {
            return Err(bad("packages", format!("more than the limit of {} packages", limits.max_packages)));
        }
    }
    // A package listed twice, found by sorting rather than hashing every line.
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_unstable_by(|a, b| out[*a].package.cmp(&out[*b].package).then(a.cmp(b)));
    if let Some(w) = order.windows(2).find(|w| out[w[0]].package == out[w[1]].package) {
        let p = &out[w[1]].package;
        let (first, again) = (line_of[w[0]], line_of[w[1]]);
        return Err(bad(
            format!("packages line {again}"),
            format!("repeats packages line {first} ({} {})", p.name, p.evr()),
        ));
    }
    Ok(out)
}

fn repos(text: &str, os: &Os, arch: &str) -> Result<Vec<ReportedRepo>> {
    let mut out = Vec::new();
    for line in lines("repos", text) {
        let (at, v) = line?;
        let repo = match v.first().copied() {
            Some("deb") => deb_repo(&at.to_string(), &v)?,
            Some("rpm") => rpm_repo(&at.to_string(), &v, os, arch)?,
            Some(kind @ ("arch" | "gentoo")) => {
                return Err(bad(
                    at.to_string(),
                    format!("{kind} repositories are not supported yet (deb and rpm are)"),
                ));
            }
            other => {
                return Err(bad(
                    at.to_string(),
                    format!("type {:?} is not deb, rpm, arch or gentoo", other.unwrap_or("")),
                ));
            }
        };
        out.push(repo);
        if out.len() > MAX_REPOS {
            return Err(bad("repos", format!("more than the limit of {MAX_REPOS} repositories")));
        }
    }
    Ok(out)
}

fn priority(at: &str, raw: &str, default: i32) -> Result<i32> {
    if raw.is_empty() {
        return Ok(default);
    }
    match raw.parse::<i32>() {
        Ok(p) if (-100_000..=100_000).contains(&p) => Ok(p),
        _ => Err(bad(format!("{at} priority"), format!("{raw:?} is not a priority"))),
    }
}

/// `'deb' 'NAME' 'PRIORITY' 'ARCHIVE/dists/SUITE/COMPONENT/binary-ARCH'`: the repository as
/// the apt collector of `patchman-client` (this project's) names it, `host/path suite/component arch`.
fn deb_repo(at: &str, v: &[&str]) -> Result<ReportedRepo> {
    if v.len() != 4 {
        return Err(bad(
            at.to_string(),
            format!("{} values; a deb repository line has 4: 'deb' 'name' 'priority' 'url'", v.len()),
        ));
    }
    let url = fields::url(&format!("{at} url"), v[3])?;
    let shape = || bad(format!("{at} url"), format!("{url:?} does not end in /dists/SUITE/COMPONENT/binary-ARCH"));
    let (archive, tail) = url.rsplit_once("/dists/").ok_or_else(shape)?;
    let parts: Vec<&str> = tail.split('/').collect();
    let [suite @ .., component, binary] = parts.as_slice() else { return Err(shape()) };
    let architecture = binary.strip_prefix("binary-").ok_or_else(shape)?;
    if suite.is_empty() {
        return Err(shape());
    }
    let suite = suite.join("/");
    let place = archive.split_once("://").map_or(archive, |(_, rest)| rest);
    let id = format!("{place} {suite}/{component} {architecture}");
    Ok(ReportedRepo {
        kind: PackageKind::Deb,
        name: id.clone(),
        repo_id: id,
        priority: priority(at, v[2], 500)?,
        urls: vec![RepoUrl { url: url.clone(), kind: UrlKind::Apt }],
        suite,
        component: (*component).to_owned(),
        architecture: architecture.to_owned(),
    })
}

/// `'rpm' 'NAME ARCH' 'CPE-ID' 'PRIORITY' 'URL'…`: the client appends the arch to the name and
/// puts the OS's CPE name before the id; both are taken off again, so the repository is named
/// as its `.repo` file names it. A mirrorlist or metalink comes first.
fn rpm_repo(at: &str, v: &[&str], os: &Os, arch: &str) -> Result<ReportedRepo> {
    if v.len() < 5 {
        return Err(bad(
            at.to_string(),
            format!("{} values; an rpm repository line has 'rpm' 'name' 'id' 'priority' and its URLs", v.len()),
        ));
    }
    if v.len() > 4 + 64 {
        return Err(bad(at.to_string(), "more than 64 URLs"));
    }
    let cpe_prefix = format!("{}-", os.cpe_name);
    let raw_id = if os.cpe_name.is_empty() { v[2] } else { v[2].strip_prefix(&cpe_prefix).unwrap_or(v[2]) };
    let repo_id = printable(&format!("{at} id"), raw_id.to_owned(), MAX_NAME)?;
    if repo_id.is_empty() {
        return Err(bad(format!("{at} id"), "must not be empty"));
    }
    let name = v[1].strip_suffix(&format!(" {arch}")).unwrap_or(v[1]);
    let mut urls = Vec::with_capacity(v.len() - 4);
    for (j, raw) in v[4..].iter().enumerate() {
        let url = fields::url(&format!("{at} url {}", j + 1), raw)?;
        let lower = url.to_ascii_lowercase();
        let kind = if lower.contains("metalink") {
            UrlKind::Metalink
        } else if lower.contains("mirrorlist") || lower.contains("?repo=") || lower.contains("&repo=") {
            UrlKind::Mirrorlist
        } else {
            UrlKind::Baseurl
        };
        urls.push(RepoUrl { url, kind });
    }
    urls.dedup();
    Ok(ReportedRepo {
        kind: PackageKind::Rpm,
        repo_id,
        name: printable(&format!("{at} name"), name.to_owned(), MAX_NAME)?,
        priority: priority(at, v[3], 99)?,
        urls,
        suite: String::new(),
        component: String::new(),
        architecture: String::new(),
    })
}

/// `'name' 'stream' 'version' 'context' 'arch' 'repo' 'package'…`: an enabled stream.
fn modules(text: &str) -> Result<Vec<ModuleStream>> {
    let mut out: Vec<ModuleStream> = Vec::new();
    for line in lines("modules", text) {
        let (at, v) = line?;
        if v.len() < 6 {
            return Err(bad(
                at.to_string(),
                format!(
                    "{} values; a module line has 'name' 'stream' 'version' 'context' 'arch' 'repo' and its packages",
                    v.len()
                ),
            ));
        }
        let m = ModuleStream {
            name: token(|| format!("{at} name"), v[0].to_owned(), MAX_NAME)?,
            stream: token(|| format!("{at} stream"), v[1].to_owned(), MAX_NAME)?,
            profiles: Vec::new(),
        };
        // One line per (stream, version, context): the stream once.
        if !out.contains(&m) {
            out.push(m);
        }
        if out.len() > MAX_MODULES {
            return Err(bad("modules", format!("more than the limit of {MAX_MODULES} modules")));
        }
    }
    Ok(out)
}

/// `name.arch version [repo]` per line (apt's have no repository).
fn updates(field: &str, text: &str) -> Result<Vec<HostUpdate>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: Vec<&str> = line.split_whitespace().collect();
        if v.is_empty() {
            continue;
        }
        let at = format!("{field} line {}", i + 1);
        if !(2..=3).contains(&v.len()) {
            return Err(bad(at.to_string(), format!("{} words; expected 'name.arch version repo'", v.len())));
        }
        let (name, arch) = v[0].rsplit_once('.').unwrap_or((v[0], ""));
        out.push(HostUpdate {
            name: token(|| format!("{at} name"), name.to_owned(), MAX_NAME)?,
            arch: arch.to_owned(),
            version: token(|| format!("{at} version"), v[1].to_owned(), MAX_NAME)?,
            repo: v.get(2).map(|r| (*r).to_owned()).unwrap_or_default(),
        });
        if out.len() > 100_000 {
            return Err(bad(field, "more than 100000 updates"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
