//! Patchman's protocol 2 (`patchman-client -p 2`: JSON to `/api/report/`) to a domain
//! `Report`, under the same rules as protocol 1 (`values`). Every bad field is named with its
//! place in a list (`packages[3].epoch`), all of them at once, as Patchman's API answers.

use std::borrow::Cow;

use crate::fields::{self, Limits, Result, ValidationError, bad};
use crate::report::{InstalledPackage, ModuleStream, OfferedUpdate, Os, Report, ReportedRepo};

use super::json::Json;
use super::values::{self, At, MAX_OFFERED, PackageValues, RepoValues, Said};

/// A JSON object's entries.
type Map<'a> = [(Cow<'a, str>, Json<'a>)];

/// Reads the body. `report_id` is the server's id for the upload (the protocol has none);
/// `now_ms` stands in for the generation time it does not send either.
pub fn parse(
    body: &[u8],
    limits: Limits,
    report_id: String,
    now_ms: i64,
) -> std::result::Result<Report, Vec<ValidationError>> {
    let value = Json::parse(body).map_err(|e| vec![bad("body", format!("is not JSON: {e}"))])?;
    let Json::Object(top) = &value else {
        return Err(vec![bad("body", "must be a JSON object")]);
    };
    let mut errors = Vec::new();
    let mut keep = |r: Result<()>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    keep(protocol(field(top, "protocol")));
    let mut hostname = String::new();
    keep(text(top, "hostname", || "hostname".into()).and_then(|h| {
        hostname = fields::hostname(&h).map_err(|e| bad("hostname", e.message))?;
        Ok(())
    }));
    let mut os = None;
    keep(text(top, "os", || "os".into()).and_then(|raw| {
        os = Some(values::os(&raw)?);
        Ok(())
    }));
    let mut kernel = String::new();
    keep(text(top, "kernel", || "kernel".into()).and_then(|raw| {
        kernel = values::kernel(&raw)?;
        Ok(())
    }));
    let mut arch = String::new();
    keep(text(top, "arch", || "arch".into()).and_then(|raw| {
        arch = values::arch(&raw)?;
        Ok(())
    }));
    let mut tags = Vec::new();
    keep(tag_list(field(top, "tags")).map(|t| tags = t));
    let mut reboot = false;
    keep(flag(field(top, "reboot_required"), "reboot_required").map(|r| reboot = r));
    let mut packages = Vec::new();
    keep(list(top, "packages").and_then(|items| read_packages(items, limits)).map(|p| packages = p));
    let mut repos = Vec::new();
    if let Some(os) = &os {
        keep(list(top, "repos").and_then(|items| read_repos(items, os, &arch)).map(|r| repos = r));
    }
    let mut modules = Vec::new();
    keep(list(top, "modules").and_then(read_modules).map(|m| modules = m));
    let mut offered_updates = Vec::new();
    for (field, security) in [("sec_updates", true), ("bug_updates", false)] {
        keep(
            list(top, field).and_then(|items| read_updates(field, items, security)).map(|u| offered_updates.extend(u)),
        );
    }
    let Some(os) = os.filter(|_| errors.is_empty()) else { return Err(errors) };
    let said = Said { hostname, os, kernel, arch, packages, repos, modules, reboot, tags, offered_updates };
    Ok(said.into_report(report_id, now_ms, 2))
}

fn field<'v, 'a>(obj: &'v Map<'a>, key: &str) -> Option<&'v Json<'a>> {
    obj.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn protocol(v: Option<&Json>) -> Result<()> {
    match v {
        None | Some(Json::Null) => Ok(()),
        Some(Json::Number(n)) if n.as_i64() == Some(2) => Ok(()),
        Some(Json::Str(s)) if s.trim() == "2" => Ok(()),
        Some(other) => Err(bad("protocol", format!("{other} is not 2 (protocol 1 posts a form to /reports/upload/)"))),
    }
}

/// A text value: a string, or a number as its digits (Patchman reads both); absent is empty.
fn text_value<'v>(v: Option<&'v Json>, field: impl Fn() -> String) -> Result<Cow<'v, str>> {
    match v {
        None | Some(Json::Null) => Ok(Cow::Borrowed("")),
        Some(Json::Str(s)) => Ok(Cow::Borrowed(s)),
        Some(Json::Number(n)) => Ok(Cow::Owned(n.to_string())),
        Some(Json::Bool(_) | Json::Array(_) | Json::Object(_)) => Err(bad(field(), "must be text")),
    }
}

fn text<'v>(obj: &'v Map, key: &str, name: impl Fn() -> String) -> Result<Cow<'v, str>> {
    text_value(field(obj, key), name)
}

/// A list; absent is empty.
fn list<'v, 'a>(obj: &'v Map<'a>, key: &str) -> Result<&'v [Json<'a>]> {
    match field(obj, key) {
        None | Some(Json::Null) => Ok(&[]),
        Some(Json::Array(items)) => Ok(items),
        Some(_) => Err(bad(key, "must be a list")),
    }
}

