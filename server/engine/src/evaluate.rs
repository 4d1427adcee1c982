//! Finding a host's updates: for each installed package the best candidate among its
//! repositories' packages, under the rules of the package's manager (arch compatibility,
//! dnf priorities and module streams, apt pins), and whether it is a security update.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::arch::compatible;
use crate::hash::{FxHashMap, FxHashSet};
use crate::index::IndexedRepo;
use crate::kernel;
use crate::model::{HostInput, Kind, Pkg, Update, UpdateKind, Verdict};

/// A repository as one host uses it.
#[derive(Debug, Clone)]
pub struct RepoUse {
    pub repo: Arc<IndexedRepo>,
    /// rpm `priority=` (lower wins) or apt pin priority (higher wins), by the packages' kind.
    pub priority: i32,
}

/// The host's updates, packages found in no repository, and reboot state. Never fails: odd
/// data yields fewer verdicts, not an error.
pub fn evaluate(host: &HostInput, repos: &[RepoUse]) -> Verdict {
    let modules = ModuleView::new(host, repos);
    let mut groups: FxHashMap<(Kind, &str, &str), Vec<&Pkg>> = FxHashMap::default();
    let mut not_in_repos = Vec::new();
    for p in host.installed.iter().map(|p| &**p) {
        groups.entry((p.kind, &p.name, &p.arch)).or_default().push(p);
        if !repos.iter().any(|r| r.repo.contains(p)) {
            not_in_repos.push(p.id);
        }
    }
    let mut updates = Vec::new();
    for ((kind, name, _), installed) in groups {
        if kind == Kind::Rpm && kernel::rpm_install_only(name) {
            // Several installed kernels are normal: only a version newer than all counts.
            if let Some(newest) = installed.iter().copied().max_by(|a, b| a.cmp_evr(b)) {
                updates.extend(best_update(host, repos, &modules, newest));
            }
        } else {
            updates.extend(installed.into_iter().filter_map(|p| best_update(host, repos, &modules, p)));
        }
    }
    updates.extend(deb_kernel_update(host, repos));
    updates.sort_by_key(|u| (u.installed, u.candidate));
    not_in_repos.sort_unstable();
    not_in_repos.dedup();
    Verdict { updates, not_in_repos, reboot: kernel::reboot_reason(&host.installed, &host.kernel) }
}

/// Which module streams are active for the host, and the package names they mask.
struct ModuleView {
    active: FxHashSet<(Box<str>, Box<str>)>,
    /// Names provided by an active stream: non-modular packages of these names are hidden.
    masked: FxHashSet<Box<str>>,
}

impl ModuleView {
    fn new(host: &HostInput, repos: &[RepoUse]) -> Self {
        let mut view = Self { active: FxHashSet::default(), masked: FxHashSet::default() };
        if repos.iter().all(|r| r.repo.data.modules.is_empty()) {
            return view;
        }
        let enabled: FxHashMap<&str, &str> =
            host.enabled_modules.iter().map(|(m, s)| (m.as_str(), s.as_str())).collect();
        let defaults: FxHashMap<&str, &str> =
            repos.iter().flat_map(|r| r.repo.data.module_defaults.iter()).map(|(m, s)| (&**m, &**s)).collect();
        for r in repos {
            for (module, stream, names) in r.repo.streams() {
                // An enabled stream is active; a module the host did not enable runs its default.
                let active = match enabled.get(module) {
                    Some(s) => *s == stream,
                    None => defaults.get(module) == Some(&stream),
                };
                if active {
                    view.active.insert((module.into(), stream.into()));
                    view.masked.extend(names.iter().cloned());
                }
            }
        }
        view
    }

    /// A modular package is a candidate only from an active stream; a non-modular one only
    /// when no active stream provides its name.
    fn allows(&self, repo: &IndexedRepo, p: &Pkg) -> bool {
        let mut streams = repo.streams_of(p.id).peekable();
        if streams.peek().is_none() {
            return !self.masked.contains(&*p.name);
        }
        streams.any(|(m, s)| self.active.contains(&(Box::from(m), Box::from(s))))
    }
}

/// The candidate for one installed package and the repository slot it comes from.
fn best_update(host: &HostInput, repos: &[RepoUse], modules: &ModuleView, inst: &Pkg) -> Option<Update> {
    let usable = |r: &RepoUse, c: &Pkg| {
        c.kind == inst.kind
            && compatible(inst.kind, &inst.arch, &c.arch, &host.machine_arch)
            && modules.allows(&r.repo, c)
    };
    let (slot, cand) = match inst.kind {
        Kind::Rpm => rpm_candidate(repos, inst, usable)?,
        Kind::Deb => apt_candidate(repos, inst, usable)?,
    };
    if cand.cmp_evr(inst) != Ordering::Greater {
        return None;
    }
    Some(classify(repos, slot, inst, cand, UpdateKind::Package))
}

