//! A synthetic world for the update-engine benchmark: 20 OS variants, each with base, updates
//! and security repositories built from real package names (this machine's Debian lists, the
//! EL9 list in `benches/data/`), and hosts of ~1,000 packages each, most at the base version.

use std::sync::Arc;

use patchman_engine::{HostInput, IndexedRepo, Kind, Pkg, RepoData, RepoUse};

#[path = "../fleet/mod.rs"]
#[allow(dead_code)]
mod fleet;

pub use fleet::Rng;

/// One OS variant: its three repositories.
pub struct Variant {
    pub kind: Kind,
    pub repos: Vec<RepoData>,
}

pub struct World {
    pub variants: Vec<Variant>,
    /// Per host: (variant, installed packages).
    pub hosts: Vec<(usize, Vec<Arc<Pkg>>)>,
}

fn pkg(kind: Kind, name: &str, evr: &(u32, String, String), arch: &str) -> Pkg {
    let package = patchman_server::report::Package {
        kind: if kind == Kind::Deb {
            patchman_server::report::PackageKind::Deb
        } else {
            patchman_server::report::PackageKind::Rpm
        },
        name: name.to_owned(),
        epoch: evr.0,
        version: evr.1.clone(),
        release: evr.2.clone(),
        arch: arch.to_owned(),
    };
    Pkg {
        id: package.id(),
        kind,
        name: name.into(),
        epoch: evr.0,
        version: evr.1.as_str().into(),
        release: evr.2.as_str().into(),
        arch: arch.into(),
    }
}

/// `variants` OS variants (the first 70 % Debian-like, the rest EL-like) and `hosts` hosts;
/// `scale` multiplies the size of each Debian base repository (1.0 = 9,000 packages).
/// `images` > 0: 80% of the hosts are built from that many images (spread over the variants),
/// half of them exact copies and half a few packages apart; the rest are unique.
pub fn world(variants: usize, hosts: usize, scale: f64, seed: u64, images: usize) -> World {
    let deb_lines = fleet::debian_lines((9_000.0 * scale) as usize);
    let el_lines = fleet::el9_lines();
    let mut rng = Rng::new(seed);
    let deb_variants = variants * 7 / 10;
    let variants: Vec<Variant> = (0..variants)
        .map(|v| {
            let (kind, lines) = if v < deb_variants { (Kind::Deb, &deb_lines) } else { (Kind::Rpm, &el_lines) };
            // Each variant has its own builds: the release carries the variant number.
            let base_evr = |l: &fleet::PackageLine| {
                let (e, ver, rel) = l.versions[0].clone();
                (e, ver, format!("{rel}.v{v}"))
            };
            let newer = |evr: &(u32, String, String), step: u32| (evr.0, evr.1.clone(), format!("{}.{step}", evr.2));
            let base: Vec<Pkg> = lines.iter().map(|l| pkg(kind, &l.name, &base_evr(l), &l.arch)).collect();
            let updates: Vec<Pkg> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 10 == 3)
                .map(|(_, l)| pkg(kind, &l.name, &newer(&base_evr(l), 1), &l.arch))
                .collect();
            let security: Vec<Pkg> = lines
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 33 == 7)
                .map(|(_, l)| pkg(kind, &l.name, &newer(&base_evr(l), 2), &l.arch))
                .collect();
            let repo = |n: usize, label: &str, security: bool, packages: Vec<Pkg>| RepoData {
                id: (v * 3 + n) as i64,
                label: format!("v{v}-{label}").into(),
                security,
                packages,
                ..RepoData::default()
            };
            Variant {
                kind,
                repos: vec![
                    repo(0, "base", false, base),
                    repo(1, "updates", false, updates),
                    repo(2, "security", true, security),
                ],
            }
        })
        .collect();
    // Hosts share package rows, as the server's cache does.
    let shared: Vec<Vec<Arc<Pkg>>> =
        variants.iter().map(|v| v.repos[0].packages.iter().cloned().map(Arc::new).collect()).collect();
    // A host's picks of its variant's base packages: a core every host has, then extras.
    let random_picks = |rng: &mut Rng, base_len: usize| {
        let count = (900 + rng.below(201)).min(base_len);
        let core = count * 6 / 10;
        let mut picks: Vec<usize> = (0..core).collect();
        while picks.len() < count {
            picks.push(core + rng.below(base_len - core));
        }
        picks.sort_unstable();
        picks.dedup();
        picks
    };
    // Images: per variant, `images / variants` builds that most hosts are made from.
    let per_variant = images.div_ceil(variants.len().max(1));
    let builds: Vec<Vec<Vec<usize>>> =
        shared.iter().map(|base| (0..per_variant).map(|_| random_picks(&mut rng, base.len())).collect()).collect();
    let hosts = (0..hosts)
        .map(|h| {
            let v = h % variants.len();
            let base = &shared[v];
            let picks = if per_variant > 0 && rng.below(10) < 8 {
                // From an image: half exact copies, half a few packages apart.
                let mut picks = builds[v][rng.below(per_variant)].clone();
                if rng.below(2) == 0 {
                    for _ in 0..1 + rng.below(3) {
                        let i = rng.below(picks.len());
                        picks[i] = rng.below(base.len());
                    }
                    picks.sort_unstable();
                    picks.dedup();
                }
                picks
            } else {
                random_picks(&mut rng, base.len())
            };
            (v, picks.into_iter().map(|i| base[i].clone()).collect())
        })
        .collect();
    World { variants, hosts }
}

