//! `WatchHostStatus`: hosts' status changes as they happen. Every change writes a row to
//! `host_events` in the transaction that makes it (by whichever server), so the stream is
//! the table read in order: one poller per server reads new rows every few milliseconds,
//! attaches each host's state, and fans them out to the watchers over a bounded broadcast.
//! Ingest never waits for a watcher: a watcher that falls behind the broadcast's buffer is
//! ended with RESOURCE_EXHAUSTED and resumes from its last cursor, reading what it missed from
//! the table.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use futures_util::Stream;
use patchman_proto as pb;
use tokio::sync::{broadcast, mpsc};
use tonic::Status;

use crate::query::{Clock, HostFilter};
use crate::shutdown::Stopping;
use crate::store::{HostEvent, HostQueries, HostSummary};

pub type EventStream = Pin<Box<dyn Stream<Item = Result<pb::HostStatusEvent, Status>> + Send>>;

/// `position` before the poller read where the table ends.
const UNKNOWN: i64 = i64::MIN;
/// How often the table is read for new events.
const POLL: Duration = Duration::from_millis(20);
/// How often it looks while nobody watches.
const IDLE_POLL: Duration = Duration::from_millis(500);
/// Events a watcher's stream holds for a client that reads slowly.
const PER_WATCHER: usize = 256;
/// A gap in the sequence (a transaction that took its number but has not committed, on
/// PostgreSQL) holds later events back this long, then is passed over (it rolled back).
const GAP_WAIT: Duration = Duration::from_secs(2);

/// An event with the host's state when it was read.
#[derive(Debug, Clone)]
struct Delivered {
    event: HostEvent,
    host: Option<HostSummary>,
}

pub struct WatchHub {
    queries: Arc<dyn HostQueries>,
    tx: broadcast::Sender<Arc<Vec<Delivered>>>,
    /// The last event read and broadcast.
    position: AtomicI64,
    /// Ends every stream when the server stops.
    stopping: Stopping,
}

impl WatchHub {
    /// Starts the poller; it begins after the newest event there is.
    pub fn start(queries: Arc<dyn HostQueries>, buffer_batches: usize, stopping: Stopping) -> Arc<Self> {
        let (tx, _) = broadcast::channel(buffer_batches.max(1));
        let hub = Arc::new(Self { queries, tx, position: AtomicI64::new(UNKNOWN), stopping });
        tokio::spawn(hub.clone().poll());
        hub
    }

    /// The last event broadcast, once the poller knows where the table ends.
    async fn position(&self) -> Result<i64, Status> {
        loop {
            match self.position.load(Ordering::Acquire) {
                UNKNOWN => tokio::time::sleep(POLL).await,
                p => return Ok(p),
            }
        }
    }

