//! `RepoError`: every way fetching, verifying or parsing a mirror's metadata can fail.

use std::path::PathBuf;

/// Why a mirror's refresh failed. Each message names the URL (or file) and what is wrong; the
/// caller keeps the mirror's previous package list and counts a failure.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("invalid http configuration: {0}")]
    Config(String),
    #[error("cannot read {}: {source}", path.display())]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("{url}: request failed: {reason}")]
    Http { url: String, reason: String },
    #[error("{url}: server answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: not found (404)")]
    NotFound { url: String },
    #[error("{url}: larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: u64 },
    #[error("{url}: cannot decompress: {reason}")]
    Decompress { url: String, reason: String },
    #[error("{url}: {algo} checksum mismatch: expected {expected}, got {actual}")]
    ChecksumMismatch { url: String, algo: &'static str, expected: String, actual: String },
    #[error("{url}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch { url: String, expected: u64, actual: u64 },
    #[error("{url}: no acceptable checksum for {file} (sha256 or sha512 needed, {found})")]
    WeakChecksum { url: String, file: String, found: String },
    #[error("{url}: no {what} index listed or served (tried {tried})")]
    NoIndex { url: String, what: String, tried: String },
    #[error("{path}: invalid keyring: {reason}")]
    Keyring { path: String, reason: String },
    #[error("{url}: no keyring is configured for it and [repos] require_signed refuses unverified metadata")]
    NoKeyring { url: String },
    #[error("{url}: unsigned, but a keyring was given")]
    Unsigned { url: String },
    #[error("{url}: bad signature by key {key}: {reason}")]
    BadSignature { url: String, key: String, reason: String },
    #[error("{url}: not signed by any usable key of the keyring (signed by {issuers})")]
    UnknownKey { url: String, issuers: String },
    #[error("{url}: cannot read the signature: {reason}")]
    SignatureFormat { url: String, reason: String },
    #[error("{url}: malformed release file: {reason}")]
    Release { url: String, reason: String },
    #[error("{url}: release is for suite {got:?}, expected {expected:?}")]
    SuiteMismatch { url: String, expected: String, got: String },
    #[error("{url}: stanza {stanza}: {reason}")]
    Stanza { url: String, stanza: u64, reason: String },
    #[error("{url}: invalid xml: {reason}")]
    Xml { url: String, reason: String },
    #[error("{url}: invalid yaml: {reason}")]
    Yaml { url: String, reason: String },
    #[error("{url}: invalid repomd.xml: {reason}")]
    Repomd { url: String, reason: String },
    #[error("{url}: invalid mirror list: {reason}")]
    Mirrorlist { url: String, reason: String },
    #[error("{url}: invalid metalink: {reason}")]
    Metalink { url: String, reason: String },
    #[error("{url}: parser stopped unexpectedly: {reason}")]
    Internal { url: String, reason: String },
}
