//! The environment rule: `PATCHMAN_` followed by the key's path in upper case, sections
//! joined by `__`. `PATCHMAN_JOBS__LEASE_SECONDS=30` sets `[jobs] lease_seconds = 30`;
//! `PATCHMAN_LISTEN` sets `listen`. Every text key also reads from a file with `_FILE`
//! appended (`PATCHMAN_ENROLLMENT_KEY_FILE=/run/secrets/key`), for secrets. Lists are
//! comma-separated. The names the README documented before this rule keep working.
//!
//! A value is parsed as its key's type, and a variable that does not fit its key fails with
//! the variable's name. A `PATCHMAN_*` variable that names no key is reported as a warning, not
//! an error: the client and the tests share the prefix.

use super::{Config, ConfigError, Origin};

const PREFIX: &str = "PATCHMAN_";

/// `PATCHMAN_*` variables read by something other than the server's configuration.
const NOT_KEYS: &[&str] =
    &["PATCHMAN_LOG", "PATCHMAN_LOG_FORMAT", "PATCHMAN_CONFIG", "PATCHMAN_SERVER", "PATCHMAN_STATE_DIR"];

/// Names outside the rule (from before it, and the short TLS ones), and the key each sets.
const LEGACY: &[(&str, &str)] = &[
    ("PATCHMAN_JOB_LEASE_SECONDS", "jobs.lease_seconds"),
    ("PATCHMAN_PRUNE_INTERVAL_SECONDS", "jobs.prune_interval_seconds"),
    ("PATCHMAN_REPORTS_KEPT_PER_HOST", "jobs.reports_kept_per_host"),
    ("PATCHMAN_TRANSACTIONS_KEPT_DAYS", "jobs.transactions_kept_days"),
    ("PATCHMAN_RECOMPUTE_INTERVAL_SECONDS", "jobs.recompute_interval_seconds"),
    ("PATCHMAN_PROBE_INTERVAL_MS", "jobs.probe_interval_ms"),
    ("PATCHMAN_PROBE_DURATION_MS", "jobs.probe_duration_ms"),
    ("PATCHMAN_REFRESH_INTERVAL_SECONDS", "repos.refresh_interval_seconds"),
    ("PATCHMAN_MAX_MIRROR_FAILURES", "repos.max_mirror_failures"),
    ("PATCHMAN_REPOS_PROXY", "repos.proxy"),
    ("PATCHMAN_REPOS_KEYRINGS", "repos.keyrings"),
    ("PATCHMAN_TLS_CERT", "tls.cert"),
    ("PATCHMAN_TLS_KEY", "tls.key"),
];

/// Text keys without a default, which serializing the defaults does not show.
const OPTIONAL_TEXT: &[&str] =
    &["enrollment_key", "repos.proxy", "api.metrics_token", "tls.cert", "tls.key", "tls.client_ca"];

/// Lists of tables, set in the file only (`[[repos.source]]`, `[[advisories.feed]]`).
const FILE_ONLY: &[&str] = &["repos.source", "advisories.feed"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    Float,
    Boolean,
    List { separator: char },
}

/// One variable that names a key.
struct Setting {
    name: String,
    path: Vec<String>,
    kind: Kind,
    raw: String,
    from_file: bool,
    legacy: bool,
}

/// Applies the environment over `table` (the file's keys) and `config` (its value), one
/// variable at a time so that a failure names its variable. `key_origin` ends naming where
/// the enrollment key came from. Returns warnings.
pub(super) fn overlay(
    table: &mut toml::Table,
    config: &mut Config,
    vars: impl IntoIterator<Item = (String, String)>,
    key_origin: &mut Origin,
) -> Result<Vec<String>, ConfigError> {
    let schema = toml::Table::try_from(Config::default()).expect("the defaults serialize");
    let mut warnings = Vec::new();
    let mut settings = Vec::new();
    for (name, raw) in vars {
        if !name.starts_with(PREFIX) || NOT_KEYS.contains(&name.as_str()) || name.starts_with("PATCHMAN_TEST_") {
            continue;
        }
        match resolve(&schema, &name) {
            Some((path, kind, from_file, legacy)) => {
                settings.push(Setting { name, path, kind, raw, from_file, legacy })
            }
            None => warnings.push(format!(
                "environment variable {name} names no configuration key and is ignored (the rule: \
                 PATCHMAN_SECTION__KEY, e.g. PATCHMAN_JOBS__LEASE_SECONDS)"
            )),
        }
    }
    // Old names first, so the rule's names win; a `_FILE` variable wins over its plain one.
    settings.sort_by(|a, b| (!a.legacy, a.from_file, &a.name).cmp(&(!b.legacy, b.from_file, &b.name)));
    for s in settings {
        let origin = Origin::Env(s.name.clone());
        let invalid = |message: String| ConfigError::Invalid { origin: origin.clone(), message };
        let raw = if s.from_file {
            let text = std::fs::read_to_string(&s.raw).map_err(|e| invalid(format!("cannot read {}: {e}", s.raw)))?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        } else {
            s.raw
        };
        let value = parse(s.kind, &raw).map_err(|m| invalid(format!("{}: {m}", s.path.join("."))))?;
        let mut next = table.clone();
        insert(&mut next, &s.path, value);
        *config = toml::Value::Table(next.clone())
            .try_into()
            .map_err(|e: toml::de::Error| invalid(format!("{}: {}", s.path.join("."), e.message())))?;
        *table = next;
        if s.path == ["enrollment_key"] {
            *key_origin = origin;
        }
    }
    Ok(warnings)
}

