//! Entry points for the fuzz targets (`fuzz/`) and the replay of their corpora in the tests:
//! each reads outside data the way the reporter does and must never panic, whatever it gets.
#![doc(hidden)]

use crate::collect::{
    apt_preferences, apt_release, apt_sources, dnf_modules, dpkg_status, os_release, rpmdb, yum_repos,
};

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// `/var/lib/dpkg/status`.
pub fn dpkg_status(data: &[u8]) {
    let _ = dpkg_status::parse_status(&text(data));
}

/// apt sources, one-line (`sources.list`) and deb822 (`*.sources`), and apt preferences.
pub fn apt_sources(data: &[u8]) {
    let t = text(data);
    let _ = apt_sources::parse_one_line(&t);
    let _ = apt_sources::parse_deb822(&t);
    let _ = apt_preferences::Preferences::parse(&t);
    let _ = apt_release::parse_release(&t);
}

/// yum/dnf `.repo` files (with variables to substitute) and dnf module state files.
pub fn yum_repos(data: &[u8]) {
    let t = text(data);
    let mut vars = yum_repos::YumVars::new("9.4", "x86_64");
    vars.set("contentdir", "pub/rocky");
    let _ = yum_repos::parse_repo_file(&t, &vars);
    let _ = dnf_modules::parse_module_file(&t);
}

/// `/etc/os-release`.
pub fn os_release(data: &[u8]) {
    let _ = os_release::parse_os_release(&text(data));
}

/// An rpm header blob (rpmdb.sqlite's Packages.blob) and `rpm -qa` output.
pub fn rpm_header(data: &[u8]) {
    let _ = rpmdb::parse_header(data);
    let _ = rpmdb::parse_rpm_qa(&text(data));
}

/// The reporter's configuration file.
pub fn client_config(data: &[u8]) {
    let _ = crate::hooks::ClientConfig::parse(&text(data));
}

/// A fuzz target: reads any bytes, never panics.
pub type Target = fn(&[u8]);

/// Every target by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("dpkg_status", dpkg_status),
    ("apt_sources", apt_sources),
    ("yum_repos", yum_repos),
    ("os_release", os_release),
    ("rpm_header", rpm_header),
    ("client_config", client_config),
];
