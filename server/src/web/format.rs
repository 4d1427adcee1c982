//! How values read on a page: times relative to now (the absolute time on hover), links
//! to filtered lists.

use serde::Serialize;

/// A moment as a page shows it: "3 h ago", with the RFC 3339 time for `<time>` and hover.
#[derive(Debug, Clone, Serialize)]
pub struct When {
    pub ago: String,
    pub iso: String,
}

pub fn when(ms: Option<i64>, now_ms: i64) -> When {
    let Some(ms) = ms else { return When { ago: "never".to_owned(), iso: String::new() } };
    When { ago: ago(now_ms - ms), iso: crate::store::views::format_time(ms) }
}

fn ago(delta_ms: i64) -> String {
    let s = delta_ms.max(0) / 1000;
    match s {
        0..=59 => "just now".to_owned(),
        60..=3_599 => format!("{} min ago", s / 60),
        3_600..=86_399 => format!("{} h ago", s / 3_600),
        _ => format!("{} d ago", s / 86_400),
    }
}

/// A filter field a form has no input for (it came from a link), kept when it is submitted.
#[derive(Debug, Clone, Serialize)]
pub struct Hidden {
    pub name: &'static str,
    pub value: String,
}

/// The pairs whose keys are not in `shown`, as hidden fields.
pub fn hidden(pairs: &[(&'static str, String)], shown: &[&str]) -> Vec<Hidden> {
    pairs.iter().filter(|(k, _)| !shown.contains(k)).map(|(k, v)| Hidden { name: k, value: v.clone() }).collect()
}

/// A filter form's "any / yes / no" select for an optional flag.
#[derive(Debug, Clone, Serialize)]
pub struct FlagSelect {
    pub name: &'static str,
    pub label: &'static str,
    pub yes: bool,
    pub no: bool,
}

pub fn flag_select(name: &'static str, label: &'static str, value: Option<bool>) -> FlagSelect {
    FlagSelect { name, label, yes: value == Some(true), no: value == Some(false) }
}

/// `path?k=v&…`, values percent-encoded.
pub fn link(path: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    format!("{path}?{}", query.join("&"))
}

fn encode(v: &str) -> String {
    percent_encode(v, |b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Percent-encodes every byte `keep` does not keep.
pub fn percent_encode(v: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_relative_and_links_are_encoded() {
        assert_eq!(when(Some(1_000), 1_000 + 7_200_000).ago, "2 h ago");
        assert_eq!(when(Some(0), 3 * 86_400_000).ago, "3 d ago");
        assert_eq!(when(None, 5).ago, "never");
        assert_eq!(link("/hosts", &[("tag", "a b&c".into())]), "/hosts?tag=a%20b%26c");
    }
}