    async fn poll(self: Arc<Self>) {
        let mut gap_since: Option<Instant> = None;
        while self.position.load(Ordering::Acquire) == UNKNOWN {
            match self.queries.host_event_bounds().await {
                Ok((_, newest)) => self.position.store(newest, Ordering::Release),
                Err(err) => {
                    tracing::warn!(%err, "cannot read host events");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        loop {
            // Nobody watching: only keep up with where the table ends, now and then.
            if self.tx.receiver_count() == 0 {
                tokio::time::sleep(IDLE_POLL).await;
                if self.tx.receiver_count() == 0 {
                    if let Ok((_, newest)) = self.queries.host_event_bounds().await {
                        self.position.store(newest, Ordering::Release);
                    }
                    continue;
                }
            }
            tokio::time::sleep(POLL).await;
            if let Err(err) = self.step(&mut gap_since).await {
                tracing::warn!(%err, "cannot read host events");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    /// Reads what is new and broadcasts it, in order, up to the first gap that may still fill.
    async fn step(&self, gap_since: &mut Option<Instant>) -> anyhow::Result<()> {
        let position = self.position.load(Ordering::Acquire);
        let events = self.queries.host_events_after(position, 2_000).await?;
        let mut expected = position + 1;
        let mut ready = Vec::with_capacity(events.len());
        for e in events {
            if e.seq != expected {
                let since = *gap_since.get_or_insert_with(Instant::now);
                if since.elapsed() < GAP_WAIT {
                    break;
                }
            }
            *gap_since = None;
            expected = e.seq + 1;
            ready.push(e);
        }
        let Some(last) = ready.last().map(|e| e.seq) else { return Ok(()) };
        if self.tx.receiver_count() > 0 {
            let batch = delivered(&*self.queries, ready).await?;
            // Never blocks: a receiver that fell behind loses the oldest batches, and learns it.
            let _ = self.tx.send(Arc::new(batch));
        }
        self.position.store(last, Ordering::Release);
        Ok(())
    }

    /// A watcher's stream: events after `cursor` (from now when empty) for the hosts the
    /// filter selects (`hostname=NAME` for one).
    pub async fn subscribe(
        &self,
        filter_text: &str,
        cursor: &str,
        silent_after_ms: i64,
    ) -> Result<EventStream, Status> {
        let (hostname, filter) = watch_filter(filter_text)?;
        let rx = self.tx.subscribe();
        let live_from = self.position().await?;
        let start = match cursor.trim() {
            "" => live_from,
            c => {
                let seq: i64 =
                    c.parse().map_err(|_| Status::invalid_argument("cursor: not a cursor of this server"))?;
                let (oldest, newest) = self.queries.host_event_bounds().await.map_err(super::query::store_failed)?;
                if seq > newest {
                    return Err(Status::invalid_argument("cursor: later than any event"));
                }
                if oldest > seq + 1 {
                    return Err(Status::failed_precondition(
                        "cursor: older than the events kept (a week): list the hosts again and watch from now",
                    ));
                }
                seq
            }
        };
        let watcher = Watcher { hostname, filter, silent_after_ms, last: start };
        let (out, stream) = mpsc::channel(PER_WATCHER);
        let mut stopping = self.stopping.clone();
        let queries = self.queries.clone();
        tokio::spawn(async move {
            let ended = tokio::select! {
                () = watcher.run(queries, live_from, rx, out.clone()) => return,
                () = stopping.wait() => "the server is shutting down: resume from your cursor on another server or after it restarts",
            };
            let _ = out.send(Err(Status::unavailable(ended))).await;
        });
        Ok(Box::pin(tokio_stream_from(stream)))
    }
}

/// Events with their hosts' state now (none for a deleted host).
async fn delivered(queries: &dyn HostQueries, events: Vec<HostEvent>) -> anyhow::Result<Vec<Delivered>> {
    let mut names: Vec<String> = events.iter().filter(|e| !e.deleted).map(|e| e.hostname.clone()).collect();
    names.sort_unstable();
    names.dedup();
    let hosts = queries.host_summaries(&names).await?;
    Ok(events
        .into_iter()
        .map(|event| {
            let host = if event.deleted { None } else { hosts.iter().find(|h| h.hostname == event.hostname).cloned() };
            Delivered { event, host }
        })
        .collect())
}

/// The keys a host's state answers, and `hostname` for one host.
fn watch_filter(text: &str) -> Result<(Option<String>, HostFilter), Status> {
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(text.trim())
        .map_err(|e| Status::invalid_argument(format!("filter: not key=value pairs joined by &: {e}")))?;
    let hostname = pairs.iter().position(|(k, _)| k == "hostname").map(|i| pairs.remove(i).1.to_ascii_lowercase());
    let rest = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    let filter = super::convert::host_filter("filter", &rest)?;
    let probe = HostSummary::default();
    if probe.matches(&filter, &Clock { now_ms: 0, silent_after_ms: 0 }).is_none() {
        return Err(Status::invalid_argument(
            "filter: package_name, package_evr and repo cannot be watched (a host's state does not say them)",
        ));
    }
    Ok((hostname, filter))
}

struct Watcher {
    hostname: Option<String>,
    filter: HostFilter,
    silent_after_ms: i64,
    /// The last event sent (or the cursor it started after).
    last: i64,
}

impl Watcher {
    fn wants(&self, d: &Delivered, clock: &Clock) -> bool {
        if self.hostname.as_ref().is_some_and(|h| *h != d.event.hostname) {
            return false;
        }
        match &d.host {
            Some(h) => h.matches(&self.filter, clock).unwrap_or(false),
            // A deleted host leaves every set it was in.
            None => true,
        }
    }

    fn message(&self, d: &Delivered, clock: &Clock) -> pb::HostStatusEvent {
        let host = match &d.host {
            Some(h) => super::convert::host(h, clock),
            None => pb::HostInfo { hostname: d.event.hostname.clone(), ..Default::default() },
        };
        pb::HostStatusEvent {
            cursor: d.event.seq.to_string(),
            host: Some(host),
            deleted: d.host.is_none(),
            changed_ms: d.event.at,
        }
    }

    /// Sends what the table holds after the cursor, then what is broadcast; whatever lies
    /// between the last event sent and a broadcast batch is read from the table first.
    async fn run(
        mut self,
        queries: Arc<dyn HostQueries>,
        live_from: i64,
        mut rx: broadcast::Receiver<Arc<Vec<Delivered>>>,
        out: mpsc::Sender<Result<pb::HostStatusEvent, Status>>,
    ) {
        if !self.catch_up(&*queries, live_from, &out).await {
            return;
        }
        loop {
            match rx.recv().await {
                Ok(batch) => {
                    let first = batch.first().map_or(i64::MAX, |d| d.event.seq);
                    if !self.catch_up(&*queries, first - 1, &out).await || !self.send(&batch, &out).await {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    let why = format!(
                        "this watcher fell behind by {missed} batches of events and was dropped; \
                         resume from cursor {}",
                        self.last
                    );
                    let _ = out.send(Err(Status::resource_exhausted(why))).await;
                    return;
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }

    /// Sends the events the table holds after the last one sent, up to `until`; false when
    /// the client left or the table cannot be read.
    async fn catch_up(
        &mut self,
        queries: &dyn HostQueries,
        until: i64,
        out: &mpsc::Sender<Result<pb::HostStatusEvent, Status>>,
    ) -> bool {
        while self.last < until {
            let read = queries.host_events_after(self.last, 1_000).await;
            let events = match read {
                Ok(e) => e,
                Err(err) => {
                    tracing::warn!(%err, "cannot read host events for a watcher");
                    let _ =
                        out.send(Err(Status::unavailable("cannot read the events now; resume from the cursor"))).await;
                    return false;
                }
            };
            let events: Vec<HostEvent> = events.into_iter().take_while(|e| e.seq <= until).collect();
            if events.is_empty() {
                return true;
            }
            let Ok(batch) = delivered(queries, events).await else {
                let _ = out.send(Err(Status::unavailable("cannot read the hosts now; resume from the cursor"))).await;
                return false;
            };
            if !self.send(&batch, out).await {
                return false;
            }
        }
        true
    }

    /// Sends the wanted events of a batch after the last one sent; false when the client left.
    async fn send(&mut self, batch: &[Delivered], out: &mpsc::Sender<Result<pb::HostStatusEvent, Status>>) -> bool {
        let clock = Clock { now_ms: crate::clock::now_ms(), silent_after_ms: self.silent_after_ms };
        for d in batch {
            if d.event.seq <= self.last {
                continue;
            }
            self.last = d.event.seq;
            if self.wants(d, &clock) && out.send(Ok(self.message(d, &clock))).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// An mpsc receiver as a stream.
fn tokio_stream_from<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> impl Stream<Item = T> + Send {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
