//! Group commit: one thread owns SQLite's write connection and stores queued reports in
//! batches, each report in its own savepoint, the batch in one transaction. A report is
//! acknowledged only after its batch committed; a report that fails rolls back to its
//! savepoint and the others of the batch go on.
//!
//! SQLite has one writer at a time anyway; batching removes the per-report BEGIN/COMMIT, the
//! hand-over of the connection between requests, and most of the log writes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Connection as _, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use super::bulk::{TokenTouch, touch_many};
use super::ingest::SqliteIngest;
use crate::store::ingest_flow::{self, Ingested};
use crate::store::known::{KnownNames, KnownPackages};
use crate::store::{Credential, PreparedReport};
use crate::store::{IngestOutcome, IngestRejection, StoreError, StoreResult};

/// Most reports per transaction.
const MAX_BATCH: usize = 64;

pub(super) type IngestResult = StoreResult<Result<IngestOutcome, IngestRejection>>;

pub(super) enum Job {
    /// The caller keeps a reference to the report and frees it: dropping a thousand packages'
    /// strings is work the one writer thread should not do between statements.
    Ingest {
        credential: Credential,
        report: Arc<PreparedReport>,
        now: i64,
        reply: oneshot::Sender<IngestResult>,
    },
    Touch {
        touch: Touch,
        reply: oneshot::Sender<StoreResult<Option<u32>>>,
    },
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

/// Starts the writer on a thread of its own, so that a busy server's request handling never
/// delays it between statements: each statement is a round trip to SQLite's worker thread,
/// and the writer is the one thing all reports queue for. It ends when the store is dropped.
///
/// `others` is the pool of every other write (one connection); see `give_others_their_turn`.
pub(super) fn spawn(
    pool: SqlitePool,
    others: SqlitePool,
    known: Arc<KnownPackages>,
    names: Arc<KnownNames>,
) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(1024);
    let started = std::thread::Builder::new().name("patchman-writer".into()).spawn(move || {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime.block_on(run(pool, others, rx, known, names)),
            Err(err) => tracing::error!(%err, "cannot start the report writer's runtime"),
        }
    });
    if let Err(err) = started {
        tracing::error!(%err, "cannot start the report writer's thread");
    }
    tx
}

/// How long the writer may keep other writers waiting while reports keep coming: well within
/// their busy timeout (10 s), long enough that reports rarely wait for them.
const OTHERS_WAIT_AT_MOST: Duration = Duration::from_secs(4);

