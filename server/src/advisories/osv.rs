//! OSV records (https://ossf.github.io/osv-schema/), as the Debian, Ubuntu, AlmaLinux and
//! Rocky Linux security teams publish them: one JSON object per advisory, alone or in a zip
//! archive of many. Only the distributions' ecosystems are kept (`release_of_ecosystem`).

use std::collections::BTreeSet;
use std::io::{Read, Seek};

use serde::Deserialize;

use super::{Advisory, Affected, CveRef, FeedError, Fix, is_cve, normalise_severity, release_of_ecosystem};
use crate::repos::date::parse_yum_date_ms;

#[derive(Deserialize)]
struct Record {
    id: String,
    #[serde(default)]
    modified: String,
    #[serde(default)]
    published: String,
    #[serde(default)]
    withdrawn: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    related: Vec<String>,
    #[serde(default)]
    upstream: Vec<String>,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    details: String,
    #[serde(default)]
    severity: Vec<Severity>,
    #[serde(default)]
    affected: Vec<RecordAffected>,
    #[serde(default)]
    references: Vec<Reference>,
    #[serde(default)]
    database_specific: Option<Specific>,
}

#[derive(Deserialize)]
struct Severity {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    score: String,
}

#[derive(Deserialize)]
struct RecordAffected {
    package: Option<PackageRef>,
    #[serde(default)]
    ranges: Vec<Range>,
    #[serde(default)]
    ecosystem_specific: Option<Specific>,
    #[serde(default)]
    database_specific: Option<Specific>,
}

