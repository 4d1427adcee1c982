//! Delivering the spool: the newest state and every pending transaction record, in order,
//! in as few reports as the server's limits allow (one, in practice). Each report gets a new
//! id, so the server never mistakes a re-send for a duplicate report and skips its records;
//! the records themselves are stored once per transaction id however often they arrive.
//! Files are removed only after the server acknowledged them.

use crate::model::{Report, new_id};
use crate::spool::{DeliveryLock, Pending, Record, Spool, SpoolError};
use crate::transport::{self, Ack, Link, SendError};

/// Per report: below the server's limits (10,000 transactions, 100,000 changes, 32 MiB).
const MAX_RECORDS_PER_REPORT: usize = 5_000;
const MAX_CHANGES_PER_REPORT: usize = 50_000;
const MAX_RECORD_BYTES_PER_REPORT: u64 = 8 << 20;
/// Records keep arriving while we send: look again this many times at most.
const MAX_ROUNDS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error(transparent)]
    Send(#[from] SendError),
}

impl DeliverError {
    /// Whether trying again later may succeed (the spool keeps everything either way).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Spool(_) => true,
            Self::Send(e) => e.is_transient(),
        }
    }
}

/// What one delivery sent.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Each report sent, with the server's answer.
    pub reports: Vec<(String, Ack)>,
    /// Transaction records acknowledged.
    pub transactions: usize,
    /// Whether a new state was acknowledged.
    pub state_delivered: bool,
    /// Records waiting for a state to carry them (the spool never held one).
    pub waiting_for_state: usize,
}

/// Sends what the spool holds. The caller holds the delivery lock, so no other process sends
/// the same records at the same time.
pub async fn deliver(
    spool: &Spool,
    _lock: &DeliveryLock,
    server: &str,
    token: &str,
    link: &Link,
) -> Result<Delivery, DeliverError> {
    let mut delivery = Delivery::default();
    for _ in 0..MAX_ROUNDS {
        let pending = spool.pending()?;
        if pending.is_empty() {
            break;
        }
        let Some(state) = &pending.state else {
            delivery.waiting_for_state = pending.records.len();
            break;
        };
        let mut state_id = pending.state_is_new.then(|| state.report_id.clone());
        for chunk in chunks(&pending) {
            let report = Report {
                report_id: new_id(),
                transactions: chunk.iter().map(|r| r.transaction.clone()).collect(),
                ..state.clone()
            };
            let ack = transport::submit(server, token, &report, link).await?;
            let names: Vec<String> = chunk.iter().map(|r| r.name.clone()).collect();
            spool.mark_delivered(state_id.as_deref(), &names)?;
            delivery.state_delivered |= state_id.take().is_some();
            delivery.transactions += names.len();
            delivery.reports.push((report.report_id, ack));
        }
    }
    Ok(delivery)
}

/// The records split into reports the server accepts; one empty chunk when there are none
/// (the state alone).
fn chunks(pending: &Pending) -> Vec<&[Record]> {
    let records = &pending.records[..];
    if records.is_empty() {
        return vec![records];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let (mut end, mut changes, mut bytes) = (start, 0, 0);
        while end < records.len() {
            let r = &records[end];
            let over = end - start >= MAX_RECORDS_PER_REPORT
                || changes + r.transaction.changes.len() > MAX_CHANGES_PER_REPORT
                || bytes + r.bytes > MAX_RECORD_BYTES_PER_REPORT;
            if over && end > start {
                break;
            }
            changes += r.transaction.changes.len();
            bytes += r.bytes;
            end += 1;
        }
        out.push(&records[start..end]);
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChangeAction, PackageChange, Transaction};

    fn record(i: usize, changes: usize) -> Record {
        let change = PackageChange {
            action: ChangeAction::Installed,
            name: "p".into(),
            arch: "all".into(),
            old_version: String::new(),
            new_version: "1".into(),
        };
        Record {
            name: format!("tx-{i:010}-x.json"),
            bytes: 100,
            transaction: Transaction {
                transaction_id: format!("t{i}"),
                finished_at_ms: 1,
                tool: "apt".into(),
                changes: vec![change; changes],
            },
        }
    }

    #[test]
    fn records_are_split_below_the_server_limits_and_keep_their_order() {
        let pending = Pending { records: (0..12_000).map(|i| record(i, 1)).collect(), ..Pending::default() };
        let sizes: Vec<usize> = chunks(&pending).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [5_000, 5_000, 2_000]);
        let pending = Pending { records: (0..5).map(|i| record(i, 30_000)).collect(), ..Pending::default() };
        let sizes: Vec<usize> = chunks(&pending).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [1, 1, 1, 1, 1]);
        // A single record over a limit still goes, alone.
        let pending = Pending { records: vec![record(0, 60_000), record(1, 1)], ..Pending::default() };
        let names: Vec<Vec<&str>> = chunks(&pending)
            .iter()
            .map(|c| c.iter().map(|r| r.transaction.transaction_id.as_str()).collect())
            .collect();
        assert_eq!(names, [vec!["t0"], vec!["t1"]]);
        assert_eq!(chunks(&Pending::default()).len(), 1, "the state alone is one report");
    }
}
