//! The line format of Patchman's protocol 1: single-quoted values separated by blanks,
//! `'bash' '' '5.1.8' '9.el9' 'x86_64' 'rpm'`. A value cannot hold a quote; an empty value is
//! `''`. Anything outside quotes is an error, so a garbage line is never read as a package.

/// The values of one line, or what is wrong with it.
pub fn split(line: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        let Some(body) = rest.strip_prefix('\'') else {
            let word: String = rest.chars().take(20).collect();
            return Err(format!("expected a quoted value, found {word:?}"));
        };
        let Some(end) = body.find('\'') else {
            return Err("a quote is not closed".to_owned());
        };
        out.push(&body[..end]);
        let after = &body[end + 1..];
        if !after.is_empty() && !after.starts_with([' ', '\t']) {
            return Err(format!("values must be separated by blanks after {:?}", &body[..end]));
        }
        rest = after.trim_start();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn values_are_read_between_quotes() {
        assert_eq!(
            split("'bash' '' '5.1.8' '9.el9' 'x86_64' 'rpm'").unwrap(),
            ["bash", "", "5.1.8", "9.el9", "x86_64", "rpm"]
        );
        assert_eq!(
            split("'deb' 'Debian 12 x86_64 repo at http://h/d' '500'  'http://h/d'").unwrap(),
            ["deb", "Debian 12 x86_64 repo at http://h/d", "500", "http://h/d"]
        );
        assert_eq!(split("  ").unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn garbage_is_refused_with_what_was_found() {
        assert_eq!(
            split("this is not a package line").unwrap_err(),
            "expected a quoted value, found \"this is not a packag\""
        );
        assert_eq!(split("'x").unwrap_err(), "a quote is not closed");
        assert_eq!(split("'a''b'").unwrap_err(), "values must be separated by blanks after \"a\"");
        assert!(split("'a' b").is_err());
    }
}
