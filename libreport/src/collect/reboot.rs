//! Whether the host needs a reboot: Debian's `reboot-required` flag file, and on rpm hosts a
//! running kernel older than the newest installed kernel of the same flavour.

use std::path::Path;

use rpm_version::Evr;

use crate::collect::{CollectResult, read_optional, under};
use crate::model::{Package, PackageKind, Reboot};

/// The flag files that update-notifier's `notify-reboot-required` creates, host-absolute.
pub const FLAG_FILES: [&str; 2] = ["/var/run/reboot-required", "/run/reboot-required"];

/// The reboot state of the host: the flag file wins; rpm hosts also compare kernels.
pub fn reboot_state(
    root: &Path,
    kind: PackageKind,
    packages: &[Package],
    running_kernel: &str,
) -> CollectResult<Reboot> {
    if let Some(reboot) = reboot_required_file(root)? {
        return Ok(reboot);
    }
    if kind == PackageKind::Rpm
        && let Some(reboot) = kernel_reboot(packages, running_kernel)
    {
        return Ok(reboot);
    }
    Ok(Reboot::default())
}

/// A required reboot when `reboot-required` exists, with the package names from
/// `reboot-required.pkgs` beside it (deduplicated, in order).
pub fn reboot_required_file(root: &Path) -> CollectResult<Option<Reboot>> {
    for flag in FLAG_FILES {
        let path = under(root, flag);
        if !path.exists() {
            continue;
        }
        let pkgs = read_optional(&under(root, &format!("{flag}.pkgs")))?.unwrap_or_default();
        let mut packages: Vec<String> = Vec::new();
        for name in pkgs.lines().map(str::trim).filter(|n| !n.is_empty()) {
            if !packages.iter().any(|p| p == name) {
                packages.push(name.to_owned());
            }
        }
        return Ok(Some(Reboot { required: true, reason: format!("{flag} exists"), packages }));
    }
    Ok(None)
}

/// A kernel flavour: the package names that carry it and how uname's release maps to their
/// version-release.
struct Flavour {
    packages: &'static [&'static str],
    /// SUSE kernels: the package release has one more component than `uname -r` shows
    /// (5.14.21-150500.55.39-default comes from kernel-default 5.14.21-150500.55.39.1).
    suse: bool,
}

const ARCHES: [&str; 9] = ["x86_64", "aarch64", "ppc64le", "s390x", "i686", "i586", "armv7hl", "riscv64", "noarch"];

/// Compares the running kernel with the newest installed kernel of its flavour. `None` when
/// no reboot is needed or when no installed kernel package belongs to the running kernel's
/// flavour (a custom kernel, a container, an unknown flavour such as `+debug`).
pub fn kernel_reboot(packages: &[Package], running: &str) -> Option<Reboot> {
    let (flavour, arch, version, release) = classify(running)?;
    let mut newest: Option<&Package> = None;
    for p in packages.iter().filter(|p| flavour.packages.contains(&p.name.as_str())) {
        if arch.is_some_and(|a| !p.arch.is_empty() && p.arch != a) {
            continue;
        }
        if newest.is_none_or(|n| vr(p) > vr(n)) {
            newest = Some(p);
        }
    }
    let newest = newest?;
    let installed_release = if flavour.suse {
        newest.release.rsplit_once('.').map_or(newest.release.as_str(), |(head, _)| head)
    } else {
        newest.release.as_str()
    };
    let installed = Evr::new("", newest.version.as_str(), installed_release);
    let running_evr = Evr::new("", version, release);
    (running_evr < installed).then(|| Reboot {
        required: true,
        reason: format!(
            "running kernel {version}-{release} is older than installed {}-{installed_release}",
            newest.version
        ),
        packages: vec![newest.name.clone()],
    })
}

fn vr(p: &Package) -> Evr<'_> {
    Evr::new("", p.version.as_str(), p.release.as_str())
}

