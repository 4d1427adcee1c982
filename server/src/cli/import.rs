//! `patchman import-patchman --from URL`: prints what it brought over from a Patchman 4
//! database and what it skipped, and why. Recorded in the audit log as `cli:$USER`.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::config::redact_url;
use crate::store::{ImportSummary, Store};

pub async fn run(from: &str, store: &dyn Store, json: bool) -> anyhow::Result<ExitCode> {
    let data = crate::store::patchman_source::read_patchman(from)
        .await
        .with_context(|| format!("while reading {}", redact_url(from)))?;
    let (org, mut summary) = crate::compat::import::organisation(&data);
    let written = store.import_organisation(&org, crate::clock::now_ms()).await?;
    summary.lines.extend(written.lines);
    if json {
        let lines: Vec<serde_json::Value> = summary
            .lines
            .iter()
            .map(|l| serde_json::json!({ "what": l.what, "name": l.name, "brought": l.skipped.is_none(), "skipped": l.skipped }))
            .collect();
        super::out::json(&lines)?;
    } else {
        print(&summary);
    }
    let brought = summary.brought_count();
    super::user::audit(store, "import-patchman", &redact_url(from), &format!("{brought} items brought")).await?;
    Ok(ExitCode::SUCCESS)
}

fn print(summary: &ImportSummary) {
    for line in &summary.lines {
        match &line.skipped {
            None => outln!("brought  {:<20} {}", line.what, line.name),
            Some(why) => outln!("skipped  {:<20} {}: {why}", line.what, line.name),
        }
    }
    let skipped = summary.lines.len() - summary.brought_count();
    outln!("{} brought, {skipped} skipped", summary.brought_count());
}
