//! A synthetic but realistic fleet for benchmarks: hosts of several OS families whose packages
//! are drawn from real package names and versions (this machine's Debian lists, a list of real
//! EL9 packages in `benches/data/`), most at the newest version, some behind.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use patchman_proto as pb;

/// A deterministic xorshift generator: the same seed gives the same fleet.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// (epoch, version, release).
pub type Evr = (u32, String, String);

/// One package name with its versions, oldest first.
#[derive(Debug, Clone)]
pub struct PackageLine {
    pub name: String,
    pub arch: String,
    /// Oldest first.
    pub versions: Vec<Evr>,
}

/// An OS family: what its hosts report as OS, kernel, repositories, and what they can install.
#[derive(Debug, Clone)]
pub struct Profile {
    pub os: pb::OperatingSystem,
    pub kind: pb::PackageKind,
    pub kernel: String,
    pub repos: Vec<pb::Repository>,
    pub universe: Vec<PackageLine>,
}

/// A host: its profile and, per package line it has, which version.
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub hostname: String,
    pub profile: usize,
    pub picks: Vec<(u32, u8)>,
}

pub struct Fleet {
    pub profiles: Vec<Profile>,
    pub hosts: Vec<HostSpec>,
}

/// Real Debian package names and versions from this machine's apt lists.
pub fn debian_lines(limit: usize) -> Vec<PackageLine> {
    let lists = std::fs::read_dir("/var/lib/apt/lists").expect("/var/lib/apt/lists");
    let mut by_name: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for entry in lists.flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains("debian") || !name.contains("_Packages") {
            continue;
        }
        let out = Command::new("/usr/lib/apt/apt-helper").arg("cat-file").arg(&path).output().expect("apt-helper");
        let text = String::from_utf8_lossy(&out.stdout);
        let (mut pkg, mut arch, mut version) = (String::new(), String::new(), String::new());
        for line in text.lines().chain([""]) {
            if let Some(v) = line.strip_prefix("Package: ") {
                pkg = v.to_owned();
            } else if let Some(v) = line.strip_prefix("Architecture: ") {
                arch = v.to_owned();
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = v.to_owned();
            } else if line.is_empty() && !pkg.is_empty() {
                by_name
                    .entry((std::mem::take(&mut pkg), std::mem::take(&mut arch)))
                    .or_default()
                    .push(std::mem::take(&mut version));
            }
        }
    }
    assert!(by_name.len() > 10_000, "too few Debian packages in /var/lib/apt/lists (run apt-get update)");
    by_name
        .into_iter()
        .take(limit)
        .map(|((name, arch), mut versions)| {
            versions.sort_by(|a, b| patchman_engine::vercmp::deb_cmp_version(a, b));
            versions.dedup();
            let newest = versions.pop().unwrap();
            // An older version of the same line: a host that is behind.
            let versions = vec![split_deb(&format!("{newest}~old1")), split_deb(&newest)];
            PackageLine { name, arch, versions }
        })
        .collect()
}

fn split_deb(v: &str) -> Evr {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, r)) => (e.parse().unwrap_or(0), r),
        None => (0, v),
    };
    match rest.rsplit_once('-') {
        Some((ver, rel)) => (epoch, ver.to_owned(), rel.to_owned()),
        None => (epoch, rest.to_owned(), String::new()),
    }
}

/// Real EL9 packages from `benches/data/el9-packages.txt` (`name epoch version release arch`).
pub fn el9_lines() -> Vec<PackageLine> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/el9-packages.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut by_name: BTreeMap<(String, String), Vec<Evr>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [name, epoch, version, release, arch] = f[..] else { continue };
        by_name.entry((name.into(), arch.into())).or_default().push((
            epoch.parse().unwrap_or(0),
            version.into(),
            release.into(),
        ));
    }
    by_name
        .into_iter()
        .map(|((name, arch), mut versions)| {
            versions.sort_by(|a, b| patchman_engine::vercmp::rpm_cmp_evr(a.0, &a.1, &a.2, b.0, &b.1, &b.2));
            if versions.len() == 1 {
                let (e, v, r) = versions[0].clone();
                versions.insert(0, (e, v, format!("{r}~old1")));
            }
            PackageLine { name, arch, versions }
        })
        .collect()
}