/// The key a variable sets, its type, whether the value is a file to read, and whether the
/// name is an old one.
fn resolve(schema: &toml::Table, name: &str) -> Option<(Vec<String>, Kind, bool, bool)> {
    let key = |name: &str| -> Option<(Vec<String>, Kind, bool)> {
        if let Some((_, dotted)) = LEGACY.iter().find(|(old, _)| *old == name) {
            let path: Vec<String> = dotted.split('.').map(str::to_owned).collect();
            let kind = if *dotted == "repos.keyrings" { Kind::List { separator: ':' } } else { kind(schema, &path)? };
            return Some((path, kind, true));
        }
        let path: Vec<String> = name.strip_prefix(PREFIX)?.split("__").map(str::to_ascii_lowercase).collect();
        if path.iter().any(String::is_empty) {
            return None;
        }
        Some((path.clone(), kind(schema, &path)?, false))
    };
    if let Some((path, kind, legacy)) = key(name) {
        return Some((path, kind, false, legacy));
    }
    let (path, kind, legacy) = key(name.strip_suffix("_FILE")?)?;
    (kind == Kind::Text).then_some((path, kind, true, legacy))
}

fn kind(schema: &toml::Table, path: &[String]) -> Option<Kind> {
    let dotted = path.join(".");
    if OPTIONAL_TEXT.contains(&dotted.as_str()) {
        return Some(Kind::Text);
    }
    if FILE_ONLY.contains(&dotted.as_str()) {
        return None;
    }
    let (last, sections) = path.split_last()?;
    let mut table = schema;
    for section in sections {
        table = table.get(section)?.as_table()?;
    }
    match table.get(last)? {
        toml::Value::String(_) => Some(Kind::Text),
        toml::Value::Integer(_) => Some(Kind::Integer),
        toml::Value::Float(_) => Some(Kind::Float),
        toml::Value::Boolean(_) => Some(Kind::Boolean),
        toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => Some(Kind::List { separator: ',' }),
        _ => None,
    }
}

