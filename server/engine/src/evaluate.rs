//! Finding a host's updates: for each installed package the best candidate among its
//! repositories' packages, under the rules of the package's manager (arch compatibility,
//! dnf priorities and module streams, apt pins), and whether it is a security update.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::arch::compatible;
use crate::hash::{FxHashMap, FxHashSet, name_hash};
use crate::index::IndexedRepo;
use crate::kernel;
use crate::memo::{ContextId, Outcome, PackageMemo};
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
    evaluate_inner(host, repos, None)
}

/// `evaluate`, taking each installed package's outcome from `memo` when a host of the same
/// context had the package, and remembering the others: the same verdict, for less work.
pub fn evaluate_with(host: &HostInput, repos: &[RepoUse], memo: &mut PackageMemo) -> Verdict {
    let context = memo.context(host, repos);
    evaluate_inner(host, repos, Some((memo, context)))
}

fn evaluate_inner(host: &HostInput, repos: &[RepoUse], mut memo: Option<(&mut PackageMemo, ContextId)>) -> Verdict {
    // Module streams are read only when a package is not remembered.
    let modules = std::cell::OnceCell::new();
    // Installed packages grouped by (name, kind, arch), newest last within a group; the name
    // hash is computed once per package and orders the groups.
    let mut installed: Vec<(u64, &Pkg)> = host.installed.iter().map(|p| (name_hash(&p.name), &**p)).collect();
    installed.sort_by(|(ha, a), (hb, b)| {
        (ha, &a.name, a.kind, &a.arch).cmp(&(hb, &b.name, b.kind, &b.arch)).then_with(|| a.cmp_evr(b))
    });
    let mut updates = Vec::new();
    let mut not_in_repos = Vec::new();
    let mut duplicates = Vec::new();
    let mut lists: Vec<&[u32]> = Vec::with_capacity(repos.len());
    let mut i = 0;
    while i < installed.len() {
        let (hash, first) = installed[i];
        let same = |p: &&Pkg| p.name == first.name && p.kind == first.kind && p.arch == first.arch;
        let end = i + installed[i..].iter().take_while(|(h, p)| *h == hash && same(p)).count();
        let group = &installed[i..end];
        let newest = group[group.len() - 1].1;
        if group.len() > 1 && !(first.kind == Kind::Rpm && kernel::rpm_install_only(&first.name)) {
            // Two versions of a package that cannot be installed twice (any deb; an rpm that is
            // not install-only, after an interrupted transaction): only the newest counts.
            duplicates.extend(group[..group.len() - 1].iter().map(|(_, p)| p.id));
        }
        let remembered = memo.as_ref().and_then(|(m, c)| m.get(c, newest.id)).cloned();
        let outcome = remembered.unwrap_or_else(|| {
            lists.clear();
            lists.extend(repos.iter().map(|r| r.repo.lookup(hash)));
            // "From no repository": no repository offers the name for this arch at all (an
            // older version gone from the repository after an update does not count).
            let offered = repos.iter().zip(&lists).any(|(r, l)| {
                l.iter().map(|&k| r.repo.pkg(k)).any(|c| {
                    c.kind == first.kind
                        && c.name == first.name
                        && compatible(first.kind, &first.arch, &c.arch, &host.machine_arch)
                })
            });
            let modules = modules.get_or_init(|| ModuleView::new(host, repos));
            let look = Lookup { host, repos, modules, lists: &lists };
            // Several installed kernels are normal: only a version newer than all counts.
            let outcome = Outcome { offered, update: look.best_update(newest) };
            if let Some((m, c)) = memo.as_mut() {
                m.put(c, newest.id, outcome.clone());
            }
            outcome
        });
        if !outcome.offered {
            not_in_repos.extend(group.iter().map(|(_, p)| p.id));
        }
        updates.extend(outcome.update);
        i = end;
    }
    updates.extend(deb_kernel_update(host, repos));
    updates.sort_by_key(|u| (u.installed, u.candidate));
    not_in_repos.sort_unstable();
    not_in_repos.dedup();
    duplicates.sort_unstable();
    Verdict { updates, not_in_repos, duplicates, reboot: kernel::reboot_reason(&host.installed, &host.kernel) }
}

/// Which module streams are active for the host, and the package names they mask.
struct ModuleView {
    active: FxHashSet<(Box<str>, Box<str>)>,
    /// Names provided by an active stream: non-modular packages of these names are hidden.
    masked: FxHashSet<Box<str>>,
    /// No repository of the host has module streams: every package is allowed.
    none: bool,
}

