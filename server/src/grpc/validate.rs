//! Turns a `patchman.v1.Report` into a domain `Report`, or says which field is wrong.
//!
//! Every rule here is about the shape of the data; whether the host may send it at all is
//! decided by the store (token and hostname).

use patchman_engine::hash::FxHashMap;

use patchman_proto as pb;

use crate::report::{
    ChangeAction, InstalledPackage, ModuleStream, Os, Package, PackageChange, PackageKind, Reboot, RepoUrl, Report,
    ReportedRepo, Transaction, Trigger, UrlKind,
};

use crate::fields::{self, Result, bad, named, optional_token, printable, token, url};
pub use crate::fields::{ValidationError, hostname, machine_id};

pub use crate::fields::{Limits, MAX_MODULES, MAX_REPOS, MAX_TAGS};
pub const MAX_TRANSACTIONS: usize = 10_000;
pub const MAX_CHANGES: usize = 100_000;
const MAX_NAME: usize = 255;

/// Validates and converts. `now_ms` clamps host clocks that run ahead.
pub fn report(r: pb::Report, limits: Limits, now_ms: i64) -> Result<Report> {
    let report_id = fields::report_id(r.report_id)?;
    let generated_at_ms = fields::generated_at(r.generated_at_ms, now_ms)?;
    let host = r.host.ok_or_else(|| bad("host", "is required"))?;
    let hostname = fields::hostname(&host.hostname)?;
    let machine_id = fields::machine_id(&host.machine_id)?;
    let os = os(r.os.ok_or_else(|| bad("os", "is required"))?)?;
    let kernel = token(named("kernel"), r.kernel, MAX_NAME)?;
    let arch = token(named("arch"), r.arch, 64)?;
    if r.packages.len() > limits.max_packages {
        return Err(bad(
            "packages",
            format!("{} packages is more than the limit of {}", r.packages.len(), limits.max_packages),
        ));
    }
    let packages = packages(r.packages)?;
    if r.repos.len() > MAX_REPOS {
        return Err(bad("repos", format!("{} repositories is more than the limit of {MAX_REPOS}", r.repos.len())));
    }
    let repos = r.repos.into_iter().enumerate().map(|(i, repo)| repository(i, repo)).collect::<Result<Vec<_>>>()?;
    if r.modules.len() > MAX_MODULES {
        return Err(bad("modules", format!("{} modules is more than the limit of {MAX_MODULES}", r.modules.len())));
    }
    let modules = r.modules.into_iter().enumerate().map(|(i, m)| module(i, m)).collect::<Result<Vec<_>>>()?;
    let reboot = reboot(r.reboot.unwrap_or_default())?;
    if r.tags.len() > MAX_TAGS {
        return Err(bad("tags", format!("{} tags is more than the limit of {MAX_TAGS}", r.tags.len())));
    }
    let mut tags = r.tags.iter().enumerate().map(|(i, t)| tag(i, t)).collect::<Result<Vec<_>>>()?;
    tags.sort();
    tags.dedup();
    let trigger = trigger(r.trigger)?;
    let transactions = transactions(r.transactions)?;
    let client_version = printable("client_version", r.client_version, 128)?;
    Ok(Report {
        report_id,
        generated_at_ms,
        hostname,
        machine_id,
        os,
        kernel,
        arch,
        packages,
        repos,
        modules,
        reboot,
        tags,
        trigger,
        transactions,
        client_version,
        offered_updates: Vec::new(),
    })
}

/// The report's trigger, from its wire value.
pub fn trigger(raw: i32) -> Result<Trigger> {
    match pb::Trigger::try_from(raw) {
        Ok(pb::Trigger::Timer) => Ok(Trigger::Timer),
        Ok(pb::Trigger::Transaction) => Ok(Trigger::Transaction),
        Ok(pb::Trigger::Manual) => Ok(Trigger::Manual),
        Ok(pb::Trigger::Unspecified) => Err(bad("trigger", "is required")),
        Err(_) => Err(bad("trigger", format!("unknown value {raw}"))),
    }
}

