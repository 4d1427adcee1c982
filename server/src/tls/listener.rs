//! Accepts TCP connections and does each TLS handshake in a task of its own, so that a slow
//! or silent client holds up nobody; `axum::serve` gets finished TLS streams. A client that
//! speaks plain text is answered in words it can show (an HTTP/1 400, an HTTP/2 GOAWAY whose
//! debug data says it) and closed.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;

use super::Current;

/// Handshaken connections waiting for `accept`.
const READY: usize = 128;
const REFUSAL: &str = "this server requires TLS: use an https:// URL";

pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, current: Current, handshake_timeout: Duration) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(READY);
        tokio::spawn(accept_loop(tcp, current, handshake_timeout, tx));
        Ok(Self { ready, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept loop ends only with the listener: nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Plain TCP (no `[tls]`), with TCP_NODELAY on every connection.
pub struct PlainListener(pub TcpListener);

impl axum::serve::Listener for PlainListener {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = axum::serve::Listener::accept(&mut self.0).await;
        nodelay(&stream);
        (stream, addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// gRPC answers in several small writes: without TCP_NODELAY, Nagle's algorithm and the
/// peer's delayed ACK hold the last one back for 40 ms.
fn nodelay(stream: &TcpStream) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::warn!(%err, "cannot set TCP_NODELAY");
    }
}

async fn accept_loop(
    tcp: TcpListener,
    current: Current,
    timeout: Duration,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let accepted = tokio::select! {
            () = tx.closed() => return,
            accepted = tcp.accept() => accepted,
        };
        let (stream, addr) = match accepted {
            Ok(a) => a,
            Err(err) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(%err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        nodelay(&stream);
        let (config, tx) = (current.get(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(timeout, handshake(stream, addr, config)).await {
                Ok(Some(tls)) => {
                    let _ = tx.send((tls, addr)).await;
                }
                Ok(None) => {}
                Err(_) => tracing::debug!(%addr, "TLS handshake not finished in time: closed"),
            }
        });
    }
}

async fn handshake(
    mut stream: TcpStream,
    addr: SocketAddr,
    config: std::sync::Arc<rustls::ServerConfig>,
) -> Option<TlsStream<TcpStream>> {
    let mut first = [0u8; 24];
    let n = stream.peek(&mut first).await.ok()?;
    // A TLS connection starts with a handshake record (content type 22).
    if n > 0 && first[0] != 0x16 {
        tracing::warn!(%addr, "refused a plain-text connection: this server requires TLS");
        let answer = if first[..n].starts_with(b"PRI * HTTP/2.0") { goaway() } else { http1_refusal() };
        let _ = stream.write_all(&answer).await;
        let _ = stream.shutdown().await;
        return None;
    }
    match tokio_rustls::TlsAcceptor::from(config).accept(stream).await {
        Ok(tls) => Some(tls),
        Err(err) => {
            // Wrong CA, expired or missing client certificate, no shared protocol: the
            // client's side of it is in its own error; here only the source and the reason.
            tracing::info!(%addr, %err, "TLS handshake failed");
            None
        }
    }
}

fn http1_refusal() -> Vec<u8> {
    let body = format!("{REFUSAL}\n");
    format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The server's HTTP/2 preface (empty SETTINGS), then GOAWAY (last stream 0, PROTOCOL_ERROR)
/// with the reason as debug data.
fn goaway() -> Vec<u8> {
    let mut out = vec![0, 0, 0, 0x4, 0, 0, 0, 0, 0];
    let payload_len = 8 + REFUSAL.len();
    out.extend_from_slice(&(payload_len as u32).to_be_bytes()[1..]);
    out.extend_from_slice(&[0x7, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(REFUSAL.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_goaway_frame_is_well_formed() {
        let frame = super::goaway();
        // SETTINGS: length 0, type 4, no flags, stream 0.
        assert_eq!(&frame[..9], &[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        let goaway = &frame[9..];
        let len = u32::from_be_bytes([0, goaway[0], goaway[1], goaway[2]]) as usize;
        assert_eq!((goaway[3], len), (7, goaway.len() - 9));
        assert!(goaway.ends_with(super::REFUSAL.as_bytes()));
    }
}
