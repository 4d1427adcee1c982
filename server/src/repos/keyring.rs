//! OpenPGP keyrings and the verification of apt's InRelease (cleartext-signed) and Release.gpg
//! (detached) signatures, with rpgp.
//!
//! The rule is apt's: at least one signature must verify with a usable key of the keyring, and
//! a signature by a keyring key that does not verify fails the whole file. Signatures by keys
//! the keyring does not hold are ignored.

use std::path::Path;

use pgp::composed::{CleartextSignedMessage, Deserializable, DetachedSignature, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureType};
use pgp::types::{KeyDetails, Timestamp};

use super::RepoError;

/// Trusted public keys, from binary (`.gpg`) or ASCII-armored (`.asc`) keyring files.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("fingerprints", &self.fingerprints()).finish()
    }
}

impl Keyring {
    pub fn from_files(paths: &[&Path]) -> Result<Self, RepoError> {
        let mut keys = Vec::new();
        for path in paths {
            let data =
                std::fs::read(path).map_err(|source| RepoError::ReadFile { path: path.to_path_buf(), source })?;
            keys.extend(parse_keys(&path.display().to_string(), &data)?);
        }
        Ok(Self { keys })
    }

    /// From the bytes of one keyring file; `name` is used in errors.
    pub fn from_bytes(name: &str, data: &[u8]) -> Result<Self, RepoError> {
        Ok(Self { keys: parse_keys(name, data)? })
    }

    /// The primary keys' fingerprints, uppercase hex.
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys.iter().map(|k| format!("{:X}", k.primary_key.fingerprint())).collect()
    }

    /// Verifies a cleartext-signed InRelease; returns the signed text and the fingerprints of
    /// the primary keys whose signatures verified. Only the signed text may be trusted: anything
    /// around it in the file is dropped.
    pub(crate) fn verify_cleartext(&self, url: &str, text: &str) -> Result<(String, Vec<String>), RepoError> {
        let (msg, _headers) = CleartextSignedMessage::from_string(text)
            .map_err(|e| RepoError::SignatureFormat { url: url.to_owned(), reason: e.to_string() })?;
        let signed = msg.signed_text();
        let fprs = self.verify_all(url, msg.signatures().iter(), signed.as_bytes())?;
        Ok((signed.replace("\r\n", "\n"), fprs))
    }

    /// Verifies Release against Release.gpg (one or more detached signatures).
    pub(crate) fn verify_detached(&self, url: &str, data: &[u8], sig: &[u8]) -> Result<Vec<String>, RepoError> {
        let format_err = |reason: String| RepoError::SignatureFormat { url: url.to_owned(), reason };
        let (iter, _) = DetachedSignature::from_reader_many(sig).map_err(|e| format_err(e.to_string()))?;
        let sigs: Vec<Signature> =
            iter.map(|s| s.map(|d| d.signature)).collect::<Result<_, _>>().map_err(|e| format_err(e.to_string()))?;
        self.verify_all(url, sigs.iter(), data)
    }

    fn verify_all<'a>(
        &self,
        url: &str,
        sigs: impl Iterator<Item = &'a Signature>,
        data: &[u8],
    ) -> Result<Vec<String>, RepoError> {
        let mut good = Vec::new();
        let mut others = Vec::new();
        let mut count = 0;
        for sig in sigs {
            count += 1;
            match self.check(sig, data) {
                Verdict::Good(fpr) => {
                    if !good.contains(&fpr) {
                        good.push(fpr);
                    }
                }
                Verdict::Bad { key, reason } => {
                    return Err(RepoError::BadSignature { url: url.to_owned(), key, reason });
                }
                Verdict::Unusable(why) | Verdict::Unknown(why) => others.push(why),
            }
        }
        if count == 0 {
            return Err(RepoError::Unsigned { url: url.to_owned() });
        }
        if good.is_empty() {
            return Err(RepoError::UnknownKey { url: url.to_owned(), issuers: others.join(", ") });
        }
        Ok(good)
    }

    fn check(&self, sig: &Signature, data: &[u8]) -> Verdict {
        let now = Timestamp::now();
        // Like apt, a signature over a weak digest counts for nothing (neither good nor bad).
        let weak = match sig.hash_alg() {
            Some(alg @ (HashAlgorithm::Md5 | HashAlgorithm::Sha1 | HashAlgorithm::Ripemd160)) => Some(alg),
            _ => None,
        };
        for key in &self.keys {
            let primary_fpr = format!("{:X}", key.primary_key.fingerprint());
            let verdict = |ok: pgp::errors::Result<()>, id: String| match ok {
                _ if weak.is_some() => {
                    Verdict::Unusable(format!("{id} (weak digest {})", weak.map(|a| a.to_string()).unwrap_or_default()))
                }
                Ok(()) => Verdict::Good(primary_fpr.clone()),
                Err(e) => Verdict::Bad { key: id, reason: e.to_string() },
            };
            if issued_by(sig, &key.primary_key) {
                let id = primary_fpr.clone();
                if let Some(why) = primary_unusable(key, now) {
                    return Verdict::Unusable(format!("{id} ({why})"));
                }
                return verdict(sig.verify(&key.primary_key, data), id);
            }
            for sub in &key.public_subkeys {
                if !issued_by(sig, &sub.key) {
                    continue;
                }
                let id = format!("{:X}", sub.key.fingerprint());
                if let Some(why) = primary_unusable(key, now).or_else(|| subkey_unusable(key, sub, now)) {
                    return Verdict::Unusable(format!("{id} ({why})"));
                }
                return verdict(sig.verify(&sub.key, data), id);
            }
        }
        let issuer = sig
            .issuer_fingerprint()
            .first()
            .map(|f| format!("{f:X}"))
            .or_else(|| sig.issuer_key_id().first().map(|k| format!("{k:?}")))
            .unwrap_or_else(|| "an unnamed key".into());
        Verdict::Unknown(issuer)
    }
}

