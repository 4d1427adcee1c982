//! The HTTP side: one pooled client (rustls with the ring provider, proxies from the config or
//! the environment), conditional GETs, size limits, and per-mirror credentials.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::{Client, Response, StatusCode};

use super::{RepoError, Seen};

/// How the fetcher talks HTTP. `timeout` is the longest wait for the server to send anything
/// (not the whole transfer, which may be a large file on a slow link).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Per file, compressed and decompressed alike.
    pub max_bytes: u64,
    pub max_redirects: usize,
    /// Used for every URL when set; otherwise `https_proxy`/`http_proxy`/`all_proxy` and
    /// `no_proxy` from the environment apply.
    pub proxy: Option<String>,
    pub user_agent: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(15),
            max_bytes: 512 << 20,
            max_redirects: 5,
            proxy: None,
            user_agent: concat!("patchman/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Credentials for a mirror that needs them. `Debug` never prints the password.
#[derive(Clone, Default)]
pub struct RepoAuth {
    pub basic: Option<(String, String)>,
    pub client_cert_pem: Option<PathBuf>,
    pub client_key_pem: Option<PathBuf>,
}

impl fmt::Debug for RepoAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RepoAuth")
            .field("basic", &self.basic.as_ref().map(|(user, _)| (user, "<redacted>")))
            .field("client_cert_pem", &self.client_cert_pem)
            .field("client_key_pem", &self.client_key_pem)
            .finish()
    }
}

/// A pooled HTTP client, built once and shared by every refresh. Mirrors that need a TLS client
/// certificate get a client of their own, built on first use and kept.
pub struct Fetcher {
    cfg: HttpConfig,
    client: Client,
    cert_clients: Mutex<HashMap<(PathBuf, PathBuf), Client>>,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

/// The answer to a GET whose body has not been read yet.
pub(crate) enum Fetched {
    NotModified { etag: Option<String>, last_modified: Option<String> },
    NotFound,
    Found(Response),
}

/// A small file read whole (Release, repomd.xml, mirror lists).
pub(crate) struct Small {
    pub body: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Fetcher {
    pub fn new(cfg: &HttpConfig) -> Result<Self, RepoError> {
        // The process-wide rustls provider: ring. Already set (by us or the embedding program) is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = build_client(cfg, None)?;
        Ok(Self { cfg: cfg.clone(), client, cert_clients: Mutex::new(HashMap::new()) })
    }

    pub fn max_bytes(&self) -> u64 {
        self.cfg.max_bytes
    }

    fn client_for(&self, auth: Option<&RepoAuth>) -> Result<Client, RepoError> {
        let Some((cert, key)) = auth.and_then(|a| Some((a.client_cert_pem.as_ref()?, a.client_key_pem.as_ref()?)))
        else {
            return Ok(self.client.clone());
        };
        let mut clients = self.cert_clients.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(c) = clients.get(&(cert.clone(), key.clone())) {
            return Ok(c.clone());
        }
        let mut pem = read_file(cert)?;
        pem.push(b'\n');
        pem.extend(read_file(key)?);
        let identity = reqwest::Identity::from_pem(&pem)
            .map_err(|e| RepoError::Config(format!("client certificate {}: {}", cert.display(), chain(&e))))?;
        let client = build_client(&self.cfg, Some(identity))?;
        clients.insert((cert.clone(), key.clone()), client.clone());
        Ok(client)
    }

    /// A GET, conditional when `seen` carries an ETag or Last-Modified.
    pub(crate) async fn get(
        &self,
        url: &str,
        seen: Option<&Seen>,
        auth: Option<&RepoAuth>,
    ) -> Result<Fetched, RepoError> {
        let mut req = self.client_for(auth)?.get(url);
        if let Some(seen) = seen {
            if let Some(etag) = &seen.etag {
                req = req.header(IF_NONE_MATCH, etag);
            }
            if let Some(lm) = &seen.last_modified {
                req = req.header(IF_MODIFIED_SINCE, lm);
            }
        }
        if let Some((user, pass)) = auth.and_then(|a| a.basic.as_ref()) {
            req = req.basic_auth(user, Some(pass));
        }
        let resp = req.send().await.map_err(|e| http_error(url, &e))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED && seen.is_some() {
            let (etag, last_modified) = validators(&resp);
            let seen = seen.cloned().unwrap_or_default();
            return Ok(Fetched::NotModified {
                etag: etag.or(seen.etag),
                last_modified: last_modified.or(seen.last_modified),
            });
        }
        if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
            return Ok(Fetched::NotFound);
        }
        if !status.is_success() {
            return Err(RepoError::Status { url: url.to_owned(), status: status.as_u16() });
        }
        if resp.content_length().is_some_and(|n| n > self.cfg.max_bytes) {
            return Err(RepoError::TooLarge { url: url.to_owned(), limit: self.cfg.max_bytes });
        }
        Ok(Fetched::Found(resp))
    }

