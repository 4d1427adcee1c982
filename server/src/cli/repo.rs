//! `patchman refresh-repos` and `patchman repo list|link|security|enable|disable|enable-mirror|disable-mirror`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use crate::config::Config;
use crate::refresh::{Progress, Refresher};
use crate::store::Store;
use crate::store::views::format_time;
use crate::updates::Updater;

#[derive(Debug, Subcommand)]
pub enum RepoCommand {
    /// List repositories with their mirrors, package and host counts.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Make repository OTHER part of repository ID: they are the same repository under
    /// other mirrors (its mirrors and hosts move to ID).
    Link { id: i64, other: i64 },
    /// Mark a repository as carrying security updates or not (by hand), or give the flag back
    /// to its metadata (`auto`: a `-security` suite, or what its Release says).
    Security {
        id: i64,
        #[arg(value_enum)]
        flag: SecurityFlag,
    },
    /// Use a repository again (refresh it, find updates in it).
    Enable { id: i64 },
    /// Stop refreshing a repository and finding updates in it; its hosts are recomputed.
    Disable { id: i64 },
    /// Enable a mirror that was disabled after failing too often, forgetting its failures.
    EnableMirror { mirror_id: i64 },
    /// Stop using a mirror (its repository's other mirrors are tried).
    DisableMirror { mirror_id: i64 },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SecurityFlag {
    Yes,
    No,
    Auto,
}

/// Refreshes repositories, then recomputes the hosts whose repositories changed.
pub async fn refresh(
    config: &Config,
    store: Arc<dyn Store>,
    only: Option<i64>,
    force: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let refresher = Refresher::new(store.clone(), &config.repos)?;
    let summary = refresher.run(only, force, &Progress::auto()).await?;
    let stats = Updater::new(store).recompute_stale().await?;
    let code = if summary.failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) };
    if json {
        let failed: Vec<serde_json::Value> = summary
            .failed
            .iter()
            .map(|(repo, why)| serde_json::json!({ "repository": repo, "reason": why.to_string() }))
            .collect();
        super::out::json(&serde_json::json!({
            "repositories": summary.repos,
            "changed": summary.changed,
            "unchanged": summary.unchanged,
            "merged": summary.merged,
            "failed": failed,
            "hosts_recomputed": stats.hosts,
        }))?;
        return Ok(code);
    }
    outln!(
        "{} repositories: {} changed, {} unchanged, {} failed, {} merged; {} hosts recomputed",
        summary.repos,
        summary.changed,
        summary.unchanged,
        summary.failed.len(),
        summary.merged,
        stats.hosts
    );
    for (repo, reason) in &summary.failed {
        outln!("  failed: {repo}: {reason}");
    }
    Ok(code)
}

pub async fn run(command: RepoCommand, store: Arc<dyn Store>) -> anyhow::Result<ExitCode> {
    match command {
        RepoCommand::List { json } => {
            let repos = store.repos().await?;
            if json {
                super::out::json(&repos)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!(
                "{:>5} {:<4} {:<56} {:>8} {:>6} {:<8} REFRESHED",
                "ID",
                "KIND",
                "NAME",
                "PACKAGES",
                "HOSTS",
                "FLAGS"
            );
            for r in repos {
                let mut flags = Vec::new();
                if r.security {
                    flags.push("security");
                }
                if !r.enabled {
                    flags.push("disabled");
                }
                if r.mirrors.iter().any(|m| !m.enabled || m.fail_count > 0) {
                    flags.push("failing");
                }
                outln!(
                    "{:>5} {:<4} {:<56} {:>8} {:>6} {:<8} {}",
                    r.id,
                    r.kind.as_str(),
                    r.name,
                    r.package_count,
                    r.host_count,
                    flags.join(","),
                    r.refreshed_at.map(format_time).unwrap_or_else(|| "never".to_owned())
                );
                for m in &r.mirrors {
                    let state = if !m.enabled {
                        format!("disabled after {} failures: {}", m.fail_count, m.last_error)
                    } else if m.fail_count > 0 {
                        format!("{} failures: {}", m.fail_count, m.last_error)
                    } else if m.valid_until_passed {
                        "ok, but its Release is past Valid-Until".to_owned()
                    } else {
                        "ok".to_owned()
                    };
                    outln!("        mirror {:<5} {}  {state}; metadata {}", m.id, m.url, m.trust());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        RepoCommand::Link { id, other } => {
            if !store.link_repos(id, other).await? {
                return super::out::usage(format!("repositories {id} and {other} must both exist and differ"));
            }
            outln!("repository {other} is now part of repository {id}");
            Ok(ExitCode::SUCCESS)
        }
        RepoCommand::Security { id, flag } => {
            let security = match flag {
                SecurityFlag::Yes => Some(true),
                SecurityFlag::No => Some(false),
                SecurityFlag::Auto => None,
            };
            if !store.set_repo_security(id, security).await? {
                return super::out::usage(format!("no repository {id}"));
            }
            let stats = Updater::new(store.clone()).recompute_stale().await?;
            outln!("repository {id}: security {flag:?}; {} hosts recomputed", stats.hosts);
            Ok(ExitCode::SUCCESS)
        }
        RepoCommand::Enable { id } | RepoCommand::Disable { id } => {
            let enabled = matches!(command, RepoCommand::Enable { .. });
            if !store.set_repo_enabled(id, enabled).await? {
                return super::out::usage(format!("no repository {id}"));
            }
            let stats = Updater::new(store.clone()).recompute_stale().await?;
            let state = if enabled { "enabled" } else { "disabled" };
            outln!("repository {id} {state}; {} hosts recomputed", stats.hosts);
            Ok(ExitCode::SUCCESS)
        }
        RepoCommand::EnableMirror { mirror_id } | RepoCommand::DisableMirror { mirror_id } => {
            let enabled = matches!(command, RepoCommand::EnableMirror { .. });
            if !store.set_mirror_enabled(mirror_id, enabled).await? {
                return super::out::usage(format!("no mirror {mirror_id}"));
            }
            outln!("mirror {mirror_id} {}", if enabled { "enabled" } else { "disabled" });
            Ok(ExitCode::SUCCESS)
        }
    }
}