fn repo(kind: pb::PackageKind, id: &str, url: &str, priority: i32, suite: &str) -> pb::Repository {
    let url_kind = if kind == pb::PackageKind::Deb { pb::UrlKind::Apt } else { pb::UrlKind::Baseurl };
    pb::Repository {
        kind: kind as i32,
        id: id.to_owned(),
        name: id.to_owned(),
        priority,
        urls: vec![pb::RepoUrl { url: url.to_owned(), kind: url_kind as i32 }],
        suite: suite.to_owned(),
        component: if suite.is_empty() { String::new() } else { "main".to_owned() },
        architecture: if kind == pb::PackageKind::Deb { "amd64".to_owned() } else { String::new() },
    }
}

/// The three families of Patchman's own benchmark: Debian 12, Ubuntu 22.04, Rocky Linux 9.
pub fn profiles() -> Vec<Profile> {
    let deb = debian_lines(8_000);
    let os = |id: &str, name: &str, version_id: &str, detail: &str| pb::OperatingSystem {
        id: id.into(),
        name: name.into(),
        version_id: version_id.into(),
        pretty_name: format!("{name} {detail}"),
        version_detail: detail.into(),
        ..Default::default()
    };
    let deb_kind = pb::PackageKind::Deb;
    vec![
        Profile {
            os: os("debian", "Debian GNU/Linux", "12", "12.7"),
            kind: deb_kind,
            kernel: "6.1.0-18-amd64".into(),
            repos: ["bookworm", "bookworm-updates"]
                .iter()
                .map(|s| {
                    repo(
                        deb_kind,
                        &format!("deb.debian.org/debian {s}/main amd64"),
                        &format!("http://deb.debian.org/debian/dists/{s}/main/binary-amd64"),
                        500,
                        s,
                    )
                })
                .chain([repo(
                    deb_kind,
                    "deb.debian.org/debian-security bookworm-security/main amd64",
                    "http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-amd64",
                    500,
                    "bookworm-security",
                )])
                .collect(),
            universe: deb.clone(),
        },
        Profile {
            os: os("ubuntu", "Ubuntu", "22.04", "22.04.4"),
            kind: deb_kind,
            kernel: "5.15.0-91-generic".into(),
            repos: ["jammy", "jammy-updates", "jammy-security"]
                .iter()
                .map(|s| {
                    repo(
                        deb_kind,
                        &format!("archive.ubuntu.com/ubuntu {s}/main amd64"),
                        &format!("http://archive.ubuntu.com/ubuntu/dists/{s}/main/binary-amd64"),
                        500,
                        s,
                    )
                })
                .collect(),
            universe: deb
                .iter()
                .map(|l| PackageLine {
                    versions: l
                        .versions
                        .iter()
                        .map(|(e, v, r)| (*e, v.clone(), format!("{r}ubuntu0.22.04.1")))
                        .collect(),
                    ..l.clone()
                })
                .collect(),
        },
        Profile {
            os: pb::OperatingSystem {
                cpe_name: "cpe:/o:rocky:rocky:9::baseos".into(),
                ..os("rocky", "Rocky Linux", "9.3", "")
            },
            kind: pb::PackageKind::Rpm,
            kernel: "5.14.0-362.8.1.el9_3.x86_64".into(),
            repos: ["BaseOS", "AppStream"]
                .iter()
                .map(|r| {
                    repo(
                        pb::PackageKind::Rpm,
                        &r.to_lowercase(),
                        &format!("http://dl.rockylinux.org/pub/rocky/9/{r}/x86_64/os"),
                        99,
                        "",
                    )
                })
                .collect(),
            universe: el9_lines(),
        },
    ]
}

