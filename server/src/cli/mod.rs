//! The `patchman` command line: `serve` and the admin subcommands.

#[macro_use]
mod out;
mod advisory;
mod audit;
mod config_check;
mod database;
mod enrollment;
mod host;
mod host_show;
mod import;
mod os_group;
mod repo;
mod report;
mod token;
mod user;
mod vercmp;

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use patchman_engine::vercmp::VersionScheme;

use crate::config::{Config, redact_url};
use crate::store;
use crate::store::views::format_time;

#[derive(Debug, Parser)]
#[command(name = "patchman", version, about = "Patch status monitoring for Linux fleets")]
struct Cli {
    /// TOML configuration file (then PATCHMAN_* environment variables override it).
    #[arg(long, global = true, value_name = "FILE", env = "PATCHMAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: gRPC for hosts and the web UI on one address.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Copy every row of one database into another, empty one (e.g. SQLite to PostgreSQL).
    /// Stop the servers first.
    CopyDb {
        #[arg(long, value_name = "URL")]
        from: String,
        #[arg(long, value_name = "URL")]
        to: String,
        /// Print the rows copied per table as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Refresh the package lists of every enabled repository (or one) from their mirrors.
    RefreshRepos {
        /// Only this repository (its id in `patchman repo list`).
        #[arg(long)]
        repo: Option<i64>,
        /// Fetch and parse everything again, even metadata that did not change.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Inspect and link repositories.
    Repo {
        #[command(subcommand)]
        command: repo::RepoCommand,
    },
    /// Work out which hosts need which updates (every host, or one), and say what changed.
    FindUpdates {
        /// Only this host.
        #[arg(long)]
        host: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// A host's report history: `list HOST`, `show HOST [REPORT_ID]`.
    Report {
        #[command(subcommand)]
        command: report::ReportCommand,
    },
    /// Delete reports beyond `jobs.reports_kept_per_host`, transactions older than
    /// `jobs.transactions_kept_days`, repositories no host or OS group uses, and packages
    /// nothing refers to any more.
    Clean {
        /// Count what would be deleted; delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Print the effective configuration (defaults, the --config file, then PATCHMAN_*
    /// variables) with secrets masked, and what is wrong in it (exit status 1 for an error).
    CheckConfig {
        #[arg(long)]
        json: bool,
    },
    /// Print every configuration key at its default, as a TOML file to start from.
    PrintDefaultConfig,
    /// Print the shell completion script (e.g. `patchman completions bash >
    /// /etc/bash_completion.d/patchman`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (patchman.1, patchman-host.1, …) into DIR.
    Manpages { dir: PathBuf },
    /// List the background jobs: interval, next due time, current lease, runs.
    Jobs {
        #[arg(long)]
        json: bool,
    },
    /// The keys hosts enroll with (`patchman-client --enroll KEY`): without a subcommand,
    /// print the site's original key; create, list, revoke.
    EnrollmentKey {
        #[command(subcommand)]
        command: Option<enrollment::EnrollmentKeyCommand>,
    },
    /// Compare version pairs read from stdin (`A B` per line): prints -1, 0 or 1 per line.
    Vercmp {
        #[arg(long = "type", value_parser = ["deb", "rpm"])]
        kind: String,
    },
    /// Security advisories from the feeds: refresh, feeds, list, show, time-to-patch.
    Advisory {
        #[command(subcommand)]
        command: advisory::AdvisoryCommand,
    },
    /// CVEs: `show CVE-…` (exploited?, advisories, hosts exposed and fixed).
    Cve {
        #[command(subcommand)]
        command: advisory::CveCommand,
    },
    /// Inspect hosts.
    Host {
        #[command(subcommand)]
        command: Box<host::HostCommand>,
    },
    /// OS groups ("Debian 12") and the repositories their hosts share.
    OsGroup {
        #[command(subcommand)]
        command: os_group::OsGroupCommand,
    },
    /// Web UI accounts: add, set a password, list, delete.
    User {
        #[command(subcommand)]
        command: user::UserCommand,
    },
    /// Bring over a Patchman 4 installation's hosts, repositories, mirrors and OS releases
    /// from its database (`sqlite:///var/lib/patchman/db/patchman.db`, `postgres://…`),
    /// read-only. What exists here is kept; running it again changes nothing.
    ImportPatchman {
        #[arg(long, value_name = "URL")]
        from: String,
        #[arg(long)]
        json: bool,
    },
    /// API keys for Patchman's clients' uploads (`Authorization: Api-Key …`): create, list, revoke.
    ApiKey {
        #[command(subcommand)]
        command: token::ApiKeyCommand,
    },
    /// API tokens for the query API (`read`, `admin`; `upload` is an API key): create, list,
    /// revoke. Sent as `authorization: Bearer …`.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// The audit log: who changed which account, newest first.
    Audit {
        #[arg(long)]
        json: bool,
        /// Most lines shown.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Commands that need no database.
    let offline = match &cli.command {
        Command::CheckConfig { json } => Some(config_check::check(cli.config.as_deref(), *json)),
        Command::PrintDefaultConfig => Some(config_check::print_default()),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut cmd, "patchman", &mut std::io::stdout());
            Some(Ok(ExitCode::SUCCESS))
        }
        Command::Manpages { dir } => Some(manpages(dir)),
        _ => None,
    };
    if let Some(done) = offline {
        return done.unwrap_or_else(|err| {
            eprintln!("patchman: {err:#}");
            ExitCode::FAILURE
        });
    }
    if let Command::Vercmp { kind } = &cli.command {
        let scheme = if kind == "deb" { VersionScheme::Deb } else { VersionScheme::Rpm };
        return match vercmp::run(scheme, std::io::stdin().lock(), std::io::stdout().lock()) {
            Ok(()) => ExitCode::SUCCESS,
            // The reader went away (`| head`): done.
            Err(err)
                if err.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) =>
            {
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("patchman vercmp: {err:#}");
                ExitCode::from(2)
            }
        };
    }
    init_logging();
    if let Command::CopyDb { from, to, json } = &cli.command {
        let (from, to, json) = (from.clone(), to.clone(), *json);
        if let Err(err) = database::must_exist(&from, "source") {
            eprintln!("patchman: {err}");
            return ExitCode::from(2);
        }
        return block(async move {
            let counts = store::copy::copy_db(&from, &to).await?;
            if json {
                let tables: std::collections::BTreeMap<&str, u64> = counts.iter().map(|(t, n)| (*t, *n)).collect();
                out::json(&tables)?;
                return Ok(ExitCode::SUCCESS);
            }
            for (table, rows) in counts {
                outln!("{table:<20} {rows:>10} rows");
            }
            outln!("copied {} to {}", redact_url(&from), redact_url(&to));
            Ok(ExitCode::SUCCESS)
        });
    }
    block(run(cli))
}

/// Runs a future to completion on a new multi-threaded runtime; errors end the process.
fn block(fut: impl std::future::Future<Output = anyhow::Result<ExitCode>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("patchman: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let done = runtime.block_on(fut);
    // Work abandoned at the end of a grace period (a blocking engine run) does not hold the
    // exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match done {
        Ok(code) => code,
        Err(err) => {
            eprintln!("patchman: {err:#}");
            if err.downcast_ref::<out::Usage>().is_some() { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}

/// Now, and when a host counts as silent.
fn clock(config: &Config) -> crate::query::Clock {
    crate::query::Clock {
        now_ms: crate::clock::now_ms(),
        silent_after_ms: i64::from(config.silent_after_days) * 86_400_000,
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let loaded = Config::load(cli.config.as_deref())?;
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    let config = loaded.config;
    if !matches!(cli.command, Command::Serve | Command::Migrate) {
        database::must_exist(&config.database_url, "patchman")?;
    }
    let store = store::connect_with(&config.database_url, config.database_max_connections)
        .await
        .with_context(|| format!("while opening {}", redact_url(&config.database_url)))?;
    match cli.command {
        Command::Serve => crate::serve::serve(config, store).await.map(|()| ExitCode::SUCCESS),
        Command::Migrate => {
            outln!("migrations applied to {}", redact_url(&config.database_url));
            Ok(ExitCode::SUCCESS)
        }
        Command::EnrollmentKey { command } => enrollment::run(command, &config, &*store).await,
        Command::Host { command } => {
            let clock = crate::query::Clock {
                now_ms: crate::clock::now_ms(),
                silent_after_ms: i64::from(config.silent_after_days) * 86_400_000,
            };
            host::run(*command, store, clock).await
        }
        Command::OsGroup { command } => os_group::run(command, store).await,
        Command::Advisory { command } => advisory::run(command, &config, store, clock(&config)).await,
        Command::Cve { command } => advisory::run_cve(command, store, clock(&config)).await,
        Command::User { command } => user::run(command, &*store).await,
        Command::ApiKey { command } => token::run_api_key(command, &*store).await,
        Command::Token { command } => token::run_token(command, &*store).await,
        Command::ImportPatchman { from, json } => import::run(&from, &*store, json).await,
        Command::Audit { json, limit } => audit::run(&*store, json, limit).await,
        Command::RefreshRepos { repo, force, json } => repo::refresh(&config, store, repo, force, json).await,
        Command::Repo { command } => repo::run(command, store).await,
        Command::FindUpdates { host, json } => {
            let updater = crate::updates::Updater::new(store.clone());
            let started = std::time::Instant::now();
            let stats = match host {
                Some(name) => {
                    let Some(id) = store.host_id(&name.to_ascii_lowercase()).await? else {
                        return out::usage(format!("no host named {name}"));
                    };
                    store.mark_stale(Some(&[id])).await?;
                    updater.recompute(&[id]).await?
                }
                None => updater.recompute_all().await?,
            };
            crate::exposures::recompute_stale(&*store).await?;
            if json {
                out::json(&stats)?;
            } else if stats.hosts_changed == 0 {
                outln!(
                    "nothing changed: {} hosts computed, {} updates, in {:.2} s",
                    stats.hosts,
                    stats.updates,
                    started.elapsed().as_secs_f64()
                );
            } else {
                outln!(
                    "{} of {} hosts changed: {} updates added, {} removed ({} updates in all), in {:.2} s",
                    stats.hosts_changed,
                    stats.hosts,
                    stats.updates_added,
                    stats.updates_removed,
                    stats.updates,
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report { command } => report::run(command, &*store).await,
        Command::Clean { dry_run, json } => {
            let keep = config.jobs.reports_kept_per_host.max(1);
            let before = crate::clock::now_ms() - (config.jobs.transactions_kept_days * 86_400_000) as i64;
            let counts = store.clean(keep, before, dry_run).await?;
            if json {
                out::json(&serde_json::json!({ "dry_run": dry_run, "deleted": counts }))?;
            } else {
                let verb = if dry_run { "would delete" } else { "deleted" };
                outln!(
                    "{verb}: {} reports (beyond {keep} per host), {} transactions (older than {} days), \
                     {} repositories used by nobody, {} packages nothing refers to",
                    counts.reports,
                    counts.transactions,
                    config.jobs.transactions_kept_days,
                    counts.repositories,
                    counts.packages
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs { json } => {
            let jobs = store.jobs().await?;
            if json {
                out::json(&jobs)?;
            } else {
                outln!("{:<16} {:>10} {:<22} {:>6} LEASE", "JOB", "EVERY", "NEXT DUE", "RUNS");
                for j in jobs {
                    let lease = j.lease_owner.map(|o| format!("held by {o}")).unwrap_or_default();
                    let every = humantime::format_duration(std::time::Duration::from_millis(j.interval_ms as u64));
                    outln!(
                        "{:<16} {:>10} {:<22} {:>6} {lease}",
                        j.name,
                        every.to_string(),
                        format_time(j.due_at),
                        j.runs
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Vercmp { .. }
        | Command::CopyDb { .. }
        | Command::CheckConfig { .. }
        | Command::PrintDefaultConfig
        | Command::Completions { .. }
        | Command::Manpages { .. } => unreachable!("handled before a store is opened"),
    }
}

/// A man page for `patchman` and one for each command (`patchman-host.1`, …) in `dir`.
fn manpages(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("while creating {}", dir.display()))?;
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut pages = vec![("patchman".to_owned(), cmd.clone())];
    for sub in cmd.get_subcommands() {
        // Each page's name is its file's; a one-shot command may leak the few strings.
        let name: &'static str = format!("patchman-{}", sub.get_name()).leak();
        pages.push((name.to_owned(), sub.clone().name(name)));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut file = std::fs::File::create(&path).with_context(|| format!("while writing {}", path.display()))?;
        clap_mangen::Man::new(page).render(&mut file)?;
        outln!("{}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Logs go to stderr; `PATCHMAN_LOG` (e.g. `debug`, `patchman_server=trace,info`) sets the
/// level, `PATCHMAN_LOG_FORMAT=json` makes each line a JSON object (with the request id of the
/// request it was written for).
fn init_logging() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter: Targets = std::env::var("PATCHMAN_LOG")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| Targets::new().with_default(tracing::Level::INFO));
    let json = std::env::var("PATCHMAN_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let _ = if json {
        tracing_subscriber::registry()
            .with(filter)
            .with(fmt.json().with_current_span(true).with_span_list(false))
            .try_init()
    } else {
        tracing_subscriber::registry().with(filter).with(fmt.with_ansi(std::io::stderr().is_terminal())).try_init()
    };
}

#[cfg(test)]
mod tests {
    /// clap's own checks of every command and argument (they otherwise run only when a
    /// command is used).
    #[test]
    fn commands_are_well_formed() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