/// Splits `uname -r` into its flavour, architecture, version and release.
fn classify(running: &str) -> Option<(Flavour, Option<&str>, &str, &str)> {
    let flavour_of = |packages| Flavour { packages, suse: false };
    // EL9+ flavours are a "+name" suffix after the arch: 5.14.0-427.el9.x86_64+rt.
    let (rest, plus) = match running.rsplit_once('+') {
        Some((rest, plus)) if !plus.contains('.') => (rest, Some(plus)),
        _ => (running, None),
    };
    if let Some((vr, arch)) = rest.rsplit_once('.').filter(|(_, a)| ARCHES.contains(a)) {
        let (version, release) = vr.split_once('-')?;
        let flavour = match plus {
            None if release.contains(".rt") => flavour_of(&["kernel-rt", "kernel-rt-core"]),
            None if release.contains("uek") => flavour_of(&["kernel-uek", "kernel-uek-core"]),
            None => flavour_of(&["kernel", "kernel-core"]),
            Some("rt") => flavour_of(&["kernel-rt", "kernel-rt-core"]),
            Some("64k") => flavour_of(&["kernel-64k", "kernel-64k-core"]),
            Some(_) => return None,
        };
        return Some((flavour, Some(arch), version, release));
    }
    if plus.is_some() {
        return None;
    }
    // SUSE: version-release-flavour, e.g. 5.14.21-150500.55.39-default.
    let mut parts = running.splitn(3, '-');
    let (version, release, name) = (parts.next()?, parts.next()?, parts.next()?);
    let packages: &'static [&'static str] = match name {
        "default" => &["kernel-default"],
        "rt" => &["kernel-rt"],
        _ => return None,
    };
    Some((Flavour { packages, suse: true }, None, version, release))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(name: &str, version: &str, release: &str, arch: &str) -> Package {
        Package {
            name: name.into(),
            epoch: 0,
            version: version.into(),
            release: release.into(),
            arch: arch.into(),
            kind: PackageKind::Rpm,
            source_name: String::new(),
            source_version: String::new(),
        }
    }

    fn el9() -> Vec<Package> {
        vec![
            kernel("kernel-core", "5.14.0", "362.8.1.el9_3", "x86_64"),
            kernel("kernel-core", "5.14.0", "427.13.1.el9_4", "x86_64"),
            kernel("kernel", "5.14.0", "427.13.1.el9_4", "x86_64"),
            kernel("kernel-rt-core", "5.14.0", "362.8.1.el9_3", "x86_64"),
            kernel("bash", "9.9", "1.el9", "x86_64"),
        ]
    }

    #[track_caller]
    fn check(packages: &[Package], running: &str, want: Option<&str>) {
        let got = kernel_reboot(packages, running);
        assert_eq!(got.as_ref().map(|r| r.reason.as_str()), want, "running {running}");
        if let Some(r) = got {
            assert!(r.required);
        }
    }

    #[test]
    fn older_running_kernels_need_a_reboot_within_their_flavour() {
        let pk = el9();
        check(
            &pk,
            "5.14.0-362.8.1.el9_3.x86_64",
            Some("running kernel 5.14.0-362.8.1.el9_3 is older than installed 5.14.0-427.13.1.el9_4"),
        );
        check(&pk, "5.14.0-427.13.1.el9_4.x86_64", None);
        check(&pk, "5.14.0-503.11.1.el9_5.x86_64", None);
        // The rt flavour only compares with kernel-rt packages: 362 is its newest.
        check(&pk, "5.14.0-362.8.1.el9_3.x86_64+rt", None);
        check(
            &pk,
            "5.14.0-284.11.1.el9_2.x86_64+rt",
            Some("running kernel 5.14.0-284.11.1.el9_2 is older than installed 5.14.0-362.8.1.el9_3"),
        );
        // No package of the flavour: never claim a reboot.
        check(&pk, "5.14.0-284.11.1.el9_2.x86_64+64k", None);
        check(&pk, "5.14.0-284.11.1.el9_2.x86_64+debug", None);
        check(&pk, "6.18.44-fc-v669", None);
        check(&pk, "5.15.0-105-generic", None);
        check(&pk, "", None);
        check(&pk, "garbage+++", None);
        // An installed kernel of another architecture does not count.
        check(&pk, "5.14.0-1.el9.aarch64", None);
    }

    #[test]
    fn el8_rt_uek_and_suse_kernels() {
        let pk = vec![
            kernel("kernel-rt-core", "4.18.0", "513.5.1.rt7.307.el8_9", "x86_64"),
            kernel("kernel-uek-core", "5.15.0", "206.153.7.el9uek", "x86_64"),
            kernel("kernel-default", "5.14.21", "150500.55.39.1", "x86_64"),
        ];
        check(
            &pk,
            "4.18.0-477.10.1.rt7.273.el8_8.x86_64",
            Some("running kernel 4.18.0-477.10.1.rt7.273.el8_8 is older than installed 4.18.0-513.5.1.rt7.307.el8_9"),
        );
        check(
            &pk,
            "5.15.0-205.149.5.1.el9uek.x86_64",
            Some("running kernel 5.15.0-205.149.5.1.el9uek is older than installed 5.15.0-206.153.7.el9uek"),
        );
        check(&pk, "5.14.21-150500.55.39-default", None);
        check(
            &pk,
            "5.14.21-150500.53.2-default",
            Some("running kernel 5.14.21-150500.53.2 is older than installed 5.14.21-150500.55.39"),
        );
        check(&pk, "5.14.21-150500.53.2-64kb", None);
    }

    #[test]
    fn the_flag_file_wins_and_lists_packages_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(reboot_state(root, PackageKind::Deb, &[], "6.1.0-1-amd64").unwrap(), Reboot::default());
        // Without the flag an rpm host still compares kernels.
        let r = reboot_state(root, PackageKind::Rpm, &el9(), "5.14.0-362.8.1.el9_3.x86_64").unwrap();
        assert!(r.required && r.packages == ["kernel-core"], "{r:?}");
        std::fs::create_dir_all(root.join("run")).unwrap();
        std::fs::write(root.join("run/reboot-required"), "*** System restart required ***\n").unwrap();
        std::fs::write(
            root.join("run/reboot-required.pkgs"),
            "linux-image-6.1.0-28-amd64\nlibc6\n\nlinux-image-6.1.0-28-amd64\n",
        )
        .unwrap();
        let r = reboot_state(root, PackageKind::Deb, &[], "6.1.0-1-amd64").unwrap();
        assert_eq!(
            r,
            Reboot {
                required: true,
                reason: "/run/reboot-required exists".into(),
                packages: vec!["linux-image-6.1.0-28-amd64".into(), "libc6".into()]
            }
        );
    }
}
