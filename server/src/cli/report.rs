//! `patchman report list HOST` (the host's kept reports, newest first) and `patchman report
//! show HOST [REPORT_ID]` (one report, the newest by default, with the transactions that came
//! with it).

use std::process::ExitCode;

use clap::Subcommand;

use crate::store::Store;
use crate::store::views::{ReportView, TransactionView, format_time};

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The host's reports, newest first (as many as `jobs.reports_kept_per_host` keeps).
    List {
        host: String,
        #[arg(long)]
        json: bool,
    },
    /// One report of the host (the newest when no id is given) and its transactions.
    Show {
        host: String,
        report_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(serde::Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    report: &'a ReportView,
    transactions: Vec<TransactionView>,
}

pub async fn run(command: ReportCommand, store: &dyn Store) -> anyhow::Result<ExitCode> {
    match command {
        ReportCommand::List { host, json } => {
            let reports = history(store, &host).await?;
            if json {
                super::out::json(&reports)?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!(
                "{:<40} {:<22} {:<22} {:<10} {:>8} {:>6} {:>7}",
                "REPORT",
                "GENERATED",
                "RECEIVED",
                "TRIGGER",
                "PACKAGES",
                "ADDED",
                "REMOVED"
            );
            for r in &reports {
                outln!(
                    "{:<40} {:<22} {:<22} {:<10} {:>8} {:>6} {:>7}{}",
                    r.report_id,
                    format_time(r.generated_at),
                    format_time(r.received_at),
                    r.trigger,
                    r.package_count,
                    r.added,
                    r.removed,
                    if r.superseded { "  superseded" } else { "" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportCommand::Show { host, report_id, json } => {
            let reports = history(store, &host).await?;
            let report = match &report_id {
                Some(id) => reports.iter().find(|r| &r.report_id == id),
                None => reports.first(),
            };
            let Some(report) = report else {
                let what = report_id.map_or_else(|| "no reports".to_owned(), |id| format!("no report {id}"));
                return super::out::usage(format!("host {host} has {what} (kept)"));
            };
            let transactions = store.report_transactions(&host.to_ascii_lowercase(), &report.report_id).await?;
            if json {
                super::out::json(&Shown { report, transactions })?;
                return Ok(ExitCode::SUCCESS);
            }
            outln!("report:    {}", report.report_id);
            outln!("generated: {}", format_time(report.generated_at));
            outln!("received:  {}", format_time(report.received_at));
            outln!("trigger:   {}", report.trigger);
            outln!("packages:  {} ({} added, {} removed)", report.package_count, report.added, report.removed);
            if report.superseded {
                outln!("applied:   no: a newer report of the host had arrived first");
            }
            for t in &transactions {
                outln!("\ntransaction {} ({}, {}):", t.transaction_id, t.tool, format_time(t.finished_at));
                for c in &t.changes {
                    outln!("  {:<10} {:<40} {:<8} {} → {}", c.action, c.name, c.arch, c.old_version, c.new_version);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn history(store: &dyn Store, host: &str) -> anyhow::Result<Vec<ReportView>> {
    match store.report_history(&host.to_ascii_lowercase()).await? {
        Some(reports) => Ok(reports),
        None => super::out::usage(format!("no host named {host}")),
    }
}
