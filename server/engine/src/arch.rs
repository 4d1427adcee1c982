//! Which package architectures may update which: same arch, `all`/`noarch`, and multilib
//! (an i686 package on an x86_64 host is updated by i686 only).

use crate::model::Kind;

/// Debian's name for the machine's architecture (`dpkg --print-architecture`).
pub fn deb_native(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" | "arm64" => "arm64",
        "i386" | "i486" | "i586" | "i686" => "i386",
        "armv7l" | "armv7" => "armhf",
        "armv6l" | "armv5tel" => "armel",
        "ppc64le" => "ppc64el",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// rpm's base architecture for the machine.
pub fn rpm_native(machine: &str) -> &str {
    match machine {
        "i386" | "i486" | "i586" | "i686" => "i686",
        "armv7l" => "armv7hl",
        other => other,
    }
}

/// Whether a package of `candidate` architecture can update an installed one of
/// `installed` architecture on a machine of `machine` architecture.
pub fn compatible(kind: Kind, installed: &str, candidate: &str, machine: &str) -> bool {
    if installed == candidate {
        return true;
    }
    match kind {
        // `all` packages are native: a package may move between `all` and the native arch.
        // A foreign-arch package (i386 on amd64) is updated by the same arch only.
        Kind::Deb => {
            let native = deb_native(machine);
            (installed == "all" || installed == native) && (candidate == "all" || candidate == native)
        }
        // noarch is compatible with the native arch both ways; multilib packages (i686 on
        // x86_64) only with themselves.
        Kind::Rpm => {
            let native = rpm_native(machine);
            (installed == native && candidate == "noarch") || (installed == "noarch" && candidate == native)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(kind: Kind, installed: &str, candidate: &str, machine: &str, want: bool) {
        assert_eq!(
            compatible(kind, installed, candidate, machine),
            want,
            "{kind:?} {installed} <- {candidate} on {machine}"
        );
    }

    #[test]
    fn deb_architectures() {
        check(Kind::Deb, "amd64", "amd64", "x86_64", true);
        check(Kind::Deb, "amd64", "all", "x86_64", true);
        check(Kind::Deb, "all", "amd64", "x86_64", true);
        check(Kind::Deb, "i386", "i386", "x86_64", true);
        check(Kind::Deb, "i386", "amd64", "x86_64", false);
        check(Kind::Deb, "i386", "all", "x86_64", false);
        check(Kind::Deb, "amd64", "i386", "x86_64", false);
        check(Kind::Deb, "arm64", "all", "aarch64", true);
    }

    #[test]
    fn rpm_architectures_and_multilib() {
        check(Kind::Rpm, "x86_64", "x86_64", "x86_64", true);
        check(Kind::Rpm, "x86_64", "noarch", "x86_64", true);
        check(Kind::Rpm, "noarch", "x86_64", "x86_64", true);
        check(Kind::Rpm, "noarch", "i686", "x86_64", false);
        check(Kind::Rpm, "i686", "i686", "x86_64", true);
        check(Kind::Rpm, "i686", "x86_64", "x86_64", false);
        check(Kind::Rpm, "i686", "noarch", "x86_64", false);
        check(Kind::Rpm, "x86_64", "i686", "x86_64", false);
        check(Kind::Rpm, "aarch64", "x86_64", "aarch64", false);
    }
}
