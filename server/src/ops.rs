//! What load balancers, orchestrators and Prometheus ask, outside the sign-in: `/healthz`
//! (the process answers), `/readyz` (the database answers and has this build's migrations)
//! and `/metrics` (the text exposition format, behind a token when one is configured).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::metrics::{self, Gauge};
use crate::query::Clock;
use crate::store::Store;

/// How long `/readyz` waits for the database before it calls it unreachable.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone)]
pub struct OpsState {
    pub store: Arc<dyn Store>,
    pub silent_after_ms: i64,
    pub metrics_token: Option<String>,
}

pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(scrape))
        .with_state(state)
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], body)
        .into_response()
}

async fn ready(State(state): State<OpsState>) -> Response {
    match tokio::time::timeout(READY_TIMEOUT, state.store.schema_versions()).await {
        Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "not ready: the database did not answer within 2 s\n".into()),
        Ok(Err(err)) => {
            tracing::warn!(%err, "not ready: the database is unreachable");
            text(StatusCode::SERVICE_UNAVAILABLE, format!("not ready: the database is unreachable: {err}\n"))
        }
        Ok(Ok((applied, wanted))) if applied < wanted => text(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "not ready: the database has migrations up to {applied}, this build needs {wanted}: \
                 run `patchman migrate`\n"
            ),
        ),
        Ok(Ok((applied, _))) => text(StatusCode::OK, format!("ready: database schema {applied}\n")),
    }
}

async fn scrape(State(state): State<OpsState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(crate::auth::bearer);
        if !sent.is_some_and(|sent| crate::auth::secrets_equal(sent, token.trim())) {
            return text(StatusCode::UNAUTHORIZED, "send `Authorization: Bearer <api.metrics_token>`\n".into());
        }
    }
    let gauges = match gauges(&state).await {
        Ok(g) => g,
        Err(err) => {
            tracing::warn!(%err, "cannot read the gauges for /metrics");
            // The counters are still worth scraping; `patchman_database_up` says the database is not.
            vec![gauge("patchman_database_up", "Whether the database answered this scrape.", vec![], 0.0)]
        }
    };
    let body = metrics::render(&gauges);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

fn gauge(name: &'static str, help: &'static str, labels: Vec<(&'static str, String)>, value: f64) -> Gauge {
    Gauge { name, help, labels, value }
}

async fn gauges(state: &OpsState) -> crate::store::StoreResult<Vec<Gauge>> {
    let clock = Clock { now_ms: crate::clock::now_ms(), silent_after_ms: state.silent_after_ms };
    let dashboard = state.store.dashboard(&clock).await?;
    let queue = state.store.recompute_queue().await?;
    let (in_use, open) = state.store.connections();
    let mut out = vec![
        gauge("patchman_database_up", "Whether the database answered this scrape.", vec![], 1.0),
        gauge(
            "patchman_build_info",
            "The running build: its version.",
            vec![("version", env!("CARGO_PKG_VERSION").to_owned())],
            1.0,
        ),
    ];
    for (status, n) in &dashboard.by_status {
        out.push(gauge("patchman_hosts", "Hosts by status.", vec![("status", status.as_str().to_owned())], *n as f64));
    }
    let more = [
        ("patchman_hosts_reboot_required", "Hosts that need a reboot.", dashboard.reboot_required),
        ("patchman_hosts_duplicate_packages", "Hosts with a package installed twice.", dashboard.duplicate_packages),
        ("patchman_recompute_queue_hosts", "Hosts waiting for their updates to be recomputed.", queue),
        ("patchman_mirrors_failing", "Enabled mirrors whose last attempt failed.", dashboard.mirrors_failing),
        ("patchman_database_connections_in_use", "Database connections in use.", i64::from(in_use)),
        ("patchman_database_connections_open", "Database connections open.", i64::from(open)),
    ];
    out.extend(more.into_iter().map(|(name, help, v)| gauge(name, help, vec![], v as f64)));
    Ok(out)
}