fn os(o: pb::OperatingSystem) -> Result<Os> {
    let id = token(named("os.id"), o.id, 64)?;
    let id_like = o
        .id_like
        .into_iter()
        .enumerate()
        .map(|(i, s)| token(|| format!("os.id_like[{i}]"), s, 64))
        .collect::<Result<Vec<_>>>()?;
    Ok(Os {
        id,
        id_like,
        name: printable("os.name", o.name, MAX_NAME)?,
        version_id: printable("os.version_id", o.version_id, 64)?,
        pretty_name: printable("os.pretty_name", o.pretty_name, MAX_NAME)?,
        cpe_name: printable("os.cpe_name", o.cpe_name, MAX_NAME)?,
        codename: printable("os.codename", o.codename, 64)?,
        version_detail: printable("os.version_detail", o.version_detail, 64)?,
    })
}

fn package_kind<F: Fn() -> String>(field: F, raw: i32) -> Result<PackageKind> {
    match pb::PackageKind::try_from(raw) {
        Ok(pb::PackageKind::Deb) => Ok(PackageKind::Deb),
        Ok(pb::PackageKind::Rpm) => Ok(PackageKind::Rpm),
        Ok(pb::PackageKind::Arch) => Ok(PackageKind::Arch),
        Ok(pb::PackageKind::Gentoo) => Ok(PackageKind::Gentoo),
        Ok(pb::PackageKind::Unspecified) => Err(bad(field(), "is required (deb, rpm, arch or gentoo)")),
        Err(_) => Err(bad(field(), format!("unknown value {raw}"))),
    }
}

fn packages(list: Vec<pb::Package>) -> Result<Vec<InstalledPackage>> {
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.into_iter().enumerate() {
        let package = Package {
            kind: package_kind(|| format!("packages[{i}].kind"), p.kind)?,
            name: token(|| format!("packages[{i}].name"), p.name, MAX_NAME)?,
            epoch: p.epoch,
            version: token(|| format!("packages[{i}].version"), p.version, MAX_NAME)?,
            release: optional_token(|| format!("packages[{i}].release"), p.release, MAX_NAME)?,
            arch: token(|| format!("packages[{i}].arch"), p.arch, 64)?,
        };
        out.push(InstalledPackage {
            package,
            source_name: optional_token(|| format!("packages[{i}].source_name"), p.source_name, MAX_NAME)?,
            source_version: optional_token(|| format!("packages[{i}].source_version"), p.source_version, MAX_NAME)?,
        });
    }
    let mut seen: FxHashMap<&Package, usize> = FxHashMap::with_capacity_and_hasher(out.len(), Default::default());
    for (i, p) in out.iter().enumerate() {
        if let Some(first) = seen.insert(&p.package, i) {
            let pkg = &p.package;
            return Err(bad(
                format!("packages[{i}]"),
                format!("duplicates packages[{first}] ({} {})", pkg.name, pkg.evr()),
            ));
        }
    }
    Ok(out)
}

fn repository(i: usize, r: pb::Repository) -> Result<ReportedRepo> {
    let f = |name: &str| format!("repos[{i}].{name}");
    let kind = package_kind(|| f("kind"), r.kind)?;
    let repo_id = printable(&f("id"), r.id, MAX_NAME)?;
    if repo_id.is_empty() {
        return Err(bad(f("id"), "must not be empty"));
    }
    if !(-100_000..=100_000).contains(&r.priority) {
        return Err(bad(f("priority"), format!("{} is out of range", r.priority)));
    }
    if r.urls.is_empty() {
        return Err(bad(f("urls"), "at least one URL is required"));
    }
    if r.urls.len() > 64 {
        return Err(bad(f("urls"), "more than 64 URLs"));
    }
    let mut urls = Vec::with_capacity(r.urls.len());
    for (j, u) in r.urls.into_iter().enumerate() {
        let uf = format!("repos[{i}].urls[{j}]");
        let kind = match pb::UrlKind::try_from(u.kind) {
            Ok(pb::UrlKind::Baseurl) => UrlKind::Baseurl,
            Ok(pb::UrlKind::Mirrorlist) => UrlKind::Mirrorlist,
            Ok(pb::UrlKind::Metalink) => UrlKind::Metalink,
            Ok(pb::UrlKind::Apt) => UrlKind::Apt,
            Ok(pb::UrlKind::Unspecified) => return Err(bad(format!("{uf}.kind"), "is required")),
            Err(_) => return Err(bad(format!("{uf}.kind"), format!("unknown value {}", u.kind))),
        };
        urls.push(RepoUrl { url: url(&format!("{uf}.url"), &u.url)?, kind });
    }
    urls.dedup();
    Ok(ReportedRepo {
        kind,
        name: printable(&f("name"), r.name, MAX_NAME)?,
        repo_id,
        priority: r.priority,
        urls,
        suite: optional_token(|| f("suite"), r.suite, MAX_NAME)?,
        component: optional_token(|| f("component"), r.component, MAX_NAME)?,
        architecture: optional_token(|| f("architecture"), r.architecture, 64)?,
    })
}