/// `n` hosts: 45 % Debian, 25 % Ubuntu, 30 % Rocky; 1,000 to 1,500 packages each.
pub fn fleet(n: usize, seed: u64) -> Fleet {
    let profiles = profiles();
    let mut rng = Rng::new(seed);
    let hosts = (0..n)
        .map(|i| {
            let profile = match i % 20 {
                0..=8 => 0,
                9..=13 => 1,
                _ => 2,
            };
            let universe = &profiles[profile].universe;
            let count = (1_000 + rng.below(501)).min(universe.len());
            // A shared core (every host of the family has it) and a random rest.
            let core = (count * 6 / 10).min(universe.len());
            let mut lines: Vec<u32> = (0..core as u32).collect();
            while lines.len() < count {
                let candidate = (core + rng.below(universe.len() - core)) as u32;
                lines.push(candidate);
            }
            lines.sort_unstable();
            lines.dedup();
            let picks = lines
                .into_iter()
                .map(|l| {
                    let versions = universe[l as usize].versions.len();
                    let v = if rng.chance(85) { versions - 1 } else { rng.below(versions) };
                    (l, v as u8)
                })
                .collect();
            HostSpec { hostname: format!("host{i:05}.{}.example.org", ["dc1", "dc2", "lab"][i % 3]), profile, picks }
        })
        .collect();
    Fleet { profiles, hosts }
}

impl Fleet {
    /// Everything of the report but its packages.
    pub fn report_without_packages(&self, host: &HostSpec, report_id: String, generated_at_ms: i64) -> pb::Report {
        let p = &self.profiles[host.profile];
        pb::Report {
            report_id,
            generated_at_ms,
            host: Some(pb::Host { hostname: host.hostname.clone(), machine_id: String::new() }),
            os: Some(p.os.clone()),
            kernel: p.kernel.clone(),
            arch: "x86_64".into(),
            repos: p.repos.clone(),
            reboot: Some(pb::Reboot::default()),
            tags: vec!["bench".into()],
            trigger: pb::Trigger::Timer as i32,
            client_version: "bench".into(),
            ..Default::default()
        }
    }
}

/// Encodes reports fast: each package's encoded `Report.packages` entry is made once per
/// (line, version) and copied into every report that lists it. Field order does not matter in
/// protobuf, so the packages go last.
pub struct WireCache {
    /// Per profile, per line, per version: the encoded field-7 entry.
    entries: Vec<Vec<Vec<Vec<u8>>>>,
}

