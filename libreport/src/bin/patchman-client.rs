//! `patchman-client`: collect this host's state and report it to the patchman server.
//!
//! Every report goes through the spool (`<state-dir>/spool`): a normal run spools the new
//! state, then delivers everything the spool holds; `--flush` only delivers; `--detach` (for
//! package-manager hooks) only spools and leaves delivery to a detached `--flush`.

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Parser;
use libreport::collect::{CollectOptions, collect};
use libreport::hooks::{ClientConfig, Reporter};
use libreport::model::{Report, Trigger};
use libreport::spool::Spool;
use libreport::spool::deliver::{DeliverError, Delivery, deliver};
use libreport::state::StateDir;
use libreport::transport::{self, Link, SendError, TlsFiles};

/// How long a delivery waits for another one to finish (it then sends what is left).
const DELIVERY_LOCK_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug, Parser)]
#[command(name = "patchman-client", version, about = "Report this host's packages to a patchman server")]
struct Args {
    /// The server, e.g. https://patchman.example.org:8080 (or PATCHMAN_SERVER, or `server` in
    /// the config file).
    #[arg(long, env = "PATCHMAN_SERVER")]
    server: Option<String>,
    /// With an https:// server: trust only the CAs in this PEM file (default: the system's
    /// trust store).
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// A client certificate (PEM) for servers that require one; with --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<PathBuf>,
    /// The configuration file (default: PATCHMAN_CONFIG, else /etc/patchman/client.toml when
    /// it exists). Command-line options win over it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read the host's files under this directory instead of /.
    #[arg(long)]
    root: Option<PathBuf>,
    /// Report under this host name instead of the host's own.
    #[arg(long)]
    hostname: Option<String>,
    /// Comma-separated tags, e.g. web,prod.
    #[arg(long, value_delimiter = ',')]
    tags: Vec<String>,
    /// Enroll with the site's enrollment key first and keep the host token.
    #[arg(long, value_name = "KEY", env = "PATCHMAN_ENROLLMENT_KEY")]
    enroll: Option<String>,
    /// Where the host token and the spool live (default /var/lib/patchman-client).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Print the report as JSON and send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Deliver what the spool holds (states and transaction records not yet acknowledged)
    /// and collect nothing new.
    #[arg(long, conflicts_with_all = ["dry_run", "detach"])]
    flush: bool,
    /// For package-manager hooks: collect and spool, start a detached `--flush`, and return at
    /// once. Always exits 0; prints one line on error.
    #[arg(long, conflicts_with = "dry_run")]
    detach: bool,
    /// With --detach: the tool named in the transaction record (dnf5, dpkg, ...).
    #[arg(long, default_value = "patchman-client")]
    tool: String,
    /// Why this report is sent: timer, transaction or manual (default: transaction with
    /// --detach, else manual on a terminal, timer otherwise).
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
    if args.detach {
        // Even a bug costs one line, never a backtrace or a failed transaction.
        std::panic::set_hook(Box::new(|_| {}));
        match std::panic::catch_unwind(|| detach(&args)) {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("patchman-client: {err}"),
            Err(_) => eprintln!("patchman-client: internal error (a bug); the report waits for the next run"),
        }
        return ExitCode::SUCCESS;
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("patchman-client: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration file with the command line laid over it.
fn config(args: &Args) -> anyhow::Result<ClientConfig> {
    let mut config = ClientConfig::load(args.config.as_deref()).context("while reading the configuration")?;
    if let Some(server) = &args.server {
        config.server = Some(server.clone());
    }
    for (from, to) in [
        (&args.ca_file, &mut config.ca_file),
        (&args.client_cert, &mut config.client_cert),
        (&args.client_key, &mut config.client_key),
    ] {
        if from.is_some() {
            to.clone_from(from);
        }
    }
    if let Some(dir) = &args.state_dir {
        config.state_dir = dir.clone();
    }
    if let Some(root) = &args.root {
        config.root = root.clone();
    }
    if let Some(name) = &args.hostname {
        config.hostname = Some(name.clone());
    }
    let tags: Vec<String> = args.tags.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
    if !tags.is_empty() {
        config.tags = tags;
    }
    Ok(config)
}

fn trigger(args: &Args) -> Trigger {
    match args.trigger.as_deref() {
        Some("timer") => Trigger::Timer,
        Some("transaction") => Trigger::Transaction,
        Some(_) => Trigger::Manual,
        None if args.detach => Trigger::Transaction,
        None if std::io::stdin().is_terminal() => Trigger::Manual,
        None => Trigger::Timer,
    }
}

/// Hook mode: errors are one line each (no chains), the exit status is always success.
fn detach(args: &Args) -> Result<(), String> {
    let mut config = config(args).map_err(|e| format!("{e:#}"))?;
    // This very program delivers the spool.
    if let Ok(exe) = std::env::current_exe() {
        config.client = exe;
    }
    let mut reporter = Reporter::new(config, &args.tool);
    reporter.report(trigger(args)).map(drop).map_err(|e| e.to_string())
}

fn run(args: Args) -> anyhow::Result<()> {
    let config = config(&args)?;
    let spool_dir = config.state_dir.join("spool");
    let report = if args.flush {
        None
    } else {
        let options = CollectOptions {
            root: config.root.clone(),
            hostname: config.hostname.clone(),
            kernel: args.kernel.clone(),
            arch: args.arch.clone(),
        };
        let state = collect(&options).with_context(|| format!("while collecting from {}", config.root.display()))?;
        Some(Report::new(state, trigger(&args), config.tags.clone(), Vec::new()))
    };
    if args.dry_run {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ =
            serde_json::to_writer_pretty(&mut out, &report).map_err(std::io::Error::from).and_then(|()| writeln!(out));
        return Ok(());
    }
    let Some(server) = config.server.clone() else {
        bail!("no server: pass --server URL, set PATCHMAN_SERVER or `server` in the config file")
    };
    let spool = Spool::open(&spool_dir).context("while opening the spool")?;
    if let Some(report) = &report {
        spool.add(Some(report), None).context("while spooling the report")?;
    }
    let Some(lock) = spool.lock_delivery(DELIVERY_LOCK_WAIT).context("while locking the spool")? else {
        eprintln!("another patchman-client is delivering the spool; it sends this report too");
        return Ok(());
    };
    // Enrolling needs the host's name: the new report's, else the spooled state's.
    let host = match &report {
        Some(r) => Some((r.state.hostname.clone(), r.state.machine_id.clone())),
        None => spool.pending()?.state.map(|s| (s.state.hostname, s.state.machine_id)),
    };
    let state_dir = StateDir::new(&config.state_dir);
    let link = Link {
        timeouts: Default::default(),
        tls: TlsFiles {
            ca_file: config.ca_file.clone(),
            client_cert: config.client_cert.clone(),
            client_key: config.client_key.clone(),
        },
    };
    let delivery = transport::block_on(async {
        let enroll = || async {
            let (Some(key), Some((hostname, machine_id))) = (&args.enroll, &host) else {
                bail!(
                    "this host is not enrolled: run once with --enroll KEY (`patchman enrollment-key` on the server prints it)"
                )
            };
            let token =
                transport::enroll(&server, key, hostname, machine_id, &link).await.context("while enrolling")?;
            state_dir.save_token(&token).context("while saving the host token")?;
            eprintln!("enrolled {hostname} with {server}");
            Ok(token)
        };
        // --enroll is idempotent: a stored token is used; the key is spent only when there is
        // none, or when the server no longer knows the stored one (host deleted).
        let stored = state_dir.token().context("while reading the host token")?;
        let token = match stored {
            Some(token) => token,
            None if args.flush && spool.pending()?.is_empty() => return Ok(Delivery::default()),
            None => enroll().await?,
        };
        match deliver(&spool, &lock, &server, &token, &link).await {
            Err(DeliverError::Send(SendError::Refused { code: tonic::Code::Unauthenticated, .. }))
                if args.enroll.is_some() =>
            {
                let token = enroll().await?;
                deliver(&spool, &lock, &server, &token, &link).await
            }
            other => other,
        }
        .context("while delivering (what was not acknowledged waits in the spool)")
    })??;
    summarise(&delivery, &spool);
    Ok(())
}

fn summarise(delivery: &Delivery, spool: &Spool) {
    for (report_id, ack) in &delivery.reports {
        eprintln!("report {report_id} {}: {} packages", ack.outcome, ack.package_count);
    }
    if delivery.transactions > 0 {
        eprintln!("delivered {} transaction records", delivery.transactions);
    }
    if delivery.waiting_for_state > 0 {
        eprintln!(
            "{} transaction records wait for a state to carry them: run patchman-client without --flush",
            delivery.waiting_for_state
        );
    }
    if delivery.reports.is_empty() {
        eprintln!("nothing to deliver");
    }
    let dropped = spool.dropped();
    if dropped > 0 {
        eprintln!("{dropped} transaction records were refused while the spool was full ({})", spool.dir().display());
    }
}
