//! primary.xml: each `package[@type=rpm]`'s name, arch and version@epoch/ver/rel, streamed.
//! Source packages (arch src/nosrc) are skipped: hosts install binaries.

use std::io::BufRead;

use quick_xml::events::{BytesStart, Event};

use super::xml::{XmlReader, attr, local, push_text, xml_err};
use crate::report::{Package, PackageKind};
use crate::repos::RepoError;

#[derive(Default)]
struct Building {
    name: String,
    arch: String,
    evr: Option<(u32, String, String)>,
    rpm: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Capture {
    None,
    Name,
    Arch,
}

pub(crate) fn parse_primary(url: &str, r: &mut dyn BufRead) -> Result<Vec<Package>, RepoError> {
    let mut x = XmlReader::new(url, r);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut package_depth: Option<usize> = None;
    let mut cur = Building::default();
    let mut capture = Capture::None;
    let mut declared: Option<u64> = None;
    let mut seen: u64 = 0;
    loop {
        let ev = x.next()?;
        match &ev {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = local(e);
                match package_depth {
                    None if name == "metadata" && depth == 0 => {
                        declared = attr(url, e, "packages")?.and_then(|n| n.parse().ok());
                    }
                    None if name == "package" => {
                        seen += 1;
                        cur = Building { rpm: attr(url, e, "type")?.is_none_or(|t| t == "rpm"), ..Building::default() };
                        if empty {
                            return Err(xml_err(url, format!("package {seen}: empty element")));
                        }
                        package_depth = Some(depth);
                    }
                    Some(pd) if depth == pd + 1 => match name.as_str() {
                        "name" => capture = Capture::Name,
                        "arch" => capture = Capture::Arch,
                        "version" => cur.evr = Some(version(url, e, seen)?),
                        _ => {}
                    },
                    _ => {}
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::End(_) => {
                depth = depth.checked_sub(1).ok_or_else(|| xml_err(url, "unbalanced end tag"))?;
                capture = Capture::None;
                if package_depth == Some(depth) {
                    package_depth = None;
                    let done = std::mem::take(&mut cur);
                    if done.rpm {
                        finish(url, seen, done, &mut out)?;
                    }
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => match capture {
                Capture::Name => push_text(url, &ev, &mut cur.name)?,
                Capture::Arch => push_text(url, &ev, &mut cur.arch)?,
                Capture::None => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(xml_err(url, "unexpected end of file (truncated?)"));
    }
    if let Some(n) = declared.filter(|&n| n != seen) {
        return Err(xml_err(url, format!("metadata declares {n} packages but lists {seen}")));
    }
    Ok(out)
}

fn version(url: &str, e: &BytesStart<'_>, n: u64) -> Result<(u32, String, String), RepoError> {
    let bad = |reason: String| RepoError::Xml { url: url.to_owned(), reason: format!("package {n}: {reason}") };
    let epoch = match attr(url, e, "epoch")?.as_deref().map(str::trim) {
        None | Some("") => 0,
        Some(s) => s.parse().map_err(|_| bad(format!("invalid epoch {s:?}")))?,
    };
    let ver = attr(url, e, "ver")?.unwrap_or_default();
    let rel = attr(url, e, "rel")?.unwrap_or_default();
    Ok((epoch, ver, rel))
}

fn finish(url: &str, n: u64, b: Building, out: &mut Vec<Package>) -> Result<(), RepoError> {
    let bad = |reason: &str| RepoError::Xml { url: url.to_owned(), reason: format!("package {n}: {reason}") };
    let name = b.name.trim();
    let arch = b.arch.trim();
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(bad("missing or invalid name"));
    }
    if arch.is_empty() || arch.contains(char::is_whitespace) {
        return Err(bad("missing or invalid arch"));
    }
    let Some((epoch, version, release)) = b.evr.filter(|(_, v, _)| !v.is_empty()) else {
        return Err(bad("missing version"));
    };
    if arch == "src" || arch == "nosrc" {
        return Ok(());
    }
    out.push(Package { kind: PackageKind::Rpm, name: name.to_owned(), epoch, version, release, arch: arch.to_owned() });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">
<package type="rpm">
  <name>bash</name>
  <arch>x86_64</arch>
  <version epoch="0" ver="5.1.8" rel="9.el9"/>
  <summary>The GNU Bourne Again shell &amp; more</summary>
  <format><rpm:provides><rpm:entry name="sh" flags="EQ" epoch="0" ver="5.1.8"/></rpm:provides></format>
</package>
<package type="rpm"><name>bash</name><arch>src</arch><version epoch="0" ver="5.1.8" rel="9.el9"/></package>
<package type="rpm"><name>a&amp;b</name><arch><![CDATA[noarch]]></arch><version epoch="2" ver="1.0" rel="1"/></package>
</metadata>"#;

    fn parse(text: &str) -> Result<Vec<Package>, RepoError> {
        parse_primary("http://m/primary.xml", &mut text.as_bytes())
    }

    #[test]
    fn binary_packages_with_entities_and_cdata() {
        let got: Vec<String> = parse(PRIMARY)
            .unwrap()
            .iter()
            .map(|p| format!("{} {} {}.{}", p.name, p.evr(), p.arch, p.kind.as_str()))
            .collect();
        assert_eq!(got, ["bash 5.1.8-9.el9 x86_64.rpm", "a&b 2:1.0-1 noarch.rpm"]);
    }

    #[track_caller]
    fn rejects(text: &str, needle: &str) {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("http://m/primary.xml"), "{err}");
    }

    #[test]
    fn broken_primaries_are_errors() {
        rejects(&PRIMARY[..PRIMARY.rfind("</package>").unwrap()], "truncated");
        rejects(&PRIMARY[..PRIMARY.len() - 5], "invalid xml");
        rejects(&PRIMARY.replace("packages=\"3\"", "packages=\"4\""), "declares 4 packages but lists 3");
        rejects("<metadata><package type=\"rpm\"><arch>x</arch><version ver=\"1\"/></package></metadata>", "name");
        rejects("<metadata><package type=\"rpm\"><name>x</name><arch>x</arch></package></metadata>", "missing version");
        rejects(
            "<metadata><package><name>x</name><arch>x</arch><version epoch=\"e\" ver=\"1\"/></package></metadata>",
            "epoch",
        );
        rejects("<metadata><package><name>&foo;</name></package></metadata>", "undefined entity");
        rejects("<metadata><package></metadata>", "invalid xml");
    }

    #[test]
    fn billion_laughs_is_refused() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<metadata><package type="rpm"><name>&lol3;</name><arch>x</arch><version ver="1"/></package></metadata>"#;
        rejects(bomb, "DOCTYPE");
    }
}
