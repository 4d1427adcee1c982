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
    /// List hosts with their status and update counts: all, or those the filters select
    /// (the web UI's host filters; all given must hold).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        filter: Box<HostListFilter>,
    },
    /// Show one host: its status, reboot, security then bugfix updates, packages found in no
    /// repository, repositories, and (with --packages) its installed packages.
    Show {
        name: String,
        /// Also list every installed package.
        #[arg(long)]
        packages: bool,
        /// Print JSON (everything, packages included).
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
    /// Invalidate a host's token at once: its reports are refused until it enrolls again
    /// (`patchman-client --enroll KEY`) or, for Patchman's client, is given a new token.
    Revoke { name: String },
}

pub async fn run(command: HostCommand, store: Arc<dyn Store>, clock: Clock) -> anyhow::Result<ExitCode> {
    let adds_tag = matches!(command, HostCommand::Tag { .. });
    match command {
        HostCommand::List { json, filter } => {
            let hosts = filtered(&*store, &filter.pairs()?, &clock).await?;
            if json {
                let rows: Vec<ListedHost> =
                    hosts.iter().map(|h| ListedHost { status: h.status_at(&clock).as_str(), host: h }).collect();
                super::out::json(&rows)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!(
                "{:<36} {:<20} {:>4} {:>4} {:<6} {:<24} LAST REPORT",
                "HOST",
                "STATUS",
                "SEC",
                "BUG",
                "REBOOT",
                "OS"
            );
            for h in &hosts {
                outln!(
                    "{:<36} {:<20} {:>4} {:>4} {:<6} {:<24} {}",
                    h.hostname,
                    h.status_at(&clock).label(),
                    h.security_updates,
                    h.bugfix_updates,
                    if h.reboot_required { "yes" } else { "no" },
                    h.os_variant,
                    h.last_seen_at.map(format_time).unwrap_or_else(|| "never".to_owned())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        HostCommand::Show { name, packages, json } => {
            let Some(host) = store.host(&name.to_ascii_lowercase()).await? else {
                return super::out::usage(format!("no host named {name}"));
            };
            if json {
                super::out::json(&host)?;
            } else {
                super::host_show::print(&host, &clock, packages);
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
                    outln!("{token}");
                    eprintln!(
                        "patchman: token for {hostname}; in its /etc/patchman/patchman-client.conf:\n  \
                         curl_options=\"--connect-timeout 60 --max-time 300 -H 'Authorization: Bearer {token}'\""
                    );
                    Ok(ExitCode::SUCCESS)
                }
                crate::store::EnrollOutcome::KeyRefused(why) => anyhow::bail!("{why}"),
                crate::store::EnrollOutcome::Conflict => {
                    eprintln!(
                        "patchman: host {hostname} already has a token (enrolled over gRPC or given one before); \
                         `patchman host delete {hostname}` first to give it a new one"
                    );
                    Ok(ExitCode::from(2))
                }
            }
        }
        HostCommand::Revoke { name } => {
            let hostname = name.to_ascii_lowercase();
            match store.revoke_host_tokens(&hostname).await? {
                None => super::out::usage(format!("no host named {name}")),
                Some(0) => {
                    outln!("host {hostname} had no token");
                    Ok(ExitCode::SUCCESS)
                }
                Some(_) => {
                    super::user::audit(&*store, "host.revoke", &hostname, "token revoked").await?;
                    outln!("revoked the token of {hostname}: its reports are refused until it enrolls again");
                    Ok(ExitCode::SUCCESS)
                }
            }
        }
        HostCommand::Delete { name } => {
            if store.delete_host(&name.to_ascii_lowercase()).await? {
                outln!("deleted host {name}");
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
            outln!("host {name} uses {using}; {} hosts recomputed", stats.hosts);
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
            outln!("host {name}: tag {tag} {}", if present { "added" } else { "removed" });
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A listed host in JSON: its summary and its status.
#[derive(serde::Serialize)]
struct ListedHost<'a> {
    status: &'static str,
    #[serde(flatten)]
    host: &'a HostSummary,
}

/// `host list`'s filters: the web UI's, as flags, and any of them as `--filter KEY=VALUE`.
#[derive(Debug, clap::Args)]
pub struct HostListFilter {
    /// Hosts with this tag.
    #[arg(long)]
    tag: Option<String>,
    /// Hosts of this OS group ("Debian 12").
    #[arg(long)]
    os_group: Option<String>,
    /// Hosts of this OS variant ("Debian 12.7").
    #[arg(long)]
    os_variant: Option<String>,
    #[arg(long)]
    arch: Option<String>,
    #[arg(long)]
    domain: Option<String>,
    /// silent, unknown, security, bugfix or up_to_date.
    #[arg(long)]
    status: Option<String>,
    /// Hosts that need security updates.
    #[arg(long)]
    has_security: bool,
    /// Hosts that need bugfix updates.
    #[arg(long)]
    has_bugfix: bool,
    /// Hosts that need a reboot.
    #[arg(long)]
    reboot_required: bool,
    /// Hosts with this package installed (at this version: NAME=EVR).
    #[arg(long, value_name = "NAME[=EVR]")]
    package: Option<String>,
    /// Hosts that use this repository (its id in `patchman repo list`).
    #[arg(long, value_name = "ID")]
    repo: Option<i64>,
    /// Hosts whose last report is older than this date (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    reported_before: Option<String>,
    /// Hosts whose name contains this.
    #[arg(long)]
    search: Option<String>,
    /// Order: hostname, status, last_seen, security, bugfix, os_variant, packages; `-` first
    /// for descending (`--sort=-security`).
    #[arg(long, value_name = "COLUMN", allow_hyphen_values = true)]
    sort: Option<String>,
    /// Any filter as KEY=VALUE, as in the web UI's `/hosts?KEY=VALUE` (repeatable).
    #[arg(long = "filter", value_name = "KEY=VALUE")]
    filters: Vec<String>,
}

impl HostListFilter {
    fn pairs(&self) -> anyhow::Result<Vec<(String, String)>> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut add = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                pairs.push((k.to_owned(), v));
            }
        };
        add("tag", self.tag.clone());
        add("os_group", self.os_group.clone());
        add("os_variant", self.os_variant.clone());
        add("arch", self.arch.clone());
        add("domain", self.domain.clone());
        add("status", self.status.clone());
        add("has_security", self.has_security.then(|| "true".to_owned()));
        add("has_bugfix", self.has_bugfix.then(|| "true".to_owned()));
        add("reboot_required", self.reboot_required.then(|| "true".to_owned()));
        if let Some(p) = &self.package {
            let (name, evr) = p.split_once('=').map_or((p.as_str(), None), |(n, e)| (n, Some(e)));
            add("package_name", Some(name.to_owned()));
            add("package_evr", evr.map(str::to_owned));
        }
        add("repo", self.repo.map(|r| r.to_string()));
        add("reported_before", self.reported_before.clone());
        add("search", self.search.clone());
        add("sort", self.sort.clone());
        for f in &self.filters {
            let Some((k, v)) = f.split_once('=') else {
                return super::out::usage(format!("--filter {f:?}: expected KEY=VALUE"));
            };
            pairs.push((k.to_owned(), v.to_owned()));
        }
        Ok(pairs)
    }
}

/// Every host the filters select, in their order (host name by default).
async fn filtered(store: &dyn Store, pairs: &[(String, String)], clock: &Clock) -> anyhow::Result<Vec<HostSummary>> {
    let pairs = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let (filter, sort, _) = match HostFilter::from_pairs(pairs) {
        Ok(parsed) => parsed,
        Err(e) => {
            let flag = if e.field.starts_with("package") { "package".to_owned() } else { e.field.replace('_', "-") };
            return super::out::usage(format!("--{flag}: {}", e.message));
        }
    };
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