    /// Reads a whole (small) body, at most `max_bytes`.
    pub(crate) async fn read_small(&self, url: &str, mut resp: Response) -> Result<Small, RepoError> {
        let (etag, last_modified) = validators(&resp);
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| http_error(url, &e))? {
            if body.len() as u64 + chunk.len() as u64 > self.cfg.max_bytes {
                return Err(RepoError::TooLarge { url: url.to_owned(), limit: self.cfg.max_bytes });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Small { body, etag, last_modified })
    }

    /// GET and read whole; 404 is an error.
    pub(crate) async fn get_small(&self, url: &str, auth: Option<&RepoAuth>) -> Result<Small, RepoError> {
        match self.get(url, None, auth).await? {
            Fetched::Found(resp) => self.read_small(url, resp).await,
            Fetched::NotFound | Fetched::NotModified { .. } => Err(RepoError::NotFound { url: url.to_owned() }),
        }
    }
}

fn build_client(cfg: &HttpConfig, identity: Option<reqwest::Identity>) -> Result<Client, RepoError> {
    let mut b = Client::builder()
        .user_agent(cfg.user_agent.clone())
        .connect_timeout(cfg.connect_timeout)
        .read_timeout(cfg.timeout)
        .redirect(reqwest::redirect::Policy::limited(cfg.max_redirects))
        .pool_idle_timeout(Duration::from_secs(60));
    if let Some(proxy) = &cfg.proxy {
        let p = reqwest::Proxy::all(proxy)
            .map_err(|e| RepoError::Config(format!("proxy {proxy:?}: {}", chain(&e))))?
            .no_proxy(reqwest::NoProxy::from_env());
        b = b.proxy(p);
    }
    if let Some(identity) = identity {
        b = b.identity(identity);
    }
    b.build().map_err(|e| RepoError::Config(chain(&e)))
}

fn read_file(path: &Path) -> Result<Vec<u8>, RepoError> {
    std::fs::read(path).map_err(|source| RepoError::ReadFile { path: path.to_owned(), source })
}

fn validators(resp: &Response) -> (Option<String>, Option<String>) {
    let get = |name| resp.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    (get(ETAG), get(LAST_MODIFIED))
}

pub(crate) fn http_error(url: &str, e: &reqwest::Error) -> RepoError {
    let reason = if e.is_timeout() { format!("timed out ({})", chain(e)) } else { chain(e) };
    RepoError::Http { url: url.to_owned(), reason }
}

/// An error and its sources, "a: b: c" (reqwest's own message alone says little).
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        let msg = inner.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_debug_hides_the_password() {
        let auth = RepoAuth { basic: Some(("alice".into(), "s3cret".into())), ..RepoAuth::default() };
        let shown = format!("{auth:?}");
        assert!(shown.contains("alice") && !shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn a_bad_proxy_url_is_a_config_error() {
        let cfg = HttpConfig { proxy: Some("::not a url::".into()), ..HttpConfig::default() };
        assert!(matches!(Fetcher::new(&cfg), Err(RepoError::Config(_))));
    }
}
