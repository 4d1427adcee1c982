//! Download, decompress, hash and parse in one pass: the body streams from the async HTTP side
//! through a bounded channel into a blocking thread that decompresses and parses it, so neither
//! the compressed nor the decompressed file is ever held whole.

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;

use bytes::Bytes;
use reqwest::Response;
use tokio::sync::mpsc;

use super::RepoError;
use super::checksum::{Checksum, Hasher, HashingReader};
use super::http::http_error;
use super::readers::{Aborted, ChannelReader, Exceeded, LimitReader, SharedReader, ZstdFrames};

pub(crate) use super::readers::read_error;

/// The compression of a metadata file, known from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Compression {
    None,
    Gzip,
    Xz,
    Bzip2,
    Zstd,
}

impl Compression {
    pub fn from_path(path: &str) -> Self {
        let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
        match ext {
            "gz" => Self::Gzip,
            "xz" => Self::Xz,
            "bz2" => Self::Bzip2,
            "zst" | "zstd" => Self::Zstd,
            _ => Self::None,
        }
    }
}

/// What the stream must match: the digest of the bytes as downloaded, and/or the digest and
/// size of the decompressed content.
#[derive(Debug, Clone, Default)]
pub(crate) struct Checks {
    pub compressed: Option<Checksum>,
    pub plain: Option<Checksum>,
    pub plain_size: Option<u64>,
}

/// The longest LZMA dictionary accepted (xz -9 uses 64 MiB).
const XZ_MEM_LIMIT_KIB: u32 = 256 * 1024;
const CHANNEL_CHUNKS: usize = 16;

/// Streams `resp` through decompression into `parse`, checking sizes and digests. `parse` runs
/// on a blocking thread and must read its input to the end; its result is returned only if
/// every check passed.
pub(crate) async fn parse_stream<T, F>(
    url: &str,
    mut resp: Response,
    max_bytes: u64,
    compression: Compression,
    checks: Checks,
    parse: F,
) -> Result<T, RepoError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn BufRead) -> Result<T, RepoError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
    let owned_url = url.to_owned();
    let plain = checks.plain.clone();
    let plain_size = checks.plain_size;
    let worker = tokio::task::spawn_blocking(move || {
        decode_and_parse(&owned_url, rx, max_bytes, compression, plain.as_ref(), plain_size, parse)
    });

    let download = async {
        let tx = tx; // dropped when the download ends: that is the parser's end of input
        let mut hasher = checks.compressed.as_ref().map(|c| Hasher::new(c.algo));
        let mut total = 0u64;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    total += chunk.len() as u64;
                    if total > max_bytes {
                        let _ = tx.send(Err(io::Error::other(Aborted))).await;
                        return Err(RepoError::TooLarge { url: url.to_owned(), limit: max_bytes });
                    }
                    if let Some(h) = &mut hasher {
                        h.update(&chunk);
                    }
                    if tx.send(Ok(chunk)).await.is_err() {
                        // The parser stopped early (it failed, or left data unread): its result says why.
                        return Ok(None);
                    }
                }
                Ok(None) => return Ok(Some(hasher.map(Hasher::finish_hex))),
                Err(e) => {
                    let _ = tx.send(Err(io::Error::other(Aborted))).await;
                    return Err(http_error(url, &e));
                }
            }
        }
    };
    let (downloaded, parsed) = tokio::join!(download, worker);
    let digest = downloaded?;
    let parsed = parsed.map_err(|e| RepoError::Internal { url: url.to_owned(), reason: e.to_string() })??;
    let Some(digest) = digest else {
        return Err(RepoError::Decompress {
            url: url.to_owned(),
            reason: "data left after the end of the stream".into(),
        });
    };
    if let (Some(want), Some(got)) = (&checks.compressed, digest)
        && want.hex != got
    {
        return Err(RepoError::ChecksumMismatch {
            url: url.to_owned(),
            algo: want.algo.name(),
            expected: want.hex.clone(),
            actual: got,
        });
    }
    Ok(parsed)
}

fn decode_and_parse<T>(
    url: &str,
    rx: mpsc::Receiver<io::Result<Bytes>>,
    max_bytes: u64,
    compression: Compression,
    plain: Option<&Checksum>,
    plain_size: Option<u64>,
    parse: impl FnOnce(&mut dyn BufRead) -> Result<T, RepoError>,
) -> Result<T, RepoError> {
    let raw = Rc::new(RefCell::new(ChannelReader { rx, current: Bytes::new(), done: false }));
    let shared = SharedReader(raw.clone());
    let decoder: Box<dyn Read> = match compression {
        Compression::None => Box::new(shared),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(shared)),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(shared)),
        Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(shared, true, XZ_MEM_LIMIT_KIB)),
        Compression::Zstd => Box::new(ZstdFrames { raw: raw.clone(), frame: None }),
    };
    let exceeded = match plain_size {
        Some(size) if size <= max_bytes => Exceeded { limit: size, expected_size: Some(size) },
        _ => Exceeded { limit: max_bytes, expected_size: None },
    };
    let limited = LimitReader { inner: decoder, left: exceeded.limit, exceeded };
    let mut hashing = HashingReader::new(limited, plain.map(|c| c.algo));
    let result = {
        let mut reader = BufReader::with_capacity(256 << 10, &mut hashing);
        let parsed = parse(&mut reader)?;
        // Whatever the parser left (normally nothing) still counts for the digest and the limit.
        io::copy(&mut reader, &mut io::sink()).map_err(|e| read_error(url, &e))?;
        parsed
    };
    let (digest, size) = hashing.finish();
    if let Some(expected) = plain_size
        && size != expected
    {
        return Err(RepoError::SizeMismatch { url: url.to_owned(), expected, actual: size });
    }
    if let (Some(want), Some(got)) = (plain, digest)
        && want.hex != got
    {
        return Err(RepoError::ChecksumMismatch {
            url: url.to_owned(),
            algo: want.algo.name(),
            expected: want.hex.clone(),
            actual: got,
        });
    }
    // Anything after the end of the compressed stream means we did not parse the whole file.
    let leftover = raw.borrow_mut().at_eof().map_err(|e| read_error(url, &e))?;
    if !leftover {
        return Err(RepoError::Decompress {
            url: url.to_owned(),
            reason: "data left after the end of the stream".into(),
        });
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_from_file_names() {
        assert_eq!(Compression::from_path("repodata/abc-primary.xml.gz"), Compression::Gzip);
        assert_eq!(Compression::from_path("main/binary-amd64/Packages.xz"), Compression::Xz);
        assert_eq!(Compression::from_path("x-modules.yaml.zst"), Compression::Zstd);
        assert_eq!(Compression::from_path("Packages.bz2"), Compression::Bzip2);
        assert_eq!(Compression::from_path("Packages"), Compression::None);
        assert_eq!(Compression::from_path("repodata/primary.xml"), Compression::None);
    }
}
