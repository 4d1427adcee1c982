//! yum/dnf repositories: repomd.xml, then primary (required), updateinfo and modules (optional),
//! each checked against repomd's checksum while it streams.

mod modules;
mod primary;
mod repomd;
mod updateinfo;
pub(super) mod xml;

#[cfg(test)]
mod modules_tests;

pub use modules::ModuleStream;
pub use updateinfo::{Erratum, ErratumKind};

use super::checksum::sha256_hex;
use super::http::Fetched;
use super::stream::{Checks, Compression, parse_stream};
use super::{Fetcher, Keyring, Refreshed, RepoAuth, RepoError, Seen, Snapshot, join_url};
pub(super) use modules::parse_modules;
pub(super) use primary::parse_primary;
use repomd::RepoData;
pub(super) use repomd::parse_repomd;
pub(super) use updateinfo::parse_updateinfo;

/// Refreshes a yum/dnf mirror from its baseurl (the directory holding `repodata/`).
pub async fn refresh_yum(
    f: &Fetcher,
    baseurl: &str,
    seen: &Seen,
    keyring: Option<&Keyring>,
    auth: Option<&RepoAuth>,
) -> Result<Refreshed, RepoError> {
    let repomd_url = join_url(baseurl, "repodata/repomd.xml");
    let small = match f.get(&repomd_url, Some(seen), auth).await? {
        Fetched::NotModified { etag, last_modified } => return Ok(Refreshed::Unchanged { etag, last_modified }),
        Fetched::NotFound => return Err(RepoError::NotFound { url: repomd_url }),
        Fetched::Found(resp) => f.read_small(&repomd_url, resp).await?,
    };
    let checksum = sha256_hex(&small.body);
    if seen.checksum.as_deref() == Some(checksum.as_str()) {
        return Ok(Refreshed::Unchanged { etag: small.etag, last_modified: small.last_modified });
    }
    // With a keyring, repomd.xml must carry a good detached signature (dnf's repo_gpgcheck).
    let signed_by = match keyring {
        Some(k) => {
            let sig_url = format!("{repomd_url}.asc");
            let sig = match f.get(&sig_url, None, auth).await? {
                Fetched::Found(resp) => f.read_small(&sig_url, resp).await?.body,
                _ => return Err(RepoError::Unsigned { url: repomd_url }),
            };
            k.verify_detached(&repomd_url, &small.body, &sig)?
        }
        None => Vec::new(),
    };
    let data = parse_repomd(&repomd_url, &small.body)?;
    let find = |kind: &str| data.iter().find(|d| d.kind == kind);
    let primary = find("primary")
        .ok_or_else(|| RepoError::Repomd { url: repomd_url.clone(), reason: "no primary data listed".into() })?;

    let (packages, errata, modules) = tokio::try_join!(
        fetch(f, baseurl, primary, auth, primary::parse_primary),
        async {
            match find("updateinfo") {
                Some(d) => fetch(f, baseurl, d, auth, updateinfo::parse_updateinfo).await,
                None => Ok(Vec::new()),
            }
        },
        async {
            match find("modules") {
                Some(d) => fetch(f, baseurl, d, auth, modules::parse_modules).await,
                None => Ok(modules::ParsedModules::default()),
            }
        },
    )?;
    Ok(Refreshed::Changed(Box::new(Snapshot {
        checksum,
        etag: small.etag,
        last_modified: small.last_modified,
        packages,
        errata,
        modules: modules.streams,
        module_defaults: modules.defaults,
        signed_by,
        ..Snapshot::default()
    })))
}

/// Downloads one metadata file and parses it as it streams; the file must match repomd's
/// checksum, and its decompressed size repomd's open-size when given.
async fn fetch<T: Send + 'static>(
    f: &Fetcher,
    baseurl: &str,
    d: &RepoData,
    auth: Option<&RepoAuth>,
    parse: fn(&str, &mut dyn std::io::BufRead) -> Result<T, RepoError>,
) -> Result<T, RepoError> {
    let url = if d.href.contains("://") { d.href.clone() } else { join_url(baseurl, &d.href) };
    let Some(checksum) = d.checksum.clone() else {
        let found = d.weak_checksum.as_deref().map_or("none listed".to_owned(), |t| format!("{t} listed"));
        return Err(RepoError::WeakChecksum {
            url: join_url(baseurl, "repodata/repomd.xml"),
            file: d.href.clone(),
            found,
        });
    };
    let resp = match f.get(&url, None, auth).await? {
        Fetched::Found(resp) => resp,
        _ => return Err(RepoError::NotFound { url }),
    };
    let checks = Checks { compressed: Some(checksum), plain: None, plain_size: d.open_size };
    let owned = url.clone();
    parse_stream(&url, resp, f.max_bytes(), Compression::from_path(&d.href), checks, move |r| parse(&owned, r)).await
}
