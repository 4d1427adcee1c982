//! Where a feed's bytes come from (a URL through the repositories' HTTP layer, with
//! conditional requests and the size limit; or a local file or directory) and how they are
//! read by kind. Unchanged bytes (HTTP 304, or the same SHA-256) are not parsed again.

use std::io::Cursor;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{FeedContents, FeedError, kev, osv, tracker};
use crate::config::FeedConfig;
use crate::repos::http::Fetched;
use crate::repos::{Fetcher, Seen};

/// What a read of a feed found.
pub enum Outcome {
    /// Same bytes as last time (or 304): nothing to parse.
    Unchanged {
        etag: Option<String>,
        last_modified: Option<String>,
    },
    New {
        contents: FeedContents,
        checksum: String,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// Reads a feed and parses it (on a blocking thread) when it changed since `seen`.
pub async fn read(fetcher: &Fetcher, feed: &FeedConfig, seen: &Seen, limit: u64) -> Result<Outcome, FeedError> {
    let (bytes, etag, last_modified) = match (&feed.url, &feed.path) {
        (Some(url), _) => {
            match fetcher.get(url, Some(seen), None).await.map_err(|e| FeedError::Fetch(e.to_string()))? {
                Fetched::NotModified { etag, last_modified } => return Ok(Outcome::Unchanged { etag, last_modified }),
                Fetched::NotFound => return Err(FeedError::Fetch(format!("{url}: not found (404)"))),
                Fetched::Found(resp) => {
                    let small = fetcher.read_small(url, resp).await.map_err(|e| FeedError::Fetch(e.to_string()))?;
                    (Source::Bytes(small.body), small.etag, small.last_modified)
                }
            }
        }
        (None, Some(path)) => (read_path(path.clone(), limit).await?, None, None),
        (None, None) => return Err(FeedError::Fetch("neither url nor path is set".to_owned())),
    };
    let checksum = bytes.checksum();
    if seen.checksum.as_deref() == Some(checksum.as_str()) {
        return Ok(Outcome::Unchanged { etag, last_modified });
    }
    let kind = feed.kind.clone();
    let what = feed.name.clone();
    let contents = tokio::task::spawn_blocking(move || parse(&kind, bytes, limit, &what))
        .await
        .map_err(|e| FeedError::Fetch(format!("the parser stopped: {e}")))??;
    Ok(Outcome::New { contents, checksum, etag, last_modified })
}

/// A feed's bytes: one document, or a directory's `.json` files (name, bytes) sorted by name.
enum Source {
    Bytes(Vec<u8>),
    Files(Vec<(String, Vec<u8>)>),
}

impl Source {
    fn checksum(&self) -> String {
        let mut h = Sha256::new();
        match self {
            Source::Bytes(b) => h.update(b),
            Source::Files(files) => {
                for (name, b) in files {
                    h.update((name.len() as u64).to_le_bytes());
                    h.update(name.as_bytes());
                    h.update((b.len() as u64).to_le_bytes());
                    h.update(b);
                }
            }
        }
        hex(&h.finalize())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn read_path(path: std::path::PathBuf, limit: u64) -> Result<Source, FeedError> {
    tokio::task::spawn_blocking(move || read_path_blocking(&path, limit))
        .await
        .map_err(|e| FeedError::Fetch(format!("reading stopped: {e}")))?
}

fn read_path_blocking(path: &Path, limit: u64) -> Result<Source, FeedError> {
    let what = path.display().to_string();
    let io = |e: std::io::Error| FeedError::Fetch(format!("{what}: {e}"));
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        if meta.len() > limit {
            return Err(FeedError::TooLarge { what, limit });
        }
        return Ok(Source::Bytes(std::fs::read(path).map_err(io)?));
    }
    let mut names: Vec<_> = std::fs::read_dir(path)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let mut total = 0u64;
    let mut files = Vec::with_capacity(names.len());
    for p in names {
        let bytes = std::fs::read(&p).map_err(io)?;
        total += bytes.len() as u64;
        if total > limit {
            return Err(FeedError::TooLarge { what, limit });
        }
        files.push((p.file_name().unwrap_or_default().to_string_lossy().into_owned(), bytes));
    }
    Ok(Source::Files(files))
}

/// Parses a feed's bytes by its kind. A document that does not parse whole is an error: a
/// feed is taken whole or not at all.
fn parse(kind: &str, source: Source, limit: u64, what: &str) -> Result<FeedContents, FeedError> {
    let mut out = FeedContents::default();
    match (kind, source) {
        ("osv", Source::Files(files)) => {
            for (name, bytes) in files {
                out.advisories.extend(osv::parse_record(&bytes, &format!("{what}: {name}"))?);
            }
        }
        ("osv", Source::Bytes(bytes)) if bytes.starts_with(b"PK") => {
            out.advisories = osv::parse_zip(Cursor::new(bytes), limit, what)?;
        }
        ("osv", Source::Bytes(bytes)) if bytes.trim_ascii_start().starts_with(b"[") => {
            let records: Vec<Box<serde_json::value::RawValue>> =
                serde_json::from_slice(&bytes).map_err(|e| FeedError::format(what, e))?;
            for r in records {
                out.advisories.extend(osv::parse_record(r.get().as_bytes(), what)?);
            }
        }
        ("osv", Source::Bytes(bytes)) => out.advisories.extend(osv::parse_record(&bytes, what)?),
        ("debian-tracker", Source::Bytes(bytes)) => out.advisories = tracker::parse(&bytes, what)?,
        ("kev", Source::Bytes(bytes)) => out.exploited = kev::parse(&bytes, what)?,
        (kind, Source::Files(_)) => {
            return Err(FeedError::format(what, format!("a {kind} feed is one file, not a directory")));
        }
        (kind, _) => return Err(FeedError::format(what, format!("unknown kind {kind:?}"))),
    }
    // One name per feed: the newest record of a name wins.
    out.advisories.sort_by(|a, b| a.name.cmp(&b.name).then(b.updated_ms.cmp(&a.updated_ms)));
    out.advisories.dedup_by(|later, first| later.name == first.name);
    Ok(out)
}
