//! The TLS handshake of one connection, done in a task of its own so that a slow or silent
//! client holds up nobody. A client that speaks plain text is answered in words it can show
//! (an HTTP/1 400, an HTTP/2 GOAWAY whose debug data says it) and closed.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

const REFUSAL: &str = "this server requires TLS: use an https:// URL";

/// The TLS stream and the verified client certificate, if any; None when the client spoke
/// plain text or the handshake failed (logged).
pub async fn handshake(
    mut stream: TcpStream,
    addr: SocketAddr,
    config: Arc<rustls::ServerConfig>,
) -> Option<(TlsStream<TcpStream>, Option<Arc<CertificateDer<'static>>>)> {
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
        Ok(tls) => {
            let cert = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| Arc::new(c.clone()));
            Some((tls, cert))
        }
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
