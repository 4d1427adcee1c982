//! A loopback HTTP/1.1 server for tests: serves a directory with ETag/If-None-Match and
//! Last-Modified/If-Modified-Since, counts requests per path, follows configured redirects, and
//! can play a dead mirror (connection closed, hanging, or an error status). std only, so it can
//! move to the testkit as it is.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, UNIX_EPOCH};

use super::date::{format_http_date, parse_rfc2822_ms};

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Normal,
    /// Accept, then close the connection without a word.
    Reset,
    /// Accept and never answer (until the server is dropped).
    Hang,
    /// Answer every request with this status and an empty body.
    Status(u16),
}

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub path: String,
    pub status: u16,
    /// The request's Authorization header.
    pub authorization: Option<String>,
}

#[derive(Debug)]
struct State {
    mode: Mode,
    hits: Vec<Hit>,
    redirects: HashMap<String, String>,
    /// Open connections, closed when the server stops (a dead mirror keeps no pooled connection).
    conns: Vec<TcpStream>,
}

pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Serves `root` on 127.0.0.1 at a free port until dropped.
    pub fn serve(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            mode: Mode::Normal,
            hits: Vec::new(),
            redirects: HashMap::new(),
            conns: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (root, st, sp) = (root.to_owned(), state.clone(), stop.clone());
        let accept = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                if let Ok(c) = conn.try_clone() {
                    lock(&st).conns.push(c);
                }
                let (root, st, sp) = (root.clone(), st.clone(), sp.clone());
                std::thread::spawn(move || handle(conn, &root, &st, &sp));
            }
        });
        Self { addr, state, stop, accept: Some(accept) }
    }

    /// "http://127.0.0.1:PORT".
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        lock(&self.state).mode = mode;
    }

    /// Answers requests for `from` with a 302 to `to` (a path on this server or a full URL).
    pub fn redirect(&self, from: &str, to: &str) {
        lock(&self.state).redirects.insert(from.to_owned(), to.to_owned());
    }

    /// Requests for `path` so far (any status).
    pub fn hits(&self, path: &str) -> usize {
        lock(&self.state).hits.iter().filter(|h| h.path == path).count()
    }

    /// Every request so far, in order.
    pub fn log(&self) -> Vec<Hit> {
        lock(&self.state).hits.clone()
    }

    pub fn reset_log(&self) {
        lock(&self.state).hits.clear();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        for c in lock(&self.state).conns.drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn handle(conn: TcpStream, root: &Path, state: &Mutex<State>, stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(write_half) = conn.try_clone() else { return };
    let mut reader = BufReader::new(conn);
    let mut out = write_half;
    loop {
        let Some(req) = read_request(&mut reader) else { return };
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let mode = lock(state).mode;
        match mode {
            Mode::Reset => {
                lock(state).hits.push(req.hit(0));
                let _ = out.shutdown(Shutdown::Both);
                return;
            }
            Mode::Hang => {
                lock(state).hits.push(req.hit(0));
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                return;
            }
            Mode::Status(code) => {
                lock(state).hits.push(req.hit(code));
                if respond(&mut out, code, &[], b"", req.head).is_err() {
                    return;
                }
            }
            Mode::Normal => {
                let redirect = lock(state).redirects.get(&req.path).cloned();
                let (status, headers, body) = match redirect {
                    Some(to) => (302, vec![("Location".to_owned(), to)], Vec::new()),
                    None => serve_file(root, &req),
                };
                lock(state).hits.push(req.hit(status));
                if respond(&mut out, status, &headers, &body, req.head).is_err() {
                    return;
                }
            }
        }
        if req.close {
            return;
        }
    }
}

struct Request {
    path: String,
    head: bool,
    close: bool,
    headers: HashMap<String, String>,
}

impl Request {
    fn hit(&self, status: u16) -> Hit {
        Hit { path: self.path.clone(), status, authorization: self.headers.get("authorization").cloned() }
    }
}

fn read_request(r: &mut impl BufRead) -> Option<Request> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?;
    let path = percent_decode(target.split('?').next()?);
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let close = headers.get("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
    Some(Request { path, head: method == "HEAD", close, headers })
}

fn serve_file(root: &Path, req: &Request) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let not_found = (404, Vec::new(), b"not found\n".to_vec());
    let rel = Path::new(req.path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return not_found;
    }
    let file: PathBuf = root.join(rel);
    let Ok(meta) = std::fs::metadata(&file) else { return not_found };
    if !meta.is_file() {
        return not_found;
    }
    let mtime = meta.modified().ok().and_then(|m| m.duration_since(UNIX_EPOCH).ok()).unwrap_or_default();
    let etag = format!("\"{:x}-{:x}\"", meta.len(), mtime.as_nanos());
    let last_modified = format_http_date(mtime.as_secs() as i64);
    let validators = vec![("ETag".to_owned(), etag.clone()), ("Last-Modified".to_owned(), last_modified)];
    let not_modified = match (req.headers.get("if-none-match"), req.headers.get("if-modified-since")) {
        (Some(inm), _) => inm.split(',').any(|t| t.trim() == etag || t.trim() == "*"),
        (None, Some(ims)) => parse_rfc2822_ms(ims).is_some_and(|t| mtime.as_secs() as i64 * 1000 <= t),
        (None, None) => false,
    };
    if not_modified {
        return (304, validators, Vec::new());
    }
    match std::fs::read(&file) {
        Ok(body) => (200, validators, body),
        Err(_) => not_found,
    }
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    head: bool,
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        302 => "Found",
        304 => "Not Modified",
        404 => "Not Found",
        _ => "Status",
    };
    let mut h = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        h.push_str(&format!("{k}: {v}\r\n"));
    }
    if status != 304 {
        h.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    h.push_str("\r\n");
    out.write_all(h.as_bytes())?;
    if !head && status != 304 {
        out.write_all(body)?;
    }
    out.flush()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