#[derive(Deserialize)]
struct PackageRef {
    #[serde(default)]
    ecosystem: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Range {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<Event>,
}

#[derive(Deserialize)]
struct Event {
    introduced: Option<String>,
    fixed: Option<String>,
    last_affected: Option<String>,
}

#[derive(Deserialize)]
struct Reference {
    #[serde(default)]
    url: String,
}

/// The free-form parts the distributions fill: Debian's `urgency`, Red Hat clones' `severity`.
#[derive(Deserialize, Default)]
struct Specific {
    #[serde(default)]
    urgency: Option<serde_json::Value>,
    #[serde(default)]
    severity: Option<serde_json::Value>,
}

impl Specific {
    fn severity(&self) -> String {
        [&self.severity, &self.urgency]
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .map(normalise_severity)
            .find(|s| !s.is_empty())
            .unwrap_or_default()
    }
}

/// One OSV record; `Ok(None)` when it names none of the distributions' ecosystems.
pub fn parse_record(bytes: &[u8], what: &str) -> Result<Option<Advisory>, FeedError> {
    let rec: Record = serde_json::from_slice(bytes).map_err(|e| FeedError::format(what, e))?;
    Ok(convert(rec))
}

fn convert(rec: Record) -> Option<Advisory> {
    let mut affected = BTreeSet::new();
    let mut severity = String::new();
    for a in &rec.affected {
        let Some(pkg) = &a.package else { continue };
        let Some((release, kind)) = release_of_ecosystem(&pkg.ecosystem) else { continue };
        if pkg.name.is_empty() {
            continue;
        }
        for specific in [&a.ecosystem_specific, &a.database_specific].into_iter().flatten() {
            let s = specific.severity();
            if !s.is_empty() && (severity.is_empty() || super::severity_rank(&s) < super::severity_rank(&severity)) {
                severity = s;
            }
        }
        affected.insert(Affected { release, kind, package: pkg.name.clone(), fix: fix_of(&a.ranges) });
    }
    if affected.is_empty() {
        return None;
    }
    if severity.is_empty() {
        severity = rec.database_specific.as_ref().map(Specific::severity).unwrap_or_default();
    }
    if severity.is_empty() {
        // AlmaLinux and Rocky Linux: "Moderate: openssl security update".
        severity = rec.summary.split_once(':').map(|(word, _)| normalise_severity(word)).unwrap_or_default();
    }
    if severity.is_empty() {
        // Ubuntu's own priority ("type": "Ubuntu"); CVSS vectors are not scored here.
        severity = rec
            .severity
            .iter()
            .filter(|s| !s.kind.starts_with("CVSS"))
            .map(|s| normalise_severity(&s.score))
            .find(|s| !s.is_empty())
            .unwrap_or_default();
    }
    // Debian lists "DEBIAN-CVE-…" beside the CVE, Ubuntu only "UBUNTU-CVE-…".
    let mut cves: BTreeSet<String> = rec
        .aliases
        .iter()
        .chain(&rec.upstream)
        .chain(&rec.related)
        .map(|s| s.strip_prefix("UBUNTU-").or_else(|| s.strip_prefix("DEBIAN-")).unwrap_or(s))
        .filter(|s| is_cve(s))
        .map(str::to_owned)
        .collect();
    if is_cve(&rec.id) {
        cves.insert(rec.id.clone());
    }
    let summary = if rec.summary.is_empty() { first_line(&rec.details) } else { rec.summary.clone() };
    Some(Advisory {
        kind: "security".to_owned(),
        severity,
        summary,
        issued_ms: parse_time(&rec.published).or_else(|| parse_time(&rec.modified)),
        updated_ms: parse_time(&rec.modified),
        withdrawn_ms: parse_time(&rec.withdrawn),
        cves: cves.into_iter().map(|id| CveRef { id, severity: String::new() }).collect(),
        references: rec.references.into_iter().map(|r| r.url).filter(|u| !u.is_empty()).collect(),
        affected: affected.into_iter().collect(),
        name: rec.id,
    })
}

/// The ECOSYSTEM ranges' verdict: the last `fixed` event, else affected without a fix (an
/// `introduced` or `last_affected` without `fixed`). `fixed: "0"` means not affected.
fn fix_of(ranges: &[Range]) -> Fix {
    let mut fixed = None;
    let mut affected = false;
    for r in ranges.iter().filter(|r| r.kind == "ECOSYSTEM") {
        for e in &r.events {
            if let Some(f) = &e.fixed {
                fixed = Some(f.clone());
            }
            affected |= e.introduced.is_some() || e.last_affected.is_some();
        }
    }
    match fixed {
        Some(f) if f == "0" => Fix::NotAffected,
        Some(f) => Fix::Version(f),
        None if affected => Fix::NoFixYet,
        None => Fix::NotAffected,
    }
}

fn parse_time(s: &str) -> Option<i64> {
    if s.is_empty() { None } else { parse_yum_date_ms(s) }
}

fn first_line(s: &str) -> String {
    let line = s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    line.chars().take(200).collect()
}

/// Every record of a zip archive (the per-ecosystem `all.zip`), refusing an archive whose
/// entries would unpack to more than `limit` bytes in all. A record that does not parse is
/// an error naming it: a feed is taken whole or not at all. Entries are inflated with one
/// decoder and two buffers reused throughout (a decoder per entry, freed between the records
/// kept, fragmented the heap to ten times the records' size), their CRC-32 checked.
pub fn parse_zip<R: Read + Seek>(reader: R, limit: u64, what: &str) -> Result<Vec<Advisory>, FeedError> {
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| FeedError::format(what, e))?;
    let mut out = Vec::new();
    let mut total = 0u64;
    let (mut raw, mut buf) = (Vec::new(), Vec::new());
    let mut inflater = flate2::Decompress::new(false);
    for i in 0..zip.len() {
        let mut entry = zip.by_index_raw(i).map_err(|e| FeedError::format(what, e))?;
        let entry_name = entry.name().map_err(|e| FeedError::format(what, e))?.into_owned();
        if entry.is_dir() || !entry_name.ends_with(".json") {
            continue;
        }
        let name = format!("{what}: {entry_name}");
        let (method, crc) = (entry.compression(), entry.crc32());
        raw.clear();
        entry.read_to_end(&mut raw).map_err(|e| FeedError::format(&name, e))?;
        drop(entry);
        let room = limit.saturating_sub(total);
        let data: &[u8] = match method {
            zip::CompressionMethod::Stored => &raw,
            zip::CompressionMethod::Deflated => {
                inflate(&mut inflater, &raw, &mut buf, room).map_err(|e| match e {
                    Inflate::TooLarge => FeedError::TooLarge { what: what.to_owned(), limit },
                    Inflate::Bad(m) => FeedError::format(&name, m),
                })?;
                &buf
            }
            other => return Err(FeedError::format(&name, format!("compression {other} is not read"))),
        };
        total += data.len() as u64;
        if total > limit {
            return Err(FeedError::TooLarge { what: what.to_owned(), limit });
        }
        let mut check = flate2::Crc::new();
        check.update(data);
        if check.sum() != crc {
            return Err(FeedError::format(&name, "CRC-32 mismatch: the archive is damaged"));
        }
        if let Some(a) = parse_record(data, &name)? {
            out.push(a);
        }
    }
    Ok(out)
}

