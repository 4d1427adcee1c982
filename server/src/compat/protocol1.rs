//! Patchman's protocol 1 (`patchman-client` from cron and its hooks: `curl -F` to
//! `/reports/upload/`): its form fields to a domain `Report`, under the rules every front door
//! shares (`fields`). An error names the field and, in a list field, the line
//! (`packages line 3: …`); nothing about the upload is kept when one is found.

use std::collections::HashMap;

use crate::fields::{self, Limits, Result, bad};
use crate::report::{InstalledPackage, ModuleStream, OfferedUpdate, Os, Report, ReportedRepo};

use super::quoted;
use super::values::{self, At, MAX_OFFERED, PackageValues, RepoValues, Said};

/// A parsed upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub report: Report,
    /// `report=true`: the client asks for the text summary back.
    pub echo: bool,
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
    let os = values::os(get("os"))?;
    let kernel = values::kernel(get("kernel"))?;
    let arch = values::arch(get("arch"))?;
    let packages = packages(get("packages"), limits)?;
    let repos = repos(get("repos"), &os, &arch)?;
    let modules = modules(get("modules"))?;
    let tags = values::tags(get("tags").split(','))?;
    let reboot = match get("reboot").trim() {
        "True" => true,
        "" | "ServerCheck" | "False" => false,
        other => return Err(bad("reboot", format!("{other:?} is not True or ServerCheck"))),
    };
    let echo = echo(form)?;
    let mut offered_updates = updates("sec_updates", get("sec_updates"), true)?;
    offered_updates.extend(updates("bug_updates", get("bug_updates"), false)?);
    let said = Said { hostname, os, kernel, arch, packages, repos, modules, reboot, tags, offered_updates };
    let report = said.into_report(report_id, now_ms, 1);
    Ok(Upload { report, echo })
}

/// `report=true`: the client asks for the text summary back.
pub fn echo(form: &HashMap<String, String>) -> Result<bool> {
    match form.get("report").map(|r| r.trim()).unwrap_or("") {
        "true" | "True" => Ok(true),
        "" | "false" | "False" => Ok(false),
        other => Err(bad("report", format!("{other:?} is not true or false"))),
    }
}

/// The non-blank lines of a list field, numbered from 1, split into their values.
fn lines<'a>(field: &'a str, text: &'a str) -> impl Iterator<Item = Result<(At<'a>, Vec<&'a str>)>> + 'a {
    text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(move |(i, line)| {
        let at = At::Line { field, line: i + 1 };
        quoted::split(line).map(|v| (at, v)).map_err(|m| bad(at.whole(), m))
    })
}

/// `'name' 'epoch' 'version' 'release' 'arch' 'type'`, and for gentoo `'category' 'repo'`.
fn packages(text: &str, limits: Limits) -> Result<Vec<InstalledPackage>> {
    let mut out = Vec::new();
    let mut places = Vec::new();
    for line in lines("packages", text) {
        let (at, v) = line?;
        if v.len() < 6 {
            return Err(bad(
                at.whole(),
                format!("{} values; a package line has 6: 'name' 'epoch' 'version' 'release' 'arch' 'type'", v.len()),
            ));
        }
        let kind = values::package_kind(|| at.whole(), v[5])?;
        let wanted = if kind == crate::report::PackageKind::Gentoo { 8 } else { 6 };
        if v.len() != wanted {
            return Err(bad(at.whole(), format!("{} values; a {} package line has {wanted}", v.len(), v[5])));
        }
        let values = PackageValues {
            name: v[0],
            epoch: v[1],
            version: v[2],
            release: v[3],
            arch: v[4],
            kind: v[5],
            category: v.get(6).copied().unwrap_or(""),
        };
        if let Some(p) = values::package(at, values)? {
            out.push(p);
            places.push(at);
        }
        if out.len() > limits.max_packages {
            return Err(bad("packages", format!("more than the limit of {} packages", limits.max_packages)));
        }
    }
    values::no_repeats(&out, &places, limits)?;
    Ok(out)
}

/// deb: `'deb' 'name' 'priority' 'url'`; rpm: `'rpm' 'name' 'id' 'priority' 'url'…`;
/// arch: `'arch' 'name' 'id' 'server'…`; gentoo: `'gentoo' 'name' 'id' 'priority' 'sync-uri'`.
fn repos(text: &str, os: &Os, arch: &str) -> Result<Vec<ReportedRepo>> {
    let mut out = Vec::new();
    for line in lines("repos", text) {
        let (at, v) = line?;
        let kind = v.first().copied().unwrap_or("");
        let (wanted, shape) = match kind {
            "deb" => (4..=4, "a deb repository line has 4: 'deb' 'name' 'priority' 'url'"),
            "rpm" => (5..=68, "an rpm repository line has 'rpm' 'name' 'id' 'priority' and its URLs"),
            "arch" => (4..=67, "an arch repository line has 'arch' 'name' 'id' and its servers"),
            "gentoo" => (5..=5, "a gentoo repository line has 5: 'gentoo' 'name' 'id' 'priority' 'sync-uri'"),
            other => return Err(bad(at.whole(), format!("type {other:?} is not deb, rpm, arch or gentoo"))),
        };
        if !wanted.contains(&v.len()) {
            return Err(bad(at.whole(), format!("{} values; {shape}", v.len())));
        }
        let values = match kind {
            "deb" => RepoValues {
                kind,
                name: v[1],
                priority: values::priority(at, v[2])?,
                urls: vec![v[3]],
                ..Default::default()
            },
            "arch" => RepoValues { kind, name: v[1], id: v[2], priority: None, urls: v[3..].to_vec() },
            _ => {
                RepoValues { kind, name: v[1], id: v[2], priority: values::priority(at, v[3])?, urls: v[4..].to_vec() }
            }
        };
        out.push(values::repo(at, values, os, arch)?);
        values::repo_count(out.len())?;
    }
    Ok(out)
}

/// `'name' 'stream' 'version' 'context' 'arch' 'repo' 'package'…`: an enabled stream.
fn modules(text: &str) -> Result<Vec<ModuleStream>> {
    let mut out: Vec<ModuleStream> = Vec::new();
    for line in lines("modules", text) {
        let (at, v) = line?;
        if v.len() < 6 {
            return Err(bad(
                at.whole(),
                format!(
                    "{} values; a module line has 'name' 'stream' 'version' 'context' 'arch' 'repo' and its packages",
                    v.len()
                ),
            ));
        }
        values::module(at, v[0], v[1], &mut out)?;
    }
    Ok(out)
}

/// `name.arch version [repo]` per line (apt's have no repository).
fn updates(field: &str, text: &str, security: bool) -> Result<Vec<OfferedUpdate>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v: Vec<&str> = line.split_whitespace().collect();
        if v.is_empty() {
            continue;
        }
        let at = At::Line { field, line: i + 1 };
        if !(2..=3).contains(&v.len()) {
            return Err(bad(at.whole(), format!("{} words; expected 'name.arch version repo'", v.len())));
        }
        let (name, arch) = v[0].rsplit_once('.').unwrap_or((v[0], ""));
        out.push(values::offered_update(at, name, arch, v[1], v.get(2).copied().unwrap_or(""), security)?);
        if out.len() > MAX_OFFERED {
            return Err(bad(field, format!("more than {MAX_OFFERED} updates")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
