//! repomd.xml: where each metadata file is, its checksum and its decompressed size.

use quick_xml::events::Event;

use super::xml::{XmlReader, attr, local, push_text};
use crate::repos::RepoError;
use crate::repos::checksum::{Algo, Checksum};

/// One `data` element.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RepoData {
    pub kind: String,
    /// `location@href`, with `location@xml:base` prepended when present.
    pub href: String,
    /// `checksum` of the file as stored, when its type is acceptable.
    pub checksum: Option<Checksum>,
    /// The checksum type when it is not acceptable (md5, sha1).
    pub weak_checksum: Option<String>,
    pub open_size: Option<u64>,
}

pub(crate) fn parse_repomd(url: &str, body: &[u8]) -> Result<Vec<RepoData>, RepoError> {
    let bad = |reason: String| RepoError::Repomd { url: url.to_owned(), reason };
    let mut x = XmlReader::new(url, body);
    let mut out = Vec::new();
    let mut cur: Option<RepoData> = None;
    let mut field: Option<(String, Option<String>)> = None;
    let mut text = String::new();
    let mut depth = 0usize;
    loop {
        let ev = x.next()?;
        match &ev {
            Event::Start(e) | Event::Empty(e) => {
                let name = local(e);
                match (name.as_str(), &mut cur) {
                    ("data", None) => {
                        cur = Some(RepoData { kind: attr(url, e, "type")?.unwrap_or_default(), ..RepoData::default() });
                    }
                    ("location", Some(d)) => {
                        let href = attr(url, e, "href")?.unwrap_or_default();
                        d.href = match attr(url, e, "xml:base")? {
                            Some(base) if !base.is_empty() => crate::repos::join_url(&base, &href),
                            _ => href,
                        };
                    }
                    ("checksum" | "open-size", Some(_)) if matches!(ev, Event::Start(_)) => {
                        field = Some((name.clone(), attr(url, e, "type")?));
                        text.clear();
                    }
                    _ => {}
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                }
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                let name = e.local_name().as_ref().to_owned();
                if let (Some((fname, ftype)), Some(d)) = (field.take(), &mut cur) {
                    let value = text.trim();
                    match fname.as_str() {
                        "checksum" => {
                            let t = ftype.unwrap_or_default();
                            match Algo::from_name(&t) {
                                Some(algo) => {
                                    d.checksum =
                                        Some(Checksum::new(algo, value).ok_or_else(|| {
                                            bad(format!("{}: invalid {t} checksum {value:?}", d.kind))
                                        })?);
                                }
                                None => d.weak_checksum = Some(t),
                            }
                        }
                        _ => {
                            d.open_size = Some(
                                value.parse().map_err(|_| bad(format!("{}: invalid open-size {value:?}", d.kind)))?,
                            );
                        }
                    }
                }
                if name == "data"
                    && let Some(d) = cur.take()
                {
                    if d.href.is_empty() {
                        return Err(bad(format!("data {:?} has no location", d.kind)));
                    }
                    out.push(d);
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if field.is_some() => {
                push_text(url, &ev, &mut text)?
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(bad("unexpected end of file (truncated?)".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPOMD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1714557600</revision>
  <data type="primary">
    <checksum type="sha256">0b5fa1e4bc1b4c0e6b3a9c2c9f3f7bd0b0c6ad9c3e6b1a3c5c1e7f0d6b9a8c7d</checksum>
    <open-checksum type="sha256">1111111111111111111111111111111111111111111111111111111111111111</open-checksum>
    <location href="repodata/0b5f-primary.xml.gz"/>
    <timestamp>1714557600</timestamp>
    <size>1234</size>
    <open-size>5678</open-size>
  </data>
  <data type="updateinfo">
    <checksum type="sha">da39a3ee5e6b4b0d3255bfef95601890afd80709</checksum>
    <location xml:base="http://other.example/repo/" href="repodata/updateinfo.xml.xz"/>
  </data>
</repomd>"#;

    #[test]
    fn data_entries() {
        let got = parse_repomd("u", REPOMD.as_bytes()).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].kind, "primary");
        assert_eq!(got[0].href, "repodata/0b5f-primary.xml.gz");
        assert_eq!(
            got[0].checksum.as_ref().map(|c| (c.algo, c.hex.as_str())),
            Some((Algo::Sha256, "0b5fa1e4bc1b4c0e6b3a9c2c9f3f7bd0b0c6ad9c3e6b1a3c5c1e7f0d6b9a8c7d"))
        );
        assert_eq!(got[0].open_size, Some(5678));
        assert_eq!(got[1].href, "http://other.example/repo/repodata/updateinfo.xml.xz");
        assert_eq!((got[1].checksum.is_none(), got[1].weak_checksum.as_deref()), (true, Some("sha")));
    }

    #[test]
    fn broken_repomds_are_errors() {
        let err = |t: &str| parse_repomd("http://m/repomd.xml", t.as_bytes()).unwrap_err().to_string();
        assert!(
            err("<repomd><data type=\"primary\"><checksum type=\"sha256\">zz</checksum></data></repomd>")
                .contains("invalid sha256")
        );
        assert!(err("<repomd><data type=\"primary\"></data></repomd>").contains("no location"));
        assert!(err("<repomd><data type=\"primary\">").contains("truncated"));
        assert!(err("<!DOCTYPE x [<!ENTITY a \"b\">]><repomd/>").contains("DOCTYPE"));
    }
}
