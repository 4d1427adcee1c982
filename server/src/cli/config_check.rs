//! `patchman check-config` (the effective configuration, secrets masked, and what is wrong in
//! it) and `patchman print-default-config`.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{Config, Loaded, redact_url};

/// Something wrong in a configuration: an error (exit status 1) or a warning.
#[derive(Debug, serde::Serialize)]
pub struct Problem {
    pub severity: &'static str,
    pub key: String,
    pub message: String,
}

fn error(key: &str, message: impl Into<String>) -> Problem {
    Problem { severity: "error", key: key.to_owned(), message: message.into() }
}

fn warning(key: &str, message: impl Into<String>) -> Problem {
    Problem { severity: "warning", key: key.to_owned(), message: message.into() }
}

/// What is wrong in a configuration that loaded.
pub fn problems(loaded: &Loaded) -> Vec<Problem> {
    let c = &loaded.config;
    let mut out: Vec<Problem> = loaded.warnings.iter().map(|w| warning("environment", w.clone())).collect();
    let scheme = c.database_url.split_once(':').map_or("", |(s, _)| s);
    if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
        out.push(error("database_url", format!("{scheme:?} is not sqlite:// or postgres://")));
    } else if let Some(file) = super::database::sqlite_file(&c.database_url)
        && !file.exists()
    {
        out.push(warning(
            "database_url",
            format!("{} does not exist yet (`patchman serve` creates it)", file.display()),
        ));
    }
    let short = |key: &str, value: &Option<String>, out: &mut Vec<Problem>| {
        if value.as_deref().is_some_and(|v| v.trim().len() < 16) {
            out.push(error(key, "shorter than 16 characters: easy to guess"));
        }
    };
    short("enrollment_key", &c.enrollment_key, &mut out);
    short("api.metrics_token", &c.api.metrics_token, &mut out);
    if let Err(err) = crate::compat::Trust::from_config(&c.compat) {
        out.push(error("compat", format!("{err:#}")));
    }
    if c.silent_after_days == 0 {
        out.push(warning("silent_after_days", "0: every host is silent at once"));
    }
    if c.web.session_idle_seconds > c.web.session_max_seconds {
        out.push(warning("web.session_idle_seconds", "longer than web.session_max_seconds, which ends sessions first"));
    }
    if c.shutdown_grace_seconds == 0 {
        out.push(warning("shutdown_grace_seconds", "0: reports in flight at SIGTERM are abandoned"));
    }
    if let Some(proxy) = &c.repos.proxy
        && reqwest::Url::parse(proxy).is_err()
    {
        out.push(error("repos.proxy", format!("{proxy:?} is not a URL")));
    }
    let exists = |key: String, path: &Path, out: &mut Vec<Problem>| {
        if !path.exists() {
            out.push(error(&key, format!("{} does not exist", path.display())));
        }
    };
    for k in &c.repos.keyrings {
        exists("repos.keyrings".into(), k, &mut out);
    }
    for (i, s) in c.repos.sources.iter().enumerate() {
        let key = |field: &str| format!("repos.source[{i}].{field}");
        if s.url_prefix.trim().is_empty() {
            out.push(error(&key("url_prefix"), "is empty: it would match every repository"));
        }
        for k in &s.keyrings {
            exists(key("keyrings"), k, &mut out);
        }
        for (field, path) in
            [("password_file", &s.password_file), ("client_cert", &s.client_cert), ("client_key", &s.client_key)]
        {
            if let Some(p) = path {
                exists(key(field), p, &mut out);
            }
        }
        if s.client_cert.is_some() != s.client_key.is_some() {
            out.push(error(&key("client_cert"), "client_cert and client_key go together"));
        }
        if s.password.is_some() && s.password_file.is_some() {
            out.push(warning(&key("password"), "both password and password_file: password_file is used"));
        }
    }
    out
}

/// The configuration as TOML, with every secret masked.
pub fn masked(c: &Config) -> anyhow::Result<toml::Table> {
    let mut t = toml::Table::try_from(c)?;
    let mask = |v: &mut toml::Value| *v = toml::Value::String("<redacted>".into());
    t.insert("database_url".into(), toml::Value::String(redact_url(&c.database_url)));
    if let Some(v) = t.get_mut("enrollment_key") {
        mask(v);
    }
    if let Some(v) = t.get_mut("api").and_then(|a| a.get_mut("metrics_token")) {
        mask(v);
    }
    if let Some(sources) = t.get_mut("repos").and_then(|r| r.get_mut("source")).and_then(|s| s.as_array_mut()) {
        for s in sources {
            if let Some(v) = s.get_mut("password") {
                mask(v);
            }
        }
    }
    Ok(t)
}

pub fn check(file: Option<&Path>, json: bool) -> anyhow::Result<ExitCode> {
    let loaded = match Config::load(file) {
        Ok(loaded) => loaded,
        Err(err) => {
            // It does not load: that is what is wrong with it.
            if json {
                let p = [error("config", err.to_string())];
                super::out::json(&serde_json::json!({ "config": null, "problems": p }))?;
            } else {
                eprintln!("patchman: the configuration does not load: {err}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    let problems = problems(&loaded);
    let table = masked(&loaded.config)?;
    if json {
        super::out::json(&serde_json::json!({ "config": table, "problems": problems }))?;
    } else {
        outln!("{}", toml::to_string_pretty(&table)?.trim_end());
        if problems.is_empty() {
            eprintln!("patchman: the configuration is fine");
        }
        for p in &problems {
            eprintln!("patchman: {}: {}: {}", p.severity, p.key, p.message);
        }
    }
    let failed = problems.iter().any(|p| p.severity == "error");
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub fn print_default() -> anyhow::Result<ExitCode> {
    outln!(
        "# patchman's configuration, every key at its default. Give the file with --config FILE;\n\
         # PATCHMAN_<KEY> (sections joined by __, e.g. PATCHMAN_JOBS__LEASE_SECONDS) overrides a key.\n\
         # Unset by default: enrollment_key, repos.proxy, api.metrics_token.\n"
    );
    outln!("{}", toml::to_string_pretty(&Config::default())?.trim_end());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_problems_named() {
        let mut c = Config {
            enrollment_key: Some("short".into()),
            database_url: "postgres://u:secret@db/patchman".into(),
            ..Config::default()
        };
        c.api.metrics_token = Some("a-long-enough-metrics-token".into());
        let text = toml::to_string(&masked(&c).unwrap()).unwrap();
        assert!(!text.contains("secret") && !text.contains("a-long-enough") && !text.contains("short"), "{text}");
        let loaded = Loaded { config: c, warnings: vec![] };
        let p = problems(&loaded);
        assert!(p.iter().any(|p| p.key == "enrollment_key" && p.severity == "error"), "{p:?}");
        assert!(!p.iter().any(|p| p.key == "api.metrics_token"), "{p:?}");
    }

    #[test]
    fn the_default_configuration_reads_back() {
        let text = toml::to_string_pretty(&Config::default()).unwrap();
        let back: Config = toml::from_str(&text).unwrap();
        assert_eq!(back.listen, Config::default().listen);
    }
}
