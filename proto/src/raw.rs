//! A `Report` as it arrived: its bytes, decoded only when needed.
//!
//! Most reports repeat the host's previous state. `peek` walks the top-level fields without
//! decoding the packages and hashes the ones that make up the host's state, so the server can
//! recognise an unchanged report by one digest comparison.

use bytes::{Buf, Bytes};
use prost::Message;
use prost::encoding::{WireType, decode_key, decode_varint};
use xxhash_rust::xxh3::Xxh3;

use crate::{Report, ReportDigest};

/// The encoded bytes of one `Report`.
#[derive(Debug, Clone, Default)]
pub struct RawReport {
    pub bytes: Bytes,
}

/// What the server needs to know before deciding whether to decode the whole report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPeek {
    pub report_id: String,
    pub generated_at_ms: i64,
    /// The `Trigger` number as sent.
    pub trigger: i32,
    /// `host.hostname` as sent (not normalised).
    pub hostname: String,
    /// Whether the report carries transaction records.
    pub has_transactions: bool,
    /// xxh3-128 of the fields that describe the host's state (host, os, kernel, arch,
    /// packages, repos, modules, reboot, tags, client_version), in the order they came.
    pub state_digest: [u8; 16],
}

/// Field numbers of `Report` that are host state (see report.proto).
const STATE_FIELDS: [u32; 10] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 14];

impl RawReport {
    pub fn decode(&self) -> Result<Report, prost::DecodeError> {
        Report::decode(self.bytes.clone())
    }

    /// Reads the top-level fields; `None` when the bytes are not a well-formed message (the
    /// caller then decodes it and reports the error).
    ///
    /// The digest is xxh3-128 over each state field as (field number as 4 little-endian
    /// bytes, the field's bytes as sent); the fields are read as slices of the message and
    /// hashed in large pieces, since a report has a thousand small package fields.
    pub fn peek(&self) -> Option<ReportPeek> {
        let all: &[u8] = &self.bytes;
        let mut buf = all;
        let mut peek = ReportPeek {
            report_id: String::new(),
            generated_at_ms: 0,
            trigger: 0,
            hostname: String::new(),
            has_transactions: false,
            state_digest: [0; 16],
        };
        let mut hasher = Xxh3::new();
        let mut pending: Vec<u8> = Vec::with_capacity(all.len().min(HASH_PIECE) + 4096);
        while buf.has_remaining() {
            let start = all.len() - buf.len();
            let (tag, wire) = decode_key(&mut buf).ok()?;
            match wire {
                WireType::Varint => {
                    let v = decode_varint(&mut buf).ok()?;
                    match tag {
                        2 => peek.generated_at_ms = v as i64,
                        12 => peek.trigger = v as i32,
                        _ => {}
                    }
                }
                WireType::LengthDelimited => {
                    let len = decode_varint(&mut buf).ok()? as usize;
                    let value = buf.get(..len)?;
                    buf = &buf[len..];
                    match tag {
                        1 => peek.report_id = String::from_utf8(value.to_vec()).ok()?,
                        3 => peek.hostname = host_name(value)?,
                        13 => peek.has_transactions = true,
                        _ => {}
                    }
                }
                WireType::SixtyFourBit if buf.remaining() >= 8 => buf.advance(8),
                WireType::ThirtyTwoBit if buf.remaining() >= 4 => buf.advance(4),
                _ => return None,
            }
            if STATE_FIELDS.contains(&tag) {
                let end = all.len() - buf.len();
                pending.extend_from_slice(&tag.to_le_bytes());
                pending.extend_from_slice(&all[start..end]);
                if pending.len() >= HASH_PIECE {
                    hasher.update(&pending);
                    pending.clear();
                }
            }
        }
        hasher.update(&pending);
        peek.state_digest = hasher.digest128().to_le_bytes();
        Some(peek)
    }
}

impl Report {
    /// What `SubmitDigest` sends instead of this report: its header and the digest the
    /// server keeps of its state, computed by the same `peek` over the same encoding.
    pub fn to_digest(&self) -> ReportDigest {
        let raw = RawReport { bytes: Bytes::from(self.encode_to_vec()) };
        // A message prost just encoded is always well formed.
        let state_digest = raw.peek().map_or([0; 16], |p| p.state_digest);
        ReportDigest {
            report_id: self.report_id.clone(),
            generated_at_ms: self.generated_at_ms,
            host: self.host.clone(),
            trigger: self.trigger,
            state_digest: state_digest.to_vec(),
        }
    }
}

/// Bytes gathered before they are hashed (a streaming hash: the pieces do not matter).
const HASH_PIECE: usize = 64 * 1024;