impl WireCache {
    pub fn new(fleet: &Fleet) -> Self {
        use prost::Message as _;
        let entries = fleet
            .profiles
            .iter()
            .map(|p| {
                p.universe
                    .iter()
                    .map(|line| {
                        line.versions
                            .iter()
                            .map(|(epoch, version, release)| {
                                let pkg = pb::Package {
                                    name: line.name.clone(),
                                    epoch: *epoch,
                                    version: version.clone(),
                                    release: release.clone(),
                                    arch: line.arch.clone(),
                                    kind: p.kind as i32,
                                    ..Default::default()
                                };
                                let mut buf = Vec::with_capacity(pkg.encoded_len() + 4);
                                prost::encoding::message::encode(7, &pkg, &mut buf);
                                buf
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        Self { entries }
    }

    /// The encoded report `host` would send now.
    pub fn encode(&self, fleet: &Fleet, host: &HostSpec, report_id: String, generated_at_ms: i64) -> Vec<u8> {
        use prost::Message as _;
        let mut head = fleet.report_without_packages(host, report_id, generated_at_ms);
        head.packages.clear();
        let entries = &self.entries[host.profile];
        let size: usize = host.picks.iter().map(|&(l, v)| entries[l as usize][v as usize].len()).sum();
        let mut buf = Vec::with_capacity(head.encoded_len() + size);
        head.encode(&mut buf).expect("Vec grows");
        for &(l, v) in &host.picks {
            buf.extend_from_slice(&entries[l as usize][v as usize]);
        }
        buf
    }
}

impl Fleet {
    /// The body Patchman's `patchman-client` would upload (protocol 1, `curl -F`) for `host`.
    pub fn protocol1_body(&self, host: &HostSpec) -> Vec<u8> {
        let p = &self.profiles[host.profile];
        let os = match p.os.id.as_str() {
            "debian" => format!("Debian {}", p.os.version_detail),
            "ubuntu" => format!("Ubuntu {} LTS", p.os.version_detail),
            _ => format!("{} {} [{}]", p.os.name, p.os.version_id, p.os.cpe_name),
        };
        let kind = if p.kind == pb::PackageKind::Rpm { "rpm" } else { "deb" };
        let mut packages = String::with_capacity(host.picks.len() * 48);
        for &(l, v) in &host.picks {
            let line = &p.universe[l as usize];
            let (epoch, version, release) = &line.versions[v as usize];
            let epoch = if *epoch == 0 { String::new() } else { epoch.to_string() };
            packages.push_str(&format!("'{}' '{epoch}' '{version}' '{release}' '{}' '{kind}'\n", line.name, line.arch));
        }
        let mut repos = String::new();
        for r in &p.repos {
            let url = &r.urls[0].url;
            if p.kind == pb::PackageKind::Rpm {
                repos.push_str(&format!(
                    "'rpm' '{} x86_64' '{}-{}' '{}' '{url}'\n",
                    r.name, p.os.cpe_name, r.id, r.priority
                ));
            } else {
                repos.push_str(&format!("'deb' '{} x86_64 repo at {url}' '{}' '{url}'\n", os, r.priority));
            }
        }
        let fields = [
            ("host", host.hostname.clone()),
            ("tags", "bench".into()),
            ("kernel", p.kernel.replace('+', "%2b")),
            ("arch", "x86_64".into()),
            ("protocol", "1".into()),
            ("os", os),
            ("report", "false".into()),
            ("packages", packages),
            ("repos", repos),
            ("sec_updates", String::new()),
            ("bug_updates", String::new()),
            ("modules", String::new()),
            ("reboot", "ServerCheck".into()),
        ];
        patchman_testkit::multipart::body(&fields)
    }

    /// The same host as `patchman-client -p 2` sends it: JSON, one line (curl `-d` strips
    /// the newlines of jq's output).
    pub fn protocol2_body(&self, host: &HostSpec) -> Vec<u8> {
        let p = &self.profiles[host.profile];
        let kind = if p.kind == pb::PackageKind::Rpm { "rpm" } else { "deb" };
        let os = match p.os.id.as_str() {
            "debian" => format!("Debian {}", p.os.version_detail),
            "ubuntu" => format!("Ubuntu {} LTS", p.os.version_detail),
            _ => format!("{} {} [{}]", p.os.name, p.os.version_id, p.os.cpe_name),
        };
        let packages: Vec<serde_json::Value> = host
            .picks
            .iter()
            .map(|&(l, v)| {
                let line = &p.universe[l as usize];
                let (epoch, version, release) = &line.versions[v as usize];
                let epoch = if *epoch == 0 { String::new() } else { epoch.to_string() };
                serde_json::json!({"name": line.name, "epoch": epoch, "version": version, "release": release,
                    "arch": line.arch, "type": kind, "category": "", "repo": ""})
            })
            .collect();
        let repos: Vec<serde_json::Value> = p
            .repos
            .iter()
            .map(|r| {
                let url = &r.urls[0].url;
                if p.kind == pb::PackageKind::Rpm {
                    serde_json::json!({"type": "rpm", "name": format!("{} x86_64", r.name),
                        "id": format!("{}-{}", p.os.cpe_name, r.id), "priority": r.priority, "urls": [url]})
                } else {
                    serde_json::json!({"type": "deb", "name": format!("{os} x86_64 repo at {url}"), "id": "",
                        "priority": r.priority, "urls": [url]})
                }
            })
            .collect();
        let body = serde_json::json!({
            "protocol": 2, "hostname": host.hostname, "arch": "x86_64", "kernel": p.kernel.replace('+', "%2b"),
            "os": os, "tags": ["bench"], "reboot_required": false, "packages": packages, "repos": repos,
            "modules": [], "sec_updates": [], "bug_updates": [],
        });
        body.to_string().into_bytes()
    }
}
