//! `patchman host list|show|delete|use-host-repos|tag|untag|token`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use crate::query::{Clock, HostFilter, PageRequest};
use crate::store::views::format_time;
use crate::store::{HostSummary, Store};
use crate::updates::Updater;

#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// List hosts: all, or those the filters select (the web UI's host filters, e.g.
    /// `--filter tag=web --filter status=security --filter package_name=openssl`).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// KEY=VALUE, as in the web UI's `/hosts?KEY=VALUE` (repeatable; all must hold).
        #[arg(long = "filter", value_name = "KEY=VALUE")]
        filters: Vec<String>,
    },
    /// Show one host: packages, repositories, modules, reports, transactions.
    Show {
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Forget a host and its token (it may enroll again).
    Delete { name: String },
    /// Whether the host finds its updates in its own repositories only (`yes`, the default)
    /// or also in the repositories of its OS group (`no`; see `patchman os-group`).
    UseHostRepos {
        name: String,
        #[arg(action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
        own_only: bool,
    },
    /// Give a host a tag its reports do not remove.
    Tag { name: String, tag: String },
    /// Take a tag away from a host (a tag the host reports comes back with its next changed
    /// report).
    Untag { name: String, tag: String },
    /// Issue a token for a host that runs Patchman's own `patchman-client` (protocol 1): it
    /// sends it as `Authorization: Bearer TOKEN`. Printed once; stored only hashed. A host
    /// that already has a token (enrolled over gRPC, or given one before) keeps it: delete the
    /// host first to replace it.
    Token { name: String },
}