/// dnf: among the repositories that offer the name, only those of the best (lowest)
/// priority count, and the newest version among them wins.
fn rpm_candidate<'a>(
    repos: &'a [RepoUse],
    inst: &Pkg,
    usable: impl Fn(&RepoUse, &Pkg) -> bool,
) -> Option<(usize, &'a Pkg)> {
    let mut best: Option<(i32, usize, &Pkg)> = None;
    for (slot, r) in repos.iter().enumerate() {
        // Newest first: the first usable package is this repository's best.
        let Some(c) = r.repo.named(&inst.name).find(|c| usable(r, c)) else { continue };
        let better = match best {
            None => true,
            Some((p, _, b)) => r.priority < p || (r.priority == p && c.cmp_evr(b) == Ordering::Greater),
        };
        if better {
            best = Some((r.priority, slot, c));
        }
    }
    best.map(|(_, slot, c)| (slot, c))
}

/// apt: the candidate is the version with the highest pin, then the highest version; the
/// installed version has at least pin 100. Pins of 0 or less never make a candidate, and a
/// version older than the installed one only with a pin of 1000 or more (a downgrade).
fn apt_candidate<'a>(
    repos: &'a [RepoUse],
    inst: &Pkg,
    usable: impl Fn(&RepoUse, &Pkg) -> bool,
) -> Option<(usize, &'a Pkg)> {
    let installed_pin = repos.iter().filter(|r| r.repo.contains(inst)).map(|r| r.priority).fold(100, i32::max);
    let mut best: (i32, Option<(usize, &Pkg)>) = (installed_pin, None);
    for (slot, r) in repos.iter().enumerate() {
        if r.priority <= 0 {
            continue;
        }
        for c in r.repo.named(&inst.name).filter(|c| usable(r, c)) {
            let newer = |b: &Pkg| c.cmp_evr(b) == Ordering::Greater;
            if r.priority < 1000 && c.cmp_evr(inst) == Ordering::Less {
                continue;
            }
            let better = r.priority > best.0 || (r.priority == best.0 && best.1.map_or(newer(inst), |(_, b)| newer(b)));
            if better {
                best = (r.priority, Some((slot, c)));
            }
        }
    }
    best.1
}

/// Security or bugfix, and the reason: from a security repository (for apt: the candidate
/// version is in one), or fixing a security erratum newer than the installed version.
fn classify(repos: &[RepoUse], slot: usize, inst: &Pkg, cand: &Pkg, kind: UpdateKind) -> Update {
    let offered_by_security = repos.iter().position(|r| r.repo.data.security && r.repo.contains(cand));
    let erratum = repos.iter().find_map(|r| r.repo.security_erratum(inst, cand));
    let slot = offered_by_security.unwrap_or(slot);
    let r = &repos[slot];
    let weight = match cand.kind {
        Kind::Rpm => format!("priority {}", r.priority),
        Kind::Deb => format!("pin {}", r.priority),
    };
    let mut reason = match kind {
        UpdateKind::Package => format!("{} in {} ({weight})", cand.evr(), r.repo.data.label),
        UpdateKind::Kernel => format!("newer kernel {} {} in {} ({weight})", cand.name, cand.evr(), r.repo.data.label),
    };
    if let Some(e) = erratum {
        reason.push_str(&format!("; fixes security erratum {e}"));
    }
    Update {
        installed: inst.id,
        candidate: cand.id,
        repo: r.repo.data.id,
        security: offered_by_security.is_some() || erratum.is_some(),
        kind,
        erratum: erratum.map(Box::from),
        reason,
    }
}

/// Debian/Ubuntu: a newer kernel ABI of the running flavour and series, which apt installs
/// through the meta-package as a new package name.
fn deb_kernel_update(host: &HostInput, repos: &[RepoUse]) -> Option<Update> {
    let running = kernel::running_image(&host.installed, &host.kernel).filter(|p| p.kind == Kind::Deb)?;
    let (_, abi, flavour) = kernel::deb_kernel_parts(&running.name)?;
    let series = kernel::series(abi);
    let mut best: Option<(usize, &Pkg)> = None;
    for (slot, r) in repos.iter().enumerate() {
        for c in r.repo.kernel_images() {
            let Some((_, c_abi, c_flavour)) = kernel::deb_kernel_parts(&c.name) else { continue };
            let fits = c_flavour == flavour && kernel::series(c_abi) == series && c.name != running.name;
            if fits
                && c.cmp_evr(running) == Ordering::Greater
                && best.is_none_or(|(_, b)| c.cmp_evr(b) == Ordering::Greater)
            {
                best = Some((slot, c));
            }
        }
    }
    let (slot, cand) = best?;
    // Installed already (waiting for a reboot): nothing to update.
    let installed = host.installed.iter().any(|p| p.name == cand.name && p.cmp_evr(cand) != Ordering::Less);
    (!installed).then(|| classify(repos, slot, running, cand, UpdateKind::Kernel))
}
