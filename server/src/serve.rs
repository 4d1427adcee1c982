//! `patchman serve`: gRPC and HTTP on one listener.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::grpc::{ReportApi, validate::Limits};
use crate::jobs::{
    Job, Probe, PruneReports, RecomputeStale, RefreshAdvisories, RefreshNewRepos, RefreshRepos, SchedulerConfig,
    SilenceEvents,
};
use crate::shutdown::{self, Stopping};
use crate::store::Store;
use crate::updates::Updater;
use crate::web::{self, WebState};

/// The site's original enrollment key, the entry `default` of the list: the configured one,
/// else the one generated on first start; None once revoked (`enrollment-key revoke default`).
pub async fn enrollment_key(config: &Config, store: &dyn Store) -> anyhow::Result<Option<String>> {
    let key = match &config.enrollment_key {
        Some(key) => key.trim().to_owned(),
        None => store
            .setting_or_insert("enrollment_key", &crate::auth::new_secret("pme_"))
            .await
            .context("while reading the enrollment key")?,
    };
    if key.is_empty() {
        return Ok(None);
    }
    store
        .set_default_enrollment_key(&crate::auth::TokenHash::of(&key), crate::clock::now_ms())
        .await
        .context("while keeping the enrollment key")?;
    Ok(Some(key))
}

/// The whole application: the gRPC services, and the web for every other path.
pub fn app(
    store: Arc<dyn Store>,
    updater: Arc<Updater>,
    config: &Config,
    stopping: Stopping,
) -> anyhow::Result<Router> {
    let limits = Limits { max_packages: config.max_packages };
    let web_updater = updater.clone();
    let trust = std::sync::Arc::new(crate::compat::Trust::from_config(&config.compat)?);
    if !config.compat.unauthenticated_networks.is_empty() {
        tracing::warn!(
            networks = ?config.compat.unauthenticated_networks,
            "Patchman clients in these networks may upload without credentials"
        );
    }
    let report_rate = Arc::new(crate::limits::ReportRate::new(&config.limits));
    let uploads = crate::compat::UploadState {
        store: store.clone(),
        updater: updater.clone(),
        limits,
        trust,
        rate: report_rate.clone(),
    };
    let enroll_limits = Arc::new(crate::limits::EnrollLimits::new(&config.limits));
    let reports = ReportApi::new(store.clone(), updater.clone(), limits, enroll_limits, report_rate)
        .client_cert_names_host(config.tls.client_cert_names_host)
        .into_service(config.max_message_bytes);
    let silent_after_ms = i64::from(config.silent_after_days) * 86_400_000;
    let watch = crate::grpc::watch::WatchHub::start(store.clone(), config.api.watch_buffer_batches, stopping);
    let query_api = Arc::new(crate::grpc::query::QueryApi::new(
        store.clone(),
        store.clone(),
        store.clone(),
        silent_after_ms,
        watch,
    ));
    let query = crate::grpc::query::QueryApi::service(query_api.clone());
    let refresher = Arc::new(crate::refresh::Refresher::new(store.clone(), &config.repos)?);
    let admin = crate::grpc::admin::AdminApi::new(store.clone(), updater, refresher, silent_after_ms).into_service();
    // Reflection in both versions clients ask for (grpcurl, grpcui, Postman, older tools).
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(patchman_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    tokio::spawn(report_health(health, store.clone()));
    let grpc = tonic::service::Routes::new(reports)
        .add_service(query)
        .add_service(admin)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?)
        .add_service(health_service)
        .into_axum_router()
        .layer(axum::middleware::map_response(crate::grpc::oversize::as_invalid_argument));
    // Patchman's upload paths are `patchman-client`'s; whatever else is not a gRPC service is
    // the web's, including its 404 page.
    let ops =
        crate::ops::OpsState { store: store.clone(), silent_after_ms, metrics_token: config.api.metrics_token.clone() };
    Ok(grpc
        .merge(crate::compat::router(uploads, config.max_message_bytes))
        .merge(crate::ops::router(ops))
        .nest("/api/v1", crate::grpc::json_api::router(query_api))
        .fallback_service(web::router(WebState::new(store, web_updater, config)?))
        .layer(axum::middleware::from_fn(crate::access::layer)))
}

