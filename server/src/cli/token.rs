//! `patchman token create|list|revoke` (API tokens for the query API: `read`, `admin`) and
//! `patchman api-key create|list|revoke` (the same for `upload`: the keys Patchman's clients
//! upload with, protocol 2's `Authorization: Api-Key …`). A secret is printed once and stored
//! only as its SHA-256. Every change is written to the audit log as `cli:$USER`.

use std::process::ExitCode;

use clap::Subcommand;

use super::user::audit;
use crate::auth::ApiRole;
use crate::store::views::format_time;
use crate::store::{AccountStore, NewApiKey};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (once).
    Create {
        /// A name to tell tokens apart, e.g. the integration that uses it.
        #[arg(long)]
        name: String,
        /// read: the query API; admin: also its changes; upload: Patchman's clients' uploads.
        #[arg(long, value_parser = ["read", "admin", "upload"])]
        role: String,
        /// It stops working after this long (e.g. 90d, 12h); never, when not given.
        #[arg(long, value_name = "DURATION")]
        expires: Option<humantime::Duration>,
        /// Print the token with its name, role and expiry as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the tokens: role, created, expires, last used.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token: it is refused at once.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it (once).
    Create {
        /// A name to tell keys apart, e.g. the site or the team that deploys it.
        name: String,
        /// The key stops working after this long (e.g. 90d, 12h); never, when not given.
        #[arg(long, value_name = "DURATION")]
        expires: Option<humantime::Duration>,
        /// Print the key with its name and expiry as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the keys: created, expires, last used, hosts reporting with each.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: uploads with it are refused at once.
    Revoke { name: String },
}

pub async fn run_token(command: TokenCommand, store: &dyn AccountStore) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create { name, role, expires, json } => {
            let role = ApiRole::parse(&role).ok_or_else(|| anyhow::anyhow!("--role {role:?}"))?;
            create(store, &name, role, expires, json).await
        }
        TokenCommand::List { json } => list(store, json, None).await,
        TokenCommand::Revoke { name } => revoke(store, &name).await,
    }
}

pub async fn run_api_key(command: ApiKeyCommand, store: &dyn AccountStore) -> anyhow::Result<ExitCode> {
    match command {
        ApiKeyCommand::Create { name, expires, json } => create(store, &name, ApiRole::Upload, expires, json).await,
        ApiKeyCommand::List { json } => list(store, json, Some(ApiRole::Upload)).await,
        ApiKeyCommand::Revoke { name } => revoke(store, &name).await,
    }
}

async fn create(
    store: &dyn AccountStore,
    name: &str,
    role: ApiRole,
    expires: Option<humantime::Duration>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if let Err(err) = crate::fields::tag("name", name) {
        eprintln!("patchman: {err}");
        return Ok(ExitCode::from(2));
    }
    let now = crate::clock::now_ms();
    let secret = role.new_secret();
    let expires_at = expires.map(|d| now.saturating_add(d.as_millis() as i64));
    let new = NewApiKey { name, role, key_hash: &crate::auth::TokenHash::of(&secret), now, expires_at };
    if !store.add_api_key(&new).await? {
        eprintln!("patchman: there is already a token or API key named {name}");
        return Ok(ExitCode::from(2));
    }
    let until = expires_at.map_or_else(|| "never expires".to_owned(), |t| format!("expires {}", format_time(t)));
    let action = if role == ApiRole::Upload { "api-key.create" } else { "token.create" };
    audit(store, action, name, &format!("role {}, {until}", role.as_str())).await?;
    if json {
        let expires = expires_at.map(format_time);
        super::out::json(
            &serde_json::json!({ "name": name, "role": role.as_str(), "token": secret, "expires_at": expires }),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{secret}");
    if role == ApiRole::Upload {
        eprintln!(
            "patchman: API key {name} ({until}); in /etc/patchman/patchman-client.conf of the hosts:\n  \
             api_key={secret}   (protocol 2)\n  \
             curl_options=\"--connect-timeout 60 --max-time 300 -H 'Authorization: Api-Key {secret}'\"   (protocol 1)"
        );
    } else {
        eprintln!("patchman: {} token {name} ({until}); send it as `authorization: Bearer {secret}`", role.as_str());
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(store: &dyn AccountStore, json: bool, only: Option<ApiRole>) -> anyhow::Result<ExitCode> {
    let keys: Vec<_> = store.api_keys().await?.into_iter().filter(|k| only.is_none_or(|r| k.role == r)).collect();
    if json {
        super::out::json(&keys)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{:<24} {:<7} {:<22} {:<22} {:<22} HOSTS", "NAME", "ROLE", "CREATED", "EXPIRES", "LAST USED");
    for k in keys {
        let opt = |t: Option<i64>, none: &str| t.map_or_else(|| none.to_owned(), format_time);
        outln!(
            "{:<24} {:<7} {:<22} {:<22} {:<22} {}",
            k.name,
            k.role.as_str(),
            format_time(k.created_at),
            opt(k.expires_at, "never"),
            opt(k.last_used_at, "never"),
            k.hosts
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn revoke(store: &dyn AccountStore, name: &str) -> anyhow::Result<ExitCode> {
    if !store.delete_api_key(name).await? {
        eprintln!("patchman: no token or API key named {name}");
        return Ok(ExitCode::from(2));
    }
    audit(store, "token.revoke", name, "").await?;
    outln!("{name} revoked");
    Ok(ExitCode::SUCCESS)
}
