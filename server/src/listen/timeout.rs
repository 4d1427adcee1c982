//! The per-connection service: every request carries the connection's `ConnectInfo<Peer>`,
//! and gets at most the request timeout to produce its answer's head (watch streams, which
//! stay open by design, are exempt). A gRPC request that runs out of time ends with
//! DEADLINE_EXCEEDED; any other with 503.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use tower::Service;

use crate::tls::Peer;

/// Paths whose answer is a stream that lasts as long as the client wants.
const STREAMS: &[&str] = &["/patchman.v1.QueryService/WatchHostStatus", "/grpc.health.v1.Health/Watch"];

#[derive(Clone)]
pub struct Timeout {
    app: Router,
    limit: Duration,
    peer: ConnectInfo<Peer>,
}

impl Timeout {
    pub fn new(app: Router, limit: Duration, peer: ConnectInfo<Peer>) -> Self {
        Self { app, limit, peer }
    }
}

impl<B> Service<Request<B>> for Timeout
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        req.extensions_mut().insert(self.peer.clone());
        let stream = STREAMS.contains(&req.uri().path());
        let grpc =
            req.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let answer = self.app.call(req.map(Body::new));
        let limit = self.limit;
        Box::pin(async move {
            if stream || limit.is_zero() {
                return answer.await;
            }
            match tokio::time::timeout(limit, answer).await {
                Ok(answer) => answer,
                Err(_) => Ok(timed_out(grpc, limit)),
            }
        })
    }
}

fn timed_out(grpc: bool, limit: Duration) -> Response<Body> {
    let message = format!("the request took longer than the server's request timeout ({} s)", limit.as_secs());
    if grpc {
        let mut res = Response::new(Body::empty());
        let h = res.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        h.insert("grpc-status", HeaderValue::from_static("4"));
        if let Ok(v) = HeaderValue::from_str(&message) {
            h.insert("grpc-message", v);
        }
        return res;
    }
    let mut res = Response::new(Body::from(format!("{message}\n")));
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    res
}
