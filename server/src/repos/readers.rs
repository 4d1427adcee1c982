//! The blocking side of a download: the channel the body arrives on as a `Read`, zstd's
//! multiple frames, the decompressed-size limit, and what their errors mean.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::RepoError;

/// Marks the error the download side sends when it gives up: the parser's error is then moot.
#[derive(Debug)]
pub(super) struct Aborted;

impl std::fmt::Display for Aborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("download aborted")
    }
}

impl std::error::Error for Aborted {}

/// The decompressed stream grew past its limit: `max_bytes`, or the size the index announced.
#[derive(Debug, Clone, Copy)]
pub(super) struct Exceeded {
    pub limit: u64,
    pub expected_size: Option<u64>,
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} bytes", self.limit)
    }
}

impl std::error::Error for Exceeded {}

/// Turns an I/O error met while reading the stream into the right `RepoError`: a size limit, a
/// failed download (the download side reports it), or undecodable data. Parsers use it for the
/// errors of their reader.
pub(crate) fn read_error(url: &str, e: &io::Error) -> RepoError {
    let inner = e.get_ref();
    if let Some(ex) = inner.and_then(|i| i.downcast_ref::<Exceeded>()) {
        return match ex.expected_size {
            Some(expected) => RepoError::SizeMismatch { url: url.to_owned(), expected, actual: expected + 1 },
            None => RepoError::TooLarge { url: url.to_owned(), limit: ex.limit },
        };
    }
    if inner.is_some_and(|i| i.is::<Aborted>()) {
        return RepoError::Http { url: url.to_owned(), reason: "download aborted".into() };
    }
    RepoError::Decompress { url: url.to_owned(), reason: e.to_string() }
}

/// The receiving end of the download channel as a blocking `Read`.
pub(super) struct ChannelReader {
    pub rx: mpsc::Receiver<io::Result<Bytes>>,
    pub current: Bytes,
    pub done: bool,
}

impl ChannelReader {
    /// Waits for data; false at the end of the download.
    fn fill(&mut self) -> io::Result<bool> {
        while self.current.is_empty() {
            if self.done {
                return Ok(false);
            }
            match self.rx.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                None => self.done = true,
            }
        }
        Ok(true)
    }

    pub fn at_eof(&mut self) -> io::Result<bool> {
        Ok(!self.fill()?)
    }
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.fill()? {
            return Ok(0);
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// A handle on the channel reader that the decoder owns while we keep another.
pub(super) struct SharedReader(pub Rc<RefCell<ChannelReader>>);

impl Read for SharedReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// zstd allows several frames one after another; decode them all.
pub(super) struct ZstdFrames {
    pub raw: Rc<RefCell<ChannelReader>>,
    pub frame: Option<ruzstd::decoding::StreamingDecoder<SharedReader, ruzstd::decoding::FrameDecoder>>,
}

impl Read for ZstdFrames {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(frame) = &mut self.frame {
                let n = frame.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                self.frame = None;
            }
            if self.raw.borrow_mut().at_eof()? {
                return Ok(0);
            }
            let decoder = ruzstd::decoding::StreamingDecoder::new(SharedReader(self.raw.clone()))
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
            self.frame = Some(decoder);
        }
    }
}

/// Fails once more than `left` bytes came through.
pub(super) struct LimitReader<R> {
    pub inner: R,
    pub left: u64,
    pub exceeded: Exceeded,
}

impl<R: Read> Read for LimitReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::other(self.exceeded));
        }
        self.left -= n as u64;
        Ok(n)
    }
}
