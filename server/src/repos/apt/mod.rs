//! apt repositories: InRelease (or Release + Release.gpg), verified, then the Packages index it
//! lists, checked against the Release's SHA-256 while it streams.

mod packages;
mod release;

pub use packages::DebSource;
pub use release::AptRelease;

use super::checksum::sha256_hex;
use super::http::{Fetched, Small};
use super::keyring::unverified_text;
use super::stream::{Checks, Compression, parse_stream};
use super::{Fetcher, Keyring, Refreshed, RepoAuth, RepoError, Seen, Snapshot, join_url};
use crate::clock::now_ms;
pub(super) use packages::parse_packages;
use release::ReleaseIndex;
pub(super) use release::parse_release;

/// An apt mirror as hosts report it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AptMirror {
    /// `<archive>/dists/<suite>/<component>/binary-<arch>`.
    Dists { archive: String, suite: String, component: String, arch: String },
    /// A flat repository: Release and Packages in one directory.
    Flat { dir: String },
}

impl AptMirror {
    /// From ".../dists/<suite>/<component>/binary-<arch>" (the suite may contain '/', e.g.
    /// "bookworm/updates"), or else a flat repository's directory. Only http and https.
    pub fn parse(url: &str) -> Option<Self> {
        let url = url.trim();
        let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
        if rest.is_empty() || rest.starts_with('/') || url.contains(char::is_whitespace) {
            return None;
        }
        let url = url.trim_end_matches('/');
        let Some(at) = url.find("/dists/") else {
            let dir = url.strip_suffix("/.").unwrap_or(url).trim_end_matches('/');
            return Some(Self::Flat { dir: dir.to_owned() });
        };
        let archive = &url[..at];
        let segments: Vec<&str> = url[at + "/dists/".len()..].split('/').collect();
        let [suite @ .., component, binary] = segments.as_slice() else {
            return None;
        };
        let arch = binary.strip_prefix("binary-")?;
        let suite = suite.join("/");
        if archive.contains("://")
            && !suite.is_empty()
            && !component.is_empty()
            && !arch.is_empty()
            && !suite.contains("//")
        {
            Some(Self::Dists {
                archive: archive.to_owned(),
                suite,
                component: (*component).to_owned(),
                arch: arch.to_owned(),
            })
        } else {
            None
        }
    }

    /// The directory holding the (In)Release.
    fn release_dir(&self) -> String {
        match self {
            Self::Dists { archive, suite, .. } => format!("{archive}/dists/{suite}"),
            Self::Flat { dir } => dir.clone(),
        }
    }

    /// The Packages index's path relative to `release_dir`, without a compression suffix.
    fn packages_path(&self) -> String {
        match self {
            Self::Dists { component, arch, .. } => format!("{component}/binary-{arch}/Packages"),
            Self::Flat { .. } => "Packages".to_owned(),
        }
    }
}

/// Refreshes an apt mirror. With a keyring, the (In)Release must carry a good signature by one
/// of its keys; without one, nothing is verified and `AptRelease::signed` is false.
pub async fn refresh_apt(
    f: &Fetcher,
    mirror: &AptMirror,
    seen: &Seen,
    keyring: Option<&Keyring>,
    auth: Option<&RepoAuth>,
) -> Result<Refreshed, RepoError> {
    let dir = mirror.release_dir();
    let inrelease_url = join_url(&dir, "InRelease");
    let (url, small, detached) = match f.get(&inrelease_url, Some(seen), auth).await? {
        Fetched::NotModified { etag, last_modified } => return Ok(Refreshed::Unchanged { etag, last_modified }),
        Fetched::Found(resp) => (inrelease_url.clone(), f.read_small(&inrelease_url, resp).await?, false),
        Fetched::NotFound => {
            let release_url = join_url(&dir, "Release");
            match f.get(&release_url, Some(seen), auth).await? {
                Fetched::NotModified { etag, last_modified } => {
                    return Ok(Refreshed::Unchanged { etag, last_modified });
                }
                Fetched::Found(resp) => (release_url.clone(), f.read_small(&release_url, resp).await?, true),
                Fetched::NotFound => {
                    return Err(RepoError::NotFound { url: format!("{inrelease_url} (and Release)") });
                }
            }
        }
    };
    let Small { body, etag, last_modified } = small;
    let checksum = sha256_hex(&body);
    if seen.checksum.as_deref() == Some(checksum.as_str()) {
        return Ok(Refreshed::Unchanged { etag, last_modified });
    }

    let text = String::from_utf8(body)
        .map_err(|_| RepoError::Release { url: url.clone(), reason: "not UTF-8 text".into() })?;
    let (release_text, signed_by) = match (keyring, detached) {
        (Some(k), false) => k.verify_cleartext(&url, &text)?,
        (Some(k), true) => {
            let sig_url = join_url(&dir, "Release.gpg");
            let sig = match f.get(&sig_url, None, auth).await? {
                Fetched::Found(resp) => f.read_small(&sig_url, resp).await?.body,
                _ => return Err(RepoError::Unsigned { url: url.clone() }),
            };
            let fprs = k.verify_detached(&url, text.as_bytes(), &sig)?;
            (text, fprs)
        }
        (None, false) => (unverified_text(&url, &text)?, Vec::new()),
        (None, true) => (text, Vec::new()),
    };
    let mut index = parse_release(&url, &release_text)?;
    index.release.signed = !signed_by.is_empty();
    index.release.signed_by = signed_by;
    check_suite(&url, mirror, &index)?;
    let valid_until_passed = index.release.valid_until_ms.is_some_and(|v| v < now_ms());

    let parsed = fetch_packages(f, mirror, &dir, &index, auth).await?;
    Ok(Refreshed::Changed(Box::new(Snapshot {
        checksum,
        etag,
        last_modified,
        packages: parsed.packages,
        deb_sources: parsed.sources,
        signed_by: index.release.signed_by.clone(),
        apt: Some(index.release),
        valid_until_passed,
        ..Snapshot::default()
    })))
}

