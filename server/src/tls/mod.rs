//! TLS on the one port: the rustls configuration made from `[tls]`, kept current as its files
//! change (`reload`), the handshake that turns away plain-text clients with a message
//! (`handshake`), and who is at the other end (`peer`).

mod handshake;
mod peer;
mod reload;

use std::path::Path;
use std::sync::{Arc, RwLock};

use anyhow::{Context as _, bail};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;

use crate::config::TlsConfig;

pub use self::handshake::handshake;
pub use self::peer::{Peer, cert_names_host};
pub use self::reload::watch;

/// The configuration new connections are accepted with; a reload replaces it.
#[derive(Clone)]
pub struct Current(Arc<RwLock<Arc<rustls::ServerConfig>>>);

impl Current {
    pub fn load(config: &TlsConfig) -> anyhow::Result<Self> {
        Ok(Self(Arc::new(RwLock::new(server_config(config)?))))
    }

    pub fn get(&self) -> Arc<rustls::ServerConfig> {
        self.0.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    fn set(&self, config: Arc<rustls::ServerConfig>) {
        *self.0.write().unwrap_or_else(std::sync::PoisonError::into_inner) = config;
    }
}

/// Reads the certificate chain, the key and the client CAs, and checks that they belong
/// together; every error names its file.
pub fn server_config(config: &TlsConfig) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let (Some(cert), Some(key)) = (&config.cert, &config.key) else {
        bail!("[tls] needs both cert and key (PATCHMAN_TLS_CERT and PATCHMAN_TLS_KEY)")
    };
    if config.client_cert_names_host && config.client_ca.is_none() {
        bail!("[tls] client_cert_names_host needs client_ca (the CAs that issue the hosts' certificates)");
    }
    let chain = certificates(cert)?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("[tls] key {}: no PEM private key (PKCS#8, PKCS#1 or SEC1)", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match &config.client_ca {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in certificates(path)? {
                roots.add(ca).with_context(|| format!("[tls] client_ca {}: not a CA certificate", path.display()))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .with_context(|| format!("[tls] client_ca {}", path.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut server = builder
        .with_single_cert(chain, key)
        .with_context(|| format!("[tls] cert {} and its key do not make a usable pair", cert.display()))?;
    server.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(server))
}

fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("[tls] cannot read PEM certificates from {}", path.display()))?;
    if certs.is_empty() {
        bail!("[tls] {}: no PEM certificate in it", path.display());
    }
    Ok(certs)
}
