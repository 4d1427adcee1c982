//! What Patchman's clients send, value by value (a package's name, epoch, version…; a
//! repository's type, name, id…), to the server's domain values, whichever protocol carried
//! them: protocol 1's quoted lines and protocol 2's JSON objects arrive here as the same
//! values, so both doors keep one set of rules. An error names where the value was
//! (`packages line 3 epoch`, `packages[2].epoch`).

use crate::fields::{self, Limits, MAX_MODULES, MAX_REPOS, MAX_TAGS, Result, bad, optional_token, printable, token};
use crate::report::{
    InstalledPackage, ModuleStream, OfferedUpdate, Os, Package, PackageKind, Reboot, RepoUrl, Report, ReportedRepo,
    Trigger, UrlKind,
};

pub const MAX_NAME: usize = 255;

/// What either protocol says of a host, read and checked.
#[derive(Debug, Clone)]
pub struct Said {
    pub hostname: String,
    pub os: Os,
    pub kernel: String,
    pub arch: String,
    pub packages: Vec<InstalledPackage>,
    pub repos: Vec<ReportedRepo>,
    pub modules: Vec<ModuleStream>,
    pub reboot: bool,
    pub tags: Vec<String>,
    pub offered_updates: Vec<OfferedUpdate>,
}

impl Said {
    /// The report it makes. Patchman's clients send no report id or generation time: the
    /// server's id (`report_id`) and the time it arrived stand in.
    pub fn into_report(self, report_id: String, now_ms: i64, protocol: u8) -> Report {
        Report {
            report_id,
            generated_at_ms: now_ms,
            hostname: self.hostname,
            machine_id: String::new(),
            os: self.os,
            kernel: self.kernel,
            arch: self.arch,
            // Its hooks send no repositories (`-n`); cron sends everything.
            trigger: if self.repos.is_empty() { Trigger::Transaction } else { Trigger::Timer },
            packages: self.packages,
            repos: self.repos,
            modules: self.modules,
            reboot: reboot(self.reboot),
            tags: self.tags,
            transactions: Vec::new(),
            client_version: format!("patchman-client (protocol {protocol})"),
            offered_updates: self.offered_updates,
        }
    }
}
/// Most updates one list of the host's own view may name.
pub const MAX_OFFERED: usize = 100_000;

/// Where a value is in an upload, named only for an error: a line of a protocol-1 field, or
/// an element of a protocol-2 list.
#[derive(Debug, Clone, Copy)]
pub enum At<'a> {
    Line { field: &'a str, line: usize },
    Item { field: &'a str, index: usize },
}

impl At<'_> {
    /// The line or element: `packages line 3`, `packages[2]`.
    pub fn whole(&self) -> String {
        match self {
            Self::Line { field, line } => format!("{field} line {line}"),
            Self::Item { field, index } => format!("{field}[{index}]"),
        }
    }

    /// One value of it: `packages line 3 epoch`, `packages[2].epoch`.
    pub fn part(&self, name: &str) -> String {
        match self {
            Self::Line { .. } => format!("{} {name}", self.whole()),
            Self::Item { .. } => format!("{}.{name}", self.whole()),
        }
    }
}

/// A package as both protocols give it: `'name' 'epoch' 'version' 'release' 'arch' 'type'`,
/// and for gentoo `'category' 'repo'`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PackageValues<'a> {
    pub name: &'a str,
    pub epoch: &'a str,
    pub version: &'a str,
    pub release: &'a str,
    pub arch: &'a str,
    pub kind: &'a str,
    pub category: &'a str,
}

pub fn package_kind(field: impl Fn() -> String, raw: &str) -> Result<PackageKind> {
    PackageKind::parse(raw).ok_or_else(|| bad(field(), format!("type {raw:?} is not deb, rpm, arch or gentoo")))
}

