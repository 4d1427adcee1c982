//! deb822 paragraphs (apt `.sources` files, apt preferences), parsed by lines.

/// One paragraph: its fields in file order, values with continuation lines joined by '\n'.
#[derive(Debug, Default)]
pub(crate) struct Paragraph {
    fields: Vec<(String, String)>,
}

impl Paragraph {
    /// The value of a field, matched case-insensitively as deb822 wants.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Splits text into paragraphs. Lines starting with '#' are comments; a blank (or
/// whitespace-only) line ends a paragraph; a line starting with space or tab continues the
/// previous field (" ." stands for an empty line); a line without ':' is ignored.
pub(crate) fn paragraphs(text: &str) -> Vec<Paragraph> {
    let mut out = Vec::new();
    let mut current = Paragraph::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.fields.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else if line.starts_with('#') {
            continue;
        } else if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.fields.last_mut() {
                let more = line.trim();
                value.push('\n');
                if more != "." {
                    value.push_str(more);
                }
            }
        } else if let Some((name, value)) = line.split_once(':') {
            current.fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    if !current.fields.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paragraphs_fields_comments_and_continuations() {
        let text = "# head comment\nTypes: deb\nURIs: http://a/\n  http://b/\n# inside\nsuites: x\n\n \t\nTypes: deb-src\nSigned-By:\n -----BEGIN\n .\n end\nnot a field\n";
        let ps = paragraphs(text);
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[0].get("uris"), Some("http://a/\nhttp://b/"));
        assert_eq!(ps[0].get("Suites"), Some("x"));
        assert_eq!(ps[1].get("Types"), Some("deb-src"));
        assert_eq!(ps[1].get("signed-by"), Some("\n-----BEGIN\n\nend"));
        assert_eq!(ps[1].get("Components"), None);
        assert!(paragraphs("").is_empty());
        assert!(paragraphs("  continuation without field\n\n").is_empty());
    }
}
