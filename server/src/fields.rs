//! Rules for the fields every front door shares (the gRPC report and enrollment, and the
//! Patchman-compatible upload): what a host name, machine id, report id or generation time
//! must look like, and the error that names the field that broke one.

/// A field that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

pub type Result<T> = std::result::Result<T, ValidationError>;

pub fn bad(field: impl Into<String>, message: impl Into<String>) -> ValidationError {
    ValidationError { field: field.into(), message: message.into() }
}

/// Limits that keep one report from exhausting the server, whichever door it came in by.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_packages: usize,
}

pub const MAX_REPOS: usize = 2_000;
pub const MAX_MODULES: usize = 2_000;
pub const MAX_TAGS: usize = 64;
pub const MAX_REPORT_ID: usize = 128;
const MAX_URL: usize = 2_048;

/// A host name: 1 to 253 characters of letters, digits, '-', '_' and '.'; lower-cased.
pub fn hostname(raw: &str) -> Result<String> {
    let name = raw.trim().trim_end_matches('.');
    if name.is_empty() {
        return Err(bad("host.hostname", "must not be empty"));
    }
    if name.len() > 253 {
        return Err(bad("host.hostname", "is longer than 253 characters"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(bad(
            "host.hostname",
            format!("contains {c:?}; only letters, digits, '-', '_' and '.' are allowed"),
        ));
    }
    if name.starts_with('.') || name.contains("..") {
        return Err(bad("host.hostname", "has an empty label"));
    }
    Ok(name.to_ascii_lowercase())
}

/// A machine id (`/etc/machine-id`): 32 hexadecimal digits, lower-cased, or empty when the
/// host has none.
pub fn machine_id(raw: &str) -> Result<String> {
    let id = raw.trim().to_ascii_lowercase();
    let well_formed = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !id.is_empty() && !well_formed {
        return Err(bad("host.machine_id", "must be 32 hexadecimal digits or empty"));
    }
    Ok(id)
}

/// The client's id of a report: one word of at most `MAX_REPORT_ID` bytes.
/// A tag, as a report, the CLI or a page gives it: 1 to 64 letters, digits and `-_.:/`.
pub fn tag(field: &str, raw: &str) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 64 {
        return Err(bad(field, "must be 1 to 64 characters"));
    }
    if let Some(c) = t.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/'))) {
        return Err(bad(
            field,
            format!("contains {c:?}; only letters, digits, '-', '_', '.', ':' and '/' are allowed"),
        ));
    }
    Ok(t.to_owned())
}

pub fn report_id(raw: String) -> Result<String> {
    token(named("report_id"), raw, MAX_REPORT_ID)
}

/// When the host generated the report, clamped to `now_ms`: a host whose clock runs ahead
/// must not block every later report.
pub fn generated_at(raw_ms: i64, now_ms: i64) -> Result<i64> {
    if raw_ms <= 0 {
        return Err(bad("generated_at_ms", "must be a positive number of milliseconds since 1970"));
    }
    Ok(raw_ms.min(now_ms))
}

/// A required single word: not empty, no whitespace or control characters. `field` names
/// the field and is only called when there is an error to report.
pub fn token<F: Fn() -> String>(field: F, raw: String, max: usize) -> Result<String> {
    if raw.is_empty() {
        return Err(bad(field(), "must not be empty"));
    }
    optional_token(field, raw, max)
}

/// An optional single word: no whitespace or control characters.
pub fn optional_token<F: Fn() -> String>(field: F, raw: String, max: usize) -> Result<String> {
    if raw.len() > max {
        return Err(bad(field(), format!("is longer than {max} bytes")));
    }
    // ASCII fast path: most values are plain words.
    let clean = if raw.is_ascii() {
        raw.bytes().all(|b| b > b' ' && b != 0x7f)
    } else {
        !raw.chars().any(|c| c.is_whitespace() || c.is_control())
    };
    if !clean {
        let c = raw.chars().find(|c| c.is_whitespace() || c.is_control()).unwrap_or(' ');
        return Err(bad(field(), format!("contains {c:?}; no whitespace or control characters are allowed")));
    }
    Ok(raw)
}

/// Free text on one line: no control characters; trimmed.
pub fn printable(field: &str, raw: String, max: usize) -> Result<String> {
    if raw.len() > max {
        return Err(bad(field, format!("is longer than {max} bytes")));
    }
    if raw.chars().any(char::is_control) {
        return Err(bad(field, "contains control characters"));
    }
    Ok(raw.trim().to_owned())
}

/// An absolute http, https, ftp or file URL without whitespace; a trailing '/' is dropped,
/// and so are credentials (`user:password@`): they are never stored or shown, and the
/// server fetches with those configured for the repository (`[[repos.source]]`).
pub fn url(field: &str, raw: &str) -> Result<String> {
    let u = raw.trim();
    if u.is_empty() {
        return Err(bad(field, "must not be empty"));
    }
    if u.len() > MAX_URL {
        return Err(bad(field, format!("is longer than {MAX_URL} characters")));
    }
    let Some((scheme, rest)) = u.split_once("://").or_else(|| u.split_once(':').filter(|(s, _)| *s == "file")) else {
        return Err(bad(field, format!("{u:?} is not an absolute URL")));
    };
    if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https" | "ftp" | "file") {
        return Err(bad(field, format!("scheme {scheme:?} is not supported (http, https, ftp, file)")));
    }
    if rest.is_empty() || u.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad(field, format!("{u:?} is not a valid URL")));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let u = match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => u.to_owned(),
    };
    Ok(u.trim_end_matches('/').to_owned())
}

/// A constant field name.
pub fn named(name: &'static str) -> impl Fn() -> String {
    move || name.to_owned()
}