/// `Host.hostname` (field 1) from an encoded `Host`.
fn host_name(mut buf: &[u8]) -> Option<String> {
    let mut name = String::new();
    while buf.has_remaining() {
        let (tag, wire) = decode_key(&mut buf).ok()?;
        if wire != WireType::LengthDelimited {
            return None;
        }
        let len = decode_varint(&mut buf).ok()? as usize;
        let value = buf.get(..len)?;
        buf = &buf[len..];
        if tag == 1 {
            name = String::from_utf8(value.to_vec()).ok()?;
        }
    }
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Host, Package, Report, Transaction};

    fn report() -> Report {
        Report {
            report_id: "r1".into(),
            generated_at_ms: 1_700_000_000_123,
            host: Some(Host { hostname: "web01.example.org".into(), machine_id: String::new() }),
            kernel: "6.1.0".into(),
            packages: vec![Package { name: "bash".into(), version: "5.2".into(), ..Default::default() }],
            ..Default::default()
        }
    }

    fn peek(r: &Report) -> ReportPeek {
        RawReport { bytes: r.encode_to_vec().into() }.peek().expect("well formed")
    }

    #[test]
    fn peek_reads_identity_and_hashes_only_state() {
        let a = peek(&report());
        assert_eq!(
            (a.report_id.as_str(), a.generated_at_ms, a.hostname.as_str()),
            ("r1", 1_700_000_000_123, "web01.example.org")
        );
        assert!(!a.has_transactions);

        let mut other_id = report();
        other_id.report_id = "r2".into();
        other_id.generated_at_ms += 1;
        other_id.trigger = 1;
        assert_eq!(peek(&other_id).state_digest, a.state_digest, "id, time and trigger are not state");

        let mut other_pkg = report();
        other_pkg.packages[0].version = "5.3".into();
        assert_ne!(peek(&other_pkg).state_digest, a.state_digest);

        let mut with_tx = report();
        with_tx.transactions.push(Transaction { transaction_id: "t".into(), ..Default::default() });
        assert!(peek(&with_tx).has_transactions);
        assert_eq!(peek(&with_tx).state_digest, a.state_digest);
    }

    /// The digest's definition, spelled out: each state field's number and bytes, in order,
    /// through one xxh3-128. Stored digests depend on it staying so.
    #[test]
    fn the_state_digest_is_xxh3_over_numbered_state_fields() {
        let mut r = report();
        r.packages =
            (0..3000).map(|i| Package { name: format!("p{i}"), version: "1".into(), ..Default::default() }).collect();
        r.tags = vec!["web".into()];
        let mut expected = Vec::new();
        let put = |expected: &mut Vec<u8>, tag: u32, field: Vec<u8>| {
            expected.extend_from_slice(&tag.to_le_bytes());
            expected.extend_from_slice(&field);
        };
        let field = |tag: u32, m: &dyn Fn(&mut Vec<u8>)| {
            let mut v = Vec::new();
            prost::encoding::encode_key(tag, WireType::LengthDelimited, &mut v);
            let mut body = Vec::new();
            m(&mut body);
            prost::encoding::encode_varint(body.len() as u64, &mut v);
            v.extend_from_slice(&body);
            v
        };
        put(&mut expected, 3, field(3, &|b| r.host.as_ref().unwrap().encode_raw(b)));
        put(&mut expected, 5, field(5, &|b| b.extend_from_slice(r.kernel.as_bytes())));
        for p in &r.packages {
            put(&mut expected, 7, field(7, &|b| p.encode_raw(b)));
        }
        put(&mut expected, 11, field(11, &|b| b.extend_from_slice(b"web")));
        let want = xxhash_rust::xxh3::xxh3_128(&expected).to_le_bytes();
        assert_eq!(peek(&r).state_digest, want);
    }

    #[test]
    fn a_reports_digest_is_the_digest_its_encoding_peeks_to() {
        let mut r = report();
        r.trigger = 3;
        let d = r.to_digest();
        assert_eq!(d.state_digest, peek(&r).state_digest.to_vec());
        assert_eq!((d.report_id.as_str(), d.generated_at_ms, d.trigger), ("r1", 1_700_000_000_123, 3));
        assert_eq!(d.host.unwrap().hostname, "web01.example.org");
        let mut other = report();
        other.kernel = "6.1.1".into();
        assert_ne!(other.to_digest().state_digest, r.to_digest().state_digest);
    }

    #[test]
    fn garbage_is_not_peekable() {
        for bytes in [&[0x0a, 0xff, 0xff, 0xff, 0x0f, 1][..], &[0x0b], &[0x1a, 0x05, 0x0a]] {
            assert_eq!(RawReport { bytes: Bytes::copy_from_slice(bytes) }.peek(), None, "{bytes:?}");
        }
    }
}