/// A package, or `None` for what rpm lists but is no package (`gpg-pubkey`, its trusted keys).
/// A gentoo package is named `CATEGORY/NAME`, as portage names it; the client sends its SLOT
/// where the epoch goes, which is no epoch and is not kept.
pub fn package(at: At, v: PackageValues) -> Result<Option<InstalledPackage>> {
    let kind = package_kind(|| at.whole(), v.kind)?;
    if kind == PackageKind::Rpm && v.name == "gpg-pubkey" {
        return Ok(None);
    }
    let epoch = match (kind, v.epoch) {
        (PackageKind::Gentoo, _) | (_, "" | "(none)") => 0,
        (_, e) => e.parse().map_err(|_| bad(at.part("epoch"), format!("{e:?} is not a number")))?,
    };
    let name = match kind {
        PackageKind::Gentoo => {
            let category = token(|| at.part("category"), v.category.to_owned(), MAX_NAME)?;
            format!("{category}/{}", v.name)
        }
        _ => plus(v.name),
    };
    let package = Package {
        kind,
        name: token(|| at.part("name"), name, MAX_NAME)?,
        epoch,
        version: token(|| at.part("version"), plus(v.version), MAX_NAME)?,
        release: optional_token(|| at.part("release"), plus(v.release), MAX_NAME)?,
        arch: token(|| at.part("arch"), v.arch.to_owned(), 64)?,
    };
    Ok(Some(InstalledPackage { package, source_name: String::new(), source_version: String::new() }))
}

/// `patchman-client` escapes '+' as `%2b` for rpm (`libstdc%2b%2b`): protocol 1's form
/// decoding gives it back, protocol 2's JSON keeps it. No package name or version holds a '%'.
fn plus(raw: &str) -> String {
    if raw.contains('%') { raw.replace("%2b", "+").replace("%2B", "+") } else { raw.to_owned() }
}

/// Refuses a package given twice (found by sorting, not by hashing every package), naming
/// both places; `places[i]` is where `packages[i]` was.
pub fn no_repeats(packages: &[InstalledPackage], places: &[At], limits: Limits) -> Result<()> {
    if packages.len() > limits.max_packages {
        return Err(bad("packages", format!("more than the limit of {} packages", limits.max_packages)));
    }
    let mut order: Vec<usize> = (0..packages.len()).collect();
    order.sort_unstable_by(|a, b| packages[*a].package.cmp(&packages[*b].package).then(a.cmp(b)));
    if let Some(w) = order.windows(2).find(|w| packages[w[0]].package == packages[w[1]].package) {
        let p = &packages[w[1]].package;
        return Err(bad(places[w[1]].whole(), format!("repeats {} ({} {})", places[w[0]].whole(), p.name, p.evr())));
    }
    Ok(())
}

/// A repository as both protocols give it.
#[derive(Debug, Clone, Default)]
pub struct RepoValues<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    /// The repository's id (rpm, arch, gentoo); deb repositories have none.
    pub id: &'a str,
    /// `None`: the kind's default (apt 500, dnf 99, others 0).
    pub priority: Option<i32>,
    pub urls: Vec<&'a str>,
}

/// A priority as text (protocol 1); empty is the kind's default.
pub fn priority(at: At, raw: &str) -> Result<Option<i32>> {
    if raw.is_empty() {
        return Ok(None);
    }
    match raw.parse::<i32>() {
        Ok(p) => checked_priority(at, i64::from(p)).map(Some),
        Err(_) => Err(bad(at.part("priority"), format!("{raw:?} is not a priority"))),
    }
}

pub fn checked_priority(at: At, p: i64) -> Result<i32> {
    if (-100_000..=100_000).contains(&p) {
        Ok(p as i32)
    } else {
        Err(bad(at.part("priority"), format!("{p} is not a priority (-100000 to 100000)")))
    }
}

pub fn repo(at: At, v: RepoValues, os: &Os, arch: &str) -> Result<ReportedRepo> {
    let kind = package_kind(|| at.part("type"), v.kind)?;
    if v.urls.is_empty() {
        return Err(bad(at.part("urls"), "a repository needs at least one URL"));
    }
    if v.urls.len() > 64 {
        return Err(bad(at.part("urls"), "more than 64 URLs"));
    }
    match kind {
        PackageKind::Deb => deb_repo(at, &v),
        PackageKind::Rpm => rpm_repo(at, &v, os, arch),
        PackageKind::Arch | PackageKind::Gentoo => inventory_repo(at, kind, &v),
    }
}

