//! yum mirror lists and metalinks: from the one URL a host reports to the baseurls behind it.

use quick_xml::events::Event;

use super::yum::xml::{XmlReader, attr, local, push_text};
use super::{Fetcher, RepoError};

/// The http(s)/ftp URLs of a yum mirrorlist, in order, without a trailing
/// `/repodata/repomd.xml`, duplicates dropped, at most `cap`.
pub async fn expand_mirrorlist(f: &Fetcher, url: &str, cap: usize) -> Result<Vec<String>, RepoError> {
    let body = f.get_small(url, None).await?.body;
    let text = String::from_utf8_lossy(&body);
    let urls = parse_mirrorlist(&text, cap);
    if urls.is_empty() {
        return Err(RepoError::Mirrorlist { url: url.to_owned(), reason: "no http, https or ftp URL in it".into() });
    }
    Ok(urls)
}

/// The http(s) baseurls of a metalink (v3 as Fedora serves, or v4), most preferred first,
/// at most `cap`.
pub async fn expand_metalink(f: &Fetcher, url: &str, cap: usize) -> Result<Vec<String>, RepoError> {
    let body = f.get_small(url, None).await?.body;
    let urls = parse_metalink(url, &body, cap)?;
    if urls.is_empty() {
        return Err(RepoError::Metalink { url: url.to_owned(), reason: "no http or https URL in it".into() });
    }
    Ok(urls)
}

pub(crate) fn parse_mirrorlist(text: &str, cap: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim) {
        if out.len() >= cap {
            break;
        }
        let scheme_ok = ["http://", "https://", "ftp://"].iter().any(|s| line.starts_with(s));
        if !scheme_ok || line.contains(char::is_whitespace) {
            continue;
        }
        let base = baseurl(line);
        if !out.contains(&base) {
            out.push(base);
        }
    }
    out
}

fn baseurl(url: &str) -> String {
    let url = url.trim_end_matches('/');
    url.strip_suffix("/repodata/repomd.xml").unwrap_or(url).trim_end_matches('/').to_owned()
}

pub(crate) fn parse_metalink(url: &str, body: &[u8], cap: usize) -> Result<Vec<String>, RepoError> {
    let bad = |e: RepoError| match e {
        RepoError::Xml { reason, .. } => RepoError::Metalink { url: url.to_owned(), reason },
        other => other,
    };
    let mut x = XmlReader::new(url, body);
    // (rank: higher first, position, url)
    let mut found: Vec<(i64, usize, String)> = Vec::new();
    let mut current: Option<(i64, bool)> = None;
    let mut text = String::new();
    loop {
        let ev = x.next().map_err(bad)?;
        match &ev {
            Event::Start(e) if local(e) == "url" => {
                let protocol = attr(url, e, "protocol").map_err(bad)?;
                let preference = attr(url, e, "preference").map_err(bad)?.and_then(|p| p.trim().parse::<i64>().ok());
                let priority = attr(url, e, "priority").map_err(bad)?.and_then(|p| p.trim().parse::<i64>().ok());
                let rank = preference.or(priority.map(|p| -p)).unwrap_or(0);
                let web = protocol.is_none_or(|p| p.eq_ignore_ascii_case("http") || p.eq_ignore_ascii_case("https"));
                current = Some((rank, web));
                text.clear();
            }
            Event::End(e) if e.local_name().as_ref() == "url" => {
                if let Some((rank, true)) = current.take() {
                    let u = text.trim();
                    if (u.starts_with("http://") || u.starts_with("https://")) && !u.contains(char::is_whitespace) {
                        let n = found.len();
                        found.push((rank, n, baseurl(u)));
                    }
                }
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if current.is_some() => {
                push_text(url, &ev, &mut text).map_err(bad)?;
            }
            Event::Eof => break,
            _ => {}
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<String> = Vec::new();
    for (_, _, u) in found {
        if out.len() >= cap {
            break;
        }
        if !out.contains(&u) {
            out.push(u);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrorlist_lines() {
        let text = "# comment\nhttp://a.example/centos/7/os/x86_64/\n\nhttps://b.example/os/repodata/repomd.xml\n\
ftp://c.example/os\nrsync://d.example/os\nnot a url\nhttp://a.example/centos/7/os/x86_64\nhttp://e.example/x\n";
        assert_eq!(
            parse_mirrorlist(text, 10),
            ["http://a.example/centos/7/os/x86_64", "https://b.example/os", "ftp://c.example/os", "http://e.example/x"]
        );
        assert_eq!(parse_mirrorlist(text, 2).len(), 2);
        assert!(parse_mirrorlist("<html>error</html>", 5).is_empty());
    }

    #[test]
    fn metalink_v4_priorities() {
        let body = r#"<?xml version="1.0"?><metalink xmlns="urn:ietf:params:xml:ns:metalink"><file name="repomd.xml">
<url priority="2">https://two.example/repo/repodata/repomd.xml</url>
<url priority="1">https://one.example/repo/repodata/repomd.xml</url>
<url priority="3">ftp://three.example/repo/repodata/repomd.xml</url></file></metalink>"#;
        assert_eq!(
            parse_metalink("u", body.as_bytes(), 5).unwrap(),
            ["https://one.example/repo", "https://two.example/repo"]
        );
    }

    #[test]
    fn metalink_errors_name_the_url() {
        let bomb = parse_metalink("http://m/metalink", b"<!DOCTYPE m [<!ENTITY a 'b'>]><metalink/>", 5)
            .unwrap_err()
            .to_string();
        assert!(bomb.contains("http://m/metalink") && bomb.contains("DOCTYPE"), "{bomb}");
    }
}
