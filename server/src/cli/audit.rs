//! `patchman audit`: the newest lines of the audit log (who changed which user, and when).

use std::process::ExitCode;

use crate::store::AccountStore;
use crate::store::views::format_time;

pub async fn run(store: &dyn AccountStore, json: bool, limit: i64) -> anyhow::Result<ExitCode> {
    let log = store.audit_log(limit.max(1)).await?;
    if json {
        super::out::json(&log)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!("{:<22} {:<20} {:<14} {:<24} DETAIL", "AT", "ACTOR", "ACTION", "TARGET");
    for e in log {
        outln!("{:<22} {:<20} {:<14} {:<24} {}", format_time(e.at), e.actor, e.action, e.target, e.detail);
    }
    Ok(ExitCode::SUCCESS)
}
