//! What changed between two installed sets: for hooks whose package manager does not say
//! (raw `dpkg -i`, dnf5's actions, the dnf plugin's command-line fallback).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use rpm_version::Evr;

use crate::model::{ChangeAction, Package, PackageChange, PackageKind};

/// The changes that turn `before` into `after`, by name and architecture, sorted by name.
/// One version replacing another is an upgrade or a downgrade by the package manager's own
/// ordering; where several versions may be installed side by side (kernels), versions that
/// appeared are installs and versions that went are removals.
pub fn diff(before: &[Package], after: &[Package]) -> Vec<PackageChange> {
    // (name, arch) -> (versions before, versions after)
    type Versions<'a> = (Vec<&'a Package>, Vec<&'a Package>);
    let mut by_key: BTreeMap<(&str, &str), Versions> = BTreeMap::new();
    for p in before {
        by_key.entry((&p.name, &p.arch)).or_default().0.push(p);
    }
    for p in after {
        by_key.entry((&p.name, &p.arch)).or_default().1.push(p);
    }
    let mut changes = Vec::new();
    for ((name, arch), (old, new)) in by_key {
        let gone: Vec<&Package> = old.iter().copied().filter(|o| !new.iter().any(|n| same_version(o, n))).collect();
        let came: Vec<&Package> = new.iter().copied().filter(|n| !old.iter().any(|o| same_version(o, n))).collect();
        let change = |action, old: Option<&Package>, new: Option<&Package>| PackageChange {
            action,
            name: name.to_owned(),
            arch: arch.to_owned(),
            old_version: old.map(version_string).unwrap_or_default(),
            new_version: new.map(version_string).unwrap_or_default(),
        };
        if let ([o], [n]) = (&gone[..], &came[..]) {
            let action = match compare(o, n) {
                Ordering::Less => ChangeAction::Upgraded,
                Ordering::Greater => ChangeAction::Downgraded,
                Ordering::Equal => ChangeAction::Reinstalled,
            };
            changes.push(change(action, Some(o), Some(n)));
            continue;
        }
        changes.extend(came.iter().map(|n| change(ChangeAction::Installed, None, Some(n))));
        changes.extend(gone.iter().map(|o| change(ChangeAction::Removed, Some(o), None)));
    }
    changes
}

fn same_version(a: &Package, b: &Package) -> bool {
    (a.epoch, &a.version, &a.release) == (b.epoch, &b.version, &b.release)
}

/// `[epoch:]version[-release]`, as dpkg and rpm print versions.
pub fn version_string(p: &Package) -> String {
    let mut s = String::new();
    if p.epoch != 0 {
        s.push_str(&format!("{}:", p.epoch));
    }
    s.push_str(&p.version);
    if !p.release.is_empty() {
        s.push('-');
        s.push_str(&p.release);
    }
    s
}

fn compare(a: &Package, b: &Package) -> Ordering {
    match a.kind {
        PackageKind::Rpm => {
            let (ea, eb) = (a.epoch.to_string(), b.epoch.to_string());
            Evr::new(ea.as_str(), &a.version, &a.release).cmp(&Evr::new(eb.as_str(), &b.version, &b.release))
        }
        PackageKind::Deb => a
            .epoch
            .cmp(&b.epoch)
            .then_with(|| deb_vercmp_part(&a.version, &b.version))
            .then_with(|| deb_vercmp_part(&a.release, &b.release)),
    }
}

/// dpkg's `verrevcmp`: compares one part (upstream version or revision) of a Debian version.
pub fn deb_vercmp_part(a: &str, b: &str) -> Ordering {
    // Letters sort before other characters, `~` before everything, even the end.
    fn order(c: Option<u8>) -> i32 {
        match c {
            None => 0,
            Some(c) if c.is_ascii_digit() => 0,
            Some(c) if c.is_ascii_alphabetic() => i32::from(c),
            Some(b'~') => -1,
            Some(c) => i32::from(c) + 256,
        }
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let non_digit = |s: &[u8], k: usize| s.get(k).is_some_and(|c| !c.is_ascii_digit());
    let digit = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    while i < a.len() || j < b.len() {
        while non_digit(a, i) || non_digit(b, j) {
            let (ac, bc) = (order(a.get(i).copied()), order(b.get(j).copied()));
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit(a, i) && digit(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit(a, i) {
            return Ordering::Greater;
        }
        if digit(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(a: &str, b: &str, want: Ordering) {
        assert_eq!(deb_vercmp_part(a, b), want, "deb_vercmp_part({a:?}, {b:?})");
        assert_eq!(deb_vercmp_part(b, a), want.reverse(), "deb_vercmp_part({b:?}, {a:?})");
    }

    #[test]
    fn debian_ordering() {
        check("1.0", "1.0", Ordering::Equal);
        check("1.0", "1.1", Ordering::Less);
        check("1.0~rc1", "1.0", Ordering::Less);
        check("1.0~~", "1.0~", Ordering::Less);
        check("1.0a", "1.0", Ordering::Greater);
        check("1.0+b1", "1.0a", Ordering::Greater);
        check("1.10", "1.9", Ordering::Greater);
        check("001", "1", Ordering::Equal);
        check("2.36", "2.36.1", Ordering::Less);
        check("9+deb12u10", "9+deb12u9", Ordering::Greater);
        check("", "0", Ordering::Equal);
        check("a", "", Ordering::Greater);
    }

    fn pkg(kind: PackageKind, name: &str, evr: (u32, &str, &str)) -> Package {
        Package {
            name: name.into(),
            epoch: evr.0,
            version: evr.1.into(),
            release: evr.2.into(),
            arch: "x86_64".into(),
            kind,
            source_name: String::new(),
            source_version: String::new(),
        }
    }

    fn summary(changes: &[PackageChange]) -> Vec<String> {
        changes.iter().map(|c| format!("{:?} {} {}>{}", c.action, c.name, c.old_version, c.new_version)).collect()
    }

    #[test]
    fn installs_upgrades_downgrades_and_removals() {
        let deb = |n, v| pkg(PackageKind::Deb, n, v);
        let before =
            [deb("a", (0, "1.0", "1")), deb("b", (1, "2.0", "")), deb("c", (0, "3", "1")), deb("d", (0, "1", "1"))];
        let after =
            [deb("a", (0, "1.0", "2")), deb("b", (0, "9.0", "")), deb("d", (0, "1", "1")), deb("e", (0, "1~rc1", "1"))];
        assert_eq!(
            summary(&diff(&before, &after)),
            ["Upgraded a 1.0-1>1.0-2", "Downgraded b 1:2.0>9.0", "Removed c 3-1>", "Installed e >1~rc1-1"]
        );
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn side_by_side_kernels_are_installs_and_removals() {
        let rpm = |v| pkg(PackageKind::Rpm, "kernel-core", (0, v, "1.el9"));
        let before = [rpm("5.14.0-362"), rpm("5.14.0-427")];
        let after = [rpm("5.14.0-427"), rpm("5.14.0-503")];
        // One out, one in: the ordering decides.
        assert_eq!(summary(&diff(&before, &after)), ["Upgraded kernel-core 5.14.0-362-1.el9>5.14.0-503-1.el9"]);
        let after = [rpm("5.14.0-362"), rpm("5.14.0-427"), rpm("5.14.0-503")];
        assert_eq!(summary(&diff(&before, &after)), ["Installed kernel-core >5.14.0-503-1.el9"]);
    }
}
