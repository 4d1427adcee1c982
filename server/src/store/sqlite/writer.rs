//! Group commit: one task owns SQLite's write connection and stores queued reports in
//! batches, each report in its own savepoint, the batch in one transaction. A report is
//! acknowledged only after its batch committed; a report that fails rolls back to its
//! savepoint and the others of the batch go on.
//!
//! SQLite has one writer at a time anyway; batching removes the per-report BEGIN/COMMIT, the
//! hand-over of the connection between requests, and most of the log writes.

use std::sync::Arc;

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::ingest::SqliteIngest;
use crate::store::ingest_flow::{self, Ingested};
use crate::store::known::{KnownNames, KnownPackages};
use crate::store::{Credential, PreparedReport};
use crate::store::{IngestOutcome, IngestRejection, StoreError, StoreResult};

/// Most reports per transaction.
const MAX_BATCH: usize = 64;

pub(super) type IngestResult = StoreResult<Result<IngestOutcome, IngestRejection>>;

pub(super) enum Job {
    Ingest { credential: Credential, report: Box<PreparedReport>, now: i64, reply: oneshot::Sender<IngestResult> },
    Touch { touch: Touch, reply: oneshot::Sender<StoreResult<Option<u32>>> },
}

/// The unchanged fast path's one statement.
pub(super) struct Touch {
    pub credential: Credential,
    pub hostname: String,
    pub wire_digest: [u8; 16],
    pub generated_at: i64,
    pub now: i64,
}

/// What a job's savepoint produced, to send once the batch committed.
enum Done {
    Ingest(oneshot::Sender<IngestResult>, IngestResult, Option<Ingested>),
    Touch(oneshot::Sender<StoreResult<Option<u32>>>, StoreResult<Option<u32>>),
}

pub(super) fn spawn(pool: SqlitePool, known: Arc<KnownPackages>, names: Arc<KnownNames>) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(run(pool, rx, known, names));
    tx
}

async fn run(pool: SqlitePool, mut rx: mpsc::Receiver<Job>, known: Arc<KnownPackages>, names: Arc<KnownNames>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut done = Vec::with_capacity(batch.len());
        match write_batch(&pool, &mut batch, &mut done, &known, &names).await {
            Ok(()) => {
                for d in done {
                    d.answer(&known, &names);
                }
            }
            Err(err) => {
                tracing::error!(%err, reports = done.len() + batch.len(), "cannot commit a batch of reports");
                let failed = || StoreError::BatchFailed(err.to_string());
                for d in done {
                    d.fail(failed());
                }
                for job in batch.drain(..) {
                    job.fail(failed());
                }
            }
        }
    }
}

impl Done {
    /// Sends the result; called once the batch committed.
    fn answer(self, known: &KnownPackages, names: &KnownNames) {
        match self {
            Done::Ingest(reply, result, ingested) => {
                if let Some(i) = ingested {
                    known.remember(&i.new_packages);
                    names.remember(&i.new_names);
                }
                let _ = reply.send(result);
            }
            Done::Touch(reply, result) => {
                let _ = reply.send(result);
            }
        }
    }

    fn fail(self, err: StoreError) {
        match self {
            Done::Ingest(reply, ..) => drop(reply.send(Err(err))),
            Done::Touch(reply, _) => drop(reply.send(Err(err))),
        }
    }
}

impl Job {
    fn fail(self, err: StoreError) {
        match self {
            Job::Ingest { reply, .. } => drop(reply.send(Err(err))),
            Job::Touch { reply, .. } => drop(reply.send(Err(err))),
        }
    }
}

/// Runs the jobs of `batch` in one transaction, each in a savepoint, moving each into `done`
/// with its result. An error here is an error of the whole transaction: nothing was written.
async fn write_batch(
    pool: &SqlitePool,
    batch: &mut Vec<Job>,
    done: &mut Vec<Done>,
    known: &KnownPackages,
    names: &KnownNames,
) -> StoreResult<()> {
    let mut ops = SqliteIngest(pool.begin_with("BEGIN IMMEDIATE").await?);
    while !batch.is_empty() {
        sqlx::query("SAVEPOINT report").execute(&mut *ops.0).await?;
        let (keep, d) = match batch.remove(0) {
            Job::Ingest { credential, report, now, reply } => {
                // The caches learn only after commit, so a report rolled back to its savepoint
                // leaves nothing behind that a later report of the batch would trust.
                match ingest_flow::ingest(&mut ops, known, names, &credential, &report, now).await {
                    Ok(Ok(i)) => (true, Done::Ingest(reply, Ok(Ok(i.outcome)), Some(i))),
                    Ok(Err(rejection)) => (false, Done::Ingest(reply, Ok(Err(rejection)), None)),
                    Err(err) => (false, Done::Ingest(reply, Err(err), None)),
                }
            }
            Job::Touch { touch, reply } => {
                let t = &touch;
                let result = super::queries::touch_if_unchanged(
                    &mut ops.0,
                    &t.credential,
                    &t.hostname,
                    &t.wire_digest,
                    t.generated_at,
                    t.now,
                )
                .await;
                (result.is_ok(), Done::Touch(reply, result))
            }
        };
        done.push(d);
        let end = if keep { "RELEASE report" } else { "ROLLBACK TO report; RELEASE report" };
        sqlx::raw_sql(end).execute(&mut *ops.0).await?;
    }
    ops.0.commit().await?;
    Ok(())
}
