//! `patchman os-group list|add-repo|remove-repo|move-variant`: the repositories an OS group's hosts share
//! when they do not use only their own (`patchman host use-host-repos NAME no`).

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use crate::store::Store;
use crate::updates::Updater;

#[derive(Debug, Subcommand)]
pub enum OsGroupCommand {
    /// List OS groups with their variants, host counts and repositories.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a repository (its id in `patchman repo list`) to an OS group.
    AddRepo { group: String, repo: i64 },
    /// Take a repository out of an OS group.
    RemoveRepo { group: String, repo: i64 },
    /// Move an OS variant ("Debian 12.7") into a group (made if it is new); reports no
    /// longer change it.
    MoveVariant { variant: String, group: String },
}

pub async fn run(command: OsGroupCommand, store: Arc<dyn Store>) -> anyhow::Result<ExitCode> {
    let (group, repo, member) = match command {
        OsGroupCommand::List { json } => {
            let groups = store.os_groups().await?;
            if json {
                super::out::json(&groups)?;
                return Ok(ExitCode::SUCCESS);
            }
            for g in groups {
                outln!("{}  ({} hosts; {})", g.name, g.host_count, g.variants.join(", "));
                for r in g.repos {
                    outln!("    repo {:<5} {}", r.id, r.name);
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        OsGroupCommand::AddRepo { group, repo } => (group, repo, true),
        OsGroupCommand::RemoveRepo { group, repo } => (group, repo, false),
        OsGroupCommand::MoveVariant { variant, group } => {
            if !store.set_os_variant_group(&variant, &group).await? {
                eprintln!("patchman: no OS variant named {variant:?}");
                return Ok(ExitCode::from(2));
            }
            let stats = Updater::new(store).recompute_stale().await?;
            outln!("{variant} is now in {group}; {} hosts recomputed", stats.hosts);
            return Ok(ExitCode::SUCCESS);
        }
    };
    if !store.set_os_group_repo(&group, repo, member).await? {
        eprintln!("patchman: no OS group named {group:?} or no repository {repo}");
        return Ok(ExitCode::from(2));
    }
    let stats = Updater::new(store).recompute_stale().await?;
    let verb = if member { "added to" } else { "removed from" };
    outln!("repository {repo} {verb} {group}; {} hosts recomputed", stats.hosts);
    Ok(ExitCode::SUCCESS)
}
