//! The one port's connection loop: accept, count the connection against the limits (in all,
//! per source address), do the TLS handshake off the loop when `[tls]` is set, and serve HTTP/1
//! and HTTP/2 (gRPC) with hyper under the configured limits (header read timeout, header size,
//! streams per connection, request timeout). On stop it accepts no more and waits for the
//! connections it has to finish their requests.

mod connections;
mod timeout;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

use self::connections::{Connections, Slot};
use crate::config::LimitsConfig;
use crate::shutdown::Stopping;
use crate::tls::Peer;

/// TLS for the loop: the configuration new connections get, and the handshake's deadline.
pub struct Tls {
    pub current: crate::tls::Current,
    pub handshake_timeout: Duration,
}

/// Serves `app` on `listener` until `stopping`, then waits for open connections to finish.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Tls>,
    app: Router,
    limits: &LimitsConfig,
    mut stopping: Stopping,
) {
    let connections = Arc::new(Connections::new(limits.max_connections, limits.max_connections_per_source));
    let builder = Arc::new(builder(limits));
    let request_timeout = Duration::from_secs(limits.request_timeout_seconds);
    let tls = tls.map(Arc::new);
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            () = stopping.wait() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, addr) = match accepted {
            Ok(a) => a,
            Err(err) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(%err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = connections.admit(addr.ip()) else {
            // Closed at once: the client sees a reset and retries later (hosts spool).
            continue;
        };
        // gRPC answers in several small writes: without TCP_NODELAY, Nagle's algorithm and
        // the peer's delayed ACK hold the last one back for 40 ms.
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "cannot set TCP_NODELAY");
        }
        let conn =
            Conn { app: app.clone(), builder: builder.clone(), request_timeout, watcher: graceful.watcher(), slot };
        match &tls {
            None => conn.spawn(tcp, Peer { addr, cert: None }),
            Some(tls) => {
                let tls = tls.clone();
                tokio::spawn(async move {
                    let handshake = crate::tls::handshake(tcp, addr, tls.current.get());
                    match tokio::time::timeout(tls.handshake_timeout, handshake).await {
                        Ok(Some((stream, cert))) => conn.spawn(stream, Peer { addr, cert }),
                        Ok(None) => {}
                        Err(_) => tracing::debug!(%addr, "TLS handshake not finished in time: closed"),
                    }
                });
            }
        }
    }
    drop(listener);
    graceful.shutdown().await;
}

fn builder(limits: &LimitsConfig) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_read_timeout_seconds.max(1)))
        .max_buf_size(limits.max_header_bytes.max(8_192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_streams_per_connection.max(1))
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// What serving one connection needs.
struct Conn {
    app: Router,
    builder: Arc<Builder<TokioExecutor>>,
    request_timeout: Duration,
    watcher: Watcher,
    slot: Slot,
}

impl Conn {
    fn spawn<I>(self, io: I, peer: Peer)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self { app, builder, request_timeout, watcher, slot } = self;
        let addr: SocketAddr = peer.addr;
        let service = timeout::Timeout::new(app, request_timeout, ConnectInfo(peer));
        tokio::spawn(async move {
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), TowerToHyperService::new(service));
            if let Err(err) = watcher.watch(conn.into_owned()).await {
                tracing::debug!(%addr, err = %err, "connection ended with an error");
            }
            drop(slot);
        });
    }
}