pub async fn run(command: HostCommand, store: Arc<dyn Store>, clock: Clock) -> anyhow::Result<ExitCode> {
    let adds_tag = matches!(command, HostCommand::Tag { .. });
    match command {
        HostCommand::List { json, filters } => {
            let hosts =
                if filters.is_empty() { store.hosts().await? } else { filtered(&*store, &filters, &clock).await? };
            if json {
                println!("{}", serde_json::to_string_pretty(&hosts)?);
            } else {
                println!(
                    "{:<40} {:<24} {:<8} {:>8} {:>5} {:<6} LAST REPORT",
                    "HOST", "OS", "ARCH", "PACKAGES", "REPOS", "REBOOT"
                );
                for h in hosts {
                    println!(
                        "{:<40} {:<24} {:<8} {:>8} {:>5} {:<6} {}",
                        h.hostname,
                        h.os_variant,
                        h.arch,
                        h.package_count,
                        h.repo_count,
                        if h.reboot_required { "yes" } else { "no" },
                        h.last_seen_at.map(format_time).unwrap_or_else(|| "never".to_owned())
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        HostCommand::Show { name, json } => {
            let Some(host) = store.host(&name.to_ascii_lowercase()).await? else {
                eprintln!("patchman: no host named {name}");
                return Ok(ExitCode::from(2));
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&host)?);
                return Ok(ExitCode::SUCCESS);
            }
            let s = &host.summary;
            println!("host:      {}", s.hostname);
            println!("os:        {} ({})", s.os_variant, host.os_pretty_name);
            println!("kernel:    {} {}", s.kernel, s.arch);
            println!("reboot:    {}", if s.reboot_required { host.reboot_reason.as_str() } else { "not required" });
            println!("tags:      {}", s.tags.join(", "));
            println!("last seen: {}", s.last_seen_at.map(format_time).unwrap_or_else(|| "never".to_owned()));
            let with = &host.reported_with;
            println!(
                "reports:   with {:?}{}",
                with.kind,
                if with.detail.is_empty() { String::new() } else { format!(" ({})", with.detail) }
            );
            if !host.view_differences.is_empty() {
                println!("\nits package manager sees other updates ({}):", host.view_differences.len());
                for d in &host.view_differences {
                    let side = |v: &Option<String>| v.clone().unwrap_or_else(|| "nothing".to_owned());
                    println!("  {:<40} {:<8} host: {:<36} server: {}", d.name, d.arch, side(&d.host), side(&d.server));
                }
            }
            let group = if host.use_host_repos { "" } else { ", and those of its OS group" };
            println!("\nrepositories ({}{group}):", host.repos.len());
            for r in &host.repos {
                println!("  {:<60} priority {:>4}{}", r.name, r.priority, if r.security { "  security" } else { "" });
            }
            println!("\npackages ({}):", host.packages.len());
            for p in &host.packages {
                println!("  {:<48} {:<32} {}", p.name, p.evr, p.arch);
            }
            Ok(ExitCode::SUCCESS)
        }
        HostCommand::Token { name } => {
            let hostname = match crate::fields::hostname(&name) {
                Ok(h) => h,
                Err(err) => {
                    eprintln!("patchman: {err}");
                    return Ok(ExitCode::from(2));
                }
            };
            let token = crate::auth::new_host_token();
            let hash = crate::auth::TokenHash::of(&token);
            let enrollment = crate::store::Enrollment {
                hostname: &hostname,
                machine_id: "",
                token_hash: &hash,
                now_ms: clock.now_ms,
            };
            match store.enroll(&enrollment).await? {
                crate::store::EnrollOutcome::Enrolled => {
                    println!("{token}");
                    eprintln!(
                        "patchman: token for {hostname}; in its /etc/patchman/patchman-client.conf:\n  \
                         curl_options=\"--connect-timeout 60 --max-time 300 -H 'Authorization: Bearer {token}'\""
                    );
                    Ok(ExitCode::SUCCESS)
                }
                crate::store::EnrollOutcome::Conflict => {
                    eprintln!(
                        "patchman: host {hostname} already has a token (enrolled over gRPC or given one before); \
                         `patchman host delete {hostname}` first to give it a new one"
                    );
                    Ok(ExitCode::from(2))
                }
            }
        }
        HostCommand::Delete { name } => {
            if store.delete_host(&name.to_ascii_lowercase()).await? {
                println!("deleted host {name}");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("patchman: no host named {name}");
                Ok(ExitCode::from(2))
            }
        }
        HostCommand::UseHostRepos { name, own_only } => {
            if !store.set_use_host_repos(&name.to_ascii_lowercase(), own_only).await? {
                eprintln!("patchman: no host named {name}");
                return Ok(ExitCode::from(2));
            }
            let stats = Updater::new(store).recompute_stale().await?;
            let using = if own_only { "its own repositories" } else { "its own and its OS group's repositories" };
            println!("host {name} uses {using}; {} hosts recomputed", stats.hosts);
            Ok(ExitCode::SUCCESS)
        }
        HostCommand::Tag { name, tag } | HostCommand::Untag { name, tag } => {
            let present = adds_tag;
            let tag = match crate::fields::tag("tag", &tag) {
                Ok(tag) => tag,
                Err(err) => {
                    eprintln!("patchman: {err}");
                    return Ok(ExitCode::from(2));
                }
            };
            if !store.set_host_tag(&name.to_ascii_lowercase(), &tag, present).await? {
                eprintln!("patchman: no host named {name}");
                return Ok(ExitCode::from(2));
            }
            println!("host {name}: tag {tag} {}", if present { "added" } else { "removed" });
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Every host the `KEY=VALUE` filters select, in host-name order.
async fn filtered(store: &dyn Store, filters: &[String], clock: &Clock) -> anyhow::Result<Vec<HostSummary>> {
    let pairs = filters
        .iter()
        .map(|f| f.split_once('=').ok_or_else(|| anyhow::anyhow!("--filter {f:?}: expected KEY=VALUE")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (filter, sort, _) = HostFilter::from_pairs(pairs).map_err(|e| anyhow::anyhow!("--filter {e}"))?;
    let mut out = Vec::new();
    let mut page = PageRequest { page: 1, per_page: PageRequest::MAX_PER_PAGE };
    loop {
        let list = store.host_list(&filter, &sort, page, clock).await?;
        let done = list.rows.len() < page.per_page as usize;
        out.extend(list.rows);
        if done {
            return Ok(out);
        }
        page.page += 1;
    }
}