fn url_part(at: At, urls: usize, j: usize) -> String {
    if urls == 1 { at.part("url") } else { at.part(&format!("url {}", j + 1)) }
}

/// `'deb' 'NAME' 'PRIORITY' 'ARCHIVE/dists/SUITE/COMPONENT/binary-ARCH'`: the repository as
/// this project's apt collector names it, `host/path suite/component arch`.
fn deb_repo(at: At, v: &RepoValues) -> Result<ReportedRepo> {
    if v.urls.len() != 1 {
        return Err(bad(at.part("urls"), format!("{} URLs; a deb repository has one", v.urls.len())));
    }
    let field = at.part("url");
    let url = fields::url(&field, v.urls[0])?;
    let shape = || bad(&field, format!("{url:?} does not end in /dists/SUITE/COMPONENT/binary-ARCH"));
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
        priority: v.priority.unwrap_or(500),
        urls: vec![RepoUrl { url: url.clone(), kind: UrlKind::Apt }],
        suite,
        component: (*component).to_owned(),
        architecture: architecture.to_owned(),
    })
}

/// The client appends the arch to an rpm repository's name and puts the OS's CPE name
/// before its id; both are taken off again, so the repository is named as its `.repo` file
/// names it. A mirrorlist or metalink comes first.
fn rpm_repo(at: At, v: &RepoValues, os: &Os, arch: &str) -> Result<ReportedRepo> {
    let cpe_prefix = format!("{}-", os.cpe_name);
    let raw_id = if os.cpe_name.is_empty() { v.id } else { v.id.strip_prefix(&cpe_prefix).unwrap_or(v.id) };
    let repo_id = printable(&at.part("id"), raw_id.to_owned(), MAX_NAME)?;
    if repo_id.is_empty() {
        return Err(bad(at.part("id"), "must not be empty"));
    }
    let name = v.name.strip_suffix(&format!(" {arch}")).unwrap_or(v.name);
    let mut urls = Vec::with_capacity(v.urls.len());
    for (j, raw) in v.urls.iter().enumerate() {
        let url = fields::url(&url_part(at, v.urls.len(), j), raw)?;
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
        name: printable(&at.part("name"), name.to_owned(), MAX_NAME)?,
        priority: v.priority.unwrap_or(99),
        urls,
        suite: String::new(),
        component: String::new(),
        architecture: String::new(),
    })
}

/// An arch (`'arch' 'Arch Linux core x86_64' 'core' SERVER…`) or gentoo (`'gentoo' 'Gentoo
/// Linux gentoo Repo amd64' 'gentoo' 'PRIORITY' 'SYNC-URI'`) repository: kept as inventory.
/// A gentoo sync URI may be rsync or git as well as http.
fn inventory_repo(at: At, kind: PackageKind, v: &RepoValues) -> Result<ReportedRepo> {
    let repo_id = token(|| at.part("id"), v.id.to_owned(), MAX_NAME)?;
    let mut urls = Vec::with_capacity(v.urls.len());
    for (j, raw) in v.urls.iter().enumerate() {
        let field = url_part(at, v.urls.len(), j);
        let url = match raw.trim().split_once("://") {
            Some((scheme, _)) if kind == PackageKind::Gentoo && matches!(scheme, "rsync" | "git" | "ssh") => {
                token(|| field.clone(), raw.trim().trim_end_matches('/').to_owned(), 2_048)?
            }
            _ => fields::url(&field, raw)?,
        };
        urls.push(RepoUrl { url, kind: UrlKind::Baseurl });
    }
    urls.dedup();
    Ok(ReportedRepo {
        kind,
        repo_id,
        name: printable(&at.part("name"), v.name.to_owned(), MAX_NAME)?,
        priority: v.priority.unwrap_or(0),
        urls,
        suite: String::new(),
        component: String::new(),
        architecture: String::new(),
    })
}