fn flag(v: Option<&Json>, field: &str) -> Result<bool> {
    match v {
        None | Some(Json::Null) => Ok(false),
        Some(Json::Bool(b)) => Ok(*b),
        Some(Json::Str(s)) if ["true", "True", "1"].contains(&s.as_ref()) => Ok(true),
        Some(Json::Str(s)) if ["false", "False", "0", ""].contains(&s.as_ref()) => Ok(false),
        Some(other) => Err(bad(field, format!("{other} is not true or false"))),
    }
}

fn tag_list(v: Option<&Json>) -> Result<Vec<String>> {
    match v {
        None | Some(Json::Null) => Ok(Vec::new()),
        // A comma-separated string, as protocol 1 sends them.
        Some(Json::Str(s)) => values::tags(s.split(',')),
        Some(Json::Array(items)) => {
            let texts = items
                .iter()
                .enumerate()
                .map(|(i, t)| text_value(Some(t), || format!("tags[{i}]")))
                .collect::<Result<Vec<_>>>()?;
            values::tags(texts.iter().map(|t| t.as_ref()))
        }
        Some(_) => Err(bad("tags", "must be a list")),
    }
}

/// Each element of a list as an object, with its place.
fn objects<'v, 'a>(field: &'v str, items: &'v [Json<'a>]) -> impl Iterator<Item = Result<(At<'v>, &'v Map<'a>)>> {
    items.iter().enumerate().map(move |(index, item)| {
        let at = At::Item { field, index };
        match item {
            Json::Object(obj) => Ok((at, obj.as_slice())),
            _ => Err(bad(at.whole(), "must be an object")),
        }
    })
}

fn read_packages(items: &[Json], limits: Limits) -> Result<Vec<InstalledPackage>> {
    if items.len() > limits.max_packages {
        return Err(bad("packages", format!("more than the limit of {} packages", limits.max_packages)));
    }
    let mut out = Vec::with_capacity(items.len());
    let mut places = Vec::with_capacity(items.len());
    for item in objects("packages", items) {
        let (at, p) = item?;
        let get = |key: &str| text(p, key, || at.part(key));
        let (name, epoch, version, release, arch, kind, category) = (
            get("name")?,
            get("epoch")?,
            get("version")?,
            get("release")?,
            get("arch")?,
            get("type")?,
            get("category")?,
        );
        let v = PackageValues {
            name: &name,
            epoch: &epoch,
            version: &version,
            release: &release,
            arch: &arch,
            kind: &kind,
            category: &category,
        };
        if let Some(package) = values::package(at, v)? {
            out.push(package);
            places.push(at);
        }
    }
    values::no_repeats(&out, &places, limits)?;
    Ok(out)
}

fn read_repos(items: &[Json], os: &Os, arch: &str) -> Result<Vec<ReportedRepo>> {
    values::repo_count(items.len())?;
    let mut out = Vec::with_capacity(items.len());
    for item in objects("repos", items) {
        let (at, r) = item?;
        let get = |key: &str| text(r, key, || at.part(key));
        let (kind, name, id) = (get("type")?, get("name")?, get("id")?);
        let priority = match field(r, "priority") {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) => Some(values::checked_priority(
                at,
                n.as_i64().ok_or_else(|| bad(at.part("priority"), "must be a whole number"))?,
            )?),
            Some(Json::Str(s)) => values::priority(at, s.trim())?,
            Some(_) => return Err(bad(at.part("priority"), "must be a whole number")),
        };
        let urls = match field(r, "urls") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(urls)) => urls
                .iter()
                .enumerate()
                .map(|(j, u)| text_value(Some(u), || at.part(&format!("urls[{j}]"))))
                .collect::<Result<Vec<_>>>()?,
            Some(_) => return Err(bad(at.part("urls"), "must be a list")),
        };
        let v =
            RepoValues { kind: &kind, name: &name, id: &id, priority, urls: urls.iter().map(|u| u.as_ref()).collect() };
        out.push(values::repo(at, v, os, arch)?);
    }
    Ok(out)
}

fn read_modules(items: &[Json]) -> Result<Vec<ModuleStream>> {
    let mut out = Vec::new();
    for item in objects("modules", items) {
        let (at, m) = item?;
        let (name, stream) = (text(m, "name", || at.part("name"))?, text(m, "stream", || at.part("stream"))?);
        values::module(at, &name, &stream, &mut out)?;
    }
    Ok(out)
}

fn read_updates(field: &str, items: &[Json], security: bool) -> Result<Vec<OfferedUpdate>> {
    if items.len() > MAX_OFFERED {
        return Err(bad(field, format!("more than {MAX_OFFERED} updates")));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in objects(field, items) {
        let (at, u) = item?;
        let get = |key: &str| text(u, key, || at.part(key));
        let (name, arch, version, repo) = (get("name")?, get("arch")?, get("version")?, get("repo")?);
        out.push(values::offered_update(at, &name, &arch, &version, &repo, security)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