/// Keeps gRPC health (`grpc.health.v1`, the whole server and each service) in step with the
/// database: serving while it answers.
async fn report_health(health: tonic_health::server::HealthReporter, store: Arc<dyn Store>) {
    let services = ["", "patchman.v1.ReportService", "patchman.v1.QueryService", "patchman.v1.AdminService"];
    let mut last = None;
    loop {
        let up = store.setting("schema_check").await.is_ok();
        if last != Some(up) {
            let status =
                if up { tonic_health::ServingStatus::Serving } else { tonic_health::ServingStatus::NotServing };
            for name in services {
                health.set_service_status(name, status).await;
            }
            last = Some(up);
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// The jobs this server runs, from the configuration.
pub fn jobs(config: &Config, store: &Arc<dyn Store>, updater: &Arc<Updater>) -> anyhow::Result<Vec<Arc<dyn Job>>> {
    let j = &config.jobs;
    let mut jobs: Vec<Arc<dyn Job>> = vec![
        Arc::new(PruneReports {
            interval: Duration::from_secs(j.prune_interval_seconds.max(1)),
            keep_per_host: j.reports_kept_per_host.max(1),
            keep_transactions: Duration::from_secs(j.transactions_kept_days * 86_400),
        }),
        Arc::new(RecomputeStale {
            interval: Duration::from_secs(j.recompute_interval_seconds.max(1)),
            updater: updater.clone(),
        }),
        Arc::new(SilenceEvents {
            interval: Duration::from_secs(j.silence_interval_seconds.max(1)),
            silent_after: Duration::from_secs(u64::from(config.silent_after_days) * 86_400),
        }),
    ];
    if config.repos.refresh_interval_seconds > 0 {
        jobs.push(Arc::new(RefreshRepos {
            interval: Duration::from_secs(config.repos.refresh_interval_seconds),
            refresher: crate::refresh::Refresher::new(store.clone(), &config.repos)?,
            updater: updater.clone(),
        }));
        if config.repos.new_repo_interval_seconds > 0 {
            jobs.push(Arc::new(RefreshNewRepos {
                interval: Duration::from_secs(config.repos.new_repo_interval_seconds),
                refresher: crate::refresh::Refresher::new(store.clone(), &config.repos)?,
                updater: updater.clone(),
            }));
        }
    }
    if config.advisories.refresh_interval_seconds > 0 && config.advisories.feeds.iter().any(|f| f.enabled) {
        jobs.push(Arc::new(RefreshAdvisories {
            interval: Duration::from_secs(config.advisories.refresh_interval_seconds),
            refresher: crate::exposures::feeds::FeedRefresher::new(&config.advisories, &config.repos)?,
            store: store.clone(),
        }));
    }
    if j.probe_interval_ms > 0 {
        jobs.push(Arc::new(Probe {
            interval: Duration::from_millis(j.probe_interval_ms),
            duration: Duration::from_millis(j.probe_duration_ms),
        }));
    }
    Ok(jobs)
}

pub async fn serve(config: Config, store: Arc<dyn Store>) -> anyhow::Result<()> {
    enrollment_key(&config, &*store).await?;
    crate::first_admin::ensure_admin(&*store, &config.database_url).await.context("while creating the first user")?;
    let (stop, stopping) = shutdown::channel();
    let updater = Updater::build(store.clone(), Some(store.clone()), config.updates.cache_megabytes << 20);
    tokio::spawn(updater.clone().run());
    let scheduler = SchedulerConfig::new(Duration::from_secs(config.jobs.lease_seconds.max(1)));
    tracing::info!(owner = scheduler.owner, "running background jobs");
    let jobs =
        tokio::spawn(crate::jobs::run(store.clone(), jobs(&config, &store, &updater)?, scheduler, stopping.clone()));
    let app = app(store, updater, &config, stopping.clone())?;
    let listener =
        TcpListener::bind(config.listen).await.with_context(|| format!("while binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let tls = if config.tls.enabled() {
        let current = crate::tls::Current::load(&config.tls)?;
        tokio::spawn(crate::tls::watch(config.tls.clone(), current.clone()));
        let handshake_timeout = Duration::from_secs(config.tls.handshake_timeout_seconds.max(1));
        tracing::info!(%addr, client_certificates = config.tls.client_ca.is_some(), "listening for gRPC and HTTP over TLS");
        Some(crate::listen::Tls { current, handshake_timeout })
    } else {
        if !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "no [tls] configured: host tokens, API tokens and sign-in cookies travel in clear text \
                 (set [tls] cert and key, or listen on loopback behind a TLS proxy)"
            );
        }
        tracing::info!(%addr, "listening for gRPC and HTTP");
        None
    };
    let limits = config.limits.clone();
    let until = stopping.clone();
    let mut serving = tokio::spawn(async move { crate::listen::serve(listener, tls, app, &limits, until).await });
    // Tests and scripts that pass port 0 read the real address from this line.
    println!("patchman listening on {addr}");
    tokio::select! {
        () = signalled() => {}
        ended = &mut serving => return ended.context("the listener task"),
    }
    // Stop accepting; what is in flight finishes (a report is acknowledged only after its
    // commit), watch streams end, jobs stop between runs. What outlives the grace period is
    // abandoned: its transactions roll back.
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    tracing::info!(grace_seconds = grace.as_secs(), "stopping: finishing what is in flight");
    stop.stop();
    let drained = tokio::time::timeout(grace, async {
        let served = serving.await;
        let _ = jobs.await;
        served
    })
    .await;
    match drained {
        Ok(served) => {
            served.context("the listener task")?;
            tracing::info!("stopped");
        }
        Err(_) => {
            tracing::warn!(grace_seconds = grace.as_secs(), "work still in flight after the grace period: abandoned")
        }
    }
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn signalled() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
