//! `patchman vercmp --type deb|rpm`: compare version pairs read from stdin, one `A B` per
//! line; print -1, 0 or 1 per line. For administrators checking a verdict.

use std::cmp::Ordering;
use std::io::{BufRead, Write};

use patchman_engine::vercmp::VersionScheme;

/// Compares every pair; a line that is not two words is an error naming the line.
pub fn run(scheme: VersionScheme, input: impl BufRead, mut out: impl Write) -> anyhow::Result<()> {
    for (n, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(a), Some(b), None) = (words.next(), words.next(), words.next()) else {
            anyhow::bail!("line {}: expected two versions separated by whitespace, got {line:?}", n + 1);
        };
        let answer = match scheme.compare(a, b) {
            Ordering::Less => "-1",
            Ordering::Equal => "0",
            Ordering::Greater => "1",
        };
        writeln!(out, "{answer}")?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_answer_per_pair() {
        let mut out = Vec::new();
        run(VersionScheme::Deb, "1.0~rc1 1.0\n\n1:1 2\n2.4.52-1ubuntu4.12 2.4.52\n".as_bytes(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "-1\n1\n1\n");
        let mut out = Vec::new();
        run(VersionScheme::Rpm, "1.0^git1 1.0\n1.01 1.1\n".as_bytes(), &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "1\n0\n");
        let err = run(VersionScheme::Rpm, "1.0\n".as_bytes(), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }
}
