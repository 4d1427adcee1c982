//! Who is at the other end of a connection: its address, and the client certificate it
//! presented (mTLS). Every request carries it as `ConnectInfo<Peer>`.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};

#[derive(Debug, Clone)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The verified client certificate, when the connection presented one.
    pub cert: Option<Arc<CertificateDer<'static>>>,
}

impl Peer {
    pub fn ip(&self) -> std::net::IpAddr {
        self.addr.ip()
    }
}

/// Whether a client certificate names `hostname` (a subjectAltName DNS entry, as a server
/// certificate names its server). A host name that is not a DNS name is never named.
pub fn cert_names_host(cert: &CertificateDer<'_>, hostname: &str) -> bool {
    let Ok(name) = ServerName::try_from(hostname) else { return false };
    let Ok(cert) = webpki::EndEntityCert::try_from(cert) else { return false };
    cert.verify_is_valid_for_subject_name(&name).is_ok()
}