fn module(i: usize, m: pb::ModuleStream) -> Result<ModuleStream> {
    let f = |name: &str| format!("modules[{i}].{name}");
    let profiles = m
        .profiles
        .into_iter()
        .enumerate()
        .map(|(j, p)| token(|| format!("modules[{i}].profiles[{j}]"), p, MAX_NAME))
        .collect::<Result<Vec<_>>>()?;
    Ok(ModuleStream {
        name: token(|| f("name"), m.name, MAX_NAME)?,
        stream: token(|| f("stream"), m.stream, MAX_NAME)?,
        profiles,
    })
}

fn reboot(r: pb::Reboot) -> Result<Reboot> {
    if r.packages.len() > 10_000 {
        return Err(bad("reboot.packages", "more than 10000 packages"));
    }
    let packages = r
        .packages
        .into_iter()
        .enumerate()
        .map(|(i, p)| token(|| format!("reboot.packages[{i}]"), p, MAX_NAME))
        .collect::<Result<Vec<_>>>()?;
    Ok(Reboot { required: r.required, reason: printable("reboot.reason", r.reason, 1_024)?, packages })
}

fn tag(i: usize, raw: &str) -> Result<String> {
    fields::tag(&format!("tags[{i}]"), raw)
}

fn transactions(list: Vec<pb::Transaction>) -> Result<Vec<Transaction>> {
    if list.len() > MAX_TRANSACTIONS {
        return Err(bad("transactions", format!("more than {MAX_TRANSACTIONS} transactions")));
    }
    let total: usize = list.iter().map(|t| t.changes.len()).sum();
    if total > MAX_CHANGES {
        return Err(bad("transactions", format!("more than {MAX_CHANGES} package changes in all")));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, t) in list.into_iter().enumerate() {
        let f = |name: &str| format!("transactions[{i}].{name}");
        if t.finished_at_ms <= 0 {
            return Err(bad(f("finished_at_ms"), "must be a positive number of milliseconds since 1970"));
        }
        let mut changes = Vec::with_capacity(t.changes.len());
        for (j, c) in t.changes.into_iter().enumerate() {
            let cf = |name: &str| format!("transactions[{i}].changes[{j}].{name}");
            let action = match pb::ChangeAction::try_from(c.action) {
                Ok(pb::ChangeAction::Installed) => ChangeAction::Installed,
                Ok(pb::ChangeAction::Upgraded) => ChangeAction::Upgraded,
                Ok(pb::ChangeAction::Downgraded) => ChangeAction::Downgraded,
                Ok(pb::ChangeAction::Removed) => ChangeAction::Removed,
                Ok(pb::ChangeAction::Reinstalled) => ChangeAction::Reinstalled,
                Ok(pb::ChangeAction::Unspecified) => return Err(bad(cf("action"), "is required")),
                Err(_) => return Err(bad(cf("action"), format!("unknown value {}", c.action))),
            };
            changes.push(PackageChange {
                action,
                name: token(|| cf("name"), c.name, MAX_NAME)?,
                arch: optional_token(|| cf("arch"), c.arch, 64)?,
                old_version: optional_token(|| cf("old_version"), c.old_version, MAX_NAME)?,
                new_version: optional_token(|| cf("new_version"), c.new_version, MAX_NAME)?,
            });
        }
        out.push(Transaction {
            transaction_id: token(|| f("transaction_id"), t.transaction_id, 128)?,
            finished_at_ms: t.finished_at_ms,
            tool: optional_token(|| f("tool"), t.tool, 64)?,
            changes,
        });
    }
    Ok(out)
}