/// A Release for another suite (a stale or swapped file) is refused, as apt does: the requested
/// suite must be the Release's Suite or Codename. "bookworm/updates" also matches "bookworm".
fn check_suite(url: &str, mirror: &AptMirror, index: &ReleaseIndex) -> Result<(), RepoError> {
    let AptMirror::Dists { suite, .. } = mirror else {
        return Ok(());
    };
    let r = &index.release;
    let names = [r.suite.as_deref(), r.codename.as_deref()];
    let base = suite.split('/').next().unwrap_or(suite);
    if names.iter().flatten().any(|n| *n == suite.as_str() || *n == base) || names.iter().all(Option::is_none) {
        return Ok(());
    }
    let got = names.iter().flatten().copied().collect::<Vec<_>>().join(" / ");
    Err(RepoError::SuiteMismatch { url: url.to_owned(), expected: suite.clone(), got })
}

/// Fetches the first Packages variant the Release lists and the server has, and parses it.
///
/// The decompressed content is checked against the Release's entry for the plain `Packages`
/// when there is one (that covers exactly what is parsed, whatever compression the mirror
/// serves, and bounds the decompressed size); otherwise the downloaded file is checked against
/// its own entry.
async fn fetch_packages(
    f: &Fetcher,
    mirror: &AptMirror,
    dir: &str,
    index: &ReleaseIndex,
    auth: Option<&RepoAuth>,
) -> Result<packages::ParsedPackages, RepoError> {
    let base = mirror.packages_path();
    let plain = index.files.get(&base).and_then(|s| s.best().map(|c| (c.clone(), s.size)));
    let mut tried = Vec::new();
    for ext in [".xz", ".gz", ".bz2", ".zst", ""] {
        let rel = format!("{base}{ext}");
        let Some(sums) = index.files.get(&rel) else {
            continue;
        };
        let url = join_url(dir, &rel);
        let checks = match (&plain, sums.best()) {
            (Some((sum, size)), _) => Checks { compressed: None, plain: Some(sum.clone()), plain_size: Some(*size) },
            (None, Some(sum)) => Checks { compressed: Some(sum.clone()), plain: None, plain_size: None },
            (None, None) => {
                return Err(RepoError::WeakChecksum {
                    url: url.clone(),
                    file: rel,
                    found: "only md5/sha1 listed".into(),
                });
            }
        };
        tried.push(rel.clone());
        let resp = match f.get(&url, None, auth).await? {
            Fetched::Found(resp) => resp,
            Fetched::NotFound | Fetched::NotModified { .. } => continue,
        };
        let owned = url.clone();
        return parse_stream(&url, resp, f.max_bytes(), Compression::from_path(&rel), checks, move |r| {
            parse_packages(&owned, r)
        })
        .await;
    }
    if tried.is_empty() && index.weak_only.iter().any(|p| p.starts_with(&base)) {
        return Err(RepoError::WeakChecksum {
            url: join_url(dir, &base),
            file: base,
            found: "only md5/sha1 listed".into(),
        });
    }
    let tried = if tried.is_empty() { format!("{base}*: none listed in the release") } else { tried.join(", ") };
    Err(RepoError::NoIndex { url: join_url(dir, ""), what: "Packages".into(), tried })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(url: &str, want: Option<AptMirror>) {
        assert_eq!(AptMirror::parse(url), want, "AptMirror::parse({url:?})");
    }

    fn dists(archive: &str, suite: &str, component: &str, arch: &str) -> Option<AptMirror> {
        Some(AptMirror::Dists {
            archive: archive.into(),
            suite: suite.into(),
            component: component.into(),
            arch: arch.into(),
        })
    }

    #[test]
    fn mirror_urls() {
        let deb = "http://deb.debian.org/debian";
        check("http://deb.debian.org/debian/dists/bookworm/main/binary-amd64", dists(deb, "bookworm", "main", "amd64"));
        check(
            "http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/",
            dists(deb, "bookworm", "main", "amd64"),
        );
        check(
            "http://security.debian.org/dists/buster/updates/main/binary-i386",
            dists("http://security.debian.org", "buster/updates", "main", "i386"),
        );
        check("https://example.com/repo", Some(AptMirror::Flat { dir: "https://example.com/repo".into() }));
        check("https://example.com/repo/./", Some(AptMirror::Flat { dir: "https://example.com/repo".into() }));
        check("http://deb.debian.org/debian/dists/bookworm/main", None);
        check("http://deb.debian.org/debian/dists/bookworm/main/source", None);
        check("http://deb.debian.org/debian/dists//main/binary-amd64", None);
        check("ftp://deb.debian.org/debian/dists/bookworm/main/binary-amd64", None);
        check("file:///srv/repo", None);
        check("http://", None);
        check("", None);
    }
}