enum Inflate {
    TooLarge,
    Bad(String),
}

/// Inflates one raw deflate stream into `out` (cleared first), at most `limit` bytes.
fn inflate(d: &mut flate2::Decompress, input: &[u8], out: &mut Vec<u8>, limit: u64) -> Result<(), Inflate> {
    d.reset(false);
    out.clear();
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(16 * 1024));
        }
        let (in_before, out_before) = (d.total_in(), out.len());
        let consumed = usize::try_from(d.total_in()).unwrap_or(usize::MAX).min(input.len());
        let status = d
            .decompress_vec(&input[consumed..], out, flate2::FlushDecompress::Finish)
            .map_err(|e| Inflate::Bad(e.to_string()))?;
        if out.len() as u64 > limit {
            return Err(Inflate::TooLarge);
        }
        if status == flate2::Status::StreamEnd {
            return Ok(());
        }
        if d.total_in() == in_before && out.len() == out_before && out.len() < out.capacity() {
            return Err(Inflate::Bad("the compressed data ends early".to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_record() {
        let json = br#"{"id":"DSA-5532-1","modified":"2023-10-26T08:25:37Z","published":"2023-10-25T00:00:00Z",
            "upstream":["CVE-2023-5363","CVE-2023-5678"],"summary":"openssl - security update",
            "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.11-1~deb12u2"}]}]},
              {"package":{"ecosystem":"Debian:11","name":"openssl"},
              "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]},
              {"package":{"ecosystem":"PyPI","name":"x"}}],
            "references":[{"type":"ADVISORY","url":"https://www.debian.org/security/2023/dsa-5532"}]}"#;
        let a = parse_record(json, "t").unwrap().unwrap();
        assert_eq!(a.name, "DSA-5532-1");
        assert_eq!(a.cves.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["CVE-2023-5363", "CVE-2023-5678"]);
        assert_eq!(a.affected.len(), 2);
        assert_eq!(a.affected[0].release, "Debian 11");
        assert_eq!(a.affected[0].fix, Fix::NoFixYet);
        assert_eq!(a.affected[1].fix, Fix::Version("3.0.11-1~deb12u2".into()));
        assert_eq!(a.issued_ms, Some(1_698_192_000_000));
        assert_eq!(a.references, ["https://www.debian.org/security/2023/dsa-5532"]);
    }

    #[test]
    fn other_ecosystems_and_bad_json() {
        assert!(
            parse_record(br#"{"id":"PYSEC-1","affected":[{"package":{"ecosystem":"PyPI","name":"x"}}]}"#, "t")
                .unwrap()
                .is_none()
        );
        let err = parse_record(br#"{"id": 5}"#, "feed x").unwrap_err().to_string();
        assert!(err.starts_with("feed x: "), "{err}");
    }

    fn archive(records: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        use std::io::Write as _;
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, body) in records {
            zip.start_file(*name, options).unwrap();
            zip.write_all(body).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn archives_stored_deflated_damaged_and_too_large() {
        let dsa = br#"{"id":"DSA-1-1","affected":[{"package":{"ecosystem":"Debian:12","name":"a"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2"}]}]}]}"#;
        for method in [zip::CompressionMethod::Stored, zip::CompressionMethod::Deflated] {
            let zip = archive(&[("DSA-1-1.json", dsa), ("README.txt", b"not a record")], method);
            let got = parse_zip(std::io::Cursor::new(zip.clone()), 1 << 20, "t").unwrap();
            assert_eq!(got.len(), 1, "{method:?}");
            let err = parse_zip(std::io::Cursor::new(zip), 10, "t").unwrap_err().to_string();
            assert!(err.contains("larger than the limit"), "{err}");
        }
        // One byte of the stored record changed: its CRC-32 no longer matches.
        let mut zip = archive(&[("DSA-1-1.json", dsa)], zip::CompressionMethod::Stored);
        let at = zip.windows(8).position(|w| w == b"DSA-1-1\"").unwrap();
        zip[at] = b'X';
        let err = parse_zip(std::io::Cursor::new(zip), 1 << 20, "t").unwrap_err().to_string();
        assert!(err.contains("CRC-32") || err.contains("DSA-1-1.json"), "{err}");
    }
}
