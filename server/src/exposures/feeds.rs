//! Reads every configured feed (or one) and records what it found: new contents replace the
//! feed's advisories, a failure leaves them and is counted against the feed.

use crate::advisories::feed::{Outcome, read};
use crate::clock::now_ms;
use crate::config::{AdvisoriesConfig, FeedConfig, ReposConfig};
use crate::repos::{Fetcher, Seen};
use crate::store::{AdvisoryStore, FeedChange, FeedRead, FeedResult, StoreResult};

/// What one feed's read came to.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FeedOutcome {
    pub feed: String,
    /// "updated", "unchanged" or "failed".
    pub status: &'static str,
    pub error: Option<String>,
    pub change: FeedChange,
    /// Hosts whose exposures to the changed advisories were computed right after.
    pub hosts_computed: u64,
}

pub struct FeedRefresher {
    config: AdvisoriesConfig,
    fetcher: Fetcher,
}

impl FeedRefresher {
    pub fn new(config: &AdvisoriesConfig, repos: &ReposConfig) -> anyhow::Result<Self> {
        let mut http = crate::refresh::http_config(repos);
        http.max_bytes = config.max_feed_megabytes.saturating_mul(1 << 20);
        Ok(Self { config: config.clone(), fetcher: Fetcher::new(&http)? })
    }

    pub fn has_feeds(&self) -> bool {
        self.config.feeds.iter().any(|f| f.enabled)
    }

    /// Reads every enabled feed (or only the one named), in order.
    pub async fn run(&self, store: &dyn AdvisoryStore, only: Option<&str>) -> StoreResult<Vec<FeedOutcome>> {
        let states = store.feed_states().await?;
        let mut out = Vec::new();
        for feed in self.config.feeds.iter().filter(|f| f.enabled && only.is_none_or(|o| o == f.name)) {
            let seen = states
                .iter()
                .find(|s| s.name == feed.name && s.kind == feed.kind && s.location == location(feed))
                .map(|s| Seen {
                    checksum: s.checksum.clone(),
                    etag: s.etag.clone(),
                    last_modified: s.last_modified.clone(),
                })
                .unwrap_or_default();
            out.push(self.one(store, feed, &seen).await?);
        }
        Ok(out)
    }

    async fn one(&self, store: &dyn AdvisoryStore, feed: &FeedConfig, seen: &Seen) -> StoreResult<FeedOutcome> {
        let limit = self.config.max_feed_megabytes.saturating_mul(1 << 20);
        let loc = location(feed);
        let result = read(&self.fetcher, feed, seen, limit).await;
        let record = |result| FeedRead { name: &feed.name, kind: &feed.kind, location: &loc, now_ms: now_ms(), result };
        let mut hosts_computed = 0;
        let (status, error, change) = match &result {
            Err(e) => {
                let message = e.to_string();
                tracing::warn!(feed = %feed.name, error = %message, "cannot read advisory feed");
                store.record_feed(&record(FeedResult::Failed(&message))).await?;
                ("failed", Some(message), FeedChange::default())
            }
            Ok(Outcome::Unchanged { etag, last_modified }) => {
                let r = FeedResult::Unchanged { etag: etag.as_deref(), last_modified: last_modified.as_deref() };
                store.record_feed(&record(r)).await?;
                ("unchanged", None, FeedChange::default())
            }
            Ok(Outcome::New { contents, checksum, etag, last_modified }) => {
                let r = FeedResult::New {
                    contents,
                    checksum,
                    etag: etag.as_deref(),
                    last_modified: last_modified.as_deref(),
                };
                let change = store.record_feed(&record(r)).await?;
                // The hosts whose exposures were current need only the changed advisories.
                let scoped = super::apply_feed_change(store, &change).await?;
                hosts_computed = scoped.saved;
                tracing::info!(feed = %feed.name, ?change, hosts = scoped.hosts, "advisory feed updated");
                ("updated", None, change)
            }
        };
        Ok(FeedOutcome { feed: feed.name.clone(), status, error, change, hosts_computed })
    }
}

/// Where a feed is read from, as the feeds page shows it.
fn location(feed: &FeedConfig) -> String {
    match (&feed.url, &feed.path) {
        (Some(u), _) => u.clone(),
        (None, Some(p)) => p.display().to_string(),
        (None, None) => String::new(),
    }
}
