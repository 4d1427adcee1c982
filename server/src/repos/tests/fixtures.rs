//! Test material of the repository layer: fetchers with short timeouts and keyrings; the
//! repositories and keys themselves come from `patchman_testkit::apt`.

use std::path::Path;
use std::time::Duration;

pub use patchman_testkit::apt::{
    DEBIAN_KEYRING, GpgKey, apt_list, apt_packages, build_debs, scan_packages, write_release, xz,
};

use crate::repos::{Fetcher, HttpConfig, Keyring};

/// A fetcher with short timeouts, for loopback servers.
pub fn fetcher() -> Fetcher {
    fetcher_with(|_| {})
}

pub fn fetcher_with(tweak: impl FnOnce(&mut HttpConfig)) -> Fetcher {
    let mut cfg = HttpConfig {
        timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(5),
        ..HttpConfig::default()
    };
    tweak(&mut cfg);
    Fetcher::new(&cfg).expect("fetcher")
}

pub fn debian_keyring() -> Keyring {
    Keyring::from_files(&[Path::new(DEBIAN_KEYRING)])
        .expect("the debian archive keyring (package debian-archive-keyring)")
}

/// The keyring holding a test key.
pub trait KeyringOf {
    fn keyring(&self) -> Keyring;
}

impl KeyringOf for GpgKey {
    fn keyring(&self) -> Keyring {
        Keyring::from_files(&[self.public.as_path()]).expect("test keyring")
    }
}