/// Refuses more repositories than the limit.
pub fn repo_count(n: usize) -> Result<()> {
    if n > MAX_REPOS {
        return Err(bad("repos", format!("more than the limit of {MAX_REPOS} repositories")));
    }
    Ok(())
}

/// An enabled module stream; the host lists one per (stream, version, context), kept once.
pub fn module(at: At, name: &str, stream: &str, into: &mut Vec<ModuleStream>) -> Result<()> {
    let m = ModuleStream {
        name: token(|| at.part("name"), name.to_owned(), MAX_NAME)?,
        stream: token(|| at.part("stream"), stream.to_owned(), MAX_NAME)?,
        profiles: Vec::new(),
    };
    if !into.contains(&m) {
        into.push(m);
    }
    if into.len() > MAX_MODULES {
        return Err(bad("modules", format!("more than the limit of {MAX_MODULES} modules")));
    }
    Ok(())
}

/// An update the host's own package manager offers: `name`, `arch`, `[epoch:]version-release`
/// as yum or apt print it, and the repository it names (apt's lines name none).
pub fn offered_update(
    at: At,
    name: &str,
    arch: &str,
    version: &str,
    repo: &str,
    security: bool,
) -> Result<OfferedUpdate> {
    let evr = token(|| at.part("version"), version.to_owned(), MAX_NAME)?;
    let (epoch, rest) = match evr.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => {
            (e.parse().map_err(|_| bad(at.part("version"), format!("{evr:?}: the epoch is too large")))?, rest)
        }
        _ => (0, evr.as_str()),
    };
    let (version, release) = rest.rsplit_once('-').unwrap_or((rest, ""));
    if version.is_empty() {
        return Err(bad(at.part("version"), format!("{evr:?} has no version")));
    }
    Ok(OfferedUpdate {
        name: token(|| at.part("name"), name.to_owned(), MAX_NAME)?,
        arch: optional_token(|| at.part("arch"), arch.to_owned(), 64)?,
        epoch,
        version: version.to_owned(),
        release: release.to_owned(),
        repo: optional_token(|| at.part("repo"), repo.to_owned(), MAX_NAME)?,
        security,
    })
}

/// `%2b` and the other escapes `patchman-client` may put in the kernel release.
pub fn kernel(raw: &str) -> Result<String> {
    let unquoted = percent_encoding::percent_decode_str(raw.trim()).decode_utf8_lossy().into_owned();
    token(fields::named("kernel"), unquoted, MAX_NAME)
}

pub fn arch(raw: &str) -> Result<String> {
    token(fields::named("arch"), raw.trim().to_owned(), 64)
}

/// Tags, sorted and without repeats.
pub fn tags<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Vec<String>> {
    let mut tags =
        raw.into_iter().filter(|t| !t.trim().is_empty()).map(|t| fields::tag("tags", t)).collect::<Result<Vec<_>>>()?;
    if tags.len() > MAX_TAGS {
        return Err(bad("tags", format!("{} tags is more than the limit of {MAX_TAGS}", tags.len())));
    }
    tags.sort();
    tags.dedup();
    Ok(tags)
}

/// The client says a reboot is needed (`/var/run/reboot-required`, or a newer kernel).
pub fn reboot(required: bool) -> Reboot {
    if required {
        Reboot {
            required: true,
            reason: "the host says so (patchman-client: /var/run/reboot-required, or a newer kernel)".into(),
            packages: Vec::new(),
        }
    } else {
        Reboot::default()
    }
}

/// `Debian 12.7`, `Ubuntu 24.04.1 LTS`, `Rocky Linux 9.3 (Blue Onyx) [cpe:/o:rocky:rocky:9::baseos]`,
/// `CentOS Linux release 7.9.2009 (Core)`: the name before the first word that starts with a
/// digit, that word the version, the CPE name in brackets.
pub fn os(raw: &str) -> Result<Os> {
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
