//! `patchman advisory refresh|feeds|list|show|time-to-patch` and `patchman cve show`.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use crate::advisories::windows::{GroupBy, time_to_patch};
use crate::config::Config;
use crate::exposures::feeds::FeedRefresher;
use crate::query::{AdvisoryFilter, Clock, PageRequest};
use crate::store::Store;
use crate::store::views::format_time;

#[derive(Debug, Subcommand)]
pub enum AdvisoryCommand {
    /// Read the security feeds (`[[advisories.feed]]`; all, or one) and work out again the
    /// exposures of the hosts they concern. Exit status 1 when a feed failed (its previous
    /// advisories stay).
    Refresh {
        #[arg(long)]
        feed: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The feeds and what their last read found.
    Feeds {
        #[arg(long)]
        json: bool,
    },
    /// Advisories, most severe first: all, or those a host is exposed to (--host), or those
    /// the filters select (`--filter cve=CVE-…`, severity, exploited=true, exposed=true,
    /// package, feed).
    List {
        #[arg(long)]
        host: Option<String>,
        #[arg(long = "filter", value_name = "KEY=VALUE")]
        filters: Vec<String>,
        /// Most advisories listed.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// One advisory: its CVEs, fixed versions per release, hosts exposed and hosts fixed.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Time to patch: from first seen exposed to fixed, median and 90th percentile in days
    /// over the last DAYS days, in all or per host, OS group or severity. Windows of hosts
    /// that stopped reporting are counted as unknown, never fixed.
    TimeToPatch {
        #[arg(long, default_value = "all", value_parser = ["all", "host", "group", "severity"])]
        by: String,
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum CveCommand {
    /// A CVE: whether it is known exploited, the advisories and errata naming it, the hosts
    /// exposed (package, installed and fixed version, since when) and the hosts fixed.
    Show {
        cve: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(
    command: AdvisoryCommand,
    config: &Config,
    store: Arc<dyn Store>,
    clock: Clock,
) -> anyhow::Result<ExitCode> {
    match command {
        AdvisoryCommand::Refresh { feed, json } => refresh(config, &*store, feed.as_deref(), json).await,
        AdvisoryCommand::Feeds { json } => {
            let feeds = store.feed_states().await?;
            if json {
                super::out::json(&feeds)?;
                return Ok(ExitCode::SUCCESS);
            }
            for f in &feeds {
                let state = if f.fail_count > 0 {
                    format!("FAILING ({} in a row): {}", f.fail_count, f.last_error)
                } else {
                    "ok".to_owned()
                };
                outln!(
                    "{:<20} {:<15} {:>7} records  last read {}  {}",
                    f.name,
                    f.kind,
                    f.record_count,
                    f.last_success_at.map(format_time).unwrap_or_else(|| "never".to_owned()),
                    state
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        AdvisoryCommand::List { host, filters, limit, json } => {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for f in &filters {
                let Some((k, v)) = f.split_once('=') else {
                    return super::out::usage(format!("--filter {f:?}: expected KEY=VALUE"));
                };
                pairs.push((k.to_owned(), v.to_owned()));
            }
            if let Some(h) = &host {
                pairs.push(("host".to_owned(), h.to_ascii_lowercase()));
                if store.host_id(&h.to_ascii_lowercase()).await?.is_none() {
                    return super::out::usage(format!("no host named {h}"));
                }
            }
            let filter = match AdvisoryFilter::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                Ok(f) => f,
                Err(e) => return super::out::usage(e.to_string()),
            };
            if let Some(h) = &host {
                return host_exposures(&*store, &h.to_ascii_lowercase(), json).await;
            }
            let page = PageRequest { page: 1, per_page: limit.clamp(1, PageRequest::MAX_PER_PAGE) };
            let list = store.advisory_list(&filter, page).await?;
            if json {
                super::out::json(&serde_json::json!({ "total": list.total, "advisories": list.rows }))?;
                return Ok(ExitCode::SUCCESS);
            }
            for a in &list.rows {
                outln!(
                    "{:<22} {:<11} {:>5} hosts  {}{}  {}",
                    a.name,
                    if a.severity.is_empty() { "unrated" } else { &a.severity },
                    a.hosts_exposed,
                    if a.exploited { "EXPLOITED " } else { "" },
                    a.cves.join(","),
                    a.summary
                );
            }
            if list.total > list.rows.len() as u64 {
                outln!("({} of {} advisories; --limit shows more)", list.rows.len(), list.total);
            }
            Ok(ExitCode::SUCCESS)
        }
        AdvisoryCommand::Show { name, json } => {
            let Some(d) = store.advisory_detail(&name, &clock).await? else {
                return super::out::usage(format!("no advisory named {name}"));
            };
            if json {
                super::out::json(&d)?;
                return Ok(ExitCode::SUCCESS);
            }
            let a = &d.advisory;
            outln!(
                "{} ({}, from {}){}",
                a.name,
                or_unrated(&a.severity),
                a.feed,
                if a.exploited { " EXPLOITED" } else { "" }
            );
            outln!("{}", a.summary);
            if let Some(t) = a.issued_at {
                outln!("issued {}", format_time(t));
            }
            if let Some(t) = a.withdrawn_at {
                outln!("WITHDRAWN {}", format_time(t));
            }
            outln!("CVEs: {}", a.cves.join(" "));
            outln!();
            outln!("Fixed versions:");
            for p in &d.packages {
                outln!("  {:<16} {:<24} {} {}", p.release, p.package, p.status, p.fixed);
            }
            exposed_lines(&d.exposed);
            fixed_lines(&d.fixed);
            Ok(ExitCode::SUCCESS)
        }
        AdvisoryCommand::TimeToPatch { by, days, json } => {
            let group_by = GroupBy::parse(&by).unwrap_or(GroupBy::All);
            let from = clock.now_ms - i64::from(days) * 86_400_000;
            let windows = store.exposure_windows(from, clock.now_ms + 1, &clock).await?;
            let rows = time_to_patch(&windows, group_by, from, clock.now_ms + 1);
            if json {
                super::out::json(&rows)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("{:<30} {:>6} {:>12} {:>12} {:>6} {:>8}", by, "fixed", "median days", "p90 days", "open", "unknown");
            for r in &rows {
                let d = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "-".to_owned());
                outln!(
                    "{:<30} {:>6} {:>12} {:>12} {:>6} {:>8}",
                    r.key,
                    r.fixed,
                    d(r.median_days),
                    d(r.p90_days),
                    r.open,
                    r.unknown
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub async fn run_cve(command: CveCommand, store: Arc<dyn Store>, clock: Clock) -> anyhow::Result<ExitCode> {
    let CveCommand::Show { cve, json } = command;
    let cve = cve.to_ascii_uppercase();
    if !crate::advisories::is_cve(&cve) {
        return super::out::usage(format!("{cve:?} is not a CVE id (CVE-YYYY-NNNN)"));
    }
    let Some(d) = store.cve_detail(&cve, &clock).await? else {
        return super::out::usage(format!("no advisory, erratum or catalogue entry names {cve}"));
    };
    if json {
        super::out::json(&d)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{} ({})", d.cve, or_unrated(&d.severity));
    if let Some(k) = &d.exploited {
        outln!(
            "EXPLOITED in the wild (CISA KEV{}): {}{}",
            k.added_at.map(|t| format!(", added {}", &format_time(t)[..10])).unwrap_or_default(),
            k.name,
            if k.ransomware { "; used by ransomware" } else { "" }
        );
    }
    for a in &d.advisories {
        outln!(
            "advisory {:<22} {:<11} {}{}",
            a.name,
            or_unrated(&a.severity),
            a.summary,
            if a.withdrawn_at.is_some() { " (withdrawn)" } else { "" }
        );
    }
    for e in &d.errata {
        outln!("erratum  {:<22} {:<11} {} hosts with its update", e.erratum, or_unrated(&e.severity), e.hosts.len());
    }
    exposed_lines(&d.exposed);
    fixed_lines(&d.fixed);
    Ok(ExitCode::SUCCESS)
}

async fn refresh(config: &Config, store: &dyn Store, only: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    if let Some(name) = only
        && !config.advisories.feeds.iter().any(|f| f.name == name)
    {
        return super::out::usage(format!("no feed named {name} in [[advisories.feed]]"));
    }
    let refresher = FeedRefresher::new(&config.advisories, &config.repos)?;
    let outcomes = refresher.run(store, only).await?;
    let stats = crate::exposures::recompute_stale(store).await?;
    let failed = outcomes.iter().any(|o| o.status == "failed");
    if json {
        super::out::json(&serde_json::json!({ "feeds": outcomes, "exposures": stats }))?;
    } else {
        for o in &outcomes {
            match &o.error {
                Some(e) => outln!("{}: failed: {e}", o.feed),
                None => outln!(
                    "{}: {} ({} added, {} changed, {} withdrawn; {} hosts concerned, {} computed at once)",
                    o.feed,
                    o.status,
                    o.change.added,
                    o.change.changed,
                    o.change.withdrawn,
                    o.change.hosts_marked,
                    o.hosts_computed
                ),
            }
        }
        outln!(
            "exposures: {} hosts computed, {} exposures, {} windows opened, {} closed",
            stats.hosts,
            stats.exposures,
            stats.windows_opened,
            stats.windows_closed
        );
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn host_exposures(store: &dyn Store, host: &str, json: bool) -> anyhow::Result<ExitCode> {
    let Some(list) = store.host_exposures(host).await? else {
        return super::out::usage(format!("no host named {host}"));
    };
    if json {
        super::out::json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in &list {
        outln!(
            "{:<22} {:<11} {}{:<28} {} -> {}  {}",
            e.advisory,
            or_unrated(&e.severity),
            if e.exploited { "EXPLOITED " } else { "" },
            e.package,
            e.installed,
            if e.fixed.is_empty() { "no fix yet" } else { &e.fixed },
            e.cves.join(",")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn or_unrated(s: &str) -> &str {
    if s.is_empty() { "unrated" } else { s }
}

fn exposed_lines(exposed: &[crate::store::ExposedHostView]) {
    outln!();
    outln!("Exposed hosts ({}):", exposed.len());
    for e in exposed {
        outln!(
            "  {:<30} {:<22} {:<24} {} -> {}  since {}{}",
            e.hostname,
            e.advisory,
            e.package,
            e.installed,
            if e.fixed.is_empty() { "no fix yet" } else { &e.fixed },
            e.since.map(format_time).unwrap_or_else(|| "-".to_owned()),
            if e.silent { "  (silent: unknown since)" } else { "" }
        );
    }
}

fn fixed_lines(fixed: &[crate::store::FixedHostView]) {
    outln!();
    outln!("Fixed hosts ({}):", fixed.len());
    for f in fixed {
        outln!(
            "  {:<30} {:<22} exposed {} fixed {}",
            f.hostname,
            f.advisory,
            format_time(f.opened_at),
            format_time(f.fixed_at)
        );
    }
}
