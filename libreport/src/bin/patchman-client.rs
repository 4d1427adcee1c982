//! `patchman-client`: collect this host's state and report it to the patchman server.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::Parser;
use libreport::collect::{CollectOptions, collect};
use libreport::model::{Report, Trigger};
use libreport::state::{DEFAULT_STATE_DIR, StateDir};
use libreport::transport::{self, SendError, Timeouts};

#[derive(Debug, Parser)]
#[command(name = "patchman-client", version, about = "Report this host's packages to a patchman server")]
struct Args {
    /// The server, e.g. http://patchman.example.org:8080 (or PATCHMAN_SERVER).
    #[arg(long, env = "PATCHMAN_SERVER")]
    server: Option<String>,
    /// Read the host's files under this directory instead of /.
    #[arg(long, default_value = "/")]
    root: PathBuf,
    /// Report under this host name instead of the host's own.
    #[arg(long)]
    hostname: Option<String>,
    /// Comma-separated tags, e.g. web,prod.
    #[arg(long, value_delimiter = ',')]
    tags: Vec<String>,
    /// Enroll with the site's enrollment key first and keep the host token.
    #[arg(long, value_name = "KEY", env = "PATCHMAN_ENROLLMENT_KEY")]
    enroll: Option<String>,
    /// Where the host token (and the spool) live.
    #[arg(long, default_value = DEFAULT_STATE_DIR)]
    state_dir: PathBuf,
    /// Print the report as JSON and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Why this report is sent: timer, transaction or manual (default: manual on a
    /// terminal, timer otherwise).
    #[arg(long, value_parser = ["timer", "transaction", "manual"])]
    trigger: Option<String>,
    /// Use this kernel release instead of `uname -r` (for fixture roots).
    #[arg(long, hide = true)]
    kernel: Option<String>,
    /// Use this machine architecture instead of `uname -m` (for fixture roots).
    #[arg(long, hide = true)]
    arch: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("patchman-client: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let options =
        CollectOptions { root: args.root.clone(), hostname: args.hostname, kernel: args.kernel, arch: args.arch };
    let state = collect(&options).with_context(|| format!("while collecting from {}", args.root.display()))?;
    let trigger = match args.trigger.as_deref() {
        Some("timer") => Trigger::Timer,
        Some("transaction") => Trigger::Transaction,
        Some(_) => Trigger::Manual,
        None if std::io::stdin().is_terminal() => Trigger::Manual,
        None => Trigger::Timer,
    };
    let tags = args.tags.into_iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    let report = Report::new(state, trigger, tags, Vec::new());
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ =
            serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::from).and_then(|()| writeln!(out));
        return Ok(());
    }
    let Some(server) = args.server else { bail!("no server: pass --server URL or set PATCHMAN_SERVER") };
    let state_dir = StateDir::new(&args.state_dir);
    let timeouts = Timeouts::default();
    transport::block_on(async {
        let enroll = || async {
            let Some(key) = &args.enroll else {
                bail!(
                    "this host is not enrolled: run once with --enroll KEY (`patchman enrollment-key` on the server prints it)"
                )
            };
            let token = transport::enroll(&server, key, &report.state.hostname, &report.state.machine_id, timeouts)
                .await
                .context("while enrolling")?;
            state_dir.save_token(&token).context("while saving the host token")?;
            eprintln!("enrolled {} with {server}", report.state.hostname);
            Ok(token)
        };
        // --enroll is idempotent: a stored token is used; the key is spent only when there is
        // none, or when the server no longer knows the stored one (host deleted).
        let stored = state_dir.token().context("while reading the host token")?;
        let token = match stored {
            Some(token) => token,
            None => enroll().await?,
        };
        let ack = match transport::submit(&server, &token, &report, timeouts).await {
            Err(SendError::Refused { code: tonic::Code::Unauthenticated, .. }) if args.enroll.is_some() => {
                let token = enroll().await?;
                transport::submit(&server, &token, &report, timeouts).await
            }
            other => other,
        }
        .context("while sending the report")?;
        eprintln!("report {} {}: {} packages", report.report_id, ack.outcome, ack.package_count);
        Ok(())
    })?
}
