//! `patchman api-key create|list|revoke`: the API keys Patchman's clients upload with
//! (protocol 2's `Authorization: Api-Key …`, also accepted on protocol 1). A key is printed
//! once and stored only as its SHA-256; it may report for any host without a token of its
//! own, and reads nothing. Every change is written to the audit log as `cli:$USER`.

use std::process::ExitCode;

use clap::Subcommand;

use super::user::audit;
use crate::store::views::format_time;
use crate::store::{AccountStore, NewApiKey};

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it (once).
    Create {
        /// A name to tell keys apart, e.g. the site or the team that deploys it.
        name: String,
        /// The key stops working after this long (e.g. 90d, 12h); never, when not given.
        #[arg(long, value_name = "DURATION")]
        expires: Option<humantime::Duration>,
    },
    /// List the keys: created, expires, last used, hosts reporting with each.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key: uploads with it are refused at once.
    Revoke { name: String },
}

pub async fn run(command: ApiKeyCommand, store: &dyn AccountStore) -> anyhow::Result<ExitCode> {
    let now = crate::clock::now_ms();
    match command {
        ApiKeyCommand::Create { name, expires } => {
            if let Err(err) = crate::fields::tag("name", &name) {
                eprintln!("patchman: {err}");
                return Ok(ExitCode::from(2));
            }
            let key = crate::auth::new_api_key();
            let expires_at = expires.map(|d| now.saturating_add(d.as_millis() as i64));
            let new = NewApiKey { name: &name, key_hash: &crate::auth::TokenHash::of(&key), now, expires_at };
            if !store.add_api_key(&new).await? {
                eprintln!("patchman: there is already an API key named {name}");
                return Ok(ExitCode::from(2));
            }
            let until =
                expires_at.map_or_else(|| "never expires".to_owned(), |t| format!("expires {}", format_time(t)));
            audit(store, "api-key.create", &name, &until).await?;
            println!("{key}");
            eprintln!(
                "patchman: API key {name} ({until}); in /etc/patchman/patchman-client.conf of the hosts:\n  \
                 api_key={key}   (protocol 2)\n  \
                 curl_options=\"--connect-timeout 60 --max-time 300 -H 'Authorization: Api-Key {key}'\"   (protocol 1)"
            );
        }
        ApiKeyCommand::List { json } => {
            let keys = store.api_keys().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                println!("{:<24} {:<22} {:<22} {:<22} HOSTS", "NAME", "CREATED", "EXPIRES", "LAST USED");
                for k in keys {
                    let opt = |t: Option<i64>, none: &str| t.map_or_else(|| none.to_owned(), format_time);
                    println!(
                        "{:<24} {:<22} {:<22} {:<22} {}",
                        k.name,
                        format_time(k.created_at),
                        opt(k.expires_at, "never"),
                        opt(k.last_used_at, "never"),
                        k.hosts
                    );
                }
            }
        }
        ApiKeyCommand::Revoke { name } => {
            if !store.delete_api_key(&name).await? {
                eprintln!("patchman: no API key named {name}");
                return Ok(ExitCode::from(2));
            }
            audit(store, "api-key.revoke", &name, "").await?;
            println!("API key {name} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
