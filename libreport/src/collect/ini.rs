//! INI files as dnf reads them (`.repo`, `.module`, dnf.conf): `[section]`, `key=value`,
//! continuation lines, `#`/`;` comments.

/// One `[name]` section with its keys (lower-cased) and values in file order.
#[derive(Debug, Default)]
pub(crate) struct Section {
    pub(crate) name: String,
    entries: Vec<(String, String)>,
}

impl Section {
    /// The last value given for `key` (keys are compared case-insensitively).
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().rev().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
}

/// Parses INI text. A key line splits at the first '=' (or ':' when it comes first); a line
/// starting with whitespace continues the previous value (joined with '\n'); comment lines
/// start with '#' or ';'; keys before the first section are dropped.
pub(crate) fn parse_ini(text: &str) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut last_key = false;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() {
            last_key = false;
            continue;
        }
        if line.starts_with(['#', ';']) {
            continue;
        }
        if raw.starts_with([' ', '\t']) && last_key {
            if let Some((_, value)) = sections.last_mut().and_then(|s| s.entries.last_mut()) {
                value.push('\n');
                value.push_str(line);
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let name = rest.split(']').next().unwrap_or("").trim();
            sections.push(Section { name: name.to_owned(), entries: Vec::new() });
            last_key = false;
            continue;
        }
        let split = line.find(['=', ':']);
        last_key = false;
        let (Some(at), Some(section)) = (split, sections.last_mut()) else { continue };
        let key = line[..at].trim();
        if !key.is_empty() {
            section.entries.push((key.to_ascii_lowercase(), line[at + 1..].trim().to_owned()));
            last_key = true;
        }
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_comments_and_continuations() {
        let text = "stray=1\n[main]\n# c\n; c\nreposdir = /a, /b\n[repo-1]\nName=One\nbaseurl=http://a/\n  http://b/\n\tftp://c/\nenabled: 0\nenabled=1\n[ odd \nnokey\n=novalue\n";
        let s = parse_ini(text);
        assert_eq!(s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["main", "repo-1", "odd"]);
        assert_eq!(s[0].get("reposdir"), Some("/a, /b"));
        assert_eq!(s[0].get("stray"), None);
        assert_eq!(s[1].get("name"), Some("One"));
        assert_eq!(s[1].get("baseurl"), Some("http://a/\nhttp://b/\nftp://c/"));
        assert_eq!(s[1].get("enabled"), Some("1"));
        assert_eq!(s[2].get("nokey"), None);
        assert!(parse_ini("").is_empty());
    }
}