impl World {
    pub fn package_count(&self) -> usize {
        self.variants.iter().flat_map(|v| &v.repos).map(|r| r.packages.len()).sum()
    }

    /// The indexed repositories of each variant, as hosts use them.
    pub fn index(&self) -> Vec<Vec<RepoUse>> {
        self.variants
            .iter()
            .map(|v| {
                let priority = if v.kind == Kind::Deb { 500 } else { 99 };
                v.repos.iter().map(|r| RepoUse { repo: Arc::new(IndexedRepo::new(r.clone())), priority }).collect()
            })
            .collect()
    }

    pub fn input(&self, h: usize) -> HostInput {
        let (_, installed) = &self.hosts[h];
        HostInput {
            machine_arch: "x86_64".into(),
            kernel: "6.1.0-18-amd64".into(),
            installed: installed.clone(),
            enabled_modules: Vec::new(),
        }
    }
}

/// The world as the server stores it: hosts report through `prepare`/`ingest`, repositories
/// get their contents through `replace_repo_contents`.
pub mod stored {
    use patchman_engine::{Kind, Pkg};
    use patchman_server::contents::RepoContents;
    use patchman_server::report::{
        InstalledPackage, Os, Package, PackageKind, Reboot, RepoUrl, Report, ReportedRepo, Trigger, UrlKind,
    };

    use super::World;

    pub fn package(p: &Pkg) -> Package {
        Package {
            kind: if p.kind == Kind::Deb { PackageKind::Deb } else { PackageKind::Rpm },
            name: p.name.to_string(),
            epoch: p.epoch,
            version: p.version.to_string(),
            release: p.release.to_string(),
            arch: p.arch.to_string(),
        }
    }

    pub fn repo_url(v: usize, r: usize) -> String {
        format!("http://mirror.example.org/v{v}/dists/r{r}/main/binary-amd64")
    }

    pub fn hostname(h: usize) -> String {
        format!("host{h:05}.example.org")
    }

    pub fn report(world: &World, h: usize) -> Report {
        let (v, installed) = &world.hosts[h];
        let kind = world.variants[*v].kind;
        let pkind = if kind == Kind::Deb { PackageKind::Deb } else { PackageKind::Rpm };
        Report {
            report_id: format!("r{h}"),
            generated_at_ms: 1_700_000_000_000,
            hostname: hostname(h),
            machine_id: String::new(),
            os: Os { id: format!("os{v}"), name: format!("OS {v}"), version_id: "1".into(), ..Os::default() },
            kernel: "6.1.0-18-amd64".into(),
            arch: "x86_64".into(),
            packages: installed
                .iter()
                .map(|p| InstalledPackage {
                    package: package(p),
                    source_name: String::new(),
                    source_version: String::new(),
                })
                .collect(),
            repos: (0..3)
                .map(|r| ReportedRepo {
                    kind: pkind,
                    repo_id: format!("v{v}-r{r}"),
                    name: format!("v{v}-r{r}"),
                    priority: if kind == Kind::Deb { 500 } else { 99 },
                    urls: vec![RepoUrl { url: repo_url(*v, r), kind: UrlKind::Apt }],
                    suite: format!("r{r}"),
                    component: "main".into(),
                    architecture: "amd64".into(),
                })
                .collect(),
            modules: Vec::new(),
            reboot: Reboot::default(),
            tags: Vec::new(),
            trigger: Trigger::Timer,
            transactions: Vec::new(),
            client_version: "bench".into(),
            offered_updates: Vec::new(),
        }
    }

    pub fn contents(world: &World, v: usize, r: usize) -> RepoContents {
        RepoContents {
            packages: world.variants[v].repos[r].packages.iter().map(package).collect(),
            ..RepoContents::default()
        }
    }
}
