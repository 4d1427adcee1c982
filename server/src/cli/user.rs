//! `patchman user add|passwd|list|delete`: the web UI's accounts. Passwords are never taken
//! from the command line: they are read from the terminal without echo (asked twice), or else
//! from the first line of stdin. Every change is written to the audit log as `cli:$USER`.

use std::io::{BufRead as _, IsTerminal as _};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

use crate::accounts::{Role, check_password_rules, check_user_name, hash_password};
use crate::store::views::format_time;
use crate::store::{AccountStore, AuditEntry, NewUser};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from the terminal, or the first line of stdin.
    Add {
        name: String,
        #[arg(long, default_value = "viewer", value_parser = ["admin", "viewer"])]
        role: String,
    },
    /// Set a user's password (read as for `add`); ends the user's sessions.
    Passwd { name: String },
    /// List the users and their roles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete a user and end their sessions.
    Delete { name: String },
}

pub async fn run(command: UserCommand, store: &dyn AccountStore) -> anyhow::Result<ExitCode> {
    let now = crate::clock::now_ms();
    match command {
        UserCommand::Add { name, role } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            check_user_name(&name).map_err(anyhow::Error::msg)?;
            if store.user_by_name(&name).await?.is_some() {
                eprintln!("patchman: there is already a user named {name}");
                return Ok(ExitCode::from(2));
            }
            let hash = hash_password(&read_password(&name)?)?;
            if !store.add_user(&NewUser { name: &name, role, password_hash: &hash, now }).await? {
                eprintln!("patchman: there is already a user named {name}");
                return Ok(ExitCode::from(2));
            }
            audit(store, "user.add", &name, &format!("role {role}")).await?;
            outln!("user {name} added ({role})");
        }
        UserCommand::Passwd { name } => {
            if store.user_by_name(&name).await?.is_none() {
                return no_such_user(&name);
            }
            let hash = hash_password(&read_password(&name)?)?;
            if !store.set_password(&name, &hash, now).await? {
                return no_such_user(&name);
            }
            audit(store, "user.passwd", &name, "").await?;
            outln!("password of {name} changed; their sessions ended");
        }
        UserCommand::List { json } => {
            let users = store.users().await?;
            if json {
                super::out::json(&users)?;
            } else {
                outln!("{:<24} {:<7} {:<22} PASSWORD CHANGED", "USER", "ROLE", "CREATED");
                for u in users {
                    let (created, changed) = (format_time(u.created_at), format_time(u.password_changed_at));
                    outln!("{:<24} {:<7} {created:<22} {changed}", u.name, u.role.as_str());
                }
            }
        }
        UserCommand::Delete { name } => {
            if !store.delete_user(&name).await? {
                return no_such_user(&name);
            }
            audit(store, "user.delete", &name, "").await?;
            outln!("user {name} deleted");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn no_such_user(name: &str) -> anyhow::Result<ExitCode> {
    eprintln!("patchman: no user named {name}");
    Ok(ExitCode::from(2))
}

/// Who the audit log says made a change from the command line.
pub(super) fn actor() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".to_owned());
    format!("cli:{user}")
}

pub(super) async fn audit(store: &dyn AccountStore, action: &str, target: &str, detail: &str) -> anyhow::Result<()> {
    let actor = actor();
    let entry = AuditEntry { at: crate::clock::now_ms(), actor: &actor, action, target, detail };
    store.audit(&entry).await.context("while writing the audit log")
}

/// A new password: typed twice on a terminal, else the first line of stdin.
fn read_password(name: &str) -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("New password for {name}: "))?;
        check_password_rules(&first)?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the passwords differ");
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("while reading the password from stdin")?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    check_password_rules(&password)?;
    Ok(password)
}
