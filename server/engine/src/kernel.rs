//! Kernel rules: several installed kernels are normal; rpm kernels are install-only
//! packages (updated once, against the newest installed); a Debian/Ubuntu kernel update is a
//! newer ABI package of the running flavour and series; a reboot is due when the running
//! kernel is older than the newest installed one.

use std::cmp::Ordering;
use std::sync::Arc;

use crate::model::{Kind, Pkg};

/// A kernel package, in either family: rpm's kernel packages (`kernel`, `kernel-core`, …)
/// and Debian's and Ubuntu's kernel images (`linux-image-…`). Their updates are kernel
/// updates on every host.
pub fn is_kernel_package(kind: Kind, name: &str) -> bool {
    match kind {
        Kind::Rpm => rpm_install_only(name),
        Kind::Deb => name.starts_with("linux-image-"),
    }
}

/// Whether a repository's package of this name can be the update of an installed package of
/// another name: a Debian/Ubuntu kernel image (a newer ABI is a new package name). Any other
/// package is compared only with installed packages of its own name, so when it comes or goes
/// only hosts that have its name can change.
pub fn updates_other_names(kind: Kind, name: &str) -> bool {
    kind == Kind::Deb && name.starts_with("linux-image-")
}

/// rpm packages dnf installs side by side (its `installonlypkgs`): updated only when the
/// repository has a version newer than the newest installed one.
pub fn rpm_install_only(name: &str) -> bool {
    const PREFIXES: [&str; 9] = [
        "kernel-core",
        "kernel-modules",
        "kernel-devel",
        "kernel-uek",
        "kernel-rt",
        "kernel-64k",
        "kernel-debug",
        "kernel-default",
        "kernel-zfcpdump",
    ];
    name == "kernel" || name == "kernel-PAE" || PREFIXES.iter().any(|p| name.starts_with(p))
}

/// The rpm kernel packages whose version is the kernel's: `uname -r` is their
/// "version-release.arch".
const RPM_KERNEL_IMAGES: [&str; 6] =
    ["kernel-core", "kernel", "kernel-uek-core", "kernel-uek", "kernel-rt-core", "kernel-64k-core"];

/// A Debian/Ubuntu versioned kernel package: "linux-image-6.1.0-18-amd64" →
/// ("linux-image-", "6.1.0-18", "amd64").
pub fn deb_kernel_parts(name: &str) -> Option<(&str, &str, &str)> {
    let prefix = ["linux-image-", "linux-headers-", "linux-modules-extra-", "linux-modules-"]
        .into_iter()
        .find(|p| name.starts_with(p))?;
    let rest = &name[prefix.len()..];
    // The ABI is "<major>.<minor>.<patch>-<abi>"; the flavour is what follows.
    let mut dashes = rest.match_indices('-').map(|(i, _)| i);
    let first = dashes.next()?;
    let second = dashes.next()?;
    let (abi, flavour) = (&rest[..second], &rest[second + 1..]);
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    (numeric(&rest[..first]) && numeric(&rest[first + 1..second]) && !flavour.is_empty())
        .then_some((prefix, abi, flavour))
}

/// "6.1.0-18" → "6.1": kernels of one series share major and minor.
pub fn series(abi: &str) -> &str {
    let mut dots = abi.match_indices('.').map(|(i, _)| i);
    match (dots.next(), dots.next()) {
        (Some(_), Some(second)) => &abi[..second],
        _ => abi.split('-').next().unwrap_or(abi),
    }
}

/// The installed kernel package the host runs, if the host has it as a package.
pub fn running_image<'a>(installed: &'a [Arc<Pkg>], kernel: &str) -> Option<&'a Pkg> {
    let deb = format!("linux-image-{kernel}");
    installed.iter().map(|p| &**p).find(|p| match p.kind {
        Kind::Deb => *p.name == deb,
        Kind::Rpm => {
            RPM_KERNEL_IMAGES.contains(&&*p.name) && format!("{}-{}.{}", p.version, p.release, p.arch) == kernel
        }
    })
}

/// Why a reboot is due: a kernel of the running one's kind and flavour newer than it is
/// installed. `None` when the running kernel is the newest or is not a known package.
pub fn reboot_reason(installed: &[Arc<Pkg>], kernel: &str) -> Option<String> {
    let running = running_image(installed, kernel)?;
    let same_line = |p: &&Pkg| match running.kind {
        Kind::Rpm => p.name == running.name && p.arch == running.arch,
        Kind::Deb => match (deb_kernel_parts(&p.name), deb_kernel_parts(&running.name)) {
            (Some((pp, _, pf)), Some((rp, _, rf))) => pp == rp && pf == rf,
            _ => false,
        },
    };
    let newest = installed.iter().map(|p| &**p).filter(same_line).max_by(|a, b| a.cmp_evr(b))?;
    (newest.cmp_evr(running) == Ordering::Greater).then(|| match running.kind {
        Kind::Rpm => format!("running kernel {} is older than installed {}-{}", kernel, newest.version, newest.release),
        Kind::Deb => format!(
            "running kernel {kernel} ({}) is older than installed {} ({})",
            running.evr(),
            newest.name,
            newest.evr()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb_kernel_names() {
        assert_eq!(deb_kernel_parts("linux-image-6.1.0-18-amd64"), Some(("linux-image-", "6.1.0-18", "amd64")));
        assert_eq!(
            deb_kernel_parts("linux-image-6.1.0-18-cloud-amd64"),
            Some(("linux-image-", "6.1.0-18", "cloud-amd64"))
        );
        assert_eq!(deb_kernel_parts("linux-image-5.15.0-91-generic"), Some(("linux-image-", "5.15.0-91", "generic")));
        assert_eq!(
            deb_kernel_parts("linux-modules-extra-6.8.0-51-generic"),
            Some(("linux-modules-extra-", "6.8.0-51", "generic"))
        );
        assert_eq!(deb_kernel_parts("linux-image-amd64"), None, "a meta-package");
        assert_eq!(deb_kernel_parts("linux-image-generic-hwe-22.04"), None);
        assert_eq!(series("6.1.0-18"), "6.1");
        assert_eq!(series("5.15.0-91"), "5.15");
    }

    #[test]
    fn install_only_rpm_names() {
        for name in
            ["kernel", "kernel-core", "kernel-modules", "kernel-modules-extra", "kernel-devel", "kernel-uek-core"]
        {
            assert!(rpm_install_only(name), "{name}");
        }
        for name in ["kernel-headers", "kernel-tools", "kernel-tools-libs", "kernelshark", "bash"] {
            assert!(!rpm_install_only(name), "{name}");
        }
    }
}
