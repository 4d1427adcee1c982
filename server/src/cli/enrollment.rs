//! `patchman enrollment-key [create|list|revoke]`: the keys hosts enroll with. Without a
//! subcommand it prints the site's original key (the entry `default`). A key is printed once
//! and stored only as its SHA-256; each may expire, be limited to a number of uses, and give
//! its hosts tags. Every change is written to the audit log as `cli:$USER`.

use std::process::ExitCode;

use clap::Subcommand;

use super::user::audit;
use crate::config::Config;
use crate::store::views::format_time;
use crate::store::{NewEnrollmentKey, Store};

#[derive(Debug, Subcommand)]
pub enum EnrollmentKeyCommand {
    /// Create a key and print it (once).
    Create {
        /// A name to tell keys apart (default: key-<date>).
        #[arg(long)]
        name: Option<String>,
        /// The key stops working after this long (e.g. 7d, 12h); never, when not given.
        #[arg(long, value_name = "DURATION")]
        expires: Option<humantime::Duration>,
        /// The key stops working after this many enrollments.
        #[arg(long, value_name = "N")]
        uses: Option<u32>,
        /// Tags given to the hosts enrolled with it (as an administrator's), e.g. web,prod.
        #[arg(long, value_delimiter = ',')]
        tags: Vec<String>,
        /// Print the key with its name, expiry, uses and tags as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the keys: tags, created, expires, uses, last used.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: enrollments with it are refused at once (hosts already enrolled keep
    /// their tokens).
    Revoke { name: String },
}

pub async fn run(
    command: Option<EnrollmentKeyCommand>,
    config: &Config,
    store: &dyn Store,
) -> anyhow::Result<ExitCode> {
    match command {
        None => match crate::serve::enrollment_key(config, store).await? {
            Some(key) => {
                outln!("{key}");
                Ok(ExitCode::SUCCESS)
            }
            None => super::out::usage(
                "the default enrollment key was revoked: `patchman enrollment-key create` makes another",
            ),
        },
        Some(EnrollmentKeyCommand::Create { name, expires, uses, tags, json }) => {
            create(store, name, expires, uses, tags, json).await
        }
        Some(EnrollmentKeyCommand::List { json }) => list(store, json).await,
        Some(EnrollmentKeyCommand::Revoke { name }) => {
            if !store.delete_enrollment_key(&name).await? {
                return super::out::usage(format!("no enrollment key named {name}"));
            }
            audit(store, "enrollment-key.revoke", &name, "").await?;
            outln!("{name} revoked");
            if name == crate::auth::DEFAULT_ENROLLMENT_KEY && config.enrollment_key.is_some() {
                eprintln!(
                    "patchman: enrollment_key is set in the configuration: it comes back at the server's next \
                     start unless it is removed there"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn create(
    store: &dyn Store,
    name: Option<String>,
    expires: Option<humantime::Duration>,
    uses: Option<u32>,
    tags: Vec<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let now = crate::clock::now_ms();
    let name = name.unwrap_or_else(|| format!("key-{}", format_time(now).replace([' ', ':'], "-")));
    let mut clean = Vec::new();
    for tag in tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        match crate::fields::tag("--tags", tag) {
            Ok(t) => clean.push(t),
            Err(err) => return super::out::usage(err.to_string()),
        }
    }
    if let Err(err) = crate::fields::tag("--name", &name) {
        return super::out::usage(err.to_string());
    }
    if uses == Some(0) {
        return super::out::usage("--uses: must be at least 1");
    }
    let secret = crate::auth::new_secret("pme_");
    let expires_at = expires.map(|d| now.saturating_add(d.as_millis() as i64));
    let new = NewEnrollmentKey {
        name: &name,
        key_hash: &crate::auth::TokenHash::of(&secret),
        tags: &clean,
        now,
        expires_at,
        max_uses: uses.map(i64::from),
    };
    if !store.add_enrollment_key(&new).await? {
        return super::out::usage(format!("there is already an enrollment key named {name}"));
    }
    let until = expires_at.map_or_else(|| "never expires".to_owned(), |t| format!("expires {}", format_time(t)));
    let limit = uses.map_or_else(|| "any number of uses".to_owned(), |n| format!("{n} uses"));
    audit(store, "enrollment-key.create", &name, &format!("{until}, {limit}, tags {}", clean.join(","))).await?;
    if json {
        super::out::json(&serde_json::json!({
            "name": name, "key": secret, "expires_at": expires_at.map(format_time), "max_uses": uses, "tags": clean,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{secret}");
    eprintln!("patchman: enrollment key {name} ({until}, {limit}); on a host: patchman-client --enroll {secret}");
    Ok(ExitCode::SUCCESS)
}

async fn list(store: &dyn Store, json: bool) -> anyhow::Result<ExitCode> {
    let keys = store.enrollment_keys().await?;
    if json {
        super::out::json(&keys)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{:<24} {:<20} {:<22} {:<22} {:<9} {:<22}", "NAME", "TAGS", "CREATED", "EXPIRES", "USES", "LAST USED");
    for k in keys {
        let opt = |t: Option<i64>, none: &str| t.map_or_else(|| none.to_owned(), format_time);
        let uses = k.max_uses.map_or_else(|| k.uses.to_string(), |m| format!("{}/{m}", k.uses));
        outln!(
            "{:<24} {:<20} {:<22} {:<22} {:<9} {:<22}",
            k.name,
            if k.tags.is_empty() { "-".to_owned() } else { k.tags.join(",") },
            format_time(k.created_at),
            opt(k.expires_at, "never"),
            uses,
            opt(k.last_used_at, "never")
        );
    }
    Ok(ExitCode::SUCCESS)
}