impl ModuleView {
    fn new(host: &HostInput, repos: &[RepoUse]) -> Self {
        let none = repos.iter().all(|r| r.repo.data.modules.is_empty());
        let mut view = Self { active: FxHashSet::default(), masked: FxHashSet::default(), none };
        if none {
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
        if self.none {
            return true;
        }
        let mut streams = repo.streams_of(p.id).peekable();
        if streams.peek().is_none() {
            return !self.masked.contains(&*p.name);
        }
        streams.any(|(m, s)| self.active.contains(&(Box::from(m), Box::from(s))))
    }
}

/// One package name looked up in every repository of the host.
struct Lookup<'a> {
    host: &'a HostInput,
    repos: &'a [RepoUse],
    modules: &'a ModuleView,
    /// Per repository, the packages of the name, newest first.
    lists: &'a [&'a [u32]],
}

impl<'a> Lookup<'a> {
    /// The repository's usable packages of the name, newest first.
    fn usable(&self, slot: usize, inst: &'a Pkg) -> impl Iterator<Item = &'a Pkg> + 'a {
        let (r, list, host, modules) = (&self.repos[slot], self.lists[slot], self.host, self.modules);
        list.iter().map(move |&k| r.repo.pkg(k)).filter(move |c| {
            c.kind == inst.kind
                && c.name == inst.name
                && compatible(inst.kind, &inst.arch, &c.arch, &host.machine_arch)
                && modules.allows(&r.repo, c)
        })
    }

    fn offers(&self, slot: usize, p: &Pkg) -> bool {
        self.lists[slot].iter().any(|&k| self.repos[slot].repo.pkg(k).id == p.id)
    }

    /// The update for one installed package, if a newer candidate exists.
    fn best_update(&self, inst: &'a Pkg) -> Option<Update> {
        let (slot, cand) = match inst.kind {
            Kind::Rpm => self.rpm_candidate(inst)?,
            Kind::Deb => self.apt_candidate(inst)?,
        };
        if cand.cmp_evr(inst) != Ordering::Greater {
            return None;
        }
        let offered_by_security =
            (0..self.repos.len()).find(|&s| self.repos[s].repo.data.security && self.offers(s, cand));
        let erratum = self.repos.iter().find_map(|r| r.repo.security_erratum(inst, cand));
        Some(classify(
            self.repos,
            offered_by_security.unwrap_or(slot),
            inst,
            cand,
            UpdateKind::Package,
            offered_by_security.is_some(),
            erratum,
        ))
    }

    /// dnf: among the repositories that offer the name, only those of the best (lowest)
    /// priority count, and the newest version among them wins.
    fn rpm_candidate(&self, inst: &'a Pkg) -> Option<(usize, &'a Pkg)> {
        let mut best: Option<(i32, usize, &Pkg)> = None;
        for slot in 0..self.repos.len() {
            // Newest first: the first usable package is this repository's best.
            let Some(c) = self.usable(slot, inst).next() else { continue };
            let priority = self.repos[slot].priority;
            let better = match best {
                None => true,
                Some((p, _, b)) => priority < p || (priority == p && c.cmp_evr(b) == Ordering::Greater),
            };
            if better {
                best = Some((priority, slot, c));
            }
        }
        best.map(|(_, slot, c)| (slot, c))
    }

    /// apt: the candidate is the version with the highest pin, then the highest version; the
    /// installed version has at least pin 100. Pins of 0 or less never make a candidate, and a
    /// version older than the installed one only with a pin of 1000 or more (a downgrade).
    fn apt_candidate(&self, inst: &'a Pkg) -> Option<(usize, &'a Pkg)> {
        let installed_pin =
            (0..self.repos.len()).filter(|&s| self.offers(s, inst)).map(|s| self.repos[s].priority).fold(100, i32::max);
        let mut best: (i32, Option<(usize, &Pkg)>) = (installed_pin, None);
        for slot in 0..self.repos.len() {
            let pin = self.repos[slot].priority;
            if pin <= 0 {
                continue;
            }
            for c in self.usable(slot, inst) {
                if pin < 1000 && c.cmp_evr(inst) == Ordering::Less {
                    break; // newest first: the rest are older still
                }
                let newer = |b: &Pkg| c.cmp_evr(b) == Ordering::Greater;
                if pin > best.0 || (pin == best.0 && best.1.map_or(newer(inst), |(_, b)| newer(b))) {
                    best = (pin, Some((slot, c)));
                }
            }
        }
        best.1
    }
}

/// The update with its classification and reason.
fn classify(
    repos: &[RepoUse],
    slot: usize,
    inst: &Pkg,
    cand: &Pkg,
    kind: UpdateKind,
    from_security_repo: bool,
    erratum: Option<&str>,
) -> Update {
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
        security: from_security_repo || erratum.is_some(),
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
    let security = repos.iter().position(|r| r.repo.data.security && r.repo.contains(cand));
    (!installed)
        .then(|| classify(repos, security.unwrap_or(slot), running, cand, UpdateKind::Kernel, security.is_some(), None))
}
