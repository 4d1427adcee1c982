//! Repository metadata: fetch a mirror's metadata over HTTP, verify it, parse it into domain values.
//!
//! No storage, no scheduling: [`refresh_apt`] and [`refresh_yum`] take what the last successful
//! refresh saw ([`Seen`]) and return either [`Refreshed::Unchanged`] (one small request, nothing
//! parsed) or a full [`Snapshot`]. Any error means the mirror failed this time; the caller keeps
//! its previous package list.
//!
//! Files are streamed: the HTTP body is decompressed, hashed and parsed as it arrives
//! (`stream.rs`), so memory holds the parsed values, never a whole file.
//!
//! Trust: apt metadata is verified with an OpenPGP keyring when one is given (`keyring.rs`), and
//! every Packages file is checked against the (In)Release's SHA-256 (or SHA-512). yum metadata is
//! checked against the checksums in repomd.xml, and repomd.xml against its detached signature
//! (repomd.xml.asc) when a keyring is given. `Snapshot::signed_by` says which keys verified it.

mod apt;
mod checksum;
pub(crate) mod date;
mod error;
#[doc(hidden)]
pub mod fuzz;
pub(crate) mod http;
mod keyring;
mod mirrorlist;
mod readers;
mod stream;
mod yum;

#[cfg(test)]
mod tests;

pub use apt::{AptMirror, AptRelease, DebSource, refresh_apt};
pub use error::RepoError;
pub use http::{Fetcher, HttpConfig, RepoAuth};
pub use keyring::Keyring;
pub use mirrorlist::{expand_metalink, expand_mirrorlist};
pub use yum::{Erratum, ErratumKind, ModuleStream, refresh_yum};

use crate::report::Package;

/// What the last successful refresh of a mirror saw, to skip unchanged metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// [`Snapshot::checksum`] of that refresh.
    pub checksum: Option<String>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// The outcome of a refresh.
#[derive(Debug)]
pub enum Refreshed {
    /// Nothing changed since [`Seen`]; the validators to keep for next time.
    Unchanged {
        etag: Option<String>,
        last_modified: Option<String>,
    },
    Changed(Box<Snapshot>),
}

/// Everything one refresh of a mirror learned.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// SHA-256 of the InRelease/Release (apt) or repomd.xml (yum): the identity of this metadata.
    pub checksum: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// The mirror's full package list (binary packages only for yum).
    pub packages: Vec<Package>,
    /// apt only: for `packages[i]`, its `Source:` field when the stanza has one.
    pub deb_sources: Vec<Option<DebSource>>,
    /// apt only: the (In)Release.
    pub apt: Option<AptRelease>,
    /// The Release is past its Valid-Until. Flagged; the packages are still returned.
    pub valid_until_passed: bool,
    /// Fingerprints of the keys whose signatures verified the metadata (InRelease, Release.gpg,
    /// repomd.xml.asc); empty when no keyring was given for it.
    pub signed_by: Vec<String>,
    /// yum updateinfo.
    pub errata: Vec<Erratum>,
    /// yum modules.yaml `modulemd` documents.
    pub modules: Vec<ModuleStream>,
    /// yum modules.yaml `modulemd-defaults` documents: (module name, default stream).
    pub module_defaults: Vec<(String, String)>,
}

impl Seen {
    /// What to pass to the next refresh after this one.
    pub fn after(refreshed: &Refreshed, previous: &Seen) -> Seen {
        match refreshed {
            Refreshed::Unchanged { etag, last_modified } => {
                Seen { checksum: previous.checksum.clone(), etag: etag.clone(), last_modified: last_modified.clone() }
            }
            Refreshed::Changed(s) => Seen {
                checksum: Some(s.checksum.clone()),
                etag: s.etag.clone(),
                last_modified: s.last_modified.clone(),
            },
        }
    }
}

/// `base` joined with a relative path, with exactly one '/' between.
fn join_url(base: &str, rel: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), rel.trim_start_matches('/'))
}