fn parse(kind: Kind, raw: &str) -> Result<toml::Value, String> {
    let trimmed = raw.trim();
    Ok(match kind {
        Kind::Text => toml::Value::String(raw.to_owned()),
        Kind::Integer => toml::Value::Integer(trimmed.parse().map_err(|_| format!("{raw:?} is not a whole number"))?),
        Kind::Float => toml::Value::Float(trimmed.parse().map_err(|_| format!("{raw:?} is not a number"))?),
        Kind::Boolean => toml::Value::Boolean(match trimmed.to_ascii_lowercase().as_str() {
            "true" | "yes" | "on" | "1" => true,
            "false" | "no" | "off" | "0" => false,
            _ => return Err(format!("{raw:?} is not true or false")),
        }),
        Kind::List { separator } => toml::Value::Array(
            raw.split(separator)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
    })
}

fn insert(table: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, sections)) = path.split_last() else { return };
    let mut table = table;
    for section in sections {
        let entry = table.entry(section.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        table = entry.as_table_mut().expect("made a table above");
    }
    table.insert(last.clone(), value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<super::super::Loaded, ConfigError> {
        let vars = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
        Config::from_sources(file.map(|text| ("/etc/patchman/server.toml", text)), vars)
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let file = "listen = \"0.0.0.0:9000\"\nmax_packages = 5\n[jobs]\nlease_seconds = 7";
        let loaded = load(Some(file), &[("PATCHMAN_LISTEN", "127.0.0.1:7000")]).unwrap();
        let c = loaded.config;
        assert_eq!((c.listen.port(), c.max_packages, c.jobs.lease_seconds), (7000, 5, 7));
        assert_eq!(c.database_url, "sqlite://patchman.db");
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }

    /// Every key of every section, set by the rule, reaches the configuration.
    #[test]
    fn every_key_is_reachable_by_the_rule() {
        let schema = toml::Table::try_from(Config::default()).unwrap();
        let mut keys: Vec<Vec<String>> =
            OPTIONAL_TEXT.iter().map(|k| k.split('.').map(str::to_owned).collect()).collect();
        for (k, v) in &schema {
            match v {
                toml::Value::Table(section) => keys.extend(section.keys().map(|s| vec![k.clone(), s.clone()])),
                _ => keys.push(vec![k.clone()]),
            }
        }
        let defaults = toml::Value::try_from(Config::default()).unwrap();
        let mut reached = 0;
        for path in keys {
            let Some(kind) = kind(&schema, &path) else {
                assert!(FILE_ONLY.contains(&path.join(".").as_str()), "only lists of tables are file-only: {path:?}");
                continue;
            };
            let value = match kind {
                Kind::Text if path == ["listen"] => "10.1.2.3:4444",
                Kind::Text if path == ["enrollment_key"] => "sixteen-characters-or-more",
                Kind::Text => "other-text",
                Kind::Integer => "4242",
                Kind::Float => "0.5",
                Kind::Boolean => "true",
                Kind::List { .. } => "/a,/b",
            };
            let name = format!("PATCHMAN_{}", path.join("__").to_ascii_uppercase());
            let loaded = load(None, &[(&name, value)]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(loaded.warnings.is_empty(), "{name}: {:?}", loaded.warnings);
            let now = toml::Value::try_from(&loaded.config).unwrap();
            assert_ne!(now, defaults, "{name} changed nothing");
            reached += 1;
        }
        assert!(reached >= 20, "only {reached} keys");
    }

    #[test]
    fn the_old_names_keep_working_and_the_new_ones_win() {
        let c = load(None, &[("PATCHMAN_JOB_LEASE_SECONDS", "30"), ("PATCHMAN_REPOS_KEYRINGS", "/k/a.gpg:/k/b.gpg")])
            .unwrap()
            .config;
        assert_eq!(c.jobs.lease_seconds, 30);
        assert_eq!(c.repos.keyrings.len(), 2);
        let both = [("PATCHMAN_JOB_LEASE_SECONDS", "30"), ("PATCHMAN_JOBS__LEASE_SECONDS", "45")];
        assert_eq!(load(None, &both).unwrap().config.jobs.lease_seconds, 45);
    }

    #[test]
    fn secrets_read_from_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key");
        std::fs::write(&key, "from-a-file-sixteen-plus\n").unwrap();
        let url = dir.path().join("url");
        std::fs::write(&url, "postgres://pm:s3cret@db/pm\n").unwrap();
        let c = load(
            None,
            &[
                ("PATCHMAN_ENROLLMENT_KEY", "from-the-environment-x"),
                ("PATCHMAN_ENROLLMENT_KEY_FILE", key.to_str().unwrap()),
                ("PATCHMAN_DATABASE_URL_FILE", url.to_str().unwrap()),
            ],
        )
        .unwrap()
        .config;
        assert_eq!(c.enrollment_key.as_deref(), Some("from-a-file-sixteen-plus"));
        assert_eq!(c.database_url, "postgres://pm:s3cret@db/pm");
        let err = load(None, &[("PATCHMAN_ENROLLMENT_KEY_FILE", "/nonexistent/key")]).err().unwrap().to_string();
        assert!(err.contains("PATCHMAN_ENROLLMENT_KEY_FILE") && err.contains("/nonexistent/key"), "{err}");
    }

    #[test]
    fn bad_values_name_their_variable_and_unknown_names_warn() {
        let err = load(None, &[("PATCHMAN_JOBS__LEASE_SECONDS", "soon")]).err().unwrap().to_string();
        assert!(err.starts_with("environment variable PATCHMAN_JOBS__LEASE_SECONDS: jobs.lease_seconds"), "{err}");
        let err = load(None, &[("PATCHMAN_LISTEN", "nowhere")]).err().unwrap().to_string();
        assert!(err.starts_with("environment variable PATCHMAN_LISTEN: listen"), "{err}");
        let err = load(None, &[("PATCHMAN_MAX_PACKAGES", "-3")]).err().unwrap().to_string();
        assert!(err.contains("PATCHMAN_MAX_PACKAGES"), "{err}");

        let loaded = load(None, &[("PATCHMAN_STALE_AFTER_DAYS", "3"), ("PATCHMAN_LOG", "debug")]).unwrap();
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("PATCHMAN_STALE_AFTER_DAYS"));
        assert!(load(None, &[("PATCHMAN_JOBS", "1")]).unwrap().warnings[0].contains("PATCHMAN_JOBS"));
    }
}
