//! Checksums repositories publish (sha256/sha512 and the rest of the SHA-2 family) and the
//! hashing reader that checks a stream as it is parsed.

use std::io::{self, Read};

use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// A SHA-2 algorithm; md5 and sha1 are deliberately absent: a repository offering only those is
/// refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algo {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algo {
    /// From the names repomd.xml and Release files use ("sha256", "SHA256").
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sha224" => Some(Self::Sha224),
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    fn hex_len(self) -> usize {
        match self {
            Self::Sha224 => 56,
            Self::Sha256 => 64,
            Self::Sha384 => 96,
            Self::Sha512 => 128,
        }
    }
}

/// An expected digest: algorithm and lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algo: Algo,
    pub hex: String,
}

impl Checksum {
    /// Checks the hex has the algorithm's length and only hex digits.
    pub fn new(algo: Algo, hex: &str) -> Option<Self> {
        let hex = hex.trim().to_ascii_lowercase();
        (hex.len() == algo.hex_len() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(Self { algo, hex })
    }
}

/// An incremental hasher for one of the algorithms.
#[derive(Clone)]
pub enum Hasher {
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Hasher {
    pub fn new(algo: Algo) -> Self {
        match algo {
            Algo::Sha224 => Self::Sha224(Sha224::new()),
            Algo::Sha256 => Self::Sha256(Sha256::new()),
            Algo::Sha384 => Self::Sha384(Sha384::new()),
            Algo::Sha512 => Self::Sha512(Sha512::new()),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha224(h) => h.update(data),
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }

    pub fn finish_hex(self) -> String {
        match self {
            Self::Sha224(h) => to_hex(&h.finalize()),
            Self::Sha256(h) => to_hex(&h.finalize()),
            Self::Sha384(h) => to_hex(&h.finalize()),
            Self::Sha512(h) => to_hex(&h.finalize()),
        }
    }
}

/// The sha256 of a byte string, as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    to_hex(&Sha256::digest(data))
}

pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Hashes and counts what passes through it; the result is read after the stream's end.
pub struct HashingReader<R> {
    inner: R,
    hasher: Option<Hasher>,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub fn new(inner: R, algo: Option<Algo>) -> Self {
        Self { inner, hasher: algo.map(Hasher::new), count: 0 }
    }

    /// (hex digest if an algorithm was given, bytes read).
    pub fn finish(self) -> (Option<String>, u64) {
        (self.hasher.map(Hasher::finish_hex), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn checksum_rejects_wrong_length_and_non_hex() {
        assert!(Checksum::new(Algo::Sha256, "abcd").is_none());
        assert!(Checksum::new(Algo::Sha256, &"g".repeat(64)).is_none());
        assert_eq!(Checksum::new(Algo::Sha256, &"AB".repeat(32)).map(|c| c.hex), Some("ab".repeat(32)));
        assert_eq!(Algo::from_name("sha1"), None);
        assert_eq!(Algo::from_name("SHA512"), Some(Algo::Sha512));
    }

    #[test]
    fn hashing_reader_counts_and_hashes() {
        let mut r = HashingReader::new(&b"hello"[..], Some(Algo::Sha256));
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        let (hex, n) = r.finish();
        assert_eq!(n, 5);
        assert_eq!(hex.as_deref(), Some("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"));
    }
}
