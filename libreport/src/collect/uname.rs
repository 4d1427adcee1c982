//! The running kernel's release, machine architecture and node name, from uname(2).

/// What uname(2) says about the running kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uname {
    /// `uname -n`: the host name the kernel knows (no DNS involved).
    pub nodename: String,
    /// `uname -r`, e.g. `5.14.0-427.13.1.el9_4.x86_64`.
    pub release: String,
    /// `uname -m`, e.g. `x86_64`.
    pub machine: String,
}

/// Asks the running kernel. Cannot fail.
pub fn uname() -> Uname {
    let u = rustix::system::uname();
    Uname {
        nodename: u.nodename().to_string_lossy().into_owned(),
        release: u.release().to_string_lossy().into_owned(),
        machine: u.machine().to_string_lossy().into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn uname_command(flag: &str) -> String {
        let out = std::process::Command::new("uname").arg(flag).output().expect("uname(1) runs");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[test]
    fn agrees_with_the_uname_command() {
        let u = uname();
        assert_eq!(u.release, uname_command("-r"));
        assert_eq!(u.machine, uname_command("-m"));
        assert_eq!(u.nodename, uname_command("-n"));
        assert!(!u.release.is_empty() && !u.machine.is_empty());
    }
}