async fn run(
    pool: SqlitePool,
    others: SqlitePool,
    mut rx: mpsc::Receiver<Job>,
    known: Arc<KnownPackages>,
    names: Arc<KnownNames>,
) {
    let mut last_turn = Instant::now();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // The one write connection, held between batches (handing it back to the pool and taking
    // it again costs a wake-up of another task each time); taken again after a failure.
    let mut held: Option<PoolConnection<Sqlite>> = None;
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        give_others_their_turn(&others, &mut last_turn).await;
        let mut done = Vec::with_capacity(batch.len());
        let conn = match held.take() {
            Some(conn) => Ok(conn),
            None => pool.acquire().await.map_err(StoreError::from),
        };
        let written = match conn {
            Ok(mut conn) => {
                let result = write_batch(&mut conn, &mut batch, &mut done, &known, &names).await;
                if result.is_ok() {
                    held = Some(conn);
                }
                result
            }
            Err(err) => Err(err),
        };
        match written {
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

/// Lets a write waiting for SQLite's lock (saved verdicts, a refresh) go before the next
/// batch, at most once every few seconds. Without it, a writer that finds the database locked polls
/// for the lock with sleeps of up to 100 ms, and under a steady stream of reports this writer,
/// taking the lock again the moment it commits, wins every time: the other write waits until
/// its busy timeout and fails. Giving way only that rarely keeps reports first.
async fn give_others_their_turn(others: &SqlitePool, last_turn: &mut Instant) {
    let busy = others.size() > 0 && others.num_idle() == 0;
    if busy && last_turn.elapsed() >= OTHERS_WAIT_AT_MOST {
        // Its one connection comes back once that write is done (or failed).
        drop(others.acquire().await);
        *last_turn = Instant::now();
    } else if !busy {
        *last_turn = Instant::now();
    }
}

impl Done {
    /// Sends the result; called once the batch committed.
    fn answer(self, known: &KnownPackages, names: &KnownNames) {
        match self {
            Done::Ingest(reply, result, ingested) => {
                if let Some(i) = ingested {
                    known.remember_installed(&i.new_packages);
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

/// What one job produced inside a batch's transaction, answered once it committed.
enum Outcome {
    Ingest(IngestResult, Option<Ingested>),
    Touch(StoreResult<Option<u32>>),
}

impl Outcome {
    fn into_done(self, job: Job) -> Done {
        match (job, self) {
            (Job::Ingest { reply, .. }, Outcome::Ingest(result, ingested)) => Done::Ingest(reply, result, ingested),
            (Job::Touch { reply, .. }, Outcome::Touch(result)) => Done::Touch(reply, result),
            (job, _) => {
                let err = StoreError::Corrupt("a batch's outcome does not match its job".into());
                match job {
                    Job::Ingest { reply, .. } => Done::Ingest(reply, Err(err), None),
                    Job::Touch { reply, .. } => Done::Touch(reply, Err(err)),
                }
            }
        }
    }
}

/// Writes the batch's touches with a host token in one statement (one per host name; a
/// second touch of the same host is left to the job loop), filling their outcomes.
async fn touch_with_tokens(
    ops: &mut SqliteIngest<'_>,
    batch: &[Job],
    outcomes: &mut [Option<Outcome>],
) -> StoreResult<()> {
    let mut seen = std::collections::HashSet::new();
    let mut bulk = Vec::new();
    for (i, job) in batch.iter().enumerate() {
        if let Job::Touch { touch, .. } = job
            && let Credential::Host(token_hash) = &touch.credential
            && seen.insert(touch.hostname.as_str())
        {
            bulk.push((
                i,
                TokenTouch {
                    hostname: &touch.hostname,
                    wire_digest: &touch.wire_digest,
                    token_hash,
                    generated_at: touch.generated_at,
                    now: touch.now,
                },
            ));
        }
    }
    if bulk.is_empty() {
        return Ok(());
    }
    let rows: Vec<TokenTouch> = bulk.iter().map(|(_, t)| *t).collect();
    let touched = touch_many(&mut ops.0, &rows).await?;
    for (i, t) in bulk {
        outcomes[i] = Some(Outcome::Touch(Ok(touched.get(t.hostname).map(|c| *c as u32))));
    }
    Ok(())
}

/// Runs the jobs of `batch` in one transaction and moves each into `done` with its result. An
/// error here is an error of the whole transaction: nothing was written.
///
/// Savepoints cost every report two statements and a copy of each page it changes, and
/// reports almost never fail: the batch first runs without them. When a report fails, or is
/// refused after it may have written something, that transaction is rolled back and the batch
/// runs again with each report in its own savepoint, so that only the failing one is undone.
async fn write_batch(
    conn: &mut SqliteConnection,
    batch: &mut Vec<Job>,
    done: &mut Vec<Done>,
    known: &KnownPackages,
    names: &KnownNames,
) -> StoreResult<()> {
    let outcomes = match run_jobs(conn, batch, known, names, false).await? {
        Some(outcomes) => outcomes,
        None => match run_jobs(conn, batch, known, names, true).await? {
            Some(outcomes) => outcomes,
            None => return Err(StoreError::Corrupt("a batch with savepoints was given up".into())),
        },
    };
    done.extend(batch.drain(..).zip(outcomes).map(|(job, outcome)| outcome.into_done(job)));
    Ok(())
}

/// One attempt at a batch: its outcomes once committed, or `None` when, without savepoints,
/// a report could not be kept (the transaction was rolled back).
async fn run_jobs(
    conn: &mut SqliteConnection,
    batch: &[Job],
    known: &KnownPackages,
    names: &KnownNames,
    savepoints: bool,
) -> StoreResult<Option<Vec<Outcome>>> {
    let mut ops = SqliteIngest(conn.begin_with("BEGIN IMMEDIATE").await?, None);
    let mut outcomes: Vec<Option<Outcome>> = batch.iter().map(|_| None).collect();
    touch_with_tokens(&mut ops, batch, &mut outcomes).await?;
    for (job, slot) in batch.iter().zip(outcomes.iter_mut()) {
        if slot.is_some() {
            continue;
        }
        *slot = Some(match job {
            Job::Ingest { credential, report, now, .. } => {
                if savepoints {
                    sqlx::query("SAVEPOINT report").execute(&mut *ops.0).await?;
                }
                // The caches learn only after commit, so a report rolled back to its savepoint
                // leaves nothing behind that a later report of the batch would trust.
                let result = ingest_flow::ingest(&mut ops, known, names, credential, report, *now).await;
                let keep = matches!(result, Ok(Ok(_)));
                if savepoints {
                    let end = if keep { "RELEASE report" } else { "ROLLBACK TO report; RELEASE report" };
                    sqlx::raw_sql(end).execute(&mut *ops.0).await?;
                } else if !keep && !wrote_nothing(&result) {
                    ops.0.rollback().await?;
                    return Ok(None);
                }
                match result {
                    Ok(Ok(i)) => Outcome::Ingest(Ok(Ok(i.outcome)), Some(i)),
                    Ok(Err(rejection)) => Outcome::Ingest(Ok(Err(rejection)), None),
                    Err(err) => Outcome::Ingest(Err(err), None),
                }
            }
            // Last-seen only: a failed statement undoes itself, and a half-done touch harms
            // nothing, so it needs no savepoint of its own.
            Job::Touch { touch: t, .. } => Outcome::Touch(
                super::queries::touch_if_unchanged(
                    &mut ops.0,
                    &t.credential,
                    &t.hostname,
                    &t.wire_digest,
                    t.generated_at,
                    t.now,
                )
                .await,
            ),
        });
    }
    ops.0.commit().await?;
    Ok(Some(outcomes.into_iter().flatten().collect()))
}

/// A report refused before anything of it was written: its host token is unknown or names
/// another host (`ingest_flow::authenticate` reads only, on that path). Refusals of API keys
/// and listed networks may follow a write (a key's last use), so they take the savepoints.
fn wrote_nothing(result: &StoreResult<Result<Ingested, IngestRejection>>) -> bool {
    matches!(result, Ok(Err(IngestRejection::UnknownToken | IngestRejection::WrongHost { .. })))
}