enum Verdict {
    Good(String),
    Bad { key: String, reason: String },
    Unusable(String),
    Unknown(String),
}

fn issued_by(sig: &Signature, key: &impl KeyDetails) -> bool {
    let fpr = key.fingerprint();
    let id = key.legacy_key_id();
    sig.issuer_fingerprint().iter().any(|f| **f == fpr) || sig.issuer_key_id().iter().any(|k| **k == id)
}

/// Revoked, or expired according to its newest self-signature.
fn primary_unusable(key: &SignedPublicKey, now: Timestamp) -> Option<&'static str> {
    if !key.details.revocation_signatures.is_empty() {
        return Some("revoked");
    }
    let self_sigs = key.details.users.iter().flat_map(|u| u.signatures.iter()).chain(&key.details.direct_signatures);
    let newest =
        self_sigs.filter(|s| issued_by(s, &key.primary_key)).max_by_key(|s| s.created().map(Timestamp::as_secs));
    expired(key.primary_key.created_at(), newest, now).then_some("expired")
}

fn subkey_unusable(
    key: &SignedPublicKey,
    sub: &pgp::composed::SignedPublicSubKey,
    now: Timestamp,
) -> Option<&'static str> {
    if sub.signatures.iter().any(|s| s.typ() == Some(SignatureType::SubkeyRevocation)) {
        return Some("revoked");
    }
    if sub.verify_bindings(&key.primary_key).is_err() {
        return Some("invalid binding signature");
    }
    let newest = sub
        .signatures
        .iter()
        .filter(|s| s.typ() == Some(SignatureType::SubkeyBinding))
        .max_by_key(|s| s.created().map(Timestamp::as_secs));
    if !newest.is_some_and(|s| s.key_flags().sign()) {
        return Some("not a signing key");
    }
    expired(sub.key.created_at(), newest, now).then_some("expired")
}

fn expired(created: Timestamp, newest_self_sig: Option<&Signature>, now: Timestamp) -> bool {
    let Some(validity) = newest_self_sig.and_then(Signature::key_expiration_time) else {
        return false;
    };
    let secs = u64::from(validity.as_secs());
    secs != 0 && u64::from(created.as_secs()) + secs < u64::from(now.as_secs())
}

/// The keys in one file: binary packets, or one or more armored blocks.
fn parse_keys(name: &str, data: &[u8]) -> Result<Vec<SignedPublicKey>, RepoError> {
    let bad = |reason: String| RepoError::Keyring { path: name.to_owned(), reason };
    const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
    let blocks: Vec<&[u8]> = match std::str::from_utf8(data) {
        Ok(text) if text.contains(BEGIN) => text.match_indices(BEGIN).map(|(i, _)| &data[i..]).collect::<Vec<_>>(),
        _ => vec![data],
    };
    let mut keys = Vec::new();
    let mut errors = Vec::new();
    for block in blocks {
        let (iter, _) = SignedPublicKey::from_reader_many(block).map_err(|e| bad(e.to_string()))?;
        for key in iter {
            match key {
                Ok(k) => keys.push(k),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    if keys.is_empty() {
        let why = errors.first().cloned().unwrap_or_else(|| "no public keys found".into());
        return Err(bad(why));
    }
    if !errors.is_empty() {
        tracing::warn!(keyring = name, skipped = errors.len(), first = %errors[0], "skipped unreadable keys");
    }
    Ok(keys)
}

/// The text of an InRelease without checking its signature (no keyring configured). A file
/// that is not cleartext-signed at all is taken as a plain Release.
pub(crate) fn unverified_text(url: &str, text: &str) -> Result<String, RepoError> {
    if !text.trim_start().starts_with("-----BEGIN PGP SIGNED MESSAGE-----") {
        return Ok(text.to_owned());
    }
    let (msg, _) = CleartextSignedMessage::from_string(text)
        .map_err(|e| RepoError::SignatureFormat { url: url.to_owned(), reason: e.to_string() })?;
    Ok(msg.signed_text().replace("\r\n", "\n"))
}
